"""A seller's staff: members with a role, each mirrored as a user of the seller's entity
(through sellers.hooks), and the removed members' users still to delete there."""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from core.accounts import password_validate, user_create
from core.audit import audit_record
from core.errors import ApplicationError
from sellers.hooks import seller_entity_hook
from sellers.models import (
    REMOVAL_FAILED,
    MirrorState,
    RemovedEntityUser,
    Seller,
    SellerRole,
    SellerUser,
    new_entity_user_delete_request_id,
    new_entity_user_request_id,
)

logger = logging.getLogger(__name__)


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
        seller_entity_hook().member_mirror_requested(seller_user_id=membership.pk)
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
        seller_entity_hook().member_mirror_requested(seller_user_id=membership.pk)
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
            entity_user_removal_record(
                seller_id=membership.seller_id,
                user_id=membership.user_id,
                entity_user_id=entity_user_id,
            )
    logger.info("seller %s: member %s removed", membership.seller_id, membership_id)


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
            seller_entity_hook().member_mirror_requested(seller_user_id=seller_user.pk)
    return pending


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
            seller_entity_hook().entity_user_removal_requested(removal_id=removal.pk)
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


def entity_user_removal_record(*, seller_id: int, user_id: int, entity_user_id: str) -> None:
    """Keep the remote user to delete until Space Invoices has deleted it; its deletion is asked
    for through sellers.hooks (after commit)."""
    removal, created = RemovedEntityUser.objects.get_or_create(
        entity_user_id=entity_user_id, defaults={"seller_id": seller_id, "user_id": user_id}
    )
    if created:  # otherwise its deletion is under way already
        seller_entity_hook().entity_user_removal_requested(removal_id=removal.pk)
