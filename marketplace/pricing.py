"""Order money: Decimal, rounded to the currency's minor unit the way the invoice computes it.

Each line's net total is rounded; tax is computed once per rate on the sum of the line totals
at that rate (the invoice's tax summary), so our totals equal the issued invoice's.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import get_currency_precision


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(_minor_unit(currency), rounding=ROUND_HALF_UP)


@cache
def _minor_unit(currency: str) -> Decimal:
    """0.01 for EUR, 1 for JPY: ISO 4217 minor units, from babel's CLDR data."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


@dataclass(frozen=True)
class PricedLine:
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal


@dataclass(frozen=True)
class Totals:
    net: Decimal
    tax: Decimal
    gross: Decimal


def line_net(line: PricedLine, currency: str) -> Decimal:
    return quantize(line.unit_price * line.quantity, currency)


def order_totals(lines: Iterable[PricedLine], currency: str) -> Totals:
    base_by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        base_by_rate[line.tax_rate] += line_net(line, currency)
    net = sum(base_by_rate.values(), Decimal(0))
    tax = sum(
        (quantize(base * rate / 100, currency) for rate, base in base_by_rate.items()),
        Decimal(0),
    )
    return Totals(
        net=quantize(net, currency),
        tax=quantize(tax, currency),
        gross=quantize(net + tax, currency),
    )
