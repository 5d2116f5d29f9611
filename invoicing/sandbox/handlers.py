"""The API operations. Each takes a :class:`Call` (authenticated account and key, open
transaction, route values, query string, JSON body, the time) and returns ``(status, body)``
(a JSON value, :class:`Encoded` JSON, or :class:`Binary` for a PDF) or raises ``ApiError``.
Writes run inside ``Store.write()``, reads inside ``Store.read()``. Webhook events are appended
to ``Call.events`` and sent only after the transaction commits.

Entity context: the ``x-entity-id`` header names the entity (404 if it is not one of the
account's); it may be left out when the account has exactly one entity, otherwise the answer is
400 ``entity_required``. With an entity key (``ek_``) the header may be left out; naming another
entity is 403 ``forbidden``, and so are account-level calls (creating, listing or changing
entities, webhooks), except reading its own entity. Documents and records of another entity are
404.

Request bodies are validated by the wire models the client builds them from
(:mod:`invoicing.client.wire`). Lists for every resource take the parameters of :mod:`.query`:
``/entities``, ``/invoices``, ``/credit-notes``, ``/payments``, ``/customers``, ``/taxes``,
``/items``, ``/entities/users``,
``/entities/api-keys``, ``/webhooks`` and ``/sandbox/outbox``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

from invoicing.client import wire
from invoicing.client.wire import EInvoiceFormat
from invoicing.sandbox import validation
from invoicing.sandbox.accounts import Account, entity_key_new, key_digest
from invoicing.sandbox.documents import (
    DOCUMENT_NAMES,
    ID_PREFIXES,
    DocumentType,
    customer_insert,
    customer_snapshot,
    document_create,
    document_finalize,
    document_update,
    document_void,
    payment_add,
)
from invoicing.sandbox.einvoice import (
    EInvoiceUnavailable,
    documents_numbers,
    e_invoice,
    file_name,
)
from invoicing.sandbox.entities import entity_create, entity_patch
from invoicing.sandbox.errors import ApiError, Issues, not_found
from invoicing.sandbox.ids import new_id, random_hex, timestamp
from invoicing.sandbox.query import list_page, parse_list_params
from invoicing.sandbox.store import Row, Session
from invoicing.sandbox.vies import transaction_type_check

Reply = tuple[int, Any]

MAX_EMAIL_RECIPIENTS = 4
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_TITLES: dict[DocumentType, str] = {"invoice": "Invoice", "credit_note": "Credit note"}


@dataclass(frozen=True)
class Binary:
    """A non-JSON answer body (a PDF)."""

    content: bytes
    mimetype: str
    filename: str


@dataclass(frozen=True)
class Encoded:
    """A JSON answer body already encoded (the text just stored), sent as it is."""

    text: str


@dataclass(frozen=True)
class Call:
    account: Account
    session: Session
    args: Mapping[str, str]
    query: Mapping[str, str]
    entity_id: str | None
    body: Mapping[str, Any]
    now: dt.datetime
    key_entity_id: str | None = None
    vies_available: bool = True
    events: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def stamp(self) -> str:
        return timestamp(self.now)


Handler = Callable[[Call], Reply]


# Entities


def entities_list(call: Call) -> Reply:
    _account_level(call)
    params = parse_list_params(call.query)
    return 200, list_page(call.session.entity_list(call.account.id), params)


def entities_create(call: Call) -> Reply:
    _account_level(call)
    entity = entity_create(call.body, account=call.account, entity_id=new_id("ent"), now=call.stamp)
    call.session.entity_insert(entity)
    return 201, entity


def entities_get(call: Call) -> Reply:
    entity_id = call.args["entity_id"]
    if call.key_entity_id not in (None, entity_id):
        raise _forbidden_entity(call)
    return 200, _account_entity(call, entity_id)


def entities_update(call: Call) -> Reply:
    _account_level(call)
    entity = _account_entity(call, call.args["entity_id"])
    patched = entity_patch(entity, call.body, account=call.account, now=call.stamp)
    call.session.entity_update(patched)
    return 200, patched


def entities_logo(call: Call) -> Reply:
    """``PUT /entities/{id}/logo``: keep the entity's logo (a PNG or JPEG, checked by its
    signature) for its documents; ``settings.has_logo`` turns true."""
    _account_level(call)
    entity = _account_entity(call, call.args["entity_id"])
    sent = validation.parsed(wire.EntityLogo, call.body)
    issues = Issues()
    try:
        image = base64.b64decode(sent.data, validate=True)
    except binascii.Error:
        image = b""
        issues.add(("data",), "is not base64")
    if image and not image.startswith(_IMAGE_SIGNATURES[sent.content_type]):
        issues.add(("data",), f"is not a {sent.content_type} image")
    issues.raise_if_any()
    logo_id = f"logo_{entity['id'].removeprefix('ent_')}"
    record = {
        "id": logo_id,
        "entity_id": entity["id"],
        "content_type": sent.content_type,
        "data": sent.data,
    }
    if call.session.record_get("logo", call.account.id, logo_id, entity_id=entity["id"]) is None:
        call.session.record_insert("logo", call.account.id, record)
    else:
        call.session.record_update("logo", record)
    entity["settings"] = {**entity["settings"], "has_logo": True}
    entity["updated_at"] = call.stamp
    call.session.entity_update(entity)
    return 200, entity


_IMAGE_SIGNATURES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def entity_logo(call: Call, entity: Mapping[str, Any]) -> bytes | None:
    """The entity's logo image, when it has one."""
    if not entity["settings"].get("has_logo"):
        return None
    logo_id = f"logo_{entity['id'].removeprefix('ent_')}"
    record = call.session.record_get("logo", entity["account_id"], logo_id, entity_id=entity["id"])
    return base64.b64decode(record["data"]) if record else None


