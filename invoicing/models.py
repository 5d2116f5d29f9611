"""The local mirror of documents issued in sellers' Space Invoices entities.

A row is written in state `pending` in the same transaction as the order change that calls for
it (the outbox); a task then issues it remotely and mirrors the answer onto the row.
"""

import re
import uuid

from django.db import models
from django.utils.text import get_valid_filename, slugify

from marketplace.models import Order, OrderLine, money_field, order_reference, tax_rate_field
from sellers.models import Seller


def new_request_id() -> str:
    return f"mkt-doc-{uuid.uuid4().hex}"


class DocumentKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


# How a document's ``metadata.document_ref`` names its row here: ``mkt-<kind>-<pk>``. Written
# on every create (so a lost answer can be found again) and read back by reconciliation and
# webhooks (so a document is known as ours); ``document_ref`` and ``document_ref_parse`` are
# its only writer and reader.
_DOCUMENT_REF = re.compile(r"mkt-(invoice|credit_note)-(\d{1,18})")


def document_ref(*, kind: str, pk: int) -> str:
    """The ``metadata.document_ref`` of the row ``pk`` of this kind."""
    return f"mkt-{kind}-{pk}"


def document_ref_parse(ref: str) -> tuple[str, int] | None:
    """(kind, row id) a ``metadata.document_ref`` names; None for anything not of ours."""
    match = _DOCUMENT_REF.fullmatch(ref)
    return (match.group(1), int(match.group(2))) if match else None


class DocumentPurpose(models.TextChoices):
    """Who issues the document and what for: a seller's sale to a buyer (in the seller's
    entity), or the operator's commission on a seller's sales of a month (in the operator's
    entity, to the seller; invoicing.commission_invoices)."""

    SALE = "sale", "Seller's sale"
    COMMISSION = "commission", "Operator's commission"
    # The seller's supply of a deemed-supplier sale's goods to the operator (Article 14a): B2B,
    # exempt (Article 136a), in the seller's entity, beside the operator's invoice to the buyer.
    SUPPLY_TO_OPERATOR = "supply", "Seller's supply to the operator"


class DocumentState(models.TextChoices):
    PENDING = "pending", "Pending"
    ISSUED = "issued", "Issued"
    FAILED = "failed", "Failed"


class SaleDocuments(models.Manager["Document"]):
    def get_queryset(self) -> "models.QuerySet[Document]":
        return super().get_queryset().filter(purpose=DocumentPurpose.SALE)


