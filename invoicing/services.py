"""Invoices and credit notes: the outbox rows, the remote creates, and the mirror of answers.

A document row is written in state `pending` in the same transaction as the order change that
calls for it; after commit a task issues it in the seller's entity with the row's fixed
`X-Request-Id`, then mirrors the answer. Issued documents are never edited: corrections are
credit notes linked to the invoice.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from invoicing import gateway
from invoicing.client import (
    Document,
    DocumentCreate,
    DocumentItemCreate,
    ItemTax,
    Payment,
    SpaceInvoicesClient,
    SpaceInvoicesError,
    Transient,
    json_dumps,
    json_loads,
)
from invoicing.models import (
    DocumentKind,
    DocumentLine,
    DocumentTax,
    Invoice,
    InvoiceState,
    new_request_id,
)
from invoicing.tax import (
    BuyerTaxProfile,
    SellerTaxProfile,
    TaxTreatment,
    TransactionType,
    tax_treatment,
)
from invoicing.vies import vies_check
from marketplace.audit import audit_record
from marketplace.errors import ApplicationError
from marketplace.models import Order, OrderLine, OrderStatus
from marketplace.pricing import PricedLine, Totals, order_totals
from reporting.services import rollup_document_issued
from sellers.models import Seller, ViesUnavailablePolicy

logger = logging.getLogger(__name__)

# The last_error of a pending invoice that the seller's VIES policy holds back (admin shows these).
VIES_HOLD_REASON = "VIES unavailable; invoice held"


class NotReady(Exception):
    """The document cannot be sent yet (its invoice is not issued, VIES is down); retry later."""


@dataclass(frozen=True)
class CreditLine:
    order_line_id: int
    quantity: int


# Invoice point


def invoice_trigger(seller: Seller) -> str:
    return seller.invoice_trigger or settings.INVOICE_TRIGGER


def invoice_point_reached(order: Order) -> bool:
    """Whatever path the order took, it is at its seller's point once that step happened."""
    if order.status == OrderStatus.CANCELLED:
        return False
    reached = {
        "placed": True,
        "paid": order.paid_at is not None,
        "fulfilled": order.fulfilled_at is not None,
    }
    return reached[invoice_trigger(order.seller)]


def seller_tax_profile(seller: Seller) -> SellerTaxProfile:
    return SellerTaxProfile(
        country=str(seller.country),
        is_tax_subject=seller.is_tax_subject,
        oss_registered=seller.oss_registered,
    )


def buyer_tax_profile(order: Order) -> BuyerTaxProfile:
    return BuyerTaxProfile(
        country=str(order.billing_country),
        vat_number=order.buyer_vat_number,
        is_business=bool(order.buyer_company or order.buyer_vat_number),
    )


# Writing the outbox rows (in the caller's transaction, which holds the order's row lock)


def invoice_request(*, order: Order) -> Invoice | None:
    """The order's invoice row with its lines; None when refunds left nothing to invoice."""
    existing = Invoice.objects.filter(order=order, kind=DocumentKind.INVOICE).first()
    if existing is not None:
        return existing
    lines = [
        (line, line.quantity - line.refunded_quantity)
        for line in order.lines.order_by("pk")
        if line.quantity > line.refunded_quantity
    ]
    if not lines:
        return None
    invoice = _document_create(order, DocumentKind.INVOICE, credited_invoice=None)
    DocumentLine.objects.bulk_create(
        _document_line(invoice, line, quantity, line.tax_rate) for line, quantity in lines
    )
    document_payload_freeze(invoice=invoice)
    _enqueue("issue_document", invoice.pk)
    return invoice


