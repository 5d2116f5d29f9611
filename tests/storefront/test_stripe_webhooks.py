"""Hostile and bad webhook deliveries: a bad signature, a stale timestamp, a replayed event id, an
amount or currency other than the checkout's, an unknown checkout. Each is refused or ignored
with its status, writes nothing, and logs its reason without the secret or the signature."""

import json
import logging
import threading
import time
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from marketplace.models import (
    Checkout,
    OrderStatus,
    Payment,
    PaymentSession,
    ProviderEvent,
    SellerTransfer,
)
from marketplace.stripe_standin import sign_payload
from tests.conftest import STRIPE_WEBHOOK_SECRET
from tests.storefront.conftest import add, checkout_post

pytestmark = pytest.mark.django_db

WEBHOOK = "/api/webhooks/stripe/"


@pytest.fixture
def placed(client, products, sellers, stripe_standin):
    for seller in sellers:
        stripe_standin.onboard(seller)
    ProviderEvent.objects.all().delete()  # the onboarding's account.updated events
    add(client, products["spoon"], 2)
    add(client, products["book"], 1)
    checkout_post(
        client,
        [(products["spoon"], 2, Decimal("14.90")), (products["book"], 1, Decimal("24.00"))],
    )
    return Checkout.objects.get()


def completed_event(checkout, **changes):
    session = PaymentSession.objects.get(checkout=checkout)
    obj = {
        "id": session.provider_session_id,
        "object": "checkout.session",
        "amount_total": 6204,
        "currency": "eur",
        "metadata": {"checkout_ref": str(checkout.public_id)},
        "payment_intent": "pi_hostile000000000000000000",
        "payment_status": "paid",
        "status": "complete",
        **changes,
    }
    event = {
        "id": f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def post(client, body, signature):
    return client.post(
        WEBHOOK, data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )


def nothing_written(checkout):
    assert ProviderEvent.objects.count() == 0
    assert Payment.objects.count() == 0
    assert SellerTransfer.objects.count() == 0
    assert set(checkout.orders.values_list("status", flat=True)) == {OrderStatus.PLACED}


def assert_logged_without_secrets(caplog, reason, signature=""):
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert reason in text
    assert STRIPE_WEBHOOK_SECRET not in text
    if signature:
        assert signature.split("v1=")[-1] not in text


def test_a_signed_event_marks_the_checkout_paid(client, placed):
    body = completed_event(placed)

    response = post(client, body, sign_payload(body, STRIPE_WEBHOOK_SECRET))

    assert (response.status_code, response.json()) == (200, {"status": "applied"})
    assert set(placed.orders.values_list("status", flat=True)) == {OrderStatus.PAID}
    assert Payment.objects.get().provider_payment_id == "pi_hostile000000000000000000"


def test_a_bad_signature_is_refused(client, placed, caplog):
    body = completed_event(placed)
    signature = sign_payload(body, "whsec_someone_else")

    with caplog.at_level(logging.WARNING):
        response = post(client, body, signature)

    assert (response.status_code, response.json()) == (400, {"status": "bad_signature"})
    nothing_written(placed)
    assert_logged_without_secrets(caplog, "stripe webhook refused: bad signature", signature)


def test_a_missing_signature_is_refused(client, placed):
    response = client.post(WEBHOOK, data=completed_event(placed), content_type="application/json")

    assert (response.status_code, response.json()) == (400, {"status": "bad_signature"})
    nothing_written(placed)


def test_a_tampered_body_is_refused(client, placed):
    body = completed_event(placed)
    signature = sign_payload(body, STRIPE_WEBHOOK_SECRET)

    response = post(client, body.replace(b"6204", b"6205"), signature)

    assert response.status_code == 400
    nothing_written(placed)


def test_a_stale_timestamp_is_refused(client, placed, caplog, settings):
    body = completed_event(placed)
    stale = int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE - 5
    signature = sign_payload(body, STRIPE_WEBHOOK_SECRET, timestamp=stale)

    with caplog.at_level(logging.WARNING):
        response = post(client, body, signature)

    assert (response.status_code, response.json()) == (400, {"status": "stale_timestamp"})
    nothing_written(placed)
    assert_logged_without_secrets(caplog, "stripe webhook refused: stale timestamp", signature)


def test_a_replayed_event_id_changes_nothing(client, placed, caplog):
    body = completed_event(placed)
    post(client, body, sign_payload(body, STRIPE_WEBHOOK_SECRET))
    paid_at = sorted(placed.orders.values_list("paid_at", flat=True))

    with caplog.at_level(logging.INFO):
        again = post(client, body, sign_payload(body, STRIPE_WEBHOOK_SECRET))

    assert (again.status_code, again.json()) == (200, {"status": "replayed"})
    assert ProviderEvent.objects.count() == 1
    assert Payment.objects.count() == 1
    assert sorted(placed.orders.values_list("paid_at", flat=True)) == paid_at
    assert "replayed: nothing to do" in caplog.text


@pytest.mark.parametrize(
    ("changes", "logged"),
    [
        ({"amount_total": 6000}, "amount 60.00 EUR is not the checkout's 62.04 EUR"),
        ({"currency": "usd"}, "amount 62.04 USD is not the checkout's 62.04 EUR"),
    ],
)
def test_an_amount_or_currency_other_than_the_checkouts_is_rejected(
    client, placed, caplog, changes, logged
):
    body = completed_event(placed, **changes)

    with caplog.at_level(logging.WARNING):
        response = post(client, body, sign_payload(body, STRIPE_WEBHOOK_SECRET))

    assert (response.status_code, response.json()) == (400, {"status": "rejected"})
    nothing_written(placed)
    assert_logged_without_secrets(caplog, logged)


def test_an_unknown_checkout_is_ignored(client, placed, caplog):
    body = completed_event(placed, metadata={"checkout_ref": str(uuid.uuid4())})

    with caplog.at_level(logging.WARNING):
        response = post(client, body, sign_payload(body, STRIPE_WEBHOOK_SECRET))

    assert (response.status_code, response.json()) == (200, {"status": "ignored"})
    nothing_written(placed)
    assert_logged_without_secrets(caplog, "ignored: unknown checkout")


def test_an_expired_session_leaves_the_orders_payable(client, placed):
    body = completed_event(placed, status="expired", payment_status="unpaid")
    body = body.replace(b"checkout.session.completed", b"checkout.session.expired")

    response = post(client, body, sign_payload(body, STRIPE_WEBHOOK_SECRET))

    assert response.status_code == 200
    assert PaymentSession.objects.get().status == "expired"
    assert set(placed.orders.values_list("status", flat=True)) == {OrderStatus.PLACED}
    page = client.get(f"/orders/checkout/{placed.public_id}/").content.decode()
    assert 'data-state="abandoned"' in page
    assert "Pay now: the whole checkout, 62.04 EUR" in page


def test_a_dispute_is_recorded_for_operators(
    client, placed, stripe_standin, admin_client, django_capture_on_commit_callbacks
):
    session = PaymentSession.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.page_post(session.url, "pay")
    intent = stripe_standin.objects("payment_intent")[0]

    with stripe_standin.http() as http:
        opened = http.post("/standin/disputes", data={"payment_intent": intent["id"]})

    assert opened.status_code == 200
    dispute = ProviderEvent.objects.get(type="charge.dispute.created")
    assert (dispute.checkout, dispute.amount, dispute.currency, dispute.status) == (
        placed,
        Decimal("62.04"),
        "EUR",
        "needs_response",
    )
    listing = admin_client.get("/admin/marketplace/providerevent/?type=charge.dispute.created")
    assert dispute.event_id in listing.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_twice_at_once_pays_once(client, placed):
    body = completed_event(placed)
    signature = sign_payload(body, STRIPE_WEBHOOK_SECRET)
    start = threading.Barrier(2)
    answers = []

    def deliver() -> None:
        start.wait()
        try:
            answers.append(post(Client(), body, signature).json()["status"])
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == ["applied", "replayed"]
    assert ProviderEvent.objects.count() == 1
    assert Payment.objects.count() == 1
    assert set(placed.orders.values_list("status", flat=True)) == {OrderStatus.PAID}
