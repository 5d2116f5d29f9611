"""The embedded dashboard: the sandbox's page and the short-lived key a seller admin gets."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

import httpx
import pytest

from core.models import AuditEvent
from invoicing.sandbox import SandboxApp, sandbox_transport
from invoicing.seller_entities import seller_entity_create
from sellers.models import SellerRole, SellerStatus
from tests.factories import SellerFactory, SellerUserFactory

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
ROW = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td class=num>(.*?)</td></tr>")
ITEMS = [{"name": "Mug", "quantity": 1, "price": "10.00", "taxes": [{"rate": 22}]}]


def mint(http: httpx.Client, entity_id: str, ttl: int = 600) -> str:
    created = http.post(
        "/entities/api-keys",
        json={"name": "dashboard", "ttl": ttl},
        headers={"x-entity-id": entity_id},
    )
    assert created.status_code == 201, created.text
    key: str = created.json()["key"]
    return key


def open_dashboard(app: SandboxApp, entity_id: str | None, key: str | None) -> httpx.Response:
    params = {name: value for name, value in (("entityId", entity_id), ("key", key)) if value}
    with httpx.Client(transport=sandbox_transport(app), base_url="http://sandbox") as browser:
        return browser.get("/embed/dashboard", params=params)


def issue(http: httpx.Client, entity_id: str, path: str, **fields: Any) -> dict[str, Any]:
    created = http.post(path, json={"items": ITEMS, **fields}, headers={"x-entity-id": entity_id})
    assert created.status_code == 201, created.text
    document: dict[str, Any] = created.json()
    return document


# The sandbox's page


def test_the_dashboard_lists_its_entitys_documents_newest_first(
    sandbox_app: SandboxApp, sandbox_http: httpx.Client, make_entity: Any
) -> None:
    mine, other = make_entity(name="Trgovina Ana d.o.o."), make_entity(name="Other")
    invoice = issue(sandbox_http, mine["id"], "/invoices", date="2026-03-02")
    issue(
        sandbox_http,
        mine["id"],
        "/credit-notes",
        date="2026-03-05",
        linked_documents=[invoice["id"]],
    )
    issue(sandbox_http, other["id"], "/invoices", date="2026-03-03")

    page = open_dashboard(sandbox_app, mine["id"], mint(sandbox_http, mine["id"]))

    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "<h1>Trgovina Ana d.o.o.</h1>" in page.text
    assert ROW.findall(page.text) == [
        ("CN-2026-00001", "2026-03-05", "Credit note", "12,20\xa0€"),
        ("2026-00001", "2026-03-02", "Invoice", "12,20\xa0€"),
    ]


def test_a_dashboard_without_documents_says_so(
    sandbox_app: SandboxApp, sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    page = open_dashboard(sandbox_app, entity["id"], mint(sandbox_http, entity["id"]))

    assert page.status_code == 200
    assert "<p>No documents yet.</p>" in page.text


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no key", "open the dashboard with a valid entity key"),
        ("unknown key", "send Authorization: Bearer &lt;a valid account or entity key&gt;"),
        ("account key", "open the dashboard with a valid entity key"),
        ("another entity's key", "This key does not open that entity."),
        ("no entity", "This key does not open that entity."),
    ],
)
def test_the_dashboard_needs_an_entity_key_of_that_entity(
    sandbox_app: SandboxApp,
    sandbox_http: httpx.Client,
    account_key: str,
    make_entity: Any,
    case: str,
    message: str,
) -> None:
    mine, other = make_entity(name="Mine"), make_entity(name="Other")
    issue(sandbox_http, mine["id"], "/invoices", date="2026-03-02")
    keys = {
        "no key": None,
        "unknown key": "ek_sandbox_" + "0" * 32,
        "account key": account_key,
        "another entity's key": mint(sandbox_http, other["id"]),
        "no entity": mint(sandbox_http, mine["id"]),
    }
    entity_id = None if case == "no entity" else mine["id"]

    page = open_dashboard(sandbox_app, entity_id, keys[case])

    assert page.status_code == 401
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f"<main><p>{message}</p></main>" in page.text
    assert ROW.findall(page.text) == []


def test_the_dashboard_closes_when_its_key_expires(
    sandbox_app: SandboxApp, sandbox_http: httpx.Client, entity: dict[str, Any]
) -> None:
    sandbox_app.clock = lambda: NOW
    key = mint(sandbox_http, entity["id"], ttl=600)
    sandbox_app.clock = lambda: NOW + dt.timedelta(seconds=599)
    open_before = open_dashboard(sandbox_app, entity["id"], key)
    sandbox_app.clock = lambda: NOW + dt.timedelta(seconds=600)

    expired = open_dashboard(sandbox_app, entity["id"], key)

    assert open_before.status_code == 200
    assert expired.status_code == 401
    assert "the entity key expired at 2026-03-02T09:40:00.000Z" in expired.text


# The key our server mints for a seller admin


def active_seller(capture: Any) -> Any:
    pending = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    with capture(execute=True):
        return seller_entity_create(seller_id=pending.pk)


@pytest.fixture
def sellers(sandbox: Any, django_capture_on_commit_callbacks: Any) -> tuple[Any, Any]:
    sandbox.app.clock = lambda: NOW
    return (
        active_seller(django_capture_on_commit_callbacks),
        active_seller(django_capture_on_commit_callbacks),
    )


@pytest.fixture
def admin(sellers: tuple[Any, Any]) -> Any:
    return SellerUserFactory(seller=sellers[0], role=SellerRole.ADMIN).user


@pytest.fixture
def admin_api(api_client: Any, admin: Any) -> Any:
    api_client.force_authenticate(admin)
    return api_client


@pytest.mark.django_db
def test_a_seller_admins_key_opens_its_own_dashboard_until_it_expires(
    sandbox: Any,
    sellers: tuple[Any, Any],
    admin: Any,
    admin_api: Any,
    caplog: Any,
    settings: Any,
) -> None:
    mine, theirs = sellers
    with caplog.at_level(logging.DEBUG):
        response = admin_api.post("/api/seller/dashboard/")
    body = response.json()
    key = body["key"]
    with httpx.Client(transport=sandbox_transport(sandbox.app), base_url="http://sandbox") as http:
        api_own = http.get("/invoices", headers={"Authorization": f"Bearer {key}"})
        api_foreign = http.get(
            "/invoices",
            headers={"Authorization": f"Bearer {key}", "x-entity-id": theirs.entity_id},
        )
    own = open_dashboard(sandbox.app, mine.entity_id, key)
    foreign = open_dashboard(sandbox.app, theirs.entity_id, key)
    sandbox.app.clock = lambda: NOW + dt.timedelta(seconds=900)
    expired = open_dashboard(sandbox.app, mine.entity_id, key)

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    assert body == {
        "entity_id": mine.entity_id,
        "key": key,
        "expires_at": "2026-03-02T09:45:00Z",
        "dashboard_url": settings.SPACE_INVOICES_DASHBOARD_URL,
    }
    assert re.fullmatch(r"ek_sandbox_[0-9a-f]{32}", key)
    assert api_own.status_code == 200
    assert api_foreign.status_code == 403
    assert (own.status_code, foreign.status_code, expired.status_code) == (200, 401, 401)
    event = AuditEvent.objects.get(action="dashboard_key.minted")
    assert (event.actor_id, event.seller_id, event.detail) == (
        admin.pk,
        mine.pk,
        {"key_prefix": key[:15], "expires_at": "2026-03-02T09:45:00.000Z"},
    )
    stored = [json.dumps(event.detail) for event in AuditEvent.objects.all()]
    assert [text for text in stored if key[15:] in text] == []
    assert key[15:] not in caplog.text


@pytest.mark.django_db
def test_the_key_lives_as_long_as_configured_and_points_at_the_configured_dashboard(
    admin_api: Any, settings: Any
) -> None:
    settings.SELLER_DASHBOARD_KEY_TTL = 60
    settings.SPACE_INVOICES_DASHBOARD_URL = "https://app.spaceinvoices.com"

    body = admin_api.post("/api/seller/dashboard/").json()

    assert (body["expires_at"], body["dashboard_url"]) == (
        "2026-03-02T09:31:00Z",
        "https://app.spaceinvoices.com",
    )


@pytest.mark.django_db
def test_a_seller_without_an_entity_gets_a_409_and_no_key(sandbox: Any, api_client: Any) -> None:
    seller = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    api_client.force_authenticate(SellerUserFactory(seller=seller, role=SellerRole.ADMIN).user)

    response = api_client.post("/api/seller/dashboard/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The seller's Space Invoices entity does not exist yet; try again later.",
        "field": None,
        "code": "entity_pending",
    }
    assert AuditEvent.objects.filter(action="dashboard_key.minted").exists() is False
