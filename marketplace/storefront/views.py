"""Storefront pages. Each view validates input, calls one service or selector, and renders."""

import secrets
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parseaddr

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError
from core.throttles import page_throttle_wait, throttled_post
from invoicing.client import SpaceInvoicesError
from invoicing.models import Invoice, InvoiceState
from invoicing.services import document_pdf
from marketplace import payments, services
from marketplace.models import Checkout, Order, PaymentOutcome, Product
from marketplace.selectors import catalog_products, checkout_by_submission_token
from marketplace.storefront import selectors
from marketplace.storefront.cards import OrderCard, cards_json, cards_settled, order_cards
from marketplace.storefront.cart import Cart, cart_by_seller
from marketplace.storefront.forms import (
    CheckoutForm,
    ProductForm,
    QuantityForm,
    RegisterForm,
    checkout_lines,
    posted_lines,
)
from marketplace.storefront.guest import GuestLinkExpired, guest_orders_ref
from sellers.branding import readable_text_colour
from sellers.models import Seller
from sellers.validation import tax_number_country

CATALOG_PAGE_SIZE = 24
ORDERS_PAGE_SIZE = 10
# Checkouts this browser session placed: a guest sees them until the session ends.
CHECKOUTS_SESSION_KEY = "storefront_checkouts"
# One-time tokens of the checkout forms this session was shown (several tabs may be open).
SUBMISSION_TOKENS_SESSION_KEY = "storefront_checkout_tokens"
SUBMISSION_TOKENS_KEPT = 10


def _refuse(request: HttpRequest, message: str, *, status: int, title: str) -> HttpResponse:
    context = {"title": title, "message": message}
    return render(request, "storefront/refused.html", context, status=status)


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return _refuse(request, message, status=404, title="Not found")


# Catalog


@dataclass(frozen=True)
class SellerProducts:
    seller: Seller
    products: list[Product]

    @property
    def text_colour(self) -> str:
        return readable_text_colour(self.seller.primary_colour)


def _by_seller(products: Iterable[Product]) -> list[SellerProducts]:
    groups: dict[int, SellerProducts] = {}
    for product in products:
        groups.setdefault(product.seller_id, SellerProducts(product.seller, [])).products.append(
            product
        )
    return list(groups.values())


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    page = Paginator(catalog_products(), CATALOG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "groups": _by_seller(page.object_list)}
    return render(request, "storefront/catalog.html", context)


@require_GET
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    product = catalog_products().filter(pk=pk).first()
    if product is None:
        return _not_found(request, "This product is not in the catalog (any more).")
    form = QuantityForm(initial={"product_id": product.pk, "quantity": 1})
    context = {
        "product": product,
        "form": form,
        "text_colour": readable_text_colour(product.seller.primary_colour),
    }
    return render(request, "storefront/product.html", context)


# Cart


@require_GET
def cart_detail(request: HttpRequest) -> HttpResponse:
    cart = Cart(request.session)
    quantities = cart.quantities()
    products = selectors.cart_products(quantities)
    if cart.keep_only(set(products)):
        messages.warning(request, "Some items are no longer available and left your cart.")
        quantities = cart.quantities()
    groups = cart_by_seller(quantities, products)
    return render(request, "storefront/cart.html", {"groups": groups})


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    form = QuantityForm(request.POST)
    valid = form.is_valid()
    product_id = form.cleaned_data.get("product_id")
    product = catalog_products().filter(pk=product_id).first() if product_id else None
    if product is None:
        messages.error(request, "This product is not in the catalog (any more).")
        return redirect("storefront:catalog")
    if not valid:
        messages.error(request, _first_error(form))
        return redirect("storefront:product", pk=product.pk)
    try:
        Cart(request.session).add(product.pk, form.cleaned_data["quantity"])
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("storefront:product", pk=product.pk)
    messages.success(
        request, f"Added {form.cleaned_data['quantity']} x {product.name} to your cart."
    )
    return redirect("storefront:cart")


