"""The CSV exports: fixed, versioned column layouts shared by admin, API, command and jobs.

Change a layout's columns only together with its version and reporting/README.md.
Format: UTF-8, RFC 4180 (comma, `"` quoting when needed, CRLF), a header row; the Excel variant
(CsvFormat) starts with a UTF-8 BOM and may separate with `;`.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any, Protocol

from django.db import connection, transaction
from django.db.models import QuerySet

from reporting.selectors import (
    COMMISSION_EXPORT_COLUMNS,
    DOCUMENT_EXPORT_COLUMNS,
    EXPORT_CHUNK_SIZE,
    FORMULA_PREFIXES,
    INVOICE_EXPORT_COLUMNS,
    LINE_EXPORT_COLUMNS,
    ReportFilters,
    commission_count,
    commission_export_rows,
    document_count,
    document_export_queryset,
    document_export_rows,
    invoice_count,
    invoice_export_rows,
    line_count,
    line_export_rows,
    seller_statement,
    vat_summary,
)
from sellers.models import Seller

Row = Sequence[str | int | None]
# What Excel needs to read a CSV as UTF-8 rather than the system's code page.
BOM = "\ufeff"
DELIMITERS = (",", ";")


@dataclass(frozen=True)
class CsvFormat:
    """How the CSV is written. `excel`: a UTF-8 BOM first. `delimiter`: `,` or `;` (the
    separator Excel expects where the decimal separator is a comma)."""

    excel: bool = False
    delimiter: str = ","


class TextSink(Protocol):
    """Anything with a `write(str)`: a file opened with newline="", stdout, a StringIO."""

    def write(self, text: str, /) -> object: ...


@dataclass(frozen=True)
class CsvExport:
    name: str  # also the file name stem and the URL segment
    version: int
    columns: tuple[str, ...]
    rows: Callable[[ReportFilters], Iterable[Row]]
    count: Callable[[ReportFilters], int]
    # Operators must name a seller; seller users always have theirs.
    requires_seller: bool = False
    # Whether the export needs a bounded period (the issue-2 invoice export does not).
    requires_period: bool = True
    # The rows' formatted queryset, for PostgreSQL's COPY to write the CSV itself: the same
    # bytes as `rows` through csv.writer as long as no cell is an empty string or holds a line
    # break (see reporting.selectors.DOCUMENT_EXPORT_COLUMNS).
    copy_query: Callable[[ReportFilters], QuerySet[Any]] | None = None


def _neutralise_formula(text: str) -> str:
    """Python twin of the SQL formatting in reporting.selectors, for the aggregated exports."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _cell(value: object) -> str | int | None:
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits with '.', never an exponent
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, str | int):
        return value
    raise TypeError(f"no CSV form for {type(value).__name__}")


VAT_COLUMNS = (
    "seller_country",
    "buyer_country",
    "transaction_type",
    "tax_rate",
    "currency",
    "document_count",
    "taxable_base",
    "tax_amount",
)


def _vat_rows(filters: ReportFilters) -> list[Row]:
    return [tuple(_cell(value) for value in row) for row in vat_summary(filters=filters)]


STATEMENT_COLUMNS = (
    "seller_id",
    "seller_name",
    "entity_id",
    "date_from",
    "date_to",
    "currency",
    "invoice_count",
    "invoice_net",
    "invoice_tax",
    "invoice_gross",
    "credit_note_count",
    "credit_note_net",
    "credit_note_tax",
    "credit_note_gross",
    "net",
    "tax",
    "gross",
)


def _statement_rows(filters: ReportFilters) -> list[Row]:
    assert filters.seller_id is not None  # CsvExport.requires_seller
    seller = Seller.objects.get(pk=filters.seller_id)
    head = (
        seller.pk,
        _neutralise_formula(seller.business_name),
        seller.entity_id,
        _cell(filters.date_from),
        _cell(filters.date_to),
    )
    return [
        head
        + tuple(
            _cell(value)
            for value in (
                line.currency,
                *line.invoices,
                *line.credit_notes,
                line.net,
                line.tax,
                line.gross,
            )
        )
        for line in seller_statement(filters=filters)
    ]


