"""The Space Invoices side of sellers: each seller's entity, its members as users of the entity,
removed members' users deleted there, and the key that opens its dashboard.

Sellers asks for this work through its hook (sellers.hooks); `SellerEntityTasks` answers it by
enqueueing the tasks below after commit (invoicing.tasks).
"""

import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.audit import audit_record
from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError
from invoicing import gateway
from invoicing.client import (
    EntityCreate,
    EntityRole,
    EntitySettings,
    NotFound,
    SpaceInvoicesClient,
    SpaceInvoicesError,
    Transient,
)
from invoicing.client.wire import (
    BankAccount,
    Enabled,
    EntityEInvoicing,
    NumberFormats,
    NumberSequenceStarts,
)
from invoicing.services import documents_release_for_seller
from invoicing.vies import vies_check
from marketplace.tax import BuyerTaxProfile, SellerTaxProfile
from sellers.einvoicing import entity_settings
from sellers.models import (
    MirrorState,
    RemovedEntityUser,
    Seller,
    SellerRole,
    SellerStatus,
    SellerUser,
)
from sellers.staff import entity_user_removal_record

logger = logging.getLogger(__name__)

INVOICE_NUMBER_FORMAT = "{yyyy}-{nnnnn}"
CREDIT_NOTE_NUMBER_FORMAT = "CN-{yyyy}-{nnnnn}"


class SellerEntityTasks:
    """sellers.hooks.SellerEntityHook: each request becomes its task once the change commits
    (a broker that cannot take it is logged; seller_entity_sweep_pending re-drives the
    entity's creation)."""

    def entity_create_requested(self, *, seller_id: int) -> None:
        from invoicing.tasks import create_seller_entity

        enqueue_on_commit(create_seller_entity, seller_id)

    def entity_update_requested(self, *, seller_id: int) -> None:
        from invoicing.tasks import update_seller_entity

        enqueue_on_commit(update_seller_entity, seller_id)

    def member_mirror_requested(self, *, seller_user_id: int) -> None:
        from invoicing.tasks import mirror_seller_user

        enqueue_on_commit(mirror_seller_user, seller_user_id)

    def entity_user_removal_requested(self, *, removal_id: int) -> None:
        from invoicing.tasks import delete_removed_entity_user

        enqueue_on_commit(delete_removed_entity_user, removal_id)

    def seller_activated(self, *, seller_id: int) -> None:
        documents_release_for_seller(seller=Seller.objects.get(pk=seller_id))

    def tax_number_vies_valid(self, *, country: str, tax_number: str) -> bool | None:
        # VIES is asked as a buyer's number is (invoicing.vies): as the customer, in its own
        # country, of an issuer in another member state.
        issuer = "DE" if country != "DE" else "AT"
        result = vies_check(
            seller=SellerTaxProfile(country=issuer, is_tax_subject=True, oss_registered=False),
            buyer=BuyerTaxProfile(country=country, vat_number=tax_number, is_business=True),
            use_cache=True,
        )
        return result.valid


def seller_entity_sweep_pending() -> list[int]:
    """Re-drive sellers still waiting for their entity whose task was lost (a broker that was
    down when onboarding committed, a worker killed, a give-up that could not be recorded).
    Creation is idempotent by the seller's request id, so a task still retrying does no harm."""
    stale = timezone.now() - settings.INVOICE_PENDING_SWEEP_AFTER
    with transaction.atomic():
        ids = list(
            Seller.objects.select_for_update(skip_locked=True)
            .filter(status=SellerStatus.PENDING, entity_id__isnull=True, updated_at__lt=stale)
            .order_by("pk")
            .values_list("pk", flat=True)[:500]
        )
        # updated_at marks the attempt: the next sweep waits as long again.
        Seller.objects.filter(pk__in=ids).update(updated_at=timezone.now())
        for seller_id in ids:
            SellerEntityTasks().entity_create_requested(seller_id=seller_id)
    return ids


