"""Who may use the seller endpoints: the seller always comes from the requester's membership."""

import httpx
import pytest
from django.contrib.auth import get_user_model

from core.models import AuditEvent
from invoicing import gateway
from invoicing.client import SpaceInvoicesClient
from invoicing.sandbox import sandbox_transport
from invoicing.seller_entities import seller_entity_create
from sellers.models import Seller, SellerRole, SellerStatus, SellerUser
from tests.factories import SellerFactory, SellerUserFactory, UserFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["operator", "admin", "editor", "viewer", "buyer", "other_admin", "anonymous"]
NEW_MEMBER = {
    "username": "newbie",
    "email": "newbie@example.com",
    "password": "a-long-password",
    "role": "viewer",
}


def active_seller(capture):
    """A seller whose entity exists in the sandbox."""
    pending = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    with capture(execute=True):
        return seller_entity_create(seller_id=pending.pk)


@pytest.fixture
def world(sandbox, django_capture_on_commit_callbacks):
    mine, theirs = (active_seller(django_capture_on_commit_callbacks) for _ in range(2))
    people = {
        "operator": UserFactory(username="operator", is_staff=True, is_superuser=True),
        "admin": SellerUserFactory(seller=mine, role=SellerRole.ADMIN).user,
        "editor": SellerUserFactory(seller=mine, role=SellerRole.EDITOR).user,
        "viewer": SellerUserFactory(seller=mine, role=SellerRole.VIEWER).user,
        "buyer": UserFactory(),
        "other_admin": SellerUserFactory(seller=theirs, role=SellerRole.ADMIN).user,
        "anonymous": None,
    }
    return {"mine": mine, "theirs": theirs, "people": people}


def as_persona(api_client, world, persona):
    api_client.force_authenticate(world["people"][persona])
    return api_client


def viewer_membership(world):
    return SellerUser.objects.get(user=world["people"]["viewer"])


@pytest.mark.parametrize(
    ("persona", "expected"),
    list(zip(PERSONAS, [403, 200, 403, 403, 403, 200, 401], strict=True)),
)
def test_listing_members(api_client, world, persona, expected):
    response = as_persona(api_client, world, persona).get("/api/seller/users/")
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("persona", "expected"),
    list(zip(PERSONAS, [403, 201, 403, 403, 403, 201, 401], strict=True)),
)
def test_adding_a_member(api_client, world, persona, expected):
    response = as_persona(api_client, world, persona).post(
        "/api/seller/users/", NEW_MEMBER, format="json"
    )
    assert response.status_code == expected
    assert get_user_model().objects.filter(username="newbie").exists() is (expected == 201)


@pytest.mark.parametrize(
    ("persona", "expected", "role_after"),
    [
        ("operator", 403, "viewer"),
        ("admin", 200, "editor"),
        ("editor", 403, "viewer"),
        ("viewer", 403, "viewer"),
        ("buyer", 403, "viewer"),
        ("other_admin", 404, "viewer"),
        ("anonymous", 401, "viewer"),
    ],
)
def test_changing_a_members_role(api_client, world, persona, expected, role_after):
    member = viewer_membership(world)
    response = as_persona(api_client, world, persona).patch(
        f"/api/seller/users/{member.pk}/", {"role": "editor"}, format="json"
    )
    assert response.status_code == expected
    member.refresh_from_db()
    assert member.role == role_after


@pytest.mark.parametrize(
    ("persona", "expected"),
    list(zip(PERSONAS, [403, 204, 403, 403, 403, 404, 401], strict=True)),
)
def test_removing_a_member(api_client, world, persona, expected):
    member = viewer_membership(world)
    response = as_persona(api_client, world, persona).delete(f"/api/seller/users/{member.pk}/")
    assert response.status_code == expected
    assert SellerUser.objects.filter(pk=member.pk).exists() is (expected != 204)


@pytest.mark.parametrize(
    ("persona", "expected"),
    list(zip(PERSONAS, [403, 201, 403, 403, 403, 201, 401], strict=True)),
)
def test_opening_the_dashboard(api_client, world, persona, expected):
    response = as_persona(api_client, world, persona).post("/api/seller/dashboard/")
    assert response.status_code == expected
    minted = AuditEvent.objects.filter(action="dashboard_key.minted").count()
    assert minted == (1 if expected == 201 else 0)


@pytest.mark.parametrize(
    ("persona", "expected"),
    list(zip(PERSONAS, [403, 200, 200, 200, 403, 200, 401], strict=True)),
)
def test_reading_the_own_seller(api_client, world, persona, expected):
    response = as_persona(api_client, world, persona).get("/api/seller/")
    assert response.status_code == expected


def test_another_sellers_admin_works_on_its_own_seller_only(api_client, world):
    mine, theirs = world["mine"], world["theirs"]
    client = as_persona(api_client, world, "other_admin")

    listed = client.get(f"/api/seller/users/?seller={mine.pk}").json()["results"]
    added = client.post("/api/seller/users/", {**NEW_MEMBER, "seller": mine.pk}, format="json")
    assert added.status_code == 201
    dashboard = client.post("/api/seller/dashboard/", {"seller": mine.pk}, format="json")

    assert [row["username"] for row in listed] == [world["people"]["other_admin"].username]
    assert SellerUser.objects.get(user__username="newbie").seller_id == theirs.pk
    assert dashboard.json()["entity_id"] == theirs.entity_id
    assert AuditEvent.objects.get(action="dashboard_key.minted").seller_id == theirs.pk


REFUSED = "Space Invoices refused to open the dashboard; ask the marketplace's operators."
UNAVAILABLE = "Space Invoices did not answer; try again in a minute."


@pytest.mark.parametrize(
    ("trouble", "code", "detail"),
    [
        ("entity_unknown", "space_invoices_refused", REFUSED),
        ("key_refused", "space_invoices_refused", REFUSED),
        ("outage", "space_invoices_unavailable", UNAVAILABLE),
    ],
)
def test_a_dashboard_space_invoices_will_not_open_is_a_502_with_no_key_and_no_audit(
    api_client, world, sandbox, monkeypatch, trouble, code, detail
):
    mine = world["mine"]
    if trouble == "entity_unknown":
        Seller.objects.filter(pk=mine.pk).update(entity_id="ent_000000000000000000000000")
    elif trouble == "key_refused":
        http = httpx.Client(transport=sandbox_transport(sandbox.app), base_url="http://sandbox")
        monkeypatch.setattr(
            gateway,
            "space_invoices_client",
            lambda: SpaceInvoicesClient(base_url="http://sandbox", api_key="sk_revoked", http=http),
        )
    else:
        assert sandbox.http().post("/sandbox/faults", json={"error_rate": 1}).status_code == 200

    response = as_persona(api_client, world, "admin").post("/api/seller/dashboard/")

    assert response.status_code == 502
    assert response.json() == {"detail": detail, "field": None, "code": code}
    assert AuditEvent.objects.filter(action="dashboard_key.minted").count() == 0
    assert sandbox.http().post("/sandbox/faults", json={}).status_code == 200
    keys = sandbox.http().get("/entities/api-keys", headers={"x-entity-id": mine.entity_id})
    assert keys.json()["data"] == []
