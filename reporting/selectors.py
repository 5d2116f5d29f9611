"""Reads for reports across sellers, on the local mirror of issued documents."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from invoicing.models import DocumentKind, Invoice, InvoiceState

EXPORT_CHUNK_SIZE = 2000

# One value per column, in the order of reporting.exports.INVOICE_EXPORT_COLUMNS.
_INVOICE_EXPORT_FIELDS = (
    "seller_id",
    "seller__business_name",
    "entity_id",
    "number",
    "date",
    "order_id",
    "order__checkout_id",
    "order__buyer_name",
    "order__billing_country",
    "currency",
    "total_net",
    "total_tax",
    "total_gross",
    "remote_id",
)


@dataclass(frozen=True)
class InvoiceExportFilters:
    seller_id: int | None = None
    date_from: date | None = None  # inclusive, on the invoice date
    date_to: date | None = None  # inclusive, on the invoice date


def invoice_export_rows(*, filters: InvoiceExportFilters) -> Iterator[tuple[Any, ...]]:
    """Issued invoices (not credit notes, not pending or failed), one tuple per invoice.

    Streams through a server-side cursor on PostgreSQL (`.iterator()`), so memory stays
    constant whatever the number of rows; the caller must consume it before the request ends.
    """
    invoices = Invoice.objects.filter(kind=DocumentKind.INVOICE, state=InvoiceState.ISSUED)
    if filters.seller_id is not None:
        invoices = invoices.filter(seller_id=filters.seller_id)
    if filters.date_from is not None:
        invoices = invoices.filter(date__gte=filters.date_from)
    if filters.date_to is not None:
        invoices = invoices.filter(date__lte=filters.date_to)
    return (
        invoices.order_by("date", "seller_id", "number", "id")
        .values_list(*_INVOICE_EXPORT_FIELDS)
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
