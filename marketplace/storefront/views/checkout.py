"""Checkout (guest or logged in, with the VAT number check) and the test payment provider's page
and callback."""

import secrets
import uuid

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError
from core.throttles import page_throttle_wait, throttled_post
from marketplace import payments, services
from marketplace.models import Checkout, PaymentOutcome, Product
from marketplace.payment_providers import online_provider
from marketplace.selectors import checkout_by_submission_token
from marketplace.storefront import selectors
from marketplace.storefront.cart import Cart, cart_by_seller
from marketplace.storefront.forms import CheckoutForm, checkout_lines, posted_lines
from marketplace.storefront.views.common import (
    CHECKOUT_NOT_FOUND,
    CHECKOUTS_SESSION_KEY,
    not_found,
    refuse,
    visible_checkout,
)
from sellers.validation import tax_number_country

# One-time tokens of the checkout forms this session was shown (several tabs may be open).
SUBMISSION_TOKENS_SESSION_KEY = "storefront_checkout_tokens"
SUBMISSION_TOKENS_KEPT = 10


STALE_CHECKOUT_FORM = (
    "This checkout page is out of date; check your order and details, then submit it again."
)


@require_http_methods(["GET", "POST"])
@throttled_post("checkout")
def checkout(request: HttpRequest) -> HttpResponse:
    cart = Cart(request.session)
    quantities = cart.quantities()
    products = selectors.cart_products(quantities)
    if request.method == "GET":
        form = CheckoutForm(initial=_buyer_initial(request))
        return _checkout_page(request, form, quantities, products)
    token = _submission_token(request)
    submitted = checkout_by_submission_token(token) if token else None
    if submitted is not None:  # this form was submitted before: go where that submit went
        return _checkout_resubmitted(request, cart, quantities, submitted)
    form = CheckoutForm(request.POST)
    try:
        lines = checkout_lines(posted_lines(request.POST), quantities, products)
    except ApplicationError as error:
        form.is_valid()
        form.add_error(None, error.message)
        return _checkout_page(request, form, quantities, products, status=400)
    if not form.is_valid():
        return _checkout_page(request, form, quantities, products, status=400)
    if token is None:
        form.add_error(None, STALE_CHECKOUT_FORM)
        return _checkout_page(request, form, quantities, products, status=400)
    buyer = request.user if isinstance(request.user, User) else None
    try:
        placed = services.checkout_create(
            buyer=buyer, lines=lines, billing=form.billing(), submission_token=token
        )
    except ApplicationError as error:
        form.add_error(_form_field(error, form), error.message)
        return _checkout_page(request, form, quantities, products, status=400)
    return _checkout_placed(request, cart, placed)


def _submission_token(request: HttpRequest) -> str | None:
    """The posted form's one-time token, if this session was shown that form."""
    token = request.POST.get("submission_token", "")
    return token if token in request.session.get(SUBMISSION_TOKENS_SESSION_KEY, []) else None


def _issue_submission_token(request: HttpRequest) -> str:
    token = secrets.token_urlsafe(32)
    kept = request.session.get(SUBMISSION_TOKENS_SESSION_KEY, [])[-(SUBMISSION_TOKENS_KEPT - 1) :]
    request.session[SUBMISSION_TOKENS_SESSION_KEY] = [*kept, token]
    return token


def _checkout_placed(request: HttpRequest, cart: Cart, placed: Checkout) -> HttpResponse:
    cart.clear()
    return _to_payment(request, placed)


