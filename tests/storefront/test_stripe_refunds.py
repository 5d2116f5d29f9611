"""Refunds and cancellations of orders paid through Stripe: refunded through Stripe, the credit
note once Stripe confirms (exactly once), the seller's transfer reversed by the refund less the
commission it returns; and the money reconciles (buyer charge = seller orders; transfer = total -
commission on what the order still sells - refunds). No OPERATOR_COUNTRY here: the commission
carries no VAT (see test_stripe_commission_money for the VAT)."""

import csv
import io
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from invoicing.models import Document, DocumentKind, DocumentState
from marketplace.models import (
    Checkout,
    OrderStatus,
    Payment,
    ProviderEvent,
    ProviderRefund,
    ProviderRefundStatus,
    SellerTransfer,
)
from marketplace.payment_reconciliation import payment_mismatches
from marketplace.services import order_cancel
from marketplace.stripe_provider import seller_transfer_create
from tests.factories import SellerUserFactory, operator_user
from tests.storefront.conftest import add, checkout_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    api = APIClient()
    api.force_authenticate(operator_user("marketplace.view_order", "marketplace.change_order"))
    return api


def pay(client, products, stripe_standin, capture, *, cancel_berlin_first=False):
    """A two-seller checkout (2 spoons 36.36 + 1 book 25.68 EUR) paid on Stripe's page."""
    add(client, products["spoon"], 2)
    add(client, products["book"], 1)
    response = checkout_post(
        client,
        [(products["spoon"], 2, Decimal("14.90")), (products["book"], 1, Decimal("24.00"))],
    )
    checkout = Checkout.objects.order_by("-pk").first()
    url = response["Location"]
    if cancel_berlin_first:
        order_cancel(order_id=checkout.orders.get(seller__country="DE").pk)
        url = client.post(f"/orders/checkout/{checkout.public_id}/pay/")["Location"]
    with capture(execute=True):
        stripe_standin.page_post(url, "pay")
    return checkout


@pytest.fixture
def paid(client, products, sellers, stripe_standin, django_capture_on_commit_callbacks):
    for seller in sellers:
        stripe_standin.onboard(seller)
    checkout = pay(client, products, stripe_standin, django_capture_on_commit_callbacks)
    alpine, berlin = checkout.orders.order_by("pk")
    return checkout, alpine, berlin


def remote_transfer(stripe_standin, order):
    return stripe_standin.app.state.objects[order.transfer.provider_transfer_id]


def test_a_partial_refund_goes_through_stripe_reverses_the_transfer_and_credits_once(
    paid, operator, stripe_standin, django_capture_on_commit_callbacks
):
    _, alpine, _ = paid
    spoon = alpine.lines.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            f"/api/orders/{alpine.pk}/refund/",
            {"lines": [{"line_id": spoon.pk, "quantity": 1}]},
            format="json",
        )

    assert response.status_code == 200, response.json()
    refund = ProviderRefund.objects.get()
    # 14.90 net + 22 % VAT, reversed less the 1.49 commission it returns
    assert (refund.status, refund.amount, refund.reversed_amount) == (
        ProviderRefundStatus.SUCCEEDED,
        Decimal("18.18"),
        Decimal("16.69"),
    )
    [remote] = stripe_standin.objects("refund")
    intent = stripe_standin.objects("payment_intent")[0]
    assert (remote["id"], remote["amount"], remote["payment_intent"]) == (
        refund.provider_refund_id,
        1818,
        intent["id"],
    )
    transfer = remote_transfer(stripe_standin, alpine)
    assert (transfer["amount"], transfer["amount_reversed"]) == (3338, 1669)
    assert transfer["reversals"]["data"][0]["id"] == refund.transfer_reversal_id
    credit_note = Document.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert (credit_note.order_id, credit_note.state, credit_note.total_gross) == (
        alpine.pk,
        DocumentState.ISSUED,
        Decimal("18.18"),
    )
    assert sorted(
        ProviderEvent.objects.filter(type__startswith="ref").values_list("type", "status")
    ) == [("refund.created", "succeeded")]
    assert ProviderEvent.objects.get(type="charge.refunded").amount == Decimal("18.18")
    assert list(payment_mismatches()) == []


def test_the_same_refund_confirmed_again_by_a_later_event_credits_nothing_more(
    paid, operator, stripe_standin, django_capture_on_commit_callbacks
):
    _, alpine, _ = paid
    spoon = alpine.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(
            f"/api/orders/{alpine.pk}/refund/",
            {"lines": [{"line_id": spoon.pk, "quantity": 1}]},
            format="json",
        )
    [remote] = stripe_standin.objects("refund")

    with django_capture_on_commit_callbacks(execute=True):
        stripe_standin.app.state.webhooks.send("refund.updated", dict(remote))

    assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 1
    assert remote_transfer(stripe_standin, alpine)["amount_reversed"] == 1669
    assert ProviderRefund.objects.get().reversed_amount == Decimal("16.69")


