"""Reconciliation: our mirror against the documents in each seller's entity.

First settles failed rows whose create may have succeeded unseen (the document is adopted, or
its absence is recorded). Then finds, per seller: orders at their invoice point without an
issued invoice, documents in the entity that no order of ours explains, more than one invoice
for an order, gaps in each numbering series, documents paid or voided there but not in our
mirror (a webhook that never arrived), documents there whose row here failed or is still pending
or whose order has no row here (adoptable into the mirror), invoices paid here but unpaid there
(less paid there than we recorded: a partial payment recorded on purpose, VAT that became due at
issue time, is no finding), and invoices whose credit notes credit more than their total.
Admin lists the findings and exports them as CSV.
A run visits only the sellers that may have changed since their last visit (their
``ReconciliationCursor``): a seller never visited or due for a full visit, a seller with a
document row of ours created, attempted, issued or paid since, or with a webhook from its
entity since. Space Invoices lists documents only per entity (``x-entity-id``), so no single
request can say which of 10,000 entities changed; what changed there is either our own doing
(our rows) or announced by a webhook. A visit lists only the documents changed since the
cursor's watermark (``query`` on ``updated_at`` with ``gte``), plus the documents its open
findings name, so the findings of a visited seller are recomputed whole while the findings of
sellers not visited stay as they are. A full pass (``manage.py reconcile --full``) lists every
seller's entity again: a first run, a repair, and the way to find changes nobody announced (a
webhook lost after all its retries).

Requests go through ``gateway.reconciliation_client()``, limited to
RECONCILIATION_RATE_LIMIT_PERCENT of the key's rate limit. A run may stop at a deadline; the
sellers it did not reach stay due and the next run takes them first, and the unknown outcomes it
did not settle (not reached, or their look-up failed: logged) are looked up again.
"""

import logging
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from core.errors import ApplicationError
from invoicing import gateway, services
from invoicing.client import Document as RemoteDocument
from invoicing.client import SpaceInvoicesClient, SpaceInvoicesError
from invoicing.models import (
    Document,
    DocumentKind,
    DocumentPurpose,
    DocumentState,
    Finding,
    FindingKind,
    ReconciliationCursor,
    WebhookDelivery,
    document_ref_parse,
)
from invoicing.selectors import over_credits
from invoicing.services import document_find_remote, invoice_amount_paid, invoice_point_reached
from marketplace.models import Order, OrderLine, OrderStatus
from marketplace.tax import marketplace_is_deemed_supplier
from sellers.models import Seller, SellerStatus

logger = logging.getLogger(__name__)

# A number's series is everything but its last run of digits: "2026-00012" -> ("2026-", 12).
_SEQUENCE = re.compile(r"^(.*?)(\d+)$")
# An order id we can look up (a bigint); anything else in metadata.order_id is not ours.
_ORDER_ID = re.compile(r"\d{1,18}")
# Documents listed again before the watermark: one committed late with an earlier timestamp
# (concurrent writes) is still seen. A visited seller's lists then repeat a few documents.
_OVERLAP = timedelta(minutes=5)
_FLAGGED_PAGE = 100  # ids per look-up of the documents open findings name (the list limit)
_ROW_FIELDS = (
    *("pk", "kind", "state", "order_id", "remote_id", "number", "currency", "total_gross"),
    *("voided_at", "paid_at", "payment_recorded_at", "order__paid_at"),
)


def reconcile(
    *, client: SpaceInvoicesClient | None = None, full: bool = False, deadline: float | None = None
) -> list[Finding]:
    """Visit every seller due for a visit (all active sellers with ``full``); store and return
    the findings of the sellers visited. ``deadline`` (``time.monotonic()``) ends the run
    before the next look-up of an unknown outcome or the next visit; what is left over stays
    due."""
    client = client or gateway.reconciliation_client()
    _settle_unknown_outcomes(client, deadline)
    if full:
        ReconciliationCursor.objects.update(full_due=True)
    findings: list[Finding] = []
    for seller in sellers_due():
        if deadline is not None and time.monotonic() >= deadline:
            break
        findings.extend(_seller_visit(seller, client))
    return findings