@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("storefront:cart")
    try:
        Cart(request.session).update(form.cleaned_data["product_id"], form.cleaned_data["quantity"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your cart was updated.")
    return redirect("storefront:cart")


@require_POST
def cart_remove(request: HttpRequest) -> HttpResponse:
    form = ProductForm(request.POST)
    if form.is_valid():
        Cart(request.session).remove(form.cleaned_data["product_id"])
        messages.success(request, "The item left your cart.")
    return redirect("storefront:cart")


def _first_error(form: QuantityForm) -> str:
    field, errors = next(iter(form.errors.items()))
    label = form.fields[field].label or field.replace("_", " ").capitalize()
    return f"{label}: {errors[0]}"


# Checkout


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
    """To the test provider's page where it is enabled; else to the orders, awaiting the
    payment an operator records."""
    _remember_checkout(request, placed)
    if not payments.local_provider_enabled():
        return redirect("storefront:checkout-orders", ref=placed.public_id)
    return redirect("storefront:payment-provider", ref=placed.public_id)


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


def _visible_checkout(request: HttpRequest, ref: uuid.UUID) -> Checkout | None:
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


@require_GET
def payment_provider(request: HttpRequest, ref: uuid.UUID) -> HttpResponse:
    """The test payment provider's hosted page (it stands in for a real provider where
    PAYMENT_PROVIDER is "test"; refused with 403 anywhere else)."""
    found = _visible_checkout(request, ref)
    if found is None:
        return _not_found(request, CHECKOUT_NOT_FOUND)
    if found.payments.filter(outcome=PaymentOutcome.PAID).exists():
        messages.info(request, "This checkout is already paid.")
        return redirect("storefront:checkout-orders", ref=ref)
    try:
        amount, currency = payments.checkout_amount(found)
        payloads = payments.provider_payloads(checkout=found, amount=amount, currency=currency)
    except ApplicationError as error:
        return _refuse(request, error.message, status=error.http_status, title="Cannot pay")
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
        return _refuse(
            request, error.message, status=error.http_status, title="Payment not accepted"
        )
    level, text = CALLBACK_MESSAGES[result.effect]
    messages.add_message(request, level, text)
    return redirect("storefront:checkout-orders", ref=result.checkout.public_id)


# Orders


def _orders_page(
    request: HttpRequest,
    cards: list[OrderCard],
    *,
    poll_url: str,
    heading: str,
    **context: object,
) -> HttpResponse:
    context = {
        "cards": cards,
        "settled": cards_settled(cards),
        "poll_url": poll_url,
        "heading": heading,
        **context,
    }
    return render(request, "storefront/orders.html", context)


def _checkout_pdf_url(ref: uuid.UUID) -> Callable[[Invoice], str]:
    return lambda document: reverse("storefront:checkout-document-pdf", args=[ref, document.pk])


def _guest_pdf_url(token: str) -> Callable[[Invoice], str]:
    return lambda document: reverse("storefront:guest-document-pdf", args=[token, document.pk])


@require_GET
def checkout_orders(request: HttpRequest, ref: uuid.UUID) -> HttpResponse:
    """The confirmation page: one card per seller's order, with its invoice's state."""
    found = _visible_checkout(request, ref)
    if found is None:
        return _not_found(request, CHECKOUT_NOT_FOUND)
    orders = selectors.checkout_orders(found)
    return _orders_page(
        request,
        order_cards(orders, _checkout_pdf_url(ref)),
        poll_url=reverse("storefront:checkout-orders-status", args=[ref]),
        heading="Your order",
        checkout=found,
        guest=services.buyer_is_guest(found.buyer),
    )


@require_GET
def checkout_orders_status(request: HttpRequest, ref: uuid.UUID) -> JsonResponse:
    found = _visible_checkout(request, ref)
    if found is None:
        return JsonResponse({"detail": CHECKOUT_NOT_FOUND}, status=404)
    cards = order_cards(selectors.checkout_orders(found), _checkout_pdf_url(ref))
    return JsonResponse(cards_json(cards))


GUEST_LINK_INVALID = (
    "This order link is not valid. Copy the whole link from your order email, "
    "or contact us if it still does not open."
)


def _guest_link_expired_message() -> str:
    return (
        "This order link has expired: the link in your order email works for "
        f"{settings.GUEST_LINK_MAX_AGE_DAYS} days. To get a new one, reply to your order email "
        f"or write to {_orders_contact_address()} from the address you ordered with."
    )


def _orders_contact_address() -> str:
    """Where buyers write about their orders: the address order emails come from."""
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def _guest_checkout(token: str) -> Checkout | None:
    """The guest checkout a link names; raises GuestLinkExpired for an outdated link."""
    ref = guest_orders_ref(token)
    found = selectors.checkout_by_ref(ref) if ref is not None else None
    if found is None or not services.buyer_is_guest(found.buyer):
        return None
    return found


def _guest_page_checkout(request: HttpRequest, token: str) -> Checkout | HttpResponse:
    """The guest checkout a link names, or the page refusing the link (expired: 410, else 404)."""
    try:
        found = _guest_checkout(token)
    except GuestLinkExpired:
        context = {"message": _guest_link_expired_message(), "contact": _orders_contact_address()}
        return render(request, "storefront/guest_link_expired.html", context, status=410)
    return found if found is not None else _not_found(request, GUEST_LINK_INVALID)


@require_GET
def guest_orders(request: HttpRequest, token: str) -> HttpResponse:
    found = _guest_page_checkout(request, token)
    if isinstance(found, HttpResponse):
        return found
    return _orders_page(
        request,
        order_cards(selectors.checkout_orders(found), _guest_pdf_url(token)),
        poll_url=reverse("storefront:guest-orders-status", args=[token]),
        heading="Your order",
        checkout=found,
    )


@require_GET
def guest_orders_status(request: HttpRequest, token: str) -> JsonResponse:
    try:
        found = _guest_checkout(token)
    except GuestLinkExpired:
        return JsonResponse({"detail": _guest_link_expired_message()}, status=410)
    if found is None:
        return JsonResponse({"detail": GUEST_LINK_INVALID}, status=404)
    cards = order_cards(selectors.checkout_orders(found), _guest_pdf_url(token))
    return JsonResponse(cards_json(cards))


def _my_orders_page(request: HttpRequest) -> tuple[list[OrderCard], Page[Order]]:
    if not isinstance(request.user, User):
        raise PermissionDenied
    orders = selectors.buyer_orders(request.user)
    page = Paginator(orders, ORDERS_PAGE_SIZE).get_page(request.GET.get("page"))
    cards = order_cards(page.object_list, _own_pdf_url)
    return cards, page


def _own_pdf_url(document: Invoice) -> str:
    ref = document.order.checkout.public_id
    return reverse("storefront:checkout-document-pdf", args=[ref, document.pk])


@login_required
@require_GET
def my_orders(request: HttpRequest) -> HttpResponse:
    cards, page = _my_orders_page(request)
    poll_url = reverse("storefront:my-orders-status") + f"?page={page.number}"
    return _orders_page(request, cards, poll_url=poll_url, heading="My orders", page=page)


@login_required
@require_GET
def my_orders_status(request: HttpRequest) -> JsonResponse:
    cards, _ = _my_orders_page(request)
    return JsonResponse(cards_json(cards))


# Documents


@require_GET
def checkout_document_pdf(request: HttpRequest, ref: uuid.UUID, pk: int) -> HttpResponse:
    found = _visible_checkout(request, ref)
    if found is None:
        return _not_found(request, CHECKOUT_NOT_FOUND)
    return _pdf_response(request, found, pk)


@require_GET
def guest_document_pdf(request: HttpRequest, token: str, pk: int) -> HttpResponse:
    found = _guest_page_checkout(request, token)
    if isinstance(found, HttpResponse):
        return found
    return _pdf_response(request, found, pk)


def _pdf_response(request: HttpRequest, found: Checkout, pk: int) -> HttpResponse:
    document = (
        Invoice.objects.select_related("order__seller").filter(pk=pk, order__checkout=found).first()
    )
    if document is None or document.state != InvoiceState.ISSUED:
        return _not_found(request, "This document is not issued (yet) for this order.")
    try:
        pdf = document_pdf(invoice=document)
    except SpaceInvoicesError:
        return _refuse(
            request,
            "The invoicing service did not send the PDF; try again in a minute.",
            status=502,
            title="PDF unavailable",
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{document.pdf_filename()}"'
    return response


# Accounts


@require_http_methods(["GET", "POST"])
@throttled_post("signup")
def register(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
        return redirect("storefront:catalog")
    return render(
        request, "storefront/register.html", {"form": form}, status=400 if form.errors else 200
    )
