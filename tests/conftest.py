"""Shared fixtures: PostgreSQL is required, Space Invoices is the in-process sandbox."""

import sqlite3
import uuid
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import stripe
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from invoicing import gateway
from invoicing.client import SpaceInvoicesClient
from invoicing.sandbox import create_app, sandbox_transport
from marketplace.celery import app as celery_app
from marketplace.stripe_standin import StandinApp
from marketplace.stripe_standin import create_app as standin_create_app
from marketplace.stripe_standin.events import http_deliver
from tests.integration.processes import free_port

SANDBOX_KEY = "sk_sandbox_tests"


def pytest_configure(config: pytest.Config) -> None:
    # Tasks run inline unless a test starts a real worker; that worker reads this run's own
    # queue, so parallel runs on one Redis never take each other's tasks.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    celery_app.conf.task_default_queue = f"tests-{uuid.uuid4().hex[:12]}"
    # Factories set passwords; the default hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The test profile pays through the local test provider (pytest runs with DEBUG off, and no
    # start-up check runs here); tests of production set PAYMENT_PROVIDER back to "offline".
    settings.PAYMENT_PROVIDER = "test"
    # Pages link static files by their plain names: the hashed ones need `collectstatic` first
    # (tests/browser/test_production_server.py runs it, under gunicorn).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # WhiteNoise warns at every middleware load when STATIC_ROOT is missing; in-process tests
    # serve nothing from it.
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True, scope="session")
def _require_postgresql(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    if connection.vendor != "postgresql":
        pytest.exit("The tests run on PostgreSQL: set DATABASE_URL (make test does).", returncode=2)


class Sandbox:
    """The sandbox app in-process; `client()` is a Space Invoices client talking to it."""

    def __init__(self, data_path: Path) -> None:
        self.app = create_app(data_path, [SANDBOX_KEY])

    def http(self) -> httpx.Client:
        """Raw HTTP to the sandbox with the account key, for what the client does not cover."""
        return httpx.Client(
            transport=sandbox_transport(self.app),
            base_url="http://sandbox",
            headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
        )

    def client(self) -> SpaceInvoicesClient:
        http = httpx.Client(transport=sandbox_transport(self.app), base_url="http://sandbox")
        return SpaceInvoicesClient(base_url="http://sandbox", api_key=SANDBOX_KEY, http=http)

    def faults(self, **config: object) -> None:
        """Put a fault configuration in force (`POST /sandbox/faults`); none: no faults."""
        response = self.http().post("/sandbox/faults", json={"seed": 1, **config})
        assert response.status_code == 200, response.text

    def forget_request_ids(self) -> None:
        """What the API does after a while: earlier X-Request-Ids are no longer replayed."""
        with closing(sqlite3.connect(self.app.store.path)) as db, db:
            db.execute("DELETE FROM idempotency")


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """Routes every Space Invoices call of the code under test to a fresh sandbox."""
    box = Sandbox(tmp_path / "sandbox.sqlite3")
    monkeypatch.setattr(gateway, "space_invoices_client", box.client)
    monkeypatch.setattr(gateway, "reconciliation_client", box.client)
    monkeypatch.setattr(settings, "SPACE_INVOICES_SHARE_URL", "http://sandbox/share/")
    return box


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """VIES answers are cached; each test starts without them."""
    cache.clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


STRIPE_KEY = "sk_test_tests"
STRIPE_WEBHOOK_SECRET = "whsec_tests"
STANDIN_URL = "http://stripe-standin"


class StandinHTTPClient(stripe.HTTPClient):
    """The official library's HTTP client answering from the stand-in in this process."""

    name = "standin"

    def __init__(self, app: StandinApp) -> None:
        super().__init__()
        self._http = httpx.Client(transport=httpx.WSGITransport(app=app))

    def request(
        self, method: str, url: str, headers: Mapping[str, str], post_data: object = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        response = self._http.request(method, url, headers=dict(headers), content=post_data)
        return response.content, response.status_code, response.headers

    def close(self) -> None:
        self._http.close()


class StripeStandin:
    """The Stripe stand-in in-process, its events delivered to our webhook endpoint through
    Django's test client (or over HTTP, `deliver_over_http`, for the live server)."""

    def __init__(self) -> None:
        self.webhook_client = Client()
        self.app = standin_create_app(
            STANDIN_URL,
            secret_key=STRIPE_KEY,
            webhook_url="http://testserver/api/webhooks/stripe/",
            webhook_secret=STRIPE_WEBHOOK_SECRET,
            deliver=self._deliver_in_process,
        )

    def _deliver_in_process(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        response = self.webhook_client.post(
            urlsplit(url).path,
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=headers["Stripe-Signature"],
        )
        return response.status_code

    def deliver_over_http(self, webhook_url: str) -> None:
        self.app.state.webhooks.url = webhook_url
        self.app.state.webhooks.deliver = http_deliver

    def http(self) -> httpx.Client:
        return httpx.Client(
            transport=httpx.WSGITransport(app=self.app),
            base_url=STANDIN_URL,
            headers={"Authorization": f"Bearer {STRIPE_KEY}"},
        )

    def page_post(self, url: str, action: str) -> httpx.Response:
        """A click on the stand-in's hosted page (`pay`, `decline` or `back`)."""
        with httpx.Client(transport=httpx.WSGITransport(app=self.app)) as http:
            return http.post(url, data={"action": action})

    def onboard(self, seller: Any) -> None:
        """The seller opens a Connect account and completes Stripe's onboarding."""
        from marketplace.stripe_provider import seller_payment_account_link

        link = seller_payment_account_link(seller=seller, return_url="http://testserver/seller/")
        with httpx.Client(transport=httpx.WSGITransport(app=self.app)) as http:
            assert http.post(link).status_code == 303

    def objects(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.app.state.objects.values() if obj["object"] == kind]


@pytest.fixture
def stripe_standin(settings: Any, monkeypatch: pytest.MonkeyPatch) -> StripeStandin:
    """PAYMENT_PROVIDER=stripe, the official library talking to a fresh stand-in."""
    from marketplace import stripe_provider

    standin = StripeStandin()
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.STRIPE_API_BASE = STANDIN_URL
    monkeypatch.setattr(
        stripe_provider, "stripe_http_client", lambda: StandinHTTPClient(standin.app)
    )
    return standin


@pytest.fixture
def cache_down(settings) -> str:
    """The cache (throttle counters, the catalog listing) is a Redis nothing listens on."""
    port = free_port()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }
    return f"Error 111 connecting to 127.0.0.1:{port}. Connection refused."
