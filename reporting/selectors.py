"""Reads for reports across sellers, on the local mirror of issued documents.

Only `issued` rows are documents, and a voided one no longer counts. Amounts are stored
positive; a credit note's amounts are what it credits, so every total here is invoices minus
credit notes ("signed"), per currency (never summed across currencies). Credit notes count in
the period of their own issue date.

The export selectors format every cell in SQL (ISO dates, plain decimals, signed amounts, text)
and return plain tuples of `str | None`: the Python side then does no per-value work, which is
what keeps a million-row export within reach of PostgreSQL's own COPY.

The report selectors return amounts quantised to their currency's minor unit (`quantize`): SQLite
adds decimals up as floats (263.100000000000), and a yen total has no cents on either database.
"""

import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import reduce
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.models import User
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Combinable, Func
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Replace
from django.db.models.lookups import Regex
from django.db.models.sql.compiler import SQLCompiler

from invoicing.models import (
    Document,
    DocumentKind,
    DocumentLine,
    DocumentPurpose,
    DocumentState,
    DocumentTax,
)
from marketplace.pricing import quantize
from reporting.models import ExportJob, SellerMonthRollup
from sellers.models import Seller

EXPORT_CHUNK_SIZE = 2000
ZERO = Decimal("0.00")
_MONEY: DecimalField[Decimal | None, Decimal] = DecimalField(max_digits=16, decimal_places=2)
# Free text typed by sellers and buyers starting with one of these gets a leading "'", so that
# spreadsheet apps never run it as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_REGEX = "^[=+@\t\r-]"


@dataclass(frozen=True)
class ReportFilters:
    """What a report or an export covers; None means "no filter" for that field."""

    seller_id: int | None = None
    date_from: date | None = None  # inclusive, on the document date
    date_to: date | None = None  # inclusive, on the document date
    seller_country: str | None = None  # ISO 3166-1 alpha-2, the snapshot on the document
    buyer_country: str | None = None  # ISO 3166-1 alpha-2, the snapshot on the document
    currency: str | None = None  # ISO 4217
    kind: str | None = None  # a DocumentKind value


def issued_documents(filters: ReportFilters, *, prefix: str = "") -> Q:
    """The condition selecting issued, not voided documents under `filters` (`prefix` for a
    related model)."""
    conditions: dict[str, Any] = {
        f"{prefix}state": DocumentState.ISSUED,
        f"{prefix}voided_at__isnull": True,
        # Sellers' sales; the operator's commission documents are reported on their own.
        f"{prefix}purpose": DocumentPurpose.SALE,
    }
    if filters.seller_id is not None:
        conditions[f"{prefix}seller_id"] = filters.seller_id
    if filters.date_from is not None:
        conditions[f"{prefix}date__gte"] = filters.date_from
    if filters.date_to is not None:
        conditions[f"{prefix}date__lte"] = filters.date_to
    if filters.seller_country is not None:
        conditions[f"{prefix}seller_country"] = filters.seller_country
    if filters.buyer_country is not None:
        conditions[f"{prefix}buyer_country"] = filters.buyer_country
    if filters.currency is not None:
        conditions[f"{prefix}currency"] = filters.currency
    if filters.kind is not None:
        conditions[f"{prefix}kind"] = filters.kind
    return Q(**conditions)


def _signed(field: str, *, kind: str = "kind") -> Case:
    """The amount with a credit note's sign: invoices add, credit notes subtract."""
    return Case(
        When(**{kind: DocumentKind.CREDIT_NOTE}, then=-F(field)),
        default=F(field),
        output_field=_MONEY,
    )


def money_total(field: str, *, kind: str = "kind", only: str | None = None) -> Coalesce:
    """The sum of `field`: signed (credit notes subtract), or of the `only` kind as stored."""
    amount = F(field) if only else _signed(field, kind=kind)
    condition = Q(**{kind: only}) if only else None
    return Coalesce(Sum(amount, filter=condition), Value(ZERO), output_field=_MONEY)


