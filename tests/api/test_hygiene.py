"""API hygiene: authentication everywhere but an allow-list, throttling, CSRF with sessions,
redacted logs, production settings and checks, and a schema that generates cleanly."""

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from core.logging import RedactingFilter
from marketplace.checks import production_secrets_check
from marketplace.models import Checkout
from reporting.models import ExportJob
from tests.factories import ProductFactory, SellerFactory, UserFactory, operator_user

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

# The endpoints anonymous clients may reach, by URL name. Anything else under /api/ must answer
# an anonymous request with 401 or 403: a new endpoint that forgets authentication fails here.
ANONYMOUS_ALLOWED = {
    "auth-token",  # logging in
    "buyer-register",
    "seller-signup",
    "catalog-list",  # the public catalog
    "catalog-detail",
    "schema",
    "docs",
    "redoc",
    "webhook-space-invoices",  # Space Invoices calls it; the signature authenticates it
    "webhook-stripe",  # Stripe calls it; its Stripe-Signature authenticates it
}
METHODS = ("get", "post", "put", "patch", "delete")


def _api_routes(resolver: URLResolver, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_routes(entry, route)
        elif route.startswith("api/"):
            yield route, entry


def _sample_path(route: str) -> str:
    """The route with each converter filled in: `api/orders/<int:pk>/` -> `/api/orders/1/`."""
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: "1" if m[1] == "int" else "x", route)


def _methods(pattern: URLPattern) -> list[str]:
    view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
    if view is None:  # a function view: try what it could answer
        return ["get", "post"]
    return [method for method in METHODS if hasattr(view, method)]


def test_every_api_endpoint_refuses_anonymous_requests_but_the_allow_listed():
    routes = list(_api_routes(get_resolver()))
    names = {pattern.name for _, pattern in routes}
    assert names >= ANONYMOUS_ALLOWED  # a stale entry could let a future endpoint through
    assert {"checkout", "order-list", "report-export-jobs", "seller-me"} <= names
    client = APIClient()
    answers = {}
    for route, pattern in routes:
        if pattern.name in ANONYMOUS_ALLOWED:
            continue
        path = _sample_path(route)
        for method in _methods(pattern):
            answers[(method.upper(), path)] = getattr(client, method)(path).status_code

    let_in = {request: status for request, status in answers.items() if status not in {401, 403}}
    assert let_in == {}
    assert answers[("POST", "/api/checkout/vat-check/")] == 401


def test_allow_listed_endpoints_answer_anonymous_requests():
    client = APIClient()
    ProductFactory()
    assert client.get("/api/catalog/products/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/redoc/").status_code == 200
    assert client.post("/api/auth/token/", {"username": "x", "password": "y"}).status_code == 400
    # Unsigned: refused by its signature check, not by a login.
    stripe = client.post("/api/webhooks/stripe/", b"{}", content_type="application/json")
    assert (stripe.status_code, stripe.json()) == (400, {"status": "bad_signature"})


def test_unknown_api_urls_answer_in_json_and_other_pages_in_html():
    api = APIClient().get("/api/orders/not-an-id/")
    assert (api.status_code, api.json()) == (404, {"detail": "Not found."})
    page = APIClient().get("/no-such-page/")
    assert (page.status_code, page["Content-Type"]) == (404, "text/html; charset=utf-8")


def test_any_page_size_and_offset_give_a_page():
    client = APIClient()
    client.force_authenticate(operator_user("sellers.view_seller"))
    seller = SellerFactory()
    huge = 10**21  # past a bigint: the database refuses it as a LIMIT
    first = client.get("/api/sellers/", {"limit": huge}).json()
    assert [row["id"] for row in first["results"]] == [seller.pk]
    beyond = client.get("/api/sellers/", {"limit": huge, "offset": huge}).json()
    assert (beyond["count"], beyond["next"], beyond["results"]) == (1, None, [])


# Throttling. The clock stands still, so every request falls in one window and Retry-After is
# the whole window.


THROTTLED = {"detail": "Request was throttled. Expected available in 60 seconds."}


def _login(username: str, password: str, address: str = "198.51.100.1", **headers: str) -> Any:
    return APIClient().post(
        "/api/auth/token/",
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )


