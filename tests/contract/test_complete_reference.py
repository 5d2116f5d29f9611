"""Every field of the complete field reference (space-invoices-api.md), one maximal request per
endpoint, sent by our client to the sandbox: each is accepted and every field comes back."""

from decimal import Decimal
from typing import Any

import httpx

from invoicing.client import (
    DocumentCreate,
    DocumentSend,
    EmailSend,
    EntityCreate,
    InvoiceCreate,
    PaymentCreate,
    SpaceInvoicesClient,
)
from tests.contract.conftest import ACCOUNT_KEY

BANK_ACCOUNT = {
    "type": "iban",
    "name": "Main account",
    "bank_name": "NLB",
    "iban": "SI56 0201 0001 2345 678",
    "account_number": "0001 2345 678",
    "bic": "LJBASI2X",
    "routing_number": "021000021",
    "sort_code": "20-00-00",
}

SETTINGS: dict[str, Any] = {
    "pdf_template": "classic",
    "number_formats": {
        "invoice": "{yyyy}-{nnnnn}",
        "estimate": "E-{yyyy}-{nnnn}",
        "credit_note": "CN-{yyyy}-{nnnnn}",
        "advance_invoice": "A-{yy}-{nnn}",
        "delivery_note": "D-{nnnnn}",
        "expense": "X-{yyyy}-{nnn}",
    },
    "number_sequence_starts": {
        "invoice": 100,
        "estimate": 1,
        "credit_note": 7,
        "advance_invoice": 1,
        "delivery_note": 1,
    },
    "primary_color": "#0a7d4f",
    "logo_scale_percent": 80,
    "has_logo": True,
    "has_signature": False,
    "default_invoice_due_days": 15,
    "default_estimate_valid_days": 30,
    "email": "billing@trgovina.si",
    "email_defaults": {"invoice_subject": "Your invoice", "invoice_body": "Thank you."},
    "default_invoice_note": "Thank you for your order.",
    "default_estimate_note": "Valid for 30 days.",
    "default_credit_note_note": "Credited.",
    "default_advance_invoice_note": "Advance.",
    "default_delivery_note_note": "Delivered.",
    "default_invoice_payment_terms": "15 days",
    "default_estimate_payment_terms": "On acceptance",
    "default_credit_note_payment_terms": "Refunded",
    "default_advance_invoice_payment_terms": "Now",
    "default_delivery_note_payment_terms": "None",
    "document_footer": "Trgovina d.o.o., Slovenska 1",
    "default_document_signature": "Ana Novak",
    "translations": {"de": {"document_footer": "Trgovina GmbH"}},
    "calculation": {"default_mode": "b2b_standard"},
    "tax_rules": {
        "eu": {
            "vies_validate_vat": True,
            "auto_reverse_charge": False,
            "auto_remove_tax_export": False,
            "require_gross_prices": False,
        }
    },
    "tax_clause_defaults": {
        "domestic": "VAT included.",
        "intra_eu_b2b": "Reverse charge.",
        "intra_eu_b2c": "OSS.",
        "3w_b2b": "Export B2B.",
        "3w_b2c": "Export B2C.",
        "export": "Export.",
    },
    "overdue_notifications": {
        "enabled": True,
        "threshold_days": 7,
        "email_subject": "Overdue",
        "email_body": "Please pay.",
    },
    "epc_qr": {"enabled": True},
    "bank_accounts": [BANK_ACCOUNT],
    "e_invoicing": {"enabled": True, "auto_send": False},
    "xrechnung": {"enabled": False},
    "zugferd": {"enabled": True},
    "eslog_validation_enabled": True,
    "credit_note_negative_values": False,
    "show_payment_amounts": True,
    "revenue_recognition": {"default_method": "service_period_daily"},
    "furs": {"enabled": False},
    "fina": {"enabled": False},
    "pt": {"enabled": False},
    "slovenia": {"business_premise": "P1"},
}

ENTITY: dict[str, Any] = {
    "name": "Trgovina d.o.o.",
    "country": "Slovenia",
    "address": "Slovenska cesta 1",
    "address_2": "2nd floor",
    "post_code": "1000",
    "city": "Ljubljana",
    "state": "Osrednjeslovenska",
    "country_code": "SI",
    "currency_code": "EUR",
    "locale": "sl-SI",
    "timezone": "Europe/Ljubljana",
    "tax_number": "SI50223054",
    "tax_number_2": "50223054",
    "company_number": "1234567000",
    "phone": "+386 1 234 5678",
    "email": "billing@trgovina.si",
    "website": "https://trgovina.si",
    "fiscal_region_code": "SI-061",
    "starting_capital": Decimal("7500"),
    "environment": "sandbox",
    "is_tax_subject": True,
    "is_enabled": True,
    "settings": SETTINGS,
    "metadata": {"seller_id": "s1"},
}


