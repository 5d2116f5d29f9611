from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum

from core.permissions import is_operator
from invoicing.models import Document, DocumentKind, DocumentState
from marketplace.models import Order, OrderStatus
from marketplace.pricing import PricedLine, order_totals, quantize
from sellers.models import Seller
from sellers.selectors import seller_ids_of


def invoice_list_for_seller(seller: Seller) -> QuerySet[Document]:
    return Document.sales.filter(seller=seller).select_related("order")


def invoices_visible_to(user: User | AnonymousUser) -> QuerySet[Document]:
    """Operators with `invoicing.view_document` see every document; a seller user its seller's;
    a buyer its own orders'."""
    invoices = Document.sales.select_related("order", "seller")
    if not user.is_authenticated:
        return invoices.none()
    if is_operator(user, "invoicing.view_document"):
        return invoices
    return invoices.filter(Q(order__buyer=user) | Q(seller_id__in=seller_ids_of(user)))


# What credit notes credit of an invoice


@dataclass(frozen=True)
class CreditBalance:
    """An invoice against its credit notes, in its currency's minor unit.

    Bases (net) are by tax rate; gross amounts are whole documents', each with its own tax.
    ``by_amount`` says some credit is known only by its amount (a credit note made in the
    seller's dashboard, which reaches us without lines, or a balance credit note of ours), so
    quantities alone no longer tell what remains.
    """

    currency: str
    invoiced_gross: Decimal
    credited_gross: Decimal
    invoiced_base: dict[Decimal, Decimal]
    credited_base: dict[Decimal, Decimal]
    by_amount: bool

    @property
    def remaining_gross(self) -> Decimal:
        return max(self.invoiced_gross - self.credited_gross, Decimal(0))

    def remaining_base(self, rate: Decimal) -> Decimal:
        """What may still be credited at this rate: none at a rate the invoice does not have."""
        remaining = self.invoiced_base.get(rate, Decimal(0)) - self.credited_base.get(rate, 0)
        return max(remaining, Decimal(0))


def invoice_credit_balance(*, invoice: Document) -> CreditBalance:
    """The invoice's total and what its credit notes credit, derived from the mirror.

    Every credit note linked to the invoice counts unless it was rejected (failed with a known
    outcome) or voided: one that gave up with its outcome unknown may exist, so it counts. Ours by
    their lines (pending ones too, so two requests cannot both take what remains; issued ones
    by the total Space Invoices answered), a dashboard one by its totals and its tax summary
    per rate. A dashboard credit note's net that its summary does not place at one of the
    invoice's rates (a line without tax, another rate) counts in the gross only.
    """
    currency = invoice.currency
    lines = list(invoice.lines.all())
    invoiced_base: defaultdict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        invoiced_base[line.tax_rate] += line.total_net
    invoiced_gross = invoice.total_gross
    if invoiced_gross is None:  # not issued yet: what it will be, computed as the API does
        priced = [PricedLine(line.quantity, line.unit_price, line.tax_rate) for line in lines]
        invoiced_gross = order_totals(priced, currency).gross
    credited_base: defaultdict[Decimal, Decimal] = defaultdict(Decimal)
    credited_gross = Decimal(0)
    by_amount = False
    credit_notes = (
        Document.objects.filter(credited_invoice=invoice, voided_at__isnull=True)
        .exclude(state=DocumentState.FAILED, outcome_unknown=False)
        .prefetch_related("lines", "taxes")
        .order_by("pk")
    )
    for credit_note in credit_notes:
        note_lines = list(credit_note.lines.all())
        if note_lines:
            for line in note_lines:
                credited_base[line.tax_rate] += line.total_net
            by_amount = by_amount or any(line.order_line_id is None for line in note_lines)
            gross = credit_note.total_gross
            if gross is None:
                priced = [PricedLine(ln.quantity, ln.unit_price, ln.tax_rate) for ln in note_lines]
                gross = order_totals(priced, currency).gross
        else:
            for tax in credit_note.taxes.all():
                credited_base[tax.rate] += tax.base
            by_amount = True
            gross = credit_note.total_gross or Decimal(0)
        credited_gross += gross
    return CreditBalance(
        currency=currency,
        invoiced_gross=quantize(invoiced_gross, currency),
        credited_gross=quantize(credited_gross, currency),
        invoiced_base={rate: quantize(base, currency) for rate, base in invoiced_base.items()},
        credited_base={rate: quantize(base, currency) for rate, base in credited_base.items()},
        by_amount=by_amount,
    )


