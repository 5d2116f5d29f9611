"""Reads for the operators' admin landing page: onboarding, stuck documents, recent failures,
removed members still in Space Invoices.

Five queries whatever the numbers of sellers and documents.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, F, Q
from django.http import HttpRequest

from invoicing.models import Document, DocumentState
from invoicing.services import VIES_HOLD_REASON
from sellers.models import REMOVAL_FAILED, RemovedEntityUser, Seller, SellerStatus

RECENT_FAILED_SHOWN = 10

# Pending documents that cannot be sent yet (the admin's "held" filter uses these too).
HELD_BY_VIES = Q(state=DocumentState.PENDING, last_error=VIES_HOLD_REASON)
# Held until an operator releases it (VAT became due on an order paid without it).
HELD_FOR_OPERATOR = Q(state=DocumentState.PENDING) & ~Q(held_reason="")
WAITING_FOR_ENTITY = Q(state=DocumentState.PENDING, entity_id="")


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class DocumentCounts:
    pending: int  # all pending, the held ones included
    held_by_vies: int
    waiting_for_entity: int
    failed: int


@dataclass(frozen=True)
class OperatorDashboard:
    sellers: list[StatusCount]  # every onboarding status, in SellerStatus order
    documents: DocumentCounts
    oldest_pending: Document | None  # with its seller
    recent_failed: list[Document]  # the latest failures first, with their sellers
    # Removed members whose user in the seller's entity could not be deleted: they may still
    # open it.
    removed_users_failed: int


def operator_dashboard() -> OperatorDashboard:
    return OperatorDashboard(
        sellers=sellers_by_status(),
        documents=document_counts(),
        oldest_pending=(
            Document.objects.filter(state=DocumentState.PENDING)
            .select_related("seller")
            .order_by("created_at", "pk")
            .first()
        ),
        recent_failed=list(
            Document.objects.filter(state=DocumentState.FAILED)
            .select_related("seller")
            .order_by(F("last_attempt_at").desc(nulls_last=True), "-pk")[:RECENT_FAILED_SHOWN]
        ),
        removed_users_failed=RemovedEntityUser.objects.filter(REMOVAL_FAILED).count(),
    )


def sellers_by_status() -> list[StatusCount]:
    counts = Seller.objects.aggregate(
        **{status.value: Count("pk", filter=Q(status=status)) for status in SellerStatus}
    )
    return [
        StatusCount(status.value, status.label, counts[status.value]) for status in SellerStatus
    ]


def document_counts() -> DocumentCounts:
    # Only pending and failed rows are read (the state index); issued ones are the bulk.
    unissued = Document.objects.filter(state__in=[DocumentState.PENDING, DocumentState.FAILED])
    counts = unissued.aggregate(
        pending=Count("pk", filter=Q(state=DocumentState.PENDING)),
        held_by_vies=Count("pk", filter=HELD_BY_VIES),
        waiting_for_entity=Count("pk", filter=WAITING_FOR_ENTITY),
        failed=Count("pk", filter=Q(state=DocumentState.FAILED)),
    )
    return DocumentCounts(**counts)


def operator_dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """The admin index's dashboard, for operators who may see both sellers and documents."""
    user = request.user
    if user.has_perm("sellers.view_seller") and user.has_perm("invoicing.view_document"):
        return {"dashboard": operator_dashboard()}
    return {}
