"""Storefront reads: each page's rows in a fixed, small number of queries."""

import uuid
from collections.abc import Collection

from marketplace.models import Checkout, Product
from marketplace.selectors import catalog_products


def cart_products(product_ids: Collection[int]) -> dict[int, Product]:
    """The cart's products still in the catalog (active, of an active seller)."""
    if not product_ids:
        return {}
    return catalog_products().in_bulk(list(product_ids))


def checkout_by_ref(ref: uuid.UUID) -> Checkout | None:
    return Checkout.objects.select_related("buyer").filter(public_id=ref).first()
