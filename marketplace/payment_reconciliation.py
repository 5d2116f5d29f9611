"""Money reconciles: for every checkout paid through a provider that routes funds (Stripe),

- the buyer's charge equals the sum of the seller orders it paid, and
- each seller order's transfer, less what was reversed, equals the order's total minus the
  marketplace's commission with its VAT on what the order still sells minus what was refunded
  to the buyer (marketplace.commission.order_commission_split: a refund returns the commission
  with VAT on its units, so the seller bears the refund less that commission).

`payment_mismatches` lists the checkouts where either does not hold (none in a healthy system);
the operators' page and CSV show them (marketplace.payment_admin).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch

from marketplace.commission import order_commission_split
from marketplace.models import (
    Order,
    Payment,
    PaymentOutcome,
    PaymentProvider,
    ProviderRefund,
    ProviderRefundStatus,
)


@dataclass(frozen=True)
class OrderMoney:
    order_id: int
    seller: str
    currency: str
    total: Decimal
    commission: Decimal  # with its VAT, on what the order still sells
    refunded: Decimal
    transferred: Decimal  # the transfer's amount less its reversals
    reversed: Decimal

    @property
    def expected_transfer(self) -> Decimal:
        return max(self.total - self.commission - self.refunded, Decimal(0))

    @property
    def difference(self) -> Decimal:
        return self.transferred - self.expected_transfer


@dataclass(frozen=True)
class CheckoutMoney:
    checkout_id: int
    checkout_ref: str
    currency: str
    charged: Decimal
    orders: list[OrderMoney]

    @property
    def orders_total(self) -> Decimal:
        return sum((order.total for order in self.orders), Decimal(0))

    @property
    def charge_difference(self) -> Decimal:
        return self.charged - self.orders_total

    @property
    def reconciles(self) -> bool:
        return self.charge_difference == 0 and all(o.difference == 0 for o in self.orders)


def _order_money(order: Order) -> OrderMoney:
    refunds = [
        r for r in order.provider_refunds.all() if r.status == ProviderRefundStatus.SUCCEEDED
    ]
    reversed_ = sum((r.reversed_amount for r in refunds), Decimal(0))
    transfer = getattr(order, "transfer", None)
    return OrderMoney(
        order_id=order.pk,
        seller=order.seller.business_name,
        currency=order.currency,
        total=order.total_gross,
        commission=order_commission_split(order, refunds).kept,
        refunded=sum((r.amount for r in refunds), Decimal(0)),
        transferred=(transfer.amount if transfer else Decimal(0)) - reversed_,
        reversed=reversed_,
    )


def checkout_money(payment: Payment) -> CheckoutMoney:
    """A paid checkout's money, from its prefetched orders (see `_paid_payments`)."""
    orders = [order for order in payment.checkout.orders.all() if order.paid_at is not None]
    return CheckoutMoney(
        checkout_id=payment.checkout_id,
        checkout_ref=str(payment.checkout.public_id),
        currency=payment.currency,
        charged=payment.amount,
        orders=[_order_money(order) for order in orders],
    )


def _paid_payments() -> Iterator[Payment]:
    orders = Order.objects.select_related("seller", "transfer").prefetch_related(
        "lines", Prefetch("provider_refunds", queryset=ProviderRefund.objects.order_by("pk"))
    )
    return (
        Payment.objects.filter(provider=PaymentProvider.STRIPE, outcome=PaymentOutcome.PAID)
        .select_related("checkout")
        .prefetch_related(Prefetch("checkout__orders", queryset=orders.order_by("pk")))
        .order_by("checkout_id")
        .iterator(chunk_size=200)
    )


def payment_mismatches() -> Iterator[CheckoutMoney]:
    """The checkouts paid through Stripe whose money does not reconcile, oldest first."""
    for payment in _paid_payments():
        money = checkout_money(payment)
        if not money.reconciles:
            yield money
