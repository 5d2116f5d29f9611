"""Reconciliation: our mirror against the documents in each seller's entity.

First settles failed rows whose create may have succeeded unseen (the document is adopted, or
its absence is recorded). Then finds, per seller: orders at their invoice point without an
issued invoice, documents in the entity that no order of ours explains, more than one invoice
for an order, gaps in each numbering series, and documents paid or voided there but not in our
mirror (a webhook that never arrived). Findings of a run replace the previous run's; admin
lists them and exports them as CSV.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from invoicing import gateway
from invoicing.client import Document, SpaceInvoicesClient
from invoicing.models import DocumentKind, Finding, FindingKind, Invoice, InvoiceState
from invoicing.services import document_find_remote, invoice_point_reached
from marketplace.models import Order, OrderStatus
from sellers.models import Seller, SellerStatus

# A number's series is everything but its last run of digits: "2026-00012" -> ("2026-", 12).
_SEQUENCE = re.compile(r"^(.*?)(\d+)$")


def reconcile(*, client: SpaceInvoicesClient | None = None) -> list[Finding]:
    """Compare every active seller's entity with the mirror; store and return the findings."""
    client = client or gateway.space_invoices_client()
    _settle_unknown_outcomes(client)
    run_at = timezone.now()
    findings: list[Finding] = []
    for seller in Seller.objects.filter(status=SellerStatus.ACTIVE).order_by("pk"):
        findings.extend(_seller_findings(client, seller, run_at))
    with transaction.atomic():
        Finding.objects.all().delete()
        Finding.objects.bulk_create(findings)
    return findings


def _settle_unknown_outcomes(client: SpaceInvoicesClient) -> None:
    """Failed rows whose create may have succeeded: adopt the document, or prove it absent."""
    unknown = Invoice.objects.filter(
        state=InvoiceState.FAILED, outcome_unknown=True, seller__status=SellerStatus.ACTIVE
    ).order_by("pk")
    for invoice_id in unknown.values_list("pk", flat=True):
        document_find_remote(invoice_id=invoice_id, client=client)


def _seller_findings(
    client: SpaceInvoicesClient, seller: Seller, run_at: datetime
) -> Iterator[Finding]:
    entity_id = str(seller.entity_id)
    invoices = list(client.invoice_iter(entity_id=entity_id))
    credit_notes = list(client.credit_note_iter(entity_id=entity_id))

    def finding(
        kind: str, detail: str, order_id: int | None = None, remote_id: str = ""
    ) -> Finding:
        return Finding(
            run_at=run_at, seller=seller, kind=kind, order_id=order_id,
            remote_id=remote_id, detail=detail,
        )  # fmt: skip

    orders = {
        order.pk: order for order in Order.objects.filter(seller=seller).select_related("seller")
    }
    by_order: defaultdict[str, list[Document]] = defaultdict(list)
    for document in invoices:
        by_order[document["metadata"].get("order_id", "")].append(document)
    for order_id, documents in by_order.items():
        if not order_id.isdigit() or int(order_id) not in orders:
            for document in documents:
                yield finding(
                    FindingKind.UNKNOWN_DOCUMENT,
                    f"{document['number']} names order '{order_id}', which {seller} does not have",
                    remote_id=document["id"],
                )
        elif len(documents) > 1:
            numbers = ", ".join(str(d["number"]) for d in documents)
            yield finding(
                FindingKind.DUPLICATE, f"{len(documents)} invoices: {numbers}", int(order_id)
            )
    issued = set(
        Invoice.objects.filter(
            seller=seller, kind=DocumentKind.INVOICE, state=InvoiceState.ISSUED
        ).values_list("order_id", flat=True)
    )
    for order in orders.values():
        if order.status == OrderStatus.CANCELLED or order.pk in issued:
            continue
        if invoice_point_reached(order) and order.lines.exists() and str(order.pk) not in by_order:
            yield finding(FindingKind.MISSING_INVOICE, "at its invoice point, no invoice", order.pk)
    for series, gap in _gaps(invoices + credit_notes):
        yield finding(FindingKind.NUMBERING_GAP, f"series '{series}' skips {gap}")
    for mirrored, drift in _state_drift(seller, invoices + credit_notes):
        yield finding(FindingKind.STATE_DRIFT, drift, mirrored.order_id, mirrored.remote_id or "")


def _state_drift(seller: Seller, documents: list[Document]) -> Iterator[tuple[Invoice, str]]:
    """Mirror rows missing a payment or a void that the entity shows."""
    remote = {document["id"]: document for document in documents}
    mirrored = Invoice.objects.filter(
        seller=seller, state=InvoiceState.ISSUED, remote_id__in=list(remote)
    ).order_by("pk")
    for invoice in mirrored:
        document = remote[str(invoice.remote_id)]
        if document.get("voided_at") and invoice.voided_at is None:
            yield invoice, f"{invoice.number} was voided at {document['voided_at']}"
        if (
            invoice.kind == DocumentKind.INVOICE
            and document.get("paid_in_full")
            and invoice.paid_at is None
        ):
            yield invoice, f"{invoice.number} is paid in full"


def _gaps(documents: Iterable[Document]) -> Iterator[tuple[str, str]]:
    """Numbers missing from each series; every series of ours starts at 1."""
    series: defaultdict[str, set[int]] = defaultdict(set)
    width: dict[str, int] = {}
    for document in documents:
        match = _SEQUENCE.match(document.get("number") or "")
        if match:
            series[match.group(1)].add(int(match.group(2)))
            width[match.group(1)] = len(match.group(2))
    for prefix, numbers in sorted(series.items()):
        for missing in sorted(set(range(1, max(numbers) + 1)) - numbers):
            yield prefix, f"{prefix}{missing:0{width[prefix]}d}"
