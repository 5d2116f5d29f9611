"""Seller onboarding, the seller's Space Invoices entity, its staff and its dashboard."""

import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

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
from invoicing.client.wire import NumberFormats
from invoicing.services import documents_release_for_seller
from marketplace.accounts import password_validate, user_create
from marketplace.audit import audit_record
from marketplace.errors import ApplicationError
from sellers.models import (
    REMOVAL_FAILED,
    MirrorState,
    RemovedEntityUser,
    Seller,
    SellerRole,
    SellerStatus,
    SellerUser,
    new_entity_request_id,
    new_entity_user_delete_request_id,
    new_entity_user_request_id,
)
from sellers.validation import seller_tax_identity_validate

logger = logging.getLogger(__name__)

INVOICE_NUMBER_FORMAT = "{yyyy}-{nnnnn}"
CREDIT_NOTE_NUMBER_FORMAT = "CN-{yyyy}-{nnnnn}"


@dataclass(frozen=True)
class SellerDetails:
    business_name: str
    address: str
    post_code: str
    city: str
    country: str
    email: str
    tax_number: str = ""
    is_tax_subject: bool = True
    primary_colour: str = "#1A73E8"
    invoice_footer: str = ""
    logo: UploadedFile | None = None


def seller_onboard(
    *, details: SellerDetails, admin_user: User | None = None, actor: User | None = None
) -> Seller:
    """Write the seller (pending) and, after commit, request its entity."""
    country, tax_number = seller_tax_identity_validate(
        country=details.country,
        tax_number=details.tax_number,
        is_tax_subject=details.is_tax_subject,
    )
    seller = Seller(
        business_name=details.business_name.strip(),
        address=details.address.strip(),
        post_code=details.post_code.strip(),
        city=details.city.strip(),
        country=country,
        tax_number=tax_number,
        is_tax_subject=details.is_tax_subject,
        email=details.email,
        primary_colour=details.primary_colour,
        invoice_footer=details.invoice_footer,
        status=SellerStatus.PENDING,
    )
    if details.logo is not None:
        seller.logo = details.logo
    _full_clean(seller)
    with transaction.atomic():
        seller.save()
        if admin_user is not None:
            SellerUser.objects.create(user=admin_user, seller=seller, role=SellerRole.ADMIN)
        audit_record(action="seller.onboarded", actor=actor or admin_user, seller_id=seller.pk)
        _enqueue_entity_creation(seller.pk)
    logger.info("seller %s onboarded, entity requested", seller.pk)
    return seller


def seller_signup(*, username: str, password: str, details: SellerDetails) -> Seller:
    """A seller signs up: its admin user and the seller, written together or not at all."""
    password_validate(password=password, username=username, email=details.email)
    with transaction.atomic():
        user = user_create(username=username, email=details.email, password=password)
        return seller_onboard(details=details, admin_user=user)


def seller_entity_request(*, seller: Seller, actor: User | None = None) -> Seller:
    """Ask again for the entity of a draft or failed seller (admin action)."""
    with transaction.atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        if locked.entity_id:
            return locked
        if locked.status not in (SellerStatus.DRAFT, SellerStatus.FAILED):
            return locked
        # A rejected request would be replayed as the same rejection; a new key asks anew.
        locked.entity_request_id = new_entity_request_id()
        locked.status = SellerStatus.PENDING
        locked.entity_error = ""
        locked.save(update_fields=["entity_request_id", "status", "entity_error", "updated_at"])
        audit_record(action="seller.entity_requested", actor=actor, seller_id=locked.pk)
        _enqueue_entity_creation(locked.pk)
    return locked


def seller_entity_create(*, seller_id: int, client: SpaceInvoicesClient | None = None) -> Seller:
    """Create the seller's entity (idempotent by the seller's request id) and activate it.

    Transient failures propagate for the task to retry; a rejection marks the seller failed.
    """
    seller = Seller.objects.get(pk=seller_id)
    if seller.entity_id or seller.status != SellerStatus.PENDING:
        return seller
    client = client or gateway.space_invoices_client()
    try:
        entity = client.entity_create(
            payload=seller_entity_payload(seller), request_id=seller.entity_request_id
        )
    except Transient:
        raise
    except SpaceInvoicesError as error:  # rejected, unauthorized, not found: no retry helps
        seller_entity_mark_failed(seller_id=seller.pk, reason=str(error))
        return Seller.objects.get(pk=seller.pk)
    with transaction.atomic():
        activated = Seller.objects.filter(pk=seller.pk, entity_id__isnull=True).update(
            entity_id=entity["id"], status=SellerStatus.ACTIVE, entity_error=""
        )
        if activated:
            audit_record(
                action="seller.activated", seller_id=seller.pk, detail={"entity_id": entity["id"]}
            )
            _enqueue_members_mirror(seller.pk)
    logger.info("seller %s active with entity %s", seller.pk, entity["id"])
    seller = Seller.objects.get(pk=seller.pk)
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


# What the entity holds of a seller: a change to one of these is sent to Space Invoices.
ENTITY_FIELDS = frozenset(
    {
        "business_name", "address", "post_code", "city", "tax_number", "is_tax_subject",
        "email", "primary_colour", "invoice_footer", "logo",
    }
)  # fmt: skip


