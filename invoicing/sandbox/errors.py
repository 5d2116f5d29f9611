"""Errors the sandbox answers with, and a collector for validation issues.

Every error body has the shape the real service uses::

    {"code": "validation_error", "message": "...",
     "cause": {"issues": [{"path": ["items", 0, "quantity"], "message": "..."}]}}

``cause`` is present only for validation errors (422).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

PathPart = str | int
Path = tuple[PathPart, ...]


@dataclass(frozen=True)
class Issue:
    path: Path
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"path": list(self.path), "message": self.message}


class ApiError(Exception):
    """An error answer: HTTP status, machine-readable code and a human message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class ValidationFailed(ApiError):
    """422 with the list of issues, each naming the offending field by its path."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        first = issues[0]
        where = ".".join(str(part) for part in first.path) or "body"
        more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
        super().__init__(422, "validation_error", f"{where}: {first.message}{more}")
        self.issues = tuple(issues)

    def body(self) -> dict[str, Any]:
        return {**super().body(), "cause": {"issues": [issue.as_json() for issue in self.issues]}}


def not_found(what: str, identifier: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} {identifier} not found")


class Issues:
    """Collects validation issues so one answer can name every bad field at once."""

    def __init__(self) -> None:
        self._items: list[Issue] = []

    def add(self, path: Path, message: str) -> None:
        self._items.append(Issue(path, message))

    @property
    def items(self) -> tuple[Issue, ...]:
        return tuple(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def raise_if_any(self) -> None:
        if self._items:
            raise ValidationFailed(self._items)
