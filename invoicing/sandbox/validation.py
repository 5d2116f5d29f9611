"""Request bodies are validated by the wire models the client also builds them from
(:mod:`invoicing.client.wire`); this module turns their errors into the API's 422, and holds the
checks that need the sandbox's reference data (countries) or several fields at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel, ValidationError

from invoicing.client import wire
from invoicing.sandbox.errors import Issue, Issues, Path, ValidationFailed
from invoicing.sandbox.reference import country_code_for_name, country_name

M = TypeVar("M", bound=BaseModel)


def parsed(model: type[M], data: Mapping[str, Any], issues: Issues | None = None) -> M:
    """``data`` as ``model``, or ``ValidationFailed`` naming every bad field by its path, with
    the ``issues`` the caller found already (outermost first)."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        found = [Issue(path, message) for path, message in wire.issues(error)]
        found += issues.items if issues else ()
        raise ValidationFailed(sorted(found, key=lambda issue: len(issue.path))) from None


def fail(path: Path, message: str) -> NoReturn:
    """A 422 about one field."""
    raise ValidationFailed([Issue(path, message)])


def check_metadata(value: Mapping[str, Any], path: Path, issues: Issues) -> None:
    """Metadata after a merge (its values were checked as sent): at most 50 keys."""
    if len(value) > wire.METADATA_MAX_KEYS:
        issues.add(path, f"must have at most {wire.METADATA_MAX_KEYS} keys")


def country(
    party: wire.Party | wire.EntityUpdate, path: Path, issues: Issues
) -> tuple[str, str] | None:
    """``(country_code, English name)`` from ``country_code`` and/or ``country``; None if absent.

    ``country_code`` must be an ISO 3166-1 alpha-2 code and ``country`` an English name; when
    both are given they must agree.
    """
    code, name = party.country_code, party.country
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
