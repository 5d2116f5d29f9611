"""The buyer's order pages: each order of a checkout with the state of its invoice and credit
notes (polled until settled), and their PDFs. Invoicing's pages, mounted in the storefront's
namespace by marketplace/urls.py (invoicing/storefront/urls.py)."""

import uuid
from collections.abc import Callable
from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from core.errors import ApplicationError
from invoicing.client import SpaceInvoicesError
from invoicing.models import Document, DocumentState
from invoicing.services import document_e_invoice, document_pdf
from invoicing.storefront import selectors
from invoicing.storefront.cards import OrderCard, cards_json, cards_settled, order_cards
from marketplace import services
from marketplace.models import Checkout, Order
from marketplace.storefront.guest import GuestLinkExpired, guest_orders_ref
from marketplace.storefront.selectors import checkout_by_ref
from marketplace.storefront.views.common import (
    CHECKOUT_NOT_FOUND,
    not_found,
    refuse,
    visible_checkout,
)

ORDERS_PAGE_SIZE = 10


def _orders_page(
    request: HttpRequest,
    cards: list[OrderCard],
    *,
    poll_url: str,
    heading: str,
    **context: object,
) -> HttpResponse:
    context = {
        "cards": cards,
        "settled": cards_settled(cards),
        "poll_url": poll_url,
        "heading": heading,
        **context,
    }
    return render(request, "storefront/orders.html", context)


def _checkout_pdf_url(ref: uuid.UUID) -> Callable[[Document], str]:
    return lambda document: reverse("storefront:checkout-document-pdf", args=[ref, document.pk])


def _guest_pdf_url(token: str) -> Callable[[Document], str]:
    return lambda document: reverse("storefront:guest-document-pdf", args=[token, document.pk])


@require_GET
def checkout_orders(request: HttpRequest, ref: uuid.UUID) -> HttpResponse:
    """The confirmation page: one card per seller's order, with its invoice's state."""
    found = visible_checkout(request, ref)
    if found is None:
        return not_found(request, CHECKOUT_NOT_FOUND)
    orders = selectors.checkout_orders(found)
    return _orders_page(
        request,
        order_cards(orders, _checkout_pdf_url(ref), payment_hint=request.GET.get("payment", "")),
        poll_url=reverse("storefront:checkout-orders-status", args=[ref]),
        heading="Your order",
        checkout=found,
        guest=services.buyer_is_guest(found.buyer),
    )


@require_GET
def checkout_orders_status(request: HttpRequest, ref: uuid.UUID) -> JsonResponse:
    found = visible_checkout(request, ref)
    if found is None:
        return JsonResponse({"detail": CHECKOUT_NOT_FOUND}, status=404)
    cards = order_cards(selectors.checkout_orders(found), _checkout_pdf_url(ref))
    return JsonResponse(cards_json(cards))


GUEST_LINK_INVALID = (
    "This order link is not valid. Copy the whole link from your order email, "
    "or contact us if it still does not open."
)


def _guest_link_expired_message() -> str:
    return (
        "This order link has expired: the link in your order email works for "
        f"{settings.GUEST_LINK_MAX_AGE_DAYS} days. To get a new one, reply to your order email "
        f"or write to {_orders_contact_address()} from the address you ordered with."
    )


