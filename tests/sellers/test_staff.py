"""Seller admins manage their staff; each member is mirrored as a user of the seller's entity."""

import pytest
from django.contrib.auth import get_user_model

from core.models import AuditEvent
from invoicing import seller_entities
from sellers import staff
from sellers.models import MirrorState, RemovedEntityUser, SellerRole, SellerStatus, SellerUser
from tests.factories import SellerFactory, SellerUserFactory, UserFactory

pytestmark = pytest.mark.django_db

MAJA = {
    "username": "maja",
    "email": "maja@alpine.example",
    "password": "a-long-password",
    "role": "viewer",
}


def remote_users(sandbox, seller):
    """(email, role, id) of every user of the seller's entity, as Space Invoices lists them."""
    users = sandbox.client().entity_user_list(entity_id=seller.entity_id)
    return sorted((user["email"], user["role"], user["id"]) for user in users)


def activate(seller, capture):
    with capture(execute=True):
        return seller_entities.seller_entity_create(seller_id=seller.pk)


def staff_audit():
    return list(
        AuditEvent.objects.filter(action__startswith="seller_user.")
        .order_by("pk")
        .values_list("action", "actor__username", "seller_id", "detail")
    )


@pytest.fixture
def pending_seller():
    seller = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    SellerUserFactory(
        seller=seller,
        role=SellerRole.ADMIN,
        user=UserFactory(username="ana", email="ana@alpine.example"),
    )
    return seller


@pytest.fixture
def seller(sandbox, pending_seller, django_capture_on_commit_callbacks):
    return activate(pending_seller, django_capture_on_commit_callbacks)


@pytest.fixture
def admin_client(api_client, pending_seller):
    api_client.force_authenticate(get_user_model().objects.get(username="ana"))
    return api_client


def add_maja(admin_client, capture, **changes):
    with capture(execute=True):
        response = admin_client.post("/api/seller/users/", {**MAJA, **changes}, format="json")
    assert response.status_code == 201, response.json()
    return SellerUser.objects.get(user__username="maja")


def test_activating_a_seller_mirrors_its_existing_members(sandbox, seller):
    ana = SellerUser.objects.get(user__username="ana")

    assert ana.entity_user_state == MirrorState.SYNCED
    assert remote_users(sandbox, seller) == [("ana@alpine.example", "admin", ana.entity_user_id)]


def test_an_added_member_is_mirrored_with_its_role(
    sandbox, seller, admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            "/api/seller/users/", {**MAJA, "role": "editor"}, format="json"
        )

    maja = SellerUser.objects.select_related("user").get(user__username="maja")
    ana = SellerUser.objects.get(user__username="ana")
    body = response.json()
    assert response.status_code == 201
    assert {key: value for key, value in body.items() if key != "created_at"} == {
        "id": maja.pk,
        "username": "maja",
        "email": "maja@alpine.example",
        "role": "editor",
        "entity_user_id": None,
        "mirror_state": "pending",
        "mirror_error": "",
    }
    assert len(callbacks) == 1
    assert maja.user.check_password("a-long-password")
    assert maja.entity_user_state == MirrorState.SYNCED
    assert remote_users(sandbox, seller) == sorted(
        [
            ("ana@alpine.example", "admin", ana.entity_user_id),
            ("maja@alpine.example", "editor", maja.entity_user_id),
        ]
    )
    assert staff_audit() == [
        (
            "seller_user.added",
            "ana",
            seller.pk,
            {"seller_user_id": maja.pk, "user_id": maja.user_id, "role": "editor"},
        )
    ]


def test_the_member_list_shows_roles_and_mirror_state(
    seller, admin_client, django_capture_on_commit_callbacks
):
    maja = add_maja(admin_client, django_capture_on_commit_callbacks)
    ana = SellerUser.objects.get(user__username="ana")

    rows = admin_client.get("/api/seller/users/").json()["results"]

    assert [
        (row["id"], row["username"], row["role"], row["entity_user_id"], row["mirror_state"])
        for row in rows
    ] == [
        (ana.pk, "ana", "admin", ana.entity_user_id, "synced"),
        (maja.pk, "maja", "viewer", maja.entity_user_id, "synced"),
    ]


