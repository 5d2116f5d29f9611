"""Invoices and credit notes: validating a body, computing it and numbering it.

Only ``items`` (at least one) is required. Defaults: ``date`` today (UTC), ``date_due`` = date +
the entity's ``settings.default_invoice_due_days``, ``date_service`` = date, ``currency_code`` the
entity's. Each line needs ``name``, ``quantity`` (> 0) and either ``price`` (net unit) or
``gross_price``; ``taxes`` entries need a ``rate`` (``tax_id`` and ``classification`` are not
supported by the sandbox). ``customer`` is inline only and stored as a snapshot, as is ``issuer``
(the entity). Totals are computed by :mod:`invoicing.sandbox.calculation`.

``transaction_type``: ``domestic`` without a customer country or when it equals the issuer's;
otherwise ``intra_eu_*`` when both countries are in the EU, else ``3w_*``, with ``*_b2b`` when the
customer has a ``tax_number``, is not ``is_end_consumer`` and the issuer ``is_tax_subject``, else
``*_b2c``. Reverse charge is never applied automatically: it is set per line tax.

Numbers come from the entity's ``settings.number_formats`` (see :mod:`.numbering`), allocated in
the same transaction as the insert; drafts (``is_draft: true``) get ``number: null`` and use no
number.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from invoicing.sandbox import validation
from invoicing.sandbox.calculation import (
    HUNDRED,
    Discount,
    Line,
    LineTotals,
    Tax,
    Totals,
    calculate,
    round_money,
)
from invoicing.sandbox.errors import Issues, Path
from invoicing.sandbox.numbering import render_number, sequence_period
from invoicing.sandbox.reference import EU_COUNTRY_CODES, is_known_currency, minor_unit
from invoicing.sandbox.store import Session

DocumentType = Literal["invoice", "credit_note"]

ID_PREFIXES: dict[DocumentType, str] = {"invoice": "inv", "credit_note": "cre"}

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


@dataclass(frozen=True)
class _Item:
    name: str | None
    description: str | None
    unit: str | None
    metadata: dict[str, str]
    line: Line

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
                {"rate": t.rate, "reverse_charge": t.reverse_charge} for t in self.line.taxes
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
) -> dict[str, Any]:
    """Validate, compute, number and insert a document; return its answer.

    Must run inside ``Store.write()`` so the number and the insert commit together.
    """
    issues = Issues()
    date = validation.optional_date(data, "date", (), issues) or today
    due_days = entity["settings"]["default_invoice_due_days"]
    date_due = validation.optional_date(data, "date_due", (), issues)
    date_due = date_due or date + dt.timedelta(days=due_days)
    if date_due < date:
        issues.add(("date_due",), "must not be before date")
    date_service = validation.optional_date(data, "date_service", (), issues) or date
    currency_code = _currency(data, entity, issues)
    is_draft = validation.optional_bool(data, "is_draft", (), issues) or False
    customer = _customer(data, issues)
    items = _items(data, issues)
    payments = _payments(data, date, issues)
    linked = _linked_documents(session, data, entity["id"], document_type, issues)
    metadata = validation.metadata(data, "metadata", (), issues)
    note = validation.optional_string(data, "note", (), issues, max_length=5000)
    reference = validation.optional_string(data, "reference", (), issues)
    expected_total = _decimal(data, "expected_total_with_tax", (), issues)
    issues.raise_if_any()
    assert currency_code is not None

    unit = minor_unit(currency_code)
    payments = [{**payment, "amount": round_money(payment["amount"], unit)} for payment in payments]
    totals = calculate(
        [item.line for item in items], [payment["amount"] for payment in payments], currency_code
    )
    _check_totals(totals, expected_total, unit, issues)
    issues.raise_if_any()

    number = None if is_draft else _allocate_number(session, entity, document_type, date)
    document: dict[str, Any] = {
        "id": document_id,
        "entity_id": entity["id"],
        "number": number,
        "date": date.isoformat(),
        "date_due": date_due.isoformat(),
        "date_service": date_service.isoformat(),
        "currency_code": currency_code,
        "issuer": {key: entity.get(key) for key in _ISSUER_FIELDS},
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
        "payments": payments,
        "is_draft": is_draft,
        "voided_at": None,
        "transaction_type": transaction_type(entity, customer),
        "shareable_id": shareable_id,
        "note": note,
        "reference": reference,
        "metadata": metadata,
    }
    if document_type == "credit_note":
        document["linked_documents"] = linked
    document["created_at"] = now
    session.document_insert(document_type, document)
    return document


def _allocate_number(
    session: Session, entity: Mapping[str, Any], document_type: DocumentType, date: dt.date
) -> str:
    settings = entity["settings"]
    number_format = settings["number_formats"][document_type]
    start = settings["number_sequence_starts"].get(document_type) or 1
    period = sequence_period(number_format, date)
    value = session.sequence_next(entity["id"], document_type, period, start)
    return render_number(number_format, date, value)


def transaction_type(issuer: Mapping[str, Any], customer: Mapping[str, Any] | None) -> str:
    customer_country = customer.get("country_code") if customer else None
    if customer is None or not customer_country or customer_country == issuer["country_code"]:
        return "domestic"
    both_in_eu = {issuer["country_code"], customer_country} <= EU_COUNTRY_CODES
    b2b = (
        bool(customer.get("tax_number"))
        and not customer.get("is_end_consumer")
        and bool(issuer.get("is_tax_subject"))
    )
    return f"{'intra_eu' if both_in_eu else '3w'}_{'b2b' if b2b else 'b2c'}"


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


def _customer(data: Mapping[str, Any], issues: Issues) -> dict[str, Any] | None:
    if data.get("customer_id") is not None:
        issues.add(("customer_id",), "is not supported by the sandbox; send customer inline")
    customer = data.get("customer")
    if customer is None:
        return None
    path: Path = ("customer",)
    if not isinstance(customer, dict):
        issues.add(path, "must be an object")
        return None
    snapshot: dict[str, Any] = {"name": validation.required_string(customer, "name", path, issues)}
    for key in _CUSTOMER_TEXT_FIELDS:
        snapshot[key] = validation.optional_string(customer, key, path, issues)
    country = validation.country(customer, path, issues)
    snapshot["country_code"], snapshot["country"] = country or (None, None)
    snapshot["tax_number"] = validation.optional_string(customer, "tax_number", path, issues)
    is_end_consumer = validation.optional_bool(customer, "is_end_consumer", path, issues)
    snapshot["is_end_consumer"] = bool(is_end_consumer)
    return snapshot


def _items(data: Mapping[str, Any], issues: Issues) -> list[_Item]:
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
        name = validation.required_string(item, "name", path, issues)
        description = validation.optional_string(item, "description", path, issues)
        unit = validation.optional_string(item, "unit", path, issues, max_length=50)
        metadata = validation.metadata(item, "metadata", path, issues)
        line = _line(item, path, issues)
        if line is not None:
            parsed.append(_Item(name, description, unit, metadata, line))
    return parsed


def _line(item: Mapping[str, Any], path: Path, issues: Issues) -> Line | None:
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
    taxes = _taxes(item, path, issues)
    discounts = _discounts(item, path, issues)
    if quantity is None or taxes is None or discounts is None:
        return None
    if price is None and gross_price is None:
        return None
    return Line(quantity, price, gross_price, taxes, discounts)


def _taxes(item: Mapping[str, Any], path: Path, issues: Issues) -> tuple[Tax, ...] | None:
    taxes = item.get("taxes")
    if taxes is None:
        return ()
    if not isinstance(taxes, list):
        issues.add((*path, "taxes"), "must be a list")
        return None
    parsed: list[Tax] = []
    for index, tax in enumerate(taxes):
        where: Path = (*path, "taxes", index)
        if not isinstance(tax, dict):
            issues.add(where, "must be an object")
            continue
        if tax.get("rate") is None:
            issues.add(
                (*where, "rate"),
                "is required (tax_id and classification are not supported by the sandbox)",
            )
            continue
        rate = validation.decimal_value(tax["rate"], (*where, "rate"), issues)
        reverse_charge = validation.optional_bool(tax, "reverse_charge", where, issues)
        if rate is not None and not 0 <= rate <= HUNDRED:
            issues.add((*where, "rate"), "must be from 0 to 100")
        elif rate is not None:
            parsed.append(Tax(rate, reverse_charge or False))
    return tuple(parsed) if len(parsed) == len(taxes) else None


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
        amount = _decimal(payment, "amount", path, issues, required=True)
        if amount is not None and amount <= 0:
            issues.add((*path, "amount"), "must be greater than 0")
        if payment.get("type") not in PAYMENT_TYPES:
            issues.add((*path, "type"), f"must be one of {', '.join(sorted(PAYMENT_TYPES))}")
        paid_on = validation.optional_date(payment, "date", path, issues) or date
        parsed.append(
            {
                "amount": amount,
                "type": payment.get("type"),
                "date": paid_on.isoformat(),
                "reference": validation.optional_string(payment, "reference", path, issues),
                "metadata": validation.metadata(payment, "metadata", path, issues),
            }
        )
    return parsed


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
