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
"""

from decimal import Decimal

from django.conf import settings

from marketplace.models import Order, OrderLine, Product
from marketplace.pricing import PricedLine, line_net, quantize
from sellers.models import Seller


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


def order_commission(order: Order) -> Decimal:
    """The commission on what the order still sells (refunds before its invoice left out)."""
    return sum(
        (
            line_commission(
                line, quantity=line.quantity - line.refunded_quantity, currency=order.currency
            )
            for line in order.lines.all()
        ),
        Decimal(0),
    )
