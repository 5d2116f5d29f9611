"""The EC Sales List (recapitulative statement, Article 262 of Council Directive 2006/112/EC) of
one seller for one calendar quarter, read from the local mirror of its issued documents.

What it lists: the seller's issued, not voided documents dated in the quarter whose recorded tax
treatment is an intra-EU B2B reverse charge (`transaction_type` intra_eu_b2b, reverse charged, to
a customer VAT number): one row per customer VAT number and supply kind, with the net in EUR.

- Supply kind: each document line's order line records what was sold (`OrderLine.supply_kind`,
  copied from the product at checkout). A line without an order line (a credit note's balance
  line) and a credit note without lines take the kind of the invoice they credit when that
  invoice sold one kind. The mirror records no triangular sale, so none is reported.
- Goods count between two codes of the EU's VAT area for goods (Northern Ireland `XI` included);
  services only between two member states.
- Credit notes subtract in the quarter of their own issue date, also when the invoice they
  credit is of an earlier quarter (as most member states' lists are corrected), so a row may be
  negative.
- Amounts are in EUR: the mirror keeps no exchange rate with a document, so a document in
  another currency is left out and listed among the exclusions, never converted by a guess.
  So is an amount the rules above cannot place (a document mixing goods and services whose lines
  do not add up to its net, or a service to Northern Ireland).
"""

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.errors import ApplicationError
from core.eu import EU_GOODS_VAT_AREA, EU_MEMBER_STATES, same_vat_jurisdiction
from invoicing.models import Document, DocumentKind, DocumentLine, DocumentState
from marketplace.models import SupplyKind
from marketplace.tax import TransactionType
from sellers.models import Seller

CURRENCY = "EUR"
CENT = Decimal("0.01")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
# A VAT number's prefix where it differs from the country's ISO code (Greece).
_VAT_PREFIX = {"GR": "EL"}
_NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Z]")


