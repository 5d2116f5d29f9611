"""Refunds and cancellations of seller orders paid through a payment provider.

A seller or an operator refunds lines of a paid order (or cancels a paid order) as before; when
the checkout was paid through a provider, the money goes back through it first:

1. the request is checked (lines of this order, quantities left to refund) and written as a
   pending ProviderRefund, committed;
2. the provider is asked to refund its amount (an idempotency key per row);
3. when the provider confirms (its answer, or its webhook event, whichever comes first), the
   refund is applied exactly once under the row's lock: the credit note (or fewer units left to
   invoice; for a cancellation the order is cancelled), then the seller's transfer is reversed
   by the same amount after commit.

A checkout paid otherwise (offline, recorded by an operator) is refunded at once, as before.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model, Sum
from django.utils import timezone

from core.errors import ApplicationError
from marketplace import services, tasks
from marketplace.models import (
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentOutcome,
    ProviderRefund,
    ProviderRefundKind,
    ProviderRefundStatus,
)
from marketplace.payment_providers import provider_named
from marketplace.pricing import PricedLine, order_totals
from marketplace.services import RefundLine

logger = logging.getLogger(__name__)

OPEN_OR_DONE = [ProviderRefundStatus.PENDING, ProviderRefundStatus.SUCCEEDED]


def _provider_payment(order: Order) -> Payment | None:
    return Payment.objects.filter(
        checkout_id=order.checkout_id, outcome=PaymentOutcome.PAID
    ).first()


def order_refund_request(
    *, order_id: int, lines: Sequence[RefundLine], actor: User | None = None
) -> Model | ProviderRefund | None:
    """Refund quantities of a paid order: through the provider that took the payment, or at
    once when it was paid offline (services.order_refund)."""
    order = Order.objects.get(pk=order_id)
    payment = _provider_payment(order)
    if payment is None:
        return services.order_refund(order_id=order_id, lines=lines, actor=actor)
    with transaction.atomic():
        order = Order.objects.select_for_update(no_key=True).get(pk=order_id)
        services.refuse_while_refund_pending(order)
        refunded = _refund_lines_check(order, lines)
        amount = _refund_amount(order, refunded)
        if amount <= 0:
            raise ApplicationError(
                f"Nothing is left to refund of order {order.pk}.", field="lines", code="over_refund"
            )
        refund = ProviderRefund.objects.create(
            order=order,
            kind=ProviderRefundKind.REFUND,
            lines={str(line.pk): quantity for line, quantity in refunded},
            amount=amount,
            currency=order.currency,
            requested_by=actor,
        )
    provider_named(payment.provider).refund_send(refund=refund)
    refund.refresh_from_db()
    return refund


def order_cancel_request(*, order_id: int, actor: User | None = None) -> Order:
    """Cancel an order; a paid one's payment still held goes back through its provider first."""
    order = Order.objects.get(pk=order_id)
    payment = _provider_payment(order)
    if payment is None or order.paid_at is None:
        return services.order_cancel(order_id=order_id, actor=actor)
    with transaction.atomic():
        order = Order.objects.select_for_update(no_key=True).get(pk=order_id)
        if order.status not in (OrderStatus.PLACED, OrderStatus.PAID):
            raise ApplicationError(
                f"A {order.status} order cannot become cancelled.", field="status", code="conflict"
            )
        services.refuse_while_refund_pending(order)
        left = order.total_gross - _refunded_amount(order)
        if left <= 0:
            return services.order_cancel(order_id=order_id, actor=actor)
        refund = ProviderRefund.objects.create(
            order=order,
            kind=ProviderRefundKind.CANCEL,
            amount=left,
            currency=order.currency,
            requested_by=actor,
        )
    provider_named(payment.provider).refund_send(refund=refund)
    return Order.objects.get(pk=order_id)


