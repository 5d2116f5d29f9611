"""A seller completing its own set-up after signing up (the onboarding wizard's steps): business
details, bank account, branding and invoicing settings. Each step checks all its fields before
writing any, saves them with an audit event, and has the seller's entity follow after commit."""

import logging
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from core.audit import audit_record
from core.errors import ApplicationError
from sellers.hooks import seller_entity_hook
from sellers.models import InvoiceTrigger, Seller, SellerStatus
from sellers.onboarding import seller_tax_number_vies_check
from sellers.validation import (
    bic_validate,
    colour_validate,
    iban_validate,
    logo_validate,
    seller_tax_identity_validate,
)

logger = logging.getLogger(__name__)

MAX_NUMBER_START = 10**9


def seller_business_details_update(
    *,
    seller: Seller,
    actor: User,
    business_name: str,
    address: str,
    post_code: str,
    city: str,
    tax_number: str,
    is_tax_subject: bool,
    company_number: str,
) -> Seller:
    """The seller's legal identity; its country stays (it fixes the entity's currency and tax
    rules). A changed EU VAT number is asked of VIES again."""
    for field, value in (("business_name", business_name), ("address", address),
                         ("post_code", post_code), ("city", city)):  # fmt: skip
        if not value.strip():
            raise ApplicationError("This field is required.", field=field)
    _, number = seller_tax_identity_validate(
        country=str(seller.country), tax_number=tax_number, is_tax_subject=is_tax_subject
    )
    if number != seller.tax_number:
        seller.vies_valid = seller_tax_number_vies_check(
            country=str(seller.country), tax_number=number
        )
    seller.business_name = business_name.strip()
    seller.address = address.strip()
    seller.post_code = post_code.strip()
    seller.city = city.strip()
    fields = [
        "business_name",
        "address",
        "post_code",
        "city",
        "tax_number",
        "is_tax_subject",
        "business_registration_number",
        "vies_valid",
    ]
    if is_tax_subject != seller.is_tax_subject:
        # Sales taxed under the other set-up did not raise the distance-sales bound.
        seller.distance_sales_bound_year = seller.distance_sales_bound_eur = None
        fields += ["distance_sales_bound_year", "distance_sales_bound_eur"]
    seller.tax_number = number
    seller.is_tax_subject = is_tax_subject
    seller.business_registration_number = company_number.strip()
    return _save(
        seller,
        fields,
        actor=actor,
        action="seller.details_updated",
    )


def seller_bank_account_update(*, seller: Seller, actor: User, iban: str, bic: str) -> Seller:
    """The bank account printed on the seller's invoices."""
    seller.iban = iban_validate(iban)
    seller.bic = bic_validate(bic)
    if seller.bic and not seller.iban:
        raise ApplicationError("Give the IBAN of the account this BIC belongs to.", field="iban")
    return _save(seller, ["iban", "bic"], actor=actor, action="seller.bank_account_updated")


def seller_branding_update(
    *,
    seller: Seller,
    actor: User,
    primary_colour: str,
    invoice_footer: str,
    logo: UploadedFile | None = None,
) -> Seller:
    """The brand colour (text on it is black or white, whichever reads: sellers.branding), the
    footer of its documents and, when given, a new logo (PNG or JPEG within the size limit)."""
    colour = colour_validate(primary_colour)
    if len(invoice_footer) > 500:
        raise ApplicationError("Keep the footer under 500 characters.", field="invoice_footer")
    if logo is not None:
        logo_validate(logo)
    changed = ["primary_colour", "invoice_footer"]
    seller.primary_colour = colour
    seller.invoice_footer = invoice_footer.strip()
    if logo is not None:
        seller.logo.save(logo.name or "logo", logo, save=False)
        changed.append("logo")
    return _save(seller, changed, actor=actor, action="seller.branding_updated")


def seller_invoicing_settings_update(
    *,
    seller: Seller,
    actor: User,
    invoice_trigger: str,
    invoice_number_start: int | None,
    invoice_note: str,
    payment_terms: str,
) -> Seller:
    """When its orders are invoiced, the number its invoices continue from (only before it goes
    live: then its sequence has begun), and the default note and payment terms."""
    if invoice_trigger not in ("", *InvoiceTrigger.values):
        raise ApplicationError(
            f"'{invoice_trigger}' is not one of: {', '.join(InvoiceTrigger.values)}.",
            field="invoice_trigger",
        )
    if invoice_number_start is not None and not 1 <= invoice_number_start <= MAX_NUMBER_START:
        raise ApplicationError(
            f"Give a number from 1 to {MAX_NUMBER_START}.", field="invoice_number_start"
        )
    if invoice_number_start != seller.invoice_number_start and seller.status == SellerStatus.ACTIVE:
        raise ApplicationError(
            "The invoice sequence has begun: its start can only be set before going live.",
            field="invoice_number_start",
        )
    for field, value in (("invoice_note", invoice_note), ("payment_terms", payment_terms)):
        if len(value) > 500:
            raise ApplicationError("Keep it under 500 characters.", field=field)
    seller.invoice_trigger = invoice_trigger
    seller.invoice_number_start = invoice_number_start
    seller.invoice_note = invoice_note.strip()
    seller.payment_terms = payment_terms.strip()
    return _save(
        seller,
        ["invoice_trigger", "invoice_number_start", "invoice_note", "payment_terms"],
        actor=actor,
        action="seller.invoicing_settings_updated",
    )


def _save(seller: Seller, fields: Iterable[str], *, actor: User, action: str) -> Seller:
    changed = sorted(fields)
    with transaction.atomic():
        seller.save(update_fields=[*changed, "updated_at"])
        audit_record(action=action, actor=actor, seller_id=seller.pk, detail={"fields": changed})
        if seller.entity_id:
            seller_entity_hook().entity_update_requested(seller_id=seller.pk)
    logger.info("seller %s: %s", seller.pk, action)
    return seller