def _settle_unknown_outcomes(client: SpaceInvoicesClient, deadline: float | None) -> None:
    """Failed rows whose create may have succeeded: adopt the document, or prove it absent.

    Stops at the deadline. A row whose look-up fails (timeout, 5xx, 429, 404, ...) is logged
    and stays unknown for the next run; the run goes on with the next row.
    """
    # Sales and the operator's commission documents alike: each is looked up in its own entity.
    unknown = Document.objects.filter(
        state=DocumentState.FAILED, outcome_unknown=True, seller__status=SellerStatus.ACTIVE
    ).order_by("pk")
    for invoice_id, seller_id in unknown.values_list("pk", "seller_id"):
        if deadline is not None and time.monotonic() >= deadline:
            return
        try:
            document_find_remote(invoice_id=invoice_id, client=client)
        except SpaceInvoicesError as error:
            logger.warning(
                "reconciliation: document %s of seller %s not settled, its look-up failed: %s",
                invoice_id,
                seller_id,
                error,
            )


def sellers_due() -> QuerySet[Seller]:
    """Active sellers with an entity that may have changed since their last visit, the least
    recently visited first; with their cursor and whether they have open findings."""
    visited_at = OuterRef("reconciliation__visited_at")
    our_changes = Document.sales.filter(seller=OuterRef("pk")).filter(
        Q(created_at__gt=visited_at)
        | Q(last_attempt_at__gt=visited_at)
        | Q(issued_at__gt=visited_at)
        | Q(payment_recorded_at__gt=visited_at)
        | Q(sent_at__gt=visited_at)
        | _outbox_due()
    )
    announced = WebhookDelivery.objects.filter(
        entity_id=OuterRef("entity_id"), received_at__gt=visited_at
    )
    return (
        Seller.objects.filter(status=SellerStatus.ACTIVE)
        .exclude(entity_id__isnull=True)
        .exclude(entity_id="")
        .filter(
            Q(reconciliation__isnull=True)
            | Q(reconciliation__full_due=True)
            | Exists(our_changes)
            | Exists(announced)
        )
        .select_related("reconciliation")
        .annotate(
            has_findings=Exists(Finding.objects.filter(seller=OuterRef("pk"))),
            has_uninvoiced=Exists(_uninvoiced(Order.objects.filter(seller=OuterRef("pk")))),
        )
        .order_by(F("reconciliation__visited_at").asc(nulls_first=True), "pk")
    )


def _outbox_due() -> Q:
    """Issued documents whose email or (invoices of paid orders) payment record is still due:
    counted on every visit until done."""
    return Q(state=DocumentState.ISSUED) & (
        Q(send_due_at__isnull=False, sent_at__isnull=True)
        | Q(
            kind=DocumentKind.INVOICE,
            order__paid_at__isnull=False,
            payment_recorded_at__isnull=True,
            voided_at__isnull=True,
        )
    )