# SQL-side cell formatting for the streamed exports.


class FirstOfMonth(Func):
    """The first day of the date's month: `date_trunc` on a plain timestamp, without the per-row
    time zone conversion of TruncMonth (which goes through timestamptz)."""

    template = "(DATE_TRUNC('month', %(expressions)s::timestamp))::date"
    output_field = DateField()

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, Any]:
        return self.as_sql(
            compiler,
            connection,
            template="DATE(%(expressions)s, 'start of month')",
            **extra_context,
        )


def _text(expression: Combinable | str) -> Cast:
    return Cast(F(expression) if isinstance(expression, str) else expression, TextField())


class _IsoDate(Func):
    """A date as YYYY-MM-DD text; SQLite already stores dates that way."""

    function = "to_char"
    output_field = TextField()

    def __init__(self, field: str) -> None:
        super().__init__(F(field), Value("YYYY-MM-DD"))

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, Any]:
        # date() rather than strftime('%Y-...'): a literal % breaks DEBUG's query logging.
        date_only = Func(self.get_source_expressions()[0], function="date")
        return date_only.as_sql(compiler, connection, **extra_context)


class _Amount(Func):
    """A numeric(…, 2) amount as text with two decimals: PostgreSQL's cast already gives them;
    SQLite keeps numbers as floats, so it prints them."""

    function = ""
    output_field = TextField()
    template = "CAST(%(expressions)s AS text)"

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, Any]:
        # The format is a parameter: a literal % in the SQL breaks DEBUG's query logging.
        formatted = Func(Value("%.2f"), *self.get_source_expressions(), function="printf")
        return formatted.as_sql(compiler, connection, **extra_context)


class _Flag(Func):
    """A boolean as `true` / `false`, as PostgreSQL's cast spells it."""

    function = ""
    output_field = TextField()
    template = "CAST(%(expressions)s AS text)"

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, Any]:
        return self.as_sql(compiler, connection,
                           template="CASE WHEN %(expressions)s THEN 'true' ELSE 'false' END",
                           **extra_context)  # fmt: skip


def _iso_date(field: str) -> Func:
    return _IsoDate(field)


def _amount(expression: Combinable | str) -> Func:
    return _Amount(F(expression) if isinstance(expression, str) else expression)


def _free_text(field: str) -> Case:
    return Case(
        When(**{f"{field}__regex": _FORMULA_REGEX}, then=Concat(Value("'"), F(field))),
        default=F(field),
        output_field=TextField(),
    )


def _one_line_text(expression: Combinable) -> NullIf:
    """Free text for the documents layout: line breaks become spaces, then formula-neutralised,
    blank as no value. So no cell holds a line break (the COPY stream's LFs are its row ends)
    nor an empty string (which COPY would quote as `""`, csv.writer not)."""
    flat = Replace(Replace(expression, Value("\r"), Value(" ")), Value("\n"), Value(" "))
    neutral = Case(
        When(Regex(flat, _FORMULA_REGEX), then=Concat(Value("'"), flat)),
        default=flat,
        output_field=TextField(),
    )
    return NullIf(neutral, Value(""), output_field=TextField())


def _code(field: str) -> NullIf:
    """A code or id kept by the system (never a line break); blank as no value."""
    return NullIf(F(field), Value(""))


def _formatted(queryset: QuerySet[Any], columns: dict[str, Any]) -> QuerySet[Any]:
    """The queryset's rows as tuples of the formatted columns, in the columns' order."""
    aliases = {f"c{index}": expression for index, expression in enumerate(columns.values())}
    rows: QuerySet[Any] = queryset.annotate(**aliases).values_list(*aliases)
    return rows


def _stream(rows: QuerySet[Any]) -> Iterator[tuple[str | None, ...]]:
    """Through one server-side cursor, in chunks: constant memory whatever the row count.

    The caller must consume it before the request (and its connection) ends.
    """
    stream: Iterator[tuple[str | None, ...]] = rows.iterator(chunk_size=EXPORT_CHUNK_SIZE)
    return stream


