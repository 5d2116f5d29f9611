"""The EU-wide EUR 10,000 threshold for intra-EU distance sales of goods (Article 59c of Council
Directive 2006/112/EC).

A seller established in only one member state (or in Northern Ireland; every seller here is
taken to be) may tax its B2C sales of goods to other member states in its own country only while
their total, net of VAT, did not exceed EUR 10,000 in the previous calendar year and does not
exceed it in the current one (59c(1)). From the sale that takes the current year's total over
the threshold on, such sales are taxed in the buyer's country (59c(2)): that sale itself, the
rest of that year and the whole of the next. The day of that sale is recorded on the seller
(admin shows it).

The totals come from the seller's documents: the net of its invoices less its credit notes of
transaction type intra_eu_b2c (a credit note made in the seller's dashboard, without lines, by
its total net) that exist or may exist in its entity: issued, on their way (pending), or given
up with an unknown outcome. A rejected row, or one a look-up proved absent, created nothing and
does not count (as services counts credit notes). A document counts on its issue date, or until
issued on the day its row was written. An order not invoiced yet (its invoice point comes after
checkout, or its invoice created nothing) counts on the day it was placed, for what was not
refunded, unless it was cancelled.

A deemed supply (goods the marketplace is taken to sell, Article 14a) is the marketplace's
distance sale, not the seller's, and does not count.

Counting grows with the seller's sales, so a seller under the threshold also keeps an upper
bound of the current year's total (Seller.distance_sales_bound_eur, for the year in
distance_sales_bound_year), set by each count made on today's date and raised by each sale: a
sale that leaves the bound under the threshold is under it, and nothing is counted. The bound is
what raised the total, whatever became of it since: every invoice line (failed ones too, as a
rejected invoice may be retried or found), credit notes only where negative, orders not invoiced
yet at their full quantity; with what an earlier year may still move into this one (its orders
not invoiced yet, whose invoice is dated when written, and its documents not issued yet). So the
year's total grows past the bound only by a sale, which passes here (at checkout, or when an
invoice falls back to B2C at issue) and raises it; refunds, credit notes, cancellations and
failures, and their undoing, move the total under what raised it. A count for another year, or
up to an earlier day (an invoice's re-check, on its order's day), replaces the bound with none.
No bound is kept while the previous year raised over the threshold, as its total could still
rise over it (a pending credit note rejected), nor for a seller with sales in other currencies
than the euro (converted one by one and counted per day, their cents may round apart). A change
of the seller's tax set-up forgets it (sellers.models.TAX_SETUP_FIELDS): sales under OSS, or
made as no taxable person, are taxed without the threshold and did not raise it.

Currencies: amounts are converted to euro at the fixed ECB euro reference rates below, one table
for every date (the threshold is a yearly estimate, not a tax amount). A sale or document in a
currency the table lacks is taxed in the buyer's country, which a seller may always opt for
(59c(3)); no crossing date is recorded for it.
"""

import functools
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, TruncDate
from django.utils import timezone

from core.audit import audit_record
from invoicing.models import Document, DocumentKind, DocumentState
from marketplace.models import Order, OrderStatus
from marketplace.tax import TransactionType
from sellers.models import DISTANCE_SALES_FIELDS, Seller

THRESHOLD_EUR = Decimal("10000")

# The rows whose document exists or may exist in the entity: all but those failed with a known
# outcome (rejected, or proved absent), the rule services._credited_quantities follows.
_MAY_EXIST = ~Q(state=DocumentState.FAILED, outcome_unknown=False)

# Units of each currency per euro: the ECB's euro foreign exchange reference rates of
# 14 March 2025 (as reprinted by euro2.net, read 2026-12-05). BGN is the lev's fixed rate.
EUR_RATES: dict[str, Decimal] = {
    code: Decimal(rate)
    for code, rate in [
        ("EUR", "1"),
        ("AUD", "1.7237"),
        ("BGN", "1.95583"),
        ("CHF", "0.9641"),
        ("CZK", "25.014"),
        ("DKK", "7.4601"),
        ("GBP", "0.84183"),
        ("HUF", "399.48"),
        ("ISK", "145.90"),
        ("JPY", "161.88"),
        ("NOK", "11.6200"),
        ("PLN", "4.1723"),
        ("RON", "4.9768"),
        ("SEK", "11.0538"),
        ("TRY", "39.9381"),
        ("USD", "1.0889"),
    ]
}