def seller_details_save(*, seller: Seller, changed: Iterable[str], actor: User | None) -> Seller:
    """Save an operator's edit of a seller; what its entity holds follows after commit.

    The country is not among the editable details once the entity exists: it fixes the
    entity's currency and tax rules.
    """
    _, seller.tax_number = seller_tax_identity_validate(
        country=str(seller.country),
        tax_number=seller.tax_number,
        is_tax_subject=seller.is_tax_subject,
    )
    changed = sorted(changed)
    with transaction.atomic():
        seller.save()
        audit_record(
            action="seller.updated", actor=actor, seller_id=seller.pk, detail={"fields": changed}
        )
        if seller.entity_id and ENTITY_FIELDS.intersection(changed):
            _enqueue_entity_update(seller.pk)
    return seller


def seller_entity_update(*, seller_id: int, client: SpaceInvoicesClient | None = None) -> Seller:
    """Send the seller's current details to its entity; the same PATCH twice changes nothing.

    Transient failures propagate for the task to retry; a rejection is kept on the seller.
    """
    seller = Seller.objects.get(pk=seller_id)
    if not seller.entity_id:
        return seller
    client = client or gateway.space_invoices_client()
    try:
        client.entity_update(
            entity_id=seller.entity_id,
            payload=seller_entity_payload(seller),
            request_id=f"mkt-entity-update-{uuid.uuid4().hex}",
        )
    except Transient:
        raise
    except SpaceInvoicesError as error:
        seller_entity_update_mark_failed(seller_id=seller.pk, reason=str(error))
        return Seller.objects.get(pk=seller.pk)
    Seller.objects.filter(pk=seller.pk).update(entity_error="")
    logger.info("seller %s details sent to entity %s", seller.pk, seller.entity_id)
    return Seller.objects.get(pk=seller.pk)


def seller_entity_update_mark_failed(*, seller_id: int, reason: str) -> None:
    with transaction.atomic():
        Seller.objects.filter(pk=seller_id).update(entity_error=f"update refused: {reason}")
        audit_record(action="seller.entity_update_failed", seller_id=seller_id)
    logger.warning("seller %s entity update failed", seller_id)


def seller_entity_payload(seller: Seller) -> EntityCreate:
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
        ),
        metadata={"seller_id": str(seller.pk)},
    )
    if seller.tax_number:
        payload.tax_number = seller.tax_number
    return payload


def _enqueue_entity_update(seller_id: int) -> None:
    from sellers.tasks import update_seller_entity

    transaction.on_commit(lambda: update_seller_entity.delay(seller_id))


def _enqueue_entity_creation(seller_id: int) -> None:
    from sellers.tasks import create_seller_entity

    transaction.on_commit(lambda: create_seller_entity.delay(seller_id))


def _full_clean(seller: Seller) -> None:
    try:
        seller.full_clean(exclude=["entity_id", "status"])
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise ApplicationError(f"{field}: {' '.join(messages)}", field=field) from None


# Seller staff: members with a role, each mirrored as a user of the seller's entity


def seller_user_add(
    *, seller: Seller, actor: User, username: str, email: str, password: str, role: str
) -> SellerUser:
    """Create the user and its membership; after commit, mirror it to the seller's entity."""
    _role_validate(role)
    password_validate(password=password, username=username, email=email)
    with transaction.atomic():
        _seller_lock(seller.pk)
        # Space Invoices keeps one user per email in an entity. The email is the user's, in
        # another table, so no constraint of SellerUser can hold it (a copy of it here would
        # drift from the user's own); the seller lock makes this check-then-create safe.
        if SellerUser.objects.filter(seller=seller, user__email__iexact=email).exists():
            raise ApplicationError("Another member of this seller has this email.", field="email")
        user = user_create(username=username, email=email, password=password)
        membership = SellerUser.objects.create(user=user, seller=seller, role=role)
        audit_record(
            action="seller_user.added",
            actor=actor,
            seller_id=seller.pk,
            detail={"seller_user_id": membership.pk, "user_id": user.pk, "role": role},
        )
        _enqueue_mirror(membership.pk)
    logger.info("seller %s: member %s added as %s", seller.pk, membership.pk, role)
    return membership


def seller_user_role_change(*, seller_user: SellerUser, role: str, actor: User) -> SellerUser:
    """Give the member another role; its remote user is replaced by one with the new role."""
    _role_validate(role)
    with transaction.atomic():
        membership = _member_lock(seller_user)
        if membership.role == role:
            return membership
        if membership.role == SellerRole.ADMIN:
            _admin_keep(membership, field="role")
        previous = membership.role
        membership.role = role
        # A new key: the remote user for the new role is a new create, not a replay of the old.
        membership.entity_user_request_id = new_entity_user_request_id()
        membership.entity_user_state = MirrorState.PENDING
        membership.entity_user_error = ""
        membership.save(
            update_fields=[
                "role",
                "entity_user_request_id",
                "entity_user_state",
                "entity_user_error",
            ]
        )
        audit_record(
            action="seller_user.role_changed",
            actor=actor,
            seller_id=membership.seller_id,
            detail={
                "seller_user_id": membership.pk,
                "user_id": membership.user_id,
                "from": previous,
                "to": role,
            },
        )
        _enqueue_mirror(membership.pk)
    logger.info("seller %s: member %s is now %s", membership.seller_id, membership.pk, role)
    return membership


