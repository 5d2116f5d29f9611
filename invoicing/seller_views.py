"""Seller pages: a seller user's overview, orders, documents and embedded dashboard.

Every view takes the seller from the requester's membership (``seller_member_required``), never
from the URL or the query, so another seller's order or document id answers 404.
"""

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import ApplicationError
from invoicing import selectors, seller_entities
from invoicing.client import SpaceInvoicesError
from invoicing.models import Document, DocumentKind, DocumentState
from invoicing.seller_forms import DocumentFilterForm, OrderFilterForm
from invoicing.services import document_e_invoice, document_pdf
from marketplace.models import OrderStatus
from sellers import einvoicing
from sellers import selectors as seller_selectors
from sellers.branding import readable_text_colour
from sellers.models import SellerRole, SellerUser

PAGE_SIZE = 50
# Who moves orders and edits the catalogue on the seller's side (as marketplace.selectors).
MANAGERS = (SellerRole.ADMIN, SellerRole.EDITOR)

NOT_A_SELLER = (
    "These pages are for a seller's staff, and your account is not a member of any seller. "
    "Log in with your seller account, or ask your seller's admin to add you."
)
ADMINS_ONLY = (
    "Only seller admins can open the dashboard. Ask an admin of {seller} to open it for you "
    "or to make you an admin."
)
ORDER_NOT_FOUND = "This order does not exist or belongs to another seller."
DOCUMENT_NOT_FOUND = "This document does not exist or belongs to another seller."
NOT_ISSUED = "This document is not issued yet, so it has no PDF."
PDF_UNAVAILABLE = "The invoicing service did not send the PDF; try again in a minute."
E_INVOICE_UNAVAILABLE = "The invoicing service did not send the e-invoice; try again in a minute."
DASHBOARD_UNAVAILABLE = "The invoicing service did not open the dashboard; try again in a minute."

P = ParamSpec("P")
MemberView = Callable[Concatenate[HttpRequest, SellerUser, P], HttpResponse]