def _to_payment(request: HttpRequest, placed: Checkout) -> HttpResponse:
    """To the payment provider's page for the whole checkout; without one ("offline"), to the
    orders, awaiting the payment an operator records. A checkout the provider cannot take
    (a seller not ready for card payments) stays on its orders page, saying why."""
    _remember_checkout(request, placed)
    provider = online_provider()
    if provider is None:
        return redirect("storefront:checkout-orders", ref=placed.public_id)
    orders_url = reverse("storefront:checkout-orders", args=[placed.public_id])
    try:
        url = provider.payment_start(
            checkout=placed,
            return_url=request.build_absolute_uri(f"{orders_url}?payment=done"),
            cancel_url=request.build_absolute_uri(f"{orders_url}?payment=cancelled"),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(orders_url)
    return redirect(url)


@require_POST
def checkout_pay(request: HttpRequest, ref: uuid.UUID) -> HttpResponse:
    """ "Pay now": the whole checkout's payable orders, through the provider's page."""
    found = visible_checkout(request, ref)
    if found is None:
        return not_found(request, CHECKOUT_NOT_FOUND)
    if found.payments.filter(outcome=PaymentOutcome.PAID).exists():
        messages.info(request, "This checkout is already paid.")
        return redirect("storefront:checkout-orders", ref=ref)
    return _to_payment(request, found)


def _checkout_resubmitted(
    request: HttpRequest, cart: Cart, quantities: dict[int, int], placed: Checkout
) -> HttpResponse:
    # A concurrent twin of the first submit still holds the cart that was ordered: it clears it
    # too, or its session, if saved last, would bring the items back. A cart filled since stays.
    try:
        posted = {line.product_id: line.quantity for line in posted_lines(request.POST)}
    except ApplicationError:
        posted = None
    if posted == quantities:
        return _checkout_placed(request, cart, placed)
    return _to_payment(request, placed)


def _checkout_page(
    request: HttpRequest,
    form: CheckoutForm,
    quantities: dict[int, int],
    products: dict[int, Product],
    *,
    status: int = 200,
) -> HttpResponse:
    groups = cart_by_seller({pk: quantities[pk] for pk in products}, products)
    context = {"form": form, "groups": groups}
    if groups:
        context["submission_token"] = _issue_submission_token(request)
    return render(request, "storefront/checkout.html", context, status=status)


def _buyer_initial(request: HttpRequest) -> dict[str, str]:
    if not isinstance(request.user, User):
        return {}
    return {"name": request.user.get_full_name(), "email": request.user.email}


def _form_field(error: ApplicationError, form: CheckoutForm) -> str | None:
    """The form field a service error names ("billing.vat_number" -> "vat_number")."""
    name = (error.field or "").removeprefix("billing.")
    return name if name in form.fields else None


def _remember_checkout(request: HttpRequest, placed: Checkout) -> None:
    ref = str(placed.public_id)
    kept = [other for other in request.session.get(CHECKOUTS_SESSION_KEY, []) if other != ref]
    request.session[CHECKOUTS_SESSION_KEY] = [*kept[-19:], ref]


@require_GET
def vat_check(request: HttpRequest) -> JsonResponse:
    """Feedback while the buyer types: the format at once, VIES when asked (leaving the field)."""
    country = request.GET.get("country", "").strip().upper()
    number = request.GET.get("vat_number", "")
    if not country or not number.strip():
        return JsonResponse({"valid": None, "vat_number": "", "message": "", "vies": None})
    try:
        compact = services.buyer_vat_validate(country=country, vat_number=number)
    except ApplicationError as error:
        return JsonResponse(
            {"valid": False, "vat_number": "", "message": error.message, "vies": None}
        )
    body = {"valid": True, "vat_number": compact, "message": f"{compact}: valid format."}
    if request.GET.get("vies") != "1":
        return JsonResponse({**body, "vies": None})
    wait = page_throttle_wait(request, "checkout")
    if wait:
        message = f"Too many checks; the VIES answer comes at checkout or in {wait} seconds."
        response = JsonResponse({**body, "vies": None, "message": message}, status=429)
        response["Retry-After"] = str(wait)
        return response
    vies = _vies_answer(request, country, compact)
    return JsonResponse({**body, **vies})


VIES_MESSAGES = {
    True: "Confirmed by the EU VIES register.",
    False: "The EU VIES register does not confirm this number, so VAT is charged.",
    None: "The EU VIES register cannot be reached now; the number is checked again before "
    "invoicing.",
}


def _vies_answer(request: HttpRequest, country: str, compact: str) -> dict[str, object]:
    """VIES asked in the context of the cart's first seller (it decides the tax treatment)."""
    products = selectors.cart_products(Cart(request.session).quantities())
    seller = next((product.seller for product in products.values()), None)
    if seller is None or not tax_number_country(compact):
        return {"vies": None}
    valid = services.checkout_vat_check(
        seller=seller, country=country, vat_number=compact
    ).vies.valid
    answer = {True: "valid", False: "invalid", None: "unavailable"}[valid]
    return {"vies": answer, "message": f"{compact}: {VIES_MESSAGES[valid]}"}


# Payment


@require_GET
def payment_provider(request: HttpRequest, ref: uuid.UUID) -> HttpResponse:
    """The test payment provider's hosted page (it stands in for a real provider where
    PAYMENT_PROVIDER is "test"; refused with 403 anywhere else)."""
    found = visible_checkout(request, ref)
    if found is None:
        return not_found(request, CHECKOUT_NOT_FOUND)
    if found.payments.filter(outcome=PaymentOutcome.PAID).exists():
        messages.info(request, "This checkout is already paid.")
        return redirect("storefront:checkout-orders", ref=ref)
    try:
        amount, currency = payments.checkout_amount(found)
        payloads = payments.provider_payloads(checkout=found, amount=amount, currency=currency)
    except ApplicationError as error:
        return refuse(request, error.message, status=error.http_status, title="Cannot pay")
    context = {
        "checkout": found,
        "amount": amount,
        "currency": currency,
        "pay": payloads["paid"],
        "decline": payloads["declined"],
    }
    return render(request, "storefront/payment_provider.html", context)


CALLBACK_MESSAGES = {
    "confirmed": (messages.SUCCESS, "Payment received. Thank you for your order!"),
    "declined": (
        messages.ERROR,
        "Your payment was declined and nothing was charged. Your orders are waiting: "
        "you can try to pay again.",
    ),
    "replayed": (messages.INFO, "This payment was already processed."),
    "already_paid": (messages.INFO, "This checkout was already paid; nothing more was charged."),
}


@csrf_exempt  # the provider posts it; its HMAC signature, not a CSRF token, proves its origin
@require_POST
def payment_callback(request: HttpRequest) -> HttpResponse:
    try:
        result = payments.payment_callback_process(
            data=request.POST.dict(), site_url=request.build_absolute_uri("/")
        )
    except ApplicationError as error:
        return refuse(
            request, error.message, status=error.http_status, title="Payment not accepted"
        )
    level, text = CALLBACK_MESSAGES[result.effect]
    messages.add_message(request, level, text)
    return redirect("storefront:checkout-orders", ref=result.checkout.public_id)
