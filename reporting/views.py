"""Finance views for operators in Django admin: report pages and CSV downloads."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect, StreamingHttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from marketplace.errors import ApplicationError
from reporting.exports import INVOICES, CsvExport, csv_chunks
from reporting.filters import invoice_export_filters_parse
from reporting.selectors import ReportFilters


def csv_response(export: CsvExport, filters: ReportFilters) -> StreamingHttpResponse:
    """The streamed CSV download; validate the filters before calling this."""
    start = filters.date_from.isoformat() if filters.date_from else "all"
    end = filters.date_to.isoformat() if filters.date_to else "all"
    response = StreamingHttpResponse(
        csv_chunks(export, filters), content_type="text/csv; charset=utf-8"
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
        return reverse("admin:invoicing_invoice_changelist")
    except NoReverseMatch:  # Invoice is not registered in this admin site
        return reverse("admin:index")


@require_GET
@staff_member_required
def admin_invoice_export(request: HttpRequest) -> HttpResponseBase:
    """Stream the invoice CSV for the changelist's `seller`, `date_from` and `date_to`."""
    try:
        filters = invoice_export_filters_parse(
            seller=request.GET.get("seller"),
            date_from=request.GET.get("date_from"),
            date_to=request.GET.get("date_to"),
        )
    except ApplicationError as error:
        messages.error(request, f"Invoice export: {error.field}: {error.message}")
        return HttpResponseRedirect(_back_url(request))
    return csv_response(INVOICES, filters)
