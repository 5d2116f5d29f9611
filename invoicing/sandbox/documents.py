"""Invoices and credit notes: validating a body, computing it, numbering it, and what happens to
a document afterwards (payments, void, finalization).

Only ``items`` (at least one) is required; unknown fields anywhere in the body are a 422 naming
their path. Defaults: ``date`` today (UTC), ``date_due`` = date + the entity's
``settings.default_invoice_due_days``, ``date_service`` = date, ``currency_code`` the entity's,
``calculation_mode`` ``b2b_standard`` (see :mod:`.calculation` for ``b2c_gross_discount``, where
a line may carry at most one charged tax). Each line needs ``name``, ``quantity`` (> 0) and either
``price`` (net unit) or ``gross_price``. A line tax gives ``rate``, ``tax_id`` (a ``/taxes``
record of the entity: its rate valid on the document date, the latest ``valid_from`` not after
it) or ``classification`` (the entity's default tax with that classification, else its first),
and may set ``reverse_charge``. ``customer`` is inline (``save_customer: true`` also stores it
as a ``/customers`` record) or ``customer_id``; either way the document keeps a snapshot, as it
does of ``issuer`` (the entity).

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

Payments, inline or ``POST /payments``, get a ``pmt_`` id, are kept on the document and as
``/payments`` records, and update ``total_paid``, ``total_due`` and ``paid_in_full``; paying more
than is due is a 422, paying a draft or a voided document a 409. ``POST .../void {reason}`` sets
``voided_at`` and ``void_reason`` once (a second void is a 409); a voided document keeps its
number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

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
CALCULATION_MODES = frozenset({"b2b_standard", "b2c_gross_discount"})

PAYMENT_TYPES = frozenset(
    {
        "cash",
        "bank_transfer",
        "card",
        "check",
        "paypal",
        "coupon",
        "other",
        "credit_note",
        "advance",
    }
)

_DOCUMENT_FIELDS = frozenset(
    {
        "is_draft", "date", "date_due", "date_service", "date_service_to", "customer",
        "customer_id", "items", "currency_code", "calculation_mode", "expected_total_with_tax",
        "note", "reference", "tax_clause", "payments", "linked_documents", "metadata",
    }
)  # fmt: skip
_ITEM_FIELDS = frozenset(
    {"name", "description", "quantity", "price", "gross_price", "unit", "discounts", "taxes",
     "metadata"}
)  # fmt: skip
_TAX_FIELDS = frozenset({"rate", "tax_id", "classification", "reverse_charge"})
_DISCOUNT_FIELDS = frozenset({"value", "type"})
PAYMENT_FIELDS = frozenset({"amount", "type", "date", "reference", "metadata"})
CUSTOMER_FIELDS = frozenset(
    {"name", "email", "address", "address_2", "post_code", "city", "state", "country",
     "country_code", "tax_number", "is_end_consumer", "save_customer"}
)  # fmt: skip
_CUSTOMER_TEXT_FIELDS = ("email", "address", "address_2", "post_code", "city", "state")
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

# Resolves a line tax that names ``tax_id`` or ``classification`` to its rate.
TaxResolver = Callable[[Mapping[str, Any], Path, Issues], Decimal | None]


@dataclass(frozen=True)
class _Item:
    name: str | None
    description: str | None
    unit: str | None
    metadata: dict[str, str]
    line: Line
    tax_refs: tuple[dict[str, str], ...]

    def answer(self, totals: LineTotals) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "quantity": self.line.quantity,
            "unit": self.unit,
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
            "metadata": self.metadata,
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
) -> tuple[dict[str, Any], str]:
    """Validate, compute, number and insert a document; return its answer and its JSON text.

    Must run inside ``Store.write()`` so the number and the insert commit together.
    """
    issues = Issues()
    validation.unknown_fields(data, _DOCUMENT_FIELDS, (), issues)
    date = validation.optional_date(data, "date", (), issues) or today
    due_days = entity["settings"]["default_invoice_due_days"]
    date_due = validation.optional_date(data, "date_due", (), issues)
    date_due = date_due or date + dt.timedelta(days=due_days)
    if date_due < date:
        issues.add(("date_due",), "must not be before date")
    date_service = validation.optional_date(data, "date_service", (), issues) or date
    date_service_to = validation.optional_date(data, "date_service_to", (), issues)
    if date_service_to is not None and date_service_to < date_service:
        issues.add(("date_service_to",), "must not be before date_service")
    currency_code = _currency(data, entity, issues)
    is_draft = validation.optional_bool(data, "is_draft", (), issues) or False
    mode = _calculation_mode(data, issues)
    customer, save_customer = _document_customer(session, data, entity, issues)
    items = _items(data, issues, _tax_resolver(session, entity, date), mode)
    payments = _payments(data, date, issues)
    linked = _linked_documents(session, data, entity["id"], document_type, issues)
    metadata = validation.metadata(data, "metadata", (), issues)
    note = validation.optional_string(data, "note", (), issues, max_length=5000)
    reference = validation.optional_string(data, "reference", (), issues)
    tax_clause = validation.optional_string(data, "tax_clause", (), issues, max_length=5000)
    expected_total = _decimal(data, "expected_total_with_tax", (), issues)
    issues.raise_if_any()
    assert currency_code is not None

    unit = minor_unit(currency_code)
    payments = [{**payment, "amount": round_money(payment["amount"], unit)} for payment in payments]
    totals = calculate(
        [item.line for item in items],
        [payment["amount"] for payment in payments],
        currency_code,
        mode,
    )
    _check_totals(totals, expected_total, unit, issues)
    if payments and is_draft:
        issues.add(("payments",), "a draft cannot be paid; finalize it first")
    issues.raise_if_any()

    if customer is not None and save_customer:
        customer = customer_insert(session, entity, customer, now)
    number = None if is_draft else _allocate_number(session, entity, document_type, date)
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
        "issuer": {key: entity.get(key) for key in _ISSUER_FIELDS},
        "customer_id": customer.get("id") if customer else None,
        "customer": customer,
        "items": [
            item.answer(line_totals) for item, line_totals in zip(items, totals.lines, strict=True)
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
        "note": note,
        "reference": reference,
        "tax_clause": tax_clause,
        "metadata": metadata,
    }
    if document_type == "credit_note":
        document["linked_documents"] = linked
    document["created_at"] = document["updated_at"] = now
    for payment in payments:
        document["payments"].append(_payment_record(session, entity, document, payment, now))
    return document, session.document_insert(document_type, document)


def customer_insert(
    session: Session, entity: Mapping[str, Any], customer: Mapping[str, Any], now: str
) -> dict[str, Any]:
    """Store a customer snapshot as a ``/customers`` record; return it with its ``id``."""
    record = {"id": new_id("cust"), "entity_id": entity["id"], **customer, "created_at": now}
    session.record_insert("customer", entity["account_id"], record)
    return record


def customer_parse(customer: Any, path: Path, issues: Issues) -> dict[str, Any] | None:
    """A customer object (inline on a document or ``POST /customers``) as its snapshot."""
    if not isinstance(customer, dict):
        issues.add(path, "must be an object")
        return None
    validation.unknown_fields(customer, CUSTOMER_FIELDS, path, issues)
    snapshot: dict[str, Any] = {"name": validation.required_string(customer, "name", path, issues)}
    for key in _CUSTOMER_TEXT_FIELDS:
        snapshot[key] = validation.optional_string(customer, key, path, issues)
    country = validation.country(customer, path, issues)
    snapshot["country_code"], snapshot["country"] = country or (None, None)
    snapshot["tax_number"] = validation.optional_string(customer, "tax_number", path, issues)
    is_end_consumer = validation.optional_bool(customer, "is_end_consumer", path, issues)
    snapshot["is_end_consumer"] = bool(is_end_consumer)
    return snapshot


def payment_add(
    session: Session,
    *,
    entity: Mapping[str, Any],
    document_type: DocumentType,
    document: dict[str, Any],
    data: Mapping[str, Any],
    today: dt.date,
    now: str,
) -> dict[str, Any]:
    """Record a ``POST /payments`` on ``document``; return the payment."""
    issues = Issues()
    payment = _payment(data, (), today, issues)
    issues.raise_if_any()
    if document["voided_at"]:
        raise ApiError(409, "document_voided", f"{document['id']} is void and cannot be paid")
    if document["is_draft"]:
        raise ApiError(409, "document_is_draft", f"{document['id']} is a draft; finalize it first")
    payment["amount"] = round_money(payment["amount"], minor_unit(document["currency_code"]))
    if payment["amount"] > document["total_due"]:
        issues.add(("amount",), f"is more than the {document['total_due']} due")
        issues.raise_if_any()
    record = _payment_record(session, entity, document, payment, now)
    document["payments"].append(record)
    document["total_paid"] += payment["amount"]
    document["total_due"] -= payment["amount"]
    document["paid_in_full"] = document["total_due"] <= 0
    document["updated_at"] = now
    session.document_update(document)
    return record


def document_void(document: dict[str, Any], data: Mapping[str, Any], now: str) -> None:
    issues = Issues()
    validation.unknown_fields(data, frozenset({"reason"}), (), issues)
    reason = validation.required_string(data, "reason", (), issues)
    issues.raise_if_any()
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
        "created_at": now,
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


def _calculation_mode(data: Mapping[str, Any], issues: Issues) -> CalculationMode:
    mode = data.get("calculation_mode")
    if mode is None or mode == "b2b_standard":
        return "b2b_standard"
    if mode == "b2c_gross_discount":
        return "b2c_gross_discount"
    issues.add(("calculation_mode",), f"must be one of {', '.join(sorted(CALCULATION_MODES))}")
    return "b2b_standard"


def _currency(data: Mapping[str, Any], entity: Mapping[str, Any], issues: Issues) -> str | None:
    value = validation.optional_string(data, "currency_code", (), issues)
    if value is None:
        if entity.get("currency_code") is None:
            issues.add(("currency_code",), "is required: the entity has no default currency")
        return entity.get("currency_code")
    if not is_known_currency(value.upper()):
        issues.add(("currency_code",), f"unknown ISO 4217 currency {value!r}")
        return None
    return value.upper()


def _document_customer(
    session: Session, data: Mapping[str, Any], entity: Mapping[str, Any], issues: Issues
) -> tuple[dict[str, Any] | None, bool]:
    """The customer snapshot and whether to store it as a ``/customers`` record."""
    customer_id = data.get("customer_id")
    customer = data.get("customer")
    if customer_id is not None:
        if customer is not None:
            issues.add(("customer_id",), "send either customer_id or customer, not both")
            return None, False
        found = (
            session.record_get(
                "customer", entity["account_id"], customer_id, entity_id=entity["id"]
            )
            if isinstance(customer_id, str)
            else None
        )
        if found is None:
            issues.add(("customer_id",), f"no customer {customer_id!r} in this entity")
            return None, False
        return {
            key: value for key, value in found.items() if key not in ("entity_id", "created_at")
        }, False
    if customer is None:
        return None, False
    snapshot = customer_parse(customer, ("customer",), issues)
    save = (
        validation.optional_bool(customer, "save_customer", ("customer",), issues)
        if isinstance(customer, dict)
        else None
    )
    return snapshot, bool(save)


def _tax_resolver(session: Session, entity: Mapping[str, Any], date: dt.date) -> TaxResolver:
    def resolve(tax: Mapping[str, Any], path: Path, issues: Issues) -> Decimal | None:
        taxes = [
            row.body
            for row in session.record_list("tax", entity["account_id"], entity_id=entity["id"])
        ]
        if tax.get("tax_id") is not None:
            found = [t for t in taxes if t["id"] == tax["tax_id"]]
            if not found:
                issues.add((*path, "tax_id"), f"no tax {tax['tax_id']!r} in this entity")
                return None
        else:
            found = sorted(
                (t for t in taxes if t["classification"] == tax["classification"]),
                key=lambda t: not t["is_default"],
            )
            if not found:
                issues.add(
                    (*path, "classification"),
                    f"no tax with classification {tax['classification']!r} in this entity",
                )
                return None
        valid = [r for r in found[0]["tax_rates"] if (r["valid_from"] or "") <= date.isoformat()]
        if not valid:
            issues.add(path, f"tax {found[0]['id']} has no rate valid on {date.isoformat()}")
            return None
        return Decimal(max(valid, key=lambda r: r["valid_from"] or "")["rate"])

    return resolve


def _items(
    data: Mapping[str, Any], issues: Issues, resolve: TaxResolver, mode: CalculationMode
) -> list[_Item]:
    items = data.get("items")
    if not isinstance(items, list) or not items:
        issues.add(("items",), "must be a list of at least one item")
        return []
    parsed = []
    for index, item in enumerate(items):
        path: Path = ("items", index)
        if not isinstance(item, dict):
            issues.add(path, "must be an object")
            continue
        validation.unknown_fields(item, _ITEM_FIELDS, path, issues)
        name = validation.required_string(item, "name", path, issues)
        description = validation.optional_string(item, "description", path, issues)
        unit = validation.optional_string(item, "unit", path, issues, max_length=50)
        metadata = validation.metadata(item, "metadata", path, issues)
        taxes = _taxes(item, path, issues, resolve)
        charged = sum(1 for tax, _ in taxes or () if not tax.reverse_charge)
        if mode == "b2c_gross_discount" and charged > 1:
            issues.add((*path, "taxes"), "b2c_gross_discount allows one charged tax per line")
        line = _line(item, path, issues, taxes)
        if line is not None and taxes is not None:
            parsed.append(
                _Item(name, description, unit, metadata, line, tuple(ref for _, ref in taxes))
            )
    return parsed


def _line(
    item: Mapping[str, Any],
    path: Path,
    issues: Issues,
    taxes: list[tuple[Tax, dict[str, str]]] | None,
) -> Line | None:
    quantity = _decimal(item, "quantity", path, issues, required=True)
    if quantity is not None and quantity <= 0:
        issues.add((*path, "quantity"), "must be greater than 0")
    price = _decimal(item, "price", path, issues)
    gross_price = _decimal(item, "gross_price", path, issues)
    if (item.get("price") is None) == (item.get("gross_price") is None):
        issues.add((*path, "price"), "send either price (net) or gross_price")
    for key, value in (("price", price), ("gross_price", gross_price)):
        if value is not None and value < 0:
            issues.add((*path, key), "must not be negative")
    discounts = _discounts(item, path, issues)
    if quantity is None or taxes is None or discounts is None:
        return None
    if price is None and gross_price is None:
        return None
    return Line(quantity, price, gross_price, tuple(tax for tax, _ in taxes), discounts)


def _taxes(
    item: Mapping[str, Any], path: Path, issues: Issues, resolve: TaxResolver
) -> list[tuple[Tax, dict[str, str]]] | None:
    """The line's taxes, each with the ``tax_id`` or ``classification`` it was chosen by."""
    taxes = item.get("taxes")
    if taxes is None:
        return []
    if not isinstance(taxes, list):
        issues.add((*path, "taxes"), "must be a list")
        return None
    parsed: list[tuple[Tax, dict[str, str]]] = []
    for index, tax in enumerate(taxes):
        where: Path = (*path, "taxes", index)
        if not isinstance(tax, dict):
            issues.add(where, "must be an object")
            continue
        validation.unknown_fields(tax, _TAX_FIELDS, where, issues)
        chosen = [key for key in ("rate", "tax_id", "classification") if tax.get(key) is not None]
        if len(chosen) != 1:
            issues.add(where, "send exactly one of rate, tax_id and classification")
            continue
        reverse_charge = validation.optional_bool(tax, "reverse_charge", where, issues)
        ref: dict[str, str] = {}
        if chosen[0] == "rate":
            rate = validation.decimal_value(tax["rate"], (*where, "rate"), issues)
        elif validation.optional_string(tax, chosen[0], where, issues) is None:
            continue
        else:
            ref = {chosen[0]: tax[chosen[0]]}
            rate = resolve(tax, where, issues)
        if rate is not None and not 0 <= rate <= HUNDRED:
            issues.add((*where, "rate"), "must be from 0 to 100")
        elif rate is not None:
            parsed.append((Tax(rate, reverse_charge or False), ref))
    return parsed if len(parsed) == len(taxes) else None