def seller_entity_create(*, seller_id: int, client: SpaceInvoicesClient | None = None) -> Seller:
    """Create the seller's entity (idempotent by the seller's request id) with its logo, and
    activate the seller, or, when it signed up needing approval, have it await an operator.

    Transient failures propagate for the task to retry; a rejection marks the seller failed.
    """
    seller = Seller.objects.get(pk=seller_id)
    if seller.entity_id or seller.status != SellerStatus.PENDING:
        return seller
    client = client or gateway.space_invoices_client()
    payload = seller_entity_payload(seller)
    try:
        entity = client.entity_create(payload=payload, request_id=seller.entity_request_id)
        _logo_send(client, seller, entity["id"])
    except Transient:
        raise
    except SpaceInvoicesError as error:  # rejected, unauthorized, not found: no retry helps
        seller_entity_mark_failed(seller_id=seller.pk, reason=str(error))
        return Seller.objects.get(pk=seller.pk)
    awaiting = seller.approval_required and seller.approved_at is None
    status = SellerStatus.AWAITING_APPROVAL if awaiting else SellerStatus.ACTIVE
    with transaction.atomic():
        activated = Seller.objects.filter(pk=seller.pk, entity_id__isnull=True).update(
            entity_id=entity["id"],
            status=status,
            entity_error="",
            e_invoicing_settings=_e_invoicing_sent(payload),
        )
        if activated:
            audit_record(
                action="seller.awaiting_approval" if awaiting else "seller.activated",
                seller_id=seller.pk,
                detail={"entity_id": entity["id"]},
            )
            _members_mirror_request(seller.pk)
            # Details changed while the entity was being created follow it.
            if seller_entity_payload(Seller.objects.get(pk=seller.pk)) != payload:
                SellerEntityTasks().entity_update_requested(seller_id=seller.pk)
    logger.info("seller %s %s with entity %s", seller.pk, status, entity["id"])
    seller = Seller.objects.get(pk=seller.pk)
    if seller.status == SellerStatus.ACTIVE:
        documents_release_for_seller(seller=seller)
    return seller


def seller_entity_mark_failed(*, seller_id: int, reason: str) -> None:
    with transaction.atomic():
        failed = Seller.objects.filter(pk=seller_id, entity_id__isnull=True).update(
            status=SellerStatus.FAILED, entity_error=reason
        )
        if failed:
            audit_record(action="seller.entity_failed", seller_id=seller_id)
    logger.warning("seller %s entity creation failed", seller_id)


def seller_entity_update(*, seller_id: int, client: SpaceInvoicesClient | None = None) -> Seller:
    """Send the seller's current details to its entity; the same PATCH twice changes nothing.

    Transient failures propagate for the task to retry; a rejection is kept on the seller.
    """
    seller = Seller.objects.get(pk=seller_id)
    if not seller.entity_id:
        return seller
    client = client or gateway.space_invoices_client()
    payload = seller_entity_payload(seller)
    try:
        client.entity_update(
            entity_id=seller.entity_id,
            payload=payload,
            request_id=f"mkt-entity-update-{uuid.uuid4().hex}",
        )
        _logo_send(client, seller, seller.entity_id)
    except Transient:
        raise
    except SpaceInvoicesError as error:
        seller_entity_update_mark_failed(seller_id=seller.pk, reason=str(error))
        return Seller.objects.get(pk=seller.pk)
    Seller.objects.filter(pk=seller.pk).update(
        entity_error="", e_invoicing_settings=_e_invoicing_sent(payload)
    )
    logger.info("seller %s details sent to entity %s", seller.pk, seller.entity_id)
    return Seller.objects.get(pk=seller.pk)


def seller_entity_update_mark_failed(*, seller_id: int, reason: str) -> None:
    with transaction.atomic():
        Seller.objects.filter(pk=seller_id).update(entity_error=f"update refused: {reason}")
        audit_record(action="seller.entity_update_failed", seller_id=seller_id)
    logger.warning("seller %s entity update failed", seller_id)


def seller_e_invoicing_sync() -> list[int]:
    """Send the e-invoicing settings of the readiness table (sellers.einvoicing) to every
    active seller whose entity holds others: a mandate that came into force, a table changed by
    a release, a seller whose country changed. Runs daily (beat) and after deploys."""
    today = timezone.localdate()
    stale = [
        seller.pk
        for seller in Seller.objects.filter(status=SellerStatus.ACTIVE)
        .only("pk", "country", "e_invoicing_settings")
        .order_by("pk")
        if seller.e_invoicing_settings != entity_settings(str(seller.country), today)
    ]
    for seller_id in stale:
        SellerEntityTasks().entity_update_requested(seller_id=seller_id)
    return stale


def _e_invoicing_sent(payload: EntityCreate) -> dict[str, object]:
    """The e-invoicing settings of an entity payload, as stored on the seller."""
    assert payload.settings is not None
    return payload.settings.model_dump(include={"e_invoicing", "xrechnung", "zugferd"})


def _logo_send(client: SpaceInvoicesClient, seller: Seller, entity_id: str) -> None:
    """The seller's logo to its entity (a PUT: the same logo again changes nothing)."""
    if not seller.logo:
        return
    with seller.logo.open("rb") as image:
        content = image.read()
    client.entity_logo_upload(
        entity_id=entity_id,
        content=content,
        content_type=logo_content_type(content),
        request_id=f"mkt-entity-logo-{uuid.uuid4().hex}",
    )


def logo_content_type(content: bytes) -> str:
    """PNG or JPEG, by the file's signature (sellers.validation let only those in)."""
    return "image/png" if content.startswith(b"\x89PNG") else "image/jpeg"