INVOICES = CsvExport(
    name="invoices",
    version=1,
    columns=tuple(INVOICE_EXPORT_COLUMNS),
    rows=lambda filters: invoice_export_rows(filters=filters),
    count=lambda filters: invoice_count(filters=filters),
    requires_period=False,
)
DOCUMENTS = CsvExport(
    name="documents",
    version=3,
    columns=tuple(DOCUMENT_EXPORT_COLUMNS),
    rows=lambda filters: document_export_rows(filters=filters),
    count=lambda filters: document_count(filters=filters),
    copy_query=lambda filters: document_export_queryset(filters=filters),
)
LINES = CsvExport(
    name="lines",
    version=1,
    columns=tuple(LINE_EXPORT_COLUMNS),
    rows=lambda filters: line_export_rows(filters=filters),
    count=lambda filters: line_count(filters=filters),
)
VAT = CsvExport(
    name="vat",
    version=1,
    columns=VAT_COLUMNS,
    rows=_vat_rows,
    count=lambda filters: len(vat_summary(filters=filters)),
)
STATEMENT = CsvExport(
    name="statement",
    version=1,
    columns=STATEMENT_COLUMNS,
    rows=_statement_rows,
    count=lambda filters: len(seller_statement(filters=filters)),
    requires_seller=True,
)
# The operator's commission invoices and credit notes to sellers (not sellers' sales).
COMMISSION = CsvExport(
    name="commission",
    version=1,
    columns=COMMISSION_EXPORT_COLUMNS,
    rows=lambda filters: [
        tuple(
            _neutralise_formula(value) if isinstance(value, str) else _cell(value) for value in row
        )
        for row in commission_export_rows(filters=filters)
    ],
    count=lambda filters: commission_count(filters=filters),
)
EXPORTS = {
    export.name: export for export in (INVOICES, DOCUMENTS, LINES, VAT, STATEMENT, COMMISSION)
}
# The report exports: the report pages' downloads, and what a seller user may export of its own
# seller. The issue-2 invoice layout is for operators only, with its own admin form.
REPORT_EXPORTS = (DOCUMENTS, LINES, VAT, STATEMENT, COMMISSION)


def csv_batches(
    export: CsvExport,
    filters: ReportFilters,
    csv_format: CsvFormat = CsvFormat(),
    *,
    batch_size: int = EXPORT_CHUNK_SIZE,
) -> Iterator[tuple[int, str]]:
    """(rows, text): the header (0 rows), then up to `batch_size` CSV rows at a time.

    Lazy: nothing is read from the database until the first batch after the header. On
    PostgreSQL an export with a `copy_query` is written by COPY, else by csv.writer.
    """
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=csv_format.delimiter).writerow(export.columns)
    yield 0, (BOM if csv_format.excel else "") + buffer.getvalue()
    if export.copy_query is not None and connection.vendor == "postgresql":
        yield from _copy_batches(export.copy_query(filters), csv_format.delimiter, batch_size)
    else:
        yield from _writer_batches(export, filters, csv_format.delimiter, batch_size)


def _writer_batches(
    export: CsvExport, filters: ReportFilters, delimiter: str, batch_size: int
) -> Iterator[tuple[int, str]]:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    # Read in one transaction: PostgreSQL then runs the server-side cursor as rows are fetched,
    # where outside one (a WITH HOLD cursor) it first materialises the whole result.
    with transaction.atomic():
        rows = iter(export.rows(filters))
        while batch := list(islice(rows, batch_size)):
            writer.writerows(batch)
            yield len(batch), buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()


def _copy_batches(
    rows: QuerySet[Any], delimiter: str, batch_size: int
) -> Iterator[tuple[int, str]]:
    """The rows as PostgreSQL's COPY writes them (CSV, quoting as csv.writer does), with CRLF
    row ends. libpq hands over one row at a time; no cell holds a line break, so every LF is
    a row end."""
    sql, params = rows.query.get_compiler(connection=connection).as_sql()
    options = "FORMAT csv" if delimiter == "," else "FORMAT csv, DELIMITER ';'"
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH ({options})", params) as copy,
    ):
        batch: list[bytes] = []
        for row in copy:
            batch.append(row)
            if len(batch) == batch_size:
                yield batch_size, b"".join(batch).replace(b"\n", b"\r\n").decode()
                batch.clear()
        if batch:
            yield len(batch), b"".join(batch).replace(b"\n", b"\r\n").decode()


def csv_chunks(
    export: CsvExport, filters: ReportFilters, csv_format: CsvFormat = CsvFormat()
) -> Iterator[str]:
    """The CSV text in pieces of a few hundred kilobytes at most (a streamed response body)."""
    return (text for _, text in csv_batches(export, filters, csv_format))


def export_write(
    export: CsvExport,
    filters: ReportFilters,
    stream: TextSink,
    progress: Callable[[int], None] | None = None,
    *,
    csv_format: CsvFormat = CsvFormat(),
    batch_size: int = EXPORT_CHUNK_SIZE,
) -> int:
    """Write the CSV to a text stream (opened with newline=""); return the number of rows.

    `progress(rows_so_far)` is called after every batch of rows.
    """
    written = 0
    for rows, text in csv_batches(export, filters, csv_format, batch_size=batch_size):
        stream.write(text)
        if rows:
            written += rows
            if progress is not None:
                progress(written)
    return written
