"""The Stripe stand-in, through the official library: Stripe's shapes and errors for the calls we
make, idempotency keys honoured, webhooks signed so that `stripe.Webhook.construct_event`
accepts them. No Django needed: it is a plain WSGI app."""

import json
import time

import httpx
import pytest
import stripe

from marketplace.stripe_standin import create_app, sign_payload
from tests.conftest import StandinHTTPClient

KEY = "sk_test_standin"
SECRET = "whsec_standin"
BASE = "http://standin"


@pytest.fixture
def delivered():
    return []


@pytest.fixture
def app(delivered):
    def deliver(url, body, headers):
        delivered.append((url, body, headers))
        return 200

    return create_app(
        BASE, secret_key=KEY, webhook_url="http://shop/hook", webhook_secret=SECRET, deliver=deliver
    )


@pytest.fixture
def client(app):
    return stripe.StripeClient(
        KEY, base_addresses={"api": BASE}, http_client=StandinHTTPClient(app), max_network_retries=0
    )


def session_params(**changes):
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 3636,
                    "product_data": {"name": "A"},
                },
                "quantity": 1,
            },
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": 2568,
                    "product_data": {"name": "B"},
                },
                "quantity": 1,
            },
        ],
        "success_url": "http://shop/done",
        "cancel_url": "http://shop/back",
        "metadata": {"checkout_ref": "ref-1"},
        "payment_intent_data": {"metadata": {"checkout_ref": "ref-1"}, "transfer_group": "ref-1"},
        **changes,
    }


def pay(app, session):
    with httpx.Client(transport=httpx.WSGITransport(app=app)) as http:
        return http.post(session.url, data={"action": "pay"})


def ready_account(client, app):
    account = client.v1.accounts.create(params={"type": "express", "country": "SI"})
    app.state.account_onboard(account.id)
    return account


def test_a_session_totals_its_lines_and_an_idempotency_key_replays_it(client):
    first = client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "checkout-1"}
    )
    again = client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "checkout-1"}
    )

    assert first.id == again.id
    assert (first.object, first.amount_total, first.currency, first.status) == (
        "checkout.session",
        6204,
        "eur",
        "open",
    )
    assert first.url == f"{BASE}/standin/checkout/{first.id}"


def test_an_idempotency_key_sent_with_other_parameters_is_refused(client):
    client.v1.checkout.sessions.create(
        params=session_params(), options={"idempotency_key": "checkout-1"}
    )

    with pytest.raises(stripe.IdempotencyError) as refused:
        client.v1.checkout.sessions.create(
            params=session_params(success_url="http://elsewhere/"),
            options={"idempotency_key": "checkout-1"},
        )

    assert "same parameters" in str(refused.value.user_message)


def test_paying_sends_signed_events_that_the_library_verifies(client, app, delivered):
    session = client.v1.checkout.sessions.create(params=session_params())

    answer = pay(app, session)

    assert (answer.status_code, answer.headers["Location"]) == (303, "http://shop/done")
    types = []
    for url, body, headers in delivered:
        event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
        assert url == "http://shop/hook"
        types.append(event["type"])
    assert types == ["checkout.session.completed", "payment_intent.succeeded"]
    completed = json.loads(delivered[0][1])["data"]["object"]
    assert (completed["payment_status"], completed["metadata"]) == (
        "paid",
        {"checkout_ref": "ref-1"},
    )
    intent = client.v1.payment_intents.retrieve(completed["payment_intent"])
    assert (intent.status, intent.amount_received, intent.transfer_group) == (
        "succeeded",
        6204,
        "ref-1",
    )


def test_the_signature_scheme_is_stripes(delivered):
    header = sign_payload(b'{"id": "evt_1"}', SECRET, timestamp=1_700_000_000)

    t, v1 = header.split(",")
    assert t == "t=1700000000"
    assert v1.startswith("v1=")
    assert len(v1) == 3 + 64
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(b'{"id": "evt_1"}', header, SECRET, tolerance=300)
    fresh = sign_payload(b'{"id": "evt_1"}', SECRET, timestamp=int(time.time()))
    assert stripe.Webhook.construct_event(b'{"id": "evt_1"}', fresh, SECRET)["id"] == "evt_1"


def test_transfers_reversals_and_refunds_keep_within_their_amounts(client, app):
    account = ready_account(client, app)
    session = client.v1.checkout.sessions.create(params=session_params())
    pay(app, session)
    intent = client.v1.payment_intents.retrieve(
        client.v1.checkout.sessions.retrieve(session.id).payment_intent
    )
    transfer = client.v1.transfers.create(
        params={
            "amount": 3000,
            "currency": "eur",
            "destination": account.id,
            "source_transaction": intent.latest_charge,
            "transfer_group": "ref-1",
        },
        options={"idempotency_key": "transfer-1"},
    )
    reversal = client.v1.transfers.reversals.create(transfer.id, params={"amount": 1000})
    refund = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1818})

    assert (reversal.object, reversal.amount, reversal.transfer) == (
        "transfer_reversal",
        1000,
        transfer.id,
    )
    assert client.v1.transfers.retrieve(transfer.id).amount_reversed == 1000
    assert (refund.object, refund.status, refund.amount) == ("refund", "succeeded", 1818)
    with pytest.raises(stripe.InvalidRequestError) as over_reversal:
        client.v1.transfers.reversals.create(transfer.id, params={"amount": 2001})
    assert over_reversal.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as over_refund:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 6204})
    assert over_refund.value.code == "amount_too_large"
    with pytest.raises(stripe.InvalidRequestError) as over_transfer:
        client.v1.transfers.create(
            params={
                "amount": 3205,
                "currency": "eur",
                "destination": account.id,
                "source_transaction": intent.latest_charge,
            }
        )
    assert over_transfer.value.code == "balance_insufficient"


def test_a_transfer_to_an_account_without_payouts_is_refused(client):
    account = client.v1.accounts.create(params={"type": "express", "country": "SI"})

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.transfers.create(
            params={"amount": 100, "currency": "eur", "destination": account.id}
        )

    assert refused.value.param == "destination"


def test_unknown_objects_and_a_wrong_key_answer_like_stripe(client, app):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.transfers.retrieve("tr_nothing")
    wrong = stripe.StripeClient(
        "sk_test_wrong", base_addresses={"api": BASE}, http_client=StandinHTTPClient(app)
    )
    with pytest.raises(stripe.AuthenticationError):
        wrong.v1.accounts.retrieve("acct_x")

    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
