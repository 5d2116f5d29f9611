"""The buyer's cart, kept in the session: product id -> quantity, across sellers."""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.sessions.backends.base import SessionBase

from core.errors import ApplicationError
from marketplace.models import Product
from marketplace.pricing import quantize
from sellers.branding import readable_text_colour
from sellers.models import Seller

SESSION_KEY = "storefront_cart"
MAX_QUANTITY = 99


def quantity_check(quantity: int) -> int:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise ApplicationError(f"Quantity must be between 1 and {MAX_QUANTITY}.", field="quantity")
    return quantity


class Cart:
    def __init__(self, session: SessionBase) -> None:
        self.session = session

    def quantities(self) -> dict[int, int]:
        return {int(pk): quantity for pk, quantity in self.session.get(SESSION_KEY, {}).items()}

    def count(self) -> int:
        return sum(self.quantities().values())

    def add(self, product_id: int, quantity: int) -> None:
        quantities = self.quantities()
        total = quantities.get(product_id, 0) + quantity_check(quantity)
        if total > MAX_QUANTITY:
            raise ApplicationError(
                f"Your cart can hold at most {MAX_QUANTITY} of one product.", field="quantity"
            )
        quantities[product_id] = total
        self._save(quantities)

    def update(self, product_id: int, quantity: int) -> None:
        quantities = self.quantities()
        if product_id not in quantities:
            raise ApplicationError("That product is not in your cart.", field="product_id")
        quantities[product_id] = quantity_check(quantity)
        self._save(quantities)

    def remove(self, product_id: int) -> None:
        quantities = self.quantities()
        quantities.pop(product_id, None)
        self._save(quantities)

    def keep_only(self, product_ids: set[int]) -> bool:
        """Drop lines whose product left the catalog; True when some were dropped."""
        quantities = self.quantities()
        kept = {pk: quantity for pk, quantity in quantities.items() if pk in product_ids}
        if kept != quantities:
            self._save(kept)
        return kept != quantities

    def clear(self) -> None:
        self.session.pop(SESSION_KEY, None)

    def _save(self, quantities: Mapping[int, int]) -> None:
        self.session[SESSION_KEY] = {str(pk): quantity for pk, quantity in quantities.items()}


@dataclass(frozen=True)
class CartItem:
    product: Product
    quantity: int

    @property
    def total(self) -> Decimal:
        return quantize(self.product.unit_price * self.quantity, self.product.currency)


@dataclass(frozen=True)
class SellerCart:
    """One seller's part of the cart: what becomes one order at checkout."""

    seller: Seller
    items: list[CartItem]

    @property
    def text_colour(self) -> str:
        return readable_text_colour(self.seller.primary_colour)

    @property
    def currency(self) -> str:
        return self.items[0].product.currency

    @property
    def subtotal(self) -> Decimal | None:
        """Net subtotal; None when the seller's items are priced in more than one currency."""
        if len({item.product.currency for item in self.items}) > 1:
            return None
        return sum((item.total for item in self.items), Decimal(0))


def cart_by_seller(
    quantities: Mapping[int, int], products: Mapping[int, Product]
) -> list[SellerCart]:
    """The cart's lines grouped per seller, in catalog order."""
    groups: dict[int, SellerCart] = {}
    for product in sorted(products.values(), key=lambda p: (p.seller_id, p.name, p.pk)):
        group = groups.setdefault(product.seller_id, SellerCart(seller=product.seller, items=[]))
        group.items.append(CartItem(product=product, quantity=quantities[product.pk]))
    return list(groups.values())