def seller_entity_payload(seller: Seller) -> EntityCreate:
    e_invoicing = entity_settings(str(seller.country), timezone.localdate())
    payload = EntityCreate(
        name=seller.business_name,
        address=seller.address,
        post_code=seller.post_code,
        city=seller.city,
        country_code=str(seller.country),
        is_tax_subject=seller.is_tax_subject,
        email=seller.email,
        settings=EntitySettings(
            primary_color=seller.primary_colour,
            document_footer=seller.invoice_footer,
            has_logo=bool(seller.logo),
            number_formats=NumberFormats(
                invoice=INVOICE_NUMBER_FORMAT, credit_note=CREDIT_NOTE_NUMBER_FORMAT
            ),
            e_invoicing=EntityEInvoicing(**e_invoicing["e_invoicing"]),
            xrechnung=Enabled(**e_invoicing["xrechnung"]),
            zugferd=Enabled(**e_invoicing["zugferd"]),
        ),
        metadata={"seller_id": str(seller.pk)},
    )
    if seller.tax_number:
        payload.tax_number = seller.tax_number
    if seller.business_registration_number:
        payload.company_number = seller.business_registration_number
    assert payload.settings is not None
    # Sent also when blank (an empty list, null): a PATCH merges, so a cleared IBAN, note or
    # payment terms must be sent as cleared for the entity to drop them.
    payload.settings.bank_accounts = []
    if seller.iban:
        account = BankAccount(type="iban", name=seller.business_name, iban=seller.iban)
        if seller.bic:
            account.bic = seller.bic
        payload.settings.bank_accounts = [account]
    payload.settings.default_invoice_note = seller.invoice_note or None
    payload.settings.default_invoice_payment_terms = seller.payment_terms or None
    if seller.invoice_number_start:
        payload.settings.number_sequence_starts = NumberSequenceStarts(
            invoice=seller.invoice_number_start
        )
    return payload


# Seller staff as users of the seller's entity


def seller_user_mirror(*, seller_user_id: int, client: SpaceInvoicesClient | None = None) -> None:
    """Make the member a user of the seller's entity with the member's role; idempotent.

    Does nothing until the seller has its entity (its activation mirrors every member).
    Transient failures propagate for the task to retry; a rejection marks the member failed.
    """
    membership = (
        SellerUser.objects.select_related("seller", "user").filter(pk=seller_user_id).first()
    )
    if membership is None or membership.entity_user_state == MirrorState.SYNCED:
        return
    entity_id = membership.seller.entity_id
    if entity_id is None:
        return
    client = client or gateway.space_invoices_client()
    request_id = membership.entity_user_request_id
    try:
        if membership.entity_user_id:
            _remote_user_delete(
                client,
                entity_id,
                membership.entity_user_id,
                request_id=f"mkt-entity-user-delete-{membership.entity_user_id}",
            )
            SellerUser.objects.filter(
                pk=membership.pk, entity_user_id=membership.entity_user_id
            ).update(entity_user_id=None)
        remote = client.entity_user_create(
            entity_id=entity_id,
            email=membership.user.email,
            role=_entity_role(membership.role),
            request_id=request_id,
        )
    except Transient:
        raise
    except SpaceInvoicesError as error:  # rejected, unauthorized, forbidden: no retry helps
        seller_user_mirror_mark_failed(seller_user_id=membership.pk, reason=str(error))
        return
    stored = SellerUser.objects.filter(pk=membership.pk, entity_user_request_id=request_id).update(
        entity_user_id=remote["id"], entity_user_state=MirrorState.SYNCED, entity_user_error=""
    )
    if not stored:
        # Removed or given another role while this ran: the user just created stands for nothing.
        _stray_user_delete(client, membership, remote["id"])
        return
    logger.info("seller user %s mirrored as %s", membership.pk, remote["id"])


def seller_user_mirror_mark_failed(*, seller_user_id: int, reason: str) -> None:
    SellerUser.objects.filter(pk=seller_user_id, entity_user_state=MirrorState.PENDING).update(
        entity_user_state=MirrorState.FAILED, entity_user_error=reason
    )
    logger.warning("seller user %s mirroring failed", seller_user_id)


def entity_user_removal_run(*, removal_id: int, client: SpaceInvoicesClient | None = None) -> None:
    """Delete a removed member's user from the seller's entity; gone already is done.

    Transient failures propagate for the task to retry; a rejection marks the removal failed.
    """
    removal = (
        RemovedEntityUser.objects.select_related("seller")
        .filter(pk=removal_id, resolved_at__isnull=True)
        .first()
    )
    if removal is None:
        return
    assert removal.seller.entity_id is not None  # recorded only for a seller with its entity
    RemovedEntityUser.objects.filter(pk=removal.pk).update(attempts=F("attempts") + 1)
    client = client or gateway.space_invoices_client()
    try:
        _remote_user_delete(
            client, removal.seller.entity_id, removal.entity_user_id, request_id=removal.request_id
        )
    except Transient:
        raise
    except SpaceInvoicesError as error:  # rejected, unauthorized, forbidden: no retry helps
        entity_user_removal_mark_failed(removal_id=removal.pk, reason=str(error))
        return
    RemovedEntityUser.objects.filter(pk=removal.pk).update(
        resolved_at=timezone.now(), last_error=""
    )
    logger.info("removal %s: entity user %s deleted", removal.pk, removal.entity_user_id)


