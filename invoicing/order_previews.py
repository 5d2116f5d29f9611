"""What a refund or a cancel would write, shown on a confirmation page before it is done.

The preview runs the very services the action runs (marketplace.services.order_refund /
order_cancel, and through them invoicing's credit-note rules) in a transaction it rolls back,
so the credit note shown is the one the confirmed action writes, by the same rules, and nothing
of the dry run stays (rows, audit events, and the tasks they would enqueue after commit).
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from invoicing.models import Document, DocumentKind
from marketplace import services as orders


@dataclass(frozen=True)
class PreviewLine:
    name: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    total_net: Decimal


@dataclass(frozen=True)
class CreditNotePreview:
    """The credit note the action would write (None from the preview functions: no credit
    note, as for a refund before the invoice point, which leaves the quantities off it)."""

    credited_invoice_number: str
    currency: str
    lines: list[PreviewLine]
    total_net: Decimal
    total_gross: Decimal

    @property
    def total_tax(self) -> Decimal:
        return self.total_gross - self.total_net


class _RollBack(Exception):
    pass


def refund_preview(
    *, order_id: int, lines: Sequence[orders.RefundLine]
) -> CreditNotePreview | None:
    """The credit note order_refund would write for these lines; its ApplicationError (a
    quantity above what remains, ...) as order_refund raises it."""
    return _dry_run(
        lambda: orders.order_refund(order_id=order_id, lines=lines),
        order_id=order_id,
    )


def cancel_preview(*, order_id: int) -> CreditNotePreview | None:
    """The credit note order_cancel would write (none for an order not invoiced yet)."""
    return _dry_run(lambda: orders.order_cancel(order_id=order_id), order_id=order_id)


def _dry_run(action: Callable[[], object], *, order_id: int) -> CreditNotePreview | None:
    preview: CreditNotePreview | None = None
    try:
        with transaction.atomic():
            before = set(_credit_notes(order_id).values_list("pk", flat=True))
            action()
            written = [
                note
                for note in _credit_notes(order_id).select_related("credited_invoice")
                if note.pk not in before
            ]
            if written:
                preview = _preview(written[0])
            raise _RollBack
    except _RollBack:
        return preview


def _credit_notes(order_id: int) -> QuerySet[Document]:
    return Document.objects.filter(order_id=order_id, kind=DocumentKind.CREDIT_NOTE)


def _preview(credit_note: Document) -> CreditNotePreview:
    lines = [
        PreviewLine(line.name, line.quantity, line.unit_price, line.tax_rate, line.total_net)
        for line in credit_note.lines.order_by("pk")
    ]
    payload = json.loads(credit_note.payload)
    invoice = credit_note.credited_invoice
    return CreditNotePreview(
        credited_invoice_number=invoice.number if invoice is not None else "",
        currency=credit_note.currency,
        lines=lines,
        total_net=sum((line.total_net for line in lines), Decimal(0)),
        # As the money columns keep it (two places), which the JSON number may not show.
        total_gross=Decimal(str(payload["expected_total_with_tax"])).quantize(Decimal("0.01")),
    )
