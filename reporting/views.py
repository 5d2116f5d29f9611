"""Finance views for operators in Django admin: report pages and CSV downloads."""

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from core.audit import audit_record
from core.errors import ApplicationError
from reporting.charts import health_chart, summary_charts, vat_charts
from reporting.exports import EXPORTS, INVOICES, REPORT_EXPORTS, CsvExport, csv_chunks
from reporting.filters import (
    ExportParameters,
    export_parameters_parse,
    export_parameters_to_json,
    filters_to_json,
    report_filters_parse,
)
from reporting.forms import SellerPickerForm, seller_label
from reporting.selectors import (
    ReportFilters,
    SellerMonth,
    commission_revenue,
    document_count,
    issuance_health,
    month_totals,
    seller_month_summary,
    seller_statement,
    sellers_for_summary,
    sellers_matching,
    statement_documents,
    vat_summary,
)
from sellers.models import Seller

STATEMENT_DOCUMENTS_SHOWN = 200
# Staff without the permission get a 403 page (core/permissions.py lists them).
_can_view_reports = permission_required("reporting.view_reports", raise_exception=True)
_can_export = permission_required("reporting.export_reports", raise_exception=True)
HEALTH_SELLERS_CHARTED = 20


def csv_response(
    export: CsvExport, parameters: ExportParameters, *, actor: AbstractBaseUser | AnonymousUser
) -> StreamingHttpResponse:
    """The streamed CSV download, audited; validate the parameters before calling this."""
    filters = parameters.filters
    audit_record(
        action="export.downloaded",
        actor=actor,
        seller_id=filters.seller_id,
        detail={"report": export.name, "filters": export_parameters_to_json(parameters)},
    )
    start = filters.date_from.isoformat() if filters.date_from else "all"
    end = filters.date_to.isoformat() if filters.date_to else "all"
    response = StreamingHttpResponse(
        csv_chunks(export, filters, parameters.csv_format), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export.name}-{start}-{end}.csv"'
    response["X-Export-Version"] = str(export.version)
    response["Cache-Control"] = "no-store"
    return response


def _back_url(request: HttpRequest) -> str:
    """The page the operator came from (the filtered changelist), else the invoice changelist."""
    referer = request.headers.get("referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    try:
        return reverse("admin:invoicing_document_changelist")
    except NoReverseMatch:  # Invoice is not registered in this admin site
        return reverse("admin:index")


_INVOICE_FORM_FIELDS = ("seller", "date_from", "date_to", "format", "delimiter")


@require_GET
@staff_member_required
@_can_export
def admin_invoice_export(request: HttpRequest) -> HttpResponseBase:
    """Stream the invoice CSV for the changelist's `seller`, `date_from` and `date_to` in the
    `format` and with the `delimiter` asked (its export form's fields; the other parameters a
    changelist URL carries are not filters)."""
    params = {name: request.GET.get(name) for name in _INVOICE_FORM_FIELDS}
    try:
        parameters = export_parameters_parse(params, INVOICES)
    except ApplicationError as error:
        messages.error(request, f"Invoice export: {error.field}: {error.message}")
        return HttpResponseRedirect(_back_url(request))
    return csv_response(INVOICES, parameters, actor=request.user)


REPORT_EXPORT_NAMES = tuple(export.name for export in REPORT_EXPORTS)
SELLERS_PER_PAGE = 50
# Not a filter: the summary's page of sellers.
_PAGE = "page"


def _report(
    request: HttpRequest,
    template: str,
    title: str,
    build: Callable[[ReportFilters], dict[str, Any]],
) -> HttpResponse:
    """Parse the filters (the period this calendar year unless a date is given), build the
    page, or show the error naming the parameter with a 400."""
    params = {name: value for name, value in request.GET.items() if name != _PAGE}
    if not params.get("date_from") and not params.get("date_to"):
        year = timezone.localdate().year
        params = {**params, "date_from": f"{year}-01-01", "date_to": f"{year}-12-31"}
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": title,
        "params": params,
        "seller_form": SellerPickerForm(initial={"seller": params.get("seller")}),
    }
    try:
        filters = report_filters_parse(params)
        context.update(build(filters))
    except ApplicationError as error:
        context["error"] = f"{error.field}: {error.message}"
        return render(request, template, context, status=400)
    context["query"] = urlencode({name: value for name, value in params.items() if value})
    # Only downloads that answer a CSV: the statement's once a seller is chosen.
    context["exports"] = [
        export.name
        for export in REPORT_EXPORTS
        if filters.seller_id is not None or not export.requires_seller
    ]
    return render(request, template, context)