def seller_user_remove(*, seller_user: SellerUser, actor: User) -> None:
    """Delete the membership, deactivate its user and, after commit, delete its remote user."""
    with transaction.atomic():
        membership = _member_lock(seller_user)
        if membership.role == SellerRole.ADMIN:
            _admin_keep(membership, field="id")
        get_user_model().objects.filter(pk=membership.user_id).update(is_active=False)
        membership_id, entity_user_id = membership.pk, membership.entity_user_id
        membership.delete()
        audit_record(
            action="seller_user.removed",
            actor=actor,
            seller_id=membership.seller_id,
            detail={
                "seller_user_id": membership_id,
                "user_id": membership.user_id,
                "role": membership.role,
            },
        )
        if membership.seller.entity_id and entity_user_id:
            _removal_record(
                seller_id=membership.seller_id,
                user_id=membership.user_id,
                entity_user_id=entity_user_id,
            )
    logger.info("seller %s: member %s removed", membership.seller_id, membership_id)


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


def seller_user_mirror_request(*, seller_user: SellerUser) -> bool:
    """Mirror a member that is not mirrored (operators, from admin: a failure again).

    False when the member is mirrored already.
    """
    with transaction.atomic():
        # A rejection is replayed for the same key; a new key asks anew.
        SellerUser.objects.filter(pk=seller_user.pk, entity_user_state=MirrorState.FAILED).update(
            entity_user_state=MirrorState.PENDING,
            entity_user_request_id=new_entity_user_request_id(),
            entity_user_error="",
        )
        pending = SellerUser.objects.filter(
            pk=seller_user.pk, entity_user_state=MirrorState.PENDING
        ).exists()
        if pending:
            _enqueue_mirror(seller_user.pk)
    return pending


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


def entity_user_removal_retry(*, removal: RemovedEntityUser, actor: User) -> bool:
    """Ask again for a deletion that gave up (admin action); False when it has not failed."""
    with transaction.atomic():
        # A rejection is replayed for the same key; a new key asks anew.
        retried = RemovedEntityUser.objects.filter(REMOVAL_FAILED, pk=removal.pk).update(
            last_error="", request_id=new_entity_user_delete_request_id()
        )
        if retried:
            audit_record(
                action="entity_user.removal_retried",
                actor=actor,
                seller_id=removal.seller_id,
                detail={"removal_id": removal.pk, "entity_user_id": removal.entity_user_id},
            )
            _enqueue_removal(removal.pk)
    return bool(retried)


def _role_validate(role: str) -> None:
    if role not in SellerRole.values:
        raise ApplicationError(f"Choose a role from {', '.join(SellerRole.values)}.", field="role")


def _seller_lock(seller_id: int) -> None:
    """Member changes of one seller run one at a time, so the last-admin check holds."""
    Seller.objects.select_for_update().filter(pk=seller_id).first()


def _member_lock(seller_user: SellerUser) -> SellerUser:
    _seller_lock(seller_user.seller_id)
    membership = SellerUser.objects.select_related("seller").filter(pk=seller_user.pk).first()
    if membership is None:
        raise ApplicationError(
            "This member was removed.", field="id", code="not_found", http_status=404
        )
    return membership


def _admin_keep(membership: SellerUser, *, field: str) -> None:
    others = SellerUser.objects.filter(seller_id=membership.seller_id, role=SellerRole.ADMIN)
    if not others.exclude(pk=membership.pk).exists():
        raise ApplicationError(
            "A seller needs an admin: make another member admin first.",
            field=field,
            code="last_admin",
        )


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


def _enqueue_mirror(seller_user_id: int) -> None:
    from sellers.tasks import mirror_seller_user

    transaction.on_commit(lambda: mirror_seller_user.delay(seller_user_id))


def _enqueue_members_mirror(seller_id: int) -> None:
    for seller_user_id in SellerUser.objects.filter(seller_id=seller_id).values_list(
        "pk", flat=True
    ):
        _enqueue_mirror(seller_user_id)


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
            _removal_record(
                seller_id=membership.seller_id,
                user_id=membership.user_id,
                entity_user_id=entity_user_id,
            )


def _removal_record(*, seller_id: int, user_id: int, entity_user_id: str) -> None:
    """Keep the remote user to delete until Space Invoices has deleted it; delete after commit."""
    removal, created = RemovedEntityUser.objects.get_or_create(
        entity_user_id=entity_user_id, defaults={"seller_id": seller_id, "user_id": user_id}
    )
    if created:  # otherwise its deletion is under way already
        _enqueue_removal(removal.pk)


def _enqueue_removal(removal_id: int) -> None:
    from sellers.tasks import delete_removed_entity_user

    transaction.on_commit(lambda: delete_removed_entity_user.delay(removal_id))


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
