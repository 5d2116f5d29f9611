"""Seller onboarding (by an operator, or by the seller signing up itself) and the seller's
details; its Space Invoices entity follows through sellers.hooks."""

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from core.accounts import password_validate, user_create
from core.audit import audit_record
from core.errors import ApplicationError
from sellers.hooks import seller_entity_hook
from sellers.models import (
    DISTANCE_SALES_FIELDS,
    TAX_SETUP_FIELDS,
    Seller,
    SellerRole,
    SellerStatus,
    SellerUser,
    new_entity_request_id,
)
from sellers.validation import (
    Dac7Details,
    bic_validate,
    colour_validate,
    iban_validate,
    logo_validate,
    seller_dac7_details_validate,
    seller_tax_identity_validate,
    tax_number_country,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SellerDetails:
    business_name: str
    address: str
    post_code: str
    city: str
    country: str
    email: str
    tax_number: str = ""
    is_tax_subject: bool = True
    primary_colour: str = "#1A73E8"
    invoice_footer: str = ""
    logo: UploadedFile | None = None
    company_number: str = ""
    iban: str = ""
    bic: str = ""
    invoice_note: str = ""
    payment_terms: str = ""
    invoice_number_start: int | None = None


def seller_onboard(
    *,
    details: SellerDetails,
    admin_user: User | None = None,
    actor: User | None = None,
    approval_required: bool = False,
    vies_valid: bool | None = None,
) -> Seller:
    """Write the seller (pending) and, after commit, request its entity."""
    country, tax_number = seller_tax_identity_validate(
        country=details.country,
        tax_number=details.tax_number,
        is_tax_subject=details.is_tax_subject,
    )
    if details.logo is not None:
        logo_validate(details.logo)
    seller = Seller(
        business_name=details.business_name.strip(),
        address=details.address.strip(),
        post_code=details.post_code.strip(),
        city=details.city.strip(),
        country=country,
        tax_number=tax_number,
        is_tax_subject=details.is_tax_subject,
        email=details.email,
        primary_colour=colour_validate(details.primary_colour),
        invoice_footer=details.invoice_footer,
        business_registration_number=details.company_number.strip(),
        iban=iban_validate(details.iban),
        bic=bic_validate(details.bic),
        invoice_note=details.invoice_note,
        payment_terms=details.payment_terms,
        invoice_number_start=details.invoice_number_start,
        approval_required=approval_required,
        vies_valid=vies_valid,
        status=SellerStatus.PENDING,
    )
    if details.logo is not None:
        seller.logo = details.logo
    _full_clean(seller)
    with transaction.atomic():
        seller.save()
        if admin_user is not None:
            SellerUser.objects.create(user=admin_user, seller=seller, role=SellerRole.ADMIN)
        audit_record(action="seller.onboarded", actor=actor or admin_user, seller_id=seller.pk)
        seller_entity_hook().entity_create_requested(seller_id=seller.pk)
    logger.info("seller %s onboarded, entity requested", seller.pk)
    return seller


def seller_signup(*, username: str, password: str, details: SellerDetails) -> Seller:
    """A seller signs up: its admin user and the seller, written together or not at all.

    Its EU VAT number must be valid by format and, unless VIES cannot be reached (then the
    seller's ``vies_valid`` stays unknown for the operator who approves it), known to VIES.
    With SELLER_APPROVAL_REQUIRED an operator approves it once its entity exists.
    """
    password_validate(password=password, username=username, email=details.email)
    country, tax_number = seller_tax_identity_validate(
        country=details.country,
        tax_number=details.tax_number,
        is_tax_subject=details.is_tax_subject,
    )
    vies_valid = seller_tax_number_vies_check(country=country, tax_number=tax_number)
    with transaction.atomic():
        user = user_create(username=username, email=details.email, password=password)
        return seller_onboard(
            details=details,
            admin_user=user,
            approval_required=settings.SELLER_APPROVAL_REQUIRED,
            vies_valid=vies_valid,
        )


def seller_tax_number_vies_check(*, country: str, tax_number: str) -> bool | None:
    """VIES's word on an EU VAT number (compact, valid by format): True, or None when VIES
    cannot be asked or the number is not an EU VAT number; a number VIES does not know is
    refused, naming the field."""
    if not tax_number or not tax_number_country(tax_number):
        return None
    valid = seller_entity_hook().tax_number_vies_valid(country=country, tax_number=tax_number)
    if valid is False:
        raise ApplicationError(
            f"VIES does not know '{tax_number}' as a registered VAT number: check the number, "
            "or leave it out if you are not registered for VAT.",
            field="tax_number",
        )
    return valid


def seller_approve(*, seller: Seller, actor: User) -> Seller:
    """An operator approves a seller awaiting approval: it becomes active (audited)."""
    with transaction.atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        if locked.status != SellerStatus.AWAITING_APPROVAL:
            raise ApplicationError(
                f"Only a seller awaiting approval can be approved; this one is "
                f"{locked.get_status_display().lower()}.",
                field="status",
                http_status=409,
            )
        locked.status = SellerStatus.ACTIVE
        locked.approved_at = timezone.now()
        locked.rejection_reason = ""
        locked.save(update_fields=["status", "approved_at", "rejection_reason", "updated_at"])
        audit_record(action="seller.approved", actor=actor, seller_id=locked.pk)
        seller_entity_hook().seller_activated(seller_id=locked.pk)
    logger.info("seller %s approved", locked.pk)
    return locked


def seller_reject(*, seller: Seller, actor: User, reason: str) -> Seller:
    """An operator rejects a seller awaiting approval, with a reason the seller reads."""
    reason = reason.strip()
    if not reason:
        raise ApplicationError("Give the seller a reason for the rejection.", field="reason")
    if len(reason) > 500:
        raise ApplicationError("Keep the reason under 500 characters.", field="reason")
    with transaction.atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        if locked.status != SellerStatus.AWAITING_APPROVAL:
            raise ApplicationError(
                f"Only a seller awaiting approval can be rejected; this one is "
                f"{locked.get_status_display().lower()}.",
                field="status",
                http_status=409,
            )
        locked.status = SellerStatus.REJECTED
        locked.rejection_reason = reason
        locked.save(update_fields=["status", "rejection_reason", "updated_at"])
        audit_record(
            action="seller.rejected", actor=actor, seller_id=locked.pk, detail={"reason": reason}
        )
    logger.info("seller %s rejected", locked.pk)
    return locked


def seller_entity_request(*, seller: Seller, actor: User | None = None) -> Seller:
    """Ask again for the entity of a draft or failed seller (admin action)."""
    with transaction.atomic():
        locked = Seller.objects.select_for_update().get(pk=seller.pk)
        if locked.entity_id:
            return locked
        if locked.status not in (SellerStatus.DRAFT, SellerStatus.FAILED):
            return locked
        # A rejected request would be replayed as the same rejection; a new key asks anew.
        locked.entity_request_id = new_entity_request_id()
        locked.status = SellerStatus.PENDING
        locked.entity_error = ""
        locked.save(update_fields=["entity_request_id", "status", "entity_error", "updated_at"])
        audit_record(action="seller.entity_requested", actor=actor, seller_id=locked.pk)
        seller_entity_hook().entity_create_requested(seller_id=locked.pk)
    return locked


# What the entity holds of a seller: a change to one of these is sent to Space Invoices.
ENTITY_FIELDS = frozenset(
    {
        "business_name", "address", "post_code", "city", "tax_number", "is_tax_subject",
        "email", "primary_colour", "invoice_footer", "logo", "business_registration_number",
        "iban", "bic", "invoice_note", "payment_terms", "invoice_number_start",
    }
)  # fmt: skip


def seller_details_save(*, seller: Seller, changed: Iterable[str], actor: User | None) -> Seller:
    """Save an operator's edit of a seller; what its entity holds follows after commit.

    The country is not among the editable details once the entity exists: it fixes the
    entity's currency and tax rules.
    """
    _, seller.tax_number = seller_tax_identity_validate(
        country=str(seller.country),
        tax_number=seller.tax_number,
        is_tax_subject=seller.is_tax_subject,
    )
    changed = sorted(changed)
    with transaction.atomic():
        kept = (
            Seller.objects.select_for_update(no_key=True)
            .values(*DISTANCE_SALES_FIELDS)
            .get(pk=seller.pk)
        )
        for field, value in kept.items():
            setattr(seller, field, value)
        if TAX_SETUP_FIELDS.intersection(changed):
            seller.distance_sales_bound_year = seller.distance_sales_bound_eur = None
        seller.save()
        audit_record(
            action="seller.updated", actor=actor, seller_id=seller.pk, detail={"fields": changed}
        )
        if seller.entity_id and ENTITY_FIELDS.intersection(changed):
            seller_entity_hook().entity_update_requested(seller_id=seller.pk)
    return seller


DAC7_FIELDS = tuple(field.name for field in fields(Dac7Details))


def seller_dac7_details(seller: Seller) -> Dac7Details:
    return Dac7Details(
        seller_kind=seller.seller_kind,
        first_name=seller.first_name,
        last_name=seller.last_name,
        date_of_birth=seller.date_of_birth,
        tin=seller.tin,
        tin_country=str(seller.tin_country),
        business_registration_number=seller.business_registration_number,
        iban=seller.iban,
    )


def seller_dac7_details_update(
    *, seller: Seller, changes: dict[str, Any], actor: User | None
) -> Seller:
    """Change what DAC7 reporting collects of a seller (the fields given), checked as a whole;
    nothing is written when one field is wrong. Space Invoices holds none of it."""
    details = seller_dac7_details_validate(
        replace(seller_dac7_details(seller), **changes), today=timezone.localdate()
    )
    for name, value in asdict(details).items():
        setattr(seller, name, value)
    with transaction.atomic():
        seller.save(update_fields=[*DAC7_FIELDS, "updated_at"])
        audit_record(
            action="seller.dac7_updated",
            actor=actor,
            seller_id=seller.pk,
            detail={"fields": sorted(changes)},
        )
    return seller


def _full_clean(seller: Seller) -> None:
    try:
        seller.full_clean(exclude=["entity_id", "status"])
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise ApplicationError(f"{field}: {' '.join(messages)}", field=field) from None
