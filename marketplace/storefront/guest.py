"""Guest buyers' private order links: a signed, dated checkout reference, mailed after payment."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Checkout

SALT = "marketplace.storefront.guest-orders"


class GuestLinkExpired(Exception):
    """The link was signed by us but is older than GUEST_LINK_MAX_AGE_DAYS."""


def guest_orders_token(checkout: Checkout) -> str:
    return signing.dumps(str(checkout.public_id), salt=SALT)


def guest_orders_ref(token: str) -> uuid.UUID | None:
    """The checkout a guest link names; None when the link was not signed by us.

    Raises GuestLinkExpired for a link of ours that is too old.
    """
    max_age = timedelta(days=settings.GUEST_LINK_MAX_AGE_DAYS)
    try:
        return uuid.UUID(signing.loads(token, salt=SALT, max_age=max_age))
    except signing.SignatureExpired:
        raise GuestLinkExpired from None
    except (signing.BadSignature, TypeError, ValueError):
        return None


def guest_orders_url(checkout: Checkout) -> str:
    return reverse("storefront:guest-orders", args=[guest_orders_token(checkout)])


def guest_orders_email_send(*, checkout_id: int, site_url: str) -> None:
    """Mail the guest buyer the link to their orders and invoices, once per checkout.

    The checkout row stays locked while the mail goes out: a duplicate task waits, then finds it
    sent. A failed send rolls back, leaving the link unsent for the task's retry.
    """
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().filter(pk=checkout_id).first()
        if checkout is None or checkout.guest_link_sent_at is not None:
            return
        orders = list(checkout.orders.select_related("seller").order_by("pk"))
        body = render_to_string(
            "storefront/email/guest_orders.txt",
            {
                "name": orders[0].buyer_name,
                "sellers": [order.seller.business_name for order in orders],
                "link": site_url.rstrip("/") + guest_orders_url(checkout),
                "max_age_days": settings.GUEST_LINK_MAX_AGE_DAYS,
            },
        )
        send_mail("Your marketplace order", body, None, [orders[0].buyer_email])
        checkout.guest_link_sent_at = timezone.now()
        checkout.save(update_fields=["guest_link_sent_at"])
