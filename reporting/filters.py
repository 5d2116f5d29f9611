"""Report filters, parsed from untrusted text (query parameters, JSON bodies, command options).

Every error is an ApplicationError naming the parameter, which the API answers with a 400.
"""

import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, replace
from datetime import date
from typing import Any

from django_countries import countries

from core.errors import ApplicationError
from invoicing.models import DocumentKind
from reporting.exports import CsvExport
from reporting.selectors import ReportFilters
from sellers.models import Seller

PARAMETERS = (
    "seller",
    "date_from",
    "date_to",
    "seller_country",
    "buyer_country",
    "currency",
    "kind",
)
SELLER_PARAMETERS = tuple(name for name in PARAMETERS if name != "seller")
# A report covers a bounded period: at most a year and a day (a leap year's 366 days).
MAX_PERIOD_DAYS = 366

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


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


def _parse_country(value: str | None, *, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if len(code) != 2 or code not in countries:
        raise ApplicationError(
            f"Enter an ISO 3166-1 alpha-2 country code such as SI, not {value[:40]!r}.",
            field=field,
        )
    return code


def _parse_currency(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    code = value.strip().upper()
    if not _CURRENCY.match(code):
        raise ApplicationError(
            f"Enter an ISO 4217 currency code such as EUR, not {value[:40]!r}.", field="currency"
        )
    return code


def _parse_kind(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    kind = value.strip()
    if kind not in DocumentKind.values:
        raise ApplicationError(
            f"Enter one of {', '.join(DocumentKind.values)}, not {value[:40]!r}.", field="kind"
        )
    return kind


def report_filters_parse(
    params: Mapping[str, Any],
    *,
    allowed: Collection[str] = PARAMETERS,
    period_required: bool = True,
) -> ReportFilters:
    """Validate raw filter values; a blank value means "no filter".

    A parameter outside `allowed` is refused (a typo must never widen an export). With
    `period_required`, both dates must be given and span at most MAX_PERIOD_DAYS.
    """
    for name, value in params.items():
        if name not in allowed:
            raise ApplicationError(
                f"Unknown parameter {name[:40]!r}; use {', '.join(allowed)}.", field=name[:40]
            )
        if value is not None and not isinstance(value, str):
            raise ApplicationError(f"{name} must be text.", field=name)

    start = _parse_date(params.get("date_from"), field="date_from")
    end = _parse_date(params.get("date_to"), field="date_to")
    if start is not None and end is not None and start > end:
        raise ApplicationError("date_from must not be after date_to.", field="date_from")
    if period_required:
        for value, field in ((start, "date_from"), (end, "date_to")):
            if value is None:
                raise ApplicationError(
                    f"{field} is required: a report covers a bounded period.",
                    field=field,
                    code="required",
                )
        assert start is not None
        assert end is not None
        if (end - start).days + 1 > MAX_PERIOD_DAYS:
            raise ApplicationError(
                f"The period may span at most {MAX_PERIOD_DAYS} days.", field="date_to"
            )
    return ReportFilters(
        seller_id=_parse_seller(params.get("seller")),
        date_from=start,
        date_to=end,
        seller_country=_parse_country(params.get("seller_country"), field="seller_country"),
        buyer_country=_parse_country(params.get("buyer_country"), field="buyer_country"),
        currency=_parse_currency(params.get("currency")),
        kind=_parse_kind(params.get("kind")),
    )


def export_filters_parse(
    params: Mapping[str, Any], export: CsvExport, *, seller_id: int | None = None
) -> ReportFilters:
    """The filters of one export. With `seller_id` (a seller user's own seller, from its
    membership) the `seller` parameter is refused as unknown and the seller is fixed."""
    if seller_id is not None:
        filters = report_filters_parse(
            params, allowed=SELLER_PARAMETERS, period_required=export.requires_period
        )
        return replace(filters, seller_id=seller_id)
    filters = report_filters_parse(params, period_required=export.requires_period)
    if export.requires_seller and filters.seller_id is None:
        raise ApplicationError(
            f"seller is required for the {export.name} export.", field="seller", code="required"
        )
    return filters


def invoice_export_filters_parse(
    *, seller: str | None = None, date_from: str | None = None, date_to: str | None = None
) -> ReportFilters:
    """The issue-2 invoice export's filters: seller and an optional, open-ended period."""
    return report_filters_parse(
        {"seller": seller, "date_from": date_from, "date_to": date_to}, period_required=False
    )


def filters_to_json(filters: ReportFilters) -> dict[str, Any]:
    """The filters as the parameters that parse back to them (stored with export jobs)."""
    values = asdict(filters)
    params = {"seller": values.pop("seller_id"), **values}
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in params.items()
        if value is not None
    }


def filters_from_json(params: Mapping[str, Any]) -> ReportFilters:
    """The inverse of filters_to_json, for filters already validated when they were stored."""
    return ReportFilters(
        seller_id=params.get("seller"),
        date_from=date.fromisoformat(params["date_from"]) if "date_from" in params else None,
        date_to=date.fromisoformat(params["date_to"]) if "date_to" in params else None,
        seller_country=params.get("seller_country"),
        buyer_country=params.get("buyer_country"),
        currency=params.get("currency"),
        kind=params.get("kind"),
    )
