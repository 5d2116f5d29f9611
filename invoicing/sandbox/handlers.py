"""The API operations. Each takes a :class:`Call` (authenticated account, open transaction,
route values, query string, JSON body) and returns ``(status, JSON body)`` or raises
``ApiError``. Writes run inside ``Store.write()``, reads inside ``Store.read()``.

Entity context for documents: the ``x-entity-id`` header names the entity (404 if it is not one
of the account's); it may be left out when the account has exactly one entity, otherwise the
answer is 400 ``entity_required``. Documents of another entity are 404.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from invoicing.sandbox.accounts import Account
from invoicing.sandbox.documents import ID_PREFIXES, DocumentType, document_create
from invoicing.sandbox.entities import entity_create, entity_patch
from invoicing.sandbox.errors import ApiError, not_found
from invoicing.sandbox.ids import new_id, random_hex, timestamp, utc_now
from invoicing.sandbox.query import list_page, parse_list_params
from invoicing.sandbox.store import Session

Reply = tuple[int, Any]

_DOCUMENT_NAMES: dict[DocumentType, str] = {"invoice": "invoice", "credit_note": "credit note"}


@dataclass(frozen=True)
class Call:
    account: Account
    session: Session
    args: Mapping[str, str]
    query: Mapping[str, str]
    entity_id: str | None
    body: Mapping[str, Any]


Handler = Callable[[Call], Reply]


def entities_list(call: Call) -> Reply:
    params = parse_list_params(call.query)
    return 200, list_page(call.session.entity_list(call.account.id), params)


def entities_create(call: Call) -> Reply:
    entity = entity_create(
        call.body, account=call.account, entity_id=new_id("ent"), now=timestamp(utc_now())
    )
    call.session.entity_insert(entity)
    return 201, entity


def entities_get(call: Call) -> Reply:
    return 200, _account_entity(call, call.args["entity_id"])


def entities_update(call: Call) -> Reply:
    entity = _account_entity(call, call.args["entity_id"])
    patched = entity_patch(entity, call.body, account=call.account, now=timestamp(utc_now()))
    call.session.entity_update(patched)
    return 200, patched


def documents_list(document_type: DocumentType, call: Call) -> Reply:
    entity = _context_entity(call)
    params = parse_list_params(call.query)
    return 200, list_page(call.session.document_list(entity["id"], document_type), params)


def documents_create(document_type: DocumentType, call: Call) -> Reply:
    entity = _context_entity(call)
    moment = utc_now()
    document = document_create(
        call.session,
        entity=entity,
        document_type=document_type,
        data=call.body,
        document_id=new_id(ID_PREFIXES[document_type]),
        shareable_id=random_hex(),
        today=moment.date(),
        now=timestamp(moment),
    )
    return 201, document


def documents_get(document_type: DocumentType, call: Call) -> Reply:
    entity = _context_entity(call)
    document_id = call.args["document_id"]
    document = call.session.document_get(entity["id"], document_type, document_id)
    if document is None:
        raise not_found(_DOCUMENT_NAMES[document_type], document_id)
    return 200, document


HANDLERS: dict[str, Handler] = {
    "entity_list": entities_list,
    "entity_create": entities_create,
    "entity_get": entities_get,
    "entity_update": entities_update,
    "invoice_list": partial(documents_list, "invoice"),
    "invoice_create": partial(documents_create, "invoice"),
    "invoice_get": partial(documents_get, "invoice"),
    "credit_note_list": partial(documents_list, "credit_note"),
    "credit_note_create": partial(documents_create, "credit_note"),
    "credit_note_get": partial(documents_get, "credit_note"),
}


def _account_entity(call: Call, entity_id: str) -> dict[str, Any]:
    entity = call.session.entity_get(call.account.id, entity_id)
    if entity is None:
        raise not_found("entity", entity_id)
    return entity


def _context_entity(call: Call) -> dict[str, Any]:
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
