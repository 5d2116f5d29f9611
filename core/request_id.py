"""One id per web request, so that one invoice's story is one grep of the logs.

`RequestIdMiddleware` takes the id from the request's `X-Request-Id` header when it is well
formed (1-128 letters, digits, dots, underscores and dashes), else makes one, and echoes it on
the response. While the request runs it is the current id: every log record carries it
(`core.logging.RequestIdFilter`), the outbox rows written in the request keep it
(`Invoice.correlation_id`), and the tasks enqueued by the request take it along in a message
header and make it current again while they run (see `task_signals_connect`).

It is not the `X-Request-Id` that our client sends to Space Invoices: that one is each row's
fixed idempotency key (`Invoice.request_id`); the client's log line of each call shows both.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response

HEADER = "X-Request-Id"
# The Celery message header that carries it to a worker.
TASK_HEADER = "marketplace_request_id"

_WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{1,128}")
_current: ContextVar[str] = ContextVar("request_id", default="")
_task_tokens: dict[str, Token[str]] = {}

logger = logging.getLogger("marketplace.request")


def request_id_current() -> str:
    """The current request's (or task's) id; empty outside of one."""
    return _current.get()


def request_id_from_header(value: str | None) -> str:
    """The client's id when it is well formed, else a new one."""
    if value and _WELL_FORMED.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Makes the request's id current, logs one line per request, echoes the id.

    Django logs a 4xx or 5xx answer (`django.request`, "Not Found: /path") after the last
    middleware returns; logged here instead, once as Django would, that line carries the id too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(request_id_from_header(request.headers.get(HEADER)))
        started = time.monotonic()
        try:
            response = self.get_response(request)
            logger.info(
                "%s %s status=%s elapsed_ms=%d",
                request.method,
                request.path,
                response.status_code,
                (time.monotonic() - started) * 1000,
            )
            if response.status_code >= 400:
                log_response(
                    "%s: %s",
                    response.reason_phrase,
                    request.path,
                    response=response,
                    request=request,
                )
            response[HEADER] = _current.get()
            return response
        finally:
            _current.reset(token)


def _publish(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    current = _current.get()
    if headers is not None and current:
        headers[TASK_HEADER] = current


def _prerun(task_id: str, task: Task[Any, Any], **kwargs: Any) -> None:
    # A worker takes the id from the message; an eager task runs inside the request already.
    carried = getattr(task.request, TASK_HEADER, None) or _current.get()
    _task_tokens[task_id] = _current.set(carried)


def _postrun(task_id: str, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _current.reset(token)


def task_signals_connect() -> None:
    """Carries the current id in the header of each task sent, and makes it current while the
    task runs (web processes send, workers run; both call this when Django starts)."""
    before_task_publish.connect(_publish, weak=False, dispatch_uid="core.request_id")
    task_prerun.connect(_prerun, weak=False, dispatch_uid="core.request_id")
    task_postrun.connect(_postrun, weak=False, dispatch_uid="core.request_id")
