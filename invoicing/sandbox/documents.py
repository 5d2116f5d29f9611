"""Invoices and credit notes: validating a body, computing it, numbering it, and what happens to
a document afterwards (payments, void, finalization).

The body is validated by the wire models (``wire.InvoiceCreate``, ``wire.DocumentCreate``): every
field of the reference is accepted, unknown fields anywhere are a 422 naming their path. Only
``items`` (at least one) is required. ``date`` is a date or an ISO date-time (the document keeps
its UTC day). Defaults: ``date`` today (UTC), ``date_due`` = date + the entity's
``settings.default_invoice_due_days``, ``date_service`` = date, ``currency_code`` the entity's,
``calculation_mode`` ``b2b_standard`` (see :mod:`.calculation` for ``b2c_gross_discount``, where
a line may carry at most one charged tax). Each line needs ``name``, ``quantity`` (> 0) and either
``price`` (net unit) or ``gross_price``; a ``type: "separator"`` line is a heading with a name and
nothing else, outside every total. ``save_item`` stores a line as an ``/items`` record (its
``item_id``). A line tax gives ``rate``, ``tax_id`` (a ``/taxes``
record of the entity: its rate valid on the document date, the latest ``valid_from`` not after
it) or ``classification`` (the entity's default tax with that classification, else its first),
and may set ``reverse_charge``. ``customer`` is inline (``save_customer: true`` also stores it
as a ``/customers`` record) or ``customer_id``; either way the document keeps a snapshot, as it
does of ``issuer``: the entity's details, with the fields of an ``issuer`` sent on the document
instead. ``note`` and ``payment_terms`` left out take the entity's
``settings.default_<type>_note`` and ``default_<type>_payment_terms``. Fields the sandbox gives no
behaviour (``footer``, ``signature``, e-invoicing and fiscal blocks, a line's
``classification``, ...) are stored and echoed as sent.

``transaction_type``: ``domestic`` without a customer country; otherwise what
``/transaction-type/check`` answers for the entity and the customer (:func:`.vies.classify`): the
same country (Great Britain and Northern Ireland ``XI`` count as one) is ``domestic``; an
intra-EU sale (both in the EU VAT area for goods: the member states and ``XI``) is
``intra_eu_b2b`` only when VIES confirms the customer's ``tax_number`` (and the customer is not
``is_end_consumer`` and the issuer ``is_tax_subject``). Reverse charge is never applied
automatically: it is set per line tax.

Numbers come from the entity's ``settings.number_formats`` (see :mod:`.numbering`), allocated in
the same transaction as the insert; drafts (``is_draft: true``) get ``number: null`` and use no
number until ``POST /invoices/{id}/finalize``, which numbers them by their date.

Payments, inline (one without ``amount`` pays what the others leave) or ``POST /payments``
(``invoice_id``, ``credit_note_id`` or ``document_id``; a ``credit_note`` payment names the
invoice and the credit note), get a ``pmt_`` id, are kept on the document and as
``/payments`` records, and update ``total_paid``, ``total_due`` and ``paid_in_full``; paying more
than is due is a 422, paying a draft or a voided document a 409. ``POST .../void {reason}`` sets
``voided_at`` and ``void_reason`` once (a second void is a 409); a voided document keeps its
number.

``PATCH /invoices/{id}`` (``wire.InvoiceUpdate``) replaces the fields it sends and stores
``change_reason``; ``items`` replace the lines and the totals are recomputed as on create, the
payments already made kept. The number, ``is_draft``, the payments, the calculation mode and the
fiscal blocks never change; a voided invoice is a 409.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from invoicing.client import wire
from invoicing.sandbox import validation
from invoicing.sandbox.calculation import (
    HUNDRED,
    CalculationMode,
    Discount,
    Line,
    LineTotals,
    Tax,
    Totals,
    calculate,
    round_money,
)
from invoicing.sandbox.errors import ApiError, Issues, Path
from invoicing.sandbox.ids import new_id
from invoicing.sandbox.numbering import render_number, sequence_period
from invoicing.sandbox.reference import is_known_currency, minor_unit
from invoicing.sandbox.store import Session
from invoicing.sandbox.vies import classify

DocumentType = Literal["invoice", "credit_note"]

ID_PREFIXES: dict[DocumentType, str] = {"invoice": "inv", "credit_note": "cre"}
DOCUMENT_NAMES: dict[DocumentType, str] = {"invoice": "invoice", "credit_note": "credit note"}
BODIES: dict[DocumentType, type[wire.DocumentCreate]] = {
    "invoice": wire.InvoiceCreate,
    "credit_note": wire.DocumentCreate,
}

ZERO = Decimal(0)

# A document body as created or as patched (``PATCH /invoices/{id}``).
DocumentBody = wire.DocumentCreate | wire.InvoiceUpdate

_ISSUER_FIELDS = (
    "name",
    "address",
    "address_2",
    "post_code",
    "city",
    "country",
    "country_code",
    "tax_number",
    "email",
)
# Stored and echoed as sent (null when absent): the sandbox gives them no behaviour.
_STORED_FIELDS: set[str] = {
    "footer", "signature", "translations", "category_assignments",
    "e_invoicing", "xrechnung", "zugferd", "eslog", "furs", "fina", "pt",
}  # fmt: skip
_STORED_ITEM_FIELDS: set[str] = {
    "classification", "revenue_recognition", "translations", "financial_category_id"
}  # fmt: skip

# Set from a PATCH as sent (null when sent as null).
_UPDATED_FIELDS: set[str] = {
    "note", "reference", "tax_clause", "payment_terms", "footer", "signature", "translations",
    "category_assignments", "e_invoicing", "xrechnung", "zugferd", "eslog",
    "force_linked_documents", "change_reason",
}  # fmt: skip

# Resolves a line tax that names ``tax_id`` or ``classification`` to its rate.
TaxResolver = Callable[[wire.ItemTax, Path, Issues], Decimal | None]


@dataclass(frozen=True)
class _Item:
    """A line as sent; ``line`` is None for a separator (a heading: no price, no totals)."""

    sent: wire.DocumentItem
    line: Line | None
    tax_refs: tuple[dict[str, Any], ...]

    def answer(self, totals: LineTotals | None, item_id: str | None) -> dict[str, Any]:
        sent = self.sent
        answer = {
            "type": sent.type,
            "name": sent.name,
            "description": sent.description,
            "unit": sent.unit,
            "item_id": item_id,
            "save_item": sent.save_item,
            "metadata": sent.metadata or {},
            **sent.model_dump(include=_STORED_ITEM_FIELDS),
        }
        if self.line is None or totals is None:  # a separator
            return (
                answer
                | dict.fromkeys(("quantity", "price", "gross_price"))
                | {
                    "discounts": [],
                    "taxes": [],
                    "total_discount": ZERO,
                    "total": ZERO,
                    "total_with_tax": ZERO,
                }
            )
        return answer | {
            "quantity": self.line.quantity,
            "price": totals.price,
            "gross_price": self.line.gross_price,
            "discounts": [{"value": d.value, "type": d.type} for d in self.line.discounts],
            "taxes": [
                {"rate": t.rate, **ref, "reverse_charge": t.reverse_charge}
                for t, ref in zip(self.line.taxes, self.tax_refs, strict=True)
            ],
            "total_discount": totals.total_discount,
            "total": totals.total,
            "total_with_tax": totals.total_with_tax,
        }


def document_create(
    session: Session,
    *,
    entity: Mapping[str, Any],
    document_type: DocumentType,
    data: Mapping[str, Any],
    document_id: str,
    shareable_id: str,
    today: dt.date,
    now: str,
    vies_available: bool,
    preview: bool = False,
) -> tuple[dict[str, Any], str]:
    """Validate, compute, number and insert a document; return its answer and its JSON text.

    Must run inside ``Store.write()`` so the number and the insert commit together. A
    ``preview`` (``POST /invoices/render``) writes nothing: it shows the number the next
    document would get, keeps no customer or item, and its JSON text is empty.
    """
    body = validation.parsed(BODIES[document_type], data)
    issues = Issues()
    date = wire.date_of(body.date) if body.date else today
    due_days = entity["settings"]["default_invoice_due_days"]
    date_due = dt.date.fromisoformat(body.date_due) if body.date_due else None
    date_due = date_due or date + dt.timedelta(days=due_days)
    if date_due < date:
        issues.add(("date_due",), "must not be before date")
    date_service = dt.date.fromisoformat(body.date_service) if body.date_service else date
    date_service_to = dt.date.fromisoformat(body.date_service_to) if body.date_service_to else None
    if date_service_to is not None and date_service_to < date_service:
        issues.add(("date_service_to",), "must not be before date_service")
    currency_code = _currency(body, entity, issues)
    mode: CalculationMode = body.calculation_mode or "b2b_standard"
    customer = _document_customer(session, body, entity, issues)
    issuer = _issuer(body.issuer, entity, issues)
    items = _items(body.items, issues, _tax_resolver(session, entity, date), mode)
    linked = _linked_documents(session, body, entity["id"], document_type, issues)
    issues.raise_if_any()
    assert currency_code is not None

    unit = minor_unit(currency_code)
    lines = [item.line for item in items if item.line is not None]
    totals = calculate(lines, [], currency_code, mode)
    payments = _payments(body.payments or [], date, totals.total_with_tax, unit)
    if payments:
        totals = calculate(lines, [p["amount"] for p in payments], currency_code, mode)
    _check_totals(totals, body.expected_total_with_tax, unit, issues)
    if payments and body.is_draft:
        issues.add(("payments",), "a draft cannot be paid; finalize it first")
    issues.raise_if_any()

    if preview and (payments or any(item.sent.save_item for item in items)):
        issues.add(("items",), "a preview records no payment and saves no item")
        issues.raise_if_any()
    save_customer = body.customer is not None and body.customer.save_customer and not preview
    if customer is not None and save_customer:
        customer = customer_insert(session, entity, customer, now)
    is_draft = bool(body.is_draft)
    if is_draft:
        number = None
    elif preview:
        number = _next_number(session, entity, document_type, date)
    else:
        number = _allocate_number(session, entity, document_type, date)
    line_totals = iter(totals.lines)
    document: dict[str, Any] = {
        "id": document_id,
        "entity_id": entity["id"],
        "number": number,
        "date": date.isoformat(),
        "date_due": date_due.isoformat(),
        "date_service": date_service.isoformat(),
        "date_service_to": date_service_to.isoformat() if date_service_to else None,
        "currency_code": currency_code,
        "calculation_mode": mode,
        "issuer": issuer,
        "customer_id": customer.get("id") if customer else None,
        "customer": customer,
        "items": [
            item.answer(
                next(line_totals) if item.line else None, _item_id(session, entity, item, now)
            )
            for item in items
        ],
        "total": totals.total,
        "total_with_tax": totals.total_with_tax,
        "total_discount": totals.total_discount,
        "taxes": [
            {"rate": g.rate, "base": g.base, "amount": g.amount, "reverse_charge": g.reverse_charge}
            for g in totals.taxes
        ],
        "total_paid": totals.total_paid,
        "total_due": totals.total_due,
        "paid_in_full": totals.paid_in_full,
        "payments": [],
        "is_draft": is_draft,
        "voided_at": None,
        "void_reason": None,
        "transaction_type": transaction_type(entity, customer, vies_available=vies_available),
        "shareable_id": shareable_id,
        "note": body.note
        if body.note is not None
        else _entity_default(entity, document_type, "note"),
        "payment_terms": (
            body.payment_terms
            if body.payment_terms is not None
            else _entity_default(entity, document_type, "payment_terms")
        ),
        "reference": body.reference,
        "tax_clause": body.tax_clause,
        "metadata": body.metadata or {},
        **body.model_dump(include=_STORED_FIELDS),
    }
    if linked is not None:
        document["linked_documents"] = linked
    if isinstance(body, wire.InvoiceCreate):
        document["force_linked_documents"] = bool(body.force_linked_documents)
    document["created_at"] = document["updated_at"] = now
    if preview:
        return document, ""
    for payment in payments:
        document["payments"].append(_payment_record(session, entity, document, payment, now))
    return document, session.document_insert(document_type, document)


def document_update(
    session: Session,
    *,
    entity: Mapping[str, Any],
    document: dict[str, Any],
    data: Mapping[str, Any],
    now: str,
    vies_available: bool,
) -> None:
    """Apply ``PATCH /invoices/{id}`` to ``document``: the fields sent replace the stored ones;
    ``items`` replace the lines and the totals are recomputed as on create (with the payments
    already made). The number, the payments and the calculation mode never change."""
    body = validation.parsed(wire.InvoiceUpdate, data)
    if document["voided_at"]:
        raise ApiError(409, "document_voided", f"{document['id']} is void")
    sent = body.model_fields_set
    issues = Issues()
    for key in sent & {"date", "date_due", "date_service", "date_service_to"}:
        value = getattr(body, key)
        if value is None and key != "date_service_to":
            issues.add((key,), "must not be null")
        else:
            document[key] = wire.date_of(value).isoformat() if value else None
    if document["date_due"] < document["date"]:
        issues.add(("date_due",), "must not be before date")
    service_to = document["date_service_to"]
    if service_to is not None and service_to < document["date_service"]:
        issues.add(("date_service_to",), "must not be before date_service")
    if "currency_code" in sent:
        document["currency_code"] = _currency(body, entity, issues)
    if sent & {"customer", "customer_id"}:
        customer = _document_customer(session, body, entity, issues)
        document["customer"] = customer
        document["customer_id"] = customer.get("id") if customer else None
        document["transaction_type"] = transaction_type(
            entity, customer, vies_available=vies_available
        )
    if "issuer" in sent:
        document["issuer"] = _issuer(body.issuer, entity, issues)
    if "linked_documents" in sent:
        document["linked_documents"] = _linked_documents(
            session, body, entity["id"], "invoice", issues
        )
    if "metadata" in sent:
        document["metadata"] = body.metadata or {}
    document |= body.model_dump(include=sent & _UPDATED_FIELDS)
    if body.items is not None:
        date = dt.date.fromisoformat(document["date"])
        items = _items(
            body.items, issues, _tax_resolver(session, entity, date), document["calculation_mode"]
        )
        issues.raise_if_any()
        _recompute(session, entity, document, items, body.expected_total_with_tax, now)
    elif body.expected_total_with_tax is not None:
        unit = minor_unit(document["currency_code"])
        if round_money(body.expected_total_with_tax, unit) != document["total_with_tax"]:
            issues.add(
                ("expected_total_with_tax",),
                f"is not the document's total_with_tax {document['total_with_tax']}",
            )
    issues.raise_if_any()
    if body.customer is not None and body.customer.save_customer:
        document["customer"] = customer_insert(session, entity, document["customer"], now)
        document["customer_id"] = document["customer"]["id"]
    document["updated_at"] = now


def _recompute(
    session: Session,
    entity: Mapping[str, Any],
    document: dict[str, Any],
    items: list[_Item],
    expected_total: Decimal | None,
    now: str,
) -> None:
    """Replace the lines with ``items`` and recompute the totals as on create."""
    currency_code = document["currency_code"]
    lines = [item.line for item in items if item.line is not None]
    paid = [payment["amount"] for payment in document["payments"]]
    totals = calculate(lines, paid, currency_code, document["calculation_mode"])
    issues = Issues()
    _check_totals(totals, expected_total, minor_unit(currency_code), issues)
    issues.raise_if_any()
    line_totals = iter(totals.lines)
    document["items"] = [
        item.answer(next(line_totals) if item.line else None, _item_id(session, entity, item, now))
        for item in items
    ]
    document |= {
        "total": totals.total,
        "total_with_tax": totals.total_with_tax,
        "total_discount": totals.total_discount,
        "taxes": [
            {"rate": g.rate, "base": g.base, "amount": g.amount, "reverse_charge": g.reverse_charge}
            for g in totals.taxes
        ],
        "total_paid": totals.total_paid,
        "total_due": totals.total_due,
        "paid_in_full": totals.paid_in_full,
    }


def customer_insert(
    session: Session, entity: Mapping[str, Any], customer: Mapping[str, Any], now: str
) -> dict[str, Any]:
    """Store a customer snapshot as a ``/customers`` record; return it with its ``id``."""
    record = {"id": new_id("cust"), "entity_id": entity["id"], **customer, "created_at": now}
    session.record_insert("customer", entity["account_id"], record)
    return record


def party_snapshot(party: wire.Party, path: Path, issues: Issues) -> dict[str, Any]:
    """A party (a document's customer or issuer, a ``/customers`` record) as stored: every
    field, the country resolved from ``country`` and/or ``country_code``."""
    snapshot = party.model_dump(exclude={"save_customer", "metadata"})
    country = validation.country(party, path, issues)
    snapshot["country_code"], snapshot["country"] = country or (None, None)
    snapshot["is_end_consumer"] = bool(party.is_end_consumer)
    return snapshot


def customer_snapshot(customer: wire.Party, path: Path, issues: Issues) -> dict[str, Any]:
    if not (customer.name or "").strip():
        issues.add((*path, "name"), "is required")
    return party_snapshot(customer, path, issues)


def payment_add(
    session: Session,
    *,
    entity: Mapping[str, Any],
    document: dict[str, Any],
    sent: wire.PaymentCreate,
    references: Mapping[str, str],
    today: dt.date,
    now: str,
) -> dict[str, Any]:
    """Record a ``POST /payments`` on ``document``; return the payment."""
    if document["voided_at"]:
        raise ApiError(409, "document_voided", f"{document['id']} is void and cannot be paid")
    if document["is_draft"]:
        raise ApiError(409, "document_is_draft", f"{document['id']} is a draft; finalize it first")
    payment = _payment(sent, today, round_money(sent.amount, minor_unit(document["currency_code"])))
    if payment["amount"] > document["total_due"]:
        issues = Issues()
        issues.add(("amount",), f"is more than the {document['total_due']} due")
        issues.raise_if_any()
    record = _payment_record(session, entity, document, payment | dict(references), now)
    document["payments"].append(record)
    document["total_paid"] += payment["amount"]
    document["total_due"] -= payment["amount"]
    document["paid_in_full"] = document["total_due"] <= 0
    document["updated_at"] = now
    session.document_update(document)
    return record


def document_void(document: dict[str, Any], data: Mapping[str, Any], now: str) -> None:
    reason = validation.parsed(wire.DocumentVoid, data).reason
    if not reason.strip():
        validation.fail(("reason",), "must not be empty")
    if document["voided_at"]:
        raise ApiError(
            409, "already_voided", f"{document['id']} was voided at {document['voided_at']}"
        )
    document["voided_at"] = document["updated_at"] = now
    document["void_reason"] = reason


def document_finalize(
    session: Session,
    entity: Mapping[str, Any],
    document_type: DocumentType,
    document: dict[str, Any],
    now: str,
) -> None:
    if not document["is_draft"]:
        raise ApiError(409, "not_a_draft", f"{document['id']} is already numbered")
    if document["voided_at"]:
        raise ApiError(409, "document_voided", f"{document['id']} is void")
    date = dt.date.fromisoformat(document["date"])
    document["number"] = _allocate_number(session, entity, document_type, date)
    document["is_draft"] = False
    document["updated_at"] = now


def _payment_record(
    session: Session,
    entity: Mapping[str, Any],
    document: Mapping[str, Any],
    payment: Mapping[str, Any],
    now: str,
) -> dict[str, Any]:
    record = {
        "id": new_id("pmt"),
        "entity_id": entity["id"],
        "document_id": document["id"],
        **payment,
        "currency_code": document["currency_code"],
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }
    session.record_insert("payment", entity["account_id"], record)
    return record


def _allocate_number(
    session: Session, entity: Mapping[str, Any], document_type: DocumentType, date: dt.date
) -> str:
    settings = entity["settings"]
    number_format = settings["number_formats"][document_type]
    start = settings["number_sequence_starts"].get(document_type) or 1
    period = sequence_period(number_format, date)
    value = session.sequence_next(entity["id"], document_type, period, start)
    return render_number(number_format, date, value)


def _next_number(
    session: Session, entity: Mapping[str, Any], document_type: DocumentType, date: dt.date
) -> str:
    """The number ``_allocate_number`` would give now, without taking it."""
    settings = entity["settings"]
    number_format = settings["number_formats"][document_type]
    start = settings["number_sequence_starts"].get(document_type) or 1
    period = sequence_period(number_format, date)
    value = session.sequence_peek(entity["id"], document_type, period, start)
    return render_number(number_format, date, value)


def _entity_default(entity: Mapping[str, Any], document_type: DocumentType, text: str) -> Any:
    """The entity's ``default_<type>_note`` / ``default_<type>_payment_terms``, if set."""
    return entity["settings"].get(f"default_{document_type}_{text}")


def transaction_type(
    issuer: Mapping[str, Any], customer: Mapping[str, Any] | None, *, vies_available: bool
) -> str:
    customer_country = customer.get("country_code") if customer else None
    if customer is None or not customer_country:
        return "domestic"
    return classify(
        issuer_country=issuer["country_code"],
        is_tax_subject=bool(issuer.get("is_tax_subject")),
        customer_country=customer_country,
        tax_number=customer.get("tax_number"),
        is_end_consumer=bool(customer.get("is_end_consumer")),
        vies_available=vies_available,
    ).transaction_type


def _check_totals(
    totals: Totals, expected_total: Decimal | None, unit: Decimal, issues: Issues
) -> None:
    for index, line in enumerate(totals.lines):
        if line.total < 0:
            issues.add(("items", index, "discounts"), "discounts exceed the line amount")
    if totals.total_paid > 0 and totals.total_due < 0:
        issues.add(("payments",), f"payments exceed total_with_tax {totals.total_with_tax}")
    if expected_total is not None:
        expected = round_money(expected_total, unit)
        if expected != totals.total_with_tax:
            issues.add(
                ("expected_total_with_tax",),
                f"is {expected} but the computed total_with_tax is {totals.total_with_tax}",
            )


def _currency(body: DocumentBody, entity: Mapping[str, Any], issues: Issues) -> str | None:
    value = body.currency_code
    if value is None:
        if entity.get("currency_code") is None:
            issues.add(("currency_code",), "is required: the entity has no default currency")
        return entity.get("currency_code")
    if not is_known_currency(value.upper()):
        issues.add(("currency_code",), f"unknown ISO 4217 currency {value!r}")
        return None
    return value.upper()


def _issuer(sent: wire.Party | None, entity: Mapping[str, Any], issues: Issues) -> dict[str, Any]:
    """The entity's details, with the fields of an ``issuer`` sent on the document instead."""
    issuer = {key: entity.get(key) for key in _ISSUER_FIELDS}
    if sent is None:
        return issuer
    override = party_snapshot(sent, ("issuer",), issues)
    given = sent.model_fields_set | ({"country"} if sent.country_code else set())
    given |= {"country_code"} if sent.country else set()
    return issuer | {key: value for key, value in override.items() if key in given}


def _document_customer(
    session: Session, body: DocumentBody, entity: Mapping[str, Any], issues: Issues
) -> dict[str, Any] | None:
    """The customer snapshot: the one sent, or the ``/customers`` record ``customer_id`` names."""
    if body.customer_id is not None:
        if body.customer is not None:
            issues.add(("customer_id",), "send either customer_id or customer, not both")
            return None
        found = session.record_get(
            "customer", entity["account_id"], body.customer_id, entity_id=entity["id"]
        )
        if found is None:
            issues.add(("customer_id",), f"no customer {body.customer_id!r} in this entity")
            return None
        return {
            key: value for key, value in found.items() if key not in ("entity_id", "created_at")
        }
    if body.customer is None:
        return None
    return customer_snapshot(body.customer, ("customer",), issues)


def _tax_resolver(session: Session, entity: Mapping[str, Any], date: dt.date) -> TaxResolver:
    def resolve(tax: wire.ItemTax, path: Path, issues: Issues) -> Decimal | None:
        taxes = [
            row.body
            for row in session.record_list("tax", entity["account_id"], entity_id=entity["id"])
        ]
        if tax.tax_id is not None:
            found = [t for t in taxes if t["id"] == tax.tax_id]
            if not found:
                issues.add((*path, "tax_id"), f"no tax {tax.tax_id!r} in this entity")
                return None
        else:
            found = sorted(
                (t for t in taxes if t["classification"] == tax.classification),
                key=lambda t: not t["is_default"],
            )
            if not found:
                issues.add(
                    (*path, "classification"),
                    f"no tax with classification {tax.classification!r} in this entity",
                )
                return None
        valid = [r for r in found[0]["tax_rates"] if (r["valid_from"] or "") <= date.isoformat()]
        if not valid:
            issues.add(path, f"tax {found[0]['id']} has no rate valid on {date.isoformat()}")
            return None
        return Decimal(max(valid, key=lambda r: r["valid_from"] or "")["rate"])

    return resolve


def _items(
    items: list[wire.DocumentItem], issues: Issues, resolve: TaxResolver, mode: CalculationMode
) -> list[_Item]:
    parsed = []
    for index, item in enumerate(items):
        path: Path = ("items", index)
        if not (item.name or "").strip():
            issues.add((*path, "name"), "is required")
        if item.type == "separator":
            _check_separator(item, path, issues)
            parsed.append(_Item(item, None, ()))
            continue
        taxes = _taxes(item, path, issues, resolve)
        charged = sum(1 for tax, _ in taxes or () if not tax.reverse_charge)
        if mode == "b2c_gross_discount" and charged > 1:
            issues.add((*path, "taxes"), "b2c_gross_discount allows one charged tax per line")
        line = _line(item, path, issues, taxes)
        if line is not None and taxes is not None:
            parsed.append(_Item(item, line, tuple(ref for _, ref in taxes)))
    return parsed


def _check_separator(item: wire.DocumentItem, path: Path, issues: Issues) -> None:
    """A separator is a heading: it carries no amount."""
    for key in ("price", "gross_price", "quantity", "taxes", "discounts"):
        if getattr(item, key):
            issues.add((*path, key), "a separator has no price, quantity, taxes or discounts")


def _line(
    item: wire.DocumentItem,
    path: Path,
    issues: Issues,
    taxes: list[tuple[Tax, dict[str, Any]]] | None,
) -> Line | None:
    quantity = item.quantity
    if quantity is None:
        issues.add((*path, "quantity"), "is required")
    elif quantity <= 0:
        issues.add((*path, "quantity"), "must be greater than 0")
    if (item.price is None) == (item.gross_price is None):
        issues.add((*path, "price"), "send either price (net) or gross_price")
    for key, value in (("price", item.price), ("gross_price", item.gross_price)):
        if value is not None and value < 0:
            issues.add((*path, key), "must not be negative")
    discounts = _discounts(item, path, issues)
    if quantity is None or quantity <= 0 or taxes is None or discounts is None:
        return None
    if (item.price is None) == (item.gross_price is None):
        return None
    return Line(quantity, item.price, item.gross_price, tuple(tax for tax, _ in taxes), discounts)


def _taxes(
    item: wire.DocumentItem, path: Path, issues: Issues, resolve: TaxResolver
) -> list[tuple[Tax, dict[str, Any]]] | None:
    """The line's taxes, each with the fields it was sent with besides its rate."""
    parsed: list[tuple[Tax, dict[str, Any]]] = []
    for index, tax in enumerate(item.taxes or ()):
        where: Path = (*path, "taxes", index)
        chosen = [
            key for key in ("rate", "tax_id", "classification") if getattr(tax, key) is not None
        ]
        if len(chosen) != 1:
            issues.add(where, "send exactly one of rate, tax_id and classification")
            continue
        ref = tax.model_dump(exclude_unset=True, exclude={"rate", "reverse_charge"})
        rate = tax.rate if chosen[0] == "rate" else resolve(tax, where, issues)
        if rate is not None and not 0 <= rate <= HUNDRED:
            issues.add((*where, "rate"), "must be from 0 to 100")
        elif rate is not None:
            parsed.append((Tax(rate, bool(tax.reverse_charge)), ref))
    return parsed if len(parsed) == len(item.taxes or ()) else None


def _discounts(item: wire.DocumentItem, path: Path, issues: Issues) -> tuple[Discount, ...] | None:
    parsed: list[Discount] = []
    for index, discount in enumerate(item.discounts or ()):
        kind = discount.type or "percent"
        if kind == "percent" and discount.value > HUNDRED:
            where: Path = (*path, "discounts", index, "value")
            issues.add(where, "a percent discount must be at most 100")
        else:
            parsed.append(Discount(discount.value, kind))
    return tuple(parsed) if len(parsed) == len(item.discounts or ()) else None


def _payments(
    payments: list[wire.DocumentPayment], date: dt.date, total: Decimal, unit: Decimal
) -> list[dict[str, Any]]:
    """The payments sent with the document; one without ``amount`` pays what the others leave."""
    given = sum((round_money(p.amount, unit) for p in payments if p.amount is not None), ZERO)
    return [
        _payment(p, date, round_money(p.amount, unit) if p.amount is not None else total - given)
        for p in payments
    ]


def _payment(
    payment: wire.DocumentPayment | wire.PaymentCreate, date: dt.date, amount: Decimal
) -> dict[str, Any]:
    return {
        "amount": amount,
        "type": payment.type,
        "date": (wire.date_of(payment.date) if payment.date else date).isoformat(),
        "tag": payment.tag,
        "reference": payment.reference,
        "note": payment.note,
        "metadata": payment.metadata or {},
    }


def _linked_documents(
    session: Session,
    body: DocumentBody,
    entity_id: str,
    document_type: DocumentType,
    issues: Issues,
) -> list[str] | None:
    """A credit note's invoices (always a list); the documents an invoice names, if any."""
    linked = body.linked_documents
    if linked is None:
        return [] if document_type == "credit_note" else None
    forced = isinstance(body, wire.InvoiceCreate | wire.InvoiceUpdate) and bool(
        body.force_linked_documents
    )
    for index, linked_id in enumerate(linked):
        kinds: tuple[DocumentType, ...] = (
            ("invoice",) if document_type == "credit_note" else ("invoice", "credit_note")
        )
        if forced or any(session.document_get(entity_id, k, linked_id) for k in kinds):
            continue
        what = "invoice" if document_type == "credit_note" else "document"
        issues.add(("linked_documents", index), f"no {what} {linked_id!r} in this entity")
    return linked


def _item_id(session: Session, entity: Mapping[str, Any], item: _Item, now: str) -> str | None:
    """The line's catalogue item: the one it names, or a new one when ``save_item`` is set."""
    sent = item.sent
    if sent.item_id is not None or not sent.save_item:
        return sent.item_id
    record = {
        "id": new_id("item"),
        "entity_id": entity["id"],
        "name": sent.name,
        "description": sent.description,
        "price": item.line.price if item.line else None,
        "gross_price": item.line.gross_price if item.line else None,
        "unit": sent.unit,
        "created_at": now,
    }
    session.record_insert("item", entity["account_id"], record)
    return str(record["id"])
