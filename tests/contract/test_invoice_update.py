"""``PATCH /invoices/{id}`` with every field the reference allows, sent by our client to the
sandbox: the fields come back, the totals are recomputed from the new lines, the number stays."""

from decimal import Decimal
from typing import Any

import httpx

from invoicing.client import EntityCreate, InvoiceCreate, InvoiceUpdate, SpaceInvoicesClient
from tests.contract.conftest import ACCOUNT_KEY
from tests.contract.test_complete_reference import ENTITY, control, document_body, echoed

# What a PATCH may not change (the fiscal blocks, payments, draft state, calculation mode).
_NOT_PATCHABLE = ("is_draft", "payments", "calculation_mode", "furs", "fina", "pt")


def _entity_with_taxes(client: SpaceInvoicesClient, http: httpx.Client) -> tuple[str, str]:
    entity_id = client.entity_create(
        payload=EntityCreate.model_validate(ENTITY), request_id="entity-max"
    )["id"]
    tax_id = control(http, "POST", "/taxes", entity_id, json={"tax_rates": [{"rate": 22}]})["id"]
    reduced = {"tax_rates": [{"rate": "9.5"}], "classification": "reduced"}
    control(http, "POST", "/taxes", entity_id, json=reduced)
    return entity_id, tax_id


def _lamp(client: SpaceInvoicesClient, entity_id: str, request_id: str) -> dict[str, Any]:
    payload = InvoiceCreate.model_validate(
        {"items": [{"name": "Lamp", "quantity": 1, "price": Decimal("40.00")}]}
    )
    return dict(client.invoice_create(entity_id=entity_id, payload=payload, request_id=request_id))


def _patch(
    http: httpx.Client, entity_id: str, invoice_id: str, body: dict[str, Any]
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ACCOUNT_KEY}", "x-entity-id": entity_id}
    return http.patch(f"/invoices/{invoice_id}", headers=headers, json=body)


def test_invoice_update_takes_every_allowed_field_and_recomputes(
    space_invoices: SpaceInvoicesClient, sandbox_http: httpx.Client
) -> None:
    entity_id, tax_id = _entity_with_taxes(space_invoices, sandbox_http)
    earlier = _lamp(space_invoices, entity_id, "earlier")
    invoice = _lamp(space_invoices, entity_id, "invoice")
    created = document_body(tax_id, earlier["id"], invoice=True)
    body = {k: v for k, v in created.items() if k not in _NOT_PATCHABLE}
    body["change_reason"] = "Customer asked for the full order on one invoice."

    updated = space_invoices.invoice_update(
        entity_id=entity_id,
        invoice_id=invoice["id"],
        payload=InvoiceUpdate.model_validate(body),
        request_id="invoice-patch",
    )
    replayed = space_invoices.invoice_update(
        entity_id=entity_id,
        invoice_id=invoice["id"],
        payload=InvoiceUpdate.model_validate(body),
        request_id="invoice-patch",
    )

    plain = {
        key: body[key]
        for key in (
            *("date_due", "date_service", "date_service_to", "note", "payment_terms"),
            *("tax_clause", "footer", "signature", "translations", "reference"),
            *("currency_code", "metadata", "linked_documents", "category_assignments"),
            *("e_invoicing", "xrechnung", "zugferd", "eslog", "force_linked_documents"),
            "change_reason",
        )
    }
    assert echoed(plain, updated) == plain
    assert (updated["id"], updated["number"], updated["date"]) == (
        invoice["id"],
        "2026-00101",
        "2026-03-15",
    )
    assert invoice["number"] == "2026-00101"
    assert (updated["calculation_mode"], updated["is_draft"], updated["payments"]) == (
        "b2b_standard",
        False,
        [],
    )
    assert (
        updated["total"],
        updated["total_with_tax"],
        updated["total_discount"],
        updated["total_paid"],
        updated["total_due"],
        updated["paid_in_full"],
    ) == (Decimal("32.50"), Decimal("39.09"), Decimal("2.50"), 0, Decimal("39.09"), False)
    assert updated["taxes"] == [
        {"rate": 22, "base": Decimal("28.00"), "amount": Decimal("6.16"), "reverse_charge": False},
        {
            "rate": Decimal("9.5"),
            "base": Decimal("4.50"),
            "amount": Decimal("0.43"),
            "reverse_charge": False,
        },
    ]
    assert [(line["name"], line["total"]) for line in updated["items"]] == [
        ("Kitchen", 0),
        ("Mug", Decimal("18.00")),
        ("Tea", Decimal("10.00")),
        ("Setup", Decimal("4.50")),
    ]
    customer = {k: v for k, v in body["customer"].items() if k != "save_customer"}
    assert echoed(customer, updated["customer"]) == customer
    assert updated["customer_id"] == updated["customer"]["id"]
    assert updated["customer_id"].startswith("cust_")
    assert echoed(body["issuer"], updated["issuer"]) == body["issuer"]
    assert (invoice["transaction_type"], updated["transaction_type"]) == (
        "domestic",
        "intra_eu_b2b",
    )
    assert replayed == updated
    assert space_invoices.invoice_get(entity_id=entity_id, invoice_id=invoice["id"]) == updated