class Document(models.Model):
    # The sale's order; none on a commission document, which covers a seller's month.
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="documents", null=True, blank=True
    )
    purpose = models.CharField(
        max_length=10, choices=DocumentPurpose.choices, default=DocumentPurpose.SALE
    )
    objects = models.Manager()
    # A seller's sales to its buyers (in the seller's entity): what reconciliation of a seller's
    # entity, the seller's pages and the sales reports read.
    sales = SaleDocuments()

    # A commission document's month (its first day).
    period_start = models.DateField(null=True, blank=True)
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="documents")
    entity_id = models.CharField(max_length=40)
    kind = models.CharField(
        max_length=12, choices=DocumentKind.choices, default=DocumentKind.INVOICE
    )
    state = models.CharField(
        max_length=10, choices=DocumentState.choices, default=DocumentState.PENDING
    )
    # The X-Request-Id of the create call: fixed with the row, reused on every retry.
    request_id = models.CharField(max_length=64, unique=True, default=new_request_id)
    # The id of the web request that wrote the row (core/request_id.py), which its log
    # lines and those of its tasks carry too; blank when written outside of a request.
    correlation_id = models.CharField(max_length=128, blank=True, default="")

    remote_id = models.CharField(max_length=40, null=True, blank=True, unique=True)
    number = models.CharField(max_length=40, blank=True)
    shareable_id = models.CharField(max_length=40, blank=True)
    date = models.DateField(null=True, blank=True)
    date_due = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    total_net = money_field(null=True, blank=True)
    total_tax = money_field(null=True, blank=True)
    total_gross = money_field(null=True, blank=True)

    # A credit note corrects this invoice (sent as linked_documents).
    credited_invoice = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    # The document's tax treatment, recorded once (an invoice copies its order's, a credit note
    # its invoice's) and changed only before anything was sent (VIES answering otherwise at
    # issue time); the lines' rates, the note, the customer classification sent to Space
    # Invoices and the recorded payment all derive from it.
    transaction_type = models.CharField(max_length=16, blank=True)
    reverse_charge = models.BooleanField(default=False)
    rate_source = models.CharField(max_length=16, blank=True)
    tax_note = models.CharField(max_length=300, blank=True)
    customer_is_end_consumer = models.BooleanField(default=True)
    customer_tax_number = models.CharField(max_length=30, blank=True)
    seller_country = models.CharField(max_length=2, blank=True)
    buyer_country = models.CharField(max_length=2, blank=True)
    # VIES evidence for a reverse-charged sale, checked again at issue time.
    vies_valid = models.BooleanField(null=True, blank=True)
    vies_checked_at = models.DateTimeField(null=True, blank=True)
    vies_request_id = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The e-invoice format the seller's country mandated when the row was written
    # (sellers.einvoicing.issued_format): ubl, xrechnung or zugferd; blank where none applied.
    e_invoice_format = models.CharField(max_length=10, blank=True)
    payment_recorded_at = models.DateTimeField(null=True, blank=True)
    # What the entity says happened to the issued document since (its answer, webhooks).
    paid_at = models.DateTimeField(null=True, blank=True)
    # A voided document keeps its number but no longer counts in reports.
    voided_at = models.DateTimeField(null=True, blank=True)

    # The create request's body (JSON, exactly as sent), frozen when the row is written: every
    # attempt, on whatever day, sends the same request. Rebuilt only before any create was sent.
    payload = models.TextField(blank=True)
    # When the first create was sent; never reset (an operator's retry resets `attempts`). From
    # then on every attempt looks the document up before it creates it again.
    first_sent_at = models.DateTimeField(null=True, blank=True)
    # A create was sent and no answer told what it did (a timeout, a lost answer, a 5xx): the
    # document may exist. A rejection (it created nothing) or a look-up that finds nothing
    # (recorded in absence_proven_at) clears it. A failed credit note with an unknown outcome
    # still counts as credited.
    outcome_unknown = models.BooleanField(default=False)
    absence_proven_at = models.DateTimeField(null=True, blank=True)
    # The order's payment record (POST /payments): when it was first sent (never reset; later
    # attempts look the payment up first), and the API's reason if it refused it.
    payment_sent_at = models.DateTimeField(null=True, blank=True)
    payment_error = models.TextField(blank=True)
    # Emailing the issued document to its buyer (POST /documents/{id}/send), an outbox entry
    # written with the issued state: when it became due (null: not to be sent), when it was
    # first posted (never reset; later attempts look the message up first), and the API's
    # reason if it refused it. sent_at says it was done.
    send_due_at = models.DateTimeField(null=True, blank=True)
    send_posted_at = models.DateTimeField(null=True, blank=True)
    send_error = models.TextField(blank=True)
    # Why a pending row waits for an operator (blank: it does not); released in admin.
    held_reason = models.CharField(max_length=300, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["seller", "date"]),
            models.Index(fields=["state", "last_attempt_at"]),
            # Admin's currency and transaction type filters list their values through these.
            models.Index(fields=["currency"]),
            models.Index(fields=["transaction_type"]),
            # The dashboard's oldest pending document, without sorting every pending one.
            models.Index(fields=["state", "created_at"]),
            # The sweeper's issued invoices whose payment is not recorded yet.
            models.Index(
                fields=["last_attempt_at"],
                condition=models.Q(
                    kind="invoice", state="issued", payment_recorded_at__isnull=True
                ),
                name="invoice_payment_unrecorded",
            ),
            # The sweeper's issued documents still to be emailed.
            models.Index(
                fields=["send_due_at"],
                condition=models.Q(send_due_at__isnull=False, sent_at__isnull=True),
                name="document_send_unsent",
            ),
            # A seller's intra-EU distance sales, counted at checkout (invoicing.distance_sales).
            models.Index(
                fields=["seller", "created_at"],
                condition=models.Q(transaction_type="intra_eu_b2c"),
                name="document_distance_sales",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(kind="invoice", purpose="sale"),
                name="one_invoice_per_order",
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(kind="invoice", purpose="supply"),
                name="one_supply_to_operator_per_order",
            ),
            models.UniqueConstraint(
                fields=["entity_id", "kind", "number"],
                condition=~models.Q(number=""),
                name="document_number_unique_per_entity",
            ),
            # Exactly once per seller and month: its commission invoice, and per commission
            # invoice credited, that month's commission credit note.
            models.UniqueConstraint(
                fields=["seller", "period_start", "currency"],
                condition=models.Q(purpose="commission", kind="invoice"),
                name="one_commission_invoice_per_seller_period",
            ),
            models.UniqueConstraint(
                fields=["seller", "period_start", "credited_invoice"],
                condition=models.Q(purpose="commission", kind="credit_note"),
                name="one_commission_credit_note_per_invoice_period",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    purpose__in=["sale", "supply"],
                    order__isnull=False,
                    period_start__isnull=True,
                )
                | models.Q(purpose="commission", order__isnull=True, period_start__isnull=False),
                name="document_purpose_order_or_period",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=DocumentKind.values), name="document_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=DocumentState.values), name="document_state_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(state="issued")
                | (models.Q(remote_id__isnull=False) & ~models.Q(number="")),
                name="issued_document_has_remote_id_and_number",
            ),
            # A row may wait for its seller's entity (onboarding still running), not be issued.
            models.CheckConstraint(
                condition=~models.Q(state="issued", entity_id=""), name="issued_document_has_entity"
            ),
            models.CheckConstraint(
                condition=models.Q(state="issued")
                | models.Q(paid_at__isnull=True, voided_at__isnull=True),
                name="only_issued_documents_are_paid_or_voided",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="invoice", credited_invoice__isnull=True)
                | models.Q(kind="credit_note", credited_invoice__isnull=False),
                name="credit_note_links_its_invoice",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"{self.get_kind_display()} #{self.pk} ({self.state})"

    @property
    def order_reference(self) -> str:
        """The marketplace order reference a sale document carries (its `reference`); a
        commission document has none."""
        return "" if self.order_id is None else order_reference(self.order_id)

    @property
    def sale_order(self) -> Order:
        """The order of a seller's sale document (not a commission document)."""
        if self.order is None:
            raise ValueError(f"document {self.pk} is a commission document, of no order")
        return self.order

    def e_invoice_filename(self, e_format: str) -> str:
        """`<seller-slug>-<number>-<format>.xml`, like the PDF's name."""
        slug = slugify(self.seller.business_name) or f"seller-{self.seller_id}"
        return get_valid_filename(f"{slug}-{self.number}-{e_format}.xml")

    def pdf_filename(self) -> str:
        """`<seller-slug>-<number>.pdf`: every seller numbers its own series, so one buyer's
        documents of two sellers can share a number."""
        slug = slugify(self.seller.business_name) or f"seller-{self.seller_id}"
        return get_valid_filename(f"{slug}-{self.number}.pdf")


