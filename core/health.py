"""Health endpoints for load balancers, compose and orchestrators, and beat's heartbeat.

``/healthz``: the process is alive and serves requests (no database, no network).
``/readyz``: the database, the cache, the Celery broker and the services the apps register
(`readiness_check_register`: Space Invoices, by invoicing) each answered within
HEALTH_CHECK_TIMEOUT seconds; 200 when all did, 503 otherwise, each component's status in the
body. A check raises `CheckTimedOut` for an answer that came too late.

Both answer from ``HealthCheckMiddleware``, the first middleware: before host validation (a
probe's Host is the pod's or container's address, not one of ALLOWED_HOSTS), before the HTTPS
redirect (probes speak plain HTTP to the process), and without authentication or throttling.
"""

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery import current_app
from celery.beat import PersistentScheduler
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks = _run_checks(
        {
            "database": _database,
            "cache": _cache,
            "broker": _broker,
            **_registered,
        },
        timeout=settings.HEALTH_CHECK_TIMEOUT,
    )
    ready = all(check["status"] == "ok" for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


# Checks of further components, by name: each returns when the component answered and raises
# otherwise (CheckTimedOut when it answered too late).
class CheckTimedOut(Exception):
    """The component answered, but later than its client waits."""


_registered: dict[str, Callable[[], None]] = {}


def readiness_check_register(name: str, check: Callable[[], None]) -> None:
    _registered[name] = check


_ROUTES: dict[str, Callable[[HttpRequest], JsonResponse]] = {
    "/healthz": healthz,
    "/readyz": readyz,
}


class HealthCheckMiddleware:
    """Answers GET/HEAD ``/healthz`` and ``/readyz`` before the rest of the stack runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = _ROUTES.get(request.path_info)
        if view is None:
            return self.get_response(request)
        if request.method not in {"GET", "HEAD"}:
            response = JsonResponse(
                {"detail": "Use GET.", "field": None, "code": "method_not_allowed"}, status=405
            )
            response["Allow"] = "GET, HEAD"
            return response
        response = view(request)
        response["Cache-Control"] = "no-store"
        return response


def _run_checks(
    checks: dict[str, Callable[[], None]], *, timeout: float
) -> dict[str, dict[str, str]]:
    """Runs every check at once, each in its own thread; one that has not answered by the
    deadline is reported as ``timeout`` and left to finish on its own (a daemon thread)."""
    results: dict[str, dict[str, str]] = {}
    threads = {}
    for name, check in checks.items():
        thread = threading.Thread(
            target=_record, args=(check, results, name), name=f"readyz-{name}", daemon=True
        )
        thread.start()
        threads[name] = thread
    deadline = time.monotonic() + timeout
    answered: dict[str, dict[str, str]] = {}
    for name, thread in threads.items():
        thread.join(max(0.0, deadline - time.monotonic()))
        answered[name] = {"status": "timeout"} if thread.is_alive() else results[name]
    return answered


def _record(check: Callable[[], None], results: dict[str, dict[str, str]], name: str) -> None:
    try:
        check()
    except CheckTimedOut:
        results[name] = {"status": "timeout"}
    except Exception as exc:
        results[name] = _error(exc)
    else:
        results[name] = {"status": "ok"}


def _error(exc: Exception) -> dict[str, str]:
    # The exception's type only: its message may name hosts, users or keys.
    return {"status": "error", "error": type(exc).__name__}


def _database() -> None:
    # This thread's own connection, closed again: probes never hold one open.
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        connection.close()


class CacheMismatch(Exception):
    """The cache did not give back the value just stored."""


def _cache() -> None:
    key = "marketplace:readyz"
    token = uuid.uuid4().hex
    cache.set(key, token, timeout=60)
    if cache.get(key) != token:
        raise CacheMismatch


def _broker() -> None:
    # The project's Celery app (the project package makes it the current one on import).
    with current_app.connection_for_write(connect_timeout=settings.HEALTH_CHECK_TIMEOUT) as conn:
        conn.ensure_connection(max_retries=0)


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's scheduler, touching BEAT_HEARTBEAT_FILE on every tick, so a healthcheck
    can tell a running beat from a hung one by the file's age (``--scheduler`` names it)."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        Path(settings.BEAT_HEARTBEAT_FILE).touch()
        interval: float = super().tick(*args, **kwargs)
        return interval
