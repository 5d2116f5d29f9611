"""One application error type and the one DRF exception handler that shapes every 4xx."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """An error the user can fix; `field` names the offending input (dotted path).

    `http_status` is 400 unless the request is fine but the state is not (409: try again later).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str = "invalid",
        http_status: int = status.HTTP_400_BAD_REQUEST,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.http_status = http_status


def _first_error(detail: Any, path: str = "") -> tuple[str | None, str]:
    """The first (field path, message) inside a DRF ValidationError detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                name = path
            elif isinstance(key, int):  # a list's errors keyed by item index
                name = f"{path}[{key}]"
            else:
                name = f"{path}.{key}" if path else str(key)
            return _first_error(value, name)
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list) and value:
                nested = f"{path}[{index}]" if isinstance(value, dict) else path
                return _first_error(value, nested)
            if value:
                return (path or None), str(value)
    return (path or None), str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body = {"detail": exc.message, "field": exc.field, "code": exc.code}
        return Response(body, status=exc.http_status)
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        detail = f"{field}: {message}" if field else message
        return Response(
            {"detail": detail, "field": field, "code": "invalid", "errors": exc.detail},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.ParseError):  # a body that is not JSON (core.parsers)
        body = {"detail": str(exc.detail), "field": "body", "code": "malformed_body"}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return exception_handler(exc, context)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """An unknown URL under /api/ answers in JSON like every other API error; elsewhere it is
    Django's page (the `handler404` of marketplace/urls.py)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)