@dataclass(frozen=True)
class Quarter:
    year: int
    number: int

    @property
    def first_day(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def last_day(self) -> date:
        end_month = 3 * self.number
        return date(self.year, end_month, 31 if end_month in (3, 12) else 30)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"


def quarter_parse(value: str | None) -> Quarter:
    """`YYYY-Qn` (n from 1 to 4); an ApplicationError naming `quarter` otherwise."""
    text = (value or "").strip().upper()
    match = _QUARTER.fullmatch(text)
    if match is None or int(match.group(1)) < 1:
        raise ApplicationError(
            f"Enter a quarter as YYYY-Qn with n from 1 to 4, such as 2026-Q1, not {text[:40]!r}.",
            field="quarter",
            code="required" if not text else "invalid",
        )
    return Quarter(int(match.group(1)), int(match.group(2)))


def vat_number_normalise(number: str, country: str) -> str:
    """The number in capitals without spaces or punctuation, with its country prefix (EL for
    Greece) added when it was typed without one."""
    compact = _NOT_ALPHANUMERIC.sub("", number.upper())
    prefix = _VAT_PREFIX.get(country, country)
    return compact if compact[:2].isalpha() else f"{prefix}{compact}"


@dataclass(frozen=True)
class EcslRow:
    customer_country: str  # the VAT number's prefix (EL for Greece, XI for Northern Ireland)
    customer_vat_number: str  # normalised, with its prefix
    supply_kind: str  # a SupplyKind value
    net: Decimal  # EUR, invoices minus credit notes, to the cent
    invoices: int
    credit_notes: int


@dataclass(frozen=True)
class EcslExclusion:
    """A document of the list's kind left out (its amount, or the part named by `reason`)."""

    number: str
    kind: str
    date: date
    currency: str
    net: Decimal  # signed, in the document's currency
    reason: str


@dataclass(frozen=True)
class EcSalesList:
    seller: Seller
    quarter: Quarter
    rows: list[EcslRow]
    exclusions: list[EcslExclusion]

    @property
    def totals(self) -> dict[str, Decimal]:
        """Net per supply kind (EUR), every kind present."""
        totals = dict.fromkeys(SupplyKind.values, Decimal("0.00"))
        for row in self.rows:
            totals[row.supply_kind] += row.net
        return totals


NO_RATE = "in {currency}: the mirror keeps no EUR exchange rate for it, so it is not converted"
MIXED = "mixes goods and services in amounts its lines do not split"
SERVICE_OUTSIDE = "a service between {seller} and {buyer} is not an intra-EU supply of services"


def ec_sales_list(*, seller: Seller, quarter: Quarter) -> EcSalesList:
    """The seller's EC Sales List for the quarter (module docstring)."""
    documents = list(
        Document.sales.filter(
            seller=seller,
            state=DocumentState.ISSUED,
            voided_at__isnull=True,
            date__gte=quarter.first_day,
            date__lte=quarter.last_day,
            transaction_type=TransactionType.INTRA_EU_B2B,
            reverse_charge=True,
        )
        .exclude(customer_tax_number="")
        .order_by("date", "kind", "number")
    )
    split = _kind_split(documents)
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    exclusions: list[EcslExclusion] = []
    for document in documents:
        sign = -1 if document.kind == DocumentKind.CREDIT_NOTE else 1
        net = sign * (document.total_net or Decimal(0))
        if document.currency != CURRENCY:
            reason = NO_RATE.format(currency=document.currency)
            exclusions.append(_exclusion(document, net, reason))
            continue
        amounts = split.get(document.pk)
        if amounts is None:
            exclusions.append(_exclusion(document, net, MIXED))
            continue
        vat_number = vat_number_normalise(document.customer_tax_number, document.buyer_country)
        for kind, amount in amounts.items():
            if not _intra_eu(kind, document.seller_country, document.buyer_country):
                reason = SERVICE_OUTSIDE.format(
                    seller=document.seller_country, buyer=document.buyer_country
                )
                exclusions.append(_exclusion(document, sign * amount, reason))
                continue
            sums[vat_number, kind] += sign * amount
            counts[vat_number, kind][0 if sign > 0 else 1] += 1
    rows = [
        EcslRow(
            customer_country=number[:2],
            customer_vat_number=number,
            supply_kind=kind,
            net=total.quantize(CENT),
            invoices=counts[number, kind][0],
            credit_notes=counts[number, kind][1],
        )
        for (number, kind), total in sorted(sums.items())
    ]
    return EcSalesList(seller=seller, quarter=quarter, rows=rows, exclusions=exclusions)


def _exclusion(document: Document, net: Decimal, reason: str) -> EcslExclusion:
    assert document.date is not None  # issued documents are dated
    return EcslExclusion(
        number=document.number,
        kind=document.kind,
        date=document.date,
        currency=document.currency,
        net=net.quantize(CENT),
        reason=reason,
    )


def _intra_eu(kind: str, seller_country: str, buyer_country: str) -> bool:
    area = EU_GOODS_VAT_AREA if kind == SupplyKind.GOODS else EU_MEMBER_STATES
    return (
        seller_country in area
        and buyer_country in area
        and not same_vat_jurisdiction(seller_country, buyer_country)
    )


def _kind_split(documents: Iterable[Document]) -> dict[int, dict[str, Decimal]]:
    """Each document's net (unsigned) per supply kind; a document that cannot be split is
    missing. One kind takes the whole net; several take their lines' nets when those add up
    to the document's net and no line lacks a kind."""
    by_pk = {document.pk: document for document in documents}
    credited = {d.credited_invoice_id for d in by_pk.values() if d.credited_invoice_id}
    lines = DocumentLine.objects.filter(document_id__in=set(by_pk) | credited).values_list(
        "document_id", "order_line__supply_kind", "total_net"
    )
    nets: dict[int, dict[str | None, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for document_id, kind, net in lines:
        nets[document_id][kind] += net
    split: dict[int, dict[str, Decimal]] = {}
    for pk, document in by_pk.items():
        own = nets.get(pk, {})
        kinds = {kind for kind in own if kind is not None}
        if not kinds and document.credited_invoice_id is not None:
            kinds = {k for k in nets.get(document.credited_invoice_id, {}) if k is not None}
        total = document.total_net or Decimal(0)
        if len(kinds) == 1:
            split[pk] = {kinds.pop(): total}
        elif kinds and None not in own and sum(own.values()) == total:
            split[pk] = {kind: net for kind, net in own.items() if kind is not None}
    return split
