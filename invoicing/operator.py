"""The marketplace operator's own Space Invoices entity.

Created once from the OPERATOR_* settings (``manage.py operator_entity``, or on the first
monthly commission run), with its own number series: ``MP-{yyyy}-{nnnnn}`` commission invoices
and ``MPCN-{yyyy}-{nnnnn}`` their credit notes. Only the operator's own documents are written in
it (invoicing.commission_invoices); a seller's sale is always written in the seller's entity
(services._document_create takes the seller's entity id, never this one).
"""

import logging

from django.conf import settings
from django.db import transaction

from core.audit import audit_record
from core.enqueue import enqueue_on_commit
from core.errors import ApplicationError
from invoicing import gateway
from invoicing.client import EntityCreate, EntitySettings, SpaceInvoicesClient
from invoicing.client.wire import NumberFormats
from invoicing.models import Document, DocumentPurpose, DocumentState, OperatorEntity

logger = logging.getLogger(__name__)

# What the operator entity needs; each one names its setting when missing.
REQUIRED_SETTINGS = ("OPERATOR_NAME", "OPERATOR_COUNTRY")


def operator_settings_check() -> None:
    """Refuse, naming the setting, while the operator's legal name or country is not set."""
    for name in REQUIRED_SETTINGS:
        if not str(getattr(settings, name)).strip():
            raise ApplicationError(
                f"{name} is not set: the operator entity needs its legal name and country.",
                field=name,
                code="operator_not_configured",
            )


def operator_entity_payload() -> EntityCreate:
    payload = EntityCreate(
        name=settings.OPERATOR_NAME,
        address=settings.OPERATOR_ADDRESS or None,
        post_code=settings.OPERATOR_POST_CODE or None,
        city=settings.OPERATOR_CITY or None,
        country_code=settings.OPERATOR_COUNTRY,
        is_tax_subject=True,
        settings=EntitySettings(
            number_formats=NumberFormats(
                invoice=settings.OPERATOR_INVOICE_NUMBER_FORMAT,
                credit_note=settings.OPERATOR_CREDIT_NOTE_NUMBER_FORMAT,
            ),
        ),
        metadata={"role": "marketplace_operator"},
    )
    if settings.OPERATOR_VAT_NUMBER:
        payload.tax_number = settings.OPERATOR_VAT_NUMBER
    if settings.OPERATOR_EMAIL:
        payload.email = settings.OPERATOR_EMAIL
    return payload


def operator_entity_ensure(*, client: SpaceInvoicesClient | None = None) -> OperatorEntity:
    """The operator entity, created in Space Invoices if it is not yet (idempotent by the row's
    fixed request id); commission documents that waited for it are then issued.

    A transient failure propagates (the caller retries); the row keeps its request id.
    """
    operator_settings_check()
    with transaction.atomic():
        operator, _ = OperatorEntity.objects.select_for_update().get_or_create(
            singleton=True,
            defaults={
                "name": settings.OPERATOR_NAME,
                "country": settings.OPERATOR_COUNTRY,
                "vat_number": settings.OPERATOR_VAT_NUMBER,
            },
        )
    if operator.entity_id:
        return operator
    client = client or gateway.space_invoices_client()
    entity = client.entity_create(payload=operator_entity_payload(), request_id=operator.request_id)
    with transaction.atomic():
        OperatorEntity.objects.filter(pk=operator.pk, entity_id="").update(
            entity_id=entity["id"], last_error=""
        )
        audit_record(action="operator.entity_created", detail={"entity_id": entity["id"]})
        waiting = list(
            Document.objects.select_for_update()
            .filter(purpose=DocumentPurpose.COMMISSION, state=DocumentState.PENDING, entity_id="")
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Document.objects.filter(pk__in=waiting).update(entity_id=entity["id"])
        from invoicing import tasks

        for document_id in waiting:
            enqueue_on_commit(tasks.issue_document, document_id)
    logger.info("operator entity %s created", entity["id"])
    return OperatorEntity.objects.get(pk=operator.pk)


def operator_entity_id() -> str:
    """The operator entity's id; blank while it is not created (documents then wait for it)."""
    return (
        OperatorEntity.objects.filter(singleton=True).values_list("entity_id", flat=True).first()
        or ""
    )
