"""Readers for JSON request fields: each returns the clean value or records an issue.

Readers never raise; they add to an :class:`Issues` collector so one 422 answer names every bad
field. Numbers arrive as ``int`` or ``Decimal`` (JSON is parsed with ``parse_float=Decimal``);
decimal fields also accept numeric strings such as ``"10.00"``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from invoicing.sandbox.errors import Issues, Path
from invoicing.sandbox.reference import country_code_for_name, country_name

METADATA_MAX_KEYS = 50
METADATA_MAX_VALUE_LENGTH = 250


def unknown_fields(
    data: Mapping[str, Any], allowed: frozenset[str], path: Path, issues: Issues
) -> None:
    """Reject keys the API does not define: a misspelt field must not pass silently."""
    for key in data:
        if key not in allowed:
            issues.add((*path, key), "unknown field")


def optional_string(
    data: Mapping[str, Any], key: str, path: Path, issues: Issues, *, max_length: int = 1000
) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        issues.add((*path, key), "must be a string")
        return None
    if len(value) > max_length:
        issues.add((*path, key), f"must be at most {max_length} characters")
        return None
    return value


def required_string(data: Mapping[str, Any], key: str, path: Path, issues: Issues) -> str | None:
    if data.get(key) is None:
        issues.add((*path, key), "is required")
        return None
    value = optional_string(data, key, path, issues)
    if value is not None and not value.strip():
        issues.add((*path, key), "must not be empty")
        return None
    return value


def optional_bool(data: Mapping[str, Any], key: str, path: Path, issues: Issues) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    issues.add((*path, key), "must be true or false")
    return None


def optional_int(
    data: Mapping[str, Any], key: str, path: Path, issues: Issues, *, minimum: int, maximum: int
) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        issues.add((*path, key), f"must be a whole number from {minimum} to {maximum}")
        return None
    return int(value)


def decimal_value(value: Any, path: Path, issues: Issues) -> Decimal | None:
    """A finite decimal from a JSON number or numeric string."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        issues.add(path, "must be a number")
        return None
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        issues.add(path, "must be a number")
        return None
    if not number.is_finite():
        issues.add(path, "must be a finite number")
        return None
    return number


def optional_date(data: Mapping[str, Any], key: str, path: Path, issues: Issues) -> dt.date | None:
    value = optional_string(data, key, path, issues)
    if value is None:
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    issues.add((*path, key), "must be a date in YYYY-MM-DD form")
    return None


def metadata(data: Mapping[str, Any], key: str, path: Path, issues: Issues) -> dict[str, str]:
    """Metadata: an object of at most 50 keys whose values are strings of at most 250 chars."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        issues.add((*path, key), "must be an object")
        return {}
    check_metadata(value, (*path, key), issues)
    return value


def check_metadata(value: Mapping[str, Any], path: Path, issues: Issues) -> None:
    if len(value) > METADATA_MAX_KEYS:
        issues.add(path, f"must have at most {METADATA_MAX_KEYS} keys")
    for name, item in value.items():
        if not name:
            issues.add(path, "keys must not be empty")
        elif not isinstance(item, str):
            issues.add((*path, name), "must be a string")
        elif len(item) > METADATA_MAX_VALUE_LENGTH:
            issues.add((*path, name), f"must be at most {METADATA_MAX_VALUE_LENGTH} characters")


def country(data: Mapping[str, Any], path: Path, issues: Issues) -> tuple[str, str] | None:
    """``(country_code, English name)`` from ``country_code`` and/or ``country``; None if absent.

    ``country_code`` must be an ISO 3166-1 alpha-2 code and ``country`` an English name; when
    both are given they must agree.
    """
    code = optional_string(data, "country_code", path, issues)
    name = optional_string(data, "country", path, issues)
    from_code = from_name = None
    if code is not None:
        from_code = code.upper() if country_name(code.upper()) else None
        if from_code is None:
            issues.add((*path, "country_code"), f"unknown ISO 3166-1 alpha-2 code {code!r}")
    if name is not None:
        from_name = country_code_for_name(name)
        if from_name is None:
            issues.add((*path, "country"), f"unknown country {name!r}; send country_code instead")
    if from_code and from_name and from_code != from_name:
        issues.add((*path, "country"), f"{name!r} does not match country_code {from_code!r}")
        return None
    resolved = from_code or from_name
    if resolved is None:
        return None
    return resolved, country_name(resolved) or resolved