# The issue-2 invoice export (layout "invoices" v1): issued invoices only, unsigned.
INVOICE_EXPORT_COLUMNS: dict[str, Any] = {
    "seller_id": _text("seller_id"),
    "seller_name": _free_text("seller__business_name"),
    "entity_id": F("entity_id"),
    "invoice_number": F("number"),
    "invoice_date": _iso_date("date"),
    "order_id": _text("order_id"),
    "checkout_id": _text("order__checkout_id"),
    "buyer_name": _free_text("order__buyer_name"),
    "buyer_country": F("order__billing_country"),
    "currency": F("currency"),
    "total_net": _amount("total_net"),
    "total_tax": _amount("total_tax"),
    "total_gross": _amount("total_gross"),
    "remote_id": F("remote_id"),
}

# Layout "documents" v3 (v2 plus e_invoice_format and e_invoice_delivered): every text cell is
# a code (_code) or one-line free text (_one_line_text), so PostgreSQL's COPY writes the same
# bytes as csv.writer (exports.py).
DOCUMENT_EXPORT_COLUMNS: dict[str, Any] = {
    "document_id": _text("id"),
    "kind": _code("kind"),
    "document_number": _code("number"),
    "document_date": _iso_date("date"),
    "credited_document_number": _code("credited_invoice__number"),
    "seller_id": _text("seller_id"),
    "seller_name": _one_line_text(F("seller__business_name")),
    "seller_country": _code("seller_country"),
    "entity_id": _code("entity_id"),
    "order_id": _text("order_id"),
    "checkout_id": _text("order__checkout_id"),
    # Whom the document bills: the buyer's company when the order names one, as sent to
    # Space Invoices (invoicing.services.document_payload).
    "buyer_name": _one_line_text(
        Coalesce(NullIf(F("order__buyer_company"), Value("")), F("order__buyer_name"))
    ),
    "buyer_company": _one_line_text(F("order__buyer_company")),
    # The VAT number the document states (its tax treatment's; blank for an end consumer).
    "buyer_vat_number": _one_line_text(F("customer_tax_number")),
    "buyer_country": _code("buyer_country"),
    "transaction_type": _code("transaction_type"),
    "reverse_charge": _Flag(F("reverse_charge")),
    "currency": _code("currency"),
    "total_net": _amount(_signed("total_net")),
    "total_tax": _amount(_signed("total_tax")),
    "total_gross": _amount(_signed("total_gross")),
    "remote_id": _code("remote_id"),
    "credited_remote_id": _code("credited_invoice__remote_id"),
    # The e-invoice the document was issued as (ubl, xrechnung, zugferd; blank: none was
    # mandated) and whether it reached the buyer (Space Invoices sent the document: sent_at).
    "e_invoice_format": _code("e_invoice_format"),
    "e_invoice_delivered": Case(
        When(e_invoice_format="", then=Value(None)),
        When(sent_at__isnull=False, then=Value("true")),
        default=Value("false"),
        output_field=TextField(),
    ),
}

LINE_EXPORT_COLUMNS: dict[str, Any] = {
    "document_id": _text("document_id"),
    "kind": F("document__kind"),
    "document_number": F("document__number"),
    "document_date": _iso_date("document__date"),
    "seller_id": _text("document__seller_id"),
    "entity_id": F("document__entity_id"),
    "order_id": _text("document__order_id"),
    "checkout_id": _text("document__order__checkout_id"),
    "remote_id": F("document__remote_id"),
    "line_id": _text("id"),
    "order_line_id": _text("order_line_id"),
    "name": _free_text("name"),
    "quantity": _text("quantity"),
    "unit_price": _amount("unit_price"),
    "tax_rate": _amount("tax_rate"),
    "currency": F("document__currency"),
    "total_net": _amount(_signed("total_net", kind="document__kind")),
}


