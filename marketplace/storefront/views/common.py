"""What the storefront's pages share: the refusal pages and the checkouts a visitor may see."""

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from marketplace.models import Checkout
from marketplace.storefront import selectors

# Checkouts this browser session placed: a guest sees them until the session ends.
CHECKOUTS_SESSION_KEY = "storefront_checkouts"


def refuse(request: HttpRequest, message: str, *, status: int, title: str) -> HttpResponse:
    context = {"title": title, "message": message}
    return render(request, "storefront/refused.html", context, status=status)


def not_found(request: HttpRequest, message: str) -> HttpResponse:
    return refuse(request, message, status=404, title="Not found")


def visible_checkout(request: HttpRequest, ref: uuid.UUID) -> Checkout | None:
    """The checkout if it is the logged-in buyer's or this session placed it."""
    found = selectors.checkout_by_ref(ref)
    if found is None:
        return None
    if request.user.is_authenticated and found.buyer_id == request.user.pk:
        return found
    if str(ref) in request.session.get(CHECKOUTS_SESSION_KEY, []):
        return found
    return None


CHECKOUT_NOT_FOUND = (
    "We cannot show this checkout: it does not exist or belongs to another buyer. "
    "Log in with the account you ordered with, or open the link from your order email."
)
