"""Counted stock: checkout takes it and refuses more than is left, a cancel puts it back, and
parallel buyers of the last unit on PostgreSQL (real threads, each its own transaction):
exactly one gets it."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from core.errors import ApplicationError
from marketplace import services
from marketplace.models import Checkout, Order, OrderLine, Product
from marketplace.services import CartLine
from tests.factories import BILLING, ProductFactory, SellerFactory, UserFactory


@pytest.mark.django_db
def test_checkout_takes_the_stock_and_refuses_more_than_is_left_writing_nothing():
    product = ProductFactory(stock=3, unit_price=Decimal("10.00"))
    other = ProductFactory(seller=product.seller, stock=None)
    buyer = UserFactory()

    services.checkout_create(
        buyer=buyer, lines=[CartLine(product.pk, 1), CartLine(product.pk, 1)], billing=BILLING
    )
    with pytest.raises(ApplicationError) as refused:
        services.checkout_create(
            buyer=buyer,
            lines=[CartLine(other.pk, 5), CartLine(product.pk, 2)],
            billing=BILLING,
        )

    assert (refused.value.field, refused.value.code) == ("lines[1].quantity", "out_of_stock")
    assert refused.value.message == f"Only 1 of product {product.pk} left in stock."
    assert Product.objects.get(pk=product.pk).stock == 1
    assert Product.objects.get(pk=other.pk).stock is None
    assert Checkout.objects.count() == 1
    assert list(OrderLine.objects.values_list("product_id", "quantity")) == [(product.pk, 2)]


@pytest.mark.django_db
def test_the_api_names_the_line_short_of_stock(api_client):
    product = ProductFactory(stock=1)
    api_client.force_authenticate(UserFactory())
    body = {"lines": [{"product_id": product.pk, "quantity": 2}], "billing": BILLING.__dict__}

    response = api_client.post("/api/checkout/", body, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Only 1 of product {product.pk} left in stock.",
        "field": "lines[0].quantity",
        "code": "out_of_stock",
    }
    assert (Product.objects.get(pk=product.pk).stock, Checkout.objects.count()) == (1, 0)


@pytest.mark.django_db
def test_a_cancel_before_fulfilment_puts_every_unit_back():
    product = ProductFactory(stock=5)
    checkout = services.checkout_create(
        buyer=UserFactory(), lines=[CartLine(product.pk, 4)], billing=BILLING
    )
    order = checkout.orders.get()
    services.order_mark_paid(order_id=order.pk)
    line = order.lines.get()
    services.order_refund(order_id=order.pk, lines=[services.RefundLine(line.pk, 1)])

    services.order_cancel(order_id=order.pk)

    assert Product.objects.get(pk=product.pk).stock == 5


@pytest.mark.django_db(transaction=True)
def test_parallel_buyers_of_the_last_unit_exactly_one_gets_it():
    seller = SellerFactory()
    product = ProductFactory(seller=seller, stock=1)
    buyers = [UserFactory() for _ in range(6)]
    start = threading.Barrier(len(buyers))
    outcomes: list[str] = []

    def buy(buyer) -> None:
        try:
            start.wait()
            services.checkout_create(buyer=buyer, lines=[CartLine(product.pk, 1)], billing=BILLING)
            outcomes.append("bought")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["bought"] + ["out_of_stock"] * 5
    assert Product.objects.get(pk=product.pk).stock == 0
    assert Order.objects.filter(seller=seller).count() == 1
    assert OrderLine.objects.get(product=product).quantity == 1
