"""Invoicing's side of the order domain's hook (marketplace.hooks.OrderInvoicing): the documents
an order's moves call for, and the answers checkout's tax treatment needs."""

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet

from invoicing.distance_sales import distance_sales_lock, distance_sales_over_threshold
from invoicing.models import Document, DocumentKind, DocumentPurpose
from invoicing.services import (
    CreditLine,
    credit_note_for_remaining,
    credit_note_request,
    invoice_point_reached,
    invoice_request,
    invoice_write,
    payment_record_request,
)
from invoicing.vies import vies_check
from marketplace.models import Order
from marketplace.services import RefundLine
from marketplace.tax import BuyerTaxProfile, SellerTaxProfile, ViesResult
from sellers.models import Seller


class OrderDocuments:
    def vies_check(self, *, seller: SellerTaxProfile, buyer: BuyerTaxProfile) -> ViesResult:
        return vies_check(seller=seller, buyer=buyer, use_cache=True)

    def distance_sales_lock(self, *, sellers: Iterable[Seller], on: date) -> None:
        distance_sales_lock(sellers=sellers, on=on)

    def distance_sales_over_threshold(
        self, *, seller: Seller, sale_net: Decimal, currency: str, on: date
    ) -> bool:
        # distance_sales_lock refreshed the seller's record from its locked row.
        return distance_sales_over_threshold(
            seller=seller, sale_net=sale_net, currency=currency, on=on, locked=True
        )

    def order_moved(self, *, order: Order) -> None:
        if invoice_point_reached(order):
            invoice_request(order=order)

    def order_paid(self, *, order: Order) -> None:
        # Most orders are invoiced when paid: whether one was earlier is asked by its id alone.
        invoice_id = _sale_invoices(order).values_list("pk", flat=True).first()
        if invoice_id is not None:  # invoiced earlier: record the payment on it
            payment_record_request(invoice=Document.objects.get(pk=invoice_id))
        elif invoice_point_reached(order):  # invoiced now, with the payment inline
            invoice_write(order=order)

    def order_cancelled(self, *, order: Order) -> None:
        invoice = _invoice_of(order)
        if invoice is not None:
            credit_note_for_remaining(invoice=invoice)
        supply = _supply_of(order)
        if supply is not None:
            credit_note_for_remaining(invoice=supply)

    def order_refunded(self, *, order: Order, lines: Sequence[RefundLine]) -> Document | None:
        invoice = _invoice_of(order)
        if invoice is None:
            return None
        credit_lines = [CreditLine(line.line_id, line.quantity) for line in lines]
        credit_note = credit_note_request(invoice=invoice, lines=credit_lines)
        supply = _supply_of(order)
        if supply is not None:  # the seller's supply to the operator is credited alike
            credit_note_request(invoice=supply, lines=credit_lines)
        return credit_note


def _invoice_of(order: Order) -> Document | None:
    return _sale_invoices(order).first()


def _sale_invoices(order: Order) -> QuerySet[Document]:
    return Document.objects.filter(
        order=order, kind=DocumentKind.INVOICE, purpose=DocumentPurpose.SALE
    )


def _supply_of(order: Order) -> Document | None:
    """The seller's supply to the operator of a deemed-supplier order, if any."""
    if not order.deemed_supply:
        return None
    return Document.objects.filter(
        order=order, kind=DocumentKind.INVOICE, purpose=DocumentPurpose.SUPPLY_TO_OPERATOR
    ).first()
