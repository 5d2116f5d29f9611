from collections.abc import Collection

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from sellers.models import Seller, SellerUser


def seller_membership_for_user(user: User | AnonymousUser) -> SellerUser | None:
    """The user's membership with its seller: the seller and the user's role in it."""
    if not user.is_authenticated:
        return None
    return SellerUser.objects.select_related("seller").filter(user=user).first()


def seller_for_user(user: User | AnonymousUser) -> Seller | None:
    """The one seller a user belongs to, from its membership; never from request input."""
    membership = seller_membership_for_user(user)
    return membership.seller if membership else None


def seller_ids_of(user: User, *, roles: Collection[str] | None = None) -> QuerySet[SellerUser, int]:
    """The user's seller ids (with one of `roles`, when given), as a subquery."""
    memberships = SellerUser.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return memberships.values_list("seller_id", flat=True)


def seller_user_list(seller: Seller) -> QuerySet[SellerUser]:
    """The members of one seller, oldest first."""
    return SellerUser.objects.filter(seller=seller).select_related("user").order_by("pk")
