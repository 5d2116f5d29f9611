"""Stripe money under the commission rules of the commission invoices: a seller's transfer is
the order's total less the commission with its VAT (22 % for a seller in the operator's country
Slovenia, none for a German seller: reverse charge), and a refund reverses the refunded amount
less the commission with VAT it returns, before or after the transfer, so the month's transfers
less reversals equal the seller's payout statement."""

import csv
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from invoicing.commission_invoices import commission_documents_write, payout_statements
from invoicing.models import Document, DocumentKind
from marketplace import tasks
from marketplace.models import Checkout, Payment, ProviderRefund, SellerTransfer
from marketplace.payment_reconciliation import checkout_money, payment_mismatches
from marketplace.stripe_provider import seller_transfer_create
from tests.factories import operator_user
from tests.storefront.conftest import add, checkout_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(settings):
    settings.OPERATOR_COUNTRY = "SI"
    api = APIClient()
    api.force_authenticate(operator_user("marketplace.view_order", "marketplace.change_order"))
    return api


@pytest.fixture
def onboarded(sellers, stripe_standin):
    for seller in sellers:
        stripe_standin.onboard(seller)
    return sellers


def pay(client, stripe_standin, capture, lines):
    """A checkout of `lines` = [(product, quantity)] paid on Stripe's page."""
    for product, quantity in lines:
        add(client, product, quantity)
    response = checkout_post(client, [(p, q, p.unit_price) for p, q in lines])
    with capture(execute=True):
        stripe_standin.page_post(response["Location"], "pay")
    return Checkout.objects.order_by("-pk").first()


def refund(operator, capture, order, line, quantity):
    with capture(execute=True):
        response = operator.post(
            f"/api/orders/{order.pk}/refund/",
            {"lines": [{"line_id": line.pk, "quantity": quantity}]},
            format="json",
        )
    assert response.status_code == 200, response.json()
    return ProviderRefund.objects.order_by("-pk").first()


def remote(stripe_standin, order):
    return stripe_standin.app.state.objects[
        SellerTransfer.objects.get(order=order).provider_transfer_id
    ]


def test_the_transfer_deducts_the_commission_vat_and_a_refund_reverses_it_net_of_the_commission(
    client, products, onboarded, operator, stripe_standin, django_capture_on_commit_callbacks
):
    checkout = pay(
        client,
        stripe_standin,
        django_capture_on_commit_callbacks,
        [(products["spoon"], 2), (products["book"], 1)],
    )
    alpine, berlin = checkout.orders.order_by("pk")

    first = refund(operator, django_capture_on_commit_callbacks, alpine, alpine.lines.get(), 1)

    # 36.36 - (2.98 commission + 0.66 VAT); the refund 18.18 returns 1.49 + 0.33
    assert SellerTransfer.objects.get(order=alpine).amount == Decimal("32.72")
    assert (first.amount, first.reversed_amount) == (Decimal("18.18"), Decimal("16.36"))
    assert (
        remote(stripe_standin, alpine)["amount"],
        remote(stripe_standin, alpine)["amount_reversed"],
    ) == (3272, 1636)
    # Reverse charge: no VAT on the German seller's 2.40 commission; the cancellation of
    # 25.68 returns all of it, so the whole transfer comes back.
    with django_capture_on_commit_callbacks(execute=True):
        assert operator.post(f"/api/orders/{berlin.pk}/cancel/").status_code == 200
    cancel = ProviderRefund.objects.get(order=berlin)
    assert (cancel.amount, cancel.reversed_amount) == (Decimal("25.68"), Decimal("23.28"))
    assert remote(stripe_standin, berlin)["amount_reversed"] == 2328
    money = {o.order_id: o for o in checkout_money(Payment.objects.get(checkout=checkout)).orders}
    assert (money[alpine.pk].commission, money[alpine.pk].transferred) == (
        Decimal("1.82"),
        Decimal("16.36"),
    )
    assert (money[berlin.pk].commission, money[berlin.pk].transferred) == (Decimal(0), Decimal(0))
    assert list(payment_mismatches()) == []


def test_refunding_unit_by_unit_reverses_the_refunds_net_of_the_rounded_commission_returned(
    client, products, onboarded, operator, stripe_standin, django_capture_on_commit_callbacks
):
    checkout = pay(
        client, stripe_standin, django_capture_on_commit_callbacks, [(products["honey"], 2)]
    )
    [alpine] = checkout.orders.all()
    honey = alpine.lines.get()

    refunds = [
        refund(operator, django_capture_on_commit_callbacks, alpine, honey, 1) for _ in range(2)
    ]

    # 2 honeys: 14.90 + 9.5 % = 16.32; commission 1.49 + 0.33 VAT = 1.82
    assert SellerTransfer.objects.get(order=alpine).amount == Decimal("14.50")
    # Commission with VAT kept: 1.82 -> 0.92 (0.745 -> 0.75, + 0.165 -> 0.17) -> 0: the two
    # refunds of 8.16 return 0.90 and 0.92, what refunding both at once returns.
    assert [(r.amount, r.reversed_amount) for r in refunds] == [
        (Decimal("8.16"), Decimal("7.26")),
        (Decimal("8.16"), Decimal("7.24")),
    ]
    assert remote(stripe_standin, alpine)["amount_reversed"] == 1450
    assert list(payment_mismatches()) == []


