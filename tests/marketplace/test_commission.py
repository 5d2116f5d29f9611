from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError

from marketplace.commission import (
    OUTSIDE_SCOPE_NOTE,
    commission_rate_for,
    commission_treatment,
    line_commission,
    order_commission_split,
    refund_commission,
)
from marketplace.models import OrderLine, ProviderRefund, ProviderRefundKind, ProviderRefundStatus
from marketplace.tax import REVERSE_CHARGE_NOTE
from tests.factories import (
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

BILLING = {
    "name": "Ana Novak",
    "email": "ana@example.com",
    "address": "Prešernova 5",
    "post_code": "2000",
    "city": "Maribor",
    "country": "SI",
}


def _checkout(api_client, *products):
    api_client.force_authenticate(UserFactory(username="ana"))
    lines = [{"product_id": product.pk, "quantity": 2} for product in products]
    response = api_client.post(
        "/api/checkout/", {"lines": lines, "billing": BILLING}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response


def test_each_line_keeps_the_rate_of_its_seller_when_the_order_was_placed(api_client, settings):
    settings.MARKETPLACE_COMMISSION_RATE = Decimal("10.00")
    own_rate = SellerFactory(business_name="Own Rate", commission_rate=Decimal("7.50"))
    default_rate = SellerFactory(business_name="Default Rate")
    _checkout(api_client, ProductFactory(seller=own_rate), ProductFactory(seller=default_rate))

    own_rate.commission_rate = Decimal("20.00")
    own_rate.save()
    settings.MARKETPLACE_COMMISSION_RATE = Decimal("15.00")

    rates = {
        line.order.seller.business_name: line.commission_rate
        for line in OrderLine.objects.select_related("order__seller")
    }
    assert rates == {"Own Rate": Decimal("7.50"), "Default Rate": Decimal("10.00")}


def test_the_seller_rate_wins_over_the_default_even_when_zero(settings):
    settings.MARKETPLACE_COMMISSION_RATE = Decimal("12.00")

    assert commission_rate_for(SellerFactory(commission_rate=Decimal("0"))) == Decimal("0")
    assert commission_rate_for(SellerFactory(commission_rate=None)) == Decimal("12.00")


def test_commission_on_part_of_a_line_is_the_rate_on_that_part_rounded_half_up():
    line = OrderLineFactory(
        order=OrderFactory(currency="EUR"),
        quantity=3,
        unit_price=Decimal("3.35"),
        commission_rate=Decimal("7.50"),
    )

    # 3.35 x 7.5 % = 0.25125; 2 x 3.35 = 6.70 x 7.5 % = 0.5025; 10.05 x 7.5 % = 0.75375
    assert line_commission(line, quantity=1, currency="EUR") == Decimal("0.25")
    assert line_commission(line, quantity=2, currency="EUR") == Decimal("0.50")
    assert line_commission(line, quantity=3, currency="EUR") == Decimal("0.75")


@pytest.mark.parametrize("rate", [Decimal("-0.01"), Decimal("100.01")])
def test_the_database_refuses_a_seller_rate_outside_0_to_100(rate):
    with pytest.raises(IntegrityError):
        SellerFactory(commission_rate=rate)


def test_a_product_categorys_rate_applies_to_sellers_without_their_own(api_client, settings):
    settings.MARKETPLACE_COMMISSION_RATE = Decimal("10.00")
    settings.MARKETPLACE_COMMISSION_CATEGORY_RATES = {"reduced": Decimal("6.00")}
    default = SellerFactory(business_name="Default")
    own = SellerFactory(business_name="Own", commission_rate=Decimal("7.50"))
    book = ProductFactory(seller=default, tax_category="reduced")
    mug = ProductFactory(seller=default, tax_category="standard")
    own_book = ProductFactory(seller=own, tax_category="reduced")

    _checkout(api_client, book, mug, own_book)

    rates = {line.product_id: line.commission_rate for line in OrderLine.objects.all()}
    assert rates == {
        book.pk: Decimal("6.00"),
        mug.pk: Decimal("10.00"),
        own_book.pk: Decimal("7.50"),
    }


def test_refunds_return_the_commission_on_what_they_refunded_and_add_up_to_the_charge():
    line = OrderLineFactory(
        quantity=3,
        unit_price=Decimal("10.03"),
        tax_rate=Decimal("22.00"),
        commission_rate=Decimal("7.50"),
    )
    charged = line_commission(line, quantity=3, currency="EUR")  # 30.09 * 7.5 % = 2.25675

    returns = [
        refund_commission(line, refunded_before=before, refunded=1, currency="EUR")
        for before in (0, 1, 2)
    ]

    assert charged == Decimal("2.26")
    # 2.26 - 1.50 (20.06 * 7.5 % = 1.5045), 1.50 - 0.75 (10.03 * 7.5 % = 0.75225), 0.75 - 0
    assert returns == [Decimal("0.76"), Decimal("0.75"), Decimal("0.75")]
    assert sum(returns) == charged
    with pytest.raises(ValueError, match="cannot refund 2 of 1 units"):
        refund_commission(line, refunded_before=2, refunded=2, currency="EUR")


def test_commission_treatment_domestic_reverse_charge_and_outside_the_scope(settings):
    settings.OPERATOR_COUNTRY = "SI"
    on = date(2026, 3, 1)

    domestic = commission_treatment(seller=SellerFactory.build(country="SI"), on=on)
    eu = commission_treatment(seller=SellerFactory.build(country="DE"), on=on)
    non_eu = commission_treatment(seller=SellerFactory.build(country="US"), on=on)

    assert (domestic.transaction_type, domestic.rate, domestic.reverse_charge) == (
        "domestic",
        Decimal("22.00"),
        False,
    )
    assert (eu.transaction_type, eu.rate, eu.reverse_charge, eu.note) == (
        "intra_eu_b2b",
        Decimal(0),
        True,
        REVERSE_CHARGE_NOTE,
    )
    assert (non_eu.transaction_type, non_eu.rate, non_eu.note) == (
        "3w_b2b",
        Decimal(0),
        OUTSIDE_SCOPE_NOTE,
    )


def _refund(order, lines=None, *, kind=ProviderRefundKind.REFUND, status="succeeded"):
    return ProviderRefund.objects.create(
        order=order,
        kind=kind,
        lines={str(line.pk): quantity for line, quantity in (lines or [])},
        amount=Decimal("1.00"),
        currency=order.currency,
        status=status,
    )


@pytest.fixture
def domestic_order(settings):
    """A Slovenian seller's order of 3 x 6.69 at 7.5 % commission, the operator in Slovenia
    (commission VAT 22 %)."""
    settings.OPERATOR_COUNTRY = "SI"
    order = OrderFactory(line=None, seller=SellerFactory(country="SI"))
    line = OrderLineFactory(
        order=order, quantity=3, unit_price=Decimal("6.69"), commission_rate=Decimal("7.50")
    )
    return order, line


def test_an_order_commission_carries_its_vat_and_a_refund_returns_the_commission_on_its_units(
    domestic_order,
):
    order, line = domestic_order
    refund = _refund(order, [(line, 1)])
    _refund(order, [(line, 1)], status=ProviderRefundStatus.FAILED)

    split = order_commission_split(order, ProviderRefund.objects.all())

    # 20.07 * 7.5 % = 1.51 (1.50525) + 22 % VAT 0.33 = 1.84; 13.38 * 7.5 % = 1.00 + 0.22 = 1.22
    assert split.sale == Decimal("1.84")
    assert split.returns == {refund.pk: Decimal("0.62")}
    assert split.kept == Decimal("1.22")


def test_refunding_unit_by_unit_returns_what_refunding_at_once_does_to_the_cent(
    domestic_order,
):
    order, line = domestic_order
    singles = [_refund(order, [(line, 1)]) for _ in range(3)]

    split = order_commission_split(order, singles)

    # kept 3 -> 2 -> 1 -> 0: 1.84 -> 1.22 (1.00 + 0.22) -> 0.61 (0.50 + 0.11) -> 0
    assert [split.returns[r.pk] for r in singles] == [
        Decimal("0.62"),
        Decimal("0.61"),
        Decimal("0.61"),
    ]
    assert sum(split.returns.values()) == split.sale
    assert split.kept == Decimal(0)


def test_a_cancellation_returns_the_commission_left_after_earlier_refunds(domestic_order):
    order, line = domestic_order
    first = _refund(order, [(line, 1)])
    cancel = _refund(order, kind=ProviderRefundKind.CANCEL)

    split = order_commission_split(order, [cancel, first])

    assert split.returns == {first.pk: Decimal("0.62"), cancel.pk: Decimal("1.22")}
    assert split.kept == Decimal(0)


def test_a_seller_in_another_member_state_pays_the_commission_without_vat(settings):
    settings.OPERATOR_COUNTRY = "SI"
    order = OrderFactory(line=None, seller=SellerFactory(country="DE", tax_number="DE136695976"))
    OrderLineFactory(
        order=order, quantity=3, unit_price=Decimal("6.69"), commission_rate=Decimal("7.50")
    )

    assert order_commission_split(order, []).sale == Decimal("1.51")
