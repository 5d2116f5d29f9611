"""Entity keys and users, transaction types and VIES, rate limits, faults and webhooks."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from invoicing.sandbox import SandboxApp, create_app
from invoicing.sandbox.ratelimit import RateLimits
from invoicing.sandbox.vies import VIES_REGISTERED

ClientFactory = Callable[..., httpx.Client]
EntityFactory = Callable[..., dict[str, Any]]
INVOICE = {"items": [{"name": "Mug", "quantity": 1, "price": "10.00", "taxes": [{"rate": 22}]}]}


def test_entity_keys_reach_their_entity_only_until_they_expire(
    sandbox_app: SandboxApp,
    sandbox_http: httpx.Client,
    sandbox_client: ClientFactory,
    make_entity: EntityFactory,
) -> None:
    mine, other = make_entity(name="Mine"), make_entity(name="Other")
    created = sandbox_http.post(
        "/entities/api-keys",
        json={"name": "dashboard", "ttl": 600},
        headers={"x-entity-id": mine["id"]},
    )
    key = created.json()["key"]
    as_entity = sandbox_client(key)

    own = as_entity.post("/invoices", json=INVOICE)
    foreign = as_entity.get("/invoices", headers={"x-entity-id": other["id"]})
    account_level = as_entity.post("/entities", json={"name": "X", "country_code": "SI"})
    own_entity = as_entity.get(f"/entities/{mine['id']}")
    listed_keys = sandbox_http.get("/entities/api-keys", headers={"x-entity-id": mine["id"]})
    now = dt.datetime.now(dt.UTC)
    sandbox_app.clock = lambda: now + dt.timedelta(seconds=601)
    expired = as_entity.get("/invoices")

    assert created.status_code == 201
    assert re.fullmatch(r"ek_sandbox_[0-9a-f]{32}", key)
    assert created.json()["entity_id"] == mine["id"]
    assert (own.status_code, own.json()["entity_id"]) == (201, mine["id"])
    assert (foreign.status_code, foreign.json()["code"]) == (403, "forbidden")
    assert (account_level.status_code, account_level.json()["code"]) == (403, "forbidden")
    assert own_entity.json() == mine
    assert "key" not in listed_keys.json()["data"][0]
    assert (expired.status_code, expired.json()["code"]) == (401, "unauthorized")


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "x", "ttl": 0}, ["ttl"]),
        ({"name": "x", "ttl": 59}, ["ttl"]),
        ({"name": "x" * 256}, ["name"]),
        ({"ttl": 60, "role": "admin"}, ["role"]),
    ],
)
def test_bad_api_key_requests_are_422(
    sandbox_http: httpx.Client, entity: dict[str, Any], body: dict[str, Any], path: list[str]
) -> None:
    response = sandbox_http.post(
        "/entities/api-keys", json=body, headers={"x-entity-id": entity["id"]}
    )

    assert [i["path"] for i in response.json()["cause"]["issues"]] == [path]


def test_api_key_name_and_ttl_are_optional_and_without_ttl_it_does_not_expire(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    response = sandbox_http.post(
        "/entities/api-keys", json={}, headers={"x-entity-id": entity["id"]}
    )

    assert response.status_code == 201
    key = response.json()
    assert (key["name"], key["expires_at"], key["environment"]) == (None, None, "sandbox")
    assert key["prefix_hint"] == f"{key['key'][:15]}...{key['key'][-4:]}"
    assert key["updated_at"] == key["created_at"]


def test_entity_users_are_added_listed_and_removed(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    headers = {"x-entity-id": entity["id"]}
    user = sandbox_http.post(
        "/entities/users",
        json={"email": "ana@shop.si", "role": "editor", "send_invite": True},
        headers=headers,
    )
    duplicate = sandbox_http.post(
        "/entities/users", json={"email": "ANA@shop.si", "role": "viewer"}, headers=headers
    )
    bad_role = sandbox_http.post(
        "/entities/users", json={"email": "bo@shop.si", "role": "owner"}, headers=headers
    )
    listed = sandbox_http.get("/entities/users", headers=headers).json()
    deleted = sandbox_http.delete(f"/entities/users/{user.json()['id']}", headers=headers)
    gone = sandbox_http.delete(f"/entities/users/{user.json()['id']}", headers=headers)

    assert user.status_code == 201
    assert re.fullmatch(r"usr_[0-9a-f]{24}", user.json()["id"])
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "conflict")
    assert bad_role.json()["cause"]["issues"][0]["path"] == ["role"]
    assert [(u["email"], u["role"]) for u in listed["data"]] == [("ana@shop.si", "editor")]
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert gone.status_code == 404
    invitations = sandbox_http.get("/sandbox/outbox").json()["data"]
    assert [(m["type"], m["to"]) for m in invitations] == [("invitation", "ana@shop.si")]


def test_entity_user_role_defaults_to_editor_and_the_invitation_is_sent_by_default(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    headers = {"x-entity-id": entity["id"]}
    response = sandbox_http.post("/entities/users", json={"email": "ana@shop.si"}, headers=headers)

    user = response.json()
    assert response.status_code == 201
    assert (user["user_id"], user["role"], user["name"], user["invited_by_user_id"]) == (
        user["id"],
        "editor",
        None,
        None,
    )
    invitations = sandbox_http.get("/sandbox/outbox").json()["data"]
    assert [(m["type"], m["to"], m["subject"]) for m in invitations] == [
        ("invitation", "ana@shop.si", "You are invited to Trgovina d.o.o. as editor")
    ]


@pytest.mark.parametrize(
    ("issuer", "customer", "expected"),
    [
        ({"country_code": "SI"}, {"country_code": "SI"}, ("domestic", False, None)),
        (
            {"country_code": "SI", "is_tax_subject": True},
            {"country_code": "DE", "tax_number": "DE136695976"},
            ("intra_eu_b2b", True, True),
        ),
        (
            {"country_code": "SI"},
            {"country_code": "AT", "tax_number": "U13585627"},
            ("intra_eu_b2b", True, True),
        ),
        (
            {"country_code": "SI"},
            {"country_code": "DE", "tax_number": "DE136695977"},
            ("intra_eu_b2c", False, False),
        ),
        (
            {"country_code": "SI"},
            {"country_code": "DE", "tax_number": "DE813495425"},
            ("intra_eu_b2c", False, False),
        ),
        ({"country_code": "SI"}, {"country_code": "DE"}, ("intra_eu_b2c", False, None)),
        (
            {"country_code": "SI"},
            {"country_code": "US", "tax_number": "12-3456789"},
            ("3w_b2b", True, None),
        ),
        ({"country_code": "SI"}, {"country_code": "CH"}, ("3w_b2c", True, None)),
        (
            {"country_code": "SI", "is_tax_subject": False},
            {"country_code": "DE", "tax_number": "DE136695976"},
            ("intra_eu_b2c", False, True),
        ),
    ],
)
def test_transaction_type_check(
    sandbox_http: httpx.Client,
    issuer: dict[str, Any],
    customer: dict[str, Any],
    expected: tuple[str, bool, bool | None],
) -> None:
    response = sandbox_http.post(
        "/transaction-type/check", json={"issuer": issuer, "customer": customer}
    )
    alias = sandbox_http.post("/vies/check", json={"issuer": issuer, "customer": customer})

    body = response.json()
    assert (
        body["transaction_type"],
        body["reverse_charge_applies"],
        body["vies_valid"],
    ) == expected
    assert (body["issuer_country_code"], body["customer_country_code"]) == (
        issuer["country_code"],
        customer["country_code"],
    )
    assert (body["vies_request_id"] is not None) == (expected[2] is not None)
    assert {**alias.json(), "vies_request_id": None} == {**body, "vies_request_id": None}


@pytest.mark.parametrize("vies_unavailable", [False, True])
@pytest.mark.parametrize(
    ("issuer", "customer"),
    [
        ({"country_code": "SI"}, {"country_code": "SI", "tax_number": "SI50223054"}),
        ({"country_code": "SI"}, {"country_code": "DE", "tax_number": "DE136695976"}),
        ({"country_code": "SI"}, {"country_code": "DE", "tax_number": "DE123456788"}),
        (
            {"country_code": "SI"},
            {"country_code": "DE", "tax_number": "DE136695976", "is_end_consumer": True},
        ),
        ({"country_code": "SI"}, {"country_code": "DE"}),
        ({"country_code": "SI"}, {"country_code": "US", "tax_number": "12-3456789"}),
        ({"country_code": "SI"}, {"country_code": "CH"}),
        (
            {"country_code": "SI", "is_tax_subject": False},
            {"country_code": "DE", "tax_number": "DE136695976"},
        ),
    ],
)
def test_a_document_records_the_transaction_type_the_check_answers(
    sandbox_http: httpx.Client,
    make_entity: Any,
    issuer: dict[str, Any],
    customer: dict[str, Any],
    vies_unavailable: bool,
) -> None:
    entity = make_entity(is_tax_subject=issuer.get("is_tax_subject", True))
    sandbox_http.post("/sandbox/faults", json={"vies_unavailable": vies_unavailable})
    check = sandbox_http.post(
        "/transaction-type/check", json={"issuer": issuer, "customer": customer}
    ).json()

    invoice = sandbox_http.post(
        "/invoices",
        headers={"x-entity-id": entity["id"]},
        json={
            "customer": {"name": "Customer", **customer},
            "items": [{"name": "Mug", "quantity": 1, "price": "10.00", "taxes": [{"rate": 22}]}],
        },
    )

    assert invoice.status_code == 201, invoice.json()
    assert invoice.json()["transaction_type"] == check["transaction_type"]


def test_every_table_number_passes_its_checksum() -> None:
    from stdnum.eu import vat

    assert len(VIES_REGISTERED) == 28  # the member states and Northern Ireland
    assert all(vat.is_valid(number) for number in VIES_REGISTERED)


def test_vies_unavailable_answers_null_with_a_warning(sandbox_http: httpx.Client) -> None:
    sandbox_http.post("/sandbox/faults", json={"vies_unavailable": True})

    body = sandbox_http.post(
        "/transaction-type/check",
        json={
            "issuer": {"country_code": "SI", "is_tax_subject": True},
            "customer": {"country_code": "DE", "tax_number": "DE136695976"},
        },
    ).json()

    assert body == {
        "transaction_type": "intra_eu_b2c",
        "reverse_charge_applies": False,
        "issuer_country_code": "SI",
        "customer_country_code": "DE",
        "vies_valid": None,
        "warning": "VIES is unavailable; the customer's VAT number could not be checked",
        "is_tax_subject": True,
        "vies_request_id": None,
    }


def test_transaction_type_check_names_bad_fields(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post(
        "/transaction-type/check", json={"issuer": {"country_code": "XX"}, "customer": {}}
    )

    assert [i["path"] for i in response.json()["cause"]["issues"]] == [
        ["issuer", "country_code"],
        ["customer", "country_code"],
    ]


def test_rate_limit_per_key_answers_429_with_retry_after(
    tmp_path: Path, sandbox_client: ClientFactory
) -> None:
    app = create_app(
        tmp_path / "limited.sqlite3",
        ["sk_sandbox_a", "sk_sandbox_b"],
        rate_limits=RateLimits(sandbox=2, live=600),
    )
    first, second = sandbox_client("sk_sandbox_a", app=app), sandbox_client("sk_sandbox_b", app=app)

    answers = [first.get("/entities").status_code for _ in range(3)]
    limited = first.get("/entities")
    other_key = second.get("/entities")
    health = first.get("/health")

    assert answers == [200, 200, 429]
    assert limited.json()["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "30"
    assert (other_key.status_code, health.status_code) == (200, 200)


def test_faults_config_round_trips_and_rejects_bad_values(sandbox_http: httpx.Client) -> None:
    posted = sandbox_http.post("/sandbox/faults", json={"error_rate": 0.5, "seed": 7})
    shown = sandbox_http.get("/sandbox/faults")
    bad = sandbox_http.post(
        "/sandbox/faults", json={"error_rate": 2, "colour": 1, "idempotency_ttl": -1}
    )

    assert (
        posted.json()
        == shown.json()
        == {
            "error_rate": 0.5,
            "rate_limit_rate": 0.0,
            "timeout_rate": 0.0,
            "lost_response_rate": 0.0,
            "latency_ms": 0,
            "timeout_ms": 15000,
            "seed": 7,
            "vies_unavailable": False,
            "idempotency_ttl": None,
        }
    )
    assert [i["path"] for i in bad.json()["cause"]["issues"]] == [
        ["colour"],
        ["error_rate"],
        ["idempotency_ttl"],
    ]


def test_error_faults_store_nothing_and_reproduce_with_the_seed(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    headers = {"x-entity-id": entity["id"]}

    def run() -> list[int]:
        sandbox_http.post("/sandbox/faults", json={"error_rate": 0.5, "seed": 42})
        statuses = [sandbox_http.post("/invoices", json=INVOICE, headers=headers).status_code
                    for _ in range(12)]  # fmt: skip
        sandbox_http.post("/sandbox/faults", json={})
        return statuses

    first, second = run(), run()
    listed = sandbox_http.get("/invoices", params={"limit": 100}, headers=headers).json()

    assert first == second
    assert set(first) == {201, 503}
    assert len(listed["data"]) == 2 * first.count(201)


@pytest.mark.parametrize(
    ("fault", "error"),
    [("lost_response_rate", httpx.ReadError), ("timeout_rate", httpx.ReadTimeout)],
)
def test_lost_responses_and_timeouts_happen_after_the_write(
    sandbox_http: httpx.Client,
    entity: dict[str, Any],
    fault: str,
    error: type[Exception],
) -> None:
    headers = {"x-entity-id": entity["id"], "X-Request-Id": "order-1"}
    sandbox_http.post("/sandbox/faults", json={fault: 1})

    with pytest.raises(error):
        sandbox_http.post("/invoices", json=INVOICE, headers=headers)
    sandbox_http.post("/sandbox/faults", json={})
    retry = sandbox_http.post("/invoices", json=INVOICE, headers=headers)

    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["number"] is not None
    listed = sandbox_http.get("/invoices", headers={"x-entity-id": entity["id"]}).json()
    assert [d["id"] for d in listed["data"]] == [retry.json()["id"]]


def test_a_request_id_replays_until_its_ttl_then_creates_a_new_document(
    sandbox_app: SandboxApp, sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    headers = {"x-entity-id": entity["id"], "X-Request-Id": "order-1"}
    body = {**INVOICE, "date": "2026-06-01"}
    configured = sandbox_http.post("/sandbox/faults", json={"idempotency_ttl": 60})
    start = dt.datetime.now(dt.UTC)
    sandbox_app.clock = lambda: start
    first = sandbox_http.post("/invoices", json=body, headers=headers)
    sandbox_app.clock = lambda: start + dt.timedelta(seconds=59)
    before_expiry = sandbox_http.post("/invoices", json=body, headers=headers)
    sandbox_app.clock = lambda: start + dt.timedelta(seconds=60)
    after_expiry = sandbox_http.post("/invoices", json=body, headers=headers)
    sandbox_app.clock = lambda: start + dt.timedelta(seconds=119)
    replay_of_new = sandbox_http.post("/invoices", json=body, headers=headers)
    listed = sandbox_http.get("/invoices", headers={"x-entity-id": entity["id"]}).json()

    assert configured.json()["idempotency_ttl"] == 60
    assert (first.status_code, first.json()["number"]) == (201, "2026-00001")
    assert "Idempotent-Replayed" not in first.headers
    assert before_expiry.status_code == 201
    assert before_expiry.headers["Idempotent-Replayed"] == "true"
    assert before_expiry.json() == first.json()
    assert (after_expiry.status_code, after_expiry.json()["number"]) == (201, "2026-00002")
    assert "Idempotent-Replayed" not in after_expiry.headers
    assert after_expiry.json()["id"] != first.json()["id"]
    assert replay_of_new.headers["Idempotent-Replayed"] == "true"
    assert replay_of_new.json() == after_expiry.json()
    assert [d["id"] for d in listed["data"]] == [first.json()["id"], after_expiry.json()["id"]]


def test_a_ttl_of_zero_never_replays_and_a_forgotten_id_takes_another_body(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    headers = {"x-entity-id": entity["id"], "X-Request-Id": "order-1"}
    body = {**INVOICE, "date": "2026-06-01"}
    sandbox_http.post("/sandbox/faults", json={"idempotency_ttl": 0})
    first = sandbox_http.post("/invoices", json=body, headers=headers)
    again = sandbox_http.post("/invoices", json=body, headers=headers)
    changed = sandbox_http.post("/invoices", json={**body, "note": "changed"}, headers=headers)
    sandbox_http.post("/sandbox/faults", json={})  # replies are kept for good again
    changed_again = sandbox_http.post(
        "/invoices", json={**body, "note": "changed"}, headers=headers
    )
    original = sandbox_http.post("/invoices", json=body, headers=headers)

    assert [r.json()["number"] for r in (first, again, changed)] == [
        "2026-00001",
        "2026-00002",
        "2026-00003",
    ]
    assert not any("Idempotent-Replayed" in r.headers for r in (first, again, changed))
    assert changed_again.headers["Idempotent-Replayed"] == "true"
    assert changed_again.json() == changed.json()
    assert (original.status_code, original.json()["code"]) == (409, "idempotency_key_reused")


def test_injected_rate_limit_fault(sandbox_http: httpx.Client) -> None:
    sandbox_http.post("/sandbox/faults", json={"rate_limit_rate": 1})

    response = sandbox_http.get("/entities")

    assert (response.status_code, response.headers["Retry-After"]) == (429, "1")


Received = list[tuple[dict[str, str], bytes]]
Failures = dict[str, list[int]]


@pytest.fixture
def receiver() -> Iterator[tuple[str, Received, Failures]]:
    """An HTTP endpoint recording webhook deliveries; answers an event's queued failure
    statuses first, then 200."""
    received: Received = []
    failures: Failures = {}

    def app(environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        received.append((dict(request.headers), request.get_data()))
        queued = failures.get(request.headers["X-Webhook-Event"], [])
        status = queued.pop(0) if queued else 200
        return Response(status=status)(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks", received, failures
    server.shutdown()
    thread.join()
    server.server_close()


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_webhooks_are_signed_and_retried_on_the_schedule(
    tmp_path: Path,
    sandbox_client: ClientFactory,
    receiver: tuple[str, Received, Failures],
) -> None:
    url, received, failures = receiver
    app = create_app(
        tmp_path / "hooks.sqlite3", ["sk_sandbox_hooks"], webhook_retry_delays=(0, 0.05, 0.1)
    )
    http = sandbox_client("sk_sandbox_hooks", app=app)
    webhook = http.post(
        "/webhooks",
        json={"url": url, "events": ["invoice.created", "invoice.paid", "invoice.voided"]},
    ).json()
    http.post("/entities", json={"name": "Shop", "country_code": "SI"})
    failures["invoice.created"] = [500, 503]

    invoice = http.post(
        "/invoices", json={**INVOICE, "payments": [{"amount": "12.20", "type": "card"}]}
    ).json()
    http.post(f"/invoices/{invoice['id']}/void", json={"reason": "test"})
    wait_for(lambda: len(received) == 5)

    events = [headers["X-Webhook-Event"] for headers, _ in received]
    assert sorted(events) == sorted(["invoice.created"] * 3 + ["invoice.paid", "invoice.voided"])
    for headers, body in received:
        expected = hmac.new(webhook["secret"].encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Webhook-Signature"] == f"sha256={expected}"
        assert headers["X-Webhook-Id"] == webhook["id"]
        assert re.fullmatch(r"dlv_[0-9a-f]{24}", headers["X-Webhook-Delivery"])
        assert headers["X-Webhook-Timestamp"].isdigit()
        payload = json.loads(body)
        assert set(payload) == {"event", "data", "timestamp"}
        assert payload["data"]["id"] == invoice["id"]
    created = [
        h["X-Webhook-Delivery"] for h, _ in received if h["X-Webhook-Event"] == "invoice.created"
    ]
    assert len(set(created)) == 1

    def created_attempts() -> list[tuple[int, int]]:
        # The dispatcher logs an attempt once the receiver's answer is back: poll for the last.
        page = http.get("/sandbox/webhook-deliveries", params={"limit": 100}).json()
        return [
            (a["attempt"], a["outcome"]) for a in page["data"] if a["event"] == "invoice.created"
        ]

    wait_for(lambda: len(created_attempts()) == 3)
    assert created_attempts() == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]
    assert "secret" not in http.get("/webhooks").json()["data"][0]


def test_webhook_registration_is_validated(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post("/webhooks", json={"url": "ftp://x", "events": ["order.made"]})

    assert [i["path"] for i in response.json()["cause"]["issues"]] == [["url"], ["events", 0]]
