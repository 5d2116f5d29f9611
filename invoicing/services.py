"""Invoice issuance: the outbox row, the remote create, and the mirror of its answer."""

import logging
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from invoicing import gateway
from invoicing.client import (
    Document,
    DocumentCreate,
    SpaceInvoicesClient,
    SpaceInvoicesError,
    Transient,
)
from invoicing.models import DocumentKind, Invoice, InvoiceState, new_request_id
from marketplace.errors import ApplicationError
from marketplace.models import Order, OrderStatus

logger = logging.getLogger(__name__)

LIFECYCLE_RANK = {OrderStatus.PLACED: 0, OrderStatus.PAID: 1, OrderStatus.FULFILLED: 2}


def invoice_point_reached(order: Order) -> bool:
    rank = LIFECYCLE_RANK.get(OrderStatus(order.status))
    return rank is not None and rank >= LIFECYCLE_RANK[OrderStatus(settings.INVOICE_TRIGGER)]


def invoice_request(*, order: Order) -> Invoice:
    """Write the pending invoice row in the caller's transaction; issue it after commit.

    The caller holds the order's row lock, and the unique constraint on (order, invoice)
    makes a second invoice for the order impossible even so.
    """
    existing = Invoice.objects.filter(order=order, kind=DocumentKind.INVOICE).first()
    if existing is not None:
        return existing
    entity_id = order.seller.entity_id
    if entity_id is None:  # checkout admits only active sellers, and those have an entity
        raise ApplicationError("The seller has no Space Invoices entity yet.", field="seller")
    invoice = Invoice.objects.create(
        order=order,
        seller_id=order.seller_id,
        entity_id=entity_id,
        kind=DocumentKind.INVOICE,
        currency=order.currency,
    )
    _enqueue_issue(invoice.pk)
    return invoice


def invoice_issue(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> Invoice:
    """Create the document in the seller's entity and mirror it; idempotent by request id.

    A rejection (or a 401 / 404) marks the row failed with the API's reason. A transient
    error is recorded and propagates for the task to retry with the same request id, until
    the row has used its attempts and is marked failed.
    """
    invoice = Invoice.objects.select_related("order__seller").get(pk=invoice_id)
    if invoice.state != InvoiceState.PENDING:
        return invoice
    Invoice.objects.filter(pk=invoice.pk).update(
        attempts=F("attempts") + 1, last_attempt_at=timezone.now()
    )
    invoice.refresh_from_db(fields=["attempts"])
    client = client or gateway.space_invoices_client()
    try:
        document = client.invoice_create(
            entity_id=invoice.entity_id,
            payload=invoice_payload(invoice),
            request_id=invoice.request_id,
        )
    except Transient as error:
        if invoice.attempts >= settings.INVOICE_MAX_ATTEMPTS:
            invoice_mark_failed(
                invoice_id=invoice.pk, reason=f"gave up after {invoice.attempts} attempts: {error}"
            )
            return Invoice.objects.get(pk=invoice.pk)
        Invoice.objects.filter(pk=invoice.pk).update(last_error=str(error))
        raise
    except SpaceInvoicesError as error:  # rejected, unauthorized, not found: no retry helps
        invoice_mark_failed(invoice_id=invoice.pk, reason=str(error))
        return Invoice.objects.get(pk=invoice.pk)
    _mirror(invoice, document)
    return Invoice.objects.get(pk=invoice.pk)


def invoice_mark_failed(*, invoice_id: int, reason: str) -> None:
    Invoice.objects.filter(pk=invoice_id, state=InvoiceState.PENDING).update(
        state=InvoiceState.FAILED, last_error=reason
    )
    logger.warning("invoice %s failed: %s", invoice_id, reason)


def invoice_retry(*, invoice_id: int) -> Invoice:
    """Send a failed row again (admin action).

    Failed rows were rejected or ran out of attempts. A rejection is replayed for the same
    request id, so a retry after one asks with a new id; the rejected request created nothing.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
        if invoice.state != InvoiceState.FAILED:
            return invoice
        if invoice.attempts < settings.INVOICE_MAX_ATTEMPTS:
            invoice.request_id = new_request_id()
        invoice.state = InvoiceState.PENDING
        invoice.attempts = 0
        invoice.save(update_fields=["request_id", "state", "attempts"])
        _enqueue_issue(invoice.pk)
    return invoice


def invoice_sweep_pending() -> list[int]:
    """Re-drive pending rows whose task was lost (a crashed worker, a lost message)."""
    stale = timezone.now() - settings.INVOICE_PENDING_SWEEP_AFTER
    with transaction.atomic():
        ids = list(
            Invoice.objects.select_for_update(skip_locked=True)
            .filter(state=InvoiceState.PENDING)
            .filter(
                Q(last_attempt_at__lt=stale) | Q(last_attempt_at__isnull=True, created_at__lt=stale)
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:500]
        )
        Invoice.objects.filter(pk__in=ids).update(last_attempt_at=timezone.now())
        for invoice_id in ids:
            _enqueue_issue(invoice_id)
    return ids


def invoice_payload(invoice: Invoice) -> DocumentCreate:
    order = invoice.order
    payload: DocumentCreate = {
        "date": timezone.localdate().isoformat(),
        "currency_code": order.currency,
        "customer": {
            "name": order.buyer_name,
            "email": order.buyer_email,
            "address": order.billing_address,
            "post_code": order.billing_post_code,
            "city": order.billing_city,
            "country_code": str(order.billing_country),
        },
        "items": [
            {
                "name": line.name,
                "quantity": line.quantity,
                "price": line.unit_price,
                "taxes": [{"rate": line.tax_rate}],
            }
            for line in order.lines.order_by("pk")
        ],
        "expected_total_with_tax": order.total_gross,
        "metadata": {
            "order_id": str(order.pk),
            "seller_id": str(order.seller_id),
            "checkout_id": str(order.checkout_id),
        },
    }
    if order.fulfilled_at is not None:
        payload["date_service"] = timezone.localdate(order.fulfilled_at).isoformat()
    return payload


def _mirror(invoice: Invoice, document: Document) -> None:
    total_net = document["total"]
    total_gross = document["total_with_tax"]
    Invoice.objects.filter(pk=invoice.pk, state=InvoiceState.PENDING).update(
        state=InvoiceState.ISSUED,
        remote_id=document["id"],
        number=document["number"] or "",
        shareable_id=document.get("shareable_id") or "",
        date=_parse_date(document.get("date")),
        date_due=_parse_date(document.get("date_due")),
        total_net=total_net,
        total_tax=total_gross - total_net,
        total_gross=total_gross,
        last_error="",
        issued_at=timezone.now(),
    )
    logger.info("invoice %s issued as %s in %s", invoice.pk, document["id"], invoice.entity_id)


def _parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _enqueue_issue(invoice_id: int) -> None:
    from invoicing.tasks import issue_invoice

    transaction.on_commit(lambda: issue_invoice.delay(invoice_id))