def test_a_seller_editor_refunds_their_own_order_through_stripe(
    paid, stripe_standin, django_capture_on_commit_callbacks
):
    _, alpine, _ = paid
    editor = SellerUserFactory(seller=alpine.seller, role="editor").user
    api = APIClient()
    api.force_authenticate(editor)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/orders/{alpine.pk}/refund/",
            {"lines": [{"line_id": alpine.lines.get().pk, "quantity": 2}]},
            format="json",
        )

    assert response.status_code == 200, response.json()
    assert [r["amount"] for r in stripe_standin.objects("refund")] == [3636]
    assert ProviderRefund.objects.get().requested_by == editor


def test_refunding_more_than_is_left_is_refused_and_nothing_is_refunded(
    paid, operator, stripe_standin
):
    _, alpine, _ = paid
    spoon = alpine.lines.get()

    response = operator.post(
        f"/api/orders/{alpine.pk}/refund/",
        {"lines": [{"line_id": spoon.pk, "quantity": 3}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["field"] == "lines[0].quantity"
    assert ProviderRefund.objects.count() == 0
    assert stripe_standin.objects("refund") == []
    assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 0


def test_cancelling_a_paid_order_refunds_it_through_stripe_and_takes_back_the_transfer(
    paid, operator, stripe_standin, django_capture_on_commit_callbacks
):
    _, _, berlin = paid

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(f"/api/orders/{berlin.pk}/cancel/")

    assert response.status_code == 200, response.json()
    berlin.refresh_from_db()
    assert berlin.status == OrderStatus.CANCELLED
    assert [r["amount"] for r in stripe_standin.objects("refund")] == [2568]
    transfer = remote_transfer(stripe_standin, berlin)
    assert (transfer["amount"], transfer["amount_reversed"], transfer["reversed"]) == (
        2328,
        2328,
        True,
    )
    credit_note = Document.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert (credit_note.order_id, credit_note.total_gross) == (berlin.pk, Decimal("25.68"))
    assert list(payment_mismatches()) == []


def test_money_reconciles_under_partial_refunds_and_cancellations(
    client, products, paid, operator, stripe_standin, django_capture_on_commit_callbacks
):
    _, alpine, berlin = paid
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(
            f"/api/orders/{alpine.pk}/refund/",
            {"lines": [{"line_id": alpine.lines.get().pk, "quantity": 1}]},
            format="json",
        )
        operator.post(f"/api/orders/{berlin.pk}/cancel/")
    # A second checkout whose Berlin order is cancelled before it is paid.
    second = pay(
        client,
        products,
        stripe_standin,
        django_capture_on_commit_callbacks,
        cancel_berlin_first=True,
    )

    assert Payment.objects.get(checkout=second).amount == Decimal("36.36")
    assert SellerTransfer.objects.filter(order__checkout=second).count() == 1
    assert list(payment_mismatches()) == []
    for payment in Payment.objects.all():
        paid_orders = payment.checkout.orders.filter(paid_at__isnull=False)
        assert payment.amount == sum(o.total_gross for o in paid_orders)
    for transfer in SellerTransfer.objects.select_related("order"):
        refunds = ProviderRefund.objects.filter(
            order=transfer.order, status=ProviderRefundStatus.SUCCEEDED
        )
        remote = remote_transfer(stripe_standin, transfer.order)
        # The commission on what the order still sells: one spoon, nothing, two spoons.
        kept_commission = {alpine.pk: Decimal("1.49"), berlin.pk: Decimal(0)}.get(
            transfer.order_id, Decimal("2.98")
        )
        net = Decimal(remote["amount"] - remote["amount_reversed"]) / 100
        expected = transfer.order.total_gross - kept_commission - sum(r.amount for r in refunds)
        assert net == expected


def test_a_checkout_that_does_not_reconcile_shows_on_the_admin_page_and_csv(paid, admin_client):
    _, alpine, _ = paid
    SellerTransfer.objects.filter(order=alpine).update(amount=Decimal("30.00"))

    page = admin_client.get("/admin/payments/reconciliation/").content.decode()
    response = admin_client.get("/admin/payments/reconciliation.csv")

    assert page.count('data-testid="mismatch-row"') == 2
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    alpine_row = next(row for row in rows if row["order_id"] == str(alpine.pk))
    assert (
        alpine_row["transferred"],
        alpine_row["expected_transfer"],
        alpine_row["transfer_difference"],
    ) == ("30.00", "33.38", "-3.38")
    assert {row["charge_difference"] for row in rows} == {"0.00"}


def test_the_reconciliation_page_is_clean_when_money_reconciles(paid, admin_client):
    page = admin_client.get("/admin/payments/reconciliation/").content.decode()

    assert "Every checkout paid through Stripe reconciles." in page


def test_a_refund_from_the_seller_pages_goes_through_stripe_too(
    paid, stripe_standin, django_capture_on_commit_callbacks, client
):
    _, alpine, _ = paid
    line = alpine.lines.get()
    client.force_login(SellerUserFactory(seller=alpine.seller, role="admin").user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/seller/orders/{alpine.pk}/refund/", {f"line_{line.pk}": 1, "confirm": "1"}
        )

    assert response.status_code == 302
    assert [r["amount"] for r in stripe_standin.objects("refund")] == [1818]
    refund = ProviderRefund.objects.get()
    assert (refund.status, refund.amount) == (ProviderRefundStatus.SUCCEEDED, Decimal("18.18"))
    assert Document.objects.get(order=alpine, kind=DocumentKind.CREDIT_NOTE).total_gross == (
        Decimal("18.18")
    )


def test_an_operators_cancel_in_admin_goes_through_stripe_too(
    paid, stripe_standin, django_capture_on_commit_callbacks, client
):
    _, _, berlin = paid
    client.force_login(operator_user("marketplace.view_order", "marketplace.change_order"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/marketplace/order/{berlin.pk}/cancel/confirm/")

    assert response.status_code == 302
    assert [r["amount"] for r in stripe_standin.objects("refund")] == [2568]
    berlin.refresh_from_db()
    assert berlin.status == OrderStatus.CANCELLED
    assert ProviderRefund.objects.get(order=berlin).status == ProviderRefundStatus.SUCCEEDED


def test_while_a_refund_waits_for_stripe_the_order_keeps_its_state(paid, client):
    _, alpine, _ = paid
    ProviderRefund.objects.create(
        order=alpine,
        lines={str(alpine.lines.get().pk): 1},
        amount=Decimal("18.18"),
        currency="EUR",
    )
    api = APIClient()
    api.force_authenticate(operator_user("marketplace.view_order", "marketplace.change_order"))

    fulfil = api.post(f"/api/orders/{alpine.pk}/fulfil/")
    refund = api.post(
        f"/api/orders/{alpine.pk}/refund/",
        {"lines": [{"line_id": alpine.lines.get().pk, "quantity": 1}]},
        format="json",
    )

    assert (fulfil.status_code, fulfil.json()["code"]) == (409, "conflict")
    assert (refund.status_code, refund.json()["code"]) == (409, "conflict")
    alpine.refresh_from_db()
    assert alpine.status == OrderStatus.PAID
    assert ProviderRefund.objects.count() == 1


def test_a_transfer_refused_then_retried_after_a_refund_is_made_for_the_smaller_amount(
    client, products, sellers, stripe_standin, django_capture_on_commit_callbacks, operator
):
    for seller in sellers:
        stripe_standin.onboard(seller)
    alpine_account = sellers[0].payment_account.stripe_account_id
    stripe_standin.app.state.objects[alpine_account]["payouts_enabled"] = False
    checkout = pay(client, products, stripe_standin, django_capture_on_commit_callbacks)
    alpine = checkout.orders.get(seller=sellers[0])
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(
            f"/api/orders/{alpine.pk}/refund/",
            {"lines": [{"line_id": alpine.lines.get().pk, "quantity": 1}]},
            format="json",
        )
    stripe_standin.app.state.objects[alpine_account]["payouts_enabled"] = True

    transfer = seller_transfer_create(order_id=alpine.pk)

    # 36.36 - 2.98 commission - the 18.18 refund net of the 1.49 it returns = 16.69
    assert transfer.amount == Decimal("16.69")
    assert [
        t["amount"]
        for t in stripe_standin.objects("transfer")
        if t["destination"] == (alpine_account)
    ] == [1669]
    assert ProviderRefund.objects.get(order=alpine).transfer_reversal_id == "deducted"
    assert list(payment_mismatches()) == []


def test_a_transfer_whose_answer_was_lost_is_found_and_the_refund_since_is_reversed_from_it(
    paid, stripe_standin, django_capture_on_commit_callbacks, operator
):
    _, alpine, _ = paid
    made = SellerTransfer.objects.get(order=alpine)
    SellerTransfer.objects.filter(pk=made.pk).delete()  # as if its answer never reached us
    with django_capture_on_commit_callbacks(execute=True):
        operator.post(
            f"/api/orders/{alpine.pk}/refund/",
            {"lines": [{"line_id": alpine.lines.get().pk, "quantity": 1}]},
            format="json",
        )
    assert ProviderRefund.objects.get(order=alpine).transfer_reversal_id == ""

    with django_capture_on_commit_callbacks(execute=True):
        found = seller_transfer_create(order_id=alpine.pk)

    assert (found.provider_transfer_id, found.amount) == (made.provider_transfer_id, made.amount)
    assert len(stripe_standin.objects("transfer")) == 2  # one per seller order, none again
    refund = ProviderRefund.objects.get(order=alpine)
    assert refund.reversed_amount == Decimal("16.69")
    assert stripe_standin.app.state.objects[made.provider_transfer_id]["amount_reversed"] == 1669
    assert list(payment_mismatches()) == []
