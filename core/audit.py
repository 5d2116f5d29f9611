"""The audit trail: one call per action worth answering "who did this?" for.

Actions are dotted names, ``<subject>.<verb>`` (``seller.onboarded``, ``order.paid``,
``document.retried``, ``export.downloaded``, ``dashboard_key.minted``). ``detail`` holds ids and
codes only: never keys, secrets or a buyer's personal data.
"""

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
    return AuditEvent.objects.create(
        action=action,
        actor=actor if isinstance(actor, User) else None,
        seller_id=seller_id,
        order_id=order_id,
        document_id=document_id,
        detail=detail or {},
    )
