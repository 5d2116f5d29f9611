"""Guest buyers' private order links: a signed checkout reference, mailed after payment."""

import uuid

from django.core import signing
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from marketplace.models import Checkout

SALT = "marketplace.storefront.guest-orders"


def guest_orders_token(checkout: Checkout) -> str:
    return signing.dumps(str(checkout.public_id), salt=SALT)


def guest_orders_ref(token: str) -> uuid.UUID | None:
    """The checkout a guest link names; None when the link was not signed by us."""
    try:
        return uuid.UUID(signing.loads(token, salt=SALT))
    except (signing.BadSignature, TypeError, ValueError):
        return None


def guest_orders_url(checkout: Checkout) -> str:
    return reverse("storefront:guest-orders", args=[guest_orders_token(checkout)])


def guest_orders_email_send(*, checkout: Checkout, site_url: str) -> None:
    """Mail the guest buyer the link to their orders and invoices."""
    orders = list(checkout.orders.select_related("seller").order_by("pk"))
    body = render_to_string(
        "storefront/email/guest_orders.txt",
        {
            "name": orders[0].buyer_name,
            "sellers": [order.seller.business_name for order in orders],
            "link": site_url.rstrip("/") + guest_orders_url(checkout),
        },
    )
    send_mail("Your marketplace order", body, None, [orders[0].buyer_email])
