"""Paying a two-seller checkout through Stripe (the official library against the stand-in):
the hosted page, the webhook, the orders paid and invoiced, one transfer per seller order."""

import re
from decimal import Decimal

import pytest

from invoicing.models import Document, DocumentState
from marketplace.models import (
    Checkout,
    OrderStatus,
    Payment,
    PaymentSession,
    PaymentSessionStatus,
    ProviderEvent,
    SellerTransfer,
)
from marketplace.payment_reconciliation import payment_mismatches
from tests.factories import UserFactory
from tests.storefront.conftest import add, checkout_post

pytestmark = pytest.mark.django_db

# 2 x 14.90 at 22 % = 36.36 (Alpine, SI) and 24.00 at 9.5 % = 25.68 (Berlin, reduced rate in SI)
ALPINE_TOTAL, BERLIN_TOTAL = Decimal("36.36"), Decimal("25.68")


@pytest.fixture
def ready(sellers, stripe_standin):
    for seller in sellers:
        stripe_standin.onboard(seller)
    return sellers


def place(client, products):
    add(client, products["spoon"], 2)
    add(client, products["book"], 1)
    return checkout_post(
        client,
        [(products["spoon"], 2, Decimal("14.90")), (products["book"], 1, Decimal("24.00"))],
    )


def test_checkout_sends_the_buyer_to_one_stripe_session_for_the_whole_checkout(
    client, products, ready, stripe_standin
):
    response = place(client, products)

    checkout = Checkout.objects.get()
    session = PaymentSession.objects.get()
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"http://stripe-standin/standin/checkout/{session.provider_session_id}"
    )
    remote = stripe_standin.app.state.objects[session.provider_session_id]
    ref = str(checkout.public_id)
    assert (remote["amount_total"], remote["currency"]) == (6204, "eur")
    assert remote["metadata"] == {"checkout_ref": ref}
    assert remote["payment_intent_data"] == {
        "metadata": {"checkout_ref": ref},
        "transfer_group": ref,
    }
    assert remote["success_url"] == f"http://testserver/orders/checkout/{ref}/?payment=done"
    assert remote["cancel_url"] == f"http://testserver/orders/checkout/{ref}/?payment=cancelled"
    assert (session.amount, session.currency, session.status) == (
        Decimal("62.04"),
        "EUR",
        PaymentSessionStatus.OPEN,
    )


def test_paying_on_stripe_marks_the_orders_paid_by_webhook_and_transfers_each_sellers_share(
    client, products, ready, stripe_standin, django_capture_on_commit_callbacks
):
    url = place(client, products)["Location"]

    with django_capture_on_commit_callbacks(execute=True):
        back = stripe_standin.page_post(url, "pay")

    checkout = Checkout.objects.get()
    assert back.status_code == 303
    assert back.headers["Location"].endswith(f"/orders/checkout/{checkout.public_id}/?payment=done")
    orders = list(checkout.orders.order_by("pk"))
    assert [(o.status, o.total_gross) for o in orders] == [
        (OrderStatus.PAID, ALPINE_TOTAL),
        (OrderStatus.PAID, BERLIN_TOTAL),
    ]
    payment = Payment.objects.get()
    intent = stripe_standin.objects("payment_intent")[0]
    assert (payment.provider, payment.provider_payment_id, payment.amount, payment.currency) == (
        "stripe",
        intent["id"],
        Decimal("62.04"),
        "EUR",
    )
    assert sorted(ProviderEvent.objects.values_list("type", "status")) == [
        ("account.updated", "ready"),
        ("account.updated", "ready"),
        ("checkout.session.completed", "paid"),
        ("payment_intent.succeeded", "already_paid"),
    ]
    # Commission 10 % of each order's net: 2.98 of 29.80, 2.40 of 24.00.
    transfers = list(SellerTransfer.objects.order_by("order_id"))
    assert [(t.order_id, t.amount) for t in transfers] == [
        (orders[0].pk, ALPINE_TOTAL - Decimal("2.98")),
        (orders[1].pk, BERLIN_TOTAL - Decimal("2.40")),
    ]
    remote = {t["id"]: t for t in stripe_standin.objects("transfer")}
    accounts = [s.payment_account.stripe_account_id for s in ready]
    assert [
        (remote[t.provider_transfer_id]["amount"], remote[t.provider_transfer_id]["destination"])
        for t in transfers
    ] == [(3338, accounts[0]), (2328, accounts[1])]
    assert {t["transfer_group"] for t in remote.values()} == {str(checkout.public_id)}
    assert Document.objects.filter(state=DocumentState.ISSUED).count() == 2
    page = client.get(back.headers["Location"]).content.decode()
    assert 'data-state="paid">Payment: Paid.</p>' in page


