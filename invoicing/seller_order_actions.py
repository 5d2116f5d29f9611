"""Seller pages that move an order: fulfil, cancel, refund chosen lines and quantities.

Each asks first: a confirmation page, showing for a cancel or refund the credit note it would
write (invoicing.order_previews, a dry run of the same services), then the POST that confirms
it calls the service the API calls (marketplace.services). Only the seller's admins and editors
reach them (marketplace.selectors.orders_managed_by, as the API); any other order is 404.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from invoicing.order_previews import cancel_preview, refund_preview
from invoicing.seller_views import ORDER_NOT_FOUND, _page, _refuse, seller_member_required
from marketplace import refunds
from marketplace import selectors as order_selectors
from marketplace import services as orders
from marketplace.models import Order, OrderLine
from sellers.models import SellerUser

CONFIRM = "confirm"


def _managed_order(request: HttpRequest, membership: SellerUser, pk: int) -> Order | None:
    managed = order_selectors.orders_managed_by(request.user).filter(seller=membership.seller)
    return managed.prefetch_related("lines").filter(pk=pk).first()


def _not_found(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    return _refuse(
        request, ORDER_NOT_FOUND, status=404, title="Order not found", membership=membership
    )


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # seller_member_required logged the user in
    return request.user


@require_http_methods(["GET", "POST"])
@seller_member_required
def order_fulfil(request: HttpRequest, membership: SellerUser, pk: int) -> HttpResponse:
    order = _managed_order(request, membership, pk)
    if order is None:
        return _not_found(request, membership)
    context: dict[str, object] = {"order": order, "action": "fulfil"}
    if request.method == "POST":
        try:
            orders.order_fulfil(order_id=order.pk, actor=_actor(request))
        except ApplicationError as error:
            context["error"] = error.message
            return _page(request, membership, "sellers/order_confirm.html", context, status=400)
        messages.success(request, f"Order #{order.pk} is fulfilled.")
        return redirect("seller:order", pk=order.pk)
    return _page(request, membership, "sellers/order_confirm.html", context)


@require_http_methods(["GET", "POST"])
@seller_member_required
def order_cancel(request: HttpRequest, membership: SellerUser, pk: int) -> HttpResponse:
    order = _managed_order(request, membership, pk)
    if order is None:
        return _not_found(request, membership)
    context: dict[str, object] = {"order": order, "action": "cancel"}
    try:
        if request.method == "POST":
            refunds.order_cancel_request(order_id=order.pk, actor=_actor(request))
            messages.success(request, f"Order #{order.pk} is cancelled.")
            return redirect("seller:order", pk=order.pk)
        context["preview"] = cancel_preview(order_id=order.pk)
    except ApplicationError as error:
        context["error"] = error.message
        return _page(request, membership, "sellers/order_confirm.html", context, status=400)
    return _page(request, membership, "sellers/order_confirm.html", context)


class RefundForm(forms.Form):
    """One quantity per line of the order, 0 for lines not refunded."""

    def __init__(self, *args: object, lines: list[OrderLine], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.order_lines = lines
        for line in lines:
            self.fields[self.field_name(line)] = forms.IntegerField(
                label=f"{line.name} ({line.quantity} sold at {line.unit_price})",
                min_value=0,
                max_value=line.quantity,
                initial=0,
            )

    @staticmethod
    def field_name(line: OrderLine) -> str:
        return f"line_{line.pk}"

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if not self.errors and not self.refund_lines():
            raise forms.ValidationError("Choose at least one line and quantity to refund.")
        return cleaned

    def refund_lines(self) -> list[orders.RefundLine]:
        return [
            orders.RefundLine(line.pk, quantity)
            for line in self.order_lines
            if (quantity := self.cleaned_data.get(self.field_name(line)) or 0) > 0
        ]

    def add_service_error(self, error: ApplicationError, lines: list[orders.RefundLine]) -> None:
        """The service names `lines[i].quantity`: put its message next to that line's field."""
        field = None
        if error.field and error.field.startswith("lines["):
            index = int(error.field[len("lines[") : error.field.index("]")])
            if index < len(lines):
                field = f"line_{lines[index].line_id}"
        self.add_error(field, error.message)


@require_http_methods(["GET", "POST"])
@seller_member_required
def order_refund(request: HttpRequest, membership: SellerUser, pk: int) -> HttpResponse:
    """GET: the quantities form. POST: the confirmation with the credit note it would write;
    POST with `confirm`: the refund."""
    order = _managed_order(request, membership, pk)
    if order is None:
        return _not_found(request, membership)
    lines = list(order.lines.all())
    if request.method == "GET":
        form = RefundForm(lines=lines)
        return _page(
            request, membership, "sellers/order_refund.html", {"order": order, "form": form}
        )
    form = RefundForm(request.POST, lines=lines)
    context = {"order": order, "form": form}
    if not form.is_valid():
        return _page(request, membership, "sellers/order_refund.html", context, status=400)
    refund = form.refund_lines()
    try:
        if CONFIRM in request.POST:
            refunds.order_refund_request(order_id=order.pk, lines=refund, actor=_actor(request))
            messages.success(request, f"The refund of order #{order.pk} is recorded.")
            return redirect("seller:order", pk=order.pk)
        preview = refund_preview(order_id=order.pk, lines=refund)
    except ApplicationError as error:
        form.add_service_error(error, refund)
        return _page(request, membership, "sellers/order_refund.html", context, status=400)
    names = {line.pk: line.name for line in lines}
    context |= {
        "confirming": True,
        "preview": preview,
        "refund": [(names[line.line_id], line.quantity) for line in refund],
    }
    return _page(request, membership, "sellers/order_refund.html", context)
