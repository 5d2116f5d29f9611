"""The operator's monthly commission documents to each seller, and the seller's payout statement.

For a seller and a month (its first day, ``period_start``) and currency, the month's sale
documents (issued, not voided, dated in the month) carry commission: each invoice the
commission on its lines (marketplace.commission.line_commission), each credit note the
commission its refund returns (marketplace.commission.refund_commission, units credited by
earlier credit notes of the same invoice counted first, so a line's returns add up to exactly
what it was charged). Then, written once per seller, month and currency by
``commission_documents_write``:

- the commission invoice (``MP-{yyyy}-{nnnnn}``): the commission on the month's invoices less
  what the month's credit notes of those invoices return, as one summary line (the annex CSV,
  ``commission_annex_csv``, lists it per document and order);
- per earlier month whose invoices the month's credit notes credit, a commission credit note
  (``MPCN-{yyyy}-{nnnnn}``) linked to that month's commission invoice, for what they return.

The rows are the same outbox rows as buyers' invoices (invoicing.models.Document, purpose
``commission``, no order): issued in the operator entity by the issue task
(services.document_issue_and_send, which then emails them to the seller) with their fixed
request id, retried by the task and the sweeper, found again by their
``metadata.document_ref``; metadata also carries ``seller_id`` and ``period``.

VAT on the commission: marketplace.commission.commission_treatment (domestic at the operator
country's standard rate, reverse charge for another member state, outside the scope of EU VAT
outside the EU), the same rule the sellers' Stripe transfers deduct the commission's VAT by.

The payout statement (``payout_statement``) of a seller's month: sales (gross) - refunds (gross)
- commission (with its VAT, net of the month's commission credit notes) = payout, from the same
documents, so it reconciles with them to the cent.
"""

import calendar
import csv
import io
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from core.enqueue import enqueue_on_commit
from invoicing.client import DocumentCreate, DocumentCustomer, DocumentItem, ItemTax, json_dumps
from invoicing.models import (
    Document,
    DocumentKind,
    DocumentLine,
    DocumentPurpose,
    DocumentState,
    document_ref,
)
from invoicing.operator import operator_entity_id
from marketplace.commission import (
    CommissionTreatment,
    commission_treatment,
    line_commission,
    refund_commission,
)
from marketplace.pricing import PricedLine, order_totals, quantize
from sellers.models import Seller

logger = logging.getLogger(__name__)


class SalesPending(Exception):
    """The seller has sale documents of the month not issued yet; the month is not final."""


def month_bounds(period_start: date) -> tuple[date, date]:
    first = period_start.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def previous_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


# The commission of a month's sale documents


@dataclass(frozen=True)
class CommissionEntry:
    """One sale document of the month and the commission it charges (an invoice) or returns
    (a credit note, negative)."""

    document_id: int
    number: str
    kind: str
    order_id: int
    document_date: date
    currency: str
    sale_net: Decimal
    sale_gross: Decimal
    commission: Decimal
    # For a credit note: the month of the invoice it credits.
    credited_period: date | None = None


def _sale_documents(seller: Seller, first: date, last: date) -> list[Document]:
    return list(
        Document.sales.filter(
            seller=seller,
            state=DocumentState.ISSUED,
            voided_at__isnull=True,
            date__gte=first,
            date__lte=last,
        )
        .exclude(credited_invoice__voided_at__isnull=False)
        .select_related("credited_invoice")
        .order_by("date", "pk")
    )


def commission_entries(*, seller: Seller, period_start: date) -> list[CommissionEntry]:
    """The month's sale documents of the seller with their commission, by date."""
    first, last = month_bounds(period_start)
    documents = _sale_documents(seller, first, last)
    return [_entry(document) for document in documents]


def _entry(document: Document) -> CommissionEntry:
    if document.kind == DocumentKind.INVOICE:
        commission = sum(
            (
                line_commission(line.sold_line, quantity=line.quantity, currency=document.currency)
                for line in document.lines.select_related("order_line")
            ),
            Decimal(0),
        )
        credited_period = None
    else:
        invoice = document.credited_invoice
        if invoice is None or invoice.date is None:
            raise ValueError(f"credit note {document.pk} credits no issued invoice")
        commission = -_credit_note_commission(document, invoice)
        credited_period = invoice.date.replace(day=1)
    return CommissionEntry(
        document_id=document.pk,
        number=document.number,
        kind=document.kind,
        order_id=document.sale_order.pk,
        document_date=document.date or timezone.localdate(),
        currency=document.currency,
        sale_net=document.total_net or Decimal(0),
        sale_gross=_owed_to_seller(document),
        commission=commission,
        credited_period=credited_period,
    )


