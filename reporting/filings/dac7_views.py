"""The DAC7 report in admin: its page and its XML file (`reporting.view_reports`)."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.audit import audit_record
from core.errors import ApplicationError
from reporting.filings.dac7 import (
    DE_MINIMIS_EUR,
    DE_MINIMIS_SALES,
    FIRST_YEAR,
    dac7_report,
    dac7_xml,
    dac7_year_validate,
)

TEMPLATE = "reporting/admin/dac7.html"
_can_view_reports = permission_required("reporting.view_reports", raise_exception=True)


def _page(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        **admin.site.each_context(request),
        "title": "DAC7 platform report",
        "de_minimis_sales": DE_MINIMIS_SALES,
        "de_minimis_eur": DE_MINIMIS_EUR,
        **extra,
    }


def _year(request: HttpRequest) -> int:
    """The `year` parameter; by default last year, the one filed by this 31 January."""
    today_year = timezone.localdate().year
    value = request.GET.get("year") or max(today_year - 1, FIRST_YEAR)
    return dac7_year_validate(value, today_year=today_year)


def _error(request: HttpRequest, error: ApplicationError) -> HttpResponse:
    context = _page(request, year=request.GET.get("year", ""), error=f"{error.field}: {error}")
    return render(request, TEMPLATE, context, status=400)


@require_GET
@staff_member_required
@_can_view_reports
def dac7_page(request: HttpRequest) -> HttpResponse:
    try:
        year = _year(request)
    except ApplicationError as error:
        return _error(request, error)
    return render(request, TEMPLATE, _page(request, year=year, report=dac7_report(year=year)))


@require_GET
@staff_member_required
@_can_view_reports
def dac7_download(request: HttpRequest) -> HttpResponse:
    """The year's XML file with its complete sellers, audited."""
    try:
        year = _year(request)
        report = dac7_report(year=year)
        xml = dac7_xml(report, timestamp=timezone.now())
    except ApplicationError as error:
        return _error(request, error)
    audit_record(
        action="export.downloaded",
        actor=request.user,
        detail={
            "report": "dac7",
            "year": year,
            "sellers": [item.seller.pk for item in report.complete_sellers],
        },
    )
    response = HttpResponse(xml, content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="dac7-{year}.xml"'
    response["Cache-Control"] = "no-store"
    return response