class DocumentLine(models.Model):
    """What a document invoices or credits of one order line (set when the row is written).

    A balance line has no order line: it credits an amount at one rate (quantity 1), what
    remains of an invoice that a credit note made in the seller's dashboard credited by
    amount, without lines (see services.credit_note_for_remaining).
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = money_field()
    tax_rate = tax_rate_field()
    total_net = money_field()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="document_line_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["document", "order_line"], name="one_document_line_per_order_line"
            ),
            models.UniqueConstraint(
                fields=["document", "tax_rate"],
                condition=models.Q(order_line__isnull=True),
                name="one_balance_line_per_rate",
            ),
            models.CheckConstraint(
                condition=models.Q(order_line__isnull=False) | models.Q(quantity=1),
                name="balance_line_quantity_one",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"

    @property
    def sold_line(self) -> OrderLine:
        """The order line this line of a sale invoices or credits (not a balance line)."""
        if self.order_line is None:
            raise ValueError(f"document line {self.pk} is a balance line")
        return self.order_line

    @property
    def sold_line_id(self) -> int:
        if self.order_line_id is None:
            raise ValueError(f"document line {self.pk} is a balance line")
        return self.order_line_id


class DocumentTax(models.Model):
    """The issued document's tax summary by rate, as Space Invoices computed it."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="taxes")
    rate = tax_rate_field()
    base = money_field()
    amount = money_field()

    class Meta:
        ordering = ["rate"]
        constraints = [
            models.UniqueConstraint(fields=["document", "rate"], name="one_tax_row_per_rate"),
        ]

    def __str__(self) -> str:
        return f"{self.rate} % of {self.base}"


