"""The session cart across sellers."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from core.errors import ApplicationError
from marketplace.selectors import catalog_products
from marketplace.storefront import selectors
from marketplace.storefront.cart import Cart, cart_by_seller
from marketplace.storefront.forms import ProductForm, QuantityForm


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
