"""Seller pages of the operator's documents: the seller's commission invoices and credit notes
(with their PDFs and the order annex) and its monthly payout statements (page, CSV, PDF).

Like every seller page, the seller comes from the requester's membership, never from the URL.
"""

from datetime import date

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from invoicing.commission_invoices import (
    commission_annex_csv,
    commission_documents_for_seller,
    payout_months,
    payout_statement_csv,
    payout_statements,
)
from invoicing.payout_pdf import payout_statement_pdf
from invoicing.seller_views import (
    _page,
    _refuse,
    document_pdf_response,
    seller_member_required,
)
from sellers.models import SellerUser


def month_from_url(year: int, month: int) -> date:
    if not 1 <= month <= 12 or not 2000 <= year <= 2999:
        raise Http404("No such month.")
    return date(year, month, 1)


@require_GET
@seller_member_required
def commission_list(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    seller = membership.seller
    context: dict[str, object] = {
        "documents": commission_documents_for_seller(seller),
        "months": payout_months(seller),
    }
    return _page(request, membership, "sellers/commission.html", context)


@require_GET
@seller_member_required
def commission_pdf(request: HttpRequest, membership: SellerUser, pk: int) -> HttpResponse:
    document = commission_documents_for_seller(membership.seller).filter(pk=pk).first()
    filename = f"commission-{document.number}.pdf" if document is not None else ""
    return document_pdf_response(request, membership, document, filename)


@require_GET
@seller_member_required
def payout_statement(
    request: HttpRequest, membership: SellerUser, year: int, month: int
) -> HttpResponse:
    period = month_from_url(year, month)
    statements = payout_statements(seller=membership.seller, period_start=period)
    fmt = request.GET.get("format", "html")
    name = f"payout-{membership.seller.pk}-{period:%Y-%m}"
    if fmt == "csv":
        response = HttpResponse(payout_statement_csv(statements), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt == "pdf":
        pdf = payout_statement_pdf(statements, issuer=settings.OPERATOR_NAME)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return response
    if fmt == "annex":
        annex = commission_annex_csv(seller=membership.seller, period_start=period)
        response = HttpResponse(annex, content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="commission-annex-{period:%Y-%m}.csv"'
        )
        return response
    if fmt != "html":
        return _refuse(
            request,
            "format: html, csv, pdf or annex.",
            status=400,
            title="Unknown format",
            membership=membership,
        )
    context = {"statements": statements, "period": period}
    return _page(request, membership, "sellers/payout.html", context)
