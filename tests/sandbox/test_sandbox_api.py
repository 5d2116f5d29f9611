from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

INVOICE = {"date": "2026-03-01", "items": [{"name": "Mug", "quantity": 1, "price": "10.00"}]}


def test_health_needs_no_key(sandbox_client: Callable[..., httpx.Client]) -> None:
    response = sandbox_client(None).get("/health")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer sk_sandbox_unknown", "Basic sk_sandbox_test", "Bearer ", "sk_sandbox_test"],
)
@pytest.mark.parametrize(("method", "path"), [("GET", "/entities"), ("POST", "/invoices")])
def test_calls_without_a_valid_key_are_unauthorized(
    sandbox_client: Callable[..., httpx.Client],
    authorization: str | None,
    method: str,
    path: str,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = sandbox_client(None).request(method, path, json=INVOICE, headers=headers)

    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthorized",
        "message": "send Authorization: Bearer <a valid account or entity key>",
    }


def test_x_account_id_of_another_account_is_forbidden(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    own = sandbox_http.get("/entities", headers={"x-account-id": entity["account_id"]})
    other = sandbox_http.get("/entities", headers={"x-account-id": "acc_000000000000000000000000"})

    assert own.status_code == 200
    assert (other.status_code, other.json()["code"]) == (403, "forbidden")


def test_unknown_routes_and_methods(sandbox_http: httpx.Client) -> None:
    missing = sandbox_http.get("/estimates")
    wrong_method = sandbox_http.delete("/entities")

    assert (missing.status_code, missing.json()) == (
        404,
        {"code": "not_found", "message": "no route GET /estimates"},
    )
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"
    assert set(wrong_method.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_malformed_json_is_a_bad_request(sandbox_http: httpx.Client) -> None:
    malformed = sandbox_http.post(
        "/entities", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    not_object = sandbox_http.post("/entities", json=["name"])
    nan = sandbox_http.post("/entities", content=b'{"name": NaN}')

    assert (malformed.status_code, malformed.json()["code"]) == (400, "invalid_json")
    assert (nan.status_code, nan.json()["code"]) == (400, "invalid_json")
    assert not_object.status_code == 422
    assert not_object.json()["cause"]["issues"] == [
        {"path": [], "message": "the body must be a JSON object"}
    ]


def test_request_id_is_echoed_or_generated(sandbox_http: httpx.Client) -> None:
    echoed = sandbox_http.get("/entities", headers={"X-Request-Id": "trace-1"})
    generated = sandbox_http.get("/entities/ent_nope")

    assert echoed.headers["X-Request-Id"] == "trace-1"
    assert re.fullmatch(r"req_[0-9a-f]{24}", generated.headers["X-Request-Id"])


def test_repeated_request_id_replays_the_first_answer(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    first = sandbox_http.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-1"})
    replay = sandbox_http.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-1"})
    later = sandbox_http.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-2"})

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.content == first.content
    assert "Idempotent-Replayed" not in first.headers
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["X-Request-Id"] == "order-1"
    assert later.json()["number"] == "2026-00002"
    assert len(sandbox_http.get("/invoices").json()["data"]) == 2


def test_a_rejection_is_replayed_too(sandbox_http: httpx.Client, entity: dict[str, Any]) -> None:
    bad = {"items": [{"name": "Mug", "quantity": 0, "price": 1}]}

    first = sandbox_http.post("/invoices", json=bad, headers={"X-Request-Id": "bad-1"})
    replay = sandbox_http.post("/invoices", json=bad, headers={"X-Request-Id": "bad-1"})

    assert (first.status_code, replay.status_code) == (422, 422)
    assert replay.content == first.content


def test_reusing_a_request_id_for_another_request_is_a_conflict(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    sandbox_http.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-1"})

    other_body = sandbox_http.post(
        "/invoices", json={**INVOICE, "note": "changed"}, headers={"X-Request-Id": "order-1"}
    )
    other_path = sandbox_http.post(
        "/credit-notes", json=INVOICE, headers={"X-Request-Id": "order-1"}
    )

    assert (other_body.status_code, other_body.json()["code"]) == (409, "idempotency_key_reused")
    assert other_path.status_code == 409
    assert len(sandbox_http.get("/invoices").json()["data"]) == 1
    assert sandbox_http.get("/credit-notes").json()["data"] == []


def test_request_ids_are_scoped_per_account(
    sandbox_http: httpx.Client, other_account_http: httpx.Client
) -> None:
    body = {"name": "Seller", "country_code": "SI"}

    mine = sandbox_http.post("/entities", json=body, headers={"X-Request-Id": "seller-1"})
    theirs = other_account_http.post("/entities", json=body, headers={"X-Request-Id": "seller-1"})

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]
    assert mine.json()["account_id"] != theirs.json()["account_id"]


def test_share_page_shows_the_document_with_the_entity_branding(
    sandbox_http: httpx.Client,
    sandbox_client: Callable[..., httpx.Client],
    make_entity: Callable[..., dict[str, Any]],
) -> None:
    make_entity(
        name="Trgovina <Novak> & sin",
        address="Slovenska cesta 1",
        post_code="1000",
        city="Ljubljana",
        tax_number="SI12345678",
        settings={"primary_color": "#0a7d4f", "document_footer": "IBAN SI56 0000 <footer>"},
    )
    invoice = sandbox_http.post(
        "/invoices",
        json={
            "date": "2026-03-01",
            "customer": {"name": "<script>alert(1)</script>", "country_code": "SI"},
            "items": [
                {"name": "Mug", "quantity": 2, "price": "10.00", "taxes": [{"rate": 22}]},
                {"name": "Tea", "quantity": 1, "price": "5.55", "taxes": [{"rate": "9.5"}]},
            ],
        },
    ).json()

    response = sandbox_client(None).get(f"/share/{invoice['shareable_id']}")

    page = response.text
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "--brand: #0a7d4f" in page
    assert "<h1>Trgovina &lt;Novak&gt; &amp; sin</h1>" in page
    assert "Slovenska cesta 1" in page
    assert "1000 Ljubljana" in page
    assert "Tax number: SI12345678" in page
    assert "<h2>Invoice 2026-00001</h2>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert "<footer>IBAN SI56 0000 &lt;footer&gt;</footer>" in page
    assert "<td>22 %</td><td class=num>20,00\xa0€</td><td class=num>4,40\xa0€</td>" in page
    assert "<td>9,5 %</td><td class=num>5,55\xa0€</td><td class=num>0,53\xa0€</td>" in page
    assert "<td>Total</td><td class=num>30,48\xa0€</td>" in page


def test_unknown_share_link_is_not_found(sandbox_client: Callable[..., httpx.Client]) -> None:
    response = sandbox_client(None).get("/share/0123456789abcdef01234567")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