def credit_note_request(*, invoice: Invoice, lines: Sequence[CreditLine]) -> Invoice:
    """A credit note for these quantities of the invoice's lines; never more than invoiced.

    Quantities already credited (or being credited) count, so a second refund of the same
    quantities is refused. Lines keep the invoice's unit prices and rates, so the credited
    base per rate never exceeds the invoiced base either. Tax is computed per document (as on
    any tax document), so several partial credit notes may round their tax a cent apart from
    the invoice's.
    """
    if invoice.voided_at is not None:
        raise ApplicationError(
            f"Invoice {invoice.number} was voided in Space Invoices: there is nothing left to "
            "credit.",
            field="status",
            code="conflict",
        )
    invoiced = {line.order_line_id: line for line in invoice.lines.all()}
    credited = _credited_quantities(invoice)
    this_note: defaultdict[int, int] = defaultdict(int)  # a line named twice is one line
    for index, line in enumerate(lines):
        field = f"lines[{index}]"
        invoiced_line = invoiced.get(line.order_line_id)
        if invoiced_line is None:
            raise ApplicationError(
                f"Line {line.order_line_id} is not on the order's invoice.",
                field=f"{field}.line_id",
            )
        if line.quantity < 1:
            raise ApplicationError("Quantity must be at least 1.", field=f"{field}.quantity")
        remaining = invoiced_line.quantity - credited[line.order_line_id]
        if line.quantity > remaining:
            raise ApplicationError(
                f"Only {remaining} of {invoiced_line.quantity} can still be credited "
                f"for '{invoiced_line.name}'.",
                field=f"{field}.quantity",
                code="over_credit",
            )
        credited[line.order_line_id] += line.quantity
        this_note[line.order_line_id] += line.quantity
    credit_note = _document_create(
        invoice.order, DocumentKind.CREDIT_NOTE, credited_invoice=invoice
    )
    DocumentLine.objects.bulk_create(
        _document_line(
            credit_note,
            invoiced[line_id].order_line,
            quantity,
            invoiced[line_id].tax_rate,
        )
        for line_id, quantity in this_note.items()
    )
    document_payload_freeze(invoice=credit_note)
    _enqueue("issue_document", credit_note.pk)
    return credit_note


def credit_note_for_remaining(*, invoice: Invoice) -> Invoice | None:
    """A credit note for everything of the invoice not credited yet (cancellation); none for
    a voided invoice, which already owes nothing."""
    if invoice.voided_at is not None:
        return None
    credited = _credited_quantities(invoice)
    lines = [
        CreditLine(line.order_line_id, line.quantity - credited[line.order_line_id])
        for line in invoice.lines.all()
        if line.quantity > credited[line.order_line_id]
    ]
    return credit_note_request(invoice=invoice, lines=lines) if lines else None