def amount_in_eur(amount: Decimal, currency: str) -> Decimal | None:
    """The amount in euro at the fixed table; None for a currency the table lacks."""
    rate = EUR_RATES.get(currency)
    if rate is None:
        return None
    return (amount / rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def distance_sales_lock(*, sellers: Iterable[Seller], on: date) -> None:
    """Lock, in id order, the rows of the sellers whose next sale must be counted (not known to
    be over the threshold), so concurrent sales count each other in turn and never deadlock.
    Each locked seller's recorded crossing and bound are refreshed from its locked row, so
    `distance_sales_over_threshold(..., locked=True)` need not read them again."""
    unknown = {seller.pk: seller for seller in sellers if not _over_by_record(seller, on)}
    rows = (
        Seller.objects.select_for_update(no_key=True)
        .filter(pk__in=sorted(unknown))
        .order_by("pk")
        .values_list("pk", *DISTANCE_SALES_FIELDS)
    )
    for pk, *values in rows:
        for field, value in zip(DISTANCE_SALES_FIELDS, values, strict=True):
            setattr(unknown[pk], field, value)


def distance_sales_over_threshold(
    *, seller: Seller, sale_net: Decimal, currency: str, on: date, locked: bool = False
) -> bool:
    """Whether this intra-EU B2C sale of goods (net `sale_net` in `currency`, made on `on`) is
    taxed in the buyer's country because of the threshold.

    A seller recorded over it (this year or last) answers at once. Otherwise its row is locked
    for the caller's transaction (`locked`: the caller's distance_sales_lock did, and refreshed
    `seller`). A sale its bound leaves under the threshold raises the bound; else its documents
    are counted, and the bound set anew, or a crossing found and not recorded yet is recorded
    on the seller.
    """
    if _over_by_record(seller, on):
        return True
    record = seller
    if not locked:
        record = (
            Seller.objects.select_for_update(no_key=True)
            .only(*DISTANCE_SALES_FIELDS)
            .get(pk=seller.pk)
        )
        if _over_by_record(record, on):
            return True
    sale_eur = amount_in_eur(sale_net, currency)
    if sale_eur is None:
        return True
    bound = record.distance_sales_bound_eur
    in_euro = currency == "EUR"  # the bound is kept in euro only
    if (
        in_euro
        and record.distance_sales_bound_year == on.year
        and bound is not None
        and bound + sale_eur <= THRESHOLD_EUR
    ):
        _bound_keep(record, on.year, bound + sale_eur)
        return False
    counted = _counted_eur(seller.pk, on)
    if counted is None:
        return True
    daily, bound = counted
    daily.append((on, sale_eur))
    crossed = _crossing_days(daily)
    crossed_on = crossed.get(on.year) or crossed.get(on.year - 1)
    if crossed_on is None:
        # Counted up to a day before today (an invoice's re-check, on its order's day), later
        # sales were left out: no bound.
        whole = in_euro and on >= timezone.localdate()
        _bound_keep(record, on.year, bound + sale_eur if whole and bound is not None else None)
        return False
    Seller.objects.filter(pk=seller.pk).update(distance_sales_threshold_crossed_on=crossed_on)
    audit_record(
        action="seller.distance_sales_threshold_crossed",
        seller_id=seller.pk,
        detail={"crossed_on": crossed_on.isoformat()},
    )
    return True


def _over_by_record(seller: Seller, on: date) -> bool:
    """The seller's recorded crossing puts this year's sales over the threshold."""
    crossed_on = seller.distance_sales_threshold_crossed_on
    return crossed_on is not None and on.year - 1 <= crossed_on.year <= on.year


def _bound_keep(seller: Seller, year: int, bound: Decimal | None) -> None:
    """The seller's bound for `year`, on its locked row and on `seller`."""
    if (seller.distance_sales_bound_year, seller.distance_sales_bound_eur) == (year, bound):
        return
    seller.distance_sales_bound_year = year
    seller.distance_sales_bound_eur = bound
    Seller.objects.filter(pk=seller.pk).update(
        distance_sales_bound_year=year, distance_sales_bound_eur=bound
    )


def _counted_eur(
    seller_id: int, on: date
) -> tuple[list[tuple[date, Decimal]], Decimal | None] | None:
    """Per day up to `on`, the net of the seller's intra-EU B2C documents since 1 January of the
    previous year (credit notes negative) and of its orders not invoiced yet, in euro, in date
    order, with the bound of `on`'s year before this sale (None while the previous year raised
    over the threshold, or where one is not in euro); None when one is in a currency without a
    rate."""
    values = {
        _SELLER: seller_id,
        _SINCE: connection.ops.adapt_datefield_value(date(on.year - 1, 1, 1)),
        _ON: connection.ops.adapt_datefield_value(on),
    }
    daily: list[tuple[date, Decimal]] = []
    sold: defaultdict[int, Decimal] = defaultdict(Decimal)
    movable = Decimal(0)  # sold in an earlier year, to be dated when invoiced (maybe this year)
    in_euro = True
    sql, params, slots = _compiled(connection.vendor, timezone.get_current_timezone_name())
    with connection.cursor() as cursor:
        cursor.execute(sql, [values[slots[i]] if i in slots else p for i, p in enumerate(params)])
        rows = cursor.fetchall()
    for day, currency, undated, net, sold_net in rows:
        net, sold_net = _decimal(net), _decimal(sold_net)
        amount = amount_in_eur(net, currency)
        if amount is None and net:
            return None
        day = day if isinstance(day, date) else date.fromisoformat(day)
        daily.append((day, amount or Decimal(0)))
        # The bound is kept in euro only, where no conversion rounds.
        in_euro = in_euro and currency == "EUR"
        sold[day.year] += sold_net
        if undated and day.year < on.year:
            movable += sold_net
    bound = sold[on.year] + movable if in_euro and sold[on.year - 1] <= THRESHOLD_EUR else None
    return sorted(daily, key=lambda day_amount: day_amount[0]), bound


# Stand-ins for the seller and the two dates while the queries compile (no seller has a negative
# id; no document or order is dated in year 1).
_SELLER, _SINCE, _ON = "seller", "since", "on"
_STAND_INS: dict[str, Any] = {_SELLER: -731_029_647, _SINCE: date(1, 1, 1), _ON: date(1, 1, 2)}


@functools.cache
def _compiled(vendor: str, tzname: str) -> tuple[str, tuple[Any, ...], dict[int, str]]:
    """The SQL of the two aggregates as one statement (one snapshot: an invoice written between
    two would be missed by both, or counted by both) with its parameters, and which of them are
    the seller and the dates, compiled once per database and time zone: Django builds and
    compiles a queryset anew each time it runs, about 4 ms of CPU for these two, against 0.4 ms
    to run them so (benchmarks/README.md, load.py)."""
    stand_ins = {
        _SELLER: _STAND_INS[_SELLER],
        _SINCE: connection.ops.adapt_datefield_value(_STAND_INS[_SINCE]),
        _ON: connection.ops.adapt_datefield_value(_STAND_INS[_ON]),
    }
    parts: list[str] = []
    all_params: list[Any] = []
    all_slots: dict[int, str] = {}
    for queryset in _daily_totals_querysets(
        _STAND_INS[_SELLER], _STAND_INS[_SINCE], _STAND_INS[_ON]
    ):
        sql, params = queryset.query.sql_with_params()
        slots = {
            index: name
            for index, param in enumerate(params)
            for name, stand_in in stand_ins.items()
            if type(param) is type(stand_in) and param == stand_in
        }
        if not {_SELLER, _ON} <= set(slots.values()):
            raise RuntimeError(f"a stand-in is missing from the compiled query: {sql}")
        all_slots.update({len(all_params) + index: name for index, name in slots.items()})
        # Django's compiled SQL; the values stay parameters.
        parts.append(f"SELECT * FROM ({sql}) AS part{len(parts)}")  # noqa: S608
        all_params.extend(params)
    if set(all_slots.values()) != set(stand_ins):
        raise RuntimeError("the first day is missing from the compiled queries")
    return " UNION ALL ".join(parts), tuple(all_params), all_slots


def _daily_totals_querysets(
    seller_id: int, since: date, on: date
) -> tuple[QuerySet[Document, dict[str, Any]], QuerySet[Order, dict[str, Any]]]:
    """Per day and currency up to `on`, and whether still undated (a document not issued yet, an
    order not invoiced yet): the net of the seller's intra-EU B2C documents that may exist
    (credit notes negative) and of its orders not invoiced yet, and what raised the total
    (every document line as signed, at zero or above, whatever became of its document, as a
    failed one may be retried or found; orders at their full quantity). Deemed supplies left
    out. Documents from `since` on; orders not invoiced yet from any year, as their invoice is
    dated when written."""
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
    # Per line; a document without lines (a dashboard credit note) by its total.
    net = Case(When(lines__isnull=True, then=F("total_net")), default=F("lines__total_net"))
    signed_net = Case(
        When(kind=DocumentKind.CREDIT_NOTE, then=-net), default=net, output_field=money
    )
    counted_net = Case(When(_MAY_EXIST, then=signed_net), default=Value(0), output_field=money)
    # What raised the total: every line of an invoice, a credit note only if negative.
    sold_net = Greatest(signed_net, Value(0), output_field=money)
    documents = (
        Document.sales.filter(seller_id=seller_id, transaction_type=TransactionType.INTRA_EU_B2C)
        .filter(Q(order__isnull=True) | Q(order__deemed_supply=""))
        .annotate(
            day=Coalesce("date", TruncDate("created_at")),
            undated=ExpressionWrapper(Q(date__isnull=True), output_field=BooleanField()),
        )
        .filter(day__gte=since, day__lte=on)
        .values("day", "currency", "undated")
        .annotate(net=Sum(counted_net), sold=Sum(sold_net))
    )
    invoiced = Document.sales.filter(_MAY_EXIST, order=OuterRef("pk"), kind=DocumentKind.INVOICE)
    remaining_net = (F("lines__quantity") - F("lines__refunded_quantity")) * F("lines__unit_price")
    not_invoiced = (
        Order.objects.filter(
            seller_id=seller_id, transaction_type=TransactionType.INTRA_EU_B2C, deemed_supply=""
        )
        .exclude(status=OrderStatus.CANCELLED)
        .exclude(Exists(invoiced))
        .annotate(day=TruncDate("placed_at"), undated=Value(True, output_field=BooleanField()))
        .filter(day__lte=on)
        .values("day", "currency", "undated")
        .annotate(
            net=Sum(remaining_net, output_field=money),
            sold=Sum(F("lines__quantity") * F("lines__unit_price"), output_field=money),
        )
    )
    return documents, not_invoiced


def _decimal(value: Decimal | float | int | str | None) -> Decimal:
    """A sum as the database returns it (PostgreSQL: a Decimal; SQLite: a number, or None
    for a day whose rows have no lines), to the cent."""
    if value is None:
        return Decimal(0)
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _crossing_days(daily: list[tuple[date, Decimal]]) -> dict[int, date]:
    """Per calendar year, the first day its running total went over the threshold."""
    running: defaultdict[int, Decimal] = defaultdict(Decimal)
    crossed: dict[int, date] = {}
    for day, amount in daily:
        running[day.year] += amount
        if running[day.year] > THRESHOLD_EUR and day.year not in crossed:
            crossed[day.year] = day
    return crossed
