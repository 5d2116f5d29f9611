"""Entities (one per seller): validation, derived fields and settings.

``POST /entities`` needs ``name`` and a country (``country`` as an English name such as
"Slovenia", or ``country_code``). Derived unless given: ``country``/``country_code`` (each from
the other), ``currency_code`` (the country's currency), ``locale`` (the country's likely locale,
e.g. "sl-SI"); always derived: ``account_id``, ``environment`` (from the key; a different value
sent is rejected), ``created_at``/``updated_at``.

One public guide writes ``zip``, ``taxNumber`` and ``taxSubject``; the API names are
``post_code``, ``tax_number`` and ``is_tax_subject``, so the legacy names are rejected with a 422
naming the field to use instead. Other unknown fields are a 422 too (:class:`wire.EntityCreate`).

``PATCH /entities/{id}`` changes only the fields sent. ``settings`` are merged key by key at every
depth (sending ``{"number_formats": {"invoice": "..."}}`` keeps the credit note format);
``metadata`` is merged key by key and a ``null`` value removes a key. Changing the country
derives currency and locale again unless they are sent too.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

from core.eu import EU_GOODS_VAT_AREA
from invoicing.client import wire
from invoicing.sandbox import validation
from invoicing.sandbox.accounts import Account
from invoicing.sandbox.errors import Issues, Path
from invoicing.sandbox.numbering import format_problem
from invoicing.sandbox.reference import (
    currency_for_country,
    is_known_currency,
    locale_for_country,
    normalize_locale,
)

LEGACY_FIELDS = {"zip": "post_code", "taxNumber": "tax_number", "taxSubject": "is_tax_subject"}

TEXT_FIELDS = (
    "address",
    "address_2",
    "post_code",
    "city",
    "state",
    "tax_number",
    "tax_number_2",
    "company_number",
    "phone",
    "email",
    "website",
)

DEFAULT_SETTINGS: dict[str, Any] = {
    "number_formats": {"invoice": "{yyyy}-{nnnnn}", "credit_note": "CN-{yyyy}-{nnnnn}"},
    "number_sequence_starts": {},
    "primary_color": None,
    "has_logo": False,
    "document_footer": None,
    "default_invoice_due_days": 30,
}

_COUNTRY_REQUIRED = "is required (an English country name, or send country_code)"
_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def entity_create(
    data: Mapping[str, Any], *, account: Account, entity_id: str, now: str
) -> dict[str, Any]:
    """The new entity's answer, or ``ValidationFailed``."""
    missing = Issues()  # named with the body's other problems, if any
    if data.get("country") is None and data.get("country_code") is None:
        missing.add(("country",), _COUNTRY_REQUIRED)
    sent = _parsed(wire.EntityCreate, data, missing)
    issues = Issues()
    fields = _clean_fields(sent, account, issues, creating=True)
    settings = _settings(sent, issues)
    issues.raise_if_any()

    country_code = fields["country_code"]
    entity: dict[str, Any] = {
        "id": entity_id,
        "account_id": account.id,
        "environment": account.environment,
        "name": fields["name"],
        **dict.fromkeys(TEXT_FIELDS),
        "country": fields["country"],
        "country_code": country_code,
        "currency_code": currency_for_country(country_code),
        "locale": locale_for_country(country_code),
        "timezone": None,
        "fiscal_region_code": None,
        "starting_capital": None,
        "is_tax_subject": True,
        "is_enabled": True,
        "country_rules": country_rules(country_code),
    }
    entity.update((key, value) for key, value in fields.items() if value is not None)
    entity["settings"] = _deep_merge(DEFAULT_SETTINGS, settings)
    entity["metadata"] = sent.metadata or {}
    entity["created_at"] = entity["updated_at"] = now
    return entity


def entity_patch(
    entity: Mapping[str, Any], data: Mapping[str, Any], *, account: Account, now: str
) -> dict[str, Any]:
    """The entity with ``data`` merged in, or ``ValidationFailed``."""
    issues = Issues()
    sent = _parsed(wire.EntityUpdate, data, issues)
    fields = _clean_fields(sent, account, issues, creating=False)
    settings = _settings(sent, issues)
    metadata = _metadata_patch(entity["metadata"], sent, issues)
    issues.raise_if_any()

    patched = dict(entity)
    if fields.get("country_code") not in (None, entity["country_code"]):
        patched["currency_code"] = currency_for_country(fields["country_code"])
        patched["locale"] = locale_for_country(fields["country_code"])
        patched["country_rules"] = country_rules(fields["country_code"])
    patched.update(fields)
    patched["settings"] = _deep_merge(entity["settings"], settings)
    patched["metadata"] = metadata
    patched["updated_at"] = now
    return patched