def entity_user_removal_mark_failed(*, removal_id: int, reason: str) -> None:
    """Give up on a deletion: the former member may still open the entity, so operators see it."""
    removal = RemovedEntityUser.objects.filter(pk=removal_id, resolved_at__isnull=True).first()
    if removal is None:
        return
    with transaction.atomic():
        RemovedEntityUser.objects.filter(pk=removal.pk).update(last_error=reason)
        audit_record(
            action="entity_user.removal_failed",
            seller_id=removal.seller_id,
            detail={"removal_id": removal.pk, "entity_user_id": removal.entity_user_id},
        )
    logger.warning("removal %s: entity user %s not deleted", removal.pk, removal.entity_user_id)


def _entity_role(role: str) -> EntityRole:
    roles: dict[str, EntityRole] = {
        SellerRole.ADMIN: "admin",
        SellerRole.EDITOR: "editor",
        SellerRole.VIEWER: "viewer",
    }
    return roles[role]


def _remote_user_delete(
    client: SpaceInvoicesClient, entity_id: str, entity_user_id: str, *, request_id: str
) -> None:
    with contextlib.suppress(NotFound):  # deleted already
        client.entity_user_delete(
            entity_id=entity_id, user_id=entity_user_id, request_id=request_id
        )


def _members_mirror_request(seller_id: int) -> None:
    tasks = SellerEntityTasks()
    for seller_user_id in SellerUser.objects.filter(seller_id=seller_id).values_list(
        "pk", flat=True
    ):
        tasks.member_mirror_requested(seller_user_id=seller_user_id)


def _stray_user_delete(
    client: SpaceInvoicesClient, membership: SellerUser, entity_user_id: str
) -> None:
    """Delete at once a user of the entity that stands for no member; when that fails, keep it
    for the removal task, which retries and shows a failure to operators."""
    assert membership.seller.entity_id is not None  # it was just created in that entity
    try:
        _remote_user_delete(
            client,
            membership.seller.entity_id,
            entity_user_id,
            request_id=f"mkt-entity-user-delete-{entity_user_id}",
        )
    except SpaceInvoicesError:
        with transaction.atomic():
            entity_user_removal_record(
                seller_id=membership.seller_id,
                user_id=membership.user_id,
                entity_user_id=entity_user_id,
            )


# The embedded dashboard


@dataclass(frozen=True)
class DashboardAccess:
    entity_id: str
    key: str
    expires_at: datetime
    dashboard_url: str


def seller_dashboard_access(
    *, seller: Seller, actor: User, client: SpaceInvoicesClient | None = None
) -> DashboardAccess:
    """Mint a short-lived entity key that opens the seller's dashboard, for one of its admins.

    The key goes to the caller only: it is neither stored nor logged.
    """
    if not SellerUser.objects.filter(seller=seller, user=actor, role=SellerRole.ADMIN).exists():
        raise PermissionDenied("Only the seller's admins open its dashboard.")
    if seller.entity_id is None:
        raise ApplicationError(
            "The seller's Space Invoices entity does not exist yet; try again later.",
            code="entity_pending",
            http_status=409,
        )
    client = client or gateway.space_invoices_client()
    minted = client.entity_api_key_create(
        entity_id=seller.entity_id,
        name=f"dashboard for user {actor.pk}",
        ttl_seconds=settings.SELLER_DASHBOARD_KEY_TTL,
        request_id=f"mkt-dashboard-{uuid.uuid4().hex}",
    )
    access = DashboardAccess(
        entity_id=seller.entity_id,
        key=minted["key"],
        expires_at=datetime.fromisoformat(minted["expires_at"]),
        dashboard_url=settings.SPACE_INVOICES_DASHBOARD_URL,
    )
    audit_record(
        action="dashboard_key.minted",
        actor=actor,
        seller_id=seller.pk,
        detail={"key_prefix": _key_prefix(access.key), "expires_at": minted["expires_at"]},
    )
    logger.info("seller %s: dashboard key minted for user %s", seller.pk, actor.pk)
    return access


def _key_prefix(key: str) -> str:
    """Enough of a key to tell keys apart in the audit trail: ``ek_sandbox_1a2b``."""
    head, _, secret = key.rpartition("_")
    return f"{head}_{secret[:4]}"
