"""The EC Sales List pages and CSV: operators in admin (any seller), seller users (their own).

A seller user's seller comes from its membership (`seller_member_required`), never from the
request: its pages refuse a `seller` parameter like any other unknown one.
"""

import csv
import io
from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.audit import audit_record
from core.errors import ApplicationError
from invoicing.seller_views import seller_member_required
from reporting.filings.ecsl import EcSalesList, ec_sales_list, quarter_parse
from reporting.forms import SellerPickerForm
from sellers.branding import readable_text_colour
from sellers.models import Seller, SellerRole, SellerUser

# The CSV's layout (reporting/README.md): change the columns only with the version.
ECSL_CSV_VERSION = 1
ECSL_COLUMNS = (
    "seller_id",
    "seller_tax_number",
    "quarter",
    "customer_country",
    "customer_vat_number",
    "supply_kind",
    "net_eur",
    "invoice_count",
    "credit_note_count",
)
_OPERATOR_PARAMETERS = ("seller", "quarter")
_SELLER_PARAMETERS = ("quarter",)


def _refuse_unknown(params: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    for name in params:
        if name not in allowed:
            raise ApplicationError(
                f"Unknown parameter {name[:40]!r}; use {', '.join(allowed)}.", field=name[:40]
            )


def _seller_parse(value: str | None) -> Seller:
    text = (value or "").strip()
    if not text:
        raise ApplicationError("Choose a seller for its list.", field="seller", code="required")
    seller_id = int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else 0
    seller = Seller.objects.filter(pk=seller_id).first() if seller_id else None
    if seller is None:
        raise ApplicationError(f"There is no seller {text[:40]!r}.", field="seller")
    return seller


def _operator_list(params: Mapping[str, str]) -> EcSalesList:
    _refuse_unknown(params, _OPERATOR_PARAMETERS)
    quarter = quarter_parse(params.get("quarter"))
    return ec_sales_list(seller=_seller_parse(params.get("seller")), quarter=quarter)


def _member_list(params: Mapping[str, str], seller: Seller) -> EcSalesList:
    _refuse_unknown(params, _SELLER_PARAMETERS)
    return ec_sales_list(seller=seller, quarter=quarter_parse(params.get("quarter")))


def _csv_response(listing: EcSalesList, *, actor: AbstractBaseUser | AnonymousUser) -> HttpResponse:
    seller = listing.seller
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(ECSL_COLUMNS)
    for row in listing.rows:
        writer.writerow(
            (
                seller.pk,
                seller.tax_number,
                str(listing.quarter),
                row.customer_country,
                row.customer_vat_number,
                row.supply_kind,
                format(row.net, "f"),
                row.invoices,
                row.credit_notes,
            )
        )
    audit_record(
        action="export.downloaded",
        actor=actor,
        seller_id=seller.pk,
        detail={"report": "ec_sales_list", "quarter": str(listing.quarter)},
    )
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"ec-sales-list-{seller.pk}-{listing.quarter}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Export-Version"] = str(ECSL_CSV_VERSION)
    response["Cache-Control"] = "no-store"
    return response


def _csv_error(error: ApplicationError) -> JsonResponse:
    body = {"detail": error.message, "field": error.field, "code": error.code}
    return JsonResponse(body, status=error.http_status)


@require_GET
@staff_member_required
@permission_required("reporting.view_reports", raise_exception=True)
def ecsl_page(request: HttpRequest) -> HttpResponse:
    """The list of the seller and quarter asked for; an empty form before anything is asked."""
    params = request.GET.dict()
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "EC Sales List",
        "params": params,
        "seller_form": SellerPickerForm(initial={"seller": params.get("seller")}),
    }
    status = 200
    if params:
        try:
            context["listing"] = _operator_list(params)
        except ApplicationError as error:
            context["error"] = f"{error.field}: {error.message}"
            status = 400
    return render(request, "reporting/admin/ecsl.html", context, status=status)


@require_GET
@staff_member_required
@permission_required("reporting.export_reports", raise_exception=True)
def ecsl_csv(request: HttpRequest) -> HttpResponse:
    try:
        listing = _operator_list(request.GET.dict())
    except ApplicationError as error:
        return _csv_error(error)
    return _csv_response(listing, actor=request.user)


def _member_context(membership: SellerUser) -> dict[str, Any]:
    """What the seller pages' layout shows (invoicing/templates/sellers/layout.html)."""
    seller = membership.seller
    return {
        "membership": membership,
        "seller": seller,
        "text_colour": readable_text_colour(seller.primary_colour),
        "is_admin": membership.role == SellerRole.ADMIN,
    }


@require_GET
@seller_member_required
def seller_ecsl_page(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    params = request.GET.dict()
    context: dict[str, Any] = {**_member_context(membership), "params": params}
    status = 200
    if params:
        try:
            context["listing"] = _member_list(params, membership.seller)
        except ApplicationError as error:
            context["error"] = f"{error.field}: {error.message}"
            status = 400
    return render(request, "reporting/seller/ecsl.html", context, status=status)


@require_GET
@seller_member_required
def seller_ecsl_csv(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    try:
        listing = _member_list(request.GET.dict(), membership.seller)
    except ApplicationError as error:
        return _csv_error(error)
    return _csv_response(listing, actor=request.user)
