"""Report filters, parsed from untrusted text (query parameters, JSON bodies, command options)
by one DRF serializer, which also describes them in the API schema.

Every error is an ApplicationError naming the parameter, which the API answers with a 400.
"""

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

from django.http import QueryDict
from django_countries import countries
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.errors import ApplicationError
from invoicing.models import DocumentKind
from reporting.exports import DELIMITERS, CsvExport, CsvFormat
from reporting.selectors import ReportFilters
from sellers.models import Seller

# A report covers a bounded period: at most a year and a day (a leap year's 366 days).
MAX_PERIOD_DAYS = 366

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class _Filter(serializers.Field[Any, str, Any, Any]):
    """One optional text filter; a blank value means "no filter"."""

    def __init__(self, *, help_text: str | None = None) -> None:
        super().__init__(required=False, help_text=help_text)

    def to_internal_value(self, data: str) -> Any:
        return self.parse(data) if data.strip() else None

    def parse(self, value: str) -> Any:
        raise NotImplementedError


@extend_schema_field(OpenApiTypes.DATE)
class _DateFilter(_Filter):
    def parse(self, value: str) -> date:
        value = value.strip()
        try:
            if not _ISO_DATE.match(value):
                raise ValueError(value)
            return date.fromisoformat(value)
        except ValueError:
            raise serializers.ValidationError(
                f"Enter a valid date as YYYY-MM-DD, not {value[:40]!r}."
            ) from None


@extend_schema_field(OpenApiTypes.INT)
class _SellerFilter(_Filter):
    def parse(self, value: str) -> int:
        value = value.strip()
        # At most 18 digits: always within a bigint, and never a huge string for int().
        if not (value.isascii() and value.isdigit() and len(value) <= 18) or int(value) == 0:
            raise serializers.ValidationError(
                f"Enter a seller id (a positive integer), not {value[:40]!r}."
            )
        seller_id = int(value)
        if not Seller.objects.filter(pk=seller_id).exists():
            raise serializers.ValidationError(f"There is no seller {seller_id}.", code="not_found")
        return seller_id


