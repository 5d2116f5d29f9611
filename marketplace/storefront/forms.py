"""Storefront forms: add to cart, checkout (billing details and the cart as the buyer saw it),
buyer registration."""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm, UsernameField
from django.contrib.auth.models import User
from django.http import QueryDict
from django_countries import countries

from core.accounts import username_validate
from core.errors import ApplicationError
from marketplace import services
from marketplace.einvoice_buyer import buyer_e_invoicing_validate
from marketplace.models import Product
from marketplace.storefront.cart import MAX_QUANTITY, quantity_check


class QuantityForm(forms.Form):
    product_id = forms.IntegerField(widget=forms.HiddenInput)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1)


class ProductForm(forms.Form):
    product_id = forms.IntegerField(widget=forms.HiddenInput)


def _country_choices() -> list[tuple[str, str]]:
    return [("", "Choose a country"), *((str(code), str(name)) for code, name in countries)]


class CheckoutForm(forms.Form):
    name = forms.CharField(max_length=200, label="Full name")
    email = forms.EmailField(label="Email")
    address = forms.CharField(max_length=200, label="Street address")
    post_code = forms.CharField(max_length=20, label="Post code")
    city = forms.CharField(max_length=100, label="City")
    country = forms.ChoiceField(choices=_country_choices, label="Country")
    company = forms.CharField(max_length=200, required=False, label="Company name (optional)")
    vat_number = forms.CharField(max_length=30, required=False, label="VAT number (optional)")
    peppol_scheme_id = forms.CharField(
        max_length=4,
        required=False,
        label="Peppol id scheme (e.g. 0208)",
        help_text="For e-invoices: the scheme (EAS code) of your Peppol participant id.",
    )
    peppol_id = forms.CharField(max_length=60, required=False, label="Peppol id")
    buyer_reference = forms.CharField(
        max_length=100,
        required=False,
        label="Buyer reference",
        help_text="Your purchase order number, or your Leitweg-ID (German public buyers).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        autocomplete = {
            "name": "name",
            "email": "email",
            "address": "street-address",
            "post_code": "postal-code",
            "city": "address-level2",
            "country": "country",
            "company": "organization",
            "vat_number": "off",
            "peppol_scheme_id": "off",
            "peppol_id": "off",
            "buyer_reference": "off",
        }
        for name, value in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        country, number = cleaned.get("country"), cleaned.get("vat_number")
        if country and number:
            try:
                cleaned["vat_number"] = services.buyer_vat_validate(
                    country=country, vat_number=number
                )
            except ApplicationError as error:
                self.add_error("vat_number", error.message)
        try:
            details = buyer_e_invoicing_validate(
                peppol_id=cleaned.get("peppol_id", ""),
                peppol_scheme_id=cleaned.get("peppol_scheme_id", ""),
                buyer_reference=cleaned.get("buyer_reference", ""),
            )
        except ApplicationError as error:
            self.add_error((error.field or "").removeprefix("billing."), error.message)
        else:
            cleaned |= asdict(details)
        return cleaned

    def billing(self) -> services.BillingDetails:
        return services.BillingDetails(**self.cleaned_data)


@dataclass(frozen=True)
class PostedLine:
    """One cart line as the checkout page showed it to the buyer."""

    product_id: int
    quantity: int
    unit_price: Decimal


def posted_lines(data: QueryDict) -> list[PostedLine]:
    """The cart summary posted with the checkout form; malformed input is refused."""
    ids, quantities, prices = (
        data.getlist(name) for name in ("product_id", "quantity", "unit_price")
    )
    if not len(ids) == len(quantities) == len(prices):
        raise ApplicationError("The order summary is incomplete; review your cart.", field="lines")
    lines = []
    for product_id, quantity, price in zip(ids, quantities, prices, strict=True):
        try:
            line = PostedLine(int(product_id), int(quantity), Decimal(price))
        except (ValueError, InvalidOperation):
            raise ApplicationError(
                "The order summary holds a value that is not a number; review your cart.",
                field="lines",
            ) from None
        quantity_check(line.quantity)
        lines.append(line)
    return lines


def checkout_lines(
    posted: Sequence[PostedLine], cart: Mapping[int, int], products: Mapping[int, Product]
) -> list[services.CartLine]:
    """The lines to check out, once they match the catalog and the buyer's cart exactly."""
    if not cart:
        raise ApplicationError(
            "Your cart is empty: add products before checking out.", field="lines"
        )
    for line in posted:
        product = products.get(line.product_id)
        if product is None:
            raise ApplicationError(
                f"Product {line.product_id} is no longer available; review your cart.",
                field="lines",
            )
        if line.unit_price != product.unit_price:
            raise ApplicationError(
                f"The price of {product.name} is {product.unit_price} {product.currency}, not "
                f"{line.unit_price}; review your cart and check out again.",
                field="lines",
            )
    posted_cart = {line.product_id: line.quantity for line in posted}
    if posted_cart != dict(cart) or len(posted) != len(cart):
        raise ApplicationError(
            "Your cart changed since this page was shown; review it and check out again.",
            field="lines",
        )
    currencies = sorted({products[line.product_id].currency for line in posted})
    if len(currencies) > 1:
        raise ApplicationError(
            f"Your cart holds items priced in {' and '.join(currencies)}; pay for each currency "
            "in its own checkout.",
            field="lines",
        )
    return [
        services.CartLine(product_id=line.product_id, quantity=line.quantity) for line in posted
    ]


class RegisterForm(UserCreationForm[User]):
    email = forms.EmailField(label="Email")

    class Meta:
        model = User
        fields = ("username", "email")
        field_classes = {"username": UsernameField}

    def clean_username(self) -> str:
        """One rule with the API: core.accounts.username_validate."""
        try:
            return username_validate(self.cleaned_data["username"])
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None
