"""The marketplace's commission on sellers' sales.

A percentage of each order line's net amount (VAT is the seller's to account for, not a base for
the marketplace's fee). The rate is the seller's own, else the marketplace default; it is fixed
on the line when the order is placed, so changing a rate changes no sale already made. The
commission on part of a line (a refund of some units) is the same rate on that part's net.
"""

from decimal import Decimal

from django.conf import settings

from marketplace.models import Order, OrderLine
from marketplace.pricing import PricedLine, line_net, quantize
from sellers.models import Seller


def commission_rate_for(seller: Seller) -> Decimal:
    if seller.commission_rate is not None:
        return seller.commission_rate
    rate: Decimal = settings.MARKETPLACE_COMMISSION_RATE
    return rate


def line_commission(line: OrderLine, *, quantity: int, currency: str) -> Decimal:
    """The commission on `quantity` units of the line, rounded to the currency's minor unit."""
    net = line_net(PricedLine(quantity, line.unit_price, line.tax_rate), currency)
    return quantize(net * line.commission_rate / 100, currency)


def order_commission(order: Order) -> Decimal:
    """The commission on every line the order sold (refunds do not lower it: the seller bears
    the refund, see marketplace.refunds), in the order's currency."""
    return sum(
        (
            line_commission(line, quantity=line.quantity, currency=order.currency)
            for line in order.lines.all()
        ),
        Decimal(0),
    )
