"""Counted stock: checkout takes what it sells, a cancel puts it back."""

from collections.abc import Iterable

from django.db.models import F

from core.errors import ApplicationError
from marketplace.models import OrderLine, Product


def stock_take(*, quantities: Iterable[tuple[int, int, str]]) -> None:
    """Take sold units from counted stock, in the caller's transaction; (product id, quantity,
    field naming the line). In product id order, each a conditional UPDATE: concurrent
    checkouts wait on the row and re-check what is left, so the last unit is sold once."""
    for product_id, quantity, field in sorted(quantities):
        taken = Product.objects.filter(
            pk=product_id, stock__isnull=False, stock__gte=quantity
        ).update(stock=F("stock") - quantity)
        if taken:
            continue
        left = (
            Product.objects.filter(pk=product_id, stock__isnull=False)
            .values_list("stock", flat=True)
            .first()
        )
        if left is not None:
            raise ApplicationError(
                f"Only {left} of product {product_id} left in stock.",
                field=field,
                code="out_of_stock",
            )


def stock_return(*, lines: Iterable[OrderLine]) -> None:
    """Put a cancelled order's units back into counted stock: a cancel comes before fulfilment,
    so none of them left the seller (refunded ones included)."""
    for line in sorted(lines, key=lambda line: line.product_id):
        Product.objects.filter(pk=line.product_id, stock__isnull=False).update(
            stock=F("stock") + line.quantity
        )
