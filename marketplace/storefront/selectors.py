"""Storefront reads: each page's rows in a fixed, small number of queries."""

import uuid
from collections.abc import Collection

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet

from invoicing.models import Invoice
from marketplace.models import Checkout, Order, Product
from marketplace.selectors import catalog_products


def cart_products(product_ids: Collection[int]) -> dict[int, Product]:
    """The cart's products still in the catalog (active, of an active seller)."""
    if not product_ids:
        return {}
    return catalog_products().in_bulk(list(product_ids))


def checkout_by_ref(ref: uuid.UUID) -> Checkout | None:
    return Checkout.objects.select_related("buyer").filter(public_id=ref).first()


def _with_card_details(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("seller", "checkout").prefetch_related(
        "lines", Prefetch("documents", queryset=Invoice.objects.order_by("pk"))
    )


def checkout_orders(checkout: Checkout) -> list[Order]:
    return list(_with_card_details(Order.objects.filter(checkout=checkout)).order_by("pk"))


def buyer_orders(user: User) -> QuerySet[Order]:
    """A buyer's own orders, newest first (orders they sell as seller staff are not here)."""
    return _with_card_details(Order.objects.filter(buyer=user)).order_by("-pk")
