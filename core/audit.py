"""The audit trail: one call per action worth answering "who did this?" for.

Actions are dotted names, ``<subject>.<verb>`` (``seller.onboarded``, ``order.paid``,
``document.retried``, ``export.downloaded``, ``dashboard_key.minted``). ``detail`` holds ids and
codes only: never keys, secrets or a buyer's personal data.
"""

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

from core.models import AuditEvent


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    seller_id: int | None = None,
    order_id: int | None = None,
    document_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event, in the caller's transaction so it exists only if the action does."""
    event = audit_event(
        action=action,
        actor=actor,
        seller_id=seller_id,
        order_id=order_id,
        document_id=document_id,
        detail=detail,
    )
    event.save(force_insert=True)
    return event


def audit_record_many(events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """Write audit events built with audit_event in one INSERT, in this order, in the caller's
    transaction."""
    return AuditEvent.objects.bulk_create(events)


def audit_event(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    seller_id: int | None = None,
    order_id: int | None = None,
    document_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """An audit event, not written yet (audit_record_many writes it)."""
    return AuditEvent(
        action=action,
        actor=actor if isinstance(actor, User) else None,
        seller_id=seller_id,
        order_id=order_id,
        document_id=document_id,
        detail=detail or {},
    )
