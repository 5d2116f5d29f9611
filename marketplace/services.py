"""Checkout and the order lifecycle. Reaching the invoice point writes the invoice outbox row."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from invoicing.services import invoice_point_reached, invoice_request
from marketplace.errors import ApplicationError
from marketplace.models import Checkout, Order, OrderLine, OrderStatus, Product
from marketplace.pricing import PricedLine, line_net, order_totals
from sellers.models import SellerStatus
from sellers.validation import country_code_validate


@dataclass(frozen=True)
class CartLine:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class BillingDetails:
    name: str
    email: str
    address: str
    post_code: str
    city: str
    country: str


def checkout_create(*, buyer: User, lines: Sequence[CartLine], billing: BillingDetails) -> Checkout:
    """Turn a cart into one checkout with one order per seller; all or nothing."""
    if not lines:
        raise ApplicationError("The cart is empty.", field="lines")
    country = country_code_validate(billing.country, field="billing.country")
    products = _cart_products(lines)
    with transaction.atomic():
        checkout = Checkout.objects.create(buyer=buyer)
        for seller_lines in _group_by_seller(lines, products).values():
            _order_create(checkout, buyer, seller_lines, billing, country)
    return checkout


def order_mark_paid(*, order_id: int) -> Order:
    return _order_transition(order_id, OrderStatus.PLACED, OrderStatus.PAID, "paid_at")


def order_fulfil(*, order_id: int) -> Order:
    return _order_transition(order_id, OrderStatus.PAID, OrderStatus.FULFILLED, "fulfilled_at")


def order_cancel(*, order_id: int) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status not in (OrderStatus.PLACED, OrderStatus.PAID):
            raise ApplicationError(
                f"A {order.status} order cannot be cancelled.", field="status", code="conflict"
            )
        if order.documents.exists():
            raise ApplicationError(
                "This order is invoiced; an invoiced order is corrected by a credit note.",
                field="status",
                code="conflict",
            )
        order.status = OrderStatus.CANCELLED
        order.cancelled_at = timezone.now()
        order.save(update_fields=["status", "cancelled_at"])
    return order


def _order_transition(order_id: int, source: str, target: str, stamp: str) -> Order:
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != source:
            raise ApplicationError(
                f"A {order.status} order cannot become {target}; it must be {source}.",
                field="status",
                code="conflict",
            )
        order.status = target
        setattr(order, stamp, timezone.now())
        order.save(update_fields=["status", stamp])
        if invoice_point_reached(order):
            invoice_request(order=order)
    return order


def _cart_products(lines: Sequence[CartLine]) -> dict[int, Product]:
    products = Product.objects.select_related("seller").in_bulk([line.product_id for line in lines])
    for index, line in enumerate(lines):
        field = f"lines[{index}]"
        if line.quantity <= 0:
            raise ApplicationError("Quantity must be at least 1.", field=f"{field}.quantity")
        product = products.get(line.product_id)
        if product is None or not product.is_active:
            raise ApplicationError(
                f"Product {line.product_id} does not exist.", field=f"{field}.product_id"
            )
        if product.seller.status != SellerStatus.ACTIVE:
            raise ApplicationError(
                f"The seller of product {product.pk} is not accepting orders.",
                field=f"{field}.product_id",
            )
    return products


def _group_by_seller(
    lines: Sequence[CartLine], products: dict[int, Product]
) -> dict[int, list[tuple[Product, int]]]:
    """Lines per seller, a product listed twice merged into one line."""
    quantities: dict[int, int] = defaultdict(int)
    for line in lines:
        quantities[line.product_id] += line.quantity
    grouped: dict[int, list[tuple[Product, int]]] = defaultdict(list)
    for product_id, quantity in quantities.items():
        product = products[product_id]
        grouped[product.seller_id].append((product, quantity))
    return grouped


def _order_create(
    checkout: Checkout,
    buyer: User,
    seller_lines: list[tuple[Product, int]],
    billing: BillingDetails,
    country: str,
) -> Order:
    seller = seller_lines[0][0].seller
    currencies = {product.currency for product, _ in seller_lines}
    if len(currencies) > 1:
        raise ApplicationError(
            f"{seller.business_name} sells these items in different currencies; "
            "check them out separately.",
            field="lines",
        )
    currency = currencies.pop()
    priced = [
        PricedLine(qty, product.unit_price, product.tax_rate) for product, qty in seller_lines
    ]
    totals = order_totals(priced, currency)
    order = Order.objects.create(
        checkout=checkout,
        seller=seller,
        buyer=buyer,
        buyer_name=billing.name,
        buyer_email=billing.email,
        billing_address=billing.address,
        billing_post_code=billing.post_code,
        billing_city=billing.city,
        billing_country=country,
        currency=currency,
        total_net=totals.net,
        total_tax=totals.tax,
        total_gross=totals.gross,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            name=product.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
            total_net=line_net(line, currency),
        )
        for (product, _), line in zip(seller_lines, priced, strict=True)
    )
    if invoice_point_reached(order):
        invoice_request(order=order)
    return order
