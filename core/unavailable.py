"""What a request is answered while the database or the cache is unreachable: 503, never a
traceback.

The API answers JSON (`{"detail": ..., "code": "unavailable"}`), the storefront a plain page
that needs neither (no template context, no session), both with `Retry-After`. Tasks retry the
same errors (invoicing.tasks), and the broker's too.
"""

import logging
import sys
from collections.abc import Callable

import kombu.exceptions
import redis.exceptions
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views import defaults

logger = logging.getLogger(__name__)

DATABASE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
CACHE_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
BROKER_ERRORS: tuple[type[Exception], ...] = (kombu.exceptions.OperationalError, *CACHE_ERRORS)
INFRASTRUCTURE_ERRORS = (*DATABASE_ERRORS, *BROKER_ERRORS)
# Seconds a client is told to wait: about how long a database failover or a restart takes.
RETRY_AFTER = 10
UNAVAILABLE_DETAIL = "The service is unavailable for a moment; try again shortly."
UNAVAILABLE_PAGE = (
    "<!doctype html><html lang=en><head><meta charset=utf-8>"
    "<title>Unavailable for a moment</title></head><body><h1>Unavailable for a moment</h1>"
    "<p>We cannot serve this page right now. Nothing you did was lost; please try again in a "
    "few seconds.</p></body></html>"
)


class ServiceUnavailableMiddleware:
    """Turns a database or cache error of a view into a 503 (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, (*DATABASE_ERRORS, *CACHE_ERRORS)):
            return None
        logger.warning(
            "%s %s answered 503: %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
            exception,
        )
        return unavailable_response(request)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": UNAVAILABLE_DETAIL, "code": "unavailable"}, status=503)
    else:
        response = HttpResponse(UNAVAILABLE_PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: a database or cache error raised outside a view (a middleware) is a 503
    as above; any other error is a 500, in JSON under /api/, else Django's page."""
    error = sys.exc_info()[1]
    if isinstance(error, (*DATABASE_ERRORS, *CACHE_ERRORS)):
        return unavailable_response(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return defaults.server_error(request)
