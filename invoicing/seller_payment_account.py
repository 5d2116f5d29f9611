"""The seller's card payments page: connect a Stripe account (Connect onboarding) and see whether
Stripe lets the seller take card payments and receive payouts (marketplace.stripe_provider)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from invoicing.seller_views import _page, _refuse, seller_member_required
from marketplace.models import SellerPaymentAccount
from marketplace.stripe_provider import (
    seller_payment_account_link,
    seller_payment_account_refresh,
)
from sellers.models import SellerRole, SellerUser

ADMINS_ONLY = "Only seller admins can connect the payout account."


@require_http_methods(["GET", "POST"])
@seller_member_required
def payment_account(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    """GET shows the account's readiness (read back from Stripe on the way back from its
    onboarding); POST (seller admins) opens Stripe's onboarding."""
    seller = membership.seller
    stripe_on = settings.PAYMENT_PROVIDER == "stripe"
    error = ""
    if request.method == "POST":
        if membership.role != SellerRole.ADMIN:
            return _refuse(
                request, ADMINS_ONLY, status=403, title="For seller admins", membership=membership
            )
        if stripe_on:
            back = request.build_absolute_uri(reverse("seller:payment-account") + "?returned=1")
            try:
                return redirect(seller_payment_account_link(seller=seller, return_url=back))
            except ApplicationError as failure:
                error = failure.message
    elif stripe_on and request.GET.get("returned"):
        try:
            seller_payment_account_refresh(seller=seller)
        except ApplicationError as failure:
            error = failure.message
    account = SellerPaymentAccount.objects.filter(seller=seller).first()
    context = {"account": account, "stripe_on": stripe_on, "error": error}
    return _page(
        request, membership, "sellers/payment_account.html", context, status=502 if error else 200
    )
