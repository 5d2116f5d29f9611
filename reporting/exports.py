"""The invoice CSV export: one fixed, versioned column layout shared by admin, API and command.

Change the columns only together with INVOICE_EXPORT_VERSION and reporting/README.md.
"""

import csv
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from reporting.selectors import InvoiceExportFilters, invoice_export_rows

INVOICE_EXPORT_VERSION = 1
INVOICE_EXPORT_COLUMNS = (
    "seller_id",
    "seller_name",
    "entity_id",
    "invoice_number",
    "invoice_date",
    "order_id",
    "checkout_id",
    "buyer_name",
    "buyer_country",
    "currency",
    "total_net",
    "total_tax",
    "total_gross",
    "remote_id",
)
# Free text typed by sellers and buyers; see _neutralise_formula.
_FREE_TEXT_COLUMNS = frozenset(
    INVOICE_EXPORT_COLUMNS.index(name) for name in ("seller_name", "buyer_name")
)
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

PROGRESS_EVERY = 10_000


class TextSink(Protocol):
    """Anything with a `write(str)`: a file opened with newline="", stdout, a StringIO."""

    def write(self, text: str, /) -> object: ...


class _Echo:
    """A pseudo-buffer: csv.writer writes one row into it and gets the text straight back."""

    def write(self, value: str) -> str:
        return value


def _neutralise_formula(text: str) -> str:
    """Keep spreadsheet apps from running a name such as `=HYPERLINK(...)` as a formula (OWASP)."""
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _cell(index: int, value: Any) -> str | int:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits with '.', never an exponent
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return value
    text = str(value)
    return _neutralise_formula(text) if index in _FREE_TEXT_COLUMNS else text


def invoice_csv_lines(filters: InvoiceExportFilters) -> Iterator[str]:
    """The header, then one CSV line (RFC 4180, CRLF-terminated) per issued invoice.

    Lazy: nothing is read from the database until the first row is asked for.
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(INVOICE_EXPORT_COLUMNS)
    for row in invoice_export_rows(filters=filters):
        yield writer.writerow([_cell(index, value) for index, value in enumerate(row)])


def invoice_export_write(
    filters: InvoiceExportFilters,
    stream: TextSink,
    progress: Callable[[int], None] | None = None,
    *,
    progress_every: int = PROGRESS_EVERY,
) -> int:
    """Write the CSV to a text stream (opened with newline=""); return the number of invoices.

    `progress(rows_so_far)` is called every `progress_every` invoices.
    """
    lines = invoice_csv_lines(filters)
    stream.write(next(lines))
    rows = 0
    for line in lines:
        stream.write(line)
        rows += 1
        if progress is not None and rows % progress_every == 0:
            progress(rows)
    return rows