def _orders_contact_address() -> str:
    """Where buyers write about their orders: the address order emails come from."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def _guest_checkout(token: str) -> Checkout | None:
    """The guest checkout a link names; raises GuestLinkExpired for an outdated link."""
    ref = guest_orders_ref(token)
    found = checkout_by_ref(ref) if ref is not None else None
    if found is None or not services.buyer_is_guest(found.buyer):
        return None
    return found


def _guest_page_checkout(request: HttpRequest, token: str) -> Checkout | HttpResponse:
    """The guest checkout a link names, or the page refusing the link (expired: 410, else 404)."""
    try:
        found = _guest_checkout(token)
    except GuestLinkExpired:
        context = {"message": _guest_link_expired_message(), "contact": _orders_contact_address()}
        return render(request, "storefront/guest_link_expired.html", context, status=410)
    return found if found is not None else not_found(request, GUEST_LINK_INVALID)


@require_GET
def guest_orders(request: HttpRequest, token: str) -> HttpResponse:
    found = _guest_page_checkout(request, token)
    if isinstance(found, HttpResponse):
        return found
    return _orders_page(
        request,
        order_cards(selectors.checkout_orders(found), _guest_pdf_url(token)),
        poll_url=reverse("storefront:guest-orders-status", args=[token]),
        heading="Your order",
        checkout=found,
    )


@require_GET
def guest_orders_status(request: HttpRequest, token: str) -> JsonResponse:
    try:
        found = _guest_checkout(token)
    except GuestLinkExpired:
        return JsonResponse({"detail": _guest_link_expired_message()}, status=410)
    if found is None:
        return JsonResponse({"detail": GUEST_LINK_INVALID}, status=404)
    cards = order_cards(selectors.checkout_orders(found), _guest_pdf_url(token))
    return JsonResponse(cards_json(cards))


def _my_orders_page(request: HttpRequest) -> tuple[list[OrderCard], Page[Order]]:
    if not isinstance(request.user, User):
        raise PermissionDenied
    orders = selectors.buyer_orders(request.user)
    page = Paginator(orders, ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    cards = order_cards(page.object_list, _own_pdf_url)
    return cards, page


def _own_pdf_url(document: Document) -> str:
    ref = document.sale_order.checkout.public_id
    return reverse("storefront:checkout-document-pdf", args=[ref, document.pk])


@login_required
@require_GET
def my_orders(request: HttpRequest) -> HttpResponse:
    cards, page = _my_orders_page(request)
    poll_url = reverse("storefront:my-orders-status") + f"?page={page.number}"
    return _orders_page(request, cards, poll_url=poll_url, heading="My orders", page=page)


@login_required
@require_GET
def my_orders_status(request: HttpRequest) -> JsonResponse:
    cards, _ = _my_orders_page(request)
    return JsonResponse(cards_json(cards))


# Documents


@require_GET
def checkout_document_pdf(request: HttpRequest, ref: uuid.UUID, pk: int) -> HttpResponse:
    found = visible_checkout(request, ref)
    if found is None:
        return not_found(request, CHECKOUT_NOT_FOUND)
    return _pdf_response(request, found, pk)


@require_GET
def guest_document_pdf(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    found = _guest_page_checkout(request, token)
    if isinstance(found, HttpResponse):
        return found
    return _pdf_response(request, found, pk)


@require_GET
def checkout_document_e_invoice(request: HttpRequest, ref: uuid.UUID, pk: int) -> HttpResponse:
    found = visible_checkout(request, ref)
    if found is None:
        return not_found(request, CHECKOUT_NOT_FOUND)
    return _e_invoice_response(request, found, pk)


@require_GET
def guest_document_e_invoice(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    found = _guest_page_checkout(request, token)
    if isinstance(found, HttpResponse):
        return found
    return _e_invoice_response(request, found, pk)


def _e_invoice_response(request: HttpRequest, found: Checkout, pk: int) -> HttpResponse:
    """The document's e-invoice, under the same rules as its PDF (``_pdf_response``)."""
    document = (
        Document.sales.select_related("order__seller", "seller")
        .filter(pk=pk, order__checkout=found)
        .first()
    )
    if document is None or document.state != DocumentState.ISSUED:
        return not_found(request, "This document is not issued (yet) for this order.")
    try:
        xml, filename = document_e_invoice(
            invoice=document, e_format=request.GET.get("e_format", "")
        )
    except ApplicationError as error:
        return refuse(request, error.message, status=400, title="Unknown format")
    except SpaceInvoicesError:
        return refuse(
            request,
            "The invoicing service did not send the e-invoice; try again in a minute.",
            status=502,
            title="E-invoice unavailable",
        )
    response = HttpResponse(xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _pdf_response(request: HttpRequest, found: Checkout, pk: int) -> HttpResponse:
    document = (
        Document.sales.select_related("order__seller").filter(pk=pk, order__checkout=found).first()
    )
    if document is None or document.state != DocumentState.ISSUED:
        return not_found(request, "This document is not issued (yet) for this order.")
    try:
        pdf = document_pdf(invoice=document)
    except SpaceInvoicesError:
        return refuse(
            request,
            "The invoicing service did not send the PDF; try again in a minute.",
            status=502,
            title="PDF unavailable",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.pdf_filename()}"'
    return response
