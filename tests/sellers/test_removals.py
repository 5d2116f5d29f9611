"""A removed member's user in the seller's entity is deleted for good: a deletion that fails is
kept, shown to operators (admin list, dashboard) and asked again from admin."""

import httpx
import pytest
from django.contrib.messages import get_messages

from core.models import AuditEvent
from invoicing import gateway, seller_entities
from invoicing.client import SpaceInvoicesClient
from invoicing.sandbox import sandbox_transport
from marketplace.celery import app as celery_app
from sellers import staff
from sellers.models import RemovedEntityUser, SellerRole, SellerStatus, SellerUser
from tests.factories import SellerFactory, SellerUserFactory, UserFactory, seller_with_entity

pytestmark = pytest.mark.django_db

REMOVALS = "/admin/sellers/removedentityuser/"


@pytest.fixture
def seller(sandbox, django_capture_on_commit_callbacks):
    """An active seller whose admin, Ana, is a user of its entity."""
    pending = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    SellerUserFactory(
        seller=pending,
        role=SellerRole.ADMIN,
        user=UserFactory(username="ana", email="ana@alpine.example"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        return seller_entities.seller_entity_create(seller_id=pending.pk)


@pytest.fixture
def maja(seller, django_capture_on_commit_callbacks):
    """A viewer of the seller, a user of its entity too."""
    with django_capture_on_commit_callbacks(execute=True):
        membership = staff.seller_user_add(
            seller=seller,
            actor=SellerUser.objects.get(user__username="ana").user,
            username="maja",
            email="maja@alpine.example",
            password="a-long-password",
            role=SellerRole.VIEWER,
        )
    membership.refresh_from_db()
    assert membership.entity_user_id is not None
    return membership


@pytest.fixture
def operator_user():
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def operator(client, operator_user):
    client.force_login(operator_user)
    return client


def remote_emails(sandbox, seller):
    users = sandbox.client().entity_user_list(entity_id=seller.entity_id)
    return sorted(user["email"] for user in users)


def faults(sandbox, **config):
    assert sandbox.http().post("/sandbox/faults", json=config).status_code == 200


def remove(membership, capture):
    ana = SellerUser.objects.get(user__username="ana").user
    with capture(execute=True):
        staff.seller_user_remove(seller_user=membership, actor=ana)


def removal_audit():
    return list(
        AuditEvent.objects.filter(action__startswith="entity_user.")
        .order_by("pk")
        .values_list("action", "actor__username", "seller_id", "detail")
    )


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_deletion_failing_on_every_attempt_is_shown_and_retried_from_admin(
    sandbox, seller, maja, operator, monkeypatch, django_capture_on_commit_callbacks
):
    # Eager retries run at once, one after the other, as a worker would run them.
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    faults(sandbox, error_rate=1)
    remove(maja, django_capture_on_commit_callbacks)
    faults(sandbox)

    removal = RemovedEntityUser.objects.get()
    failed = (removal.entity_user_id, removal.user_id, removal.attempts, removal.last_error)
    still_there = remote_emails(sandbox, seller)
    listing = operator.get(f"{REMOVALS}?state=failed").content.decode()
    index = operator.get("/admin/").content.decode()
    asked = operator.post(REMOVALS, {"action": "delete_again", "_selected_action": [removal.pk]})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        done = operator.post(
            REMOVALS, {"action": "delete_again", "_selected_action": [removal.pk], "post": "yes"}
        )

    removal.refresh_from_db()
    assert failed == (
        maja.entity_user_id,
        maja.user_id,
        9,
        "503 service_unavailable: injected fault: try again",
    )
    assert still_there == ["ana@alpine.example", "maja@alpine.example"]
    assert '<td class="field-state">Failed</td>' in listing
    assert "503 service_unavailable: injected fault: try again" in listing
    assert '<td data-count="removed_users_failed">1</td>' in index
    assert 'href="/admin/sellers/removedentityuser/?state=failed"' in index
    assert asked.context["title"] == "Delete 1 removed user in Space Invoices again?"
    assert asked.context["objects"] == [removal]
    assert messages_of(done) == ["1 removed user queued for deletion."]
    assert len(callbacks) == 1
    assert (removal.attempts, removal.last_error) == (10, "")
    assert removal.resolved_at is not None
    assert remote_emails(sandbox, seller) == ["ana@alpine.example"]
    assert (
        '<td data-count="removed_users_failed">0</td>' in operator.get("/admin/").content.decode()
    )
    detail = {"removal_id": removal.pk, "entity_user_id": maja.entity_user_id}
    assert removal_audit() == [
        ("entity_user.removal_failed", None, seller.pk, detail),
        ("entity_user.removal_retried", "operator", seller.pk, detail),
    ]


def test_a_rejected_deletion_fails_at_once_and_is_asked_anew_with_a_new_key(
    sandbox, seller, maja, operator_user, monkeypatch, django_capture_on_commit_callbacks
):
    # A key of another seller's entity: Space Invoices refuses, and keeps the refusal for the
    # request id, so asking with the same id would only replay it.
    other = seller_with_entity()
    minted = sandbox.client().entity_api_key_create(
        entity_id=other.entity_id, name="other", ttl_seconds=600, request_id="mkt-other-key"
    )
    http = httpx.Client(transport=sandbox_transport(sandbox.app), base_url="http://sandbox")
    monkeypatch.setattr(
        gateway,
        "space_invoices_client",
        lambda: SpaceInvoicesClient(base_url="http://sandbox", api_key=minted["key"], http=http),
    )
    remove(maja, django_capture_on_commit_callbacks)
    monkeypatch.setattr(gateway, "space_invoices_client", sandbox.client)
    removal = RemovedEntityUser.objects.get()
    failed = (removal.attempts, removal.last_error, removal.resolved_at)
    first_request_id = removal.request_id

    with django_capture_on_commit_callbacks(execute=True):
        retried = staff.entity_user_removal_retry(removal=removal, actor=operator_user)

    removal.refresh_from_db()
    assert failed[0] == 1
    assert failed[1].startswith("403 forbidden: ")
    assert failed[2] is None
    assert retried is True
    assert removal.request_id != first_request_id
    assert (removal.attempts, removal.last_error) == (2, "")
    assert removal.resolved_at is not None
    assert remote_emails(sandbox, seller) == ["ana@alpine.example"]


def test_only_failed_deletions_are_asked_again(
    sandbox, seller, maja, operator, django_capture_on_commit_callbacks
):
    remove(maja, django_capture_on_commit_callbacks)
    deleted = RemovedEntityUser.objects.get()
    pending = RemovedEntityUser.objects.create(seller=seller, entity_user_id="usr_pending")

    with django_capture_on_commit_callbacks() as callbacks:
        response = operator.post(
            REMOVALS,
            {"action": "delete_again", "_selected_action": [deleted.pk, pending.pk]},
        )

    assert response.status_code == 302
    assert messages_of(response) == [
        "0 removed users queued for deletion; 2 skipped (1 already deleted, 1 still being deleted)."
    ]
    assert callbacks == []
    assert removal_audit() == []