@extend_schema_field(OpenApiTypes.STR)
class _CountryFilter(_Filter):
    def parse(self, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 2 or code not in countries:
            raise serializers.ValidationError(
                f"Enter an ISO 3166-1 alpha-2 country code such as SI, not {value[:40]!r}."
            )
        return code


@extend_schema_field(OpenApiTypes.STR)
class _CurrencyFilter(_Filter):
    def parse(self, value: str) -> str:
        code = value.strip().upper()
        if not _CURRENCY.match(code):
            raise serializers.ValidationError(
                f"Enter an ISO 4217 currency code such as EUR, not {value[:40]!r}."
            )
        return code


@extend_schema_field({"type": "string", "enum": sorted(DocumentKind.values)})
class _KindFilter(_Filter):
    def parse(self, value: str) -> str:
        kind = value.strip()
        if kind not in DocumentKind.values:
            raise serializers.ValidationError(
                f"Enter one of {', '.join(DocumentKind.values)}, not {value[:40]!r}."
            )
        return kind


_FORMATS = ("csv", "excel")


@extend_schema_field({"type": "string", "enum": list(_FORMATS), "default": "csv"})
class _FormatParameter(_Filter):
    def parse(self, value: str) -> str:
        if value not in _FORMATS:
            raise serializers.ValidationError(
                f"Enter csv or excel (UTF-8 with a BOM), not {value[:40]!r}."
            )
        return value


@extend_schema_field({"type": "string", "enum": list(DELIMITERS), "default": ","})
class _DelimiterParameter(_Filter):
    def parse(self, value: str) -> str:
        if value not in DELIMITERS:
            raise serializers.ValidationError(
                f"Enter , (a comma) or ; (a semicolon), not {value[:40]!r}."
            )
        return value


class _PeriodInput(serializers.Serializer[None]):
    """The document dates. With `period_required` (the context's) both must be given and span
    at most MAX_PERIOD_DAYS."""

    date_from = _DateFilter()
    date_to = _DateFilter()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start is not None and end is not None and start > end:
            raise _error("date_from", "date_from must not be after date_to.")
        if self.context["period_required"]:
            for value, field in ((start, "date_from"), (end, "date_to")):
                if value is None:
                    raise _error(
                        field, f"{field} is required: a report covers a bounded period.", "required"
                    )
            assert start is not None
            assert end is not None
            if (end - start).days + 1 > MAX_PERIOD_DAYS:
                raise _error("date_to", f"The period may span at most {MAX_PERIOD_DAYS} days.")
        return attrs


class ReportFiltersInput(serializers.Serializer[ReportFilters]):
    """The filters of every report and export (the context says whether the period is required).

    Checked in this order, the first problem named: the parameters' names and types, the period
    (_PeriodInput), then each other filter.
    """

    seller = _SellerFilter(help_text="Only this seller's id.")
    # Read by _PeriodInput, before the others; declared here too for the names and the schema.
    date_from = _DateFilter(help_text="Document date from (inclusive).")
    date_to = _DateFilter(help_text="Document date to (inclusive).")
    seller_country = _CountryFilter(help_text="ISO 3166-1 alpha-2.")
    buyer_country = _CountryFilter(help_text="ISO 3166-1 alpha-2.")
    currency = _CurrencyFilter(help_text="ISO 4217.")
    kind = _KindFilter()

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """Refuse, before any value is read, what a typo or a form could make ambiguous: a
        parameter outside the fields (it must never widen an export), one given twice, one
        that is not text."""
        if isinstance(data, QueryDict):
            for name, given in data.lists():
                if len(given) > 1:
                    raise _error(name[:40], f"Give {name[:40]} once.")
        params: Mapping[str, Any] = data.dict() if isinstance(data, QueryDict) else data
        for name, value in params.items():
            if name not in self.fields:
                raise _error(
                    name[:40], f"Unknown parameter {name[:40]!r}; use {', '.join(self.fields)}."
                )
            if value is not None and not isinstance(value, str):
                raise _error(name, f"{name} must be text.")
        present = {name: value for name, value in params.items() if value is not None}
        period = _PeriodInput(data=present, context=self.context)
        period.is_valid(raise_exception=True)
        others = {name: value for name, value in present.items() if name not in period.fields}
        parsed: dict[str, Any] = super().to_internal_value(others)
        return {**parsed, **period.validated_data}


class SellerReportFiltersInput(ReportFiltersInput):
    """A seller user's filters: its seller comes from its membership, never from the request."""

    seller = None  # type: ignore[assignment]


def _error(field: str, message: str, code: str = "invalid") -> serializers.ValidationError:
    return serializers.ValidationError({field: [message]}, code=code)


class ExportParametersInput(ReportFiltersInput):
    """An export's filters and its CSV format (blank: the default)."""

    format = _FormatParameter(help_text="csv (the default) or excel: UTF-8 with a BOM.")
    delimiter = _DelimiterParameter(help_text=", (the default) or ;")


class SellerExportParametersInput(ExportParametersInput):
    """A seller user's export: its seller comes from its membership, never from the request."""

    seller = None  # type: ignore[assignment]


PARAMETERS = tuple(ReportFiltersInput().fields)
SELLER_PARAMETERS = tuple(SellerReportFiltersInput().fields)


def _parse(
    serializer_class: type[ReportFiltersInput],
    params: Mapping[str, Any],
    *,
    period_required: bool,
) -> dict[str, Any]:
    serializer = serializer_class(data=params, context={"period_required": period_required})
    if not serializer.is_valid():
        field, [error, *_] = next(iter(serializer.errors.items()))
        raise ApplicationError(str(error), field=field, code=error.code)
    return dict(serializer.validated_data)


def _filters(values: dict[str, Any]) -> ReportFilters:
    return ReportFilters(seller_id=values.pop("seller", None), **values)


def report_filters_parse(
    params: Mapping[str, Any], *, period_required: bool = True
) -> ReportFilters:
    """Validate raw filter values (ReportFiltersInput); a blank value means "no filter"."""
    return _filters(_parse(ReportFiltersInput, params, period_required=period_required))


@dataclass(frozen=True)
class ExportParameters:
    filters: ReportFilters
    csv_format: CsvFormat


def export_parameters_parse(
    params: Mapping[str, Any], export: CsvExport, *, seller_id: int | None = None
) -> ExportParameters:
    """The filters and CSV format of one export. With `seller_id` (a seller user's own seller,
    from its membership) the `seller` parameter is refused as unknown and the seller is fixed."""
    serializer_class = ExportParametersInput if seller_id is None else SellerExportParametersInput
    values = _parse(serializer_class, params, period_required=export.requires_period)
    csv_format = CsvFormat(
        excel=values.pop("format", None) == "excel", delimiter=values.pop("delimiter", None) or ","
    )
    filters = _filters(values)
    if seller_id is not None:
        filters = replace(filters, seller_id=seller_id)
    elif export.requires_seller and filters.seller_id is None:
        raise ApplicationError(
            f"seller is required for the {export.name} export.", field="seller", code="required"
        )
    return ExportParameters(filters, csv_format)


def filters_to_json(filters: ReportFilters) -> dict[str, Any]:
    """The filters as the parameters that parse back to them (stored with export jobs)."""
    values = asdict(filters)
    params = {"seller": values.pop("seller_id"), **values}
    return {
        name: value.isoformat() if isinstance(value, date) else value
        for name, value in params.items()
        if value is not None
    }


def export_parameters_to_json(parameters: ExportParameters) -> dict[str, Any]:
    """The filters and the CSV format as the parameters that parse back to them (an export
    job's); the default format adds none."""
    csv_format = parameters.csv_format
    return {
        **filters_to_json(parameters.filters),
        **({"format": "excel"} if csv_format.excel else {}),
        **({"delimiter": csv_format.delimiter} if csv_format.delimiter != "," else {}),
    }


def export_parameters_from_json(params: Mapping[str, Any]) -> ExportParameters:
    """The inverse of export_parameters_to_json, for parameters validated when stored."""
    return ExportParameters(
        filters_from_json(params),
        CsvFormat(excel=params.get("format") == "excel", delimiter=params.get("delimiter", ",")),
    )


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
