"""Invoices and credit notes: the outbox rows, the remote creates, and the mirror of answers.

A document row is written in state `pending` in the same transaction as the order change that
calls for it; after commit a task issues it in the seller's entity with the row's fixed
`X-Request-Id`, then mirrors the answer. Issued documents are never edited: corrections are
credit notes linked to the invoice.
"""

import logging
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.audit import audit_record
from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError
from core.request_id import request_id_current
from invoicing import gateway, hooks
from invoicing.client import (
    Document as RemoteDocument,
)
from invoicing.client import (
    DocumentCreate,
    DocumentCustomer,
    DocumentItem,
    DocumentPayment,
    DocumentSend,
    ItemTax,
    NotFound,
    Payment,
    PaymentCreate,
    SpaceInvoicesClient,
    SpaceInvoicesError,
    Transient,
    json_dumps,
    json_loads,
)
from invoicing.client.wire import E_INVOICE_FORMATS, EInvoiceFormat, PartyEInvoicing
from invoicing.deemed_supply import operator_customer, supply_to_operator_treatment
from invoicing.distance_sales import distance_sales_over_threshold
from invoicing.models import (
    Document,
    DocumentKind,
    DocumentLine,
    DocumentPurpose,
    DocumentState,
    DocumentTax,
    document_ref,
    new_request_id,
)
from invoicing.operator import deemed_sales_entity_id
from invoicing.selectors import CreditBalance, invoice_credit_balance
from invoicing.vies import vies_check
from marketplace.models import Order, OrderLine, OrderStatus, order_reference
from marketplace.pricing import PricedLine, Totals, line_net, order_totals, quantize
from marketplace.services import product_rate, seller_tax_profile
from marketplace.tax import (
    BuyerTaxProfile,
    TaxTreatment,
    TransactionType,
    is_distance_sale,
    marketplace_is_deemed_supplier,
    tax_treatment,
)
from sellers.einvoicing import issued_format
from sellers.models import Seller, ViesUnavailablePolicy

logger = logging.getLogger(__name__)

# The last_error of a pending invoice that the seller's VIES policy holds back (admin shows these).
VIES_HOLD_REASON = "VIES unavailable; invoice held"

# What a row records of its tax treatment, and its VIES evidence; a credit note copies them.
TREATMENT_FIELDS = (
    "transaction_type",
    "reverse_charge",
    "rate_source",
    "tax_note",
    "customer_is_end_consumer",
    "customer_tax_number",
    "vies_valid",
    "vies_checked_at",
    "vies_request_id",
)


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


def buyer_tax_profile(order: Order) -> BuyerTaxProfile:
    return BuyerTaxProfile(
        country=str(order.billing_country),
        vat_number=order.buyer_vat_number,
        is_business=bool(order.buyer_company or order.buyer_vat_number),
    )


# Writing the outbox rows (in the caller's transaction, which holds the order's row lock)


def invoice_request(*, order: Order) -> Document | None:
    """The order's invoice row with its lines; None when refunds left nothing to invoice, or
    when the order is not the seller's sale to invoice.

    An order of a seller outside the EU to a consumer in the EU is the marketplace's deemed
    supply (Article 14a of the VAT Directive): checkout refuses those, but an order placed
    before it did still reaches its invoice point. Its payment or fulfilment goes through (a
    provider's callback must not be refused forever); no invoice row is written and the
    refusal is audited (`invoice.not_written`, with the reason), and reconciliation reports
    the order as at its invoice point without an invoice (`missing_invoice`).
    """
    existing = Document.objects.filter(
        order=order, kind=DocumentKind.INVOICE, purpose=DocumentPurpose.SALE
    ).first()
    if existing is not None:
        return existing
    return invoice_write(order=order)


def invoice_write(*, order: Order) -> Document | None:
    """invoice_request for an order its caller found without an invoice, under the order's row
    lock (the check is not repeated)."""
    lines = [
        (line, line.quantity - line.refunded_quantity)
        for line in order.lines.order_by("pk")
        if line.quantity > line.refunded_quantity
    ]
    if not lines:
        return None
    if not order.deemed_supply and marketplace_is_deemed_supplier(
        seller_country=str(order.seller.country),
        buyer_country=str(order.billing_country),
        buyer_is_business=not order.buyer_is_end_consumer,
    ):
        reason = (
            f"Order {order.pk} is a sale of {order.seller.business_name}, a seller outside the "
            "EU, to a consumer in the EU: the marketplace is the deemed supplier (Article 14a "
            "of the VAT Directive), so the seller's invoice is not written."
        )
        audit_record(
            action="invoice.not_written",
            seller_id=order.seller_id,
            order_id=order.pk,
            detail={"code": "deemed_supplier", "reason": reason},
        )
        logger.warning("order %s: no invoice written (deemed supply)", order.pk)
        return None
    invoice = _document_create(order, DocumentKind.INVOICE, credited_invoice=None)
    document_lines = DocumentLine.objects.bulk_create(
        [_document_line(invoice, line, quantity, line.tax_rate) for line, quantity in lines]
    )
    document_payload_freeze(invoice=invoice, lines=document_lines)
    _enqueue("issue_document", invoice.pk)
    if order.deemed_supply:
        _supply_to_operator_write(order, lines)
    return invoice


def _supply_to_operator_write(order: Order, lines: Sequence[tuple[OrderLine, int]]) -> None:
    """The seller's supply of a deemed-supplier sale's goods to the operator: an invoice from
    the seller's entity to the operator, at 0 % (exempt, Article 136a), beside the operator's
    invoice to the buyer, so the seller's books show the sale."""
    supply = Document.objects.create(
        order=order,
        purpose=DocumentPurpose.SUPPLY_TO_OPERATOR,
        seller_id=order.seller_id,
        entity_id=order.seller.entity_id or "",
        kind=DocumentKind.INVOICE,
        currency=order.currency,
        seller_country=str(order.seller.country),
        buyer_country=str(settings.OPERATOR_COUNTRY),
        correlation_id=request_id_current(),
        **supply_to_operator_treatment(seller_country=str(order.seller.country)),
    )
    document_lines = DocumentLine.objects.bulk_create(
        [_document_line(supply, line, quantity, Decimal(0)) for line, quantity in lines]
    )
    document_payload_freeze(invoice=supply, lines=document_lines)
    _enqueue("issue_document", supply.pk)