def party(name: str, **fields: Any) -> dict[str, Any]:
    """A party with every field of the reference."""
    return {
        "name": name,
        "unit_name": "Sales",
        "email": "ana@kunde.de",
        "address": "Hauptstrasse 1",
        "address_2": "Hinterhaus",
        "post_code": "10115",
        "city": "Berlin",
        "state": "Berlin",
        "country": "Germany",
        "country_code": "DE",
        "tax_number": "DE136695976",
        "tax_number_2": "30/123/45678",
        "company_number": "HRB 1234",
        "phone": "+49 30 1234",
        "peppol_id": "9930:DE136695976",
        "peppol_scheme_id": "9930",
        "e_invoicing": {"buyer_reference": "04011000-12345-34"},
        "bank_accounts": [BANK_ACCOUNT],
        "bank_account": BANK_ACCOUNT,
        "is_end_consumer": False,
        **fields,
    }


def document_body(tax_id: str, linked: str, *, invoice: bool) -> dict[str, Any]:
    """Every field of a document create: three priced lines (tax by rate, tax_id and
    classification; net and gross prices; percent and amount discounts) and a separator."""
    body = {
        "is_draft": False,
        "date": "2026-03-15T09:30:00.000Z",
        "date_due": "2026-04-15",
        "date_service": "2026-03-14",
        "date_service_to": "2026-03-15",
        "issuer": party("Trgovina Maribor", country="Slovenia", country_code="SI"),
        "customer": {**party("Kunde GmbH"), "save_customer": True},
        "note": "Thank you.",
        "payment_terms": "Paid by card.",
        "tax_clause": "Reverse charge, Article 196.",
        "footer": "Trgovina d.o.o.",
        "signature": "Ana Novak",
        "translations": {"de": {"note": "Danke."}},
        "reference": "order-1",
        "calculation_mode": "b2b_standard",
        "currency_code": "EUR",
        "expected_total_with_tax": Decimal("39.09"),
        "metadata": {"order_id": "o1"},
        "items": [
            {"type": "separator", "name": "Kitchen"},
            {
                "type": None,
                "name": "Mug",
                "description": "Blue",
                "classification": "product",
                "price": Decimal("10.00"),
                "quantity": 2,
                "unit": "pc",
                "taxes": [
                    {
                        "rate": Decimal("22"),
                        "reverse_charge": False,
                        "amount": Decimal("3.96"),
                        "is_deductible": True,
                        "deductible_percentage": Decimal("100"),
                    }
                ],
                "discounts": [{"value": Decimal("10"), "type": "percent"}],
                "metadata": {"sku": "MUG-1"},
                "revenue_recognition": {
                    "method": "service_period_daily",
                    "date_from": "2026-03-14",
                    "date_to": "2026-03-15",
                },
                "translations": {"de": {"name": "Tasse"}},
                "financial_category_id": "fc_1",
                "save_item": True,
            },
            {
                "name": "Tea",
                "gross_price": Decimal("12.20"),
                "quantity": 1,
                "taxes": [{"tax_id": tax_id}],
                "item_id": "item_000000000000000000000001",
            },
            {
                "name": "Setup",
                "classification": "service",
                "price": Decimal("5.00"),
                "quantity": 1,
                "taxes": [{"classification": "reduced"}],
                "discounts": [{"value": Decimal("0.50"), "type": "amount"}],
            },
        ],
        "linked_documents": [linked],
        "payments": [
            {
                "amount": Decimal("10.00"),
                "type": "card",
                "date": "2026-03-15T10:00:00Z",
                "tag": "stripe",
                "reference": "ch_1",
                "note": "Paid at checkout",
                "metadata": {"charge": "ch_1"},
            },
            {"type": "bank_transfer"},
        ],
        "category_assignments": [{"category_id": "cat_1", "percent": 100}],
        "e_invoicing": {"send_enabled": False},
        "xrechnung": {"leitweg_id": "04011000-12345-34"},
        "zugferd": {"profile": "EN16931"},
        "eslog": {"validation_enabled": True, "validation_required": False},
        "furs": {"business_premise_id": "P1"},
        "fina": {"premise": "1"},
        "pt": {"atcud": "0"},
    }
    if invoice:
        body["force_linked_documents"] = False
    return body


