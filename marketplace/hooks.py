"""The one hook the order domain declares: what it needs of invoicing.

An order reached a point that may need a document: placed, fulfilled, paid, cancelled, refunded.
And checkout's tax treatment needs two answers only invoicing has: VIES on the buyer's number
(asked through Space Invoices) and the seller's distance sales (counted from its invoices).

The order domain calls invoicing only through this interface, in the transaction that moved the
order; invoicing registers its implementation at its app's ready() (invoicing.apps,
invoicing.order_documents.OrderDocuments).
"""

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

from marketplace.models import Order
from marketplace.tax import BuyerTaxProfile, SellerTaxProfile, ViesResult
from sellers.models import Seller

if TYPE_CHECKING:
    from marketplace.services import RefundLine


class OrderInvoicing(Protocol):
    # Checkout's tax treatment

    def vies_check(self, *, seller: SellerTaxProfile, buyer: BuyerTaxProfile) -> ViesResult:
        """VIES's answer on the buyer's number for a checkout (a definite one cached a day)."""

    def distance_sales_lock(self, *, sellers: Iterable[Seller], on: date) -> None:
        """Lock the sellers whose sale counts towards their distance-sales threshold."""

    def distance_sales_over_threshold(
        self, *, seller: Seller, sale_net: Decimal, currency: str, on: date
    ) -> bool:
        """Whether this sale of a seller locked by `distance_sales_lock` is over the threshold."""

    # An order reached a point that may need a document

    def order_moved(self, *, order: Order) -> None:
        """The order was placed or fulfilled."""

    def order_paid(self, *, order: Order) -> None:
        """The order was paid (its row locked)."""

    def order_cancelled(self, *, order: Order) -> None:
        """The order was cancelled before fulfilment."""

    def order_refunded(self, *, order: Order, lines: Sequence["RefundLine"]) -> Model | None:
        """Quantities of a paid order were refunded: the credit note written for them when the
        order is invoiced, else None (the order domain then reduces what is left to invoice)."""


_hook: OrderInvoicing | None = None


def order_invoicing_register(hook: OrderInvoicing) -> None:
    global _hook  # one registration, at app ready()
    _hook = hook


def order_invoicing() -> OrderInvoicing:
    if _hook is None:
        raise ImproperlyConfigured("No app registered marketplace.hooks.OrderInvoicing.")
    return _hook