def invoice_export_rows(*, filters: ReportFilters) -> Iterator[tuple[str | None, ...]]:
    """Issued invoices (not credit notes), by invoice date, seller and number; formatted cells."""
    invoices = Document.objects.filter(issued_documents(filters), kind=DocumentKind.INVOICE)
    ordered = invoices.order_by("date", "seller_id", "number", "id")
    return _stream(_formatted(ordered, INVOICE_EXPORT_COLUMNS))


def document_export_queryset(*, filters: ReportFilters) -> QuerySet[Any]:
    """Issued invoices and credit notes (signed), by date, seller and number; formatted cells."""
    documents = Document.objects.filter(issued_documents(filters))
    ordered = documents.order_by("date", "seller_id", "number", "id")
    return _formatted(ordered, DOCUMENT_EXPORT_COLUMNS)


def document_export_rows(*, filters: ReportFilters) -> Iterator[tuple[str | None, ...]]:
    return _stream(document_export_queryset(filters=filters))


def line_export_rows(*, filters: ReportFilters) -> Iterator[tuple[str | None, ...]]:
    """The lines of the issued documents (signed), in document order; formatted cells."""
    lines = DocumentLine.objects.filter(issued_documents(filters, prefix="document__"))
    ordered = lines.order_by(
        "document__date", "document__seller_id", "document__number", "document_id", "id"
    )
    return _stream(_formatted(ordered, LINE_EXPORT_COLUMNS))


def document_count(*, filters: ReportFilters) -> int:
    return Document.objects.filter(issued_documents(filters)).count()


def invoice_count(*, filters: ReportFilters) -> int:
    return Document.objects.filter(issued_documents(filters), kind=DocumentKind.INVOICE).count()


def line_count(*, filters: ReportFilters) -> int:
    return DocumentLine.objects.filter(issued_documents(filters, prefix="document__")).count()


# Reports.


class Totals(NamedTuple):
    documents: int
    net: Decimal
    tax: Decimal
    gross: Decimal


class StatementLine(NamedTuple):
    """One currency of a seller's statement; net/tax/gross are invoices minus credit notes."""

    currency: str
    invoices: Totals
    credit_notes: Totals
    net: Decimal
    tax: Decimal
    gross: Decimal


def seller_statement(*, filters: ReportFilters) -> list[StatementLine]:
    """A seller's period, by currency: invoices, credit notes and the balance (one query)."""
    rows = (
        Document.objects.filter(issued_documents(filters))
        .values("currency")
        .annotate(
            invoice_count=Count("id", filter=Q(kind=DocumentKind.INVOICE)),
            invoice_net=money_total("total_net", only=DocumentKind.INVOICE),
            invoice_tax=money_total("total_tax", only=DocumentKind.INVOICE),
            invoice_gross=money_total("total_gross", only=DocumentKind.INVOICE),
            credit_count=Count("id", filter=Q(kind=DocumentKind.CREDIT_NOTE)),
            credit_net=money_total("total_net", only=DocumentKind.CREDIT_NOTE),
            credit_tax=money_total("total_tax", only=DocumentKind.CREDIT_NOTE),
            credit_gross=money_total("total_gross", only=DocumentKind.CREDIT_NOTE),
        )
        .order_by("currency")
    )
    return [_statement_line({**row, **_quantised(row)}) for row in rows]


def _quantised(row: dict[str, Any]) -> dict[str, Decimal]:
    """The row's Decimal values rounded to the minor unit of its `currency`."""
    currency = row["currency"]
    return {
        name: quantize(value, currency) for name, value in row.items() if isinstance(value, Decimal)
    }


def _statement_line(row: dict[str, Any]) -> StatementLine:
    return StatementLine(
        currency=row["currency"],
        invoices=Totals(
            row["invoice_count"], row["invoice_net"], row["invoice_tax"], row["invoice_gross"]
        ),
        credit_notes=Totals(
            row["credit_count"], row["credit_net"], row["credit_tax"], row["credit_gross"]
        ),
        net=row["invoice_net"] - row["credit_net"],
        tax=row["invoice_tax"] - row["credit_tax"],
        gross=row["invoice_gross"] - row["credit_gross"],
    )


