"""The forms of the seller sign-up and onboarding wizard. They only shape input: the checks
that matter (tax number and VIES, IBAN, logo, colour) are the services' (sellers.onboarding,
sellers.setup), whose errors the views put next to the field they name."""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.validators import UnicodeUsernameValidator
from django_countries import countries

from sellers.models import InvoiceTrigger, Seller


class SignupForm(forms.Form):
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 8 characters.")
    email = forms.EmailField(label="Billing email")
    business_name = forms.CharField(label="Legal name", max_length=200)
    address = forms.CharField(max_length=200)
    post_code = forms.CharField(max_length=20)
    city = forms.CharField(max_length=100)
    country = forms.ChoiceField(choices=[("", "Choose a country"), *countries])
    tax_number = forms.CharField(
        label="VAT number",
        max_length=30,
        required=False,
        help_text="Checked by its format and with VIES (EU). Required for a tax subject.",
    )
    is_tax_subject = forms.BooleanField(
        label="Registered for VAT (tax subject)", required=False, initial=True
    )
    company_number = forms.CharField(
        label="Company registration number", max_length=50, required=False
    )


class BusinessDetailsForm(forms.Form):
    business_name = forms.CharField(label="Legal name", max_length=200)
    address = forms.CharField(max_length=200)
    post_code = forms.CharField(max_length=20)
    city = forms.CharField(max_length=100)
    tax_number = forms.CharField(label="VAT number", max_length=30, required=False)
    is_tax_subject = forms.BooleanField(label="Registered for VAT (tax subject)", required=False)
    company_number = forms.CharField(
        label="Company registration number", max_length=50, required=False
    )

    @classmethod
    def for_seller(
        cls, seller: Seller, data: Mapping[str, Any] | None = None
    ) -> "BusinessDetailsForm":
        initial = {
            "business_name": seller.business_name,
            "address": seller.address,
            "post_code": seller.post_code,
            "city": seller.city,
            "tax_number": seller.tax_number,
            "is_tax_subject": seller.is_tax_subject,
            "company_number": seller.business_registration_number,
        }
        return cls(data, initial=initial)


class BankAccountForm(forms.Form):
    iban = forms.CharField(label="IBAN", max_length=50, required=False)
    bic = forms.CharField(label="BIC", max_length=15, required=False)


class BrandingForm(forms.Form):
    # A text input, not <input type=color>: the browser would never send anything but a colour,
    # and the service's own check is what answers a wrong one.
    primary_colour = forms.CharField(
        label="Brand colour", max_length=20, help_text="A hex colour such as #1A73E8."
    )
    logo = forms.FileField(required=False)
    invoice_footer = forms.CharField(
        label="Document footer", max_length=500, required=False, widget=forms.Textarea
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit = settings.SELLER_LOGO_MAX_BYTES // 1024
        self.fields[
            "logo"
        ].help_text = f"PNG or JPEG, at most {limit} KB. Leave empty to keep the current one."


class InvoicingSettingsForm(forms.Form):
    invoice_trigger = forms.ChoiceField(
        label="Invoice point",
        choices=[("", "The marketplace's default"), *InvoiceTrigger.choices],
        required=False,
    )
    invoice_number_start = forms.IntegerField(
        label="Continue my invoice numbers from",
        required=False,
        help_text="Moving from another system? The number your next invoice should have.",
    )
    invoice_note = forms.CharField(
        label="Default note", max_length=500, required=False, widget=forms.Textarea
    )
    payment_terms = forms.CharField(label="Payment terms", max_length=500, required=False)
