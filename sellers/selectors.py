from collections.abc import Collection

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Prefetch, QuerySet

from invoicing.models import DocumentKind, Invoice, InvoiceState
from marketplace.models import Order, OrderStatus
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


# The seller pages: every read takes the seller of the requester's membership.


def seller_order_list(seller: Seller, *, status: str | None = None) -> QuerySet[Order]:
    """The seller's orders, newest first, each with its documents (one query per page)."""
    orders = Order.objects.filter(seller=seller).prefetch_related(
        Prefetch("documents", queryset=Invoice.objects.order_by("pk"))
    )
    if status:
        orders = orders.filter(status=status)
    return orders.order_by("-pk")


def seller_document_list(
    seller: Seller, *, kind: str | None = None, state: str | None = None
) -> QuerySet[Invoice]:
    """The seller's invoices and credit notes, newest first."""
    documents = Invoice.objects.filter(seller=seller).select_related("credited_invoice")
    if kind:
        documents = documents.filter(kind=kind)
    if state:
        documents = documents.filter(state=state)
    return documents.order_by("-pk")


def seller_order_counts(seller: Seller) -> dict[str, int]:
    """How many of the seller's orders are in each status, every status present."""
    rows = Order.objects.filter(seller=seller).values_list("status").annotate(count=Count("pk"))
    found = dict(rows.order_by())
    return {status: found.get(status, 0) for status in OrderStatus.values}


def seller_document_counts(seller: Seller) -> dict[str, dict[str, int]]:
    """How many of the seller's documents of each kind are in each state, all present."""
    rows = (
        Invoice.objects.filter(seller=seller)
        .values_list("kind", "state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts = {kind: dict.fromkeys(InvoiceState.values, 0) for kind in DocumentKind.values}
    for kind, state, count in rows:
        counts[kind][state] = count
    return counts
