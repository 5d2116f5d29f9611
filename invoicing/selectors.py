from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from invoicing.models import Invoice
from marketplace.permissions import is_operator
from sellers.models import Seller
from sellers.selectors import seller_ids_of


def invoice_list_for_seller(seller: Seller) -> QuerySet[Invoice]:
    return Invoice.objects.filter(seller=seller).select_related("order")


def invoices_visible_to(user: User | AnonymousUser) -> QuerySet[Invoice]:
    """Operators with `invoicing.view_invoice` see every document; a seller user its seller's;
    a buyer its own orders'."""
    invoices = Invoice.objects.select_related("order", "seller")
    if not user.is_authenticated:
        return invoices.none()
    if is_operator(user, "invoicing.view_invoice"):
        return invoices
    return invoices.filter(Q(order__buyer=user) | Q(seller_id__in=seller_ids_of(user)))