def _discounts(item: Mapping[str, Any], path: Path, issues: Issues) -> tuple[Discount, ...] | None:
    discounts = item.get("discounts")
    if discounts is None:
        return ()
    if not isinstance(discounts, list):
        issues.add((*path, "discounts"), "must be a list")
        return None
    parsed: list[Discount] = []
    for index, discount in enumerate(discounts):
        where: Path = (*path, "discounts", index)
        if not isinstance(discount, dict):
            issues.add(where, "must be an object")
            continue
        validation.unknown_fields(discount, _DISCOUNT_FIELDS, where, issues)
        value = _decimal(discount, "value", where, issues, required=True)
        kind = discount.get("type", "percent")
        if kind not in ("percent", "amount"):
            issues.add((*where, "type"), "must be 'percent' or 'amount'")
        elif value is not None and value < 0:
            issues.add((*where, "value"), "must not be negative")
        elif value is not None and kind == "percent" and value > HUNDRED:
            issues.add((*where, "value"), "a percent discount must be at most 100")
        elif value is not None:
            parsed.append(Discount(value, kind))
    return tuple(parsed) if len(parsed) == len(discounts) else None


def _payments(data: Mapping[str, Any], date: dt.date, issues: Issues) -> list[dict[str, Any]]:
    payments = data.get("payments")
    if payments is None:
        return []
    if not isinstance(payments, list):
        issues.add(("payments",), "must be a list")
        return []
    parsed = []
    for index, payment in enumerate(payments):
        path: Path = ("payments", index)
        if not isinstance(payment, dict):
            issues.add(path, "must be an object")
            continue
        validation.unknown_fields(payment, PAYMENT_FIELDS, path, issues)
        parsed.append(_payment(payment, path, date, issues))
    return parsed


