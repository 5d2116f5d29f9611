"""Document totals, in ``Decimal``, rounded ROUND_HALF_UP to the currency's minor unit.

Per line:
  * unit price: ``price`` (net), or for ``gross_price`` lines the net unit price
    ``round(gross_price / (1 + sum of the line's charged rates / 100))``;
  * ``quantity * unit price``, then each discount in order (``percent`` of the running amount or
    a fixed ``amount`` off the line), then rounded: that is the line ``total`` (net);
  * ``total_discount`` = ``round(quantity * unit price) - total``;
  * ``total_with_tax`` = ``total`` + ``round(total * rate / 100)`` for each charged rate (shown
    for information: the document's tax is computed per rate group, below).

Per document:
  * ``taxes``: one entry per (rate, reverse_charge) group, ``base`` = sum of the line totals in
    the group, ``amount`` = ``round(base * rate / 100)``, or 0 for reverse-charge groups (the
    customer accounts for that tax, so it is shown but not charged);
  * ``total`` = sum of line totals, ``total_with_tax`` = ``total`` + sum of tax amounts;
  * ``total_paid`` = sum of payments, ``total_due`` = ``total_with_tax - total_paid``,
    ``paid_in_full`` when nothing is due.

That is ``calculation_mode: b2b_standard`` (the default): tax is added on top of net amounts.
``b2c_gross_discount`` keeps what a consumer sees exact instead: each line has at most one
charged rate; its gross unit price is ``gross_price`` (or ``price * (1 + rate / 100)``), the
discounts apply to the gross amount, and the line's gross amount is rounded. Per rate group the
tax is taken out of the summed gross, ``amount = round(gross * rate / (100 + rate))`` and
``base = gross - amount``; ``total_with_tax`` is the sum of gross amounts and ``total`` the sum of
bases. Lines show their net ``total`` (``round(gross / (1 + rate / 100))``), the net unit
``price``, and a ``total_discount`` in gross terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from invoicing.sandbox.reference import minor_unit

CalculationMode = Literal["b2b_standard", "b2c_gross_discount"]

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Discount:
    value: Decimal
    type: Literal["percent", "amount"]


@dataclass(frozen=True)
class Tax:
    rate: Decimal
    reverse_charge: bool = False


@dataclass(frozen=True)
class Line:
    quantity: Decimal
    price: Decimal | None
    gross_price: Decimal | None = None
    taxes: tuple[Tax, ...] = ()
    discounts: tuple[Discount, ...] = ()


@dataclass(frozen=True)
class LineTotals:
    price: Decimal
    total: Decimal
    total_discount: Decimal
    total_with_tax: Decimal


@dataclass(frozen=True)
class TaxGroup:
    rate: Decimal
    base: Decimal
    amount: Decimal
    reverse_charge: bool


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineTotals, ...]
    taxes: tuple[TaxGroup, ...]
    total: Decimal
    total_discount: Decimal
    total_with_tax: Decimal
    total_paid: Decimal
    total_due: Decimal
    paid_in_full: bool


def round_money(value: Decimal, unit: Decimal) -> Decimal:
    """Round half up to ``unit`` (the currency's minor unit, see ``reference.minor_unit``)."""
    return value.quantize(unit, rounding=ROUND_HALF_UP)


def calculate(
    lines: Sequence[Line],
    payments: Sequence[Decimal],
    currency_code: str,
    mode: CalculationMode = "b2b_standard",
) -> Totals:
    unit = minor_unit(currency_code)
    zero = round_money(Decimal(0), unit)
    if mode == "b2c_gross_discount":
        line_totals, groups, total, total_with_tax = _gross_totals(lines, unit, zero)
    else:
        line_totals = tuple(_line_totals(line, unit) for line in lines)
        bases: dict[tuple[Decimal, bool], Decimal] = {}
        for line, totals in zip(lines, line_totals, strict=True):
            for tax in line.taxes:
                key = (tax.rate, tax.reverse_charge)
                bases[key] = bases.get(key, zero) + totals.total
        groups = tuple(
            TaxGroup(
                rate=rate,
                base=base,
                amount=zero if reverse_charge else round_money(base * rate / HUNDRED, unit),
                reverse_charge=reverse_charge,
            )
            for (rate, reverse_charge), base in sorted(bases.items(), key=_rate_descending)
        )
        total = sum((t.total for t in line_totals), zero)
        total_with_tax = total + sum((g.amount for g in groups), zero)
    total_paid = round_money(sum(payments, zero), unit)
    total_due = total_with_tax - total_paid
    return Totals(
        lines=line_totals,
        taxes=groups,
        total=total,
        total_discount=sum((t.total_discount for t in line_totals), zero),
        total_with_tax=total_with_tax,
        total_paid=total_paid,
        total_due=total_due,
        paid_in_full=total_due <= 0,
    )


def _gross_totals(
    lines: Sequence[Line], unit: Decimal, zero: Decimal
) -> tuple[tuple[LineTotals, ...], tuple[TaxGroup, ...], Decimal, Decimal]:
    line_totals = []
    grosses: dict[tuple[Decimal, bool], Decimal] = {}
    untaxed = zero
    for line in lines:
        charged = [tax.rate for tax in line.taxes if not tax.reverse_charge]
        factor = 1 + (charged[0] if charged else Decimal(0)) / HUNDRED
        gross_unit = line.gross_price if line.gross_price is not None else line.price
        assert gross_unit is not None
        if line.gross_price is None:
            gross_unit = gross_unit * factor
        amount = line.quantity * gross_unit
        for discount in line.discounts:
            if discount.type == "percent":
                amount -= amount * discount.value / HUNDRED
            else:
                amount -= discount.value
        gross = round_money(amount, unit)
        line_totals.append(
            LineTotals(
                price=round_money(gross_unit / factor, unit),
                total=round_money(gross / factor, unit),
                total_discount=round_money(line.quantity * gross_unit, unit) - gross,
                total_with_tax=gross,
            )
        )
        if not line.taxes:
            untaxed += gross
        for tax in line.taxes:
            key = (tax.rate, tax.reverse_charge)
            grosses[key] = grosses.get(key, zero) + gross
    groups = []
    for (rate, reverse_charge), gross in sorted(grosses.items(), key=_rate_descending):
        amount = zero if reverse_charge else round_money(gross * rate / (HUNDRED + rate), unit)
        groups.append(TaxGroup(rate, gross - amount, amount, reverse_charge))
    total_with_tax = untaxed + sum(grosses.values(), zero)
    total = total_with_tax - sum((g.amount for g in groups), zero)
    return tuple(line_totals), tuple(groups), total, total_with_tax


def _rate_descending(item: tuple[tuple[Decimal, bool], Decimal]) -> tuple[Decimal, bool]:
    (rate, reverse_charge), _ = item
    return -rate, reverse_charge


def _line_totals(line: Line, unit: Decimal) -> LineTotals:
    charged = [tax.rate for tax in line.taxes if not tax.reverse_charge]
    if line.price is not None:
        price = line.price
    else:
        assert line.gross_price is not None
        price = round_money(line.gross_price / (1 + sum(charged, Decimal(0)) / HUNDRED), unit)
    amount = line.quantity * price
    for discount in line.discounts:
        if discount.type == "percent":
            amount -= amount * discount.value / HUNDRED
        else:
            amount -= discount.value
    total = round_money(amount, unit)
    tax = sum((round_money(total * rate / HUNDRED, unit) for rate in charged), Decimal(0))
    return LineTotals(
        price=price,
        total=total,
        total_discount=round_money(line.quantity * price, unit) - total,
        total_with_tax=total + tax,
    )
