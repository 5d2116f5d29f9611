"""Operators: staff users holding the Django model permissions an action needs, as admin requires
them (a superuser holds every permission; a group, such as an operators group, gives them to its
members). `is_staff` alone reaches nothing beyond what any user reaches.

Permissions used outside admin:
- `marketplace.view_order`: every order in the API; `marketplace.change_order`: fulfil, cancel
  and refund any order; `marketplace.record_order_payment`: record a payment received offline.
- `invoicing.view_document`: every invoice and credit note in the API.
- `sellers.view_seller`, `sellers.add_seller`: list and onboard sellers in the API.
- `reporting.view_reports`: the report pages; `reporting.export_reports`: the cross-seller CSV
  exports and export jobs (API and admin downloads).
"""

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from core.errors import ApplicationError


def is_operator(user: AbstractBaseUser | AnonymousUser, *perms: str) -> bool:
    """An active staff user with every one of `perms`."""
    return isinstance(user, User) and user.is_active and user.is_staff and user.has_perms(perms)


class OperatorPermission(BasePermission):
    """An API view for operators holding `perms` (by method, for views with several).

    Anonymous requests get DRF's 401; a logged-in user without the permissions a 403 in the
    application error shape: `{"detail", "field": null, "code": "permission_denied"}`.
    """

    perms: ClassVar[dict[str, tuple[str, ...]]]

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        needed = self.perms.get(request.method or "", self.perms.get("*", ()))
        if not is_operator(request.user, *needed):
            raise ApplicationError(
                f"Only operators with the permission {', '.join(needed)} can do this.",
                code="permission_denied",
                http_status=status.HTTP_403_FORBIDDEN,
            )
        return True


def operator_permission(*perms: str, **by_method: tuple[str, ...]) -> type[OperatorPermission]:
    """The permission class requiring `perms` for every method, or `by_method` (`POST=(...)`)
    where given."""
    needed = {"*": perms, **{method.upper(): named for method, named in by_method.items()}}
    return type("OperatorPermission", (OperatorPermission,), {"perms": needed})
