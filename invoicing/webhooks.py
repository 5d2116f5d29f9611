"""Space Invoices webhooks: verifying a delivery, applying its event to the mirror, registering.

A delivery is a ``POST`` of the raw body ``{"event", "data", "timestamp"}`` with
``X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body with our secret>``. Only the body
is signed, so the event and its time are read from it, never from the headers. The delivery id
(``X-Webhook-Delivery``, the same on every retry) is not signed either: a captured delivery sent
again under another id must still be within the timestamp tolerance, and applying an event a
second time changes nothing.

An accepted delivery is recorded (``WebhookDelivery``, unique by delivery id) in the transaction
that applies it, so a replay or a concurrent duplicate is refused and has no effect. A refused
delivery leaves nothing behind.
"""

import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, get_args

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from invoicing import gateway, hooks
from invoicing.client import SpaceInvoicesClient, Webhook, WebhookCreate, WebhookEvent
from invoicing.models import (
    Document,
    DocumentKind,
    DocumentState,
    DocumentTax,
    WebhookDelivery,
    WebhookOutcome,
    document_ref_parse,
)
from invoicing.services import document_treatment
from marketplace.models import MONEY_MAX, TAX_RATE_MAX

logger = logging.getLogger(__name__)

EVENTS = frozenset(get_args(WebhookEvent))
# The events the mirror acts on (what register_webhook subscribes to); others are acknowledged.
# invoice.created is only recorded: an invoice made in the seller's dashboard makes its seller
# due for reconciliation (which finds it unknown to us).
HANDLED_EVENTS: tuple[WebhookEvent, ...] = (
    "invoice.created",
    "invoice.paid",
    "invoice.voided",
    "credit_note.created",
    "credit_note.voided",
)
SIGNATURE_HEADER = "X-Webhook-Signature"
DELIVERY_HEADER = "X-Webhook-Delivery"
_DELIVERY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class WebhookRejected(Exception):
    """A refused delivery: answered with ``status`` and ``{"detail", "field", "code"}``."""

    def __init__(self, status: int, message: str, *, code: str, field: str | None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.field = field


@dataclass(frozen=True)
class Delivery:
    """A delivery whose signature and timestamp were verified."""

    delivery_id: str
    event: str
    data: dict[str, Any]
    sent_at: datetime  # the signed timestamp: when the event happened


Outcome = tuple[WebhookOutcome, Document | None]


# Verifying


def webhook_verify(*, body: bytes, headers: Mapping[str, str], now: datetime) -> Delivery:
    """The delivery in ``body`` if our secret signed it recently; else ``WebhookRejected``."""
    secret = settings.SPACE_INVOICES_WEBHOOK_SECRET
    if not secret:  # an empty key would let anyone sign
        raise WebhookRejected(
            503, "Webhooks are not configured here.", code="webhook_secret_unset", field=None
        )
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise WebhookRejected(
            401, "The delivery is not signed.", code="signature_missing", field=SIGNATURE_HEADER
        )
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise WebhookRejected(
            401,
            "The signature does not match the body.",
            code="signature_invalid",
            field=SIGNATURE_HEADER,
        )
    payload = _json_object(body)
    sent_at = _signed_time(payload, now)
    event = payload.get("event")
    if not isinstance(event, str) or event not in EVENTS:
        raise _invalid("event", f"Unknown event; known: {', '.join(sorted(EVENTS))}.")
    delivery_id = headers.get(DELIVERY_HEADER, "")
    if not _DELIVERY_ID.fullmatch(delivery_id):
        raise _invalid(DELIVERY_HEADER, "Missing or not a delivery id.")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise _invalid("data", "Must be an object.")
    _string(data, "id")
    return Delivery(delivery_id=delivery_id, event=event, data=data, sent_at=sent_at)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        raise _invalid("body", "Must be a JSON object.", code="malformed_body")
    return payload


def _signed_time(payload: Mapping[str, Any], now: datetime) -> datetime:
    sent_at = _aware_datetime(payload.get("timestamp"))
    if sent_at is None:
        raise _invalid("timestamp", "Must be an ISO 8601 time with its offset.")
    if abs(now - sent_at) > timedelta(seconds=settings.SPACE_INVOICES_WEBHOOK_TOLERANCE):
        raise WebhookRejected(
            401,
            "The delivery's timestamp is too far from our clock.",
            code="stale_timestamp",
            field="timestamp",
        )
    return sent_at


# Applying


def webhook_delivery_process(*, delivery: Delivery) -> WebhookDelivery:
    """Record the delivery and apply its event to the mirror, all or nothing.

    The unique delivery id refuses a replay (403) before anything is done; of two concurrent
    copies, the second waits for the first's insert and is refused once it commits.
    """
    apply = _HANDLERS.get(delivery.event, _acknowledged)
    with transaction.atomic():
        try:
            record = WebhookDelivery.objects.create(
                delivery_id=delivery.delivery_id,
                event=delivery.event,
                remote_id=delivery.data["id"],
                entity_id=str(delivery.data.get("entity_id") or "")[:40],
                outcome=WebhookOutcome.IGNORED,
                received_at=timezone.now(),
            )
        except IntegrityError:
            raise WebhookRejected(
                403,
                "This delivery was received before.",
                code="replayed_delivery",
                field=DELIVERY_HEADER,
            ) from None
        record.outcome, document = apply(delivery)
        record.save(update_fields=["outcome"])
    logger.info(
        "webhook %s delivery %s document %s (mirror %s): %s",
        delivery.event,
        delivery.delivery_id,
        record.remote_id,
        document.pk if document is not None else "-",
        record.outcome,
    )
    return record


def _acknowledged(delivery: Delivery) -> Outcome:
    return WebhookOutcome.IGNORED, None


def _invoice_paid(delivery: Delivery) -> Outcome:
    invoice = _mirror_locked(delivery, DocumentKind.INVOICE)
    if invoice is None:
        return WebhookOutcome.IGNORED, None
    if invoice.paid_at is not None:
        return WebhookOutcome.UNCHANGED, invoice
    invoice.paid_at = delivery.sent_at
    invoice.save(update_fields=["paid_at"])
    _audit(invoice, "document.paid_by_webhook", delivery)
    return WebhookOutcome.APPLIED, invoice


def _document_voided(delivery: Delivery) -> Outcome:
    kind = DocumentKind.INVOICE if delivery.event == "invoice.voided" else DocumentKind.CREDIT_NOTE
    document = _mirror_locked(delivery, kind)
    if document is None:
        return WebhookOutcome.IGNORED, None
    if document.voided_at is not None:
        return WebhookOutcome.UNCHANGED, document
    document.voided_at = (
        delivery.sent_at
        if delivery.data.get("voided_at") is None
        else _time(delivery.data, "voided_at")
    )
    document.save(update_fields=["voided_at"])
    hooks.document_voided(document=document)
    _audit(document, "document.voided_by_webhook", delivery)
    return WebhookOutcome.APPLIED, document


def _credit_note_created(delivery: Delivery) -> Outcome:
    """Mirror a credit note made outside our system (the seller's dashboard), once.

    Our own credit notes are mirrored from the create answer: known by their id or by the
    ``document_ref`` we put in their metadata (the answer may not be mirrored yet).
    """
    data = delivery.data
    entity_id = _string(data, "entity_id")
    ours = Q(remote_id=data["id"])
    ref = document_ref_parse(str(_metadata(data).get("document_ref", "")))
    if ref is not None and ref[0] == DocumentKind.CREDIT_NOTE:
        ours |= Q(pk=ref[1])
    if Document.objects.filter(ours, kind=DocumentKind.CREDIT_NOTE, entity_id=entity_id).exists():
        return WebhookOutcome.UNCHANGED, None
    invoice = _credited_invoice(data, entity_id)
    if invoice is None or data.get("is_draft") is True:  # a draft has no number yet
        return WebhookOutcome.IGNORED, None
    try:
        with transaction.atomic():
            credit_note = Document.objects.create(
                order_id=invoice.order_id,
                seller_id=invoice.seller_id,
                entity_id=entity_id,
                kind=DocumentKind.CREDIT_NOTE,
                state=DocumentState.ISSUED,
                credited_invoice=invoice,
                issued_at=timezone.now(),
                # The credit note corrects the invoice's sale: same tax treatment and parties.
                **document_treatment(invoice),
                seller_country=invoice.seller_country,
                buyer_country=invoice.buyer_country,
                **_document_fields(data),
            )
    except IntegrityError:
        if not Document.objects.filter(remote_id=data["id"]).exists():
            raise
        return WebhookOutcome.UNCHANGED, None  # mirrored meanwhile by a concurrent delivery
    DocumentTax.objects.bulk_create(_taxes(credit_note, data))
    hooks.document_issued(document=credit_note)
    _audit(credit_note, "credit_note.mirrored_from_webhook", delivery)
    return WebhookOutcome.APPLIED, credit_note


_HANDLERS: dict[str, Callable[[Delivery], Outcome]] = {
    "invoice.paid": _invoice_paid,
    "invoice.voided": _document_voided,
    "credit_note.voided": _document_voided,
    "credit_note.created": _credit_note_created,
}


def _mirror_locked(delivery: Delivery, kind: str) -> Document | None:
    """Our issued mirror of the document, locked, if the document's entity is its seller's."""
    entity_id = _string(delivery.data, "entity_id")
    return (
        Document.objects.select_for_update(of=("self",))
        .filter(
            remote_id=delivery.data["id"],
            entity_id=entity_id,
            seller__entity_id=entity_id,
            kind=kind,
            state=DocumentState.ISSUED,
        )
        .first()
    )


def _credited_invoice(data: Mapping[str, Any], entity_id: str) -> Document | None:
    """The issued invoice of this entity that the credit note names (link, metadata, reference)."""
    linked = data.get("linked_documents")
    named = [
        *(linked if isinstance(linked, list) else []),
        _metadata(data).get("credited_invoice_id"),
        data.get("reference"),
    ]
    return (
        Document.objects.filter(
            kind=DocumentKind.INVOICE,
            state=DocumentState.ISSUED,
            entity_id=entity_id,
            seller__entity_id=entity_id,
            remote_id__in=[name for name in named if isinstance(name, str) and name],
        )
        .order_by("pk")
        .first()
    )


def _document_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    total_net = _money(data, "total")
    total_gross = _money(data, "total_with_tax")
    if abs(total_gross - total_net) > MONEY_MAX:
        raise _out_of_range("data.total_with_tax", MONEY_MAX)
    return {
        "remote_id": data["id"],
        "number": _string(data, "number"),
        "shareable_id": _string(data, "shareable_id", required=False),
        "date": _date(data, "date"),
        "date_due": _date(data, "date_due", required=False),
        "currency": _string(data, "currency_code", max_length=3),
        "total_net": total_net,
        "total_tax": total_gross - total_net,
        "total_gross": total_gross,
    }


def _taxes(document: Document, data: Mapping[str, Any]) -> list[DocumentTax]:
    taxes = data.get("taxes", [])
    if not isinstance(taxes, list):
        raise _invalid("data.taxes", "Must be a list.")
    rows = []
    for index, tax in enumerate(taxes):
        if not isinstance(tax, dict):
            raise _invalid(f"data.taxes[{index}]", "Must be an object.")
        amounts = {
            name: _money(tax, name, path=f"taxes[{index}]", maximum=maximum)
            for name, maximum in (
                ("rate", TAX_RATE_MAX),
                ("base", MONEY_MAX),
                ("amount", MONEY_MAX),
            )
        }
        rows.append(DocumentTax(document=document, **amounts))
    return rows


def _audit(document: Document, action: str, delivery: Delivery) -> None:
    audit_record(
        action=action,
        actor=None,
        seller_id=document.seller_id,
        order_id=document.order_id,
        document_id=document.pk,
        detail={
            "event": delivery.event,
            "delivery_id": delivery.delivery_id,
            "remote_id": document.remote_id,
        },
    )


# Registering


def webhook_register(*, url: str, client: SpaceInvoicesClient | None = None) -> Webhook:
    """Register ``url`` for the events the mirror acts on, signed with our secret."""
    secret = settings.SPACE_INVOICES_WEBHOOK_SECRET
    if not secret:
        raise ApplicationError(
            "Set SPACE_INVOICES_WEBHOOK_SECRET first.", field="SPACE_INVOICES_WEBHOOK_SECRET"
        )
    client = client or gateway.space_invoices_client()
    webhook = client.webhook_create(
        payload=WebhookCreate(url=url, events=list(HANDLED_EVENTS), secret=secret),
        request_id=f"mkt-webhook-{uuid.uuid4().hex}",
    )
    audit_record(action="webhook.registered", detail={"webhook_id": webhook["id"]})
    logger.info("webhook %s registered for %s", webhook["id"], ", ".join(webhook["events"]))
    return webhook


# Reading the body's fields: a missing or malformed one is a 400 naming it


def _invalid(field: str, message: str, *, code: str = "invalid") -> WebhookRejected:
    return WebhookRejected(400, message, code=code, field=field)


def _metadata(data: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = data.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _string(
    data: Mapping[str, Any], name: str, *, required: bool = True, max_length: int = 40
) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise _invalid(f"data.{name}", f"Must be a string of 1 to {max_length} characters.")
    return value


def _money(
    data: Mapping[str, Any], name: str, *, path: str = "", maximum: Decimal = MONEY_MAX
) -> Decimal:
    """A number that its column holds: at most ``maximum`` either side of zero."""
    field = f"data.{path}.{name}" if path else f"data.{name}"
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise _invalid(field, "Must be a number.")
    amount = Decimal(value)
    if abs(amount) > maximum:
        raise _out_of_range(field, maximum)
    return amount


def _out_of_range(field: str, maximum: Decimal) -> WebhookRejected:
    return _invalid(field, f"Must be between -{maximum} and {maximum}.", code="out_of_range")


def _date(data: Mapping[str, Any], name: str, *, required: bool = True) -> date | None:
    value = data.get(name)
    if value is None and not required:
        return None
    try:
        if isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise _invalid(f"data.{name}", "Must be a date (YYYY-MM-DD).")


def _time(data: Mapping[str, Any], name: str) -> datetime:
    moment = _aware_datetime(data.get(name))
    if moment is None:
        raise _invalid(f"data.{name}", "Must be an ISO 8601 time with its offset.")
    return moment


def _aware_datetime(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None