def documents_release_for_seller(*, seller: Seller) -> list[int]:
    """The seller's entity now exists: give it to the rows that waited for it, and issue them."""
    with transaction.atomic():
        waiting = list(
            Invoice.objects.select_for_update()
            .filter(seller=seller, state=InvoiceState.PENDING, entity_id="")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Invoice.objects.filter(pk__in=waiting).update(entity_id=str(seller.entity_id))
        for invoice_id in waiting:
            _enqueue("issue_document", invoice_id)
    return waiting


def payment_record_request(*, order: Order) -> None:
    """The order was paid after its invoice was written: record the payment on it."""
    invoice = Invoice.objects.filter(order=order, kind=DocumentKind.INVOICE).first()
    if invoice is not None and invoice.payment_recorded_at is None:
        _enqueue("record_payment", invoice.pk)


# Talking to Space Invoices (tasks call these; each is idempotent)


def document_issue(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> Invoice:
    """Create the document in the seller's entity and mirror it; idempotent by request id.

    Every attempt sends the row's frozen payload with its request id. Once a create was sent,
    every later attempt (a task retry, the sweeper, an operator's retry, whatever the attempt
    counter says) first looks the document up by its metadata, and mirrors it if it exists.
    A rejection (or a 401 / 404) marks the row failed with the API's reason. A transient error
    is recorded and propagates for the task to retry with the same request id, until the row
    has used its attempts and is marked failed.
    """
    invoice = Invoice.objects.select_related("order__seller", "credited_invoice").get(pk=invoice_id)
    if invoice.state != InvoiceState.PENDING:
        return invoice
    if not invoice.entity_id:
        raise NotReady(f"document {invoice.pk} waits for its seller's entity")
    if invoice.kind == DocumentKind.CREDIT_NOTE and not _credited_invoice_issued(invoice):
        raise NotReady(f"credit note {invoice.pk} waits for its invoice to be issued")
    if (
        invoice.first_sent_at is None  # once sent, the treatment is the one sent
        and invoice.kind == DocumentKind.INVOICE
        and invoice.transaction_type == TransactionType.INTRA_EU_B2B
    ):
        _recheck_vies(invoice)
    Invoice.objects.filter(pk=invoice.pk).update(
        attempts=F("attempts") + 1, last_attempt_at=timezone.now()
    )
    invoice.refresh_from_db(fields=["attempts"])
    client = client or gateway.space_invoices_client()
    create_sent = False
    try:
        document = _created_earlier(client, invoice) if invoice.first_sent_at else None
        if document is None:
            payload = _payload_to_send(invoice)
            _create_sending(invoice)
            create_sent = True
            if invoice.kind == DocumentKind.CREDIT_NOTE:
                document = client.credit_note_create(
                    entity_id=invoice.entity_id, payload=payload, request_id=invoice.request_id
                )
            else:
                document = client.invoice_create(
                    entity_id=invoice.entity_id, payload=payload, request_id=invoice.request_id
                )
    except Transient as error:
        if invoice.attempts >= settings.INVOICE_MAX_ATTEMPTS:
            reason = f"gave up after {invoice.attempts} attempts: {error}"
            document_mark_failed(invoice_id=invoice.pk, reason=reason)
            return Invoice.objects.get(pk=invoice.pk)
        Invoice.objects.filter(pk=invoice.pk).update(last_error=str(error))
        raise
    except SpaceInvoicesError as error:  # rejected, unauthorized, not found: no retry helps
        if create_sent:  # the API refused the create: it created nothing
            Invoice.objects.filter(pk=invoice.pk).update(outcome_unknown=False)
        document_mark_failed(invoice_id=invoice.pk, reason=str(error))
        return Invoice.objects.get(pk=invoice.pk)
    _mirror(invoice, document)
    return Invoice.objects.get(pk=invoice.pk)


def document_find_remote(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> Invoice:
    """Settle a failed row whose create may have succeeded unseen: look its document up.

    Found (by its metadata, in the seller's entity): the document is mirrored onto the row,
    which is issued after all. Not found: the proof of absence is recorded on the row, which
    then no longer counts as possibly issued (a failed credit note frees its quantities).
    Reconciliation runs this for every such row; an operator's retry looks up the same way
    before it creates anything.
    """
    invoice = Invoice.objects.select_related("order__seller", "credited_invoice").get(pk=invoice_id)
    if invoice.state != InvoiceState.FAILED or not invoice.outcome_unknown:
        return invoice
    client = client or gateway.space_invoices_client()
    document = _created_earlier(client, invoice)
    if document is not None:
        _mirror(invoice, document)
    else:
        # Unless an attempt was made meanwhile (an operator's retry), which knows better.
        Invoice.objects.filter(
            pk=invoice.pk, state=InvoiceState.FAILED, last_attempt_at=invoice.last_attempt_at
        ).update(outcome_unknown=False, absence_proven_at=timezone.now())
    return Invoice.objects.get(pk=invoice.pk)


def document_send(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> Invoice:
    """Email the issued document to the buyer through Space Invoices, once."""
    invoice = Invoice.objects.select_related("order", "seller").get(pk=invoice_id)
    if invoice.sent_at is not None or invoice.state != InvoiceState.ISSUED:
        return invoice
    client = client or gateway.space_invoices_client()
    client.document_send(
        entity_id=invoice.entity_id,
        document_id=str(invoice.remote_id),
        payload={
            "to": invoice.order.buyer_email,
            "subject": f"{invoice.get_kind_display()} {invoice.number} from "
            f"{invoice.seller.business_name}",
            "attach_pdf": True,
        },
        request_id=f"{invoice.request_id}-send",
    )
    Invoice.objects.filter(pk=invoice.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    return Invoice.objects.get(pk=invoice.pk)


def payment_record(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> Invoice:
    """Record the order's payment on its issued invoice (POST /payments), once.

    Once a payment was sent, every later attempt first looks it up (by its metadata) and posts
    only if it is not there. A zero total takes no payment (the API refuses an amount of 0).
    A refusal is kept on the row for admin; the sweeper then leaves the row alone.
    """
    invoice = Invoice.objects.select_related("order").get(pk=invoice_id)
    if invoice.payment_recorded_at is not None or invoice.order.paid_at is None:
        return invoice
    if invoice.voided_at is not None:  # Space Invoices takes no payment on a void document
        logger.info("invoice %s is voided: its payment is not recorded", invoice.pk)
        return invoice
    if invoice.state != InvoiceState.ISSUED:
        raise NotReady(f"invoice {invoice.pk} is not issued yet")
    if invoice.total_gross:
        Invoice.objects.filter(pk=invoice.pk).update(last_attempt_at=timezone.now())
        client = client or gateway.space_invoices_client()
        try:
            if invoice.payment_sent_at is None or _payment_sent_earlier(client, invoice) is None:
                Invoice.objects.filter(pk=invoice.pk).update(
                    payment_sent_at=Coalesce(F("payment_sent_at"), Value(timezone.now()))
                )
                client.payment_create(
                    entity_id=invoice.entity_id,
                    payload={
                        "amount": invoice.total_gross,
                        "type": "card",
                        "invoice_id": str(invoice.remote_id),
                        "date": timezone.localdate(invoice.order.paid_at).isoformat(),
                        "reference": f"order-{invoice.order_id}",
                        "metadata": {
                            "order_id": str(invoice.order_id),
                            "payment_ref": _payment_ref(invoice),
                        },
                    },
                    request_id=f"{invoice.request_id}-payment",
                )
        except Transient:
            raise
        except SpaceInvoicesError as error:  # refused: no retry helps
            Invoice.objects.filter(pk=invoice.pk).update(payment_error=str(error))
            logger.warning("payment of invoice %s not recorded: %s", invoice.pk, error)
            return Invoice.objects.get(pk=invoice.pk)
    # The whole amount was paid: the invoice is paid in full (unless a webhook said so first).
    now = timezone.now()
    Invoice.objects.filter(pk=invoice.pk, payment_recorded_at__isnull=True).update(
        payment_recorded_at=now, paid_at=Coalesce(F("paid_at"), Value(now)), payment_error=""
    )
    return Invoice.objects.get(pk=invoice.pk)


def document_pdf(*, invoice: Invoice, client: SpaceInvoicesClient | None = None) -> bytes:
    if invoice.state != InvoiceState.ISSUED:
        raise ApplicationError("The document is not issued yet.", field="state")
    client = client or gateway.space_invoices_client()
    return client.document_pdf(entity_id=invoice.entity_id, document_id=str(invoice.remote_id))


def document_mark_failed(*, invoice_id: int, reason: str) -> None:
    with transaction.atomic():
        failed = Invoice.objects.filter(pk=invoice_id, state=InvoiceState.PENDING).update(
            state=InvoiceState.FAILED, last_error=reason
        )
        if failed:
            _audit(Invoice.objects.get(pk=invoice_id), "document.failed")
    logger.warning("document %s failed: %s", invoice_id, reason)


def document_retry(*, invoice_id: int, actor: User | None = None) -> Invoice:
    """Send a failed row again (admin action).

    Failed rows were rejected or ran out of attempts. A rejection is replayed for the same
    request id, so a retry after one asks with a new id; the rejected request created nothing.
    A row whose last create has an unknown outcome keeps its id (a replay may still find the
    document); either way the retry looks the document up before it creates anything.
    """
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
        if invoice.state != InvoiceState.FAILED:
            return invoice
        if not invoice.outcome_unknown:
            invoice.request_id = new_request_id()
        invoice.state = InvoiceState.PENDING
        invoice.attempts = 0
        invoice.save(update_fields=["request_id", "state", "attempts"])
        _audit(invoice, "document.retried", actor=actor)
        _enqueue("issue_document", invoice.pk)
    return invoice


def document_sweep_pending() -> list[int]:
    """Re-drive pending rows whose task was lost (a crashed worker, a lost message), and the
    payment records of paid orders' issued invoices whose task was lost or ran out of retries.
    """
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
            _enqueue("issue_document", invoice_id)
        unrecorded = list(
            Invoice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                kind=DocumentKind.INVOICE,
                state=InvoiceState.ISSUED,
                payment_recorded_at__isnull=True,
                payment_error="",
                voided_at__isnull=True,
                order__paid_at__lt=stale,
            )
            .filter(Q(last_attempt_at__lt=stale) | Q(last_attempt_at__isnull=True))
            .order_by("pk")
            .values_list("pk", flat=True)[:500]
        )
        Invoice.objects.filter(pk__in=unrecorded).update(last_attempt_at=timezone.now())
        for invoice_id in unrecorded:
            _enqueue("record_payment", invoice_id)
    return ids + unrecorded


def document_payload_freeze(*, invoice: Invoice) -> DocumentCreate:
    """Build the row's create request from the row and store it; every attempt sends it.

    Called when the row is written, and again when its tax treatment changes before any create
    was sent. Once a create was sent the request is final: rebuilding it raises ValueError.
    """
    payload = document_payload(invoice)
    invoice.payload = json_dumps(payload)
    frozen = (
        Invoice.objects.filter(pk=invoice.pk)
        .filter(Q(first_sent_at__isnull=True) | Q(payload=""))
        .update(payload=invoice.payload)
    )
    if not frozen:
        raise ValueError(f"document {invoice.pk} was sent: its request cannot change")
    return payload


def document_payload(invoice: Invoice) -> DocumentCreate:
    """The create request for the row as it is now (dated the day the row was written)."""
    order = invoice.order
    lines = list(invoice.lines.order_by("pk"))
    payload: DocumentCreate = {
        "date": timezone.localdate(invoice.created_at).isoformat(),
        "currency_code": order.currency,
        "customer": {
            "name": order.buyer_company or order.buyer_name,
            "email": order.buyer_email,
            "address": order.billing_address,
            "post_code": order.billing_post_code,
            "city": order.billing_city,
            "country_code": str(order.billing_country),
            "is_end_consumer": not (order.buyer_company or order.buyer_vat_number),
        },
        "items": [_item(line, invoice.reverse_charge) for line in lines],
        "expected_total_with_tax": _totals(lines, order.currency).gross,
        "metadata": {
            "order_id": str(order.pk),
            "seller_id": str(order.seller_id),
            "checkout_id": str(order.checkout_id),
            "document_ref": _document_ref(invoice),
        },
    }
    if order.buyer_vat_number:
        payload["customer"]["tax_number"] = order.buyer_vat_number
    if order.tax_note:
        payload["note"] = order.tax_note
    if order.fulfilled_at is not None:
        payload["date_service"] = timezone.localdate(order.fulfilled_at).isoformat()
    if invoice.credited_invoice is not None:
        payload["linked_documents"] = [str(invoice.credited_invoice.remote_id)]
        payload["metadata"]["credited_invoice_id"] = str(invoice.credited_invoice.remote_id)
    elif order.paid_at is not None and payload["expected_total_with_tax"] > 0:
        # Paid with the order; nothing is due on a zero total (the API refuses amount 0).
        payload["payments"] = [
            {
                "amount": payload["expected_total_with_tax"],
                "type": "card",
                "date": timezone.localdate(order.paid_at).isoformat(),
                "reference": f"order-{order.pk}",
            }
        ]
    return payload


# Internals


def _document_create(order: Order, kind: str, *, credited_invoice: Invoice | None) -> Invoice:
    return Invoice.objects.create(
        order=order,
        seller_id=order.seller_id,
        entity_id=order.seller.entity_id or "",  # blank: waits for the seller's entity
        kind=kind,
        credited_invoice=credited_invoice,
        currency=order.currency,
        transaction_type=order.transaction_type,
        reverse_charge=order.reverse_charge,
        seller_country=str(order.seller.country),
        buyer_country=str(order.billing_country),
    )


def _document_line(
    document: Invoice, line: OrderLine, quantity: int, tax_rate: Decimal
) -> DocumentLine:
    net = order_totals([PricedLine(quantity, line.unit_price, tax_rate)], document.currency).net
    return DocumentLine(
        document=document,
        order_line=line,
        name=line.name,
        quantity=quantity,
        unit_price=line.unit_price,
        tax_rate=tax_rate,
        total_net=net,
    )


def _item(line: DocumentLine, reverse_charge: bool) -> DocumentItemCreate:
    tax: ItemTax = {"rate": line.tax_rate}
    if reverse_charge:
        tax["reverse_charge"] = True
    return {"name": line.name, "quantity": line.quantity, "price": line.unit_price, "taxes": [tax]}


def _priced(lines: Iterable[DocumentLine]) -> list[PricedLine]:
    return [PricedLine(line.quantity, line.unit_price, line.tax_rate) for line in lines]


def _totals(lines: Iterable[DocumentLine], currency: str) -> Totals:
    return order_totals(_priced(lines), currency)


def _credited_quantities(invoice: Invoice) -> defaultdict[int, int]:
    """Per order line, what credit notes of this invoice (issued or on their way) credit.

    A failed credit note counts until its outcome is known to be nothing: it was rejected, or a
    look-up proved it absent (document_find_remote). One that gave up may exist.
    """
    rows = (
        DocumentLine.objects.filter(document__credited_invoice=invoice)
        .exclude(document__state=InvoiceState.FAILED, document__outcome_unknown=False)
        .values("order_line_id")
        .annotate(quantity=Sum("quantity"))
    )
    credited: defaultdict[int, int] = defaultdict(int)
    for row in rows:
        credited[row["order_line_id"]] = row["quantity"]
    return credited


def _credited_invoice_issued(credit_note: Invoice) -> bool:
    credited = credit_note.credited_invoice
    if credited is None:
        return False
    credited.refresh_from_db(fields=["state", "remote_id"])
    return credited.state == InvoiceState.ISSUED


def _recheck_vies(invoice: Invoice) -> None:
    """Check the VAT number again at issue time and keep the answer as evidence.

    Invalid now: the sale is issued with standard VAT. VIES down: the seller's policy holds
    the invoice (retry later) or issues it with standard VAT.
    """
    order = invoice.order
    seller_profile, buyer_profile = seller_tax_profile(order.seller), buyer_tax_profile(order)
    evidence = vies_check(seller=seller_profile, buyer=buyer_profile, use_cache=False)
    Invoice.objects.filter(pk=invoice.pk).update(
        vies_valid=evidence.valid,
        vies_checked_at=evidence.checked_at,
        vies_request_id=evidence.request_id,
    )
    if evidence.valid is True:
        return
    if (
        evidence.valid is None
        and order.seller.vies_unavailable_policy == ViesUnavailablePolicy.HOLD
    ):
        Invoice.objects.filter(pk=invoice.pk).update(last_error=VIES_HOLD_REASON)
        raise NotReady(f"VIES unavailable; invoice {invoice.pk} held by the seller's policy")
    treatment = tax_treatment(seller=seller_profile, buyer=buyer_profile, vies_valid=False)
    _apply_treatment(invoice, treatment)


def _apply_treatment(invoice: Invoice, treatment: TaxTreatment) -> None:
    for line in invoice.lines.select_related("order_line__product"):
        product = line.order_line.product
        line.tax_rate = treatment.rate_for(
            seller_rate=product.tax_rate, category=product.tax_category
        )
        line.save(update_fields=["tax_rate"])
    invoice.transaction_type = treatment.transaction_type
    invoice.reverse_charge = treatment.reverse_charge
    invoice.save(update_fields=["transaction_type", "reverse_charge"])
    document_payload_freeze(invoice=invoice)


def _mirror(invoice: Invoice, document: Document) -> None:
    """Mirror the document onto its pending row (or a failed one whose document was found)."""
    total_net = document["total"]
    total_gross = document["total_with_tax"]
    now = timezone.now()
    # The invoice.paid webhook of an invoice paid inline may come before this answer is mirrored.
    paid = invoice.kind == DocumentKind.INVOICE and document["paid_in_full"]
    # What the document says, not what this attempt would send: a document found again may
    # have been created before the order was paid. Paid in full, it holds the order's payment
    # (inline with the create, or nothing was due).
    paid_inline = paid and invoice.order.paid_at is not None
    with transaction.atomic():
        updated = Invoice.objects.filter(
            pk=invoice.pk, state__in=[InvoiceState.PENDING, InvoiceState.FAILED]
        ).update(
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
            outcome_unknown=False,
            issued_at=now,
            payment_recorded_at=now if paid_inline else None,
            paid_at=now if paid else None,
        )
        if not updated:
            return
        _audit(invoice, "document.issued", detail={"number": document["number"] or ""})
        rollup_document_issued(document=invoice)
        DocumentTax.objects.bulk_create(
            DocumentTax(document=invoice, rate=tax["rate"], base=tax["base"], amount=tax["amount"])
            for tax in document.get("taxes", [])
        )
        if settings.SEND_DOCUMENTS_TO_BUYERS:
            _enqueue("send_document", invoice.pk)
        if not paid_inline and invoice.kind == DocumentKind.INVOICE and invoice.order.paid_at:
            _enqueue("record_payment", invoice.pk)
    logger.info("document %s issued as %s in %s", invoice.pk, document["id"], invoice.entity_id)


def _audit(
    invoice: Invoice,
    action: str,
    *,
    actor: User | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    audit_record(
        action=action,
        actor=actor,
        seller_id=invoice.seller_id,
        order_id=invoice.order_id,
        document_id=invoice.pk,
        detail={"kind": invoice.kind, **(detail or {})},
    )


def _document_ref(invoice: Invoice) -> str:
    """Names the mirror row in the document's metadata, so a lost answer can be found again."""
    return f"mkt-{invoice.kind}-{invoice.pk}"


def _payload_to_send(invoice: Invoice) -> DocumentCreate:
    """The frozen request; a credit note names its invoice, whose id is fixed once issued."""
    if invoice.payload:
        payload = cast(DocumentCreate, json_loads(invoice.payload.encode()))
    else:  # a row written before requests were frozen
        payload = document_payload_freeze(invoice=invoice)
    if invoice.credited_invoice is not None:
        credited = str(invoice.credited_invoice.remote_id)
        payload["linked_documents"] = [credited]
        payload["metadata"]["credited_invoice_id"] = credited
    return payload


def _create_sending(invoice: Invoice) -> None:
    """Noted (and committed) before the create goes out: from now on its outcome is unknown
    until an answer says otherwise, and every later attempt looks the document up first."""
    Invoice.objects.filter(pk=invoice.pk).update(
        first_sent_at=Coalesce(F("first_sent_at"), Value(timezone.now())), outcome_unknown=True
    )


def _payment_ref(invoice: Invoice) -> str:
    """Names the invoice's payment record in its metadata, so a lost answer can be found."""
    return f"mkt-payment-{invoice.pk}"


def _payment_sent_earlier(client: SpaceInvoicesClient, invoice: Invoice) -> Payment | None:
    query = {"metadata.payment_ref": {"equals": _payment_ref(invoice)}}
    page = client.payment_list(entity_id=invoice.entity_id, query=query, limit=1)
    return page.data[0] if page.data else None


def _created_earlier(client: SpaceInvoicesClient, invoice: Invoice) -> Document | None:
    """The document an earlier attempt may have created though its answer never came back.

    The request id replay covers this while the API keeps idempotency keys; looking the
    document up by metadata covers it after they expire, or after the id was rotated.
    """
    query = {
        "metadata.order_id": {"equals": str(invoice.order_id)},
        "metadata.document_ref": {"equals": _document_ref(invoice)},
    }
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        page = client.credit_note_list(entity_id=invoice.entity_id, query=query, limit=2)
    else:
        page = client.invoice_list(entity_id=invoice.entity_id, query=query, limit=2)
    return page.data[0] if page.data else None


def _parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _enqueue(task_name: str, invoice_id: int) -> None:
    from invoicing import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(invoice_id))
