"""Shared fixtures: PostgreSQL is required, Space Invoices is the in-process sandbox."""

import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from invoicing import gateway
from invoicing.client import SpaceInvoicesClient
from invoicing.sandbox import create_app, sandbox_transport
from marketplace.celery import app as celery_app

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