def _owed_to_seller(document: Document) -> Decimal:
    """What the sale document is worth to the seller: its gross; for the operator's invoice of
    a deemed-supplier sale (Article 14a) its net, the seller's exempt supply to the operator,
    since the destination VAT on it is the operator's to pay."""
    if document.sale_order.deemed_supply:
        return document.total_net or Decimal(0)
    return document.total_gross or Decimal(0)


def _credit_note_commission(credit_note: Document, invoice: Document) -> Decimal:
    """The commission the credit note returns: per line, units credited by the invoice's
    earlier credit notes (issued, not voided) count first."""
    currency = invoice.currency
    invoiced = {line.order_line_id: line for line in invoice.lines.select_related("order_line")}
    earlier = DocumentLine.objects.filter(
        document__credited_invoice=invoice,
        document__state=DocumentState.ISSUED,
        document__voided_at__isnull=True,
        document__pk__lt=credit_note.pk,
        order_line__isnull=False,
    )
    credited_before: defaultdict[int | None, int] = defaultdict(int)
    for line in earlier:
        credited_before[line.order_line_id] += line.quantity
    returned = Decimal(0)
    for line in credit_note.lines.select_related("order_line"):
        if line.order_line is None:  # a balance line: the invoice's commission share of it
            returned += _balance_commission(invoice, invoiced, line.total_net)
            continue
        sold = line.order_line
        before_invoice = sold.quantity - invoiced[sold.pk].quantity
        returned += refund_commission(
            sold,
            refunded_before=before_invoice + credited_before[sold.pk],
            refunded=line.quantity,
            currency=currency,
        )
    return returned


def _balance_commission(
    invoice: Document, invoiced: dict[int | None, DocumentLine], net: Decimal
) -> Decimal:
    invoice_net = sum((line.total_net for line in invoiced.values()), Decimal(0))
    if not invoice_net:
        return Decimal(0)
    charged = sum(
        (
            line_commission(line.sold_line, quantity=line.quantity, currency=invoice.currency)
            for line in invoiced.values()
        ),
        Decimal(0),
    )
    return quantize(net * charged / invoice_net, invoice.currency)


# Writing the month's commission documents


def commission_sellers_for(period_start: date) -> list[int]:
    """The sellers with sale documents dated in the month."""
    first, last = month_bounds(period_start)
    return sorted(
        set(
            Document.sales.filter(
                state=DocumentState.ISSUED, date__gte=first, date__lte=last
            ).values_list("seller_id", flat=True)
        )
    )


def commission_documents_write(*, seller_id: int, period_start: date) -> list[Document]:
    """Write the seller's commission invoice and credit notes of the month (once; a second
    run writes nothing) and enqueue their issue. Raises SalesPending while sale documents
    created in the month still wait to be issued: the month is not final yet."""
    first, last = month_bounds(period_start)
    with transaction.atomic():
        seller = Seller.objects.select_for_update().get(pk=seller_id)
        if Document.sales.filter(
            seller=seller, state=DocumentState.PENDING, created_at__date__lte=last
        ).exists():
            raise SalesPending(f"seller {seller_id} has sale documents of {first:%Y-%m} pending")
        entries = commission_entries(seller=seller, period_start=first)
        written: list[Document] = []
        for currency in sorted({entry.currency for entry in entries}):
            of_currency = [entry for entry in entries if entry.currency == currency]
            written += _write_for_currency(seller, first, currency, of_currency)
    return written


def _write_for_currency(
    seller: Seller, first: date, currency: str, entries: list[CommissionEntry]
) -> list[Document]:
    existing = Document.objects.filter(
        purpose=DocumentPurpose.COMMISSION, seller=seller, period_start=first, currency=currency
    )
    written: list[Document] = []
    # The VAT of the month's supplies: the rules on its last day, not on the day it is written.
    treatment = commission_treatment(seller=seller, on=month_bounds(first)[1])
    this_month = sum(
        (e.commission for e in entries if e.credited_period in (None, first)), Decimal(0)
    )
    if this_month > 0 and not existing.filter(kind=DocumentKind.INVOICE).exists():
        name = f"Marketplace commission, {first:%B %Y} ({_orders(entries)} orders, see annex)"
        written.append(_write(seller, first, currency, treatment, name, this_month, None))
    returns: defaultdict[date, Decimal] = defaultdict(Decimal)
    for entry in entries:
        if entry.credited_period is not None and entry.credited_period < first:
            returns[entry.credited_period] -= entry.commission
    for period, amount in sorted(returns.items()):
        invoice = Document.objects.filter(
            purpose=DocumentPurpose.COMMISSION,
            kind=DocumentKind.INVOICE,
            seller=seller,
            period_start=period,
            currency=currency,
        ).first()
        if invoice is None or amount <= 0:
            logger.warning(
                "seller %s: %s %s of commission returned for %s, which has no commission invoice",
                seller.pk,
                amount,
                currency,
                period,
            )
            continue
        if existing.filter(kind=DocumentKind.CREDIT_NOTE, credited_invoice=invoice).exists():
            continue
        name = f"Commission returned on refunds in {first:%B %Y} of sales in {period:%B %Y}"
        credited = CommissionTreatment(
            invoice.transaction_type,
            invoice.reverse_charge,
            invoice.lines.get().tax_rate,
            invoice.tax_note,
        )
        written.append(_write(seller, first, currency, credited, name, amount, invoice))
    return written