def country_rules(country_code: str) -> dict[str, Any]:
    """What the country means for the entity's documents (the object's ``country_rules``)."""
    return {"in_eu_vat_area": country_code in EU_GOODS_VAT_AREA}


def _parsed(
    model: type[wire.EntityUpdate], data: Mapping[str, Any], issues: Issues
) -> wire.EntityUpdate:
    """``data`` as ``model`` (or a 422 with ``issues`` too); a legacy field name gets a 422
    naming the API's name for it."""
    legacy = Issues()
    for name in LEGACY_FIELDS:
        if name in data:
            legacy.add((name,), f"unknown field; the API name is {LEGACY_FIELDS[name]!r}")
    legacy.raise_if_any()
    return validation.parsed(model, data, issues)


def _clean_fields(
    sent: wire.EntityUpdate, account: Account, issues: Issues, *, creating: bool
) -> dict[str, Any]:
    """The plain fields sent (all required ones when creating), checked against reference data."""
    given = sent.model_fields_set
    fields: dict[str, Any] = sent.model_dump(
        include=given & {"name", *TEXT_FIELDS, "fiscal_region_code", "starting_capital"}
    )
    if "name" in fields and not (sent.name or "").strip():
        issues.add(("name",), "is required" if sent.name is None else "must not be empty")
    if creating or given & {"country", "country_code"}:
        if sent.country is None and sent.country_code is None:
            issues.add(("country",), _COUNTRY_REQUIRED)
        elif resolved := validation.country(sent, (), issues):
            fields["country_code"], fields["country"] = resolved
    for key in ("is_tax_subject", "is_enabled"):
        if key in given:
            if getattr(sent, key) is None:
                issues.add((key,), "must be true or false")
            fields[key] = getattr(sent, key)
    # Sent as null, the derived currency and locale stay.
    if currency := _currency(sent.currency_code, issues):
        fields["currency_code"] = currency
    if locale := _locale(sent.locale, issues):
        fields["locale"] = locale
    if "timezone" in given:
        fields["timezone"] = _timezone(sent.timezone, issues)
    if sent.environment is not None and sent.environment != account.environment:
        issues.add(("environment",), f"must be {account.environment!r} for this key")
    return fields


def _currency(value: str | None, issues: Issues) -> str | None:
    if value is not None and not is_known_currency(value.upper()):
        issues.add(("currency_code",), f"unknown ISO 4217 currency {value!r}")
        return None
    return value.upper() if value else None


def _locale(value: str | None, issues: Issues) -> str | None:
    locale = normalize_locale(value) if value else None
    if value and locale is None:
        issues.add(("locale",), f"unknown locale {value!r}")
    return locale


def _timezone(value: str | None, issues: Issues) -> str | None:
    if value is None:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        issues.add(("timezone",), f"unknown IANA time zone {value!r}")
        return None
    return value


def _settings(sent: wire.EntityUpdate, issues: Issues) -> dict[str, Any]:
    """The ``settings`` sent, as sent; number formats and the colour checked."""
    settings = sent.settings
    if settings is None:
        return {}
    path: Path = ("settings",)
    for key in ("number_formats", "number_sequence_starts", "default_invoice_due_days"):
        if key in settings.model_fields_set and getattr(settings, key) is None:
            issues.add((*path, key), "must not be null")
    formats = settings.number_formats.body() if settings.number_formats else {}
    for document_type, number_format in formats.items():
        if number_format is not None and (problem := format_problem(number_format)):
            issues.add((*path, "number_formats", document_type), problem)
    color = settings.primary_color
    if color is not None and not _HEX_COLOR.fullmatch(color):
        issues.add((*path, "primary_color"), "must be a hex colour such as #0a7d4f")
    return settings.body()


def _metadata_patch(
    current: Mapping[str, str], sent: wire.EntityUpdate, issues: Issues
) -> dict[str, str]:
    """The metadata merged key by key; a key sent as null is removed."""
    if sent.metadata is None:
        return dict(current)
    patched: dict[str, str | None] = {**current, **sent.metadata}
    merged = {key: value for key, value in patched.items() if value is not None}
    validation.check_metadata(merged, ("metadata",), issues)
    return merged


def _deep_merge(base: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = _deep_merge(current, value)
        else:
            merged[key] = value
    return merged
