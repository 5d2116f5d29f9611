"""The operator's view of a seller's payout statement (admin > Reports > Payout statement):
the page, its CSV and its PDF, for the seller and month chosen (``?seller=<id>&period=YYYY-MM``).
"""

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from invoicing.commission_invoices import payout_statement_csv, payout_statements
from invoicing.payout_pdf import payout_statement_pdf
from reporting.forms import SellerPickerForm
from sellers.models import Seller

FORMATS = ("html", "csv", "pdf")


@require_GET
@staff_member_required
@permission_required("reporting.view_reports", raise_exception=True)
def payout_page(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "Payout statement",
        "params": request.GET,
        "seller_form": SellerPickerForm(initial={"seller": request.GET.get("seller")}),
    }
    raw_seller, raw_period = request.GET.get("seller", ""), request.GET.get("period", "")
    fmt = request.GET.get("format", "html")
    if not raw_seller and not raw_period:
        return render(request, "reporting/admin/payout.html", context)
    error = None
    seller = Seller.objects.filter(pk=int(raw_seller)).first() if raw_seller.isdigit() else None
    try:
        period = date.fromisoformat(f"{raw_period}-01")
    except ValueError:
        period = None
    if seller is None:
        error = "seller: choose a seller."
    elif period is None:
        error = "period: a month as YYYY-MM."
    elif fmt not in FORMATS:
        error = "format: html, csv or pdf."
    if error is not None or seller is None or period is None:
        context["error"] = error
        return render(request, "reporting/admin/payout.html", context, status=400)
    statements = payout_statements(seller=seller, period_start=period)
    name = f"payout-{seller.pk}-{period:%Y-%m}"
    if fmt == "csv":
        response = HttpResponse(payout_statement_csv(statements), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt == "pdf":
        pdf = payout_statement_pdf(statements, issuer=settings.OPERATOR_NAME)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response
    context.update({"statements": statements, "seller": seller, "period": period})
    return render(request, "reporting/admin/payout.html", context)
