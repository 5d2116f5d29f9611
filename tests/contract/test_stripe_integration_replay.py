"""The calls a typical public production client makes, replayed against the sandbox: an
integration that turns Stripe webhooks into Space Invoices documents. Written from the API
reference (space-invoices-api.md), as such a client sends them: JSON numbers as a JavaScript
client writes them, dates from Stripe's timestamps as ISO date-times, the Stripe ids in metadata
and the Stripe event id as the idempotency key.

On ``checkout.session.completed`` it creates the invoice (customer saved, line items saved to the
catalogue, one priced gross and one net), records the card payment, then emails the invoice.
"""

from typing import Any

import httpx

from tests.contract.conftest import ACCOUNT_KEY

EVENT = "evt_1QxYz2LkdIwHu7ix0aBcDeFg"
SESSION = "cs_test_a1B2c3D4e5F6g7H8i9J0"
PAYMENT_INTENT = "pi_3QxYz2LkdIwHu7ix1kLmNoPq"
PAID_AT = "2026-03-15T10:42:17.000Z"  # new Date(session.created * 1000).toISOString()


def post(
    http: httpx.Client, path: str, body: dict[str, Any], request_id: str, entity_id: str
) -> httpx.Response:
    return http.post(
        path,
        json=body,
        headers={
            "Authorization": f"Bearer {ACCOUNT_KEY}",
            "x-entity-id": entity_id,
            "X-Request-Id": request_id,
        },
    )


def get(http: httpx.Client, path: str, entity_id: str) -> Any:
    headers = {"Authorization": f"Bearer {ACCOUNT_KEY}", "x-entity-id": entity_id}
    response = http.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def invoice_from_checkout_session() -> dict[str, Any]:
    """The invoice body built from the session and its line items (amounts in cents / 100)."""
    return {
        "date": PAID_AT,
        "currency_code": "EUR",
        "customer": {
            "name": "Ana Novak",
            "email": "ana.novak@example.com",
            "address": "Trubarjeva cesta 5",
            "post_code": "1000",
            "city": "Ljubljana",
            "country_code": "SI",
            "save_customer": True,
        },
        "items": [
            {
                "name": "Pro plan (monthly)",
                "quantity": 1,
                "gross_price": 24.4,
                "taxes": [{"rate": 22}],
                "save_item": True,
            },
            {
                "name": "Onboarding call",
                "quantity": 1,
                "price": 10,
                "taxes": [{"rate": 22}],
                "save_item": False,
            },
        ],
        "note": "Paid by card through Stripe.",
        "metadata": {
            "stripe_event_id": EVENT,
            "stripe_checkout_session_id": SESSION,
            "stripe_payment_intent_id": PAYMENT_INTENT,
        },
    }


def test_a_stripe_checkout_becomes_a_paid_invoice_emailed_to_the_buyer(
    sandbox_http: httpx.Client,
) -> None:
    entity = sandbox_http.post(
        "/entities",
        json={"name": "Studio Novak s.p.", "country": "Slovenia", "tax_number": "SI50223054"},
        headers={"Authorization": f"Bearer {ACCOUNT_KEY}"},
    )
    assert entity.status_code == 201, entity.text
    entity_id = entity.json()["id"]

    created = post(
        sandbox_http, "/invoices", invoice_from_checkout_session(), f"{EVENT}:invoice", entity_id
    )
    # Stripe delivers the event again (its retry): the same key replays the first answer.
    again = post(
        sandbox_http, "/invoices", invoice_from_checkout_session(), f"{EVENT}:invoice", entity_id
    )
    invoice = created.json()
    paid = post(
        sandbox_http,
        "/payments",
        {
            "amount": invoice["total_with_tax"],
            "type": "card",
            "invoice_id": invoice["id"],
            "date": PAID_AT,
            "reference": PAYMENT_INTENT,
            "metadata": {"stripe_payment_intent_id": PAYMENT_INTENT},
        },
        f"{EVENT}:payment",
        entity_id,
    )
    emailed = post(
        sandbox_http,
        "/email/send",
        {
            "to": "ana.novak@example.com",
            "subject": f"Your invoice {invoice['number']}",
            "body_text": "Thank you for your purchase.",
            "document_id": invoice["id"],
            "attach_pdf": True,
        },
        f"{EVENT}:email",
        entity_id,
    )

    assert (created.status_code, again.status_code) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == invoice
    assert (invoice["number"], invoice["date"], invoice["currency_code"]) == (
        "2026-00001",
        "2026-03-15",
        "EUR",
    )
    assert [(i["name"], i["price"], i["total"], i["total_with_tax"]) for i in invoice["items"]] == [
        ("Pro plan (monthly)", 20, 20, 24.4),
        ("Onboarding call", 10, 10, 12.2),
    ]
    assert (invoice["total"], invoice["total_with_tax"], invoice["taxes"]) == (
        30,
        36.6,
        [{"rate": 22, "base": 30, "amount": 6.6, "reverse_charge": False}],
    )
    assert invoice["metadata"] == invoice_from_checkout_session()["metadata"]
    [customer] = get(sandbox_http, "/customers", entity_id)["data"]
    assert (invoice["customer_id"], customer["name"], customer["email"]) == (
        customer["id"],
        "Ana Novak",
        "ana.novak@example.com",
    )
    [item] = get(sandbox_http, "/items", entity_id)["data"]
    assert (item["name"], item["gross_price"]) == ("Pro plan (monthly)", 24.4)
    assert [i["item_id"] for i in invoice["items"]] == [item["id"], None]

    assert paid.status_code == 201, paid.text
    payment = paid.json()
    assert (payment["invoice_id"], payment["amount"], payment["date"], payment["reference"]) == (
        invoice["id"],
        36.6,
        "2026-03-15",
        PAYMENT_INTENT,
    )
    settled = get(sandbox_http, f"/invoices/{invoice['id']}", entity_id)
    assert (settled["total_paid"], settled["total_due"], settled["paid_in_full"]) == (36.6, 0, True)

    assert emailed.status_code == 200, emailed.text
    [message] = get(sandbox_http, "/sandbox/outbox", entity_id)["data"]
    assert emailed.json() == {
        "message_id": message["id"],
        "status": "sent",
        "to": "ana.novak@example.com",
        "subject": "Your invoice 2026-00001",
        "shareable_link": f"/share/{invoice['shareable_id']}",
    }
    assert (message["document_id"], message["attach_pdf"], message["delivered"]) == (
        invoice["id"],
        True,
        True,
    )
