"""/healthz and /readyz: exact bodies, each component failing on its own, probes' hosts."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connections
from django.test import Client
from pytest_django.fixtures import Settings

from core.health import _run_checks
from invoicing import gateway
from marketplace.celery import app as celery_app
from tests.conftest import Sandbox
from tests.integration.processes import free_port

ALL_OK = {
    "status": "ok",
    "checks": {
        "database": {"status": "ok"},
        "cache": {"status": "ok"},
        "broker": {"status": "ok"},
        "space_invoices": {"status": "ok"},
    },
}


def failing(component: str, outcome: dict[str, str]) -> dict[str, object]:
    checks = {name: {"status": "ok"} for name in ("database", "cache", "broker", "space_invoices")}
    checks[component] = outcome
    return {"status": "unavailable", "checks": checks}


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung dependency)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_healthz_answers_without_the_database(client: Client) -> None:
    # No django_db mark: any database query would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_is_ok_when_every_component_answers(
    client: Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "health_client", sandbox.client)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == ALL_OK


@pytest.mark.django_db
def test_readyz_reports_a_missing_database(
    client: Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "health_client", sandbox.client)
    # The check's own connection (a new thread's) goes to a database that does not exist.
    monkeypatch.setitem(connections.settings["default"], "NAME", "wt_prod_health_missing")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == failing("database", {"status": "error", "error": "OperationalError"})


@pytest.mark.django_db
def test_readyz_reports_an_unreachable_cache(
    client: Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setattr(gateway, "health_client", sandbox.client)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == failing("cache", {"status": "error", "error": "ConnectionError"})


@pytest.mark.django_db
def test_readyz_reports_a_broker_that_is_down(
    client: Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "health_client", sandbox.client)
    down = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setitem(celery_app.conf, "broker_url", down)
    monkeypatch.setitem(celery_app.conf, "broker_write_url", down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == failing("broker", {"status": "error", "error": "OperationalError"})


@pytest.mark.django_db
def test_readyz_reports_space_invoices_unreachable(client: Client, settings: Settings) -> None:
    settings.SPACE_INVOICES_URL = f"http://127.0.0.1:{free_port()}"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == failing("space_invoices", {"status": "error", "error": "Transient"})


@pytest.mark.django_db
def test_readyz_gives_up_on_a_silent_space_invoices_within_the_timeout(
    client: Client, settings: Settings, silent_server: str
) -> None:
    settings.SPACE_INVOICES_URL = silent_server
    settings.HEALTH_CHECK_TIMEOUT = 0.3
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json() == failing("space_invoices", {"status": "timeout"})


@pytest.mark.django_db
def test_readyz_reads_the_configured_space_invoices_route(
    client: Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setattr(gateway, "health_client", sandbox.client)
    settings.SPACE_INVOICES_HEALTH_PATH = "/no-such-route"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == failing("space_invoices", {"status": "error", "error": "NotFound"})


def test_a_check_that_never_answers_is_reported_as_timeout() -> None:
    release = threading.Event()
    try:
        checks = _run_checks({"hung": release.wait, "quick": lambda: None}, timeout=0.1)
    finally:
        release.set()
    assert checks == {"hung": {"status": "timeout"}, "quick": {"status": "ok"}}


@pytest.mark.django_db
def test_probes_pass_any_host_and_no_https_redirect(
    client: Client, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """An orchestrator probes the pod's address over plain HTTP: neither ALLOWED_HOSTS nor
    SECURE_SSL_REDIRECT may turn the probe away."""
    monkeypatch.setattr(gateway, "health_client", sandbox.client)
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/", HTTP_HOST="localhost").status_code == 301
    healthz = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    readyz = client.get("/readyz", HTTP_HOST="10.1.2.3:8000")
    assert (healthz.status_code, healthz.json()) == (200, {"status": "ok"})
    assert (readyz.status_code, readyz.json()) == (200, ALL_OK)


def test_probes_refuse_other_methods(client: Client) -> None:
    response = client.post("/readyz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == {"detail": "Use GET.", "field": None, "code": "method_not_allowed"}
