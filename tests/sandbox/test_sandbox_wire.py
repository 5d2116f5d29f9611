"""The fields of the complete reference the sandbox gives behaviour to, and unknown fields refused
at any depth (the wire models of invoicing/client/wire.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx
import pytest


def decimal_json(response: httpx.Response) -> Any:
    return json.loads(response.text, parse_float=Decimal)


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = decimal_json(response)
    return body


def line(name: str = "Mug", price: str = "10.00", **fields: Any) -> dict[str, Any]:
    return {"name": name, "quantity": 1, "price": price, "taxes": [{"rate": 22}], **fields}


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/invoices", {"items": [line()], "colour": "red"}, ["colour"]),
        ("/invoices", {"items": [line(colour="red")]}, ["items", 0, "colour"]),
        (
            "/invoices",
            {"items": [{**line(), "taxes": [{"rate": 22, "colour": "red"}]}]},
            ["items", 0, "taxes", 0, "colour"],
        ),
        (
            "/invoices",
            {"items": [line(revenue_recognition={"method": "immediate", "colour": "red"})]},
            ["items", 0, "revenue_recognition", "colour"],
        ),
        (
            "/invoices",
            {"items": [line()], "customer": {"name": "Ana", "bank_account": {"colour": "red"}}},
            ["customer", "bank_account", "colour"],
        ),
        (
            "/invoices",
            {"items": [line()], "issuer": {"e_invoicing": {"buyer_reference": "x", "colour": 1}}},
            ["issuer", "e_invoicing", "colour"],
        ),
        (
            "/invoices",
            {"items": [line()], "payments": [{"type": "card", "colour": "red"}]},
            ["payments", 0, "colour"],
        ),
        ("/invoices", {"items": [line()], "eslog": {"colour": True}}, ["eslog", "colour"]),
        (
            "/credit-notes",
            {"items": [line()], "force_linked_documents": True},
            ["force_linked_documents"],
        ),
        (
            "/payments",
            {"amount": 1, "type": "card", "invoice_id": "inv_1", "colour": 1},
            ["colour"],
        ),
        ("/email/send", {"to": "ana@example.com", "colour": 1}, ["colour"]),
        ("/entities/api-keys", {"name": "k", "colour": 1}, ["colour"]),
        ("/entities/users", {"email": "ana@example.com", "colour": 1}, ["colour"]),
        ("/customers", {"name": "Ana", "save_customer": True}, ["save_customer"]),
    ],
)
def test_unknown_fields_are_422_naming_their_exact_path(
    sandbox_http: httpx.Client,
    entity: dict[str, Any],
    path: str,
    body: dict[str, Any],
    where: list[Any],
) -> None:
    response = sandbox_http.post(path, json=body)

    assert response.status_code == 422
    assert response.json()["cause"]["issues"] == [{"path": where, "message": "unknown field"}]
    assert sandbox_http.get("/invoices").json()["data"] == []


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"tax_rules": {"eu": {"colour": True}}}, ["settings", "tax_rules", "eu", "colour"]),
        ({"number_formats": {"receipt": "R-{nnn}"}}, ["settings", "number_formats", "receipt"]),
        ({"colour": "red"}, ["settings", "colour"]),
    ],
)
def test_unknown_entity_settings_are_422_naming_their_exact_path(
    sandbox_http: httpx.Client, settings: dict[str, Any], where: list[Any]
) -> None:
    response = sandbox_http.post(
        "/entities", json={"name": "S", "country_code": "SI", "settings": settings}
    )

    assert response.status_code == 422
    assert response.json()["cause"]["issues"] == [{"path": where, "message": "unknown field"}]


def test_issuer_override_changes_the_documents_issuer_only(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = created(
        sandbox_http.post(
            "/invoices",
            json={
                "items": [line()],
                "issuer": {"name": "Trgovina Maribor", "city": "Maribor", "peppol_id": "0088:1"},
            },
        )
    )

    assert invoice["issuer"] == {
        "name": "Trgovina Maribor",
        "address": "Slovenska cesta 1",
        "address_2": None,
        "post_code": "1000",
        "city": "Maribor",
        "country": "Slovenia",
        "country_code": "SI",
        "tax_number": "SI12345678",
        "email": "billing@trgovina.si",
        "peppol_id": "0088:1",
    }
    assert sandbox_http.get(f"/entities/{entity['id']}").json()["name"] == "Trgovina d.o.o."


def test_customer_peppol_company_and_phone_are_stored_and_saved(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    customer = {
        "name": "Kunde GmbH",
        "country": "Germany",
        "peppol_id": "9930:DE136695976",
        "peppol_scheme_id": "9930",
        "company_number": "HRB 1234",
        "phone": "+49 30 1234",
        "e_invoicing": {"buyer_reference": "04011000-12345-34"},
        "save_customer": True,
    }
    invoice = created(
        sandbox_http.post("/invoices", json={"items": [line()], "customer": customer})
    )
    [saved] = sandbox_http.get("/customers").json()["data"]

    sent = {key: value for key, value in customer.items() if key != "save_customer"}
    assert {key: invoice["customer"][key] for key in sent} == sent
    assert invoice["customer"]["country_code"] == "DE"
    assert {key: saved[key] for key in sent} == sent
    assert invoice["customer_id"] == saved["id"]


def test_a_separator_is_a_heading_without_price_that_changes_no_total(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = created(
        sandbox_http.post(
            "/invoices",
            json={"items": [{"type": "separator", "name": "Shipping"}, line("Mug", "10.00")]},
        )
    )
    priced = sandbox_http.post("/invoices", json={"items": [{"type": "separator", "price": 1}]})

    heading = invoice["items"][0]
    assert (heading["type"], heading["name"], heading["price"], heading["quantity"]) == (
        "separator",
        "Shipping",
        None,
        None,
    )
    assert (heading["total"], heading["total_with_tax"], heading["taxes"]) == (0, 0, [])
    assert (invoice["total"], invoice["total_with_tax"]) == (Decimal("10"), Decimal("12.2"))
    assert priced.json()["cause"]["issues"] == [
        {"path": ["items", 0, "name"], "message": "is required"},
        {
            "path": ["items", 0, "price"],
            "message": "a separator has no price, quantity, taxes or discounts",
        },
    ]


def test_a_separator_is_a_heading_on_the_pdf_and_the_share_page(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = created(
        sandbox_http.post(
            "/invoices", json={"items": [{"type": "separator", "name": "Shipping"}, line()]}
        )
    )

    pdf = sandbox_http.get(f"/invoices/{invoice['id']}/pdf")
    page = sandbox_http.get(f"/share/{invoice['shareable_id']}")

    assert (pdf.status_code, pdf.content[:5]) == (200, b"%PDF-")
    assert page.status_code == 200
    assert "<tr><th colspan=6>Shipping</th></tr>" in page.text


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("2026-03-15", "2026-03-15"),
        ("2026-03-15T23:30:00Z", "2026-03-15"),
        ("2026-03-15T08:00:00.123Z", "2026-03-15"),
    ],
)
def test_date_is_a_date_or_an_iso_date_time(
    sandbox_http: httpx.Client, entity: dict[str, Any], date: str, expected: str
) -> None:
    invoice = created(sandbox_http.post("/invoices", json={"items": [line()], "date": date}))

    assert (invoice["date"], invoice["date_due"]) == (expected, "2026-04-14")


@pytest.mark.parametrize("date", ["2026-03-15T08:00:00", "2026-03-15 08:00:00Z", "15.03.2026"])
def test_other_date_forms_are_422(
    sandbox_http: httpx.Client, entity: dict[str, Any], date: str
) -> None:
    response = sandbox_http.post("/invoices", json={"items": [line()], "date": date})

    assert response.json()["cause"]["issues"] == [
        {
            "path": ["date"],
            "message": "must be a date (YYYY-MM-DD) or an ISO date-time (YYYY-MM-DDTHH:MM:SSZ)",
        }
    ]


def test_save_item_stores_the_line_as_a_catalogue_item(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = created(
        sandbox_http.post(
            "/invoices",
            json={"items": [line("Mug", save_item=True, unit="pc"), line("Tea", "5.00")]},
        )
    )
    [item] = sandbox_http.get("/items").json()["data"]

    assert [(i["save_item"], i["item_id"]) for i in invoice["items"]] == [
        (True, item["id"]),
        (None, None),
    ]
    assert (item["name"], item["price"], item["unit"]) == ("Mug", 10, "pc")
    assert sandbox_http.get(f"/items/{item['id']}").json() == item


def test_payments_against_a_credit_note_and_with_tag_and_note(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = created(sandbox_http.post("/invoices", json={"items": [line()]}))
    credit = created(
        sandbox_http.post(
            "/credit-notes",
            json={"items": [line(price="4.00")], "linked_documents": [invoice["id"]]},
        )
    )
    with_credit = created(
        sandbox_http.post(
            "/payments",
            json={
                "amount": "4.88",
                "type": "credit_note",
                "invoice_id": invoice["id"],
                "credit_note_id": credit["id"],
                "tag": "refund",
                "note": "offset",
            },
        )
    )
    refund = created(
        sandbox_http.post(
            "/payments",
            json={"amount": "4.88", "type": "bank_transfer", "credit_note_id": credit["id"]},
        )
    )
    both_without_type = sandbox_http.post(
        "/payments",
        json={"amount": 1, "type": "card", "invoice_id": invoice["id"], "credit_note_id": "c"},
    )

    assert (with_credit["invoice_id"], with_credit["credit_note_id"]) == (
        invoice["id"],
        credit["id"],
    )
    assert (with_credit["document_id"], with_credit["tag"], with_credit["note"]) == (
        invoice["id"],
        "refund",
        "offset",
    )
    assert (refund["credit_note_id"], refund["document_id"], "invoice_id" in refund) == (
        credit["id"],
        credit["id"],
        False,
    )
    paid_invoice = sandbox_http.get(f"/invoices/{invoice['id']}").json()
    paid_credit = sandbox_http.get(f"/credit-notes/{credit['id']}").json()
    assert (paid_invoice["total_paid"], paid_invoice["total_due"]) == (4.88, 7.32)
    assert (paid_credit["total_paid"], paid_credit["paid_in_full"]) == (4.88, True)
    assert both_without_type.json()["cause"]["issues"][0]["path"] == ["invoice_id"]


def test_email_send_takes_up_to_four_addresses_and_a_document(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    invoice = created(sandbox_http.post("/invoices", json={"items": [line()]}))
    sent = sandbox_http.post(
        "/email/send",
        json={"to": "ana@example.com, bo@example.com", "document_id": invoice["id"]},
    )
    five = sandbox_http.post("/email/send", json={"to": ",".join(["a@example.com"] * 5)})
    [message] = sandbox_http.get("/sandbox/outbox").json()["data"]

    assert sent.status_code == 200
    assert sent.json() == {
        "message_id": message["id"],
        "status": "sent",
        "to": "ana@example.com, bo@example.com",
        "subject": f"Invoice {invoice['number']} from Trgovina d.o.o.",
        "shareable_link": f"/share/{invoice['shareable_id']}",
    }
    assert (message["document_id"], message["attach_pdf"]) == (invoice["id"], True)
    assert five.json()["cause"]["issues"] == [
        {"path": ["to"], "message": "must be 1 to 4 comma-separated addresses"}
    ]


def test_entity_patch_takes_the_create_fields_and_refuses_null_timezone(
    sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    patch = {
        "fiscal_region_code": "SI-061",
        "starting_capital": 7500,
        "company_number": "1234567000",
        "settings": {"tax_clause_defaults": {"3w_b2c": "Export."}, "epc_qr": {"enabled": True}},
    }
    patched = sandbox_http.patch(f"/entities/{entity['id']}", json=patch)
    null_timezone = sandbox_http.patch(f"/entities/{entity['id']}", json={"timezone": None})

    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert {key: body[key] for key in patch if key != "settings"} == {
        key: value for key, value in patch.items() if key != "settings"
    }
    assert (body["settings"]["tax_clause_defaults"], body["settings"]["epc_qr"]) == (
        {"3w_b2c": "Export."},
        {"enabled": True},
    )
    assert body["settings"]["number_formats"] == entity["settings"]["number_formats"]
    assert null_timezone.json()["cause"]["issues"] == [
        {"path": ["timezone"], "message": "must not be null"}
    ]
