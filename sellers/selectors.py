from django.contrib.auth.models import AnonymousUser, User

from sellers.models import Seller, SellerUser


def seller_for_user(user: User | AnonymousUser) -> Seller | None:
    """The one seller a user belongs to, from its membership; never from request input."""
    if not user.is_authenticated:
        return None
    membership = SellerUser.objects.select_related("seller").filter(user=user).first()
    return membership.seller if membership else None


def seller_membership(user: User | AnonymousUser) -> SellerUser | None:
    if not user.is_authenticated:
        return None
    return SellerUser.objects.select_related("seller").filter(user=user).first()
