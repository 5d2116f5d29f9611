"""Typed errors of the Space Invoices client.

Retry ``Transient`` (``RateLimited`` after ``retry_after``); every other error is final.
"""

from dataclasses import dataclass

_ISSUES_IN_STR = 3


@dataclass(frozen=True)
class Issue:
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        if not self.path:
            return self.message
        return f"{'.'.join(str(part) for part in self.path)}: {self.message}"


class SpaceInvoicesError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id

    def _detail(self) -> str:
        return self.message

    def __str__(self) -> str:
        prefix = " ".join(str(part) for part in (self.status, self.code) if part is not None)
        return f"{prefix}: {self._detail()}" if prefix else self._detail()


class Rejected(SpaceInvoicesError):
    """A 4xx the caller must fix (400, 422, ...): retrying the same request cannot succeed."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        issues: tuple[Issue, ...] = (),
    ) -> None:
        super().__init__(message, status=status, code=code, request_id=request_id)
        self.issues = issues

    def _detail(self) -> str:
        if not self.issues:
            return self.message
        shown = "; ".join(str(issue) for issue in self.issues[:_ISSUES_IN_STR])
        more = len(self.issues) - _ISSUES_IN_STR
        return f"{shown} (+{more} more)" if more > 0 else shown


class Forbidden(Rejected):
    """403."""


class Unauthorized(SpaceInvoicesError):
    """401: missing, wrong or expired key."""


class NotFound(SpaceInvoicesError):
    """404, also for a document of another entity."""


class Transient(SpaceInvoicesError):
    """5xx, 409 (but a reused request id), timeouts, transport errors: retry with the same id."""


class RateLimited(Transient):
    """429."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, request_id=request_id)
        self.retry_after = retry_after