def test_login_attempts_are_limited_per_username_and_address(frozen_clock, rates):
    UserFactory(username="ana")
    UserFactory(username="bob")
    for _ in range(rates["login"]):
        assert _login("ana", "wrong").status_code == 400

    throttled = _login("ana", "correct-horse-battery")
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "60"
    assert throttled.json() == THROTTLED
    # Spelling the name differently or claiming another address through a header is the same
    # attacker; the same account from elsewhere, and another account, still log in.
    assert _login("ANA", "wrong").status_code == 429
    assert _login("ana", "wrong", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    assert _login("ana", "correct-horse-battery", address="192.0.2.7").status_code == 200
    assert _login("bob", "correct-horse-battery").status_code == 200


def test_checkout_and_vat_checks_share_a_limit_per_buyer(frozen_clock, rates):
    ana, bob = APIClient(), APIClient()
    ana.force_authenticate(UserFactory())
    bob.force_authenticate(UserFactory())
    paths = ["/api/checkout/", "/api/checkout/vat-check/"] * 2
    assert len(paths) == rates["checkout"]
    for path in paths:
        assert ana.post(path, {}, format="json").status_code == 400

    throttled = ana.post("/api/checkout/vat-check/", {}, format="json")
    assert (throttled.status_code, throttled["Retry-After"]) == (429, "60")
    assert ana.post("/api/checkout/", {}, format="json").status_code == 429
    assert bob.post("/api/checkout/", {}, format="json").status_code == 400
    assert Checkout.objects.count() == 0


def test_exports_are_limited_per_user(frozen_clock, rates):
    operator, other = APIClient(), APIClient()
    operator.force_authenticate(operator_user("reporting.export_reports"))
    other.force_authenticate(operator_user("reporting.export_reports"))
    for _ in range(rates["export"]):
        assert operator.get("/api/reports/invoices.csv").status_code == 200

    throttled = operator.post("/api/reports/exports/", {"report": "invoices"}, format="json")
    assert (throttled.status_code, throttled["Retry-After"]) == (429, "60")
    assert ExportJob.objects.count() == 0
    assert other.get("/api/reports/invoices.csv").status_code == 200


def test_signups_are_limited_per_address(frozen_clock, rates):
    client = APIClient()
    for _ in range(rates["signup"]):
        assert client.post("/api/buyers/", {}, REMOTE_ADDR="198.51.100.1").status_code == 400

    throttled = client.post("/api/sellers/signup/", {}, REMOTE_ADDR="198.51.100.1")
    assert (throttled.status_code, throttled["Retry-After"]) == (429, "60")
    assert client.post("/api/buyers/", {}, REMOTE_ADDR="192.0.2.7").status_code == 400


# CSRF


def test_a_session_authenticated_post_needs_the_csrf_token():
    product = ProductFactory(unit_price=Decimal("10.00"))
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    body = {
        "lines": [{"product_id": product.pk, "quantity": 1}],
        "billing": {
            "name": "Ana Novak",
            "email": "ana@example.com",
            "address": "Prešernova 5",
            "post_code": "2000",
            "city": "Maribor",
            "country": "SI",
        },
    }

    client.get("/admin/login/")  # a page with a form sets the CSRF cookie, as in a browser
    token = client.cookies["csrftoken"].value

    refused = client.post("/api/checkout/", body, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "CSRF Failed: CSRF token missing."}
    assert Checkout.objects.count() == 0

    accepted = client.post("/api/checkout/", body, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201
    assert Checkout.objects.count() == 1


def _settings_in_a_new_process(**env: str) -> dict[str, Any]:
    """Settings as a fresh process reads them from this environment."""
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'secure_cookies': [s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE], "
        "'httponly': s.SESSION_COOKIE_HTTPONLY, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'rates': s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']}))"
    )
    clean = {key: value for key, value in os.environ.items() if not key.startswith("THROTTLE_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "marketplace.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_production_cookies_are_secure_and_rates_come_from_the_environment():
    production = _settings_in_a_new_process(DEBUG="false", THROTTLE_LOGIN="3/min")
    assert production == {
        "secure_cookies": [True, True],
        "httponly": True,
        "hsts": 2592000,
        "rates": {"login": "3/min", "signup": "10/hour", "checkout": "30/min", "export": "20/min"},
    }
    local = _settings_in_a_new_process(DEBUG="true")
    assert (local["secure_cookies"], local["hsts"]) == ([False, False], 0)


# Logs


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes (timestamps cut off)."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def _records(stream: io.StringIO) -> list[dict[str, str]]:
    """The JSON lines written (LOG_FORMAT=json, the default with DEBUG off)."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _lines(stream: io.StringIO) -> list[str]:
    return [f"{r['level']} {r['logger']} {r['message']}" for r in _records(stream)]


def test_logged_keys_tokens_emails_and_vat_numbers_are_redacted(console):
    logger = logging.getLogger("tests.api.hygiene")
    logger.warning("call with headers %s", {"Authorization": "Bearer sk_live_0123abcd"})
    logger.warning("Authorization: Token 0123456789abcdef0123456789abcdef01234567")
    logger.warning("keys %s %s %s", "sk_sandbox_local", "ek_live_9f8e7d6c", "whsec_abc123")
    logger.warning(
        "buyer %s, VAT %s and %s", "ana.novak@example.com", "SI50223054", "DE 136 695 976"
    )
    logger.warning("order %s for seller %s is PAID", 42, 7)
    logger.warning("a message that does not take %s", "sk_live_1", "ana@example.com")
    try:
        raise ValueError("refused key sk_live_0123abcd")
    except ValueError:
        logger.exception("call failed for %s", "ana@example.com")

    lines = _lines(console)
    assert lines[:6] == [
        "WARNING tests.api.hygiene call with headers {'Authorization': '[redacted]'}",
        "WARNING tests.api.hygiene Authorization: [redacted]",
        "WARNING tests.api.hygiene keys [secret] [secret] [secret]",
        "WARNING tests.api.hygiene buyer [email], VAT [vat number] and [vat number]",
        "WARNING tests.api.hygiene order 42 for seller 7 is PAID",
        "WARNING tests.api.hygiene a message that does not take %s ('[secret]', '[email]')",
    ]
    assert lines[6] == "ERROR tests.api.hygiene call failed for [email]"
    traceback = _records(console)[6]["exc_info"]
    assert traceback.strip().endswith("ValueError: refused key [secret]")
    assert "sk_live" not in console.getvalue()


def test_httpx_request_logs_are_redacted_even_at_info(console):
    httpx_logger = logging.getLogger("httpx")
    level = httpx_logger.level
    httpx_logger.setLevel(logging.INFO)
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    try:
        with httpx.Client(transport=transport) as client:
            client.get(
                "http://sandbox/embed?key=ek_sandbox_0123abcd&email=ana@example.com",
                headers={"Authorization": "Bearer sk_live_0123abcd"},
            )
    finally:
        httpx_logger.setLevel(level)

    url = "http://sandbox/embed?key=[secret]&email=[email]"
    assert _lines(console) == [f'INFO httpx HTTP Request: GET {url} "HTTP/1.1 200 OK"']


def test_every_configured_log_handler_redacts():
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    handlers = {
        handler
        for logger in loggers
        for handler in logger.handlers
        if not isinstance(handler, logging.NullHandler)
        and not type(handler).__module__.startswith("_pytest")  # pytest's capture
    }
    assert {handler.get_name() for handler in handlers} == {"console"}
    for handler in handlers:
        assert any(isinstance(f, RedactingFilter) for f in handler.filters)


def test_celery_workers_log_through_the_redacting_handler():
    script = (
        "import django; django.setup(); from marketplace.celery import app; "
        "from celery.utils.log import get_task_logger; app.log.setup(loglevel='INFO'); "
        "get_task_logger('invoicing.tasks').warning('key %s for %s', 'sk_live_1', 'a@b.example')"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "marketplace.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    [line] = done.stderr.splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"], record["message"]) == (
        "WARNING",
        "invoicing.tasks",
        "key [secret] for [email]",
    )


# Production checks


STRONG_KEY = "k3y-" + "".join(chr(ord("a") + i % 26) + str(i) for i in range(30))


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        (
            {
                "DEBUG": True,
                "SECRET_KEY": "change-me",
                "SPACE_INVOICES_URL": "https://eu.spaceinvoices.com",
            },
            [],
        ),
        ({}, []),
        ({"SECRET_KEY": "django-insecure-local-only-set-SECRET_KEY"}, ["marketplace.E001"]),
        ({"SECRET_KEY": "change-me"}, ["marketplace.E001"]),
        ({"SPACE_INVOICES_URL": "https://eu.spaceinvoices.com"}, ["marketplace.E002"]),
        ({"SPACE_INVOICES_URL": "http://sandbox:8765"}, []),
        ({"PAYMENT_PROVIDER": "test"}, ["marketplace.E004"]),
        ({"DEBUG": True, "PAYMENT_PROVIDER": "test"}, []),
        ({"SPACE_INVOICES_URL": "http://[::1]:8765"}, []),
        (
            {
                "SPACE_INVOICES_URL": "https://eu.spaceinvoices.com",
                "SPACE_INVOICES_API_KEY": "sk_live_0123",
            },
            [],
        ),
    ],
)
def test_production_refuses_local_only_secrets(overrides, errors):
    configured = {
        "DEBUG": False,
        "SECRET_KEY": STRONG_KEY,
        "SPACE_INVOICES_URL": "http://127.0.0.1:8765",
        "SPACE_INVOICES_API_KEY": "sk_sandbox_local",
        "PAYMENT_PROVIDER": "offline",
        **overrides,
    }
    with override_settings(**configured):
        assert [error.id for error in production_secrets_check()] == errors


def test_a_production_process_with_the_embedded_secret_key_does_not_start():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "SPACE_INVOICES_URL", "SPACE_INVOICES_API_KEY"}
    }
    command = [sys.executable, "manage.py", "check"]
    refused = subprocess.run(
        command, cwd=ROOT, env={**env, "DEBUG": "false"}, capture_output=True, text=True
    )
    assert refused.returncode == 1
    assert "(marketplace.E001) SECRET_KEY is the embedded default" in refused.stderr
    local = subprocess.run(
        command, cwd=ROOT, env={**env, "DEBUG": "true"}, capture_output=True, text=True
    )
    assert (local.returncode, local.stdout) == (
        0,
        "System check identified no issues (0 silenced).\n",
    )


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "s.yaml"))
    assert "/api/reports/exports/{id}/download" in (tmp_path / "s.yaml").read_text()