def _orders(entries: list[CommissionEntry]) -> int:
    return len({e.order_id for e in entries if e.kind == DocumentKind.INVOICE})


def _write(
    seller: Seller,
    first: date,
    currency: str,
    treatment: CommissionTreatment,
    name: str,
    amount: Decimal,
    credited_invoice: Document | None,
) -> Document:
    kind = DocumentKind.INVOICE if credited_invoice is None else DocumentKind.CREDIT_NOTE
    document = Document.objects.create(
        purpose=DocumentPurpose.COMMISSION,
        period_start=first,
        order=None,
        seller=seller,
        entity_id=operator_entity_id(),  # blank: waits for the operator entity
        kind=kind,
        credited_invoice=credited_invoice,
        currency=currency,
        transaction_type=treatment.transaction_type,
        reverse_charge=treatment.reverse_charge,
        tax_note=treatment.note,
        customer_is_end_consumer=False,
        customer_tax_number=seller.tax_number,
        seller_country=settings.OPERATOR_COUNTRY,
        buyer_country=str(seller.country),
    )
    line = DocumentLine.objects.create(
        document=document,
        order_line=None,
        name=name[:200],
        quantity=1,
        unit_price=amount,
        tax_rate=treatment.rate,
        total_net=amount,
    )
    document.payload = json_dumps(_payload(document, seller, line, first))
    document.save(update_fields=["payload"])
    from invoicing import tasks

    enqueue_on_commit(tasks.issue_document, document.pk)
    return document


def _payload(document: Document, seller: Seller, line: DocumentLine, first: date) -> DocumentCreate:
    _, last = month_bounds(first)
    customer = DocumentCustomer(
        name=seller.business_name,
        email=seller.email,
        address=seller.address,
        post_code=seller.post_code,
        city=seller.city,
        country_code=str(seller.country),
        is_end_consumer=False,
    )
    if seller.tax_number:
        customer.tax_number = seller.tax_number
    tax = ItemTax(rate=line.tax_rate)
    if document.reverse_charge:
        tax.reverse_charge = True
    total = order_totals([PricedLine(1, line.unit_price, line.tax_rate)], document.currency)
    payload = DocumentCreate(
        date=timezone.localdate(document.created_at).isoformat(),
        date_service=first.isoformat(),
        date_service_to=last.isoformat(),
        currency_code=document.currency,
        customer=customer,
        items=[DocumentItem(name=line.name, quantity=1, price=line.unit_price, taxes=[tax])],
        expected_total_with_tax=total.gross,
        metadata={
            "seller_id": str(seller.pk),
            "period": f"{first:%Y-%m}",
            "purpose": DocumentPurpose.COMMISSION,
            "document_ref": document_ref(kind=document.kind, pk=document.pk),
        },
    )
    if document.tax_note:
        payload.note = document.tax_note
    return payload


# The order annex and the payout statement


ANNEX_COLUMNS = (
    "document_number",
    "kind",
    "order_id",
    "date",
    "currency",
    "sale_net",
    "sale_gross",
    "commission",
)


def commission_annex_csv(*, seller: Seller, period_start: date) -> str:
    """The commission of the month per sale document and order (the invoice's annex)."""
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(ANNEX_COLUMNS)
    for entry in commission_entries(seller=seller, period_start=period_start):
        writer.writerow(
            [
                entry.number,
                entry.kind,
                entry.order_id,
                entry.document_date.isoformat(),
                entry.currency,
                entry.sale_net,
                entry.sale_gross,
                entry.commission,
            ]
        )
    return stream.getvalue()