# Documents


def documents_list(document_type: DocumentType, call: Call) -> Reply:
    entity = _context_entity(call)
    params = parse_list_params(call.query)
    return 200, list_page(call.session.document_list(entity["id"], document_type), params)


def documents_create(document_type: DocumentType, call: Call) -> Reply:
    entity = _context_entity(call)
    document, text = document_create(
        call.session,
        entity=entity,
        document_type=document_type,
        data=call.body,
        document_id=new_id(ID_PREFIXES[document_type]),
        shareable_id=random_hex(),
        today=call.now.date(),
        now=call.stamp,
        vies_available=call.vies_available,
    )
    call.events.append((f"{document_type}.created", document))
    if document["payments"]:
        for payment in document["payments"]:
            call.events.append(("payment.received", payment))
        if document_type == "invoice" and document["paid_in_full"]:
            call.events.append(("invoice.paid", document))
    return 201, Encoded(text)


def documents_get(document_type: DocumentType, call: Call) -> Reply:
    return 200, _document(call, _context_entity(call), document_type)


def invoices_update(call: Call) -> Reply:
    entity = _context_entity(call)
    document = _document(call, entity, "invoice")
    document_update(
        call.session,
        entity=entity,
        document=document,
        data=call.body,
        now=call.stamp,
        vies_available=call.vies_available,
    )
    call.session.document_update(document)
    return 200, document


def documents_void(document_type: DocumentType, call: Call) -> Reply:
    document = _document(call, _context_entity(call), document_type)
    document_void(document, call.body, call.stamp)
    call.session.document_update(document)
    call.events.append((f"{document_type}.voided", document))
    return 200, document


def documents_finalize(document_type: DocumentType, call: Call) -> Reply:
    entity = _context_entity(call)
    document = _document(call, entity, document_type)
    validation.parsed(wire.DocumentFinalize, call.body)
    document_finalize(call.session, entity, document_type, document, call.stamp)
    call.session.document_update(document)
    return 200, document


def documents_pdf(document_type: DocumentType, call: Call) -> Reply:
    entity = _context_entity(call)
    document = _document(call, entity, document_type)
    name = f"{document_type.replace('_', '-')}-{document['number'] or document['id']}.pdf"
    # Imported here: fpdf takes about half a second to import, which only PDF calls need pay.
    from invoicing.sandbox.pdf import document_pdf

    pdf = document_pdf(document, document_type, entity, logo=entity_logo(call, entity))
    return 200, Binary(pdf, "application/pdf", name)