def _refund_amount(order: Order, refunded: list[tuple[OrderLine, int]]) -> Decimal:
    """What a refund of these units returns to the buyer: their gross, rounded as the order was,
    except that the refund of the order's last units returns exactly what is left of its total.
    Refunds unit by unit would otherwise round past it (3 x 8.157 is 24.47, 3 refunds of 8.16
    are 24.48); the credit note of those last units credits the same balance."""
    left = order.total_gross - _refunded_amount(order)
    priced = [PricedLine(q, line.unit_price, line.tax_rate) for line, q in refunded]
    units_left = sum(line.quantity for line in order.lines.all()) - _refunded_units(order)
    if sum(q for _, q in refunded) == units_left:
        return left
    return min(order_totals(priced, order.currency).gross, left)


def _refunded_units(order: Order) -> int:
    return sum(
        int(quantity)
        for earlier in order.provider_refunds.filter(status__in=OPEN_OR_DONE)
        for quantity in earlier.lines.values()
    )


def _refunded_amount(order: Order) -> Decimal:
    total = order.provider_refunds.filter(status__in=OPEN_OR_DONE).aggregate(s=Sum("amount"))["s"]
    return total or Decimal(0)


def _refund_lines_check(order: Order, lines: Sequence[RefundLine]) -> list[tuple[OrderLine, int]]:
    """The order's lines and quantities to refund, checked against what was refunded through the
    provider before (pending included): named errors, nothing written."""
    if not lines:
        raise ApplicationError("Name at least one line to refund.", field="lines")
    if order.paid_at is None or order.status == OrderStatus.CANCELLED:
        raise ApplicationError(
            f"Only a paid order can be refunded; this one is {order.status}.",
            field="status",
            code="conflict",
        )
    order_lines = {line.pk: line for line in order.lines.all()}
    before: dict[int, int] = defaultdict(int)
    for earlier in order.provider_refunds.filter(status__in=OPEN_OR_DONE):
        for line_id, quantity in earlier.lines.items():
            before[int(line_id)] += int(quantity)
    asked: dict[int, int] = defaultdict(int)
    for index, line in enumerate(lines):
        order_line = order_lines.get(line.line_id)
        if order_line is None:
            raise ApplicationError(
                f"Line {line.line_id} is not part of order {order.pk}.",
                field=f"lines[{index}].line_id",
            )
        if line.quantity < 1:
            raise ApplicationError("Quantity must be at least 1.", field=f"lines[{index}].quantity")
        asked[line.line_id] += line.quantity
        left = order_line.quantity - before[line.line_id]
        if asked[line.line_id] > left:
            raise ApplicationError(
                f"Only {left} of {order_line.quantity} '{order_line.name}' can still be refunded.",
                field=f"lines[{index}].quantity",
                code="over_refund",
            )
    return [(order_lines[line_id], quantity) for line_id, quantity in asked.items()]


def provider_refund_confirm(*, refund_id: int, provider_refund_id: str) -> bool:
    """The provider confirmed the refund: apply it, once. True when this call applied it."""
    with transaction.atomic():
        refund = ProviderRefund.objects.select_for_update().get(pk=refund_id)
        if refund.status != ProviderRefundStatus.PENDING:
            return False
        refund.status = ProviderRefundStatus.SUCCEEDED
        refund.provider_refund_id = provider_refund_id
        refund.confirmed_at = timezone.now()
        refund.save(update_fields=["status", "provider_refund_id", "confirmed_at"])
        if refund.kind == ProviderRefundKind.CANCEL:
            services.order_cancel(order_id=refund.order_id, actor=refund.requested_by)
        else:
            services.order_refund(
                order_id=refund.order_id,
                lines=[RefundLine(int(line_id), int(q)) for line_id, q in refund.lines.items()],
                actor=refund.requested_by,
            )
        # Robust: the refund stays applied whatever happens to this enqueue; a reversal not
        # made shows on the reconciliation page.
        transaction.on_commit(lambda: tasks.seller_transfer_reverse.delay(refund_id), robust=True)
    return True


def provider_refund_fail(*, refund_id: int, reason: str) -> None:
    updated = ProviderRefund.objects.filter(
        pk=refund_id, status=ProviderRefundStatus.PENDING
    ).update(status=ProviderRefundStatus.FAILED, failure_reason=reason[:300])
    if updated:
        logger.warning("refund %s refused by the provider", refund_id)
