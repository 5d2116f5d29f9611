"""The marketplace's commission on sellers' sales.

A percentage of each order line's net amount (VAT is the seller's to account for, not a base for
the marketplace's fee). The rate is the seller's own, else the marketplace's rate for the
product's tax category (MARKETPLACE_COMMISSION_CATEGORY_RATES), else the marketplace default; it
is fixed on the line when the order is placed, so changing a rate changes no sale already made.
The commission on part of a line (a refund of some units) is the same rate on that part's net.

What a refund returns is the difference between the commission on the units kept before and
after it (`refund_commission`): however a line is refunded, in one go or unit by unit, the
returns add up to the commission on the refunded units, and all of a line's returns to exactly
what its sale was charged.

VAT on the commission (a service to the seller, Article 44 of the VAT Directive), decided here
once for the commission invoices (invoicing.commission_invoices) and the seller's transfers
(marketplace.stripe_provider): domestic at the operator country's standard rate when the seller
is in the operator's country (OPERATOR_COUNTRY); reverse charge at 0 % with the legal note for a
seller in another member state; outside the scope of EU VAT at 0 % for a seller outside the EU.

What a seller order paid through a provider owes the marketplace (`order_commission_split`):
the commission with its VAT on every unit it sold, less what each of its confirmed provider
refunds returns (the commission with VAT on the units kept before it, less on those kept after
it; a cancellation keeps none), so refunding a line unit by unit returns exactly what refunding
it at once does.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from core.eu import EU_MEMBER_STATES, same_vat_jurisdiction
from marketplace.eu_vat import vat_rate
from marketplace.models import (
    Order,
    OrderLine,
    Product,
    ProviderRefund,
    ProviderRefundKind,
    ProviderRefundStatus,
)
from marketplace.pricing import PricedLine, line_net, quantize
from marketplace.tax import REVERSE_CHARGE_NOTE, TransactionType
from sellers.models import Seller

OUTSIDE_SCOPE_NOTE = (
    "Service outside the scope of EU VAT: supplied to a business established outside the EU "
    "(Article 44, Council Directive 2006/112/EC)."
)


def commission_rate_for(seller: Seller, product: Product | None = None) -> Decimal:
    """The rate for a sale of `product` by `seller`: the seller's own, the product category's,
    or the marketplace default."""
    if seller.commission_rate is not None:
        return seller.commission_rate
    category_rates: dict[str, Decimal] = settings.MARKETPLACE_COMMISSION_CATEGORY_RATES
    if product is not None and product.tax_category in category_rates:
        return category_rates[product.tax_category]
    rate: Decimal = settings.MARKETPLACE_COMMISSION_RATE
    return rate


def line_commission(line: OrderLine, *, quantity: int, currency: str) -> Decimal:
    """The commission on `quantity` units of the line, rounded to the currency's minor unit."""
    net = line_net(PricedLine(quantity, line.unit_price, line.tax_rate), currency)
    return quantize(net * line.commission_rate / 100, currency)


def refund_commission(
    line: OrderLine, *, refunded_before: int, refunded: int, currency: str
) -> Decimal:
    """The commission returned by refunding `refunded` more units of the line, of which
    `refunded_before` were refunded already."""
    kept_before = line.quantity - refunded_before
    kept_after = kept_before - refunded
    if refunded < 0 or kept_after < 0:
        raise ValueError(f"line {line.pk}: cannot refund {refunded} of {kept_before} units")
    return line_commission(line, quantity=kept_before, currency=currency) - line_commission(
        line, quantity=kept_after, currency=currency
    )


# VAT on the commission


@dataclass(frozen=True)
class CommissionTreatment:
    transaction_type: str
    reverse_charge: bool
    rate: Decimal
    note: str


def commission_treatment(*, seller: Seller, on: date) -> CommissionTreatment:
    """How the operator's commission to `seller` is taxed on that date."""
    operator_country = settings.OPERATOR_COUNTRY
    seller_country = str(seller.country)
    if same_vat_jurisdiction(seller_country, operator_country):
        rate = vat_rate(operator_country, "standard", on)
        return CommissionTreatment(TransactionType.DOMESTIC, False, rate, "")
    if seller_country in EU_MEMBER_STATES:
        return CommissionTreatment(
            TransactionType.INTRA_EU_B2B, True, Decimal(0), REVERSE_CHARGE_NOTE
        )
    return CommissionTreatment(
        TransactionType.THIRD_COUNTRY_B2B, True, Decimal(0), OUTSIDE_SCOPE_NOTE
    )


def with_commission_vat(commission: Decimal, *, rate: Decimal, currency: str) -> Decimal:
    """The commission plus its VAT at `rate` (percent), rounded as its invoice line is."""
    return commission + quantize(commission * rate / 100, currency)


# The commission of a seller order paid through a provider


@dataclass(frozen=True)
class OrderCommission:
    """An order's commission with VAT: on its sale, and what each confirmed refund returns."""

    sale: Decimal
    returns: dict[int, Decimal]  # ProviderRefund pk -> commission with VAT it returns

    @property
    def kept(self) -> Decimal:
        """The commission with VAT on what the order still sells."""
        return self.sale - sum(self.returns.values(), Decimal(0))


def order_commission_split(order: Order, refunds: Iterable[ProviderRefund]) -> OrderCommission:
    """The order's commission with VAT (at the rate of the day it was paid), split by its
    succeeded provider refunds, taken in the order they were made."""
    on = timezone.localdate(order.paid_at) if order.paid_at else timezone.localdate()
    rate = commission_treatment(seller=order.seller, on=on).rate
    lines = list(order.lines.all())
    kept = {line.pk: line.quantity for line in lines}

    def kept_commission() -> Decimal:
        commission = sum(
            (
                line_commission(line, quantity=kept[line.pk], currency=order.currency)
                for line in lines
            ),
            Decimal(0),
        )
        return with_commission_vat(commission, rate=rate, currency=order.currency)

    sale = kept_commission()
    returns: dict[int, Decimal] = {}
    before = sale
    for refund in sorted(refunds, key=lambda r: r.pk):
        if refund.status != ProviderRefundStatus.SUCCEEDED:
            continue
        if refund.kind == ProviderRefundKind.CANCEL:
            kept = dict.fromkeys(kept, 0)
        else:
            for line_id, quantity in refund.lines.items():
                kept[int(line_id)] -= int(quantity)
        after = kept_commission()
        returns[refund.pk] = before - after
        before = after
    return OrderCommission(sale=sale, returns=returns)
