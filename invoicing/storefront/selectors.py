"""The order pages' reads: each page's orders with their lines and documents, in a fixed, small
number of queries."""

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet

from invoicing.models import Document
from marketplace.models import Checkout, Order


def _with_card_details(orders: QuerySet[Order]) -> QuerySet[Order]:
    return orders.select_related("seller", "checkout").prefetch_related(
        "lines", Prefetch("documents", queryset=Document.objects.order_by("pk"))
    )


def checkout_orders(checkout: Checkout) -> list[Order]:
    return list(_with_card_details(Order.objects.filter(checkout=checkout)).order_by("pk"))


def buyer_orders(user: User) -> QuerySet[Order]:
    """A buyer's own orders, newest first (orders they sell as seller staff are not here)."""
    return _with_card_details(Order.objects.filter(buyer=user)).order_by("-pk")