@require_GET
@staff_member_required
@_can_view_reports
def reports_index(request: HttpRequest) -> HttpResponse:
    return _report(request, "reporting/admin/base.html", "Reports", lambda filters: {})


@require_GET
@staff_member_required
@_can_view_reports
def statement_page(request: HttpRequest) -> HttpResponse:
    def build(filters: ReportFilters) -> dict[str, Any]:
        if filters.seller_id is None:  # the form, with the seller picker
            return {"seller": None}
        return {
            "seller": Seller.objects.get(pk=filters.seller_id),
            "lines": seller_statement(filters=filters),
            "documents": statement_documents(filters=filters, limit=STATEMENT_DOCUMENTS_SHOWN),
            "document_count": document_count(filters=filters),
        }

    return _report(request, "reporting/admin/statement.html", "Seller statement", build)


@require_GET
@staff_member_required
@_can_view_reports
def summary_page(request: HttpRequest) -> HttpResponse:
    def build(filters: ReportFilters) -> dict[str, Any]:
        totals = month_totals(filters=filters)
        months = sorted({total.month for total in totals})
        page = Paginator(sellers_for_summary(filters=filters), SELLERS_PER_PAGE).get_page(
            request.GET.get(_PAGE)
        )
        cells: dict[tuple[int, date], list[SellerMonth]] = defaultdict(list)
        for cell in seller_month_summary(filters=filters, seller_ids=[s.pk for s in page]):
            cells[cell.seller_id, cell.month].append(cell)
        return {
            "months": months,
            "totals": {month: [t for t in totals if t.month == month] for month in months},
            "rows": [(seller, [cells[seller.pk, month] for month in months]) for seller in page],
            "page": page,
            "page_query": urlencode(filters_to_json(filters)),
            # A seller's statement of the same period and filters.
            "statement_query": urlencode(
                {k: v for k, v in filters_to_json(filters).items() if k != "seller"}
            ),
            "charts": summary_charts(totals),
            "commission": commission_revenue(filters=filters),
        }

    return _report(request, "reporting/admin/summary.html", "Sellers by month", build)


@require_GET
@staff_member_required
@_can_view_reports
def vat_page(request: HttpRequest) -> HttpResponse:
    def build(filters: ReportFilters) -> dict[str, Any]:
        rows = vat_summary(filters=filters)
        return {
            "rows": rows,
            "charts": vat_charts(rows),
        }

    return _report(request, "reporting/admin/vat.html", "VAT summary", build)


@require_GET
@staff_member_required
@_can_view_reports
def health_page(request: HttpRequest) -> HttpResponse:
    def build(filters: ReportFilters) -> dict[str, Any]:
        rows = issuance_health(filters=filters)
        stuck = [row for row in rows if row.pending or row.failed][:HEALTH_SELLERS_CHARTED]
        return {
            "rows": rows,
            "chart": health_chart(stuck),
        }

    return _report(request, "reporting/admin/health.html", "Issuance health", build)


@require_GET
@staff_member_required
@_can_export
def admin_report_export(request: HttpRequest, name: str) -> HttpResponseBase:
    """Stream one of the report exports for the report page's filters."""
    if name not in REPORT_EXPORT_NAMES:
        raise Http404(f"No export {name!r}.")
    export = EXPORTS[name]
    try:
        parameters = export_parameters_parse(request.GET.dict(), export)
    except ApplicationError as error:
        # A download link answers text, never a page: the browser shows it as it is.
        return HttpResponse(
            f"{name} export: {error.field}: {error.message}\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    return csv_response(export, parameters, actor=request.user)


SELLERS_PER_SEARCH = 20


@require_GET
@staff_member_required
@_can_view_reports
def seller_search(request: HttpRequest) -> JsonResponse:
    """The seller picker's search, in the form admin's autocomplete widget reads: `term` and
    `page` in, `{"results": [{"id", "text"}], "pagination": {"more"}}` out."""
    page = Paginator(
        sellers_matching(term=request.GET.get("term", "")), SELLERS_PER_SEARCH
    ).get_page(request.GET.get("page"))
    return JsonResponse(
        {
            "results": [{"id": str(seller.pk), "text": seller_label(seller)} for seller in page],
            "pagination": {"more": page.has_next()},
        }
    )