def _uninvoiced(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Those of ``orders`` that may lack their invoice: not cancelled, with lines, and without
    an issued invoice (whether each is at its invoice point is ``invoice_point_reached``'s)."""
    issued = Document.sales.filter(
        order=OuterRef("pk"), kind=DocumentKind.INVOICE, state=DocumentState.ISSUED
    )
    return (
        orders.exclude(status=OrderStatus.CANCELLED)
        .filter(Exists(OrderLine.objects.filter(order=OuterRef("pk"))))
        .exclude(Exists(issued))
    )


def _seller_visit(seller: Seller, client: SpaceInvoicesClient) -> list[Finding]:
    """Visit one seller's entity (a seller from ``sellers_due``): list what changed since its
    cursor (everything on a full visit) and what its open findings name, then replace its
    findings and move its cursor."""
    started = timezone.now()
    entity_id = str(seller.entity_id)
    cursor: ReconciliationCursor | None = getattr(seller, "reconciliation", None)
    has_findings: bool = getattr(seller, "has_findings", True)
    full = cursor is None or cursor.full_due
    since = _since(cursor.watermark) if cursor and not full and cursor.watermark else None
    seen: dict[str, RemoteDocument] = {}
    for document in client.invoice_iter(entity_id=entity_id, updated_since=since):
        seen[document["id"]] = document
    for document in client.credit_note_iter(entity_id=entity_id, updated_since=since):
        seen[document["id"]] = document
    changed = list(seen.values())
    if not full and has_findings:
        for document in _flagged(client, seller, entity_id):
            seen.setdefault(document["id"], document)
    series = _Series({} if full or cursor is None else cursor.series)
    series.add(str(document.get("number") or "") for document in seen.values())
    watermark = max(
        [str(document.get("updated_at") or "") for document in changed]
        + [cursor.watermark if cursor is not None and not full else ""]
    )
    findings = list(_Visit(seller, list(seen.values()), started).findings(series.gaps()))
    moved = {"watermark": watermark, "visited_at": started, "series": series.state}
    # One statement needs no transaction of its own (a round trip less per clean seller).
    with transaction.atomic() if has_findings or findings else nullcontext():
        if has_findings:
            Finding.objects.filter(seller=seller).delete()
        if findings:
            Finding.objects.bulk_create(findings)
        if cursor is None:
            ReconciliationCursor.objects.update_or_create(seller=seller, defaults=moved)
        else:
            ReconciliationCursor.objects.filter(pk=seller.pk).update(**moved, full_due=False)
    return findings


def finding_adopt(
    *, finding_id: int, actor: User | None = None, client: SpaceInvoicesClient | None = None
) -> Document:
    """Mirror the document a "not mirrored" finding names onto its row here: the failed or
    pending row its ``document_ref`` names, or a new invoice row of its order (one that had
    none). Reuses the mirroring of an issued document; the finding is resolved."""
    finding = Finding.objects.select_related("seller").get(pk=finding_id)
    if finding.kind != FindingKind.NOT_MIRRORED:
        raise ApplicationError("Only a not-mirrored document can be adopted.", field="kind")
    client = client or gateway.reconciliation_client()
    entity_id = str(finding.seller.entity_id)
    if finding.remote_id.startswith("cre_"):
        document = client.credit_note_get(entity_id=entity_id, credit_note_id=finding.remote_id)
    else:
        document = client.invoice_get(entity_id=entity_id, invoice_id=finding.remote_id)
    with transaction.atomic():
        row = _row_named(document, finding.seller)
        if row is None:
            row = _invoice_row_for(document, finding.seller)
        invoice = services.document_adopt(invoice_id=row.pk, document=document, actor=actor)
        Finding.objects.filter(pk=finding.pk).delete()
    return invoice


def _row_named(document: RemoteDocument, seller: Seller) -> Document | None:
    ref = _ref(document)
    if ref is None:
        return None
    return _entity_rows().filter(pk=ref[1], seller=seller).first()


def _entity_rows() -> QuerySet[Document]:
    """The rows of the documents a seller's entity holds: its sales, and its supplies to the
    operator of deemed-supplier sales; not the operator's invoices of those sales to buyers,
    which the operator's deemed-sales entity holds."""
    return Document.objects.filter(
        purpose__in=[DocumentPurpose.SALE, DocumentPurpose.SUPPLY_TO_OPERATOR]
    ).exclude(Q(purpose=DocumentPurpose.SALE) & Q(order__deemed_supply__gt=""))


def _ref(document: RemoteDocument) -> tuple[str, int] | None:
    """(kind, row id) of the row of ours the document's metadata names, if any."""
    return document_ref_parse(document["metadata"].get("document_ref", ""))


def _invoice_row_for(document: RemoteDocument, seller: Seller) -> Document:
    """A new invoice row (with its lines) for the order an adopted invoice names."""
    order_id = document["metadata"].get("order_id", "")
    order = (
        Order.objects.select_for_update(no_key=True)
        .filter(pk=int(order_id), seller=seller)
        .select_related("seller")
        .first()
        if _ORDER_ID.fullmatch(order_id) and document["id"].startswith("inv_")
        else None
    )
    row = services.invoice_request(order=order) if order is not None else None
    if row is None or row.state == DocumentState.ISSUED:
        raise ApplicationError(
            f"{document['id']} names no row and no uninvoiced order of this seller.",
            field="remote_id",
        )
    return row


def _since(watermark: str) -> str:
    """The API timestamp ``_OVERLAP`` before ``watermark`` (an API ``updated_at``)."""
    moment = datetime.fromisoformat(watermark.replace("Z", "+00:00")) - _OVERLAP
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _flagged(
    client: SpaceInvoicesClient, seller: Seller, entity_id: str
) -> Iterator[RemoteDocument]:
    """The documents the seller's open findings name, and the invoices of orders found
    invoiced twice: listed again so those findings are recomputed, not kept blindly."""
    open_findings = Finding.objects.filter(seller=seller)
    remote_ids = sorted(
        set(open_findings.exclude(remote_id="").values_list("remote_id", flat=True))
    )
    for kind, prefix in (("invoice", "inv_"), ("credit_note", "cre_")):
        ids = [remote_id for remote_id in remote_ids if remote_id.startswith(prefix)]
        for start in range(0, len(ids), _FLAGGED_PAGE):
            query = {"id": {"in": ids[start : start + _FLAGGED_PAGE]}}
            if kind == "invoice":
                yield from client.invoice_iter(entity_id=entity_id, query=query)
            else:
                yield from client.credit_note_iter(entity_id=entity_id, query=query)
    orders = sorted(
        str(order_id)
        for order_id in open_findings.filter(kind=FindingKind.DUPLICATE).values_list(
            "order_id", flat=True
        )
    )
    for start in range(0, len(orders), _FLAGGED_PAGE):
        query = {"metadata.order_id": {"in": orders[start : start + _FLAGGED_PAGE]}}
        yield from client.invoice_iter(entity_id=entity_id, query=query)


class _Series:
    """Numbering series as stored on the cursor: ``{prefix: {"width", "last", "missing"}}``.

    Every series of ours starts at 1; a number seen fills its place, a number beyond the last
    one leaves the numbers between missing until they are seen.
    """

    def __init__(self, state: dict[str, Any]) -> None:
        self.state: dict[str, Any] = {
            prefix: {**entry, "missing": list(entry["missing"])} for prefix, entry in state.items()
        }

    def add(self, numbers: Iterable[str]) -> None:
        by_prefix: defaultdict[str, set[int]] = defaultdict(set)
        for number in numbers:
            match = _SEQUENCE.match(number)
            if match:
                by_prefix[match.group(1)].add(int(match.group(2)))
                entry = self.state.setdefault(
                    match.group(1), {"width": 0, "last": 0, "missing": []}
                )
                entry["width"] = len(match.group(2))
        for prefix, seen in by_prefix.items():
            entry = self.state[prefix]
            missing = set(entry["missing"]) | set(range(entry["last"] + 1, max(seen) + 1))
            entry["last"] = max(entry["last"], *seen)
            entry["missing"] = sorted(missing - seen)

    def gaps(self) -> Iterator[tuple[str, str]]:
        for prefix, entry in sorted(self.state.items()):
            for missing in entry["missing"]:
                yield prefix, f"{prefix}{missing:0{entry['width']}d}"


@dataclass
class _Visit:
    """The findings of one seller from the documents listed and our rows."""

    seller: Seller
    documents: list[RemoteDocument]
    run_at: datetime

    def finding(
        self, kind: str, detail: str, order_id: int | None = None, remote_id: str = ""
    ) -> Finding:
        return Finding(
            run_at=self.run_at, seller=self.seller, kind=kind, order_id=order_id,
            remote_id=remote_id, detail=detail,
        )  # fmt: skip

    def findings(self, gaps: Iterable[tuple[str, str]]) -> Iterator[Finding]:
        seller = self.seller
        invoices = [d for d in self.documents if d["id"].startswith("inv_")]
        named = {
            int(order_id)
            for order_id in (d["metadata"].get("order_id", "") for d in invoices)
            if _ORDER_ID.fullmatch(order_id)
        }
        ids = {d["id"] for d in self.documents}
        refs = {ref[1] for ref in map(_ref, self.documents) if ref is not None}
        # One query for the rows these documents touch: mirrored ones, their orders' invoice
        # rows, and the rows their document_ref names; only the fields the checks read.
        rows = list(
            _entity_rows()
            .filter(seller=seller)
            .filter(
                Q(remote_id__in=ids)
                | Q(order_id__in=named, kind=DocumentKind.INVOICE)
                | Q(pk__in=refs)
            )
            .select_related("order")
            .only(*_ROW_FIELDS)
        )
        # The named orders that are the seller's: those its rows belong to, and any others
        # (an order without a row) looked up.
        orders = {row.sale_order.pk for row in rows} & named
        if named - orders:
            orders |= set(
                Order.objects.filter(seller=seller, pk__in=named - orders).values_list(
                    "pk", flat=True
                )
            )
        mirrored = {str(row.remote_id): row for row in rows if row.remote_id in ids}
        invoice_rows = {
            row.sale_order.pk: row
            for row in rows
            if row.kind == DocumentKind.INVOICE and row.order_id in orders
        }
        rows_by_pk = {row.pk: row for row in rows if row.pk in refs}

        by_order: defaultdict[int, list[RemoteDocument]] = defaultdict(list)
        for document in invoices:
            order_id = document["metadata"].get("order_id", "")
            if not _ORDER_ID.fullmatch(order_id) or int(order_id) not in orders:
                yield self.finding(
                    FindingKind.UNKNOWN_DOCUMENT,
                    f"{document['number']} names order '{order_id}', which {seller} does not have",
                    remote_id=document["id"],
                )
            else:
                by_order[int(order_id)].append(document)
        for order_pk, documents in sorted(by_order.items()):
            numbers = {str(d["number"]) for d in documents}
            row = invoice_rows.get(order_pk)
            ids = {d["id"] for d in documents}
            if row is not None and row.state == DocumentState.ISSUED:
                ids.add(str(row.remote_id))
                numbers.add(row.number)
            if len(ids) > 1:
                yield self.finding(
                    FindingKind.DUPLICATE,
                    f"{len(ids)} invoices: {', '.join(sorted(numbers))}",
                    order_pk,
                )
        for document in self.documents:
            adoptable = None
            if document["id"] not in mirrored:
                adoptable = self._not_mirrored(document, rows_by_pk, orders, invoice_rows)
            if adoptable is not None:
                order_pk, detail = adoptable
                yield self.finding(FindingKind.NOT_MIRRORED, detail, order_pk, document["id"])
        yield from self._missing_invoices(named)
        for series, gap in gaps:
            yield self.finding(FindingKind.NUMBERING_GAP, f"series '{series}' skips {gap}")
        for document in self.documents:
            row = mirrored.get(document["id"])
            if row is not None and row.state == DocumentState.ISSUED:
                yield from self._drift(row, document)
        for invoice, detail in _over_credited(self.seller):
            yield self.finding(
                FindingKind.OVER_CREDITED, detail, invoice.order_id, invoice.remote_id or ""
            )
        yield from self._outbox_overdue()

    def _outbox_overdue(self) -> Iterator[Finding]:
        """Issued documents never sent, and paid invoices whose payment was never recorded
        there, once the sweeper has had its time to drive them (a refusal is shown at once)."""
        stale = timezone.now() - settings.INVOICE_PENDING_SWEEP_AFTER
        overdue = (
            Document.sales.filter(seller=self.seller)
            .filter(_outbox_due())
            .filter(
                Q(send_due_at__lt=stale)
                | Q(order__paid_at__lt=stale)
                | ~Q(send_error="")
                | ~Q(payment_error="")
            )
            .select_related("order")
            .order_by("pk")
        )
        for row in overdue:
            remote_id = str(row.remote_id)
            if (
                row.send_due_at is not None
                and row.sent_at is None
                and (row.send_due_at < stale or row.send_error)
            ):
                reason = f": {row.send_error}" if row.send_error else ""
                yield self.finding(
                    FindingKind.NOT_SENT,
                    f"{row.number} was issued and never sent to the buyer{reason}",
                    row.order_id,
                    remote_id,
                )
            if (
                row.kind == DocumentKind.INVOICE
                and row.sale_order.paid_at is not None
                and row.payment_recorded_at is None
                and row.voided_at is None
                and (row.sale_order.paid_at < stale or row.payment_error)
            ):
                reason = f": {row.payment_error}" if row.payment_error else ""
                yield self.finding(
                    FindingKind.PAYMENT_NOT_RECORDED,
                    f"{row.number} is paid here and its payment is not recorded there{reason}",
                    row.order_id,
                    remote_id,
                )

    def _not_mirrored(
        self,
        document: RemoteDocument,
        rows_by_pk: dict[int, Document],
        orders: set[int],
        invoice_rows: dict[int, Document],
    ) -> tuple[int, str] | None:
        """(order id, detail) when the document is ours but its row here is not issued."""
        ref = _ref(document)
        row = rows_by_pk.get(ref[1]) if ref is not None else None
        if (
            ref is not None
            and row is not None
            and row.kind == ref[0]
            and row.state != DocumentState.ISSUED
        ):
            return row.sale_order.pk, (
                f"{document['number']} is in Space Invoices; its {row.get_kind_display().lower()} "
                f"#{row.pk} here is {row.state}"
            )
        order_id = document["metadata"].get("order_id", "")
        if (
            row is None
            and document["id"].startswith("inv_")
            and _ORDER_ID.fullmatch(order_id)
            and int(order_id) in orders
            and int(order_id) not in invoice_rows
        ):
            return int(order_id), (
                f"{document['number']} is in Space Invoices; order {order_id} has no invoice here"
            )
        return None

    def _missing_invoices(self, named: set[int]) -> Iterator[Finding]:
        """Orders at their invoice point without an issued invoice, none of which a listed
        document names (those are duplicates or not mirrored)."""
        if not getattr(self.seller, "has_uninvoiced", True):
            return
        candidates = (
            _uninvoiced(Order.objects.filter(seller=self.seller))
            .exclude(pk__in=named)
            .select_related("seller")
            .order_by("pk")
        )
        for order in candidates:
            if invoice_point_reached(order):
                yield self.finding(FindingKind.MISSING_INVOICE, _missing_detail(order), order.pk)

    def _drift(self, row: Document, document: RemoteDocument) -> Iterator[Finding]:
        """A payment or a void the entity shows and the mirror missed, and the reverse: an
        invoice paid here whose payment the entity does not show."""
        if document.get("voided_at") and row.voided_at is None:
            yield self.finding(
                FindingKind.STATE_DRIFT,
                f"{row.number} was voided at {document['voided_at']}",
                row.order_id,
                str(row.remote_id),
            )
        if row.kind != DocumentKind.INVOICE:
            return
        if document.get("paid_in_full") and row.paid_at is None:
            yield self.finding(
                FindingKind.STATE_DRIFT,
                f"{row.number} is paid in full",
                row.order_id,
                str(row.remote_id),
            )
        elif (
            not document.get("paid_in_full")
            and not document.get("voided_at")
            and row.sale_order.paid_at is not None
            and (row.payment_recorded_at is not None or row.paid_at is not None)
        ):
            # What we hold as paid: all of it once the entity said so, else the payment we
            # recorded, which is less than the total when VAT became due at issue time.
            total = row.total_gross or Decimal(0)
            recorded = total if row.paid_at is not None else invoice_amount_paid(invoice=row)
            paid = Decimal(document["total_paid"]).quantize(total)
            if paid < recorded:
                yield self.finding(
                    FindingKind.UNPAID_REMOTELY,
                    f"{row.number} is paid {recorded} here; Space Invoices shows {paid} paid "
                    f"of {total}",
                    row.order_id,
                    str(row.remote_id),
                )


def _missing_detail(order: Order) -> str:
    """Why the order has no invoice, where we know: a deemed supply is the marketplace's to
    invoice, never the seller's (services.invoice_request writes none)."""
    if not order.deemed_supply and marketplace_is_deemed_supplier(
        seller_country=str(order.seller.country),
        buyer_country=str(order.billing_country),
        buyer_is_business=not order.buyer_is_end_consumer,
    ):
        return (
            "at its invoice point, no invoice: a deemed supply (Article 14a), the marketplace "
            "must invoice this sale"
        )
    return "at its invoice point, no invoice"


def _over_credited(seller: Seller) -> Iterator[tuple[Document, str]]:
    """Invoices of the mirror whose credit notes credit more than their total (a credit note
    made in the seller's dashboard after ours, or several of them)."""
    for found in over_credits(invoices=Document.sales.filter(seller=seller)):
        invoice, currency = found.invoice, found.invoice.currency
        yield (
            invoice,
            (
                f"{invoice.number} of {invoice.total_gross} {currency} is credited "
                f"{found.credited_gross} {currency}, {found.excess} {currency} too much"
            ),
        )