class OperatorEntity(models.Model):
    """The marketplace operator's own Space Invoices entity (one row; invoicing.operator).

    It issues only what the operator is the legal issuer of: commission invoices to sellers
    and their credit notes. No seller's sale is ever written in it. A second entity of the same
    legal operator (`deemed_entity_id`) issues its deemed-supplier sales (Article 14a) to
    buyers, in their own number series (invoicing.deemed_supply).
    """

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    entity_id = models.CharField(max_length=40, blank=True)
    # The X-Request-Id of the create call, fixed with the row, reused on every retry.
    request_id = models.CharField(max_length=64, unique=True, default=new_request_id)
    deemed_entity_id = models.CharField(max_length=40, blank=True)
    deemed_request_id = models.CharField(max_length=64, unique=True, default=new_request_id)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2)
    vat_number = models.CharField(max_length=30, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "operator entity"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(singleton=True), name="operator_entity_singleton"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.entity_id or 'not created'})"


class FindingKind(models.TextChoices):
    MISSING_INVOICE = "missing_invoice", "Order at its point without an invoice"
    UNKNOWN_DOCUMENT = "unknown_document", "Document without a matching order"
    DUPLICATE = "duplicate", "More than one invoice for an order"
    NUMBERING_GAP = "numbering_gap", "Gap in a numbering series"
    STATE_DRIFT = "state_drift", "Paid or voided there, not in our mirror (a missed webhook)"
    OVER_CREDITED = "over_credited", "Credit notes credit more than the invoice's total"
    NOT_MIRRORED = "not_mirrored", "In Space Invoices, failed or missing here (adoptable)"
    UNPAID_REMOTELY = "unpaid_remotely", "Paid here, unpaid in Space Invoices"
    NOT_SENT = "not_sent", "Issued but never sent to the buyer"
    PAYMENT_NOT_RECORDED = "payment_not_recorded", "Paid but the payment not recorded there"


class Finding(models.Model):
    """One discrepancy found by the last reconciliation run (see invoicing.reconciliation)."""

    run_at = models.DateTimeField()
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=20, choices=FindingKind.choices)
    order_id = models.BigIntegerField(null=True, blank=True)
    remote_id = models.CharField(max_length=40, blank=True)
    detail = models.CharField(max_length=500)

    class Meta:
        ordering = ["seller_id", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.detail}"


class ReconciliationCursor(models.Model):
    """Where reconciliation left off in one seller's entity.

    ``watermark`` is the greatest ``updated_at`` seen among the entity's documents: the next
    visit lists only documents changed since (blank: none seen yet). ``series`` keeps each
    numbering series' last number and the numbers still missing below it, so gaps are found
    without listing the history again. ``visited_at`` is when the last visit began; local
    changes or webhooks after it make the seller due for a visit. ``full_due``: the next visit
    lists every document and rebuilds the series (``reconcile --full``).
    """

    seller = models.OneToOneField(
        Seller, on_delete=models.CASCADE, primary_key=True, related_name="reconciliation"
    )
    watermark = models.CharField(max_length=40, blank=True)
    visited_at = models.DateTimeField()
    series = models.JSONField(default=dict)
    full_due = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.seller_id} since {self.watermark or 'the start'}"


class WebhookOutcome(models.TextChoices):
    APPLIED = "applied", "Applied to the mirror"
    UNCHANGED = "unchanged", "Already mirrored"
    IGNORED = "ignored", "Not a document of ours"


class WebhookDelivery(models.Model):
    """A Space Invoices webhook delivery we accepted; its unique id refuses a replay."""

    delivery_id = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=40)
    remote_id = models.CharField(max_length=40, blank=True)  # the document (or payment)
    # The entity the event happened in: reconciliation visits the entities that had events.
    entity_id = models.CharField(max_length=40, blank=True)
    outcome = models.CharField(max_length=10, choices=WebhookOutcome.choices)
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["entity_id", "received_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=WebhookOutcome.values),
                name="webhook_outcome_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id} ({self.outcome})"
