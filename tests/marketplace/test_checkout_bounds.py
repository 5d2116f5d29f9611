"""Bounds: a quantity beyond MAX_LINE_QUANTITY, or a total beyond what a money column holds, is
a 400 naming the line, and nothing is written. Before, quantity 2147483648 was a 500 (integer
out of range) and 2147483647 placed an order of 34 billion euros."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from core.models import AuditEvent
from invoicing.models import Document
from marketplace.models import Checkout, Order, OrderLine, Product
from tests.factories import BILLING, ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

BILLING_BODY = {
    "name": BILLING.name,
    "email": BILLING.email,
    "address": BILLING.address,
    "post_code": BILLING.post_code,
    "city": BILLING.city,
    "country": BILLING.country,
}
TOO_MANY = {
    "detail": "At most 10000 of one product can be ordered at once.",
    "code": "out_of_range",
}
TOO_MUCH = {
    "detail": "With this line the checkout's total exceeds 999,999,999,999.99, the most one "
    "checkout can hold.",
    "code": "out_of_range",
}


@pytest.fixture
def buyer_client(api_client):
    api_client.force_authenticate(UserFactory(username="ana"))
    return api_client


def _checkout(client, *lines):
    body = {
        "lines": [{"product_id": product.pk, "quantity": quantity} for product, quantity in lines],
        "billing": BILLING_BODY,
    }
    return client.post("/api/checkout/", body, format="json")


def _written():
    return {
        "users": get_user_model().objects.count(),
        "checkouts": Checkout.objects.count(),
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "invoices": Document.objects.count(),
        "audit_events": AuditEvent.objects.count(),
    }


@pytest.mark.parametrize("quantity", [10_001, 2_147_483_647, 2_147_483_648, 10**30])
def test_a_quantity_beyond_the_maximum_is_refused_naming_the_line(buyer_client, quantity):
    mug = ProductFactory(unit_price=Decimal("12.99"))
    before = _written()

    response = _checkout(buyer_client, (ProductFactory(), 1), (mug, quantity))

    assert (response.status_code, response.json()) == (
        400,
        {**TOO_MANY, "field": "lines[1].quantity"},
    )
    assert _written() == before


def test_the_maximum_quantity_is_ordered(buyer_client):
    mug = ProductFactory(unit_price=Decimal("12.99"))

    response = _checkout(buyer_client, (mug, 10_000))

    assert response.status_code == 201
    [order] = response.json()["orders"]
    # 10,000 x 12.99 = 129,900.00 at 22 % -> 28,578.00
    assert (order["total_net"], order["total_tax"], order["total_gross"]) == (
        "129900.00",
        "28578.00",
        "158478.00",
    )


def test_one_product_on_several_lines_counts_once_against_the_maximum(buyer_client):
    mug = ProductFactory()
    before = _written()

    response = _checkout(buyer_client, (mug, 6_000), (ProductFactory(), 1), (mug, 4_001))

    assert (response.status_code, response.json()) == (
        400,
        {**TOO_MANY, "field": "lines[2].quantity"},
    )
    assert _written() == before


def test_an_order_total_beyond_the_money_column_is_refused_naming_the_line(buyer_client):
    seller = SellerFactory(is_tax_subject=False)  # no VAT: the nets are the totals
    pen = ProductFactory(seller=seller, unit_price=Decimal("1.00"))
    yacht = ProductFactory(seller=seller, unit_price=Decimal("600000000000.00"))
    jet = ProductFactory(seller=seller, unit_price=Decimal("400000000000.00"))
    before = _written()

    # Each line fits; 1.00 + 600,000,000,000.00 + 400,000,000,000.00 does not, from the jet on.
    response = _checkout(buyer_client, (pen, 1), (yacht, 1), (jet, 1))

    assert (response.status_code, response.json()) == (
        400,
        {**TOO_MUCH, "field": "lines[2].quantity"},
    )
    assert _written() == before


def test_tax_that_takes_the_total_beyond_the_column_is_refused(buyer_client):
    # The net total fits (900,000,000,000.00); with Slovenia's 22 % VAT the gross does not.
    vault = ProductFactory(unit_price=Decimal("900000000000.00"))
    before = _written()

    response = _checkout(buyer_client, (vault, 1))

    assert (response.status_code, response.json()) == (
        400,
        {**TOO_MUCH, "field": "lines[0].quantity"},
    )
    assert _written() == before


def test_orders_of_several_sellers_count_together_against_the_column(buyer_client):
    """The buyer pays all of the checkout's orders at once (one Payment row of a money column)."""

    def untaxed(price):  # sellers that are not tax subjects charge no VAT
        return ProductFactory(seller=SellerFactory(is_tax_subject=False), unit_price=Decimal(price))

    first = untaxed("500000000000.00")
    second = untaxed("499999999999.99")
    third = untaxed("0.01")
    before = _written()

    fits = _checkout(buyer_client, (first, 1), (second, 1))
    refused = _checkout(buyer_client, (first, 1), (second, 1), (third, 1))

    assert fits.status_code == 201
    assert [order["total_gross"] for order in fits.json()["orders"]] == [
        "500000000000.00",
        "499999999999.99",
    ]
    assert (refused.status_code, refused.json()) == (
        400,
        {**TOO_MUCH, "field": "lines[2].quantity"},
    )
    assert _written() == {**before, "checkouts": 1, "orders": 2, "lines": 2, "audit_events": 2}


def test_admin_refuses_a_product_price_beyond_the_money_column(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    seller = SellerFactory()

    response = client.post(
        "/admin/marketplace/product/add/",
        {
            "seller": seller.pk,
            "name": "Island",
            "unit_price": "1000000000000.00",
            "currency": "EUR",
            "tax_category": "standard",
            "supply_kind": "goods",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "unit_price": ["Ensure that there are no more than 14 digits in total."]
    }
    assert Product.objects.count() == 0
