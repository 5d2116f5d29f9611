"""Seller onboarding and the seller's Space Invoices entity."""

import logging
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from invoicing import gateway
from invoicing.client import EntityCreate, SpaceInvoicesClient, SpaceInvoicesError, Transient
from invoicing.services import documents_release_for_seller
from marketplace.errors import ApplicationError
from sellers.models import (
    Seller,
    SellerRole,
    SellerStatus,
    SellerUser,
    new_entity_request_id,
)
from sellers.validation import country_code_validate, tax_number_normalize

logger = logging.getLogger(__name__)

INVOICE_NUMBER_FORMAT = "{yyyy}-{nnnnn}"
CREDIT_NOTE_NUMBER_FORMAT = "CN-{yyyy}-{nnnnn}"


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


def seller_onboard(*, details: SellerDetails, admin_user: User | None = None) -> Seller:
    """Write the seller (pending) and, after commit, request its entity."""
    country = country_code_validate(details.country)
    tax_number = tax_number_normalize(details.tax_number, country=country)
    if details.is_tax_subject and not tax_number:
        raise ApplicationError("A tax subject needs a tax number.", field="tax_number")
    seller = Seller(
        business_name=details.business_name.strip(),
        address=details.address.strip(),
        post_code=details.post_code.strip(),
        city=details.city.strip(),
        country=country,
        tax_number=tax_number,
        is_tax_subject=details.is_tax_subject,
        email=details.email,
        primary_colour=details.primary_colour,
        invoice_footer=details.invoice_footer,
        status=SellerStatus.PENDING,
    )
    if details.logo is not None:
        seller.logo = details.logo
    _full_clean(seller)
    with transaction.atomic():
        seller.save()
        if admin_user is not None:
            SellerUser.objects.create(user=admin_user, seller=seller, role=SellerRole.ADMIN)
        _enqueue_entity_creation(seller.pk)
    logger.info("seller %s onboarded, entity requested", seller.pk)
    return seller


def seller_entity_request(*, seller: Seller) -> Seller:
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
        _enqueue_entity_creation(locked.pk)
    return locked


def seller_entity_create(*, seller_id: int, client: SpaceInvoicesClient | None = None) -> Seller:
    """Create the seller's entity (idempotent by the seller's request id) and activate it.

    Transient failures propagate for the task to retry; a rejection marks the seller failed.
    """
    seller = Seller.objects.get(pk=seller_id)
    if seller.entity_id or seller.status != SellerStatus.PENDING:
        return seller
    client = client or gateway.space_invoices_client()
    try:
        entity = client.entity_create(
            payload=seller_entity_payload(seller), request_id=seller.entity_request_id
        )
    except Transient:
        raise
    except SpaceInvoicesError as error:  # rejected, unauthorized, not found: no retry helps
        seller_entity_mark_failed(seller_id=seller.pk, reason=str(error))
        return Seller.objects.get(pk=seller.pk)
    Seller.objects.filter(pk=seller.pk, entity_id__isnull=True).update(
        entity_id=entity["id"], status=SellerStatus.ACTIVE, entity_error=""
    )
    logger.info("seller %s active with entity %s", seller.pk, entity["id"])
    seller = Seller.objects.get(pk=seller.pk)
    documents_release_for_seller(seller=seller)
    return seller


def seller_entity_mark_failed(*, seller_id: int, reason: str) -> None:
    Seller.objects.filter(pk=seller_id, entity_id__isnull=True).update(
        status=SellerStatus.FAILED, entity_error=reason
    )
    logger.warning("seller %s entity creation failed", seller_id)


def seller_entity_payload(seller: Seller) -> EntityCreate:
    payload: EntityCreate = {
        "name": seller.business_name,
        "address": seller.address,
        "post_code": seller.post_code,
        "city": seller.city,
        "country_code": str(seller.country),
        "is_tax_subject": seller.is_tax_subject,
        "email": seller.email,
        "settings": {
            "primary_color": seller.primary_colour,
            "document_footer": seller.invoice_footer,
            "has_logo": bool(seller.logo),
            "number_formats": {
                "invoice": INVOICE_NUMBER_FORMAT,
                "credit_note": CREDIT_NOTE_NUMBER_FORMAT,
            },
        },
        "metadata": {"seller_id": str(seller.pk)},
    }
    if seller.tax_number:
        payload["tax_number"] = seller.tax_number
    return payload


def _enqueue_entity_creation(seller_id: int) -> None:
    from sellers.tasks import create_seller_entity

    transaction.on_commit(lambda: create_seller_entity.delay(seller_id))


def _full_clean(seller: Seller) -> None:
    try:
        seller.full_clean(exclude=["entity_id", "status"])
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise ApplicationError(f"{field}: {' '.join(messages)}", field=field) from None