class StatementDocument(NamedTuple):
    """One document of a statement, its amounts signed (a credit note's are negative)."""

    date: date
    kind: str
    kind_label: str
    number: str
    credited_number: str | None
    order_id: int
    checkout_id: int
    currency: str
    signed_net: Decimal
    signed_tax: Decimal
    signed_gross: Decimal
    remote_id: str | None


def statement_documents(
    *, filters: ReportFilters, limit: int | None = None
) -> list[StatementDocument]:
    """The documents behind a statement (the first `limit`), in export order."""
    rows = (
        Document.objects.filter(issued_documents(filters))
        .annotate(
            signed_net=_signed("total_net"),
            signed_tax=_signed("total_tax"),
            signed_gross=_signed("total_gross"),
        )
        .order_by("date", "seller_id", "number", "id")
        .values(
            "date",
            "kind",
            "number",
            "credited_invoice__number",
            "order_id",
            "order__checkout_id",
            "currency",
            "signed_net",
            "signed_tax",
            "signed_gross",
            "remote_id",
        )
    )
    return [
        StatementDocument(
            date=row["date"],
            kind=row["kind"],
            kind_label=str(DocumentKind(row["kind"]).label),
            number=row["number"],
            credited_number=row["credited_invoice__number"],
            order_id=row["order_id"],
            checkout_id=row["order__checkout_id"],
            currency=row["currency"],
            remote_id=row["remote_id"],
            **_quantised(row),
        )
        for row in (rows[:limit] if limit is not None else rows)
    ]


def _rounded(currency: str, *amounts: Decimal) -> list[Decimal]:
    return [quantize(amount, currency) for amount in amounts]


class SellerMonth(NamedTuple):
    """One cell of the sellers x months summary: one seller, month and currency."""

    seller_id: int
    month: date
    currency: str
    documents: int
    net: Decimal
    tax: Decimal
    gross: Decimal


# The sellers x months summary adds up whole months from SellerMonthRollup (a row per seller,
# month and currency) and only the rest of the period from the documents: a part-month at
# either end, or everything when there is no period or a filter the rollup does not keep
# (seller or buyer country).


@dataclass(frozen=True)
class _SummarySources:
    months: tuple[date, date] | None  # [first day, first day after): whole months in the rollup
    documents: tuple[ReportFilters, ...]  # the rest of the period, read from the documents


