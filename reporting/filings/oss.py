"""The OSS return draft: one seller's Union One-Stop Shop return for one calendar quarter
(Articles 369a-369k of Council Directive 2006/112/EC), read from the local mirror of its documents.

Which documents: the seller's issued, not voided documents dated in the quarter whose recorded tax
treatment (decided once at checkout by marketplace.tax and kept on invoicing.Document) is a sale to
an end consumer in another member state taxed at that state's rate: transaction type
`intra_eu_b2c` with rate source `buyer_country`, no reverse charge. The member state of
consumption is the document's buyer country. A domestic sale, a reverse-charged B2B sale, an export
or a distance sale still taxed at the seller's own rate (under the threshold of
invoicing.distance_sales) belongs in the seller's domestic return, not here. A deemed-supplier
sale (Article 14a: its order's `deemed_supply` is set) is the marketplace operator's supply,
declared by the operator, never in the seller's return.

Figures: per member state and rate, the taxable amount and the VAT of the documents' tax
summaries (`DocumentTax`, as Space Invoices computed them), a credit note subtracting. A credit note
of an invoice dated in an earlier quarter is left out of the quarter's figures and listed as a
correction of that earlier quarter, per member state, as the return asks corrections to be made.

Euro: amounts in another currency are converted at the ECB reference rate of the last day of the
period, or of the next day the ECB published one (Article 369h(2)), from the rates operators keep
in admin (`reporting.ExchangeRate`); a correction at the rate of the quarter it corrects, as that
quarter's return converted it. Each group of one member state, rate, currency and period is
converted once and rounded to the cent (half up), then the groups are added. A document in a
currency with no rate is never guessed at: the draft lists it and is blocked (no CSV) until the
rate is entered.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.db.models import Case, DateField, Q, QuerySet, Value, When
from django.db.models.functions import TruncQuarter

from core.errors import ApplicationError
from invoicing.models import Document, DocumentKind, DocumentState, DocumentTax
from marketplace.tax import RateSource, TransactionType
from reporting.models import ExchangeRate
from reporting.selectors import money_total
from sellers.models import Seller

CSV_VERSION = 1
CSV_COLUMNS = (
    "seller_id",
    "section",
    "period",
    "member_state",
    "tax_rate",
    "taxable_amount_eur",
    "vat_eur",
)
# The Union scheme began on 1 July 2021: no earlier quarter has a return.
FIRST_YEAR = 2021
LAST_YEAR = 2100
# The ECB publishes no rate on weekends and TARGET holidays (at most four days in a row, at
# Easter): the next publication after a period's last day falls within this many days.
RATE_PUBLICATION_DAYS = 7
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int  # 1 to 4

    @classmethod
    def of(cls, day: date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        if self.number == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.number + 1, 1) - timedelta(days=1)

    def previous(self) -> "Quarter":
        return Quarter.of(self.first_day - timedelta(days=1))

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"


class OssSupply(NamedTuple):
    """The quarter's sales to consumers of one member state at one rate, in euro."""

    member_state: str
    rate: Decimal
    taxable: Decimal
    vat: Decimal


class OssCorrection(NamedTuple):
    """Credit notes of this quarter for sales of an earlier quarter, per member state (negative
    when they reduce what was declared)."""

    period: Quarter
    member_state: str
    taxable: Decimal
    vat: Decimal


class RateUsed(NamedTuple):
    currency: str
    period: Quarter
    rate_date: date
    units_per_eur: Decimal


class MissingRate(NamedTuple):
    """No rate for `currency` on `rate_date` (the last day of `period`) nor in the days after."""

    currency: str
    period: Quarter
    rate_date: date
    documents: list[str]  # their numbers