def test_invoice_update_refuses_fields_it_may_not_change(
    space_invoices: SpaceInvoicesClient, sandbox_http: httpx.Client
) -> None:
    entity_id, _ = _entity_with_taxes(space_invoices, sandbox_http)
    invoice = _lamp(space_invoices, entity_id, "invoice")

    draft = _patch(sandbox_http, entity_id, invoice["id"], {"is_draft": True, "note": "x"})
    paid = _patch(sandbox_http, entity_id, invoice["id"], {"payments": [{"type": "cash"}]})
    too_long = _patch(sandbox_http, entity_id, invoice["id"], {"change_reason": "x" * 501})

    assert (draft.status_code, [i["path"] for i in draft.json()["cause"]["issues"]]) == (
        422,
        [["is_draft"]],
    )
    assert (paid.status_code, [i["path"] for i in paid.json()["cause"]["issues"]]) == (
        422,
        [["payments"]],
    )
    assert (too_long.status_code, [i["path"] for i in too_long.json()["cause"]["issues"]]) == (
        422,
        [["change_reason"]],
    )
    assert space_invoices.invoice_get(entity_id=entity_id, invoice_id=invoice["id"]) == invoice


def test_invoice_update_of_another_entitys_invoice_is_404(
    space_invoices: SpaceInvoicesClient, sandbox_http: httpx.Client
) -> None:
    entity_id, _ = _entity_with_taxes(space_invoices, sandbox_http)
    other_id = space_invoices.entity_create(
        payload=EntityCreate.model_validate({**ENTITY, "name": "Other"}), request_id="other"
    )["id"]
    invoice = _lamp(space_invoices, entity_id, "invoice")

    response = _patch(sandbox_http, other_id, invoice["id"], {"note": "changed"})

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert space_invoices.invoice_get(entity_id=entity_id, invoice_id=invoice["id"]) == invoice


def test_invoice_update_keeps_payments_and_checks_dates_totals_and_void(
    space_invoices: SpaceInvoicesClient, sandbox_http: httpx.Client
) -> None:
    entity_id, _ = _entity_with_taxes(space_invoices, sandbox_http)
    invoice = _lamp(space_invoices, entity_id, "invoice")
    payment = {"amount": "15.00", "type": "cash", "invoice_id": invoice["id"]}
    control(sandbox_http, "POST", "/payments", entity_id, json=payment)
    items = [{"name": "Chair", "quantity": 2, "price": "30.00"}]

    early_due = _patch(sandbox_http, entity_id, invoice["id"], {"date_due": "2000-01-01"})
    null_date = _patch(sandbox_http, entity_id, invoice["id"], {"date": None})
    wrong_total = _patch(sandbox_http, entity_id, invoice["id"], {"expected_total_with_tax": 41})
    repriced = _patch(
        sandbox_http, entity_id, invoice["id"], {"items": items, "expected_total_with_tax": 60}
    )
    control(
        sandbox_http, "POST", f"/invoices/{invoice['id']}/void", entity_id, json={"reason": "x"}
    )
    voided = _patch(sandbox_http, entity_id, invoice["id"], {"note": "late"})

    assert [
        (r.status_code, [i["path"] for i in r.json()["cause"]["issues"]])
        for r in (early_due, null_date, wrong_total)
    ] == [(422, [["date_due"]]), (422, [["date"]]), (422, [["expected_total_with_tax"]])]
    assert repriced.status_code == 200, repriced.text
    assert {
        k: repriced.json()[k] for k in ("total", "total_paid", "total_due", "paid_in_full")
    } == {"total": 60, "total_paid": 15, "total_due": 45, "paid_in_full": False}
    assert [p["amount"] for p in repriced.json()["payments"]] == [15]
    assert (voided.status_code, voided.json()["code"]) == (409, "document_voided")