def invoices_render(call: Call) -> Reply:
    """``POST /invoices/render``: the PDF of the invoice the body describes, marked as a
    preview, with the number the next invoice would get; nothing is kept or numbered."""
    entity = _context_entity(call)
    document, _ = document_create(
        call.session,
        entity=entity,
        document_type="invoice",
        data=call.body,
        document_id=new_id(ID_PREFIXES["invoice"]),
        shareable_id="",
        today=call.now.date(),
        now=call.stamp,
        vies_available=call.vies_available,
        preview=True,
    )
    from invoicing.sandbox.pdf import document_pdf

    pdf = document_pdf(document, "invoice", entity, logo=entity_logo(call, entity), preview=True)
    return 200, Binary(pdf, "application/pdf", "invoice-preview.pdf")


def documents_e_invoice(document_type: DocumentType, call: Call) -> Reply:
    """The document's e-invoice in the format of the path (see :mod:`.einvoice`)."""
    entity = _context_entity(call)
    document = _document(call, entity, document_type)
    e_format = cast(EInvoiceFormat, call.args["e_format"])
    preceding = documents_numbers(
        call.session.document_get(entity["id"], "invoice", linked_id)
        for linked_id in document.get("linked_documents") or ()
    )
    try:
        content = e_invoice(document, document_type, entity, e_format, preceding_numbers=preceding)
    except EInvoiceUnavailable as error:
        raise ApiError(409, "document_draft", str(error)) from None
    name = file_name(document, document_type, e_format)
    return 200, Binary(content, "application/xml", name)


def document_send(call: Call) -> Reply:
    entity = _context_entity(call)
    document_type, document = _any_document(call, entity, call.args["document_id"])
    sent = validation.parsed(wire.DocumentSend, call.body)
    _emails(sent.to, "to", maximum=1)
    message = _message_send(call, entity, sent, document_type, document)
    return 200, {"status": "sent", "message_id": message["id"], **message}


def email_send(call: Call) -> Reply:
    """``POST /email/send``: to one to four addresses, with a document's PDF if it names one."""
    entity = _context_entity(call)
    sent = validation.parsed(wire.EmailSend, call.body)
    _emails(sent.to, "to", maximum=MAX_EMAIL_RECIPIENTS)
    document_type, document = (None, None)
    if sent.document_id is not None:
        document_type, document = _any_document(call, entity, sent.document_id)
    message = _message_send(call, entity, sent, document_type, document)
    share = f"/share/{document['shareable_id']}" if document else None
    return 200, {
        "message_id": message["id"],
        "status": "sent",
        "to": message["to"],
        "subject": message["subject"],
        "shareable_link": share,
    }


