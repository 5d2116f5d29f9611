"""Who may use a seller endpoint, from the requesting user's membership alone.

The views then take the seller from that membership (``seller_for_user``), never from the
request, so a seller id in the URL, query or body cannot reach another seller.
"""

from typing import Any, ClassVar

from django.contrib.auth.models import User
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from sellers.models import SellerRole
from sellers.selectors import seller_ids_of


class _SellerRolePermission(BasePermission):
    roles: ClassVar[tuple[str, ...]]

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not isinstance(user, User):
            return False
        return seller_ids_of(user, roles=self.roles).exists()


class IsSellerMember(_SellerRolePermission):
    """Any member of a seller: admin, editor or viewer."""

    message = "Only a seller's users can do this."
    roles = (SellerRole.ADMIN, SellerRole.EDITOR, SellerRole.VIEWER)


class IsSellerAdmin(_SellerRolePermission):
    message = "Only a seller's admins can do this."
    roles = (SellerRole.ADMIN,)