def credit_note_request(*, invoice: Document, lines: Sequence[CreditLine]) -> Document:
    """A credit note for these quantities of the invoice's lines; never more than invoiced.

    Quantities already credited (or being credited) count, so a second refund of the same
    quantities is refused. Lines keep the invoice's unit prices and rates, so the credited
    base per rate never exceeds the invoiced base either.

    Nor does the gross. Tax is computed per document (as on any tax document), so partial
    credit notes may each round their tax up, and the lines of the last quantities can be
    worth more than what remains of the invoice's gross: 3 x 10.03 at 21 % is invoiced for
    36.41, and each one-unit credit note is 12.14, so the third would take the total to 36.42.
    Until some credit is known only by its amount (below), a note that takes the last
    remaining quantities is then written with balance lines instead, as a cancel after a
    dashboard credit note is (_balance_bases): one per rate, naming the goods it credits, for
    the net that remains at that rate, the highest rate lowered until the gross fits. The
    credited total ends at the invoice's, or at most a cent under where no document's tax
    reaches the exact remainder (above: 12.13 remains; 10.03 net gives 12.14 and 10.02 gives
    12.12, so 12.12). Goods lines cannot be kept at a lower total: the API takes no negative
    line, and goods credited at less than their price would misstate what was credited. Any
    other note worth more than the remaining gross is refused.

    Once the invoice has a credit note known only by its amount (made in the seller's
    dashboard, or a balance credit note of ours), the lines must also fit in what remains by
    net at each rate (see selectors.invoice_credit_balance). Lines worth more are refused
    (400, ``field: "lines"``, ``code: "over_credit"``, naming what remains), not capped: a
    credit note for the named goods at less than their price would misstate what was
    credited; cancelling credits the exact remainder instead.
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
    goods = [(invoiced[line_id], quantity) for line_id, quantity in this_note.items()]
    balance = invoice_credit_balance(invoice=invoice)
    takes_the_rest = not balance.by_amount and all(
        credited[line.sold_line_id] >= line.quantity for line in invoiced.values()
    )
    if takes_the_rest and _credit_gross(goods, invoice.currency) > balance.remaining_gross:
        balance_note = _balance_credit_note(invoice, _balance_bases(balance), goods=goods)
        if balance_note is not None:
            return balance_note
    _refuse_beyond_balance(invoice, goods, balance)
    credit_note = _document_create(
        invoice.sale_order, DocumentKind.CREDIT_NOTE, credited_invoice=invoice
    )
    DocumentLine.objects.bulk_create(
        _document_line(
            credit_note,
            invoiced[line_id].sold_line,
            quantity,
            invoiced[line_id].tax_rate,
        )
        for line_id, quantity in this_note.items()
    )
    document_payload_freeze(invoice=credit_note)
    _enqueue("issue_document", credit_note.pk)
    return credit_note


def credit_note_for_remaining(*, invoice: Document) -> Document | None:
    """A credit note for everything of the invoice not credited yet (cancellation); none for
    a voided invoice, which already owes nothing.

    When some credit is known only by its amount (a credit note made in the seller's
    dashboard), what remains is credited by amount: one balance line per rate of the
    invoice, for the net that remains at that rate. An invoice of 121.00 (100.00 at 21 %)
    with a dashboard credit note of 50.00 (41.32 + 8.68) gets 58.68 + 12.32 = 71.00. Where
    per-document tax rounding (or dashboard credit at no rate of the invoice) would take the
    total above the remaining gross, the highest rate's line is lowered until it fits: the
    credited total stays at most a cent under the invoice's, never above it. Otherwise the
    quantities not credited yet are credited (credit_note_request), by balance lines too when
    earlier partial credit notes' tax rounding left less gross than their lines are worth.
    """
    if invoice.voided_at is not None:
        return None
    balance = invoice_credit_balance(invoice=invoice)
    if balance.by_amount:
        return _balance_credit_note(invoice, _balance_bases(balance))
    credited = _credited_quantities(invoice)
    lines = [
        CreditLine(line.sold_line_id, line.quantity - credited[line.sold_line_id])
        for line in invoice.lines.all()
        if line.quantity > credited[line.sold_line_id]
    ]
    if balance.remaining_gross == 0 and balance.invoiced_gross > 0:
        return None  # earlier partial credit notes' rounding credited the whole total
    return credit_note_request(invoice=invoice, lines=lines) if lines else None


def documents_release_for_seller(*, seller: Seller) -> list[int]:
    """The seller's entity now exists: give it to the rows that waited for it, and issue them."""
    with transaction.atomic():
        waiting = list(
            Document.objects.select_for_update(of=("self",))
            .filter(
                seller=seller,
                state=DocumentState.PENDING,
                entity_id="",
                purpose__in=[DocumentPurpose.SALE, DocumentPurpose.SUPPLY_TO_OPERATOR],
            )
            # The operator's invoice of a deemed-supplier sale waits for the operator's entity.
            .exclude(Q(purpose=DocumentPurpose.SALE) & ~Q(order__deemed_supply=""))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Document.objects.filter(pk__in=waiting).update(entity_id=str(seller.entity_id))
        for invoice_id in waiting:
            _enqueue("issue_document", invoice_id)
    return waiting


def payment_record_request(*, invoice: Document) -> None:
    """The invoice's order was paid after the invoice was written: record the payment on it."""
    if invoice.payment_recorded_at is None:
        _enqueue("record_payment", invoice.pk)


# Talking to Space Invoices (tasks call these; each is idempotent)


def document_issue(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> Document:
    """Create the document in the seller's entity and mirror it; idempotent by request id.

    Every attempt sends the row's frozen payload with its request id. Once a create was sent,
    every later attempt (a task retry, the sweeper, an operator's retry, whatever the attempt
    counter says) first looks the document up by its metadata, and mirrors it if it exists.
    A rejection (or a 401 / 404) marks the row failed with the API's reason. A transient error
    is recorded and propagates for the task to retry with the same request id, until the row
    has used its attempts and is marked failed.

    The email to the buyer is left to the send task (document_send). The issue task runs
    document_issue_and_send, which posts it at once; this is the same issue on its own.
    """
    _issue(invoice_id, client or gateway.space_invoices_client(), send_later=True)
    return Document.objects.get(pk=invoice_id)


def document_issue_and_send(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> None:
    """What the issue task runs: document_issue, then the buyer's email in the same task, as
    document_send posts it (one task per document instead of two). A transient failure of
    either propagates for the task to retry: the document issued, the retry goes on to the
    email; the sweeper drives whatever the task's retries left."""
    client = client or gateway.space_invoices_client()
    invoice, send_noted = _issue(invoice_id, client, send_later=False)
    _send(invoice, client, noted=send_noted)


def _issue(
    invoice_id: int, client: SpaceInvoicesClient, *, send_later: bool
) -> tuple[Document, bool]:
    """document_issue's work: the row as this attempt left it (mirrored when issued), and
    whether this attempt issued it with its email noted as posting (see _mirror).
    `send_later`: an issued document's email is left to the send task."""
    # With its order (mirroring reads its payment) and seller (the email names it); a VIES
    # check and a credit note read what else they need.
    invoice = Document.objects.select_related("order", "seller").get(pk=invoice_id)
    if invoice.state != DocumentState.PENDING or invoice.held_reason:
        return invoice, False
    if not invoice.entity_id:
        raise NotReady(f"document {invoice.pk} waits for its seller's entity")
    if invoice.kind == DocumentKind.CREDIT_NOTE and not _credited_invoice_issued(invoice):
        raise NotReady(f"credit note {invoice.pk} waits for its invoice to be issued")
    if (
        invoice.first_sent_at is None  # once sent, the treatment is the one sent
        and invoice.kind == DocumentKind.INVOICE
        and invoice.purpose == DocumentPurpose.SALE
        and invoice.transaction_type == TransactionType.INTRA_EU_B2B
        and invoice.vies_valid is not True
    ):
        # Only before the first create: a confirmed answer is never asked again.
        invoice = _recheck_vies(invoice)
        if invoice.held_reason:
            return invoice, False
    # A first attempt sends its create at once: built first, then noted as sent with the
    # attempt, in one UPDATE.
    first = invoice.first_sent_at is None
    payload = _payload_to_send(invoice) if first else None
    invoice.attempts = _attempt_start(invoice, create_sending=first)
    create_sent = False
    try:
        document = None if first else _created_earlier(client, invoice)
        if document is None:
            if payload is None:
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
            return invoice, False
        Document.objects.filter(pk=invoice.pk).update(last_error=str(error))
        raise
    except SpaceInvoicesError as error:  # rejected, unauthorized, not found: no retry helps
        if create_sent:  # the API refused the create: it created nothing
            Document.objects.filter(pk=invoice.pk).update(outcome_unknown=False)
        document_mark_failed(invoice_id=invoice.pk, reason=str(error))
        return invoice, False
    return invoice, _mirror(invoice, document, send_later=send_later)


def document_find_remote(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> Document:
    """Settle a failed row whose create may have succeeded unseen: look its document up.

    Found (by its metadata, in the seller's entity): the document is mirrored onto the row,
    which is issued after all. Not found: the proof of absence is recorded on the row, which
    then no longer counts as possibly issued (a failed credit note frees its quantities).
    Reconciliation runs this for every such row; an operator's retry looks up the same way
    before it creates anything.
    """
    invoice = Document.objects.select_related("order__seller", "credited_invoice").get(
        pk=invoice_id
    )
    if invoice.state != DocumentState.FAILED or not invoice.outcome_unknown:
        return invoice
    client = client or gateway.space_invoices_client()
    document = _created_earlier(client, invoice)
    if document is not None:
        _mirror(invoice, document)
    else:
        # Unless an attempt was made meanwhile (an operator's retry), which knows better.
        Document.objects.filter(
            pk=invoice.pk, state=DocumentState.FAILED, last_attempt_at=invoice.last_attempt_at
        ).update(outcome_unknown=False, absence_proven_at=timezone.now())
    return Document.objects.get(pk=invoice.pk)


def document_send(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> Document:
    """Email the issued document to the buyer through Space Invoices, once.

    Due when its row says so (``send_due_at``, written with the issued state), until
    ``sent_at``: the issue task (document_issue_and_send), else this one's, then the sweeper,
    drive it. The post is noted (and committed) before it goes out; from then on every attempt
    first looks the message up in Space Invoices and posts only if it is not there, always with
    the same request id, so a replayed post sends nothing twice either. A refusal is kept on the
    row for admin; the sweeper then leaves it.
    """
    _send(
        Document.objects.select_related("order", "seller").get(pk=invoice_id),
        client or gateway.space_invoices_client(),
    )
    return Document.objects.get(pk=invoice_id)


def _send(invoice: Document, client: SpaceInvoicesClient, *, noted: bool = False) -> None:
    """document_send's work for the row as read (with its order and seller). `noted`: the row
    was issued by this task with its post noted (_mirror), so this is the first post."""
    if (
        invoice.sent_at is not None
        or invoice.send_due_at is None
        or invoice.send_error
        or invoice.state != DocumentState.ISSUED
    ):
        return
    # A first post is noted with the attempt; a later one looks for the earlier post first.
    first = noted or invoice.send_posted_at is None
    if not noted:
        now = timezone.now()
        posting = {"send_posted_at": Coalesce(F("send_posted_at"), Value(now))} if first else {}
        Document.objects.filter(pk=invoice.pk).update(last_attempt_at=now, **posting)
    try:
        if first or not _sent_earlier(client, invoice):
            client.document_send(
                entity_id=invoice.entity_id,
                document_id=str(invoice.remote_id),
                payload=DocumentSend(
                    to=_recipient(invoice),
                    subject=f"{invoice.get_kind_display()} {invoice.number} from "
                    f"{_issuer_name(invoice)}",
                    attach_pdf=True,
                ),
                request_id=f"{invoice.request_id}-send",
            )
    except Transient:
        raise
    except SpaceInvoicesError as error:  # refused: no retry helps
        Document.objects.filter(pk=invoice.pk).update(send_error=str(error))
        logger.warning("document %s not sent: %s", invoice.pk, error)
        return
    Document.objects.filter(pk=invoice.pk, sent_at__isnull=True).update(sent_at=timezone.now())


def payment_record(*, invoice_id: int, client: SpaceInvoicesClient | None = None) -> Document:
    """Record the order's payment on its issued invoice (POST /payments), once.

    Once a payment was sent, every later attempt first looks it up (by its metadata) and posts
    only if it is not there. A zero total takes no payment (the API refuses an amount of 0).
    A refusal is kept on the row for admin; the sweeper then leaves the row alone.
    """
    invoice = Document.objects.select_related("order").get(pk=invoice_id)
    order = invoice.order
    if invoice.payment_recorded_at is not None or order is None or order.paid_at is None:
        return invoice
    if invoice.voided_at is not None:  # Space Invoices takes no payment on a void document
        logger.info("invoice %s is voided: its payment is not recorded", invoice.pk)
        return invoice
    if invoice.state != DocumentState.ISSUED:
        raise NotReady(f"invoice {invoice.pk} is not issued yet")
    amount = invoice_amount_paid(invoice=invoice)
    if amount:  # nothing is posted for a zero total (the API refuses an amount of 0)
        Document.objects.filter(pk=invoice.pk).update(last_attempt_at=timezone.now())
        client = client or gateway.space_invoices_client()
        try:
            if invoice.payment_sent_at is None or _payment_sent_earlier(client, invoice) is None:
                Document.objects.filter(pk=invoice.pk).update(
                    payment_sent_at=Coalesce(F("payment_sent_at"), Value(timezone.now()))
                )
                client.payment_create(
                    entity_id=invoice.entity_id,
                    payload=PaymentCreate(
                        amount=amount,
                        type="card",
                        invoice_id=str(invoice.remote_id),
                        date=timezone.localdate(order.paid_at).isoformat(),
                        reference=order_reference(order.pk),
                        metadata={
                            "order_id": str(invoice.order_id),
                            "payment_ref": _payment_ref(invoice),
                        },
                    ),
                    request_id=f"{invoice.request_id}-payment",
                )
        except Transient:
            raise
        except SpaceInvoicesError as error:  # refused: no retry helps
            Document.objects.filter(pk=invoice.pk).update(payment_error=str(error))
            logger.warning("payment of invoice %s not recorded: %s", invoice.pk, error)
            return Document.objects.get(pk=invoice.pk)
    # Paid in full unless VAT became due at issue (then the rest stays due), or a webhook
    # said so first.
    now = timezone.now()
    paid_in_full = amount == invoice.total_gross
    Document.objects.filter(pk=invoice.pk, payment_recorded_at__isnull=True).update(
        payment_recorded_at=now,
        paid_at=Coalesce(F("paid_at"), Value(now)) if paid_in_full else F("paid_at"),
        payment_error="",
    )
    return Document.objects.get(pk=invoice.pk)


def document_pdf(*, invoice: Document, client: SpaceInvoicesClient | None = None) -> bytes:
    if invoice.state != DocumentState.ISSUED:
        raise ApplicationError("The document is not issued yet.", field="state")
    client = client or gateway.space_invoices_client()
    return client.document_pdf(entity_id=invoice.entity_id, document_id=str(invoice.remote_id))


def document_e_invoice(
    *, invoice: Document, e_format: str = "", client: SpaceInvoicesClient | None = None
) -> tuple[bytes, str]:
    """The issued document's e-invoice XML and its file name: in ``e_format`` (ubl, xrechnung
    or zugferd), else in the format it was issued in, else as Peppol BIS UBL."""
    if invoice.state != DocumentState.ISSUED:
        raise ApplicationError("The document is not issued yet.", field="state")
    chosen = e_format or invoice.e_invoice_format or "ubl"
    if chosen not in E_INVOICE_FORMATS:
        raise ApplicationError(
            f"Choose an e-invoice format of {', '.join(E_INVOICE_FORMATS)}.", field="e_format"
        )
    client = client or gateway.space_invoices_client()
    xml = client.document_e_invoice(
        entity_id=invoice.entity_id,
        document_id=str(invoice.remote_id),
        e_format=cast(EInvoiceFormat, chosen),
    )
    return xml, invoice.e_invoice_filename(chosen)


def document_mark_failed(*, invoice_id: int, reason: str) -> None:
    with transaction.atomic():
        failed = Document.objects.filter(pk=invoice_id, state=DocumentState.PENDING).update(
            state=DocumentState.FAILED, last_error=reason
        )
        if failed:
            _audit(Document.objects.get(pk=invoice_id), "document.failed")
    logger.warning("document %s failed: %s", invoice_id, reason)


def document_retry(*, invoice_id: int, actor: User | None = None) -> Document:
    """Send a failed row again (admin action).

    Failed rows were rejected or ran out of attempts. A rejection is replayed for the same
    request id, so a retry after one asks with a new id; the rejected request created nothing.
    A row whose last create has an unknown outcome keeps its id (a replay may still find the
    document); either way the retry looks the document up before it creates anything.

    A credit note whose outcome is unknown still counts against its invoice, so its retry is
    always allowed. One known to have created nothing does not count, and refunds, cancels or
    dashboard credit notes since may have taken what it credits: it is retried only if it
    still fits in what remains, else refused (``code: "over_credit"``), so nothing is credited
    twice.
    """
    order_id = Document.objects.values_list("order_id", flat=True).get(pk=invoice_id)
    with transaction.atomic():
        # The order first, as refunds and cancels lock it before they write a credit note.
        if order_id is not None:
            Order.objects.select_for_update(no_key=True).only("pk").get(pk=order_id)
        invoice = (
            Document.objects.select_for_update(of=("self",))
            .select_related("credited_invoice")
            .get(pk=invoice_id)
        )
        if invoice.state != DocumentState.FAILED:
            return invoice
        if (
            invoice.credited_invoice is not None
            and invoice.purpose == DocumentPurpose.SALE
            and not invoice.outcome_unknown
        ):
            _refuse_retry_beyond_remaining(invoice, invoice.credited_invoice)
        if not invoice.outcome_unknown:
            invoice.request_id = new_request_id()
        invoice.state = DocumentState.PENDING
        invoice.attempts = 0
        invoice.save(update_fields=["request_id", "state", "attempts"])
        _audit(invoice, "document.retried", actor=actor)
        _enqueue("issue_document", invoice.pk)
    return invoice


def document_release(*, invoice_id: int, actor: User | None = None) -> Document:
    """Issue a held invoice as it stands (admin action): the operator has decided.

    It is issued with its recorded treatment and records what the buyer paid, so what VAT
    became due stays due on it.
    """
    with transaction.atomic():
        invoice = Document.objects.select_for_update().get(pk=invoice_id)
        if invoice.state != DocumentState.PENDING or not invoice.held_reason:
            return invoice
        _audit(invoice, "document.released", actor=actor, detail={"held": invoice.held_reason})
        invoice.held_reason = ""
        invoice.save(update_fields=["held_reason"])
        _enqueue("issue_document", invoice.pk)
    return invoice


def document_adopt(
    *, invoice_id: int, document: RemoteDocument, actor: User | None = None
) -> Document:
    """Mirror a document found in the seller's entity onto its failed or pending row
    (reconciliation's adopt): the create had succeeded though this row never learned it."""
    with transaction.atomic():
        invoice = (
            Document.objects.select_for_update(of=("self",))
            .select_related("order")
            .get(pk=invoice_id)
        )
        if invoice.state == DocumentState.ISSUED:
            raise ApplicationError(f"{invoice} is already issued.", field="state", code="conflict")
        kind = (
            DocumentKind.CREDIT_NOTE if document["id"].startswith("cre_") else DocumentKind.INVOICE
        )
        if (
            document["entity_id"] != invoice.entity_id
            or kind != invoice.kind
            or document["metadata"].get("order_id") != str(invoice.order_id)
        ):
            raise ApplicationError(
                f"{document['id']} is not the document of {invoice}.", field="remote_id"
            )
        _mirror(invoice, document)
        _audit(invoice, "document.adopted", actor=actor, detail={"remote_id": document["id"]})
    return Document.objects.get(pk=invoice_id)


def document_sweep_pending() -> list[int]:
    """Re-drive pending rows whose task was lost (a crashed worker, a lost message, a broker
    that was down when it was enqueued), the payment records of paid orders' issued invoices
    and the emails of issued documents whose task was lost or ran out of retries."""
    stale = timezone.now() - settings.INVOICE_PENDING_SWEEP_AFTER
    # FOR NO KEY UPDATE: the rows stay the sweeper's alone, yet a refund or cancel committing a
    # credit note that references one of them (a foreign-key check) is not blocked, and cannot
    # deadlock with a sweep that holds it.
    with transaction.atomic():
        ids = list(
            Document.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(state=DocumentState.PENDING, held_reason="")
            .filter(
                Q(last_attempt_at__lt=stale) | Q(last_attempt_at__isnull=True, created_at__lt=stale)
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:500]
        )
        Document.objects.filter(pk__in=ids).update(last_attempt_at=timezone.now())
        for invoice_id in ids:
            _enqueue("issue_document", invoice_id)
        unrecorded = list(
            Document.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .filter(
                kind=DocumentKind.INVOICE,
                state=DocumentState.ISSUED,
                payment_recorded_at__isnull=True,
                payment_error="",
                voided_at__isnull=True,
                order__paid_at__lt=stale,
            )
            .filter(Q(last_attempt_at__lt=stale) | Q(last_attempt_at__isnull=True))
            .order_by("pk")
            .values_list("pk", flat=True)[:500]
        )
        unsent = list(
            Document.objects.select_for_update(skip_locked=True, no_key=True)
            .filter(
                state=DocumentState.ISSUED,
                send_due_at__lt=stale,
                sent_at__isnull=True,
                send_error="",
            )
            .filter(Q(last_attempt_at__lt=stale) | Q(last_attempt_at__isnull=True))
            .order_by("pk")
            .values_list("pk", flat=True)[:500]
        )
        # Both lists first: an invoice may be in both, and this marks it driven.
        Document.objects.filter(pk__in=unrecorded + unsent).update(last_attempt_at=timezone.now())
        for invoice_id in unrecorded:
            _enqueue("record_payment", invoice_id)
        for invoice_id in unsent:
            _enqueue("send_document", invoice_id)
    return ids + unrecorded + unsent


def document_payload_freeze(
    *, invoice: Document, lines: Sequence[DocumentLine] | None = None
) -> DocumentCreate:
    """Build the row's create request from the row and store it; every attempt sends it.

    Called when the row is written (with the `lines` just written, in id order, so they are
    not read back), and again when its tax treatment changes before any create was sent. Once
    a create was sent the request is final: rebuilding it raises ValueError.
    """
    payload = document_payload(invoice, lines=lines)
    invoice.payload = json_dumps(payload)
    frozen = (
        Document.objects.filter(pk=invoice.pk)
        .filter(Q(first_sent_at__isnull=True) | Q(payload=""))
        .update(payload=invoice.payload)
    )
    if not frozen:
        raise ValueError(f"document {invoice.pk} was sent: its request cannot change")
    return payload


def document_payload(
    invoice: Document, *, lines: Sequence[DocumentLine] | None = None
) -> DocumentCreate:
    """The create request for the row as it is now, from the row alone: its lines (read in id
    order unless given) and its recorded tax treatment, dated the day the row was written."""
    order = invoice.sale_order
    if lines is None:
        lines = list(invoice.lines.select_related("order_line").order_by("pk"))
    if invoice.purpose == DocumentPurpose.SUPPLY_TO_OPERATOR:
        customer = operator_customer()
    else:
        customer = DocumentCustomer(
            name=order.buyer_company or order.buyer_name,
            email=order.buyer_email,
            address=order.billing_address,
            post_code=order.billing_post_code,
            city=order.billing_city,
            country_code=str(order.billing_country),
            is_end_consumer=invoice.customer_is_end_consumer,
        )
    if invoice.customer_tax_number:
        customer.tax_number = invoice.customer_tax_number
    if order.buyer_peppol_id:
        customer.peppol_id = order.buyer_peppol_id
        customer.peppol_scheme_id = order.buyer_peppol_scheme_id
    if order.buyer_reference:
        customer.e_invoicing = PartyEInvoicing(buyer_reference=order.buyer_reference)
    total = _totals(lines, order.currency).gross
    metadata = {
        "order_id": str(order.pk),
        "seller_id": str(order.seller_id),
        "checkout_id": str(order.checkout_id),
        "document_ref": document_ref(kind=invoice.kind, pk=invoice.pk),
    }
    if invoice.credited_invoice is not None:
        metadata["credited_invoice_id"] = str(invoice.credited_invoice.remote_id)
    payload = DocumentCreate(
        date=timezone.localdate(invoice.created_at).isoformat(),
        currency_code=order.currency,
        customer=customer,
        items=[_item(line, invoice.reverse_charge) for line in lines],
        expected_total_with_tax=total,
        metadata=metadata,
        reference=order.reference,
    )
    if invoice.tax_note:
        payload.note = invoice.tax_note
    if order.fulfilled_at is not None:
        payload.date_service = timezone.localdate(order.fulfilled_at).isoformat()
    if invoice.credited_invoice is not None:
        payload.linked_documents = [str(invoice.credited_invoice.remote_id)]
    elif order.paid_at is not None and total > 0 and invoice.purpose == DocumentPurpose.SALE:
        # Paid with the order; nothing is due on a zero total (the API refuses amount 0).
        payload.payments = [
            DocumentPayment(
                amount=invoice_amount_paid(invoice=invoice, lines=lines),
                type="card",
                date=timezone.localdate(order.paid_at).isoformat(),
                reference=order.reference,
            )
        ]
    return payload


def document_treatment(invoice: Document) -> dict[str, object]:
    """The invoice's recorded treatment and VIES evidence, for a credit note to copy."""
    return {field: getattr(invoice, field) for field in TREATMENT_FIELDS}


# Internals


def _document_create(order: Order, kind: str, *, credited_invoice: Document | None) -> Document:
    """The row, with its treatment: the invoice's for a credit note, else the order's."""
    if credited_invoice is not None:
        treatment = document_treatment(credited_invoice)
    else:
        treatment = {
            "transaction_type": order.transaction_type,
            "reverse_charge": order.reverse_charge,
            "rate_source": order.tax_rate_source,
            "tax_note": order.tax_note,
            "customer_is_end_consumer": order.buyer_is_end_consumer,
            "customer_tax_number": "" if order.buyer_is_end_consumer else order.buyer_vat_number,
        }
    # A credit note is of its invoice's purpose: the buyer's sale, or the seller's supply to the
    # operator of a deemed-supplier sale.
    purpose = credited_invoice.purpose if credited_invoice else DocumentPurpose.SALE
    operators = order.deemed_supply and purpose == DocumentPurpose.SALE
    return Document.objects.create(
        order=order,
        purpose=purpose,
        seller_id=order.seller_id,
        # Blank: waits for the issuer's entity (the seller's, or the operator's deemed-sales
        # entity for a deemed-supplier sale to the buyer, its credit notes too).
        entity_id=deemed_sales_entity_id() if operators else order.seller.entity_id or "",
        kind=kind,
        credited_invoice=credited_invoice,
        currency=order.currency,
        seller_country=str(order.seller.country),
        buyer_country=str(order.billing_country),
        e_invoice_format=issued_format(str(order.seller.country), timezone.localdate()) or "",
        correlation_id=request_id_current(),
        **treatment,
    )


def _document_line(
    document: Document, line: OrderLine, quantity: int, tax_rate: Decimal
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


def _item(line: DocumentLine, reverse_charge: bool) -> DocumentItem:
    tax = ItemTax(rate=line.tax_rate)
    if reverse_charge:
        tax.reverse_charge = True
    return DocumentItem(
        name=line.name, quantity=Decimal(line.quantity), price=line.unit_price, taxes=[tax]
    )


def _priced(lines: Iterable[DocumentLine]) -> list[PricedLine]:
    return [PricedLine(line.quantity, line.unit_price, line.tax_rate) for line in lines]


def _totals(lines: Iterable[DocumentLine], currency: str) -> Totals:
    return order_totals(_priced(lines), currency)


def invoice_amount_paid(
    *, invoice: Document, lines: Sequence[DocumentLine] | None = None
) -> Decimal:
    """What the buyer paid for the invoice's lines: their checkout price (at the order lines'
    rates), never more than the document's total. Equal to it unless the treatment changed at
    issue time; then VAT that became due stays due. The payment recorded on the invoice, and
    what reconciliation expects its entity to show paid. `lines`: the invoice's lines with
    their order lines, when the caller has them."""
    if lines is None:
        lines = list(invoice.lines.select_related("order_line").order_by("pk"))
    checkout_price = order_totals(
        [PricedLine(line.quantity, line.unit_price, line.sold_line.tax_rate) for line in lines],
        invoice.currency,
    )
    return min(checkout_price.gross, _totals(lines, invoice.currency).gross)


def _credited_quantities(invoice: Document) -> defaultdict[int, int]:
    """Per order line, what credit notes of this invoice (issued or on their way) credit.

    A failed credit note counts until its outcome is known to be nothing: it was rejected, or a
    look-up proved it absent (document_find_remote). One that gave up may exist.
    """
    rows = (
        DocumentLine.objects.filter(document__credited_invoice=invoice)
        .exclude(document__state=DocumentState.FAILED, document__outcome_unknown=False)
        .values("order_line_id")
        .annotate(quantity=Sum("quantity"))
    )
    credited: defaultdict[int, int] = defaultdict(int)
    for row in rows:
        credited[row["order_line_id"]] = row["quantity"]
    return credited


def _credit_gross(lines: Iterable[tuple[DocumentLine, int]], currency: str) -> Decimal:
    """The gross of a credit note of these quantities of these lines, its tax per document."""
    priced = [PricedLine(quantity, line.unit_price, line.tax_rate) for line, quantity in lines]
    return order_totals(priced, currency).gross


def _refuse_beyond_balance(
    invoice: Document, lines: list[tuple[DocumentLine, int]], balance: CreditBalance
) -> None:
    """Lines of a credit note must fit in what remains by amount: in gross, then, once some
    credit is known only by its amount (quantities alone then no longer tell what remains),
    in net at each rate."""
    currency = invoice.currency
    by_amount = ""
    if balance.by_amount:
        by_amount = " (credit notes made in Space Invoices count by amount)"
    total = _credit_gross(lines, currency)
    if total > balance.remaining_gross:
        raise ApplicationError(
            f"These lines credit {total} {currency}, but only {balance.remaining_gross} "
            f"{currency} of invoice {invoice.number} remains to credit{by_amount}.",
            field="lines",
            code="over_credit",
        )
    if not balance.by_amount:
        return
    base_by_rate: defaultdict[Decimal, Decimal] = defaultdict(Decimal)
    for line, quantity in lines:
        base_by_rate[line.tax_rate] += line_net(
            PricedLine(quantity, line.unit_price, line.tax_rate), currency
        )
    for rate, base in sorted(base_by_rate.items()):
        if base > balance.remaining_base(rate):
            raise ApplicationError(
                f"These lines credit {base} {currency} net at {rate} %, but only "
                f"{balance.remaining_base(rate)} {currency} remains to credit at that rate on "
                f"invoice {invoice.number}{by_amount}.",
                field="lines",
                code="over_credit",
            )


def _refuse_retry_beyond_remaining(credit_note: Document, invoice: Document) -> None:
    """A failed credit note known to have created nothing (rejected, or proven absent) no
    longer counts, so later credit may have taken its quantities or its amount: sent now, it
    would credit them twice. It is sent only if it still fits in what the others left, by
    quantity and by amount (the caller holds its order's row lock, as refunds and cancels do).
    Not counting itself, it is checked against exactly what remains without it."""
    lines = list(credit_note.lines.order_by("pk"))
    credited = _credited_quantities(invoice)
    invoiced = {line.order_line_id: line.quantity for line in invoice.lines.all()}
    for line in lines:
        if line.order_line_id is None:  # a balance line: by amount only, below
            continue
        remaining = invoiced.get(line.order_line_id, 0) - credited[line.order_line_id]
        if line.quantity > remaining:
            raise ApplicationError(
                f"{credit_note} credits {line.quantity} of '{line.name}', but only "
                f"{remaining} remain to credit on invoice {invoice.number} (credited since it "
                "failed): sending it would credit them twice.",
                field="lines",
                code="over_credit",
            )
    balance = invoice_credit_balance(invoice=invoice)
    try:
        _refuse_beyond_balance(invoice, [(line, line.quantity) for line in lines], balance)
    except ApplicationError as refusal:
        raise ApplicationError(
            f"{credit_note} no longer fits in what remains to credit: {refusal.message}",
            field=refusal.field,
            code=refusal.code,
        ) from None


def _balance_bases(balance: CreditBalance) -> dict[Decimal, Decimal]:
    """The net to credit at each rate, highest rate first, so the total stays within the
    remaining gross: what remains at each rate, less (from the highest rate down) whatever
    per-document tax rounding or dashboard credit at no rate of the invoice would put above."""
    currency = balance.currency
    bases = {
        rate: balance.remaining_base(rate)
        for rate in sorted(balance.invoiced_base, reverse=True)
        if balance.remaining_base(rate) > 0
    }
    while bases:
        priced = [PricedLine(1, base, rate) for rate, base in bases.items()]
        excess = order_totals(priced, currency).gross - balance.remaining_gross
        if excess <= 0:
            break
        rate = max(bases)
        # The net whose gross is the excess, at least one minor unit; the loop checks again.
        cut = quantize(excess / (1 + rate / 100), currency) or excess
        bases[rate] -= min(cut, bases[rate])
        if bases[rate] == 0:
            del bases[rate]
    return bases


def _balance_credit_note(
    invoice: Document,
    bases: dict[Decimal, Decimal],
    *,
    goods: Sequence[tuple[DocumentLine, int]] = (),
) -> Document | None:
    """A credit note of balance lines (no order line, quantity 1), one per rate, each naming
    the ``goods`` it credits at its rate; none when nothing remains."""
    if not bases:
        return None
    credit_note = _document_create(
        invoice.sale_order, DocumentKind.CREDIT_NOTE, credited_invoice=invoice
    )
    named: defaultdict[Decimal, list[str]] = defaultdict(list)
    for line, quantity in goods:
        named[line.tax_rate].append(f"{quantity} x {line.name}")
    DocumentLine.objects.bulk_create(
        DocumentLine(
            document=credit_note,
            order_line=None,
            name=_balance_line_name(invoice, rate, named[rate]),
            quantity=1,
            unit_price=base,
            tax_rate=rate,
            total_net=base,
        )
        for rate, base in bases.items()
    )
    document_payload_freeze(invoice=credit_note)
    _enqueue("issue_document", credit_note.pk)
    return credit_note


def _balance_line_name(invoice: Document, rate: Decimal, goods: list[str]) -> str:
    name = f"Balance of invoice {invoice.number} at {rate} %"
    if goods:
        name = f"{name}: {', '.join(goods)}"
    return textwrap.shorten(name, width=200, placeholder=" ...")


def _credited_invoice_issued(credit_note: Document) -> bool:
    # Read now: the credit note's row was read without it (_issue).
    credited = credit_note.credited_invoice
    return credited is not None and credited.state == DocumentState.ISSUED


def _recheck_vies(invoice: Document) -> Document:
    """Check the VAT number again before the invoice is first sent; keep the answer as evidence.

    Valid: issued as recorded. Invalid, or VIES down under the standard-VAT policy: the whole
    document follows the new answer (its lines, note and customer classification, and those of
    its credit notes waiting for it). Where that makes VAT due on an order already paid
    without it, the hold policy keeps the invoice for an operator (released in admin); the
    standard-VAT policy issues it with the payment the buyer made and the VAT left due. VIES
    down under the hold policy: held, and checked again later.
    """
    order = invoice.sale_order
    seller_profile, buyer_profile = seller_tax_profile(order.seller), buyer_tax_profile(order)
    evidence = vies_check(seller=seller_profile, buyer=buyer_profile, use_cache=False)
    waiting_credit_notes = Q(credited_invoice=invoice, state=DocumentState.PENDING)
    Document.objects.filter(Q(pk=invoice.pk) | waiting_credit_notes).update(
        vies_valid=evidence.valid,
        vies_checked_at=evidence.checked_at,
        vies_request_id=evidence.request_id,
    )
    hold = order.seller.vies_unavailable_policy == ViesUnavailablePolicy.HOLD
    if evidence.valid is None and hold:
        Document.objects.filter(pk=invoice.pk).update(last_error=VIES_HOLD_REASON)
        raise NotReady(f"VIES unavailable; invoice {invoice.pk} held by the seller's policy")
    Document.objects.filter(pk=invoice.pk, last_error=VIES_HOLD_REASON).update(last_error="")
    if evidence.valid is True:
        invoice.refresh_from_db()
        return invoice
    treatment = tax_treatment(seller=seller_profile, buyer=buyer_profile, vies_valid=False)
    on = timezone.localdate(order.placed_at)
    with transaction.atomic():
        if is_distance_sale(treatment) and distance_sales_over_threshold(
            seller=order.seller,
            sale_net=_totals(invoice.lines.all(), invoice.currency).net,
            currency=invoice.currency,
            on=on,
        ):
            treatment = tax_treatment(
                seller=seller_profile,
                buyer=buyer_profile,
                vies_valid=False,
                distance_sales_over_threshold=True,
            )
        _apply_treatment(invoice, treatment, on)
        invoice.refresh_from_db()
        paid = invoice_amount_paid(invoice=invoice)
        due = _totals(invoice.lines.all(), invoice.currency).gross - paid
        if hold and order.paid_at is not None and due > 0:
            invoice.held_reason = (
                f"VIES: {order.buyer_vat_number} not registered at issue; VAT is due on an order "
                f"paid without it ({due} {invoice.currency} unpaid). Release to issue it with "
                "the VAT due."
            )
            invoice.save(update_fields=["held_reason"])
            _audit(invoice, "document.held", detail={"reason": invoice.held_reason})
    return invoice


def _apply_treatment(invoice: Document, treatment: TaxTreatment, on: date) -> None:
    """Record a new treatment on the invoice and on its credit notes still waiting for it."""
    documents = [invoice, *invoice.credit_notes.filter(state=DocumentState.PENDING)]
    lines = list(
        DocumentLine.objects.filter(document__in=documents).select_related(
            "order_line__product__seller"
        )
    )
    for line in lines:
        line.tax_rate = product_rate(treatment=treatment, product=line.sold_line.product, on=on)
    DocumentLine.objects.bulk_update(lines, ["tax_rate"])
    Document.objects.filter(pk__in=[document.pk for document in documents]).update(
        transaction_type=treatment.transaction_type,
        reverse_charge=treatment.reverse_charge,
        rate_source=treatment.rate_source,
        tax_note=treatment.note,
        customer_is_end_consumer=treatment.customer_is_end_consumer,
        customer_tax_number=treatment.customer_tax_number,
    )
    for document in Document.objects.filter(pk__in=[document.pk for document in documents]):
        document_payload_freeze(invoice=document)


def _mirror(invoice: Document, document: RemoteDocument, *, send_later: bool = True) -> bool:
    """Mirror the document onto its pending row (or a failed one whose document was found),
    and onto `invoice` as this process holds it. `send_later`: the email to the buyer, when
    due, is the send task's; otherwise the caller posts it at once (document_issue_and_send),
    and the post is noted with the issued state, committed before it goes out. Returns
    whether it did so."""
    total_net = document["total"]
    total_gross = document["total_with_tax"]
    now = timezone.now()
    # The invoice.paid webhook of an invoice paid inline may come before this answer is mirrored.
    paid = invoice.kind == DocumentKind.INVOICE and document["paid_in_full"]
    # What the document says, not what this attempt would send: a document found again may
    # have been created before the order was paid. Paid in full, or paid in part (VAT that
    # became due at issue stays due), it holds the order's payment (inline with the create, or
    # nothing was due).
    paid_at = invoice.order.paid_at if invoice.order is not None else None
    paid_inline = paid_at is not None and (paid or document["total_paid"] > 0)
    # A seller's supply to the operator is not the buyer's: not mailed, no payment of the buyer.
    to_buyer = invoice.purpose != DocumentPurpose.SUPPLY_TO_OPERATOR
    if not to_buyer:
        paid_at, paid_inline = None, False
    to_buyer = to_buyer and settings.SEND_DOCUMENTS_TO_BUYERS
    with transaction.atomic():
        mirrored = {
            "state": DocumentState.ISSUED,
            "remote_id": document["id"],
            "number": document["number"] or "",
            "shareable_id": document.get("shareable_id") or "",
            "date": _parse_date(document.get("date")),
            "date_due": _parse_date(document.get("date_due")),
            "total_net": total_net,
            "total_tax": total_gross - total_net,
            "total_gross": total_gross,
            "last_error": "",
            "outcome_unknown": False,
            "issued_at": now,
            "payment_recorded_at": now if paid_inline else None,
            "paid_at": now if paid else None,
            # The email to the buyer is due from now (an outbox entry with the issued state).
            "send_due_at": now if to_buyer else None,
        }
        posting_now = to_buyer and not send_later
        if posting_now:
            mirrored["send_posted_at"] = now
        updated = Document.objects.filter(
            pk=invoice.pk, state__in=[DocumentState.PENDING, DocumentState.FAILED]
        ).update(**mirrored)
        if not updated:
            return False
        for field, value in mirrored.items():
            setattr(invoice, field, value)
        _audit(invoice, "document.issued", detail={"number": document["number"] or ""})
        hooks.document_issued(document=invoice)
        DocumentTax.objects.bulk_create(
            DocumentTax(document=invoice, rate=tax["rate"], base=tax["base"], amount=tax["amount"])
            for tax in document.get("taxes", [])
        )
        if to_buyer and send_later:
            _enqueue("send_document", invoice.pk)
        if not paid_inline and invoice.kind == DocumentKind.INVOICE and paid_at:
            _enqueue("record_payment", invoice.pk)
    logger.info("document %s issued as %s in %s", invoice.pk, document["id"], invoice.entity_id)
    return posting_now


def _audit(
    invoice: Document,
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


def _payload_to_send(invoice: Document) -> DocumentCreate:
    """The frozen request; a credit note names its invoice, whose id is fixed once issued."""
    if invoice.payload:
        payload = DocumentCreate.model_validate(json_loads(invoice.payload.encode()))
    else:  # a row written before requests were frozen
        payload = document_payload_freeze(invoice=invoice)
    if invoice.credited_invoice is not None:
        credited = str(invoice.credited_invoice.remote_id)
        payload.linked_documents = [credited]
        payload.metadata = {**(payload.metadata or {}), "credited_invoice_id": credited}
    return payload


def _attempt_start(invoice: Document, *, create_sending: bool) -> int:
    """Count the attempt on the row and return the count (committed at once). With
    `create_sending`, the create about to go out is noted as _create_sending notes it."""
    quote, now = connection.ops.quote_name, connection.ops.adapt_datetimefield_value(timezone.now())
    table, pk = quote(Document._meta.db_table), quote(Document._meta.pk.column)
    noted = ", first_sent_at = COALESCE(first_sent_at, %s), outcome_unknown = TRUE"
    sql = (
        f"UPDATE {table} SET attempts = attempts + 1, last_attempt_at = %s"  # noqa: S608
        f"{noted if create_sending else ''} WHERE {pk} = %s RETURNING attempts"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, now, invoice.pk] if create_sending else [now, invoice.pk])
        (attempts,) = cursor.fetchone()
    return int(attempts)


def _create_sending(invoice: Document) -> None:
    """Noted (and committed) before the create goes out: from now on its outcome is unknown
    until an answer says otherwise, and every later attempt looks the document up first."""
    Document.objects.filter(pk=invoice.pk).update(
        first_sent_at=Coalesce(F("first_sent_at"), Value(timezone.now())), outcome_unknown=True
    )


def _recipient(invoice: Document) -> str:
    """A sale's buyer, or the seller a commission document is addressed to."""
    return invoice.seller.email if invoice.order is None else invoice.order.buyer_email


def _issuer_name(invoice: Document) -> str:
    if invoice.purpose == DocumentPurpose.COMMISSION or (
        invoice.order is not None and invoice.order.deemed_supply
    ):
        return str(settings.OPERATOR_NAME)
    return invoice.seller.business_name


def _payment_ref(invoice: Document) -> str:
    """Names the invoice's payment record in its metadata, so a lost answer can be found."""
    return f"mkt-payment-{invoice.pk}"


def _payment_sent_earlier(client: SpaceInvoicesClient, invoice: Document) -> Payment | None:
    query = {"metadata.payment_ref": {"equals": _payment_ref(invoice)}}
    page = client.payment_list(entity_id=invoice.entity_id, query=query, limit=1)
    return page.data[0] if page.data else None


def _sent_earlier(client: SpaceInvoicesClient, invoice: Document) -> bool:
    """Whether Space Invoices holds a message of an earlier post of this document. Where its
    list of messages is not found (the route is the sandbox's), the post is repeated with its
    request id, which the API answers without sending again."""
    query = {"document_id": {"equals": str(invoice.remote_id)}}
    try:
        page = client.message_list(
            entity_id=invoice.entity_id,
            query=query,
            limit=1,
            path=settings.SPACE_INVOICES_MESSAGES_PATH,
        )
    except NotFound:
        return False
    return bool(page.data)


def _created_earlier(client: SpaceInvoicesClient, invoice: Document) -> RemoteDocument | None:
    """The document an earlier attempt may have created though its answer never came back.

    The request id replay covers this while the API keeps idempotency keys; looking the
    document up by metadata covers it after they expire, or after the id was rotated.
    """
    query = {"metadata.document_ref": {"equals": document_ref(kind=invoice.kind, pk=invoice.pk)}}
    if invoice.order_id is not None:
        query["metadata.order_id"] = {"equals": str(invoice.order_id)}
    if invoice.kind == DocumentKind.CREDIT_NOTE:
        page = client.credit_note_list(entity_id=invoice.entity_id, query=query, limit=2)
    else:
        page = client.invoice_list(entity_id=invoice.entity_id, query=query, limit=2)
    return page.data[0] if page.data else None


def _parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _enqueue(task_name: str, invoice_id: int) -> None:
    from invoicing import tasks

    enqueue_on_commit(getattr(tasks, task_name), invoice_id)