def _payment(
    payment: Mapping[str, Any], path: Path, date: dt.date, issues: Issues
) -> dict[str, Any]:
    amount = _decimal(payment, "amount", path, issues, required=True)
    if amount is not None and amount <= 0:
        issues.add((*path, "amount"), "must be greater than 0")
    if payment.get("type") not in PAYMENT_TYPES:
        issues.add((*path, "type"), f"must be one of {', '.join(sorted(PAYMENT_TYPES))}")
    paid_on = validation.optional_date(payment, "date", path, issues) or date
    return {
        "amount": amount,
        "type": payment.get("type"),
        "date": paid_on.isoformat(),
        "reference": validation.optional_string(payment, "reference", path, issues),
        "metadata": validation.metadata(payment, "metadata", path, issues),
    }


def _linked_documents(
    session: Session,
    data: Mapping[str, Any],
    entity_id: str,
    document_type: DocumentType,
    issues: Issues,
) -> list[str]:
    linked = data.get("linked_documents")
    if linked is None:
        return []
    if document_type != "credit_note":
        issues.add(("linked_documents",), "only credit notes link documents")
        return []
    if not isinstance(linked, list):
        issues.add(("linked_documents",), "must be a list of invoice ids")
        return []
    for index, invoice_id in enumerate(linked):
        if (
            not isinstance(invoice_id, str)
            or session.document_get(entity_id, "invoice", invoice_id) is None
        ):
            issues.add(("linked_documents", index), f"no invoice {invoice_id!r} in this entity")
    return linked


def _decimal(
    data: Mapping[str, Any], key: str, path: Path, issues: Issues, *, required: bool = False
) -> Decimal | None:
    value = data.get(key)
    if value is None:
        if required:
            issues.add((*path, key), "is required")
        return None
    return validation.decimal_value(value, (*path, key), issues)