def seller_member_required(
    view: MemberView[P],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Log in first; then a member's view gets the membership, anyone else a 403 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        membership = seller_selectors.seller_membership_for_user(request.user)
        if membership is None:
            return _refuse(request, NOT_A_SELLER, status=403, title="Not a seller account")
        return view(request, membership, *args, **kwargs)

    return login_required(wrapped)


def _refuse(
    request: HttpRequest,
    message: str,
    *,
    status: int,
    title: str,
    membership: SellerUser | None = None,
) -> HttpResponse:
    context = {"title": title, "message": message, "membership": membership}
    return render(request, "sellers/refused.html", context, status=status)


def _page(
    request: HttpRequest,
    membership: SellerUser,
    template: str,
    context: dict[str, object],
    *,
    status: int = 200,
) -> HttpResponse:
    seller = membership.seller
    shared = {
        "membership": membership,
        "seller": seller,
        "text_colour": readable_text_colour(seller.primary_colour),
        "is_admin": membership.role == SellerRole.ADMIN,
    }
    return render(request, template, {**shared, **context}, status=status)


@require_GET
@seller_member_required
def overview(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    seller = membership.seller
    orders = selectors.seller_order_counts(seller)
    documents = selectors.seller_document_counts(seller)
    context = {
        "order_counts": [
            (status, OrderStatus(status).label, count) for status, count in orders.items()
        ],
        "states": [(state, DocumentState(state).label) for state in DocumentState.values],
        "document_counts": [
            (kind, DocumentKind(kind).label, list(counts.items()))
            for kind, counts in documents.items()
        ],
        "e_invoicing": einvoicing.readiness(
            str(seller.country), timezone.localdate(), seller.e_invoicing_settings
        ),
    }
    return _page(request, membership, "sellers/overview.html", context)


@require_GET
@seller_member_required
def order_list(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    form = OrderFilterForm(request.GET)
    if not form.is_valid():
        return _page(request, membership, "sellers/orders.html", {"form": form}, status=400)
    orders = selectors.seller_order_list(membership.seller, status=form.cleaned_data["status"])
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, membership, "sellers/orders.html", {"form": form, "page": page})


@require_GET
@seller_member_required
def order_detail(request: HttpRequest, membership: SellerUser, pk: int) -> HttpResponse:
    orders = selectors.seller_order_list(membership.seller).prefetch_related("lines")
    order = orders.filter(pk=pk).first()
    if order is None:
        return _refuse(
            request, ORDER_NOT_FOUND, status=404, title="Order not found", membership=membership
        )
    context = {"order": order, "can_manage": membership.role in MANAGERS}
    return _page(request, membership, "sellers/order.html", context)


@require_GET
@seller_member_required
def document_list(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    form = DocumentFilterForm(request.GET)
    if not form.is_valid():
        return _page(request, membership, "sellers/documents.html", {"form": form}, status=400)
    documents = selectors.seller_document_list(membership.seller, **form.cleaned_data)
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, membership, "sellers/documents.html", {"form": form, "page": page})


@require_GET
@seller_member_required
def document_pdf_download(request: HttpRequest, membership: SellerUser, pk: int) -> HttpResponse:
    document = selectors.seller_document_list(membership.seller).filter(pk=pk).first()
    filename = document.pdf_filename() if document is not None else ""
    return document_pdf_response(request, membership, document, filename)


def document_pdf_response(
    request: HttpRequest, membership: SellerUser, document: Document | None, filename: str
) -> HttpResponse:
    """One of the seller's documents as a PDF download (404 when it is not the seller's or not
    issued, 502 when Space Invoices does not answer)."""
    if document is None:
        return _refuse(
            request,
            DOCUMENT_NOT_FOUND,
            status=404,
            title="Document not found",
            membership=membership,
        )
    if document.state != DocumentState.ISSUED:
        return _refuse(request, NOT_ISSUED, status=404, title="No PDF yet", membership=membership)
    try:
        pdf = document_pdf(invoice=document)
    except SpaceInvoicesError:
        return _refuse(
            request, PDF_UNAVAILABLE, status=502, title="PDF unavailable", membership=membership
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@seller_member_required
def document_e_invoice_download(
    request: HttpRequest, membership: SellerUser, pk: int
) -> HttpResponse:
    """The document's e-invoice, under the same rules as its PDF."""
    document = selectors.seller_document_list(membership.seller).filter(pk=pk).first()
    if document is None:
        return _refuse(
            request,
            DOCUMENT_NOT_FOUND,
            status=404,
            title="Document not found",
            membership=membership,
        )
    if document.state != DocumentState.ISSUED:
        return _refuse(
            request,
            "This document is not issued yet, so it has no e-invoice.",
            status=404,
            title="No e-invoice yet",
            membership=membership,
        )
    try:
        xml, filename = document_e_invoice(
            invoice=document, e_format=request.GET.get("e_format", "")
        )
    except ApplicationError as error:
        return _refuse(
            request, error.message, status=400, title="Unknown format", membership=membership
        )
    except SpaceInvoicesError:
        return _refuse(
            request,
            E_INVOICE_UNAVAILABLE,
            status=502,
            title="E-invoice unavailable",
            membership=membership,
        )
    response = HttpResponse(xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
@seller_member_required
def dashboard(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    """GET offers the button; its POST mints a key and answers with the embedded dashboard.

    The key is rendered into this one answer and kept nowhere else, so there is no redirect
    after the POST: reloading mints a new key.
    """
    if membership.role != SellerRole.ADMIN:
        message = ADMINS_ONLY.format(seller=membership.seller.business_name)
        return _refuse(
            request, message, status=403, title="For seller admins", membership=membership
        )
    if request.method == "GET":
        return _dashboard_page(request, membership, {})
    assert isinstance(request.user, User)  # login_required let the request in
    try:
        access = seller_entities.seller_dashboard_access(
            seller=membership.seller, actor=request.user
        )
    except ApplicationError as error:
        return _dashboard_page(request, membership, {"error": error.message}, error.http_status)
    except SpaceInvoicesError:
        return _dashboard_page(request, membership, {"error": DASHBOARD_UNAVAILABLE}, 502)
    query = urlencode({"entityId": access.entity_id, "key": access.key})
    context = {"access": access, "frame_url": f"{access.dashboard_url}?{query}"}
    return _dashboard_page(request, membership, context)


def _dashboard_page(
    request: HttpRequest, membership: SellerUser, context: dict[str, object], status: int = 200
) -> HttpResponse:
    response = _page(request, membership, "sellers/dashboard.html", context, status=status)
    # The answer to the POST carries the key; no browser or proxy may keep it.
    response["Cache-Control"] = "no-store"
    return response
