"""The export filters, parsed from untrusted text (query parameters, command options)."""

import re
from datetime import date

from marketplace.errors import ApplicationError
from reporting.selectors import InvoiceExportFilters
from sellers.models import Seller

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_date(value: str | None, *, field: str) -> date | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        if not _ISO_DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise ApplicationError(
            f"Enter a valid date as YYYY-MM-DD, not {value[:40]!r}.", field=field
        ) from None


def _parse_seller(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    # At most 18 digits: always within a bigint, and never a huge string for int().
    if not (value.isascii() and value.isdigit() and len(value) <= 18) or int(value) == 0:
        raise ApplicationError(
            f"Enter a seller id (a positive integer), not {value[:40]!r}.", field="seller"
        )
    seller_id = int(value)
    if not Seller.objects.filter(pk=seller_id).exists():
        raise ApplicationError(f"There is no seller {seller_id}.", field="seller", code="not_found")
    return seller_id


def invoice_export_filters_parse(
    *, seller: str | None = None, date_from: str | None = None, date_to: str | None = None
) -> InvoiceExportFilters:
    """Validate the raw filter values; a blank value means "no filter".

    Raises ApplicationError naming the field: `seller`, `date_from` or `date_to`.
    """
    seller_id = _parse_seller(seller)
    start = _parse_date(date_from, field="date_from")
    end = _parse_date(date_to, field="date_to")
    if start is not None and end is not None and start > end:
        raise ApplicationError("date_from must not be after date_to.", field="date_from")
    return InvoiceExportFilters(seller_id=seller_id, date_from=start, date_to=end)
