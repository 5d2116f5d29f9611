"""Operators' actions on one order in admin, each a confirmation page and its POST: record a
payment received offline with its reference (audited), fulfil, cancel and refund chosen lines
(showing the credit note a cancel or refund writes, invoicing.order_previews). They call the
services the API calls (marketplace.services); the order's page links them.

And the retry of one failed document from its own page (invoicing.services.document_retry).
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from core.errors import ApplicationError
from invoicing import services as documents
from invoicing.models import Document, DocumentState
from invoicing.order_previews import cancel_preview, refund_preview
from invoicing.seller_order_actions import CONFIRM, RefundForm
from marketplace import refunds
from marketplace import services as orders
from marketplace.admin import PaymentReferenceForm
from marketplace.models import Order

ACTIONS = {
    "pay": ("Record a payment received for", "Yes, the payment was received"),
    "fulfil": ("Fulfil", "Yes, fulfil"),
    "cancel": ("Cancel", "Yes, cancel"),
    "refund": ("Refund lines of", "Yes, refund"),
}


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # admin_view let an operator in
    return request.user


def _order_page(
    request: HttpRequest,
    model_admin: admin.ModelAdmin[Any],
    order: Order,
    action: str,
    context: dict[str, object],
    status: int = 200,
) -> TemplateResponse:
    title, button = ACTIONS[action]
    return TemplateResponse(
        request,
        "admin/invoicing/order_action.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": Order._meta,
            "title": f"{title} order {order.pk}?",
            "order": order,
            "action": action,
            "button": button,
            **context,
        },
        status=status,
    )


def _done(request: HttpRequest, order: Order, message: str) -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse("admin:marketplace_order_change", args=[order.pk]))


def order_action_view(
    request: HttpRequest, model_admin: admin.ModelAdmin[Any], object_id: str, action: str
) -> HttpResponse:
    """GET: the confirmation page. POST: the action (refund: first the credit note's preview,
    then with `confirm` the refund)."""
    order = get_object_or_404(Order.objects.prefetch_related("lines"), pk=object_id)
    context: dict[str, object] = {}
    form: forms.Form | None = None
    try:
        if action == "pay":
            form = PaymentReferenceForm(request.POST or None)
            context["form"] = form
            if request.method == "POST" and form.is_valid():
                reference = form.cleaned_data["reference"]
                orders.order_mark_paid(
                    order_id=order.pk, actor=_actor(request), reference=reference
                )
                return _done(request, order, f"Order {order.pk} is paid (reference {reference}).")
        elif action == "fulfil" and request.method == "POST":
            orders.order_fulfil(order_id=order.pk, actor=_actor(request))
            return _done(request, order, f"Order {order.pk} is fulfilled.")
        elif action == "cancel":
            if request.method == "POST":
                refunds.order_cancel_request(order_id=order.pk, actor=_actor(request))
                return _done(request, order, f"Order {order.pk} is cancelled.")
            context["preview"] = cancel_preview(order_id=order.pk)
        elif action == "refund":
            return _refund(request, model_admin, order)
    except ApplicationError as error:
        context["error"] = error.message
        return _order_page(request, model_admin, order, action, context, status=400)
    status = 400 if form is not None and form.is_bound else 200
    return _order_page(request, model_admin, order, action, context, status=status)


def _refund(request: HttpRequest, model_admin: admin.ModelAdmin[Any], order: Order) -> HttpResponse:
    lines = list(order.lines.all())
    form = RefundForm(request.POST if request.method == "POST" else None, lines=lines)
    context: dict[str, object] = {"form": form}
    if request.method == "GET":
        return _order_page(request, model_admin, order, "refund", context)
    if not form.is_valid():
        return _order_page(request, model_admin, order, "refund", context, status=400)
    refund = form.refund_lines()
    try:
        if CONFIRM in request.POST:
            refunds.order_refund_request(order_id=order.pk, lines=refund, actor=_actor(request))
            return _done(request, order, f"The refund of order {order.pk} is recorded.")
        context["preview"] = refund_preview(order_id=order.pk, lines=refund)
    except ApplicationError as error:
        form.add_service_error(error, refund)
        return _order_page(request, model_admin, order, "refund", context, status=400)
    context["confirming"] = True
    return _order_page(request, model_admin, order, "refund", context)


def document_retry_view(
    request: HttpRequest, model_admin: admin.ModelAdmin[Any], object_id: str
) -> HttpResponse:
    """The retry of one failed document from its page: asked first, then queued (audited by
    document_retry); a credit note that no longer fits is refused with the reason."""
    document = get_object_or_404(Document, pk=object_id)
    change_url = reverse("admin:invoicing_document_change", args=[document.pk])
    if document.state != DocumentState.FAILED:
        messages.warning(request, f"Document {document.pk} is {document.state}: nothing to retry.")
        return redirect(change_url)
    error = ""
    if request.method == "POST":
        try:
            documents.document_retry(invoice_id=document.pk, actor=_actor(request))
        except ApplicationError as refused:
            error = refused.message
        else:
            messages.success(request, f"Document {document.pk} is queued for retry.")
            return redirect(change_url)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Document._meta,
        "title": f"Retry document {document.pk}?",
        "document": document,
        "error": error,
    }
    return TemplateResponse(
        request, "admin/invoicing/document_retry.html", context, status=400 if error else 200
    )