def echoed(sent: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The answer's values of the fields that were sent."""
    return {key: answer[key] for key in sent}


def control(
    http: httpx.Client, method: str, path: str, entity_id: str | None = None, **kwargs: Any
) -> Any:
    """A call the client has no method for, with the account key."""
    headers = {"Authorization": f"Bearer {ACCOUNT_KEY}"}
    if entity_id is not None:
        headers["x-entity-id"] = entity_id
    response = http.request(method, path, headers=headers, **kwargs)
    assert response.is_success, response.text
    return response.json()


def test_entity_create_takes_every_field_and_echoes_it(space_invoices: SpaceInvoicesClient) -> None:
    entity = space_invoices.entity_create(
        payload=EntityCreate.model_validate(ENTITY), request_id="entity-max"
    )

    assert echoed({k: v for k, v in ENTITY.items() if k != "settings"}, entity) == {
        k: v for k, v in ENTITY.items() if k != "settings"
    }
    assert echoed(SETTINGS, entity["settings"]) == SETTINGS
    assert entity["country_rules"] == {"in_eu_vat_area": True}
    assert space_invoices.entity_get(entity_id=entity["id"]) == entity


def test_documents_payments_and_email_take_every_field_and_echo_it(
    space_invoices: SpaceInvoicesClient, sandbox_http: httpx.Client
) -> None:
    entity_id = space_invoices.entity_create(
        payload=EntityCreate.model_validate(ENTITY), request_id="entity-max"
    )["id"]
    tax_id = control(sandbox_http, "POST", "/taxes", entity_id, json={"tax_rates": [{"rate": 22}]})[
        "id"
    ]
    reduced = {"tax_rates": [{"rate": "9.5"}], "classification": "reduced"}
    control(sandbox_http, "POST", "/taxes", entity_id, json=reduced)
    earlier = space_invoices.invoice_create(
        entity_id=entity_id,
        payload=InvoiceCreate.model_validate(
            {"items": [{"name": "Lamp", "quantity": 1, "price": Decimal("40.00")}]}
        ),
        request_id="earlier",
    )
    body = document_body(tax_id, earlier["id"], invoice=True)

    invoice = space_invoices.invoice_create(
        entity_id=entity_id, payload=InvoiceCreate.model_validate(body), request_id="invoice-max"
    )
    credit = space_invoices.credit_note_create(
        entity_id=entity_id,
        payload=DocumentCreate.model_validate(document_body(tax_id, invoice["id"], invoice=False)),
        request_id="credit-max",
    )

    plain = {
        key: body[key]
        for key in (
            *("date_due", "date_service", "date_service_to", "note", "payment_terms"),
            *("tax_clause", "footer", "signature", "translations", "reference"),
            *("calculation_mode", "currency_code", "metadata", "linked_documents"),
            *("category_assignments", "e_invoicing", "xrechnung", "zugferd", "eslog"),
            *("furs", "fina", "pt", "is_draft", "force_linked_documents"),
        )
    }
    assert echoed(plain, invoice) == plain
    assert (invoice["number"], invoice["date"]) == ("2026-00101", "2026-03-15")
    assert (invoice["total"], invoice["total_with_tax"], invoice["total_paid"]) == (
        Decimal("32.50"),
        Decimal("39.09"),
        Decimal("39.09"),
    )
    assert invoice["taxes"] == [
        {"rate": 22, "base": Decimal("28.00"), "amount": Decimal("6.16"), "reverse_charge": False},
        {
            "rate": Decimal("9.5"),
            "base": Decimal("4.50"),
            "amount": Decimal("0.43"),
            "reverse_charge": False,
        },
    ]
    customer = {k: v for k, v in body["customer"].items() if k != "save_customer"}
    assert echoed(customer, invoice["customer"]) == customer
    assert invoice["customer"]["id"].startswith("cust_")
    assert echoed(body["issuer"], invoice["issuer"]) == body["issuer"]

    separator, mug, tea, setup = invoice["items"]
    assert (separator["type"], separator["name"], separator["total"]) == ("separator", "Kitchen", 0)
    sent_mug = {k: v for k, v in body["items"][1].items() if k != "taxes"}
    assert echoed(sent_mug, mug) == sent_mug
    assert mug["taxes"] == body["items"][1]["taxes"]
    assert mug["item_id"].startswith("item_")
    assert (tea["gross_price"], tea["price"], tea["item_id"], tea["taxes"]) == (
        Decimal("12.20"),
        Decimal("10.00"),
        "item_000000000000000000000001",
        [{"rate": 22, "tax_id": tax_id, "reverse_charge": False}],
    )
    assert (setup["classification"], setup["discounts"], setup["taxes"]) == (
        "service",
        [{"value": Decimal("0.50"), "type": "amount"}],
        [{"rate": Decimal("9.5"), "classification": "reduced", "reverse_charge": False}],
    )
    card, transfer = invoice["payments"]
    assert echoed({**body["payments"][0], "date": "2026-03-15"}, card) == {
        **body["payments"][0],
        "date": "2026-03-15",
    }
    assert (transfer["type"], transfer["amount"], transfer["tag"]) == (
        "bank_transfer",
        Decimal("29.09"),
        None,
    )
    assert (credit["number"], credit["linked_documents"]) == ("CN-2026-00007", [invoice["id"]])
    assert "force_linked_documents" not in credit

    payment = space_invoices.payment_create(
        entity_id=entity_id,
        payload=PaymentCreate.model_validate(
            {
                "amount": Decimal("12.00"),
                "type": "credit_note",
                "date": "2026-03-20T12:00:00Z",
                "invoice_id": earlier["id"],
                "credit_note_id": credit["id"],
                "tag": "offset",
                "reference": credit["number"],
                "note": "Settled with the credit note",
                "metadata": {"reason": "refund"},
            }
        ),
        request_id="payment-max",
    )
    by_document = space_invoices.payment_create(
        entity_id=entity_id,
        payload=PaymentCreate(amount=Decimal("1.00"), type="cash", document_id=earlier["id"]),
        request_id="payment-by-document",
    )

    assert {k: payment[k] for k in ("invoice_id", "credit_note_id", "tag", "note")} == {
        "invoice_id": earlier["id"],
        "credit_note_id": credit["id"],
        "tag": "offset",
        "note": "Settled with the credit note",
    }
    assert (payment["date"], payment["reference"], payment["metadata"]) == (
        "2026-03-20",
        "CN-2026-00007",
        {"reason": "refund"},
    )
    assert (payment["entity_id"], payment["currency_code"], payment["deleted_at"]) == (
        entity_id,
        "EUR",
        None,
    )
    assert (by_document["document_id"], by_document["invoice_id"]) == (earlier["id"], earlier["id"])
    assert space_invoices.invoice_get(entity_id=entity_id, invoice_id=earlier["id"])[
        "total_paid"
    ] == Decimal("13.00")

    sent = space_invoices.document_send(
        entity_id=entity_id,
        document_id=invoice["id"],
        payload=DocumentSend(
            to="ana@kunde.de",
            subject="Your invoice",
            body_text="Attached.",
            attach_pdf=True,
            attach_eslog=True,
            sandbox_skip_delivery=True,
        ),
        request_id="send-max",
    )
    emailed = space_invoices.email_send(
        entity_id=entity_id,
        payload=EmailSend(
            to="ana@kunde.de,bo@kunde.de",
            subject="Your credit note",
            body_text="Attached.",
            document_id=credit["id"],
            attach_pdf=False,
            attach_eslog=False,
            sandbox_skip_delivery=False,
            locale="de-DE",
            language="de",
        ),
        request_id="email-max",
    )
    outbox = control(sandbox_http, "GET", "/sandbox/outbox")["data"]

    assert sent["status"] == "sent"
    assert emailed == {
        "message_id": outbox[1]["id"],
        "status": "sent",
        "to": "ana@kunde.de,bo@kunde.de",
        "subject": "Your credit note",
        "shareable_link": f"/share/{credit['shareable_id']}",
    }
    assert [
        (m["document_id"], m["subject"], m["body_text"], m["attach_pdf"], m["attach_eslog"])
        for m in outbox
    ] == [
        (invoice["id"], "Your invoice", "Attached.", True, True),
        (credit["id"], "Your credit note", "Attached.", False, False),
    ]
    assert [m["delivered"] for m in outbox] == [False, True]
    assert (outbox[1]["locale"], outbox[1]["language"]) == ("de-DE", "de")


def test_entity_keys_and_users_take_every_field(space_invoices: SpaceInvoicesClient) -> None:
    entity_id = space_invoices.entity_create(
        payload=EntityCreate.model_validate(ENTITY), request_id="entity-max"
    )["id"]

    key = space_invoices.entity_api_key_create(
        entity_id=entity_id, name="dashboard", ttl_seconds=60, request_id="key-max"
    )
    user = space_invoices.entity_user_create(
        entity_id=entity_id, email="ana@trgovina.si", role="viewer", request_id="user-max"
    )

    assert (key["name"], key["entity_id"], key["environment"]) == (
        "dashboard",
        entity_id,
        "sandbox",
    )
    assert key["prefix_hint"] == f"{key['key'][:15]}...{key['key'][-4:]}"
    assert (user["email"], user["role"], user["invited"], user["user_id"]) == (
        "ana@trgovina.si",
        "viewer",
        False,
        user["id"],
    )