def test_a_role_change_replaces_the_remote_user_with_one_of_the_new_role(
    sandbox, seller, admin_client, django_capture_on_commit_callbacks
):
    maja = add_maja(admin_client, django_capture_on_commit_callbacks)
    old_remote_id = maja.entity_user_id

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.patch(
            f"/api/seller/users/{maja.pk}/", {"role": "editor"}, format="json"
        )

    maja.refresh_from_db()
    assert response.status_code == 200
    assert response.json()["role"] == "editor"
    assert maja.entity_user_state == MirrorState.SYNCED
    assert maja.entity_user_id != old_remote_id
    mirrored = [user for user in remote_users(sandbox, seller) if user[0] == "maja@alpine.example"]
    assert mirrored == [("maja@alpine.example", "editor", maja.entity_user_id)]
    assert staff_audit()[-1] == (
        "seller_user.role_changed",
        "ana",
        seller.pk,
        {"seller_user_id": maja.pk, "user_id": maja.user_id, "from": "viewer", "to": "editor"},
    )


def test_giving_the_same_role_changes_nothing(
    seller, admin_client, django_capture_on_commit_callbacks
):
    maja = add_maja(admin_client, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.patch(
            f"/api/seller/users/{maja.pk}/", {"role": "viewer"}, format="json"
        )

    assert response.status_code == 200
    assert callbacks == []
    assert [row[0] for row in staff_audit()] == ["seller_user.added"]


def test_a_removed_member_loses_its_account_and_its_remote_user(
    sandbox, seller, admin_client, django_capture_on_commit_callbacks
):
    maja = add_maja(admin_client, django_capture_on_commit_callbacks)
    ana = SellerUser.objects.get(user__username="ana")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.delete(f"/api/seller/users/{maja.pk}/")

    assert response.status_code == 204
    assert SellerUser.objects.filter(pk=maja.pk).exists() is False
    assert get_user_model().objects.get(pk=maja.user_id).is_active is False
    assert remote_users(sandbox, seller) == [("ana@alpine.example", "admin", ana.entity_user_id)]
    removal = RemovedEntityUser.objects.get()
    assert (removal.entity_user_id, removal.attempts, removal.last_error) == (
        maja.entity_user_id,
        1,
        "",
    )
    assert removal.resolved_at is not None
    assert staff_audit()[-1] == (
        "seller_user.removed",
        "ana",
        seller.pk,
        {"seller_user_id": maja.pk, "user_id": maja.user_id, "role": "viewer"},
    )


def test_members_wait_for_the_entity_and_are_mirrored_when_it_exists(
    sandbox, pending_seller, admin_client, django_capture_on_commit_callbacks
):
    maja = add_maja(admin_client, django_capture_on_commit_callbacks)
    waited = (maja.entity_user_state, maja.entity_user_id)

    seller = activate(pending_seller, django_capture_on_commit_callbacks)

    maja.refresh_from_db()
    ana = SellerUser.objects.get(user__username="ana")
    assert waited == (MirrorState.PENDING, None)
    assert remote_users(sandbox, seller) == sorted(
        [
            ("ana@alpine.example", "admin", ana.entity_user_id),
            ("maja@alpine.example", "viewer", maja.entity_user_id),
        ]
    )


@pytest.mark.parametrize(
    ("method", "body", "field"),
    [("patch", {"role": "editor"}, "role"), ("delete", None, "id")],
)
def test_the_last_admin_cannot_step_down_or_be_removed(
    seller, admin_client, django_capture_on_commit_callbacks, method, body, field
):
    ana = SellerUser.objects.get(user__username="ana")

    with django_capture_on_commit_callbacks() as callbacks:
        response = getattr(admin_client, method)(
            f"/api/seller/users/{ana.pk}/", body, format="json"
        )

    ana.refresh_from_db()
    assert response.status_code == 400
    assert response.json() == {
        "detail": "A seller needs an admin: make another member admin first.",
        "field": field,
        "code": "last_admin",
    }
    assert (ana.role, ana.user.is_active) == (SellerRole.ADMIN, True)
    assert staff_audit() == []
    assert callbacks == []


def test_an_admin_steps_down_when_another_admin_remains(
    seller, admin_client, django_capture_on_commit_callbacks
):
    add_maja(admin_client, django_capture_on_commit_callbacks, role="admin")
    ana = SellerUser.objects.get(user__username="ana")

    response = admin_client.patch(f"/api/seller/users/{ana.pk}/", {"role": "viewer"})

    assert response.status_code == 200
    assert response.json()["role"] == "viewer"


@pytest.mark.parametrize(
    ("change", "field", "detail"),
    [
        ({"role": "owner"}, "role", 'role: "owner" is not a valid choice.'),
        ({"username": "ana"}, "username", "This username is taken."),
        (
            {"username": "not ok!"},
            "username",
            "username: Enter a valid username. This value may contain only letters, numbers, "
            "and @/./+/-/_ characters.",
        ),
        (
            {"email": "ANA@alpine.example"},
            "email",
            "Another member of this seller has this email.",
        ),
        ({"email": "maja"}, "email", "email: Enter a valid email address."),
        ({"password": "password"}, "password", "This password is too common."),
    ],
)
def test_bad_member_input_is_a_400_naming_the_field_and_writes_nothing(
    seller, admin_client, django_capture_on_commit_callbacks, change, field, detail
):
    users_before = get_user_model().objects.count()

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post("/api/seller/users/", {**MAJA, **change}, format="json")

    assert response.status_code == 400
    assert (response.json()["field"], response.json()["detail"]) == (field, detail)
    assert get_user_model().objects.count() == users_before
    assert SellerUser.objects.count() == 1
    assert staff_audit() == []
    assert callbacks == []


def test_an_unknown_role_change_is_a_400_and_changes_nothing(
    seller, admin_client, django_capture_on_commit_callbacks
):
    maja = add_maja(admin_client, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.patch(f"/api/seller/users/{maja.pk}/", {"role": "owner"})

    maja.refresh_from_db()
    assert response.status_code == 400
    assert response.json()["field"] == "role"
    assert maja.role == SellerRole.VIEWER
    assert callbacks == []


def test_a_rejected_mirror_is_marked_failed_and_can_be_asked_again(
    sandbox, seller, django_capture_on_commit_callbacks
):
    member = SellerUserFactory(
        seller=seller, role=SellerRole.EDITOR, user=UserFactory(username="nomail", email="")
    )

    seller_entities.seller_user_mirror(seller_user_id=member.pk)
    member.refresh_from_db()
    failed = (member.entity_user_state, member.entity_user_error)
    get_user_model().objects.filter(pk=member.user_id).update(email="nomail@alpine.example")
    with django_capture_on_commit_callbacks(execute=True):
        asked = staff.seller_user_mirror_request(seller_user=member)

    member.refresh_from_db()
    assert failed[0] == MirrorState.FAILED
    assert "email" in failed[1]
    assert asked is True
    assert member.entity_user_state == MirrorState.SYNCED
    assert ("nomail@alpine.example", "editor", member.entity_user_id) in remote_users(
        sandbox, seller
    )


def test_a_lost_answer_is_replayed_into_one_remote_user(sandbox, seller):
    ana = SellerUser.objects.get(user__username="ana")
    remote_id = ana.entity_user_id
    # The user was created but the answer never reached the row.
    SellerUser.objects.filter(pk=ana.pk).update(
        entity_user_id=None, entity_user_state=MirrorState.PENDING
    )

    seller_entities.seller_user_mirror(seller_user_id=ana.pk)

    ana.refresh_from_db()
    assert (ana.entity_user_state, ana.entity_user_id) == (MirrorState.SYNCED, remote_id)
    assert remote_users(sandbox, seller) == [("ana@alpine.example", "admin", remote_id)]


@pytest.mark.parametrize("meanwhile", ["role_changed", "removed"])
def test_a_user_created_for_a_member_that_changed_meanwhile_is_deleted(
    sandbox, seller, monkeypatch, meanwhile
):
    member = SellerUserFactory(
        seller=seller, role=SellerRole.VIEWER, user=UserFactory(email="ivo@alpine.example")
    )
    client = sandbox.client()
    create = client.entity_user_create

    def create_while_the_member_changes(**kwargs):
        created = create(**kwargs)
        if meanwhile == "removed":
            SellerUser.objects.filter(pk=member.pk).delete()
        else:
            SellerUser.objects.filter(pk=member.pk).update(
                role=SellerRole.EDITOR, entity_user_request_id="mkt-entity-user-next"
            )
        return created

    monkeypatch.setattr(client, "entity_user_create", create_while_the_member_changes)

    seller_entities.seller_user_mirror(seller_user_id=member.pk, client=client)

    emails = [email for email, _, _ in remote_users(sandbox, seller)]
    assert emails == ["ana@alpine.example"]
    assert list(
        SellerUser.objects.filter(pk=member.pk).values_list("entity_user_id", flat=True)
    ) == ([] if meanwhile == "removed" else [None])
    assert RemovedEntityUser.objects.count() == 0


def test_a_stray_user_that_cannot_be_deleted_at_once_is_kept_for_the_removal_task(
    sandbox, seller, monkeypatch, django_capture_on_commit_callbacks
):
    member = SellerUserFactory(
        seller=seller, role=SellerRole.VIEWER, user=UserFactory(email="ivo@alpine.example")
    )
    client = sandbox.client()
    create = client.entity_user_create

    def create_then_fail_everything(**kwargs):
        created = create(**kwargs)
        SellerUser.objects.filter(pk=member.pk).delete()
        assert sandbox.http().post("/sandbox/faults", json={"error_rate": 1}).status_code == 200
        return created

    monkeypatch.setattr(client, "entity_user_create", create_then_fail_everything)

    with django_capture_on_commit_callbacks() as callbacks:
        seller_entities.seller_user_mirror(seller_user_id=member.pk, client=client)
    kept = RemovedEntityUser.objects.values_list("seller_id", "user_id", "resolved_at").get()
    assert sandbox.http().post("/sandbox/faults", json={}).status_code == 200
    stray = sorted(email for email, _, _ in remote_users(sandbox, seller))
    callbacks[0]()

    assert kept == (seller.pk, member.user_id, None)
    assert len(callbacks) == 1
    assert stray == ["ana@alpine.example", "ivo@alpine.example"]
    assert [email for email, _, _ in remote_users(sandbox, seller)] == ["ana@alpine.example"]
    assert RemovedEntityUser.objects.get().resolved_at is not None


def test_operators_see_members_with_role_and_remote_user_in_admin(client, seller):
    ana = SellerUser.objects.get(user__username="ana")
    client.force_login(UserFactory(username="operator", is_staff=True, is_superuser=True))

    page = " ".join(
        client.get(f"/admin/sellers/seller/{seller.pk}/change/").content.decode().split()
    )

    assert (
        '<td class="field-role"> <p>Admin</p> </td> '
        f'<td class="field-entity_user_id"> <p>{ana.entity_user_id}</p> </td> '
        '<td class="field-entity_user_state"> <p>Mirrored</p> </td>'
    ) in page


def test_operators_mirror_a_failed_member_again_from_admin(
    sandbox, client, seller, django_capture_on_commit_callbacks
):
    member = SellerUserFactory(
        seller=seller,
        role=SellerRole.VIEWER,
        user=UserFactory(email="ivo@alpine.example"),
        entity_user_state=MirrorState.FAILED,
        entity_user_error="503 service_unavailable",
    )
    request_id = member.entity_user_request_id
    client.force_login(UserFactory(username="operator", is_staff=True, is_superuser=True))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/sellers/selleruser/",
            {"action": "mirror", "_selected_action": [member.pk]},
        )

    member.refresh_from_db()
    assert response.status_code == 302
    assert member.entity_user_state == MirrorState.SYNCED
    assert member.entity_user_request_id != request_id
    assert ("ivo@alpine.example", "viewer", member.entity_user_id) in remote_users(sandbox, seller)


ADD_MEMBER = "/admin/sellers/selleruser/add/"


def test_operators_add_a_member_in_admin_through_the_staff_service(
    sandbox, client, seller, django_capture_on_commit_callbacks
):
    operator = UserFactory(username="operator", is_staff=True, is_superuser=True)
    client.force_login(operator)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(ADD_MEMBER, {**MAJA, "seller": seller.pk, "role": "editor"})

    maja = SellerUser.objects.select_related("user").get(user__username="maja")
    assert response.status_code == 302
    assert response["Location"] == "/admin/sellers/selleruser/"
    assert len(callbacks) == 1
    assert (maja.seller_id, maja.role, maja.user.email) == (
        seller.pk,
        SellerRole.EDITOR,
        "maja@alpine.example",
    )
    assert maja.user.check_password("a-long-password")
    assert maja.entity_user_state == MirrorState.SYNCED
    assert ("maja@alpine.example", "editor", maja.entity_user_id) in remote_users(sandbox, seller)
    assert staff_audit() == [
        (
            "seller_user.added",
            "operator",
            seller.pk,
            {"seller_user_id": maja.pk, "user_id": maja.user_id, "role": "editor"},
        )
    ]


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        (
            {"email": "ANA@alpine.example"},
            {"email": ["Another member of this seller has this email."]},
        ),
        ({"username": "ana"}, {"username": ["This username is taken."]}),
        ({"password": "password"}, {"password": ["This password is too common."]}),
    ],
)
def test_a_member_the_staff_service_refuses_in_admin_shows_on_its_field_and_writes_nothing(
    client, seller, django_capture_on_commit_callbacks, change, errors
):
    client.force_login(UserFactory(username="operator", is_staff=True, is_superuser=True))
    users_before = get_user_model().objects.count()

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(ADD_MEMBER, {**MAJA, "seller": seller.pk, **change})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == errors
    assert get_user_model().objects.count() == users_before
    assert SellerUser.objects.count() == 1
    assert staff_audit() == []
    assert callbacks == []