@dataclass(frozen=True)
class OverCredit:
    invoice: Document
    credited_gross: Decimal

    @property
    def excess(self) -> Decimal:
        return self.credited_gross - (self.invoice.total_gross or Decimal(0))


def invoices_over_credited(*, invoices: QuerySet[Document] | None = None) -> QuerySet[Document]:
    """Invoices (of ``invoices``, else all) whose issued, unvoided credit notes total more
    than the invoice's total.

    Only a credit note made in the seller's dashboard can do that: ours are never written for
    more than remains, in quantities or in gross (services.credit_note_request; the one that
    takes an invoice's last quantities credits what the earlier ones' per-document tax
    rounding left, by balance lines if their goods would be worth more), and a failed one is
    retried only if it still fits (services.document_retry). Found by summing the credit notes
    per invoice (all of them unless ``invoices`` narrows it, e.g. to one seller's).
    """
    notes = _counted_credit_notes()
    if invoices is not None:
        notes = notes.filter(credited_invoice__in=invoices)
    over = (
        notes.values("credited_invoice", "credited_invoice__total_gross")
        .annotate(credited=Sum("total_gross"))
        .filter(credited__gt=F("credited_invoice__total_gross"))
        .values("credited_invoice")
    )
    return Document.objects.filter(pk__in=over)


def over_credits(*, invoices: QuerySet[Document]) -> list[OverCredit]:
    """Those of ``invoices`` that are over-credited, with what their credit notes credit."""
    found = list(invoices_over_credited(invoices=invoices).order_by("pk"))
    credited = dict(
        _counted_credit_notes()
        .filter(credited_invoice__in=[invoice.pk for invoice in found])
        .order_by()
        .values("credited_invoice")
        .annotate(total=Sum("total_gross"))
        .values_list("credited_invoice", "total")
    )
    return [OverCredit(invoice, credited[invoice.pk]) for invoice in found]


def _counted_credit_notes() -> QuerySet[Document]:
    return Document.objects.filter(
        kind=DocumentKind.CREDIT_NOTE, state=DocumentState.ISSUED, voided_at__isnull=True
    )


# The seller pages (invoicing.seller_views): every read takes the seller of the requester's
# membership.


def seller_order_list(seller: Seller, *, status: str | None = None) -> QuerySet[Order]:
    """The seller's orders, newest first, each with its documents (one query per page)."""
    orders = Order.objects.filter(seller=seller).prefetch_related(
        Prefetch("documents", queryset=Document.objects.order_by("pk"))
    )
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-pk")


def seller_document_list(
    seller: Seller, *, kind: str | None = None, state: str | None = None
) -> QuerySet[Document]:
    """The seller's invoices and credit notes, newest first."""
    documents = Document.sales.filter(seller=seller).select_related("credited_invoice")
    if kind:
        documents = documents.filter(kind=kind)
    if state:
        documents = documents.filter(state=state)
    return documents.order_by("-pk")


def seller_order_counts(seller: Seller) -> dict[str, int]:
    """How many of the seller's orders are in each status, every status present."""
    rows = Order.objects.filter(seller=seller).values_list("status").annotate(count=Count("pk"))
    found = dict(rows.order_by())
    return {status: found.get(status, 0) for status in OrderStatus.values}


def seller_document_counts(seller: Seller) -> dict[str, dict[str, int]]:
    """How many of the seller's documents of each kind are in each state, all present."""
    rows = (
        Document.sales.filter(seller=seller)
        .values_list("kind", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts = {kind: dict.fromkeys(DocumentState.values, 0) for kind in DocumentKind.values}
    for kind, state, count in rows:
        counts[kind][state] = count
    return counts
