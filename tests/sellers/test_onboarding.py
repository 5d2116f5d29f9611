import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import UserManager
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import AuditEvent
from invoicing import seller_entities
from invoicing.client import SpaceInvoicesClient, Transient
from sellers import onboarding
from sellers.models import Seller, SellerRole, SellerStatus, SellerUser
from tests.factories import SellerFactory, UserFactory, operator_user

pytestmark = pytest.mark.django_db

SELLER = {
    "business_name": "Alpine Crafts d.o.o.",
    "address": "Trubarjeva 1",
    "post_code": "1000",
    "city": "Ljubljana",
    "country": "SI",
    "email": "billing@alpine.example",
    "tax_number": "SI 5022 3054",
    "primary_colour": "#AA3300",
    "invoice_footer": "Thank you for buying local.",
}


@pytest.fixture
def operator_client(api_client):
    api_client.force_authenticate(
        operator_user("sellers.view_seller", "sellers.add_seller", username="operator")
    )
    return api_client


def test_operator_onboards_seller_and_entity_is_created_with_branding(
    operator_client, sandbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = operator_client.post("/api/sellers/", SELLER, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "pending"
    assert len(callbacks) == 1
    seller = Seller.objects.get()
    assert seller.status == SellerStatus.ACTIVE
    assert seller.tax_number == "SI50223054"
    assert seller.entity_id is not None
    assert seller.entity_id.startswith("ent_")
    entity = sandbox.client().entity_get(entity_id=seller.entity_id)
    assert entity["name"] == "Alpine Crafts d.o.o."
    assert entity["country_code"] == "SI"
    assert entity["currency_code"] == "EUR"
    assert entity["metadata"] == {"seller_id": str(seller.pk)}
    assert entity["settings"]["primary_color"] == "#AA3300"
    assert entity["settings"]["document_footer"] == "Thank you for buying local."
    assert entity["settings"]["number_formats"] == {
        "invoice": "{yyyy}-{nnnnn}",
        "credit_note": "CN-{yyyy}-{nnnnn}",
    }


def test_seller_signs_up_with_its_admin_user(
    api_client, sandbox, django_capture_on_commit_callbacks
):
    body = {**SELLER, "username": "alpine", "password": "a-long-password"}
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/sellers/signup/", body, format="json")

    assert response.status_code == 201, response.json()
    membership = SellerUser.objects.select_related("seller", "user").get()
    assert membership.user.username == "alpine"
    assert membership.role == SellerRole.ADMIN
    # SELLER_APPROVAL_REQUIRED (on by default): the entity exists, an operator approves.
    assert membership.seller.status == SellerStatus.AWAITING_APPROVAL
    assert membership.seller.entity_id is not None
    assert membership.seller.vies_valid is True


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"country": "XX"}, "country", "'XX' is not an ISO 3166-1 alpha-2 country code."),
        (
            {"tax_number": "SI50223055"},
            "tax_number",
            "'SI50223055' is not a valid tax number for SI.",
        ),
        (
            {"tax_number": "DE136695976"},
            "tax_number",
            "'DE136695976' is not a valid tax number for SI.",
        ),
        ({"tax_number": ""}, "tax_number", "A tax subject needs a tax number."),
        ({"business_name": ""}, "business_name", "business_name: This field may not be blank."),
        ({"primary_colour": "red"}, "primary_colour", None),
    ],
)
def test_bad_onboarding_input_is_a_400_naming_the_field_and_writes_nothing(
    operator_client, change, field, message, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = operator_client.post("/api/sellers/", {**SELLER, **change}, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == field
    if message is not None:
        assert response.json()["detail"] == message
    assert Seller.objects.count() == 0
    assert callbacks == []


def test_missing_name_is_named(operator_client):
    body = {key: value for key, value in SELLER.items() if key != "business_name"}
    response = operator_client.post("/api/sellers/", body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "business_name"
    assert response.json()["detail"] == "business_name: This field is required."


def test_failed_signup_leaves_no_user_behind(api_client):
    body = {**SELLER, "country": "XX", "username": "alpine", "password": "a-long-password"}
    response = api_client.post("/api/sellers/signup/", body, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "country"
    assert get_user_model().objects.filter(username="alpine").exists() is False
    assert Seller.objects.count() == 0


SIGNUP = {**SELLER, "username": "alpine", "password": "a-long-password"}


@pytest.mark.parametrize(
    ("change", "field", "detail"),
    [
        ({"password": "password"}, "password", "This password is too common."),
        (
            {"password": "alpine1"},
            "password",
            "The password is too similar to the username. "
            "This password is too short. It must contain at least 8 characters.",
        ),
        (
            {"username": "alpine crafts"},
            "username",
            "username: Enter a valid username. This value may contain only letters, numbers, "
            "and @/./+/-/_ characters.",
        ),
    ],
)
def test_a_signup_with_a_weak_password_or_bad_username_is_a_400_and_writes_nothing(
    api_client, django_capture_on_commit_callbacks, change, field, detail
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post("/api/sellers/signup/", {**SIGNUP, **change}, format="json")

    assert response.status_code == 400
    assert (response.json()["field"], response.json()["detail"]) == (field, detail)
    assert get_user_model().objects.count() == 0
    assert Seller.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert callbacks == []


def test_a_signup_with_a_taken_username_is_a_400_and_writes_nothing(
    api_client, django_capture_on_commit_callbacks
):
    UserFactory(username="alpine")

    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post("/api/sellers/signup/", SIGNUP, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "This username is taken.",
        "field": "username",
        "code": "invalid",
    }
    assert get_user_model().objects.count() == 1
    assert Seller.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_simultaneous_signups_for_one_username_make_one_seller_and_a_400(sandbox, monkeypatch):
    # Both requests get past every check before either creates its user, then both insert.
    both_about_to_insert = threading.Barrier(2, timeout=30)
    create_user = UserManager.create_user

    def create_user_when_both_are_here(self, *args, **kwargs):
        both_about_to_insert.wait()
        return create_user(self, *args, **kwargs)

    monkeypatch.setattr(UserManager, "create_user", create_user_when_both_are_here)

    def sign_up(business_name):
        try:
            body = {**SIGNUP, "business_name": business_name}
            return APIClient().post("/api/sellers/signup/", body, format="json")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(sign_up, ["Alpine Crafts d.o.o.", "Alpine Copy d.o.o."]))

    statuses = sorted(response.status_code for response in responses)
    refused = next(response.json() for response in responses if response.status_code == 400)
    created = next(response.json() for response in responses if response.status_code == 201)
    seller = Seller.objects.get()
    assert statuses == [201, 400]
    assert refused == {"detail": "This username is taken.", "field": "username", "code": "invalid"}
    assert (seller.pk, seller.business_name) == (created["id"], created["business_name"])
    assert seller.status == SellerStatus.AWAITING_APPROVAL
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["alpine"]
    assert SellerUser.objects.get().seller_id == seller.pk
    assert list(AuditEvent.objects.order_by("pk").values_list("action", "seller_id")) == [
        ("seller.onboarded", seller.pk),
        ("seller.awaiting_approval", seller.pk),
    ]


def test_only_operators_onboard_through_the_seller_list(api_client):
    api_client.force_authenticate(UserFactory())
    assert api_client.post("/api/sellers/", SELLER, format="json").status_code == 403
    api_client.force_authenticate(None)
    assert api_client.get("/api/sellers/").status_code in (401, 403)


def _client_answering(status: int, body: dict[str, object]) -> SpaceInvoicesClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    return SpaceInvoicesClient(
        base_url="http://si", api_key="sk_sandbox_x", http=httpx.Client(transport=transport)
    )


def test_rejected_entity_marks_seller_failed_with_reason_and_can_be_requested_again(
    sandbox, django_capture_on_commit_callbacks
):
    seller = SellerFactory(status=SellerStatus.PENDING, entity_id=None, entity_request_id="r1")
    rejection = {
        "code": "validation_error",
        "message": "Invalid entity",
        "cause": {"issues": [{"path": ["tax_number"], "message": "not valid"}]},
    }

    seller_entities.seller_entity_create(
        seller_id=seller.pk, client=_client_answering(422, rejection)
    )

    seller.refresh_from_db()
    assert seller.status == SellerStatus.FAILED
    assert seller.entity_error == "422 validation_error: tax_number: not valid"

    with django_capture_on_commit_callbacks(execute=True):
        onboarding.seller_entity_request(seller=seller)
    seller.refresh_from_db()
    assert seller.status == SellerStatus.ACTIVE
    assert seller.entity_request_id != "r1"
    assert seller.entity_error == ""


def test_transient_entity_failure_keeps_seller_pending_for_retry():
    seller = SellerFactory(status=SellerStatus.PENDING, entity_id=None, entity_request_id="r1")
    with pytest.raises(Transient):
        seller_entities.seller_entity_create(
            seller_id=seller.pk, client=_client_answering(503, {"code": "unavailable"})
        )
    seller.refresh_from_db()
    assert seller.status == SellerStatus.PENDING
    assert seller.entity_id is None


def test_entity_creation_is_idempotent_by_request_id(sandbox):
    seller = SellerFactory(status=SellerStatus.PENDING, entity_id=None, entity_request_id="r-same")
    first = seller_entities.seller_entity_create(seller_id=seller.pk)
    Seller.objects.filter(pk=seller.pk).update(entity_id=None, status=SellerStatus.PENDING)
    second = seller_entities.seller_entity_create(seller_id=seller.pk)
    assert first.entity_id == second.entity_id
    listed = sandbox.http().get("/entities").json()
    assert [entity["id"] for entity in listed["data"]] == [first.entity_id]


def test_the_sweeper_requests_the_entity_of_a_seller_left_pending_only_once_per_period(
    sandbox, settings, django_capture_on_commit_callbacks
):
    """A seller whose entity task was lost (the broker was away at onboarding) gets its entity
    from the sweeper; a seller onboarded a moment ago, or active, or failed, is left alone."""
    lost = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    fresh = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    failed = SellerFactory(status=SellerStatus.FAILED, entity_id=None)
    long_ago = timezone.now() - settings.INVOICE_PENDING_SWEEP_AFTER * 2
    Seller.objects.filter(pk__in=[lost.pk, failed.pk]).update(updated_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        swept = seller_entities.seller_entity_sweep_pending()
    again = seller_entities.seller_entity_sweep_pending()

    assert (swept, again) == ([lost.pk], [])
    statuses = dict(Seller.objects.values_list("pk", "status"))
    assert (statuses[lost.pk], statuses[fresh.pk], statuses[failed.pk]) == (
        SellerStatus.ACTIVE,
        SellerStatus.PENDING,
        SellerStatus.FAILED,
    )
    assert Seller.objects.get(pk=lost.pk).entity_id.startswith("ent_")
