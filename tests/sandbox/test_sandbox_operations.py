"""Payments, void, finalize, send and the outbox, PDFs, taxes, customers, calculation modes."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

EntityFactory = Callable[..., dict[str, Any]]


def line(price: str = "10.00", rate: str | int = 22, **fields: Any) -> dict[str, Any]:
    return {"name": "Mug", "quantity": 1, "price": price, "taxes": [{"rate": rate}], **fields}


def create(
    http: httpx.Client, entity: dict[str, Any], body: dict[str, Any], path: str = "/invoices"
) -> dict[str, Any]:
    response = http.post(path, json=body, headers={"x-entity-id": entity["id"]})
    assert response.status_code == 201, response.text
    document: dict[str, Any] = response.json()
    return document


def test_payments_update_the_invoice_until_paid_in_full(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = create(sandbox_http, entity, {"date": "2026-03-01", "items": [line()]})
    headers = {"x-entity-id": entity["id"]}

    first = sandbox_http.post(
        "/payments",
        json={"amount": "5.00", "type": "bank_transfer", "invoice_id": invoice["id"]},
        headers=headers,
    )
    second = sandbox_http.post(
        "/payments",
        json={"amount": "7.20", "type": "card", "document_id": invoice["id"], "date": "2026-03-09"},
        headers=headers,
    )
    after = sandbox_http.get(f"/invoices/{invoice['id']}", headers=headers).json()
    listed = sandbox_http.get("/payments", headers=headers).json()

    assert (first.status_code, second.status_code) == (201, 201)
    assert re.fullmatch(r"pmt_[0-9a-f]{24}", first.json()["id"])
    assert second.json()["date"] == "2026-03-09"
    assert (after["total_paid"], after["total_due"], after["paid_in_full"]) == (12.2, 0, True)
    assert [p["id"] for p in after["payments"]] == [first.json()["id"], second.json()["id"]]
    assert [p["amount"] for p in listed["data"]] == [5, 7.2]


@pytest.mark.parametrize(
    ("body", "status", "path"),
    [
        ({"amount": "12.21", "type": "cash"}, 422, ["amount"]),
        ({"amount": "-1", "type": "cash"}, 422, ["amount"]),
        ({"amount": "1", "type": "iou"}, 422, ["type"]),
        ({"amount": "1", "type": "cash", "extra": 1}, 422, ["extra"]),
        ({"amount": "1", "type": "cash", "invoice_id": None}, 422, ["invoice_id"]),
    ],
)
def test_bad_payments_are_rejected_and_change_nothing(
    sandbox_http: httpx.Client,
    entity: dict[str, Any],
    body: dict[str, Any],
    status: int,
    path: list[str],
) -> None:
    invoice = create(sandbox_http, entity, {"items": [line()]})
    headers = {"x-entity-id": entity["id"]}
    payload = {"invoice_id": invoice["id"], **body}
    if payload["invoice_id"] is None:
        del payload["invoice_id"]

    response = sandbox_http.post("/payments", json=payload, headers=headers)

    assert response.status_code == status
    assert [issue["path"] for issue in response.json()["cause"]["issues"]] == [path]
    assert sandbox_http.get(f"/invoices/{invoice['id']}", headers=headers).json() == invoice
    assert sandbox_http.get("/payments", headers=headers).json()["data"] == []


def test_void_sets_voided_at_once_and_blocks_payments(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = create(sandbox_http, entity, {"items": [line()]})
    headers = {"x-entity-id": entity["id"]}

    missing_reason = sandbox_http.post(f"/invoices/{invoice['id']}/void", json={}, headers=headers)
    voided = sandbox_http.post(
        f"/invoices/{invoice['id']}/void", json={"reason": "order cancelled"}, headers=headers
    )
    again = sandbox_http.post(
        f"/invoices/{invoice['id']}/void", json={"reason": "again"}, headers=headers
    )
    payment = sandbox_http.post(
        "/payments",
        json={"amount": 1, "type": "cash", "invoice_id": invoice["id"]},
        headers=headers,
    )

    assert missing_reason.status_code == 422
    assert voided.status_code == 200
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", voided.json()["voided_at"])
    assert (voided.json()["void_reason"], voided.json()["number"]) == (
        "order cancelled",
        invoice["number"],
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_voided")
    assert (payment.status_code, payment.json()["code"]) == (409, "document_voided")


def test_a_draft_is_numbered_when_finalized(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    headers = {"x-entity-id": entity["id"]}
    create(sandbox_http, entity, {"date": "2026-05-01", "items": [line()]})
    draft = create(
        sandbox_http, entity, {"date": "2026-05-02", "is_draft": True, "items": [line()]}
    )
    create(sandbox_http, entity, {"date": "2026-05-03", "items": [line()]})

    send_draft = sandbox_http.post(
        f"/documents/{draft['id']}/send", json={"to": "a@b.si"}, headers=headers
    )
    final = sandbox_http.post(f"/invoices/{draft['id']}/finalize", headers=headers)
    again = sandbox_http.post(f"/invoices/{draft['id']}/finalize", headers=headers)

    assert draft["number"] is None
    assert (send_draft.status_code, send_draft.json()["code"]) == (409, "document_is_draft")
    assert (final.status_code, final.json()["number"], final.json()["is_draft"]) == (
        200,
        "2026-00003",
        False,
    )
    assert (again.status_code, again.json()["code"]) == (409, "not_a_draft")


def test_send_puts_a_message_in_the_outbox(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = create(sandbox_http, entity, {"date": "2026-03-01", "items": [line()]})
    headers = {"x-entity-id": entity["id"]}

    sent = sandbox_http.post(
        f"/documents/{invoice['id']}/send", json={"to": "ana@example.com"}, headers=headers
    )
    bad = sandbox_http.post(
        f"/documents/{invoice['id']}/send", json={"to": "nobody"}, headers=headers
    )
    outbox = sandbox_http.get("/sandbox/outbox").json()

    assert sent.status_code == 200
    assert sent.json()["status"] == "sent"
    assert (bad.status_code, bad.json()["cause"]["issues"][0]["path"]) == (422, ["to"])
    [message] = outbox["data"]
    assert message == {
        "id": sent.json()["id"],
        "entity_id": entity["id"],
        "type": "document",
        "document_id": invoice["id"],
        "document_number": "2026-00001",
        "to": "ana@example.com",
        "subject": "Invoice 2026-00001 from Trgovina d.o.o.",
        "body_text": None,
        "attach_pdf": True,
        "attach_eslog": False,
        "delivered": True,
        "sent_at": message["sent_at"],
    }


def test_pdf_of_invoices_and_credit_notes(
    sandbox_http: httpx.Client, entity: dict[str, Any], make_entity: EntityFactory
) -> None:
    invoice = create(sandbox_http, entity, {"items": [line()]})
    credit = create(
        sandbox_http,
        entity,
        {"items": [line()], "linked_documents": [invoice["id"]]},
        path="/credit-notes",
    )
    other = make_entity(name="Other")
    headers = {"x-entity-id": entity["id"]}

    pdf = sandbox_http.get(f"/invoices/{invoice['id']}/pdf", headers=headers)
    again = sandbox_http.get(f"/invoices/{invoice['id']}/pdf", headers=headers)
    credit_pdf = sandbox_http.get(f"/credit-notes/{credit['id']}/pdf", headers=headers)
    foreign = sandbox_http.get(
        f"/invoices/{invoice['id']}/pdf", headers={"x-entity-id": other["id"]}
    )

    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.")
    assert pdf.content.rstrip().endswith(b"%%EOF")
    assert pdf.content == again.content
    assert credit_pdf.headers["content-disposition"] == (
        f'inline; filename="credit-note-{credit["number"]}.pdf"'
    )
    assert foreign.status_code == 404


def test_taxes_by_id_and_classification_pick_the_rate_valid_on_the_date(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    headers = {"x-entity-id": entity["id"]}
    standard = sandbox_http.post(
        "/taxes",
        json={
            "name": "VAT",
            "tax_rates": [{"rate": 22}, {"rate": 25, "valid_from": "2027-01-01"}],
            "classification": "standard",
            "is_default": True,
        },
        headers=headers,
    ).json()

    old = create(
        sandbox_http,
        entity,
        {"date": "2026-12-31", "items": [{**line(), "taxes": [{"tax_id": standard["id"]}]}]},
    )
    new = create(
        sandbox_http,
        entity,
        {"date": "2027-01-01", "items": [{**line(), "taxes": [{"classification": "standard"}]}]},
    )
    unknown = sandbox_http.post(
        "/invoices",
        json={"items": [{**line(), "taxes": [{"classification": "reduced"}]}]},
        headers=headers,
    )

    assert re.fullmatch(r"tax_[0-9a-f]{24}", standard["id"])
    assert old["items"][0]["taxes"] == [
        {"rate": 22, "tax_id": standard["id"], "reverse_charge": False}
    ]
    assert (old["total_with_tax"], new["total_with_tax"]) == (12.2, 12.5)
    assert unknown.json()["cause"]["issues"][0]["path"] == [
        "items",
        0,
        "taxes",
        0,
        "classification",
    ]
    assert [t["id"] for t in sandbox_http.get("/taxes", headers=headers).json()["data"]] == [
        standard["id"]
    ]


def test_b2c_gross_discount_keeps_the_gross_total_exact(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = create(
        sandbox_http,
        entity,
        {
            "calculation_mode": "b2c_gross_discount",
            "items": [
                {
                    "name": "Shirt",
                    "quantity": 3,
                    "gross_price": "9.99",
                    "discounts": [{"value": 10, "type": "percent"}],
                    "taxes": [{"rate": 22}],
                }
            ],
        },
    )
    standard = create(
        sandbox_http,
        entity,
        {
            "items": [
                {
                    "name": "Shirt",
                    "quantity": 3,
                    "gross_price": "9.99",
                    "discounts": [{"value": 10, "type": "percent"}],
                    "taxes": [{"rate": 22}],
                }
            ]
        },
    )

    # 3 x 9.99 = 29.97 gross, -10 % = 26.973 -> 26.97; tax 26.97 * 22 / 122 = 4.86.
    assert invoice["calculation_mode"] == "b2c_gross_discount"
    assert (invoice["total_with_tax"], invoice["total"]) == (26.97, 22.11)
    assert invoice["taxes"] == [
        {"rate": 22, "base": 22.11, "amount": 4.86, "reverse_charge": False}
    ]
    # Net first: 8.19 x 3 = 24.57, -10 % = 22.113 -> 22.11, + 4.86 = 26.97 here too, but
    # the gross discount is what the buyer saw: 3.00 gross vs 2.46 net.
    assert (invoice["total_discount"], standard["total_discount"]) == (3, 2.46)


def test_customers_are_saved_and_used_by_id(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    headers = {"x-entity-id": entity["id"]}
    first = create(
        sandbox_http,
        entity,
        {
            "items": [line()],
            "customer": {"name": "Ana", "country_code": "SI", "save_customer": True},
        },
    )
    customer_id = first["customer_id"]
    second = create(sandbox_http, entity, {"items": [line()], "customer_id": customer_id})
    listed = sandbox_http.get(
        "/customers", params={"query": '{"name": {"startsWith": "An"}}'}, headers=headers
    ).json()

    assert re.fullmatch(r"cust_[0-9a-f]{24}", customer_id)
    assert second["customer"]["name"] == "Ana"
    assert second["customer_id"] == customer_id
    assert [c["id"] for c in listed["data"]] == [customer_id]


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "invalid_json"),
        (b"[1, 2]", 422, "validation_error"),
        (
            b'{"items": [{"name": "Mug", "quantity": 1, "price": 1, "colour": "red"}]}',
            422,
            "validation_error",
        ),
        (b'{"items": [], "extra": true}', 422, "validation_error"),
        (b'{"items": [{"name": "Mug", "quantity": -2, "price": 1}]}', 422, "validation_error"),
        (b'{"items": [{"name": 5, "quantity": "x", "price": true}]}', 422, "validation_error"),
        (b'{"items": "' + b"x" * (10 * 1024 * 1024) + b'"}', 413, "payload_too_large"),
    ],
    ids=["malformed", "array", "unknown-item-field", "unknown-field", "negative", "types", "10MB"],
)
def test_bad_bodies_get_4xx_and_store_nothing(
    sandbox_http: httpx.Client, entity: dict[str, Any], content: bytes, status: int, code: str
) -> None:
    headers = {"x-entity-id": entity["id"], "Content-Type": "application/json"}

    response = sandbox_http.post("/invoices", content=content, headers=headers)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert sandbox_http.get("/invoices", headers=headers).json()["data"] == []


def test_unknown_fields_are_named_by_path(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    response = sandbox_http.post(
        "/invoices",
        json={"items": [{**line(), "colour": "red"}], "custmer": {}},
        headers={"x-entity-id": entity["id"]},
    )

    assert response.json()["cause"]["issues"] == [
        {"path": ["custmer"], "message": "unknown field"},
        {"path": ["items", 0, "colour"], "message": "unknown field"},
    ]


def test_unknown_entity_is_404_and_stores_nothing(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    response = sandbox_http.post(
        "/invoices", json={"items": [line()]}, headers={"x-entity-id": "ent_" + "0" * 24}
    )

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert sandbox_http.get("/invoices", headers={"x-entity-id": entity["id"]}).json()["data"] == []


def test_decimal_amounts_are_exact(sandbox_http: httpx.Client, entity: dict[str, Any]) -> None:
    invoice = create(sandbox_http, entity, {"items": [line(price="0.10", quantity=3)]})

    assert Decimal(str(invoice["total_with_tax"])) == Decimal("0.37")