@dataclass(frozen=True)
class OssReturn:
    seller: Seller
    quarter: Quarter
    supplies: list[OssSupply]
    corrections: list[OssCorrection]
    rates: list[RateUsed]
    missing_rates: list[MissingRate]

    @property
    def blocked(self) -> bool:
        """Some documents could not be converted: the figures lack them."""
        return bool(self.missing_rates)

    @property
    def taxable_total(self) -> Decimal:
        return sum((supply.taxable for supply in self.supplies), ZERO)

    @property
    def vat_total(self) -> Decimal:
        return sum((supply.vat for supply in self.supplies), ZERO)

    @property
    def correction_vat_total(self) -> Decimal:
        return sum((correction.vat for correction in self.corrections), ZERO)


def oss_documents(*, seller: Seller, quarter: Quarter) -> QuerySet[Document]:
    """The seller's documents of the quarter that the OSS return declares (see the module)."""
    return Document.sales.filter(
        seller=seller,
        state=DocumentState.ISSUED,
        voided_at__isnull=True,
        date__gte=quarter.first_day,
        date__lte=quarter.last_day,
        transaction_type=TransactionType.INTRA_EU_B2C,
        rate_source=RateSource.BUYER_COUNTRY,
        reverse_charge=False,
        customer_is_end_consumer=True,
        # A deemed-supplier sale (Article 14a) is the operator's to declare, not the seller's.
        order__deemed_supply="",
    )


def _period(quarter: Quarter, prefix: str = "") -> Case:
    """The first day of the quarter a document is declared in: its own, or for a credit note of
    an earlier quarter's invoice that quarter's."""
    corrects_earlier = Q(
        **{
            f"{prefix}kind": DocumentKind.CREDIT_NOTE,
            f"{prefix}credited_invoice__date__lt": quarter.first_day,
        }
    )
    return Case(
        When(corrects_earlier, then=TruncQuarter(f"{prefix}credited_invoice__date")),
        default=Value(quarter.first_day),
        output_field=DateField(),
    )


class _Group(NamedTuple):
    period: Quarter
    member_state: str
    rate: Decimal
    currency: str
    taxable: Decimal
    vat: Decimal


def _groups(documents: QuerySet[Document], quarter: Quarter) -> list[_Group]:
    """The tax summaries added up per period, member state, rate and currency (signed)."""
    kind = "document__kind"
    rows = (
        DocumentTax.objects.filter(document__in=documents)
        .annotate(period=_period(quarter, "document__"))
        .values_list("period", "document__buyer_country", "rate", "document__currency")
        .annotate(taxable=money_total("base", kind=kind), vat=money_total("amount", kind=kind))
        .order_by("period", "document__buyer_country", "rate", "document__currency")
    )
    return [
        _Group(Quarter.of(period), member_state, rate, currency, taxable, vat)
        for period, member_state, rate, currency, taxable, vat in rows
    ]


def _rate(currency: str, period: Quarter) -> ExchangeRate | None:
    """The rate of the period's last day, or of the next publication after it."""
    day = period.last_day
    return (
        ExchangeRate.objects.filter(
            currency=currency,
            date__gte=day,
            date__lte=day + timedelta(days=RATE_PUBLICATION_DAYS),
        )
        .order_by("date")
        .first()
    )


def _to_eur(amount: Decimal, rate: ExchangeRate | None) -> Decimal:
    if rate is None:  # the euro
        return amount
    return (amount / rate.units_per_eur).quantize(CENT, rounding=ROUND_HALF_UP)


