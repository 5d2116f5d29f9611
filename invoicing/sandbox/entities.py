"""Entities (one per seller): validation, derived fields and settings.

``POST /entities`` needs ``name`` and a country (``country`` as an English name such as
"Slovenia", or ``country_code``). Derived unless given: ``country``/``country_code`` (each from
the other), ``currency_code`` (the country's currency), ``locale`` (the country's likely locale,
e.g. "sl-SI"); always derived: ``account_id``, ``environment`` (from the key; a different value
sent is rejected), ``created_at``/``updated_at``.

One public guide writes ``zip``, ``taxNumber`` and ``taxSubject``; the API names are
``post_code``, ``tax_number`` and ``is_tax_subject``, so the legacy names are rejected with a 422
naming the field to use instead. Other unknown fields are ignored.

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

_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def entity_create(
    data: Mapping[str, Any], *, account: Account, entity_id: str, now: str
) -> dict[str, Any]:
    """The new entity's answer, or ``ValidationFailed``."""
    issues = Issues()
    fields = _clean_fields(data, account, issues, creating=True)
    settings = _settings(data, issues)
    metadata = validation.metadata(data, "metadata", (), issues)
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
        "is_tax_subject": True,
        "is_enabled": True,
    }
    entity.update((key, value) for key, value in fields.items() if value is not None)
    entity["settings"] = _deep_merge(DEFAULT_SETTINGS, settings)
    entity["metadata"] = metadata
    entity["created_at"] = entity["updated_at"] = now
    return entity


def entity_patch(
    entity: Mapping[str, Any], data: Mapping[str, Any], *, account: Account, now: str
) -> dict[str, Any]:
    """The entity with ``data`` merged in, or ``ValidationFailed``."""
    issues = Issues()
    fields = _clean_fields(data, account, issues, creating=False)
    settings = _settings(data, issues)
    metadata = _metadata_patch(entity["metadata"], data, issues)
    issues.raise_if_any()

    patched = dict(entity)
    if fields.get("country_code") not in (None, entity["country_code"]):
        patched["currency_code"] = currency_for_country(fields["country_code"])
        patched["locale"] = locale_for_country(fields["country_code"])
    patched.update(fields)
    patched["settings"] = _deep_merge(entity["settings"], settings)
    patched["metadata"] = metadata
    patched["updated_at"] = now
    return patched


def _clean_fields(
    data: Mapping[str, Any], account: Account, issues: Issues, *, creating: bool
) -> dict[str, Any]:
    """The plain fields present in ``data`` (all required ones when creating), validated."""
    for legacy, api_name in LEGACY_FIELDS.items():
        if legacy in data:
            issues.add((legacy,), f"unknown field; the API name is {api_name!r}")

    fields: dict[str, Any] = {}
    if creating or "name" in data:
        fields["name"] = validation.required_string(data, "name", (), issues)
    for key in TEXT_FIELDS:
        if key in data:
            fields[key] = validation.optional_string(data, key, (), issues)
    if creating or "country" in data or "country_code" in data:
        if data.get("country") is None and data.get("country_code") is None:
            issues.add(("country",), "is required (an English country name, or send country_code)")
        elif resolved := validation.country(data, (), issues):
            fields["country_code"], fields["country"] = resolved
    for key in ("is_tax_subject", "is_enabled"):
        if key in data:
            if not isinstance(data[key], bool):
                issues.add((key,), "must be true or false")
            fields[key] = data[key]
    # Sent as null, the derived currency and locale stay.
    if currency := _currency(data, issues):
        fields["currency_code"] = currency
    if locale := _locale(data, issues):
        fields["locale"] = locale
    if "timezone" in data:
        fields["timezone"] = _timezone(data, issues)
    environment = validation.optional_string(data, "environment", (), issues)
    if environment is not None and environment != account.environment:
        issues.add(("environment",), f"must be {account.environment!r} for this key")
    return fields


def _currency(data: Mapping[str, Any], issues: Issues) -> str | None:
    value = validation.optional_string(data, "currency_code", (), issues)
    if value is not None and not is_known_currency(value.upper()):
        issues.add(("currency_code",), f"unknown ISO 4217 currency {value!r}")
        return None
    return value.upper() if value else None


def _locale(data: Mapping[str, Any], issues: Issues) -> str | None:
    value = validation.optional_string(data, "locale", (), issues)
    locale = normalize_locale(value) if value else None
    if value and locale is None:
        issues.add(("locale",), f"unknown locale {value!r}")
    return locale


def _timezone(data: Mapping[str, Any], issues: Issues) -> str | None:
    value = validation.optional_string(data, "timezone", (), issues)
    if value is None:
        return None
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        issues.add(("timezone",), f"unknown IANA time zone {value!r}")
        return None
    return value


def _settings(data: Mapping[str, Any], issues: Issues) -> dict[str, Any]:
    """The ``settings`` sent, with the keys the sandbox uses checked; others pass through."""
    settings = data.get("settings")
    if settings is None:
        return {}
    path: Path = ("settings",)
    if not isinstance(settings, dict):
        issues.add(path, "must be an object")
        return {}
    formats = settings.get("number_formats", {})
    if not isinstance(formats, dict):
        issues.add((*path, "number_formats"), "must be an object")
    else:
        for document_type, number_format in formats.items():
            where = (*path, "number_formats", document_type)
            if not isinstance(number_format, str):
                issues.add(where, "must be a string")
            elif problem := format_problem(number_format):
                issues.add(where, problem)
    starts = settings.get("number_sequence_starts", {})
    if not isinstance(starts, dict):
        issues.add((*path, "number_sequence_starts"), "must be an object")
    else:
        for document_type in starts:
            where = (*path, "number_sequence_starts")
            validation.optional_int(starts, document_type, where, issues, minimum=1, maximum=10**9)
    color = settings.get("primary_color")
    if color is not None and not (isinstance(color, str) and _HEX_COLOR.fullmatch(color)):
        issues.add((*path, "primary_color"), "must be a hex colour such as #0a7d4f")
    if "has_logo" in settings and not isinstance(settings["has_logo"], bool):
        issues.add((*path, "has_logo"), "must be true or false")
    validation.optional_string(settings, "document_footer", path, issues)
    if "default_invoice_due_days" in settings and settings["default_invoice_due_days"] is None:
        issues.add((*path, "default_invoice_due_days"), "must not be null")
    validation.optional_int(
        settings, "default_invoice_due_days", path, issues, minimum=0, maximum=3650
    )
    return settings


def _metadata_patch(
    current: Mapping[str, str], data: Mapping[str, Any], issues: Issues
) -> dict[str, str]:
    patch = data.get("metadata")
    if patch is None:
        return dict(current)
    if not isinstance(patch, dict):
        issues.add(("metadata",), "must be an object")
        return dict(current)
    merged = {**current, **patch}
    merged = {key: value for key, value in merged.items() if value is not None}
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