def test_a_refund_confirmed_before_the_transfer_is_deducted_net_of_its_commission(
    client,
    products,
    onboarded,
    operator,
    stripe_standin,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    # The transfer task has not run yet when the refund is confirmed.
    with monkeypatch.context() as later:
        later.setattr(tasks.seller_transfers_create, "delay", lambda checkout_id: None)
        checkout = pay(
            client, stripe_standin, django_capture_on_commit_callbacks, [(products["spoon"], 2)]
        )
        [alpine] = checkout.orders.all()
        first = refund(operator, django_capture_on_commit_callbacks, alpine, alpine.lines.get(), 1)
    assert not SellerTransfer.objects.filter(order=alpine).exists()

    transfer = seller_transfer_create(order_id=alpine.pk)

    # 36.36 - 3.64 - (18.18 - 1.82)
    assert transfer.amount == Decimal("16.36")
    first.refresh_from_db()
    assert (first.reversed_amount, first.transfer_reversal_id) == (Decimal(0), "deducted")
    assert seller_transfer_create(order_id=alpine.pk) == transfer
    assert [t["amount"] for t in stripe_standin.objects("transfer")] == [1636]
    assert list(payment_mismatches()) == []


def net_transfers(seller):
    return sum(
        (
            t.amount - sum((r.reversed_amount for r in t.order.provider_refunds.all()), Decimal(0))
            for t in SellerTransfer.objects.filter(order__seller=seller)
        ),
        Decimal(0),
    )


def test_a_months_transfers_less_reversals_equal_the_sellers_payout_statement(
    client, products, onboarded, operator, stripe_standin, django_capture_on_commit_callbacks
):
    alpine, berlin = onboarded
    first = pay(
        client,
        stripe_standin,
        django_capture_on_commit_callbacks,
        [(products["spoon"], 2), (products["book"], 2)],
    )
    second = pay(
        client, stripe_standin, django_capture_on_commit_callbacks, [(products["book"], 1)]
    )
    spoons, books = first.orders.order_by("pk")
    [book] = second.orders.all()
    refund(operator, django_capture_on_commit_callbacks, spoons, spoons.lines.get(), 1)
    refund(operator, django_capture_on_commit_callbacks, books, books.lines.get(), 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert operator.post(f"/api/orders/{book.pk}/cancel/").status_code == 200
    month = timezone.localdate().replace(day=1)

    with django_capture_on_commit_callbacks(execute=False):
        for seller in onboarded:
            commission_documents_write(seller_id=seller.pk, period_start=month)
    [alpine_month] = payout_statements(seller=alpine, period_start=month)
    [berlin_month] = payout_statements(seller=berlin, period_start=month)

    # Alpine: sale 36.36, refund 18.18, commission 2.98 - 1.49 = 1.49 + 0.33 VAT
    assert (
        alpine_month.sales_gross,
        alpine_month.refunds_gross,
        alpine_month.commission_gross,
        alpine_month.payout,
    ) == (Decimal("36.36"), Decimal("18.18"), Decimal("1.82"), Decimal("16.36"))
    assert net_transfers(alpine) == alpine_month.payout
    # Berlin (reverse charge): sales 51.36 + 25.68, refund 25.68 and cancellation 25.68,
    # commission 4.80 + 2.40 - 2.40 - 2.40
    assert (
        berlin_month.sales_gross,
        berlin_month.refunds_gross,
        berlin_month.commission_gross,
        berlin_month.payout,
    ) == (Decimal("77.04"), Decimal("51.36"), Decimal("2.40"), Decimal("23.28"))
    assert net_transfers(berlin) == berlin_month.payout


def test_the_reconciliation_page_and_csv_expect_the_commission_with_its_vat(
    client,
    products,
    onboarded,
    operator,
    stripe_standin,
    django_capture_on_commit_callbacks,
    admin_client,
):
    checkout = pay(
        client, stripe_standin, django_capture_on_commit_callbacks, [(products["spoon"], 2)]
    )
    [alpine] = checkout.orders.all()
    SellerTransfer.objects.filter(order=alpine).update(amount=Decimal("33.38"))

    page = admin_client.get("/admin/payments/reconciliation/").content.decode()
    response = admin_client.get("/admin/payments/reconciliation.csv")

    assert page.count('data-testid="mismatch-row"') == 1
    assert "<th>Commission with VAT</th>" in page
    [row] = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    # 33.38 is the transfer without the commission's 0.66 VAT: 36.36 - 2.98 - 0.66 = 32.72
    assert (
        row["order_id"],
        row["commission"],
        row["transferred"],
        row["expected_transfer"],
        row["transfer_difference"],
    ) == (str(alpine.pk), "3.64", "33.38", "32.72", "0.66")


def test_refunding_the_last_unit_returns_what_is_left_of_the_total_as_its_credit_note_does(
    client, products, onboarded, operator, stripe_standin, django_capture_on_commit_callbacks
):
    checkout = pay(
        client, stripe_standin, django_capture_on_commit_callbacks, [(products["honey"], 3)]
    )
    [alpine] = checkout.orders.all()
    honey = alpine.lines.get()

    refunds = [
        refund(operator, django_capture_on_commit_callbacks, alpine, honey, 1) for _ in range(3)
    ]

    # 3 honeys: 22.35 + 9.5 % (2.12) = 24.47; one is 7.45 + 0.71 = 8.16, so the third refund
    # returns the 8.15 left, not an 8.16 that Stripe would refuse as more than was charged.
    assert alpine.total_gross == Decimal("24.47")
    assert [r.amount for r in refunds] == [Decimal("8.16"), Decimal("8.16"), Decimal("8.15")]
    credit_notes = Document.objects.filter(order=alpine, kind=DocumentKind.CREDIT_NOTE)
    assert sorted(credit_notes.values_list("total_gross", flat=True)) == [
        Decimal("8.15"),
        Decimal("8.16"),
        Decimal("8.16"),
    ]
    assert list(payment_mismatches()) == []
