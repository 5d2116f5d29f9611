from datetime import date
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from core.permissions import is_operator
from marketplace.eu_vat import has_rate_table, vat_rate
from marketplace.models import Checkout, Order, Product
from sellers.models import Seller, SellerRole, SellerStatus
from sellers.selectors import seller_ids_of


def catalog_products() -> QuerySet[Product]:
    return Product.objects.select_related("seller").filter(
        is_active=True, seller__status=SellerStatus.ACTIVE
    )


def product_domestic_rate(*, product: Product, on: date) -> Decimal | None:
    """The product's rate in its seller's country on that date (None: the seller set none)."""
    country = str(product.seller.country)
    if has_rate_table(country):
        return vat_rate(country, product.tax_category, on).quantize(Decimal("0.01"))
    return product.tax_rate


def catalog_sellers() -> QuerySet[Seller]:
    return Seller.objects.filter(status=SellerStatus.ACTIVE)


def checkout_by_submission_token(token: str) -> Checkout | None:
    """The checkout a form or an API request with this one-time token placed, if any."""
    return Checkout.objects.filter(submission_token=token).first()


def checkout_orders(checkout: Checkout) -> QuerySet[Order]:
    """The checkout's orders in id order, with their sellers and lines; those checkout_create
    has just written are not read back (it leaves them on the checkout as prefetched)."""
    if "orders" in getattr(checkout, "_prefetched_objects_cache", {}):
        return checkout.orders.all()
    return (
        Order.objects.filter(checkout=checkout)
        .select_related("seller")
        .prefetch_related("lines")
        .order_by("pk")
    )


def orders_visible_to(user: User | AnonymousUser) -> QuerySet[Order]:
    """Operators with `marketplace.view_order` see every order; a seller user its seller's;
    a buyer its own."""
    orders = Order.objects.select_related("seller", "checkout").prefetch_related(
        "lines", "documents"
    )
    if not user.is_authenticated:
        return orders.none()
    if is_operator(user, "marketplace.view_order"):
        return orders
    return orders.filter(Q(buyer=user) | Q(seller_id__in=seller_ids_of(user)))


def orders_managed_by(user: User | AnonymousUser) -> QuerySet[Order]:
    """Orders whose lifecycle the user may move on the seller's side (fulfil, cancel, refund):
    every order for operators with `marketplace.change_order`."""
    orders = Order.objects.all()
    if not user.is_authenticated:
        return orders.none()
    if is_operator(user, "marketplace.change_order"):
        return orders
    editors = seller_ids_of(user, roles=[SellerRole.ADMIN, SellerRole.EDITOR])
    return orders.filter(seller_id__in=editors)


def orders_cancellable_by(user: User | AnonymousUser) -> QuerySet[Order]:
    """The buyer's own orders and the orders the user manages as seller staff."""
    if not user.is_authenticated:
        return Order.objects.none()
    return Order.objects.filter(Q(pk__in=orders_managed_by(user).values("pk")) | Q(buyer=user))