def _month_after(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _summary_sources(filters: ReportFilters) -> _SummarySources:
    start, end = filters.date_from, filters.date_to
    if (
        start is None
        or end is None
        or filters.seller_country is not None
        or filters.buyer_country is not None
    ):
        return _SummarySources(months=None, documents=(filters,))
    first = start if start.day == 1 else _month_after(start)
    after_end = end + timedelta(days=1)
    stop = after_end if after_end.day == 1 else end.replace(day=1)
    if first >= stop:
        return _SummarySources(months=None, documents=(filters,))
    parts = []
    if start < first:
        parts.append(replace(filters, date_to=first - timedelta(days=1)))
    if stop <= end:
        parts.append(replace(filters, date_from=stop))
    return _SummarySources(months=(first, stop), documents=tuple(parts))


def _rollup_totals(kind: str | None) -> dict[str, Combinable]:
    """A rollup row's document count and signed net, tax and gross, of one kind or of both."""
    if kind == DocumentKind.INVOICE:
        return {
            "documents": F("documents") - F("credit_notes"),
            "net": F("net") + F("credit_net"),
            "tax": F("tax") + F("credit_tax"),
            "gross": F("gross") + F("credit_gross"),
        }
    if kind == DocumentKind.CREDIT_NOTE:
        return {
            "documents": F("credit_notes"),
            "net": -F("credit_net"),
            "tax": -F("credit_tax"),
            "gross": -F("credit_gross"),
        }
    return {"documents": F("documents"), "net": F("net"), "tax": F("tax"), "gross": F("gross")}


def _rollup_rows(filters: ReportFilters, *, first: date, stop: date) -> QuerySet[SellerMonthRollup]:
    rows = SellerMonthRollup.objects.filter(month__gte=first, month__lt=stop)
    if filters.seller_id is not None:
        rows = rows.filter(seller_id=filters.seller_id)
    if filters.currency is not None:
        rows = rows.filter(currency=filters.currency)
    if filters.kind == DocumentKind.INVOICE:
        rows = rows.filter(documents__gt=F("credit_notes"))
    if filters.kind == DocumentKind.CREDIT_NOTE:
        rows = rows.filter(credit_notes__gt=0)
    return rows


def _summary_rows(
    filters: ReportFilters, group_by: tuple[str, ...], seller_ids: Sequence[int] | None = None
) -> QuerySet[Any]:
    """Rows of `group_by` (seller_id, month, currency, or month, currency), then the document
    count and the signed net, tax and gross, ordered by `group_by`: one query of both sources.
    """
    sources = _summary_sources(filters)
    parts: list[QuerySet[Any]] = []
    if sources.months is not None:
        first, stop = sources.months
        rollup = _rollup_rows(filters, first=first, stop=stop)
        if seller_ids is not None:
            rollup = rollup.filter(seller_id__in=seller_ids)
        # Annotations are named apart from the rollup's fields, as Django requires.
        totals = _rollup_totals(filters.kind)
        if group_by != ("seller_id", "month", "currency"):
            sums = {f"{name}_sum": Sum(total) for name, total in totals.items()}
            parts.append(rollup.values_list(*group_by).annotate(**sums))
        elif filters.kind is None:  # the rollup's rows are the cells, its columns as stored
            parts.append(rollup.values_list(*group_by, "documents", "net", "tax", "gross"))
        else:
            cells = {f"{name}_of_kind": total for name, total in totals.items()}
            parts.append(rollup.annotate(**cells).values_list(*group_by, *cells))
    for part in sources.documents:
        documents = Document.objects.filter(issued_documents(part))
        if seller_ids is not None:
            documents = documents.filter(seller_id__in=seller_ids)
        parts.append(
            documents.annotate(month=FirstOfMonth("date"))
            .values_list(*group_by)
            .annotate(
                documents=Count("id"),
                net=money_total("total_net"),
                tax=money_total("total_tax"),
                gross=money_total("total_gross"),
            )
        )
    first_part, *other_parts = parts
    if other_parts:
        # Without the models' default ordering: SQLite refuses an ORDER BY inside a UNION.
        unordered = [part.order_by() for part in other_parts]
        return first_part.order_by().union(*unordered, all=True).order_by(*group_by)
    return first_part.order_by(*group_by)


def seller_month_summary(
    *, filters: ReportFilters, seller_ids: Sequence[int] | None = None
) -> list[SellerMonth]:
    """Signed totals per seller, month and currency (whole months from the rollup)."""
    rows = _summary_rows(filters, ("seller_id", "month", "currency"), seller_ids)
    return [
        SellerMonth(seller_id, month, currency, documents, *_rounded(currency, net, tax, gross))
        for seller_id, month, currency, documents, net, tax, gross in rows
    ]


class MonthTotal(NamedTuple):
    month: date
    currency: str
    documents: int
    net: Decimal
    tax: Decimal
    gross: Decimal


def month_totals(*, filters: ReportFilters) -> list[MonthTotal]:
    """Signed totals per month and currency across all sellers (the summary's totals row)."""
    return [
        MonthTotal(month, currency, documents, *_rounded(currency, net, tax, gross))
        for month, currency, documents, net, tax, gross in _summary_rows(
            filters, ("month", "currency")
        )
    ]


def sellers_for_summary(*, filters: ReportFilters) -> QuerySet[Seller]:
    """The sellers that issued documents under `filters`, by name (the summary's rows)."""
    sources = _summary_sources(filters)
    active = [
        Q(pk__in=Document.objects.filter(issued_documents(part)).values("seller_id"))
        for part in sources.documents
    ]
    if sources.months is not None:
        first, stop = sources.months
        active.append(Q(pk__in=_rollup_rows(filters, first=first, stop=stop).values("seller_id")))
    return Seller.objects.filter(reduce(operator.or_, active)).order_by("business_name", "id")


class VatRow(NamedTuple):
    """Tax by seller country, buyer country, transaction type, rate and currency (signed)."""

    seller_country: str
    buyer_country: str
    transaction_type: str
    rate: Decimal
    currency: str
    documents: int
    base: Decimal
    tax: Decimal


def vat_summary(*, filters: ReportFilters) -> list[VatRow]:
    """The documents' tax summaries added up by rate: the basis of an OSS return.

    Credit notes subtract in the period of their own issue date.
    """
    kind = "document__kind"
    rows = (
        DocumentTax.objects.filter(issued_documents(filters, prefix="document__"))
        .values_list(
            "document__seller_country",
            "document__buyer_country",
            "document__transaction_type",
            "rate",
            "document__currency",
        )
        .annotate(
            documents=Count("document_id", distinct=True),
            base=money_total("base", kind=kind),
            tax=money_total("amount", kind=kind),
        )
        .order_by(
            "document__seller_country",
            "document__buyer_country",
            "document__transaction_type",
            "rate",
            "document__currency",
        )
    )
    return [
        VatRow(seller, buyer, kind, rate, currency, documents, *_rounded(currency, base, tax))
        for seller, buyer, kind, rate, currency, documents, base, tax in rows
    ]


class SellerHealth(NamedTuple):
    """Issuance of one seller's documents created in the period."""

    seller_id: int
    seller_name: str
    issued: int
    pending: int
    failed: int
    oldest_pending_at: datetime | None
    average_to_issue: timedelta | None  # invoices: from the invoice point to issued
    longest_to_issue: timedelta | None


def _invoice_point() -> Case:
    """When the order reached its invoice point (the seller's trigger, else the marketplace's).

    Needs the `trigger` annotation of `_TRIGGER`.
    """
    return Case(
        When(trigger="placed", then=F("order__placed_at")),
        When(trigger="paid", then=F("order__paid_at")),
        When(trigger="fulfilled", then=F("order__fulfilled_at")),
        output_field=DateTimeField(),
    )


def issuance_health(*, filters: ReportFilters) -> list[SellerHealth]:
    """Per seller, for documents created in the period: issued, pending and failed counts, the
    oldest pending, and the time from each invoice's point to its issue (average and longest).

    The worst sellers first (most failed, then most pending).
    """
    documents = Document.objects.all()
    if filters.seller_id is not None:
        documents = documents.filter(seller_id=filters.seller_id)
    if filters.date_from is not None:
        documents = documents.filter(created_at__date__gte=filters.date_from)
    if filters.date_to is not None:
        documents = documents.filter(created_at__date__lte=filters.date_to)
    if filters.seller_country is not None:
        documents = documents.filter(seller__country=filters.seller_country)
    if filters.kind is not None:
        documents = documents.filter(kind=filters.kind)
    trigger = Coalesce(
        NullIf(F("seller__invoice_trigger"), Value("")),
        Value(settings.INVOICE_TRIGGER),
        output_field=CharField(),
    )
    to_issue = ExpressionWrapper(F("issued_at") - F("point"), output_field=DurationField())
    timed = Q(kind=DocumentKind.INVOICE, state=DocumentState.ISSUED, point__isnull=False)
    rows = (
        documents.annotate(trigger=trigger)
        .annotate(point=_invoice_point())
        .values_list("seller_id", "seller__business_name")
        .annotate(
            issued=Count("id", filter=Q(state=DocumentState.ISSUED)),
            pending=Count("id", filter=Q(state=DocumentState.PENDING)),
            failed=Count("id", filter=Q(state=DocumentState.FAILED)),
            oldest_pending_at=Min("created_at", filter=Q(state=DocumentState.PENDING)),
            average_to_issue=Avg(to_issue, filter=timed),
            longest_to_issue=Max(to_issue, filter=timed),
        )
        .order_by("-failed", "-pending", "seller__business_name", "seller_id")
    )
    return [SellerHealth(*row) for row in rows]


def export_jobs_for_operator(*, user: User) -> QuerySet[ExportJob]:
    """An operator's own export jobs (not seller users' jobs)."""
    return ExportJob.objects.filter(requested_by=user, seller__isnull=True)


def export_jobs_for_seller(*, seller: Seller) -> QuerySet[ExportJob]:
    """A seller's export jobs, whichever of its users asked for them."""
    return ExportJob.objects.filter(seller=seller)


def sellers_matching(*, term: str) -> QuerySet[Seller]:
    """The seller picker's search, ordered by name: a part of the name, tax number or entity
    id, or the id; every seller whatever its state (a closed seller's documents still count)."""
    term = term.strip()[:100]
    found = Q(business_name__icontains=term) | Q(tax_number__icontains=term)
    found |= Q(entity_id__icontains=term)
    if term.isascii() and term.isdigit() and len(term) <= 18:
        found |= Q(pk=int(term))
    return Seller.objects.filter(found).order_by("business_name", "id")


# The operator's commission documents (invoicing.commission_invoices): its revenue, kept apart
# from the sellers' sales above (issued_documents selects sales only).


@dataclass(frozen=True)
class CommissionRevenue:
    currency: str
    net: Decimal
    tax: Decimal
    gross: Decimal


def _commission_documents(filters: ReportFilters) -> QuerySet[Document]:
    documents = Document.objects.filter(
        purpose=DocumentPurpose.COMMISSION, state=DocumentState.ISSUED, voided_at__isnull=True
    )
    if filters.seller_id is not None:
        documents = documents.filter(seller_id=filters.seller_id)
    if filters.date_from is not None:
        documents = documents.filter(date__gte=filters.date_from)
    if filters.date_to is not None:
        documents = documents.filter(date__lte=filters.date_to)
    if filters.currency is not None:
        documents = documents.filter(currency=filters.currency)
    if filters.kind is not None:
        documents = documents.filter(kind=filters.kind)
    return documents


def commission_revenue(*, filters: ReportFilters) -> list[CommissionRevenue]:
    """The operator's commission by currency: invoices less credit notes, dated in the period."""
    rows = (
        _commission_documents(filters)
        .values("currency")
        .annotate(
            net=money_total("total_net"),
            tax=money_total("total_tax"),
            gross=money_total("total_gross"),
        )
        .order_by("currency")
    )
    return [CommissionRevenue(r["currency"], r["net"], r["tax"], r["gross"]) for r in rows]


COMMISSION_EXPORT_COLUMNS = (
    "seller_id",
    "seller_name",
    "number",
    "kind",
    "credited_number",
    "period",
    "date",
    "currency",
    "transaction_type",
    "net",
    "tax",
    "gross",
)


def commission_export_rows(*, filters: ReportFilters) -> list[tuple[Any, ...]]:
    documents = (
        _commission_documents(filters)
        .select_related("seller", "credited_invoice")
        .order_by("date", "pk")
    )
    return [
        (
            d.seller_id,
            d.seller.business_name,
            d.number,
            d.kind,
            d.credited_invoice.number if d.credited_invoice else "",
            d.period_start,
            d.date,
            d.currency,
            d.transaction_type,
            d.total_net,
            d.total_tax,
            d.total_gross,
        )
        for d in documents
    ]


def commission_count(*, filters: ReportFilters) -> int:
    return _commission_documents(filters).count()