def _message_send(
    call: Call,
    entity: Mapping[str, Any],
    sent: wire.DocumentSend,
    document_type: DocumentType | None,
    document: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Put the message in the outbox (``/sandbox/outbox``); a sent invoice's webhook fires."""
    if document is not None and document["is_draft"]:
        raise ApiError(409, "document_is_draft", f"{document['id']} is a draft; finalize it first")
    if document_type is not None and document is not None:
        subject = f"{_TITLES[document_type]} {document['number']} from {entity['name']}"
    else:
        subject = f"Message from {entity['name']}"
    message = {
        "id": new_id("msg"),
        "entity_id": entity["id"],
        "type": "document" if document else "email",
        "document_id": document["id"] if document else None,
        "document_number": document["number"] if document else None,
        "to": sent.to,
        "subject": sent.subject or subject,
        "body_text": sent.body_text,
        "attach_pdf": bool(document) and sent.attach_pdf is not False,
        "attach_eslog": bool(sent.attach_eslog),
        "delivered": not sent.sandbox_skip_delivery,
        "sent_at": call.stamp,
    }
    if isinstance(sent, wire.EmailSend):
        message |= {"locale": sent.locale, "language": sent.language}
    call.session.record_insert("message", call.account.id, message)
    if document_type == "invoice":
        call.events.append(("invoice.sent", document))
    return message


# Payments


def payments_create(call: Call) -> Reply:
    """A payment on the document its reference names; ``invoice_id`` with ``credit_note_id``
    (type ``credit_note``) pays the invoice with the credit note."""
    entity = _context_entity(call)
    sent = validation.parsed(wire.PaymentCreate, call.body)
    references = sent.model_dump(
        include={"invoice_id", "credit_note_id", "advance_invoice_id", "document_id"},
        exclude_none=True,
    )
    document_type, document = _payment_target(call, entity, sent, references)
    was_paid = document["paid_in_full"]
    payment = payment_add(
        call.session,
        entity=entity,
        document=document,
        sent=sent,
        references={f"{document_type}_id": document["id"], **references},
        today=call.now.date(),
        now=call.stamp,
    )
    call.events.append(("payment.received", payment))
    if document_type == "invoice" and document["paid_in_full"] and not was_paid:
        call.events.append(("invoice.paid", document))
    return 201, payment


def _payment_target(
    call: Call, entity: Mapping[str, Any], sent: wire.PaymentCreate, references: dict[str, str]
) -> tuple[DocumentType, dict[str, Any]]:
    """The document a payment is for, from its reference fields."""
    if sent.type == "credit_note" and references.keys() == {"invoice_id", "credit_note_id"}:
        _document(call, entity, "credit_note", references["credit_note_id"])
        return "invoice", _document(call, entity, "invoice", references["invoice_id"])
    if len(references) != 1:
        validation.fail(
            ("invoice_id",),
            "send exactly one of invoice_id, credit_note_id, advance_invoice_id and document_id"
            " (a credit_note payment: invoice_id and credit_note_id)",
        )
    [(field_name, document_id)] = references.items()
    if field_name == "invoice_id":
        return "invoice", _document(call, entity, "invoice", document_id)
    if field_name == "credit_note_id":
        return "credit_note", _document(call, entity, "credit_note", document_id)
    if field_name == "advance_invoice_id":
        raise not_found("advance invoice", document_id)
    return _any_document(call, entity, document_id)


# Records of an entity: payments, customers, taxes, users, API keys


def records_list(kind: str, call: Call) -> Reply:
    entity = _context_entity(call)
    params = parse_list_params(call.query)
    rows = call.session.record_list(kind, call.account.id, entity_id=entity["id"])
    return 200, list_page(rows, params)


def records_get(kind: str, id_arg: str, call: Call) -> Reply:
    entity = _context_entity(call)
    record_id = call.args[id_arg]
    found = call.session.record_get(kind, call.account.id, record_id, entity_id=entity["id"])
    if found is None:
        raise not_found(kind.replace("_", " "), record_id)
    return 200, found


def records_delete(kind: str, id_arg: str, call: Call) -> Reply:
    entity = _context_entity(call)
    record_id = call.args[id_arg]
    found = call.session.record_get(kind, call.account.id, record_id, entity_id=entity["id"])
    if found is None:
        raise not_found(kind.replace("_", " "), record_id)
    call.session.record_delete(kind, call.account.id, record_id)
    return 204, None


def customers_create(call: Call) -> Reply:
    entity = _context_entity(call)
    sent = validation.parsed(wire.CustomerCreate, call.body)
    issues = Issues()
    customer = customer_snapshot(sent, (), issues)
    issues.raise_if_any()
    return 201, customer_insert(
        call.session, entity, {**customer, "metadata": sent.metadata or {}}, call.stamp
    )


def taxes_create(call: Call) -> Reply:
    entity = _context_entity(call)
    sent = validation.parsed(wire.TaxCreate, call.body)
    for index, entry in enumerate(sent.tax_rates):
        if not 0 <= entry.rate <= 100:
            validation.fail(("tax_rates", index, "rate"), "must be from 0 to 100")
    tax = {
        "id": new_id("tax"),
        "entity_id": entity["id"],
        "name": sent.name,
        "tax_rates": [entry.model_dump() for entry in sent.tax_rates],
        "is_default": bool(sent.is_default),
        "classification": sent.classification,
        "created_at": call.stamp,
    }
    call.session.record_insert("tax", call.account.id, tax)
    return 201, tax


def users_create(call: Call) -> Reply:
    """A user of the entity: ``role`` defaults to editor; an invitation is sent unless
    ``send_invite`` is false."""
    entity = _context_entity(call)
    sent = validation.parsed(wire.EntityUserCreate, call.body)
    [email] = _emails(sent.email, "email", maximum=1)
    user_id = new_id("usr")
    user = {
        "id": user_id,
        "user_id": user_id,
        "entity_id": entity["id"],
        "email": email,
        "name": None,
        "role": sent.role,
        "invited": sent.send_invite,
        "invited_by_user_id": None,
        "created_at": call.stamp,
    }
    try:
        call.session.record_insert(
            "user", call.account.id, user, lookup=f"{entity['id']}:{email.casefold()}"
        )
    except sqlite3.IntegrityError:
        raise ApiError(409, "conflict", f"{email} is already a user of this entity") from None
    if sent.send_invite:
        message = {
            "id": new_id("msg"),
            "entity_id": entity["id"],
            "type": "invitation",
            "document_id": None,
            "document_number": None,
            "to": email,
            "subject": f"You are invited to {entity['name']} as {sent.role}",
            "body_text": None,
            "attach_pdf": False,
            "delivered": True,
            "sent_at": call.stamp,
        }
        call.session.record_insert("message", call.account.id, message)
    return 201, user


def api_keys_create(call: Call) -> Reply:
    """An entity key, shown once; without ``ttl`` it does not expire (``expires_at`` null)."""
    entity = _context_entity(call)
    sent = validation.parsed(wire.EntityApiKeyCreate, call.body)
    key = entity_key_new(call.account.environment)
    expires = call.now + dt.timedelta(seconds=sent.ttl) if sent.ttl is not None else None
    record = {
        "id": new_id("key"),
        "entity_id": entity["id"],
        "name": sent.name,
        "environment": call.account.environment,
        "key_prefix": key[: len("ek_sandbox_") + 4],
        "prefix_hint": f"{key[: len('ek_sandbox_') + 4]}...{key[-4:]}",
        "expires_at": timestamp(expires) if expires else None,
        "created_at": call.stamp,
        "updated_at": call.stamp,
    }
    call.session.record_insert("api_key", call.account.id, record, lookup=key_digest(key))
    return 201, {**record, "key": key}


# Account level: webhooks and the sandbox's outbox


def webhooks_create(call: Call) -> Reply:
    _account_level(call)
    sent = validation.parsed(wire.WebhookCreate, call.body)
    webhook = {
        "id": new_id("wh"),
        "url": sent.url,
        "events": sent.events,
        "secret": sent.secret or f"whsec_{random_hex()}{random_hex()[:8]}",
        "created_at": call.stamp,
    }
    call.session.record_insert("webhook", call.account.id, webhook)
    return 201, webhook


def webhooks_list(call: Call) -> Reply:
    _account_level(call)
    params = parse_list_params(call.query)
    rows = [
        Row(row.seq, {k: v for k, v in row.body.items() if k != "secret"})
        for row in call.session.record_list("webhook", call.account.id)
    ]
    return 200, list_page(rows, params)


def webhooks_delete(call: Call) -> Reply:
    _account_level(call)
    if not call.session.record_delete("webhook", call.account.id, call.args["webhook_id"]):
        raise not_found("webhook", call.args["webhook_id"])
    return 204, None


def outbox_list(call: Call) -> Reply:
    params = parse_list_params(call.query)
    rows = call.session.record_list_all("message", call.account.id)
    if call.key_entity_id:
        rows = [row for row in rows if row.body["entity_id"] == call.key_entity_id]
    return 200, list_page(rows, params)


def transaction_type(call: Call) -> Reply:
    return 200, transaction_type_check(call.body, vies_available=call.vies_available)


HANDLERS: dict[str, Handler] = {
    "entity_list": entities_list,
    "entity_create": entities_create,
    "entity_logo": entities_logo,
    "invoice_render": invoices_render,
    "entity_get": entities_get,
    "entity_update": entities_update,
    "invoice_update": invoices_update,
    "document_send": document_send,
    "email_send": email_send,
    "item_list": partial(records_list, "item"),
    "item_get": partial(records_get, "item", "item_id"),
    "payment_create": payments_create,
    "payment_list": partial(records_list, "payment"),
    "payment_get": partial(records_get, "payment", "payment_id"),
    "customer_create": customers_create,
    "customer_list": partial(records_list, "customer"),
    "customer_get": partial(records_get, "customer", "customer_id"),
    "tax_create": taxes_create,
    "tax_list": partial(records_list, "tax"),
    "tax_get": partial(records_get, "tax", "tax_id"),
    "user_create": users_create,
    "user_list": partial(records_list, "user"),
    "user_delete": partial(records_delete, "user", "user_id"),
    "api_key_create": api_keys_create,
    "api_key_list": partial(records_list, "api_key"),
    "api_key_delete": partial(records_delete, "api_key", "key_id"),
    "webhook_create": webhooks_create,
    "webhook_list": webhooks_list,
    "webhook_delete": webhooks_delete,
    "outbox_list": outbox_list,
    "transaction_type_check": transaction_type,
}


def _document_handlers(document_type: DocumentType) -> dict[str, Handler]:
    return {
        f"{document_type}_list": partial(documents_list, document_type),
        f"{document_type}_create": partial(documents_create, document_type),
        f"{document_type}_get": partial(documents_get, document_type),
        f"{document_type}_void": partial(documents_void, document_type),
        f"{document_type}_finalize": partial(documents_finalize, document_type),
        f"{document_type}_pdf": partial(documents_pdf, document_type),
        f"{document_type}_e_invoice": partial(documents_e_invoice, document_type),
    }


HANDLERS |= _document_handlers("invoice") | _document_handlers("credit_note")


def _account_level(call: Call) -> None:
    if call.key_entity_id is not None:
        raise ApiError(403, "forbidden", "an entity key cannot make account-level calls")


def _forbidden_entity(call: Call) -> ApiError:
    return ApiError(403, "forbidden", f"this entity key reaches entity {call.key_entity_id} only")


def _account_entity(call: Call, entity_id: str) -> dict[str, Any]:
    entity = call.session.entity_get(call.account.id, entity_id)
    if entity is None:
        raise not_found("entity", entity_id)
    return entity


def _context_entity(call: Call) -> dict[str, Any]:
    if call.key_entity_id is not None:
        if call.entity_id not in (None, call.key_entity_id):
            raise _forbidden_entity(call)
        return _account_entity(call, call.key_entity_id)
    if call.entity_id:
        return _account_entity(call, call.entity_id)
    entities = call.session.entity_list(call.account.id, limit=2)
    if len(entities) != 1:
        raise ApiError(
            400,
            "entity_required",
            "send the x-entity-id header: the account has "
            + ("no entities yet" if not entities else "several entities"),
        )
    return entities[0].body


def _document(
    call: Call,
    entity: Mapping[str, Any],
    document_type: DocumentType,
    document_id: str | None = None,
) -> dict[str, Any]:
    document_id = document_id or call.args["document_id"]
    document = call.session.document_get(entity["id"], document_type, document_id)
    if document is None:
        raise not_found(DOCUMENT_NAMES[document_type], document_id)
    return document


def _any_document(
    call: Call, entity: Mapping[str, Any], document_id: str
) -> tuple[DocumentType, dict[str, Any]]:
    for document_type in ("invoice", "credit_note"):
        document = call.session.document_get(entity["id"], document_type, document_id)
        if document is not None:
            return document_type, document
    raise not_found("document", document_id)


def _emails(value: str, key: str, *, maximum: int) -> list[str]:
    """The comma-separated addresses of ``value`` (at least one, at most ``maximum``)."""
    addresses = [address.strip() for address in value.split(",")]
    if not 1 <= len(addresses) <= maximum or not all(map(_EMAIL.fullmatch, addresses)):
        many = "an e-mail address" if maximum == 1 else f"1 to {maximum} comma-separated addresses"
        validation.fail((key,), f"must be {many}")
    return addresses