def oss_return(*, seller: Seller, quarter: Quarter) -> OssReturn:
    documents = oss_documents(seller=seller, quarter=quarter)
    groups = _groups(documents, quarter)
    needed = sorted({(g.currency, g.period) for g in groups if g.currency != "EUR"})
    found = {key: _rate(*key) for key in needed}
    missing = [key for key, rate in found.items() if rate is None]
    supplies: defaultdict[tuple[str, Decimal], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    corrections: defaultdict[tuple[Quarter, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for group in groups:
        if (group.currency, group.period) in missing:
            continue
        rate = found.get((group.currency, group.period))
        if group.period == quarter:
            figures = supplies[group.member_state, group.rate]
        else:
            figures = corrections[group.period, group.member_state]
        figures[0] += _to_eur(group.taxable, rate)
        figures[1] += _to_eur(group.vat, rate)
    return OssReturn(
        seller=seller,
        quarter=quarter,
        supplies=[OssSupply(*key, *figures) for key, figures in sorted(supplies.items())],
        corrections=[OssCorrection(*key, *figures) for key, figures in sorted(corrections.items())],
        rates=[
            RateUsed(currency, period, rate.date, rate.units_per_eur)
            for (currency, period), rate in found.items()
            if rate is not None
        ],
        missing_rates=_missing_rates(documents, quarter, missing),
    )


def _missing_rates(
    documents: QuerySet[Document], quarter: Quarter, missing: list[tuple[str, Quarter]]
) -> list[MissingRate]:
    """The documents of each currency and period without a rate, by number."""
    if not missing:
        return []
    numbers: defaultdict[tuple[str, Quarter], list[str]] = defaultdict(list)
    rows = (
        documents.filter(currency__in={currency for currency, _ in missing})
        .annotate(period=_period(quarter))
        .order_by("date", "number")
        .values_list("currency", "period", "number")
    )
    for currency, period, number in rows:
        numbers[currency, Quarter.of(period)].append(number)
    return [
        MissingRate(currency, period, period.last_day, numbers[currency, period])
        for currency, period in missing
    ]


# Input: the page's and the CSV's query parameters.


@dataclass(frozen=True)
class OssRequest:
    seller: Seller | None  # None for a seller user: its membership fixes the seller
    quarter: Quarter


def last_complete_quarter(today: date) -> Quarter:
    """The quarter a return is due for next: the one before today's."""
    return Quarter.of(today).previous()


def oss_request_parse(params: Mapping[str, str], *, operator: bool) -> OssRequest:
    """`year` and `quarter` (1-4), and for operators `seller` (its id); every error names the
    parameter. Any other parameter is refused, so a seller user cannot name a seller."""
    allowed = ("seller", "year", "quarter") if operator else ("year", "quarter")
    for name in params:
        if name not in allowed:
            raise ApplicationError(
                f"Unknown parameter {name[:40]!r}; use {', '.join(allowed)}.", field=name[:40]
            )
    for name in allowed:
        if not params.get(name, "").strip():
            raise ApplicationError(f"{name} is required.", field=name, code="required")
    year = _integer(params["year"], "year", FIRST_YEAR, LAST_YEAR)
    number = _integer(params["quarter"], "quarter", 1, 4)
    seller = None
    if operator:
        seller_id = _integer(params["seller"], "seller", 1, 10**18 - 1)
        seller = Seller.objects.filter(pk=seller_id).first()
        if seller is None:
            raise ApplicationError(f"There is no seller {seller_id}.", field="seller")
    return OssRequest(seller, Quarter(year, number))


def _integer(value: str, field: str, low: int, high: int) -> int:
    text = value.strip()
    # At most 18 digits: never a huge string for int().
    if text.isascii() and text.isdigit() and len(text) <= 18 and low <= int(text) <= high:
        return int(text)
    raise ApplicationError(
        f"Enter a whole number from {low} to {high} for {field}, not {value[:40]!r}.",
        field=field,
    )


# The CSV (layout version CSV_VERSION, reporting/README.md).


def _amount(value: Decimal) -> str:
    return format(value, "f")


def oss_csv_rows(draft: OssReturn) -> list[tuple[Any, ...]]:
    seller_id, quarter = draft.seller.pk, str(draft.quarter)
    supplies = [
        (
            seller_id,
            "supply",
            quarter,
            s.member_state,
            _amount(s.rate),
            _amount(s.taxable),
            _amount(s.vat),
        )
        for s in draft.supplies
    ]
    corrections = [
        (
            seller_id,
            "correction",
            str(c.period),
            c.member_state,
            "",
            _amount(c.taxable),
            _amount(c.vat),
        )
        for c in draft.corrections
    ]
    return supplies + corrections


def oss_csv_text(draft: OssReturn) -> str:
    """RFC 4180 text (comma, CRLF) with a header row; the caller refuses a blocked draft."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(oss_csv_rows(draft))
    return buffer.getvalue()
