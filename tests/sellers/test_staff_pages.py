"""The seller's staff page: invite, change a role, remove (asked first), each mirrored to the
users of the seller's entity through sellers.staff."""

import pytest

from core.models import AuditEvent
from invoicing import seller_entities
from sellers.models import MirrorState, SellerRole, SellerStatus, SellerUser
from tests.factories import SellerFactory, SellerUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def remote_users(sandbox, seller):
    users = sandbox.client().entity_user_list(entity_id=seller.entity_id)
    return sorted((user["email"], user["role"]) for user in users)


@pytest.fixture
def seller(sandbox, django_capture_on_commit_callbacks):
    pending = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    SellerUserFactory(
        seller=pending, role=SellerRole.ADMIN, user=UserFactory(username="ana", email="ana@a.si")
    )
    with django_capture_on_commit_callbacks(execute=True):
        return seller_entities.seller_entity_create(seller_id=pending.pk)


@pytest.fixture
def admin(client, seller):
    client.force_login(SellerUser.objects.get(seller=seller).user)
    return client


def test_an_admin_invites_changes_the_role_and_removes_a_member_mirrored_each_time(
    sandbox, seller, admin, django_capture_on_commit_callbacks
):
    invite = {
        "username": "maja",
        "email": "maja@a.si",
        "password": "a-long-pass-99",
        "role": "viewer",
    }
    with django_capture_on_commit_callbacks(execute=True):
        invited = admin.post("/seller/staff/", invite)
    maja = SellerUser.objects.get(user__username="maja")
    page = admin.get("/seller/staff/").content.decode()

    assert invited.status_code == 302
    assert (maja.role, maja.entity_user_state) == (SellerRole.VIEWER, MirrorState.SYNCED)
    assert f'data-member-id="{maja.pk}" data-role="viewer"' in page
    assert ("maja@a.si", "viewer") in remote_users(sandbox, seller)

    with django_capture_on_commit_callbacks(execute=True):
        changed = admin.post(f"/seller/staff/{maja.pk}/role/", {f"m{maja.pk}-role": "editor"})
    assert changed.status_code == 302
    assert SellerUser.objects.get(pk=maja.pk).role == SellerRole.EDITOR
    assert ("maja@a.si", "editor") in remote_users(sandbox, seller)

    asked = admin.get(f"/seller/staff/{maja.pk}/remove/")
    assert 'data-testid="confirm-remove"' in asked.content.decode()
    assert SellerUser.objects.filter(pk=maja.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        removed = admin.post(f"/seller/staff/{maja.pk}/remove/")
    assert removed.status_code == 302
    assert not SellerUser.objects.filter(pk=maja.pk).exists()
    assert [email for email, _ in remote_users(sandbox, seller)] == ["ana@a.si"]
    assert list(
        AuditEvent.objects.filter(action__startswith="seller_user.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["seller_user.added", "seller_user.role_changed", "seller_user.removed"]


def test_bad_invites_are_shown_next_to_the_field_and_nothing_is_written(seller, admin):
    taken = admin.post(
        "/seller/staff/",
        {"username": "maja", "email": "ana@a.si", "password": "a-long-pass-99", "role": "viewer"},
    )
    bad_role = admin.post(
        "/seller/staff/",
        {"username": "maja", "email": "maja@a.si", "password": "a-long-pass-99", "role": "owner"},
    )

    assert taken.status_code == 400
    assert taken.context["form"].errors == {
        "email": ["Another member of this seller has this email."]
    }
    assert bad_role.status_code == 400
    assert list(bad_role.context["form"].errors) == ["role"]
    assert SellerUser.objects.filter(seller=seller).count() == 1


def test_the_last_admin_cannot_be_removed_or_demoted(seller, admin):
    ana = SellerUser.objects.get(seller=seller)

    demoted = admin.post(
        f"/seller/staff/{ana.pk}/role/", {f"m{ana.pk}-role": "viewer"}, follow=True
    )
    removed = admin.post(f"/seller/staff/{ana.pk}/remove/")

    assert "ana: A seller needs an admin: make another member admin first." in (
        demoted.content.decode()
    )
    assert removed.status_code == 400
    assert SellerUser.objects.get(pk=ana.pk).role == SellerRole.ADMIN


def test_editors_get_403_and_another_sellers_member_404(client, seller, admin):
    other = SellerUserFactory(role=SellerRole.VIEWER)
    editor = SellerUserFactory(seller=seller, role=SellerRole.EDITOR)

    assert admin.get(f"/seller/staff/{other.pk}/remove/").status_code == 404
    assert admin.post(f"/seller/staff/{other.pk}/role/", {}).status_code == 404
    client.force_login(editor.user)
    assert client.get("/seller/staff/").status_code == 403
    assert SellerUser.objects.filter(pk=other.pk).exists()
