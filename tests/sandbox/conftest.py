"""Fixtures for the sandbox tests: an in-process sandbox and httpx clients for it.

No Django and no database: these run with or without pytest-django.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from invoicing.sandbox import SandboxApp, create_app, sandbox_transport

ACCOUNT_KEY = "sk_sandbox_test"
OTHER_ACCOUNT_KEY = "sk_sandbox_other"

EntityFactory = Callable[..., dict[str, Any]]
ClientFactory = Callable[..., httpx.Client]


@pytest.fixture
def sandbox_path(tmp_path: Path) -> Path:
    return tmp_path / "sandbox.sqlite3"


@pytest.fixture
def account_key() -> str:
    return ACCOUNT_KEY


@pytest.fixture
def sandbox_app(sandbox_path: Path) -> SandboxApp:
    return create_app(sandbox_path, [ACCOUNT_KEY, OTHER_ACCOUNT_KEY])


@pytest.fixture
def sandbox_client(sandbox_app: SandboxApp) -> Iterator[ClientFactory]:
    """Make a client of ``sandbox_app`` (or another app) with the given key (None: no key)."""
    clients: list[httpx.Client] = []

    def make(key: str | None = ACCOUNT_KEY, app: SandboxApp = sandbox_app) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        client = httpx.Client(
            transport=sandbox_transport(app), base_url="http://sandbox", headers=headers
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def sandbox_http(sandbox_client: ClientFactory) -> httpx.Client:
    """A client of the sandbox authenticated with the account key."""
    return sandbox_client()


@pytest.fixture
def other_account_http(sandbox_client: ClientFactory) -> httpx.Client:
    """A client authenticated as a second account sharing the same sandbox."""
    return sandbox_client(OTHER_ACCOUNT_KEY)


@pytest.fixture
def make_entity(sandbox_http: httpx.Client) -> EntityFactory:
    """Create an entity of the account (a Slovenian seller unless told otherwise)."""

    def make(**fields: Any) -> dict[str, Any]:
        response = sandbox_http.post(
            "/entities", json={"name": "Trgovina d.o.o.", "country_code": "SI", **fields}
        )
        assert response.status_code == 201, response.text
        entity: dict[str, Any] = response.json()
        return entity

    return make


@pytest.fixture
def entity(make_entity: EntityFactory) -> dict[str, Any]:
    return make_entity(
        address="Slovenska cesta 1",
        post_code="1000",
        city="Ljubljana",
        tax_number="SI12345678",
        email="billing@trgovina.si",
    )
