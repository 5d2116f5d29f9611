"""The marketplace operator's own Space Invoices entity.

Created once from the OPERATOR_* settings (``manage.py operator_entity``, or on the first
monthly commission run), with its own number series: ``MP-{yyyy}-{nnnnn}`` commission invoices
and ``MPCN-{yyyy}-{nnnnn}`` their credit notes. Only the operator's own documents are written in
it (invoicing.commission_invoices); a seller's sale is always written in the seller's entity
(services._document_create takes the seller's entity id, never this one).

Space Invoices numbers per entity and document type, and deemed-supplier sales (Article 14a,
the operator's sales to buyers) are numbered ``{yyyy}-{nnnnn}`` (credit notes
``CN-{yyyy}-{nnnnn}``) apart from the commission series: so the same legal operator (same
OPERATOR_* identity) has a second entity for them, created with the first.
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


def operator_entity_payload(*, deemed_sales: bool = False) -> EntityCreate:
    """The operator entity's create request; `deemed_sales`: its second entity's, for the
    deemed-supplier sales, with their own number series."""
    invoice_format, credit_note_format, role = (
        (
            settings.DEEMED_SALES_INVOICE_NUMBER_FORMAT,
            settings.DEEMED_SALES_CREDIT_NOTE_NUMBER_FORMAT,
            "marketplace_operator_deemed_sales",
        )
        if deemed_sales
        else (
            settings.OPERATOR_INVOICE_NUMBER_FORMAT,
            settings.OPERATOR_CREDIT_NOTE_NUMBER_FORMAT,
            "marketplace_operator",
        )
    )
    payload = EntityCreate(
        name=settings.OPERATOR_NAME,
        address=settings.OPERATOR_ADDRESS or None,
        post_code=settings.OPERATOR_POST_CODE or None,
        city=settings.OPERATOR_CITY or None,
        country_code=settings.OPERATOR_COUNTRY,
        is_tax_subject=True,
        settings=EntitySettings(
            number_formats=NumberFormats(invoice=invoice_format, credit_note=credit_note_format),
        ),
        metadata={"role": role},
    )
    if settings.OPERATOR_VAT_NUMBER:
        payload.tax_number = settings.OPERATOR_VAT_NUMBER
    if settings.OPERATOR_EMAIL:
        payload.email = settings.OPERATOR_EMAIL
    return payload


def operator_entity_ensure(*, client: SpaceInvoicesClient | None = None) -> OperatorEntity:
    """The operator entity and its deemed-sales entity, each created in Space Invoices if it is
    not yet (idempotent by the row's fixed request ids); the documents that waited for them
    (commission documents, deemed-supplier sales) are then issued.

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
    if operator.entity_id and operator.deemed_entity_id:
        return operator
    client = client or gateway.space_invoices_client()
    if not operator.entity_id:
        _commission_entity_create(operator, client)
    if not operator.deemed_entity_id:
        _deemed_entity_create(operator, client)
    return OperatorEntity.objects.get(pk=operator.pk)


def _commission_entity_create(operator: OperatorEntity, client: SpaceInvoicesClient) -> None:
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


def _deemed_entity_create(operator: OperatorEntity, client: SpaceInvoicesClient) -> None:
    entity = client.entity_create(
        payload=operator_entity_payload(deemed_sales=True), request_id=operator.deemed_request_id
    )
    with transaction.atomic():
        OperatorEntity.objects.filter(pk=operator.pk, deemed_entity_id="").update(
            deemed_entity_id=entity["id"]
        )
        audit_record(action="operator.deemed_entity_created", detail={"entity_id": entity["id"]})
        waiting = list(
            Document.objects.select_for_update()
            .filter(
                state=DocumentState.PENDING,
                entity_id="",
                purpose=DocumentPurpose.SALE,
                order__deemed_supply__gt="",
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        Document.objects.filter(pk__in=waiting).update(entity_id=entity["id"])
        from invoicing import tasks

        for document_id in waiting:
            enqueue_on_commit(tasks.issue_document, document_id)
    logger.info("operator deemed-sales entity %s created", entity["id"])


def deemed_sales_entity_id() -> str:
    """The operator's deemed-sales entity's id; blank while it is not created."""
    return (
        OperatorEntity.objects.filter(singleton=True)
        .values_list("deemed_entity_id", flat=True)
        .first()
        or ""
    )


def operator_entity_id() -> str:
    """The operator entity's id; blank while it is not created (documents then wait for it)."""
    return (
        OperatorEntity.objects.filter(singleton=True).values_list("entity_id", flat=True).first()
        or ""
    )