@dataclass
class PayoutStatement:
    seller: Seller
    period_start: date
    currency: str
    sales_gross: Decimal = Decimal(0)
    refunds_gross: Decimal = Decimal(0)
    commission_net: Decimal = Decimal(0)
    commission_vat: Decimal = Decimal(0)
    entries: list[CommissionEntry] = field(default_factory=list)
    commission_documents: list[Document] = field(default_factory=list)

    @property
    def commission_gross(self) -> Decimal:
        return self.commission_net + self.commission_vat

    @property
    def payout(self) -> Decimal:
        return self.sales_gross - self.refunds_gross - self.commission_gross

    @property
    def commission_final(self) -> bool:
        """Whether every commission document of the month is issued (else its amounts are the
        ones the documents were written with)."""
        return all(d.state == DocumentState.ISSUED for d in self.commission_documents)


def payout_statements(*, seller: Seller, period_start: date) -> list[PayoutStatement]:
    """The seller's payout statement of the month, one per currency it sold in."""
    first, _ = month_bounds(period_start)
    entries = commission_entries(seller=seller, period_start=first)
    documents = list(
        Document.objects.filter(
            purpose=DocumentPurpose.COMMISSION,
            seller=seller,
            period_start=first,
            voided_at__isnull=True,
        )
        .exclude(state=DocumentState.FAILED)
        .prefetch_related("lines")
        .order_by("pk")
    )
    currencies = sorted({e.currency for e in entries} | {d.currency for d in documents})
    statements = []
    for currency in currencies:
        zero = quantize(Decimal(0), currency)
        statement = PayoutStatement(
            seller=seller,
            period_start=first,
            currency=currency,
            sales_gross=zero,
            refunds_gross=zero,
            commission_net=zero,
            commission_vat=zero,
        )
        for entry in entries:
            if entry.currency != currency:
                continue
            statement.entries.append(entry)
            if entry.kind == DocumentKind.INVOICE:
                statement.sales_gross += entry.sale_gross
            else:
                statement.refunds_gross += entry.sale_gross
        for document in documents:
            if document.currency != currency:
                continue
            statement.commission_documents.append(document)
            sign = 1 if document.kind == DocumentKind.INVOICE else -1
            net, vat = document_net_and_vat(document)
            statement.commission_net += sign * net
            statement.commission_vat += sign * vat
        statements.append(statement)
    return statements


def document_net_and_vat(document: Document) -> tuple[Decimal, Decimal]:
    if document.state == DocumentState.ISSUED and document.total_net is not None:
        return document.total_net, document.total_tax or Decimal(0)
    lines = document.lines.all()
    totals = order_totals(
        [PricedLine(line.quantity, line.unit_price, line.tax_rate) for line in lines],
        document.currency,
    )
    return totals.net, totals.tax


def commission_documents_for_seller(seller: Seller) -> "models.QuerySet[Document]":
    """The operator's commission invoices and credit notes to the seller, newest first."""
    return (
        Document.objects.filter(purpose=DocumentPurpose.COMMISSION, seller=seller)
        .select_related("credited_invoice")
        .order_by("-period_start", "-pk")
    )


def payout_months(seller: Seller, *, limit: int = 24) -> list[date]:
    """The months (newest first) with the seller's sale or commission documents."""
    sales = Document.sales.filter(seller=seller, date__isnull=False).dates("date", "month")
    commission = Document.objects.filter(
        purpose=DocumentPurpose.COMMISSION, seller=seller
    ).values_list("period_start", flat=True)
    months = {*sales, *(month for month in commission if month is not None)}
    return sorted(months, reverse=True)[:limit]


PAYOUT_COLUMNS = ("seller_id", "seller", "period", "currency", "line", "document", "amount")


def payout_statement_csv(statements: list[PayoutStatement]) -> str:
    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(PAYOUT_COLUMNS)
    for s in statements:
        head = [s.seller.pk, s.seller.business_name, f"{s.period_start:%Y-%m}", s.currency]
        for entry in s.entries:
            label = "sale" if entry.kind == DocumentKind.INVOICE else "refund"
            amount = entry.sale_gross if label == "sale" else -entry.sale_gross
            writer.writerow([*head, label, entry.number, amount])
        for document in s.commission_documents:
            net, vat = document_net_and_vat(document)
            sign = -1 if document.kind == DocumentKind.INVOICE else 1
            writer.writerow(
                [*head, "commission", document.number or f"#{document.pk}", sign * (net + vat)]
            )
        writer.writerow([*head, "sales_gross", "", s.sales_gross])
        writer.writerow([*head, "refunds_gross", "", s.refunds_gross])
        writer.writerow([*head, "commission_net", "", s.commission_net])
        writer.writerow([*head, "commission_vat", "", s.commission_vat])
        writer.writerow([*head, "payout", "", s.payout])
    return stream.getvalue()