def test_a_second_pay_now_reuses_the_open_session_idempotently(
    client, products, ready, stripe_standin
):
    first = place(client, products)["Location"]
    checkout = Checkout.objects.get()

    again = client.post(f"/orders/checkout/{checkout.public_id}/pay/")

    assert again["Location"] == first
    assert PaymentSession.objects.count() == 1
    assert len(stripe_standin.objects("checkout.session")) == 1


def test_a_declined_card_leaves_the_orders_payable_and_pay_now_pays_the_whole_checkout(
    client, products, ready, stripe_standin, django_capture_on_commit_callbacks
):
    url = place(client, products)["Location"]
    checkout = Checkout.objects.get()

    declined = stripe_standin.page_post(url, "decline")

    assert declined.status_code == 200
    assert PaymentSession.objects.get().status == PaymentSessionStatus.FAILED
    assert set(checkout.orders.values_list("status", flat=True)) == {OrderStatus.PLACED}
    assert Payment.objects.count() == 0
    page = client.get(f"/orders/checkout/{checkout.public_id}/").content.decode()
    assert (
        'data-state="declined">Payment: Your payment was declined and nothing was charged. Your '
        "orders are waiting: you can pay the whole checkout again.</p>" in page
    )
    assert page.count("Pay now: the whole checkout, 62.04 EUR</button>") == 2

    retry = client.post(f"/orders/checkout/{checkout.public_id}/pay/")
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.page_post(retry["Location"], "pay")

    assert set(checkout.orders.values_list("status", flat=True)) == {OrderStatus.PAID}
    assert Payment.objects.get().amount == Decimal("62.04")


def test_going_back_from_stripe_says_nothing_was_charged(client, products, ready, stripe_standin):
    url = place(client, products)["Location"]
    checkout = Checkout.objects.get()

    back = stripe_standin.page_post(url, "back")
    page = client.get(back.headers["Location"]).content.decode()

    assert back.headers["Location"].endswith("?payment=cancelled")
    assert (
        'data-state="abandoned">Payment: The payment was not completed and nothing was charged.'
        in page
    )
    assert set(checkout.orders.values_list("status", flat=True)) == {OrderStatus.PLACED}


def test_a_seller_without_payouts_blocks_card_payment_with_a_clear_message(
    client, products, sellers, stripe_standin
):
    stripe_standin.onboard(sellers[0])  # Berlin has not finished Stripe's onboarding

    response = place(client, products)

    checkout = Checkout.objects.get()
    assert response["Location"] == f"/orders/checkout/{checkout.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert (
        "Berlin Books GmbH cannot take card payments yet (its payouts are not set up with the "
        "payment provider)." in page
    )
    assert PaymentSession.objects.count() == 0
    assert stripe_standin.objects("checkout.session") == []


def test_my_orders_show_each_checkouts_payment_state_and_each_sellers_invoice(
    client, products, ready, stripe_standin, django_capture_on_commit_callbacks
):
    client.force_login(UserFactory(username="ana"))
    paid_url = place(client, products)["Location"]
    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.page_post(paid_url, "pay")
    declined_url = place(client, products)["Location"]
    stripe_standin.page_post(declined_url, "decline")

    page = client.get("/my/orders/").content.decode()

    states = re.findall(r'data-testid="checkout-payment-state" data-state="(\w+)"', page)
    assert states == ["declined", "declined", "paid", "paid"]  # newest first, one per card
    assert page.count("Pay now: the whole checkout, 62.04 EUR</button>") == 2
    # The unpaid checkout's orders are invoiced once paid; the paid one's are issued.
    assert page.count('data-testid="invoice-status" data-state="none"') == 2
    assert page.count('data-testid="invoice-number"') == 2


def test_a_transfer_stripe_refuses_leaves_the_payment_applied_and_shows_as_a_mismatch(
    client, products, ready, stripe_standin, django_capture_on_commit_callbacks
):
    alpine_account = ready[0].payment_account.stripe_account_id
    stripe_standin.app.state.objects[alpine_account]["payouts_enabled"] = False
    url = place(client, products)["Location"]

    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.page_post(url, "pay")

    checkout = Checkout.objects.get()
    assert set(checkout.orders.values_list("status", flat=True)) == {OrderStatus.PAID}
    assert list(SellerTransfer.objects.values_list("order__seller", flat=True)) == [ready[1].pk]
    [mismatch] = payment_mismatches()
    assert [(o.seller, o.transferred, o.expected_transfer) for o in mismatch.orders] == [
        ("Alpine Crafts d.o.o.", Decimal("0"), Decimal("33.38")),
        ("Berlin Books GmbH", Decimal("23.28"), Decimal("23.28")),
    ]
