"""The OSS return draft's pages and CSV: operators in admin for any seller
(`reporting.view_reports`), seller users for their own seller, which their membership fixes.

A page answers bad input with a 400 page naming the parameter; the CSV answers it, and a draft
blocked by a missing exchange rate, with JSON `{"detail", "field", "code"}` (400, 409), never HTML.
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.audit import audit_record
from core.errors import ApplicationError
from invoicing.seller_views import seller_member_required
from reporting.filings.oss import (
    CSV_VERSION,
    OssRequest,
    OssReturn,
    last_complete_quarter,
    oss_csv_text,
    oss_request_parse,
    oss_return,
)
from reporting.forms import SellerPickerForm
from sellers.branding import readable_text_colour
from sellers.models import Seller, SellerRole, SellerUser

_can_view_reports = permission_required("reporting.view_reports", raise_exception=True)


def _default_params(params: Mapping[str, str]) -> dict[str, str]:
    """The parameters, or the last complete quarter's when none are given."""
    if params:
        return dict(params)
    quarter = last_complete_quarter(timezone.localdate())
    return {"year": str(quarter.year), "quarter": str(quarter.number)}


def _draft(request: OssRequest, seller: Seller | None = None) -> OssReturn:
    """The draft of the seller the request names (operators) or of `seller` (seller users)."""
    chosen = seller or request.seller
    assert chosen is not None  # oss_request_parse requires one of operators
    return oss_return(seller=chosen, quarter=request.quarter)


def _csv_response(draft: OssReturn, *, actor: AbstractBaseUser | AnonymousUser) -> HttpResponse:
    if draft.blocked:
        missing = "; ".join(
            f"{m.currency} on {m.rate_date} ({len(m.documents)} documents)"
            for m in draft.missing_rates
        )
        return _json_error(
            ApplicationError(
                f"No euro exchange rate for {missing}: enter it in admin (Exchange rates) first.",
                field="currency",
                code="missing_rate",
                http_status=409,
            )
        )
    audit_record(
        action="export.downloaded",
        actor=actor,
        seller_id=draft.seller.pk,
        detail={"report": "oss", "quarter": str(draft.quarter)},
    )
    response = HttpResponse(oss_csv_text(draft), content_type="text/csv; charset=utf-8")
    name = f"oss-return-{draft.seller.pk}-{draft.quarter}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Export-Version"] = str(CSV_VERSION)
    response["Cache-Control"] = "no-store"
    return response


def _csv_url(route: str, draft: OssReturn, **seller: int) -> str:
    quarter = {"year": draft.quarter.year, "quarter": draft.quarter.number}
    return f"{reverse(route)}?{urlencode({**seller, **quarter})}"


def _json_error(error: ApplicationError) -> JsonResponse:
    body = {"detail": error.message, "field": error.field, "code": error.code}
    return JsonResponse(body, status=error.http_status)


@require_GET
@staff_member_required
@_can_view_reports
def oss_page(request: HttpRequest) -> HttpResponse:
    """The form alone until a seller is chosen, then the draft of the chosen quarter."""
    params = request.GET.dict()
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": "OSS return draft",
        "seller_form": SellerPickerForm(initial={"seller": params.get("seller")}),
    }
    if not params:
        context["params"] = _default_params(params)
        return render(request, "reporting/admin/oss.html", context)
    context["params"] = params
    try:
        draft = _draft(oss_request_parse(params, operator=True))
    except ApplicationError as error:
        context["error"] = f"{error.field}: {error.message}"
        return render(request, "reporting/admin/oss.html", context, status=400)
    csv_url = _csv_url("reports-oss-csv", draft, seller=draft.seller.pk)
    return render(
        request, "reporting/admin/oss.html", {**context, "draft": draft, "csv_url": csv_url}
    )


@require_GET
@staff_member_required
@_can_view_reports
def oss_csv(request: HttpRequest) -> HttpResponse:
    try:
        request_ = oss_request_parse(request.GET.dict(), operator=True)
    except ApplicationError as error:
        return _json_error(error)
    return _csv_response(_draft(request_), actor=request.user)


def _seller_page(
    request: HttpRequest, membership: SellerUser, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    seller = membership.seller
    shared = {
        "membership": membership,
        "seller": seller,
        "text_colour": readable_text_colour(seller.primary_colour),
        "is_admin": membership.role == SellerRole.ADMIN,
    }
    return render(request, "reporting/seller/oss.html", {**shared, **context}, status=status)


@require_GET
@seller_member_required
def seller_oss_page(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    params = _default_params(request.GET.dict())
    context: dict[str, Any] = {"params": params}
    try:
        parsed = oss_request_parse(params, operator=False)
    except ApplicationError as error:
        context["error"] = f"{error.field}: {error.message}"
        return _seller_page(request, membership, context, status=400)
    draft = _draft(parsed, membership.seller)
    context.update(draft=draft, csv_url=_csv_url("seller-oss-csv", draft))
    return _seller_page(request, membership, context)


@require_GET
@seller_member_required
def seller_oss_csv(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    try:
        parsed = oss_request_parse(request.GET.dict(), operator=False)
    except ApplicationError as error:
        return _json_error(error)
    return _csv_response(_draft(parsed, membership.seller), actor=request.user)
