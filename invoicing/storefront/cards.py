"""Order cards: each order of a checkout with the honest state of its invoice and credit notes."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from invoicing.models import Document, DocumentKind, DocumentState
from invoicing.services import invoice_trigger
from marketplace.models import Order, OrderStatus
from marketplace.payment_providers import online_provider
from marketplace.payment_state import PaymentState, payment_states
from sellers.branding import readable_text_colour

HELD = "held"


@dataclass(frozen=True)
class DocumentStatus:
    id: int
    kind: str
    state: str  # issued, pending, held or failed
    label: str
    number: str
    pdf_url: str

    @property
    def e_invoice_url(self) -> str:
        """Every page's URLconf puts a document's e-invoice beside its PDF."""
        return self.pdf_url.removesuffix("pdf/") + "e-invoice/" if self.pdf_url else ""

    @property
    def testid(self) -> str:
        return "invoice" if self.kind == DocumentKind.INVOICE else "credit-note"


@dataclass(frozen=True)
class OrderCard:
    order: Order
    documents: list[DocumentStatus]
    # Why there is no invoice yet (empty once there is one).
    no_invoice: str
    # The payment of the order's whole checkout.
    payment: PaymentState

    @property
    def text_colour(self) -> str:
        return readable_text_colour(self.order.seller.primary_colour)

    @property
    def tax_note(self) -> str:
        """The legal note of the invoice (its recorded treatment, which VIES may have changed
        at issue); the order's until there is an invoice."""
        for document in self.order.documents.all():
            if document.kind == DocumentKind.INVOICE:
                return document.tax_note
        return self.order.tax_note

    @property
    def awaiting_payment(self) -> bool:
        return self.order.status == OrderStatus.PLACED and self.order.paid_at is None

    @property
    def pay_online(self) -> bool:
        """The buyer can pay the whole checkout here, through the payment provider (without one,
        an operator records the payment received)."""
        return self.awaiting_payment and self.payment.payable and online_provider() is not None


def order_cards(
    orders: Iterable[Order], pdf_url: Callable[[Document], str], *, payment_hint: str = ""
) -> list[OrderCard]:
    """`payment_hint`: where the provider's page sent the buyer back ("done", "cancelled")."""
    orders = list(orders)
    states = payment_states({order.checkout for order in orders}, hint=payment_hint)
    cards = []
    for order in orders:
        documents = [_document_status(doc, pdf_url) for doc in order.documents.all()]
        has_invoice = any(doc.kind == DocumentKind.INVOICE for doc in documents)
        no_invoice = "" if has_invoice else _no_invoice(order)
        cards.append(OrderCard(order, documents, no_invoice, states[order.checkout_id]))
    return cards


def cards_settled(cards: Iterable[OrderCard]) -> bool:
    """No document is on its way; held ones wait on something outside this page."""
    return all(doc.state != DocumentState.PENDING for card in cards for doc in card.documents)


def cards_json(cards: list[OrderCard]) -> dict[str, Any]:
    return {
        "settled": cards_settled(cards),
        "orders": [
            {
                "id": card.order.pk,
                "status": card.order.status,
                "status_label": card.order.get_status_display(),
                "payment_state": card.payment.state,
                "no_invoice": card.no_invoice,
                "documents": [
                    {
                        "id": doc.id,
                        "kind": doc.kind,
                        "testid": doc.testid,
                        "state": doc.state,
                        "label": doc.label,
                        "number": doc.number,
                        "pdf_url": doc.pdf_url,
                        "e_invoice_url": doc.e_invoice_url,
                    }
                    for doc in card.documents
                ],
            }
            for card in cards
        ],
    }


def _document_status(document: Document, pdf_url: Callable[[Document], str]) -> DocumentStatus:
    name = document.get_kind_display()
    issued = document.state == DocumentState.ISSUED
    state, label = _state_label(document, name)
    return DocumentStatus(
        id=document.pk,
        kind=document.kind,
        state=state,
        label=label,
        number=document.number if issued else "",
        pdf_url=pdf_url(document) if issued else "",
    )


def _state_label(document: Document, name: str) -> tuple[str, str]:
    if document.state == DocumentState.ISSUED:
        return DocumentState.ISSUED, f"{name} issued"
    if document.state == DocumentState.FAILED:
        return (
            DocumentState.FAILED,
            f"{name} could not be issued; the marketplace team sees this and will issue it.",
        )
    if not document.entity_id:
        return HELD, f"{name} on hold until the seller's invoicing account is ready."
    if document.held_reason:
        return HELD, f"{name} on hold while the marketplace team reviews the VAT due on it."
    if document.vies_checked_at is not None and document.vies_valid is None:
        return HELD, f"{name} on hold until the EU VAT number check (VIES) answers again."
    return DocumentState.PENDING, f"{name} being issued…"


def _no_invoice(order: Order) -> str:
    if order.status == OrderStatus.CANCELLED:
        return "Cancelled before it was invoiced: no invoice."
    point = {"placed": "placed", "paid": "paid", "fulfilled": "shipped"}[
        invoice_trigger(order.seller)
    ]
    return f"The invoice is issued once the order is {point}."
