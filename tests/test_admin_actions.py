"""Operators' admin actions: a confirmation page first, then the action and what it did.

Onboarding a seller in admin goes through the onboarding service.
"""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages

from core.models import AuditEvent
from invoicing import services
from invoicing.models import Document, DocumentState
from sellers.models import MirrorState, RemovedEntityUser, Seller, SellerStatus, SellerUser
from tests.factories import (
    InvoiceFactory,
    OrderFactory,
    SellerFactory,
    SellerUserFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

DOCUMENTS = "/admin/invoicing/document/"
SELLERS = "/admin/sellers/seller/"


@pytest.fixture
def user():
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def operator(client, user):
    client.force_login(user)
    return client


def document(state, **fields):
    if state == DocumentState.ISSUED:
        return InvoiceFactory(**fields)
    return InvoiceFactory(state=state, remote_id=None, number="", shareable_id="", **fields)


def failed(reason="422 validation_error: items.0.price"):
    return document(DocumentState.FAILED, attempts=1, last_error=reason)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def states(documents):
    return [Document.objects.get(pk=d.pk).state for d in documents]


def test_retry_asks_first_and_changes_nothing(operator, django_capture_on_commit_callbacks):
    first, second, issued = failed(), failed(), document(DocumentState.ISSUED)

    with django_capture_on_commit_callbacks() as callbacks:
        response = operator.post(
            DOCUMENTS, {"action": "retry", "_selected_action": [first.pk, second.pk, issued.pk]}
        )

    assert response.status_code == 200
    assert response.template_name == "admin/action_confirmation.html"
    assert response.context["title"] == "Retry 2 failed documents?"
    assert response.context["objects"] == [first, second]
    assert response.context["skipped"] == [("already issued", 1)]
    html = response.content.decode()
    assert f'href="/admin/invoicing/document/{first.pk}/change/"' in html
    assert '<input type="hidden" name="post" value="yes">' in html
    assert states([first, second, issued]) == ["failed", "failed", "issued"]
    assert callbacks == []
    assert AuditEvent.objects.count() == 0
    assert messages_of(response) == []


def test_confirmed_retry_queues_the_failed_documents_and_audits(
    operator, user, django_capture_on_commit_callbacks
):
    first, second, issued = failed(), failed(), document(DocumentState.ISSUED)

    with django_capture_on_commit_callbacks() as callbacks:
        response = operator.post(
            DOCUMENTS,
            {
                "action": "retry",
                "_selected_action": [first.pk, second.pk, issued.pk],
                "post": "yes",
            },
        )

    assert response.status_code == 302
    assert messages_of(response) == ["2 documents queued for retry; 1 skipped (already issued)."]
    assert states([first, second, issued]) == ["pending", "pending", "issued"]
    assert len(callbacks) == 2
    assert list(
        AuditEvent.objects.order_by("document_id").values_list("action", "actor", "document_id")
    ) == [("document.retried", user.pk, first.pk), ("document.retried", user.pk, second.pk)]


def test_retry_names_each_reason_for_skipping(operator, django_capture_on_commit_callbacks):
    chosen = [failed(), document(DocumentState.ISSUED), document(DocumentState.PENDING)]
    data = {"action": "retry", "_selected_action": [d.pk for d in chosen]}

    asked = operator.post(DOCUMENTS, data)
    with django_capture_on_commit_callbacks() as callbacks:
        done = operator.post(DOCUMENTS, {**data, "post": "yes"})

    assert asked.context["title"] == "Retry 1 failed document?"
    assert asked.context["skipped"] == [("already issued", 1), ("still pending", 1)]
    assert messages_of(done) == [
        "1 document queued for retry; 2 skipped (1 already issued, 1 still pending)."
    ]
    assert states(chosen) == ["pending", "issued", "pending"]
    assert len(callbacks) == 1


def test_retry_with_nothing_to_retry_says_so_without_asking(
    operator, django_capture_on_commit_callbacks
):
    issued = document(DocumentState.ISSUED)

    with django_capture_on_commit_callbacks() as callbacks:
        response = operator.post(DOCUMENTS, {"action": "retry", "_selected_action": [issued.pk]})

    assert response.status_code == 302
    assert messages_of(response) == ["0 documents queued for retry; 1 skipped (already issued)."]
    assert states([issued]) == ["issued"]
    assert callbacks == []
    assert AuditEvent.objects.filter(action="document.retried").count() == 0


def test_retry_of_a_credit_note_whose_goods_were_credited_since_is_refused_with_its_reason(
    operator, django_capture_on_commit_callbacks
):
    invoice = document(DocumentState.ISSUED)
    mug = invoice.lines.get()
    rejected = services.credit_note_request(
        invoice=invoice, lines=[services.CreditLine(mug.order_line_id, 1)]
    )
    Document.objects.filter(pk=rejected.pk).update(
        state=DocumentState.FAILED, last_error="422 validation_error: items.0.price"
    )  # refused by the API: it created nothing, and does not count
    services.credit_note_request(invoice=invoice, lines=[services.CreditLine(mug.order_line_id, 1)])

    with django_capture_on_commit_callbacks() as callbacks:
        response = operator.post(
            DOCUMENTS, {"action": "retry", "_selected_action": [rejected.pk], "post": "yes"}
        )

    assert response.status_code == 302
    assert messages_of(response) == [
        f"Not retried: Credit note #{rejected.pk} (failed) credits 1 of 'Mug', but only 0 "
        f"remain to credit on invoice {invoice.number} (credited since it failed): sending it "
        "would credit them twice.",
        "0 documents queued for retry; 1 skipped (failed).",
    ]
    assert states([rejected]) == ["failed"]
    assert callbacks == []
    assert AuditEvent.objects.filter(action="document.retried").count() == 0


def test_retry_of_all_filtered_rows_is_confirmed_for_the_same_rows(
    operator, django_capture_on_commit_callbacks
):
    """`select_across` (every row of the filtered list) goes through the confirmation."""
    failures = [failed() for _ in range(3)]
    issued = document(DocumentState.ISSUED)
    data = {"action": "retry", "_selected_action": [failures[0].pk], "select_across": "1"}

    asked = operator.post(f"{DOCUMENTS}?state__exact=failed", data)
    with django_capture_on_commit_callbacks() as callbacks:
        done = operator.post(
            f"{DOCUMENTS}?state__exact=failed",
            {
                "action": asked.context["action"],
                "_selected_action": asked.context["selected"],
                "select_across": asked.context["select_across"],
                "post": "yes",
            },
        )

    assert asked.context["title"] == "Retry 3 failed documents?"
    assert messages_of(done) == ["3 documents queued for retry."]
    assert states([*failures, issued]) == ["pending", "pending", "pending", "issued"]
    assert len(callbacks) == 3


def test_entity_request_asks_first_and_changes_nothing(
    operator, django_capture_on_commit_callbacks
):
    draft = SellerFactory(status=SellerStatus.DRAFT, entity_id=None)
    failing = SellerFactory(status=SellerStatus.FAILED, entity_id=None, entity_error="422 ...")
    active = SellerFactory()

    with django_capture_on_commit_callbacks() as callbacks:
        response = operator.post(
            SELLERS,
            {"action": "request_entity", "_selected_action": [draft.pk, failing.pk, active.pk]},
        )

    assert response.template_name == "admin/action_confirmation.html"
    assert response.context["title"] == "Create the Space Invoices entity of 2 sellers?"
    assert response.context["objects"] == [draft, failing]
    assert response.context["skipped"] == [("already active", 1)]
    assert [Seller.objects.get(pk=s.pk).status for s in [draft, failing, active]] == [
        "draft",
        "failed",
        "active",
    ]
    assert callbacks == []
    assert AuditEvent.objects.count() == 0


def test_confirmed_entity_request_creates_the_entities_and_audits(
    operator, user, sandbox, django_capture_on_commit_callbacks
):
    draft = SellerFactory(status=SellerStatus.DRAFT, entity_id=None)
    failing = SellerFactory(status=SellerStatus.FAILED, entity_id=None, entity_error="422 ...")
    active = SellerFactory()
    pending = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    chosen = [draft.pk, failing.pk, active.pk, pending.pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            SELLERS, {"action": "request_entity", "_selected_action": chosen, "post": "yes"}
        )

    assert messages_of(response) == [
        "2 sellers queued for entity creation; 2 skipped (1 already active, 1 already pending)."
    ]
    sellers = {s.pk: s for s in Seller.objects.filter(pk__in=chosen)}
    assert [sellers[pk].status for pk in chosen] == ["active", "active", "active", "pending"]
    assert sellers[failing.pk].entity_error == ""
    assert sellers[active.pk].entity_id == active.entity_id
    assert sellers[pending.pk].entity_id is None
    assert list(
        AuditEvent.objects.filter(actor=user)
        .order_by("seller_id")
        .values_list("action", "seller_id")
    ) == [("seller.entity_requested", draft.pk), ("seller.entity_requested", failing.pk)]


# Onboarding in admin

ALPINE = {
    "business_name": "Alpine Crafts d.o.o.",
    "email": "billing@alpine.example",
    "address": "Trubarjeva 1",
    "post_code": "1000",
    "city": "Ljubljana",
    "country": "SI",
    "tax_number": "SI50223054",
    "is_tax_subject": "on",
    "primary_colour": "#1A73E8",
    "invoice_footer": "Thank you for buying local.",
}


def test_adding_a_seller_onboards_it_and_its_entity_is_created(
    operator, user, sandbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = operator.post(f"{SELLERS}add/", ALPINE)

    assert response.status_code == 302
    assert response["Location"] == SELLERS
    assert messages_of(response) == [
        "Seller Alpine Crafts d.o.o. created; its Space Invoices entity is being created."
    ]
    assert len(callbacks) == 1  # the entity's creation, after commit
    seller = Seller.objects.get()
    assert (seller.status, seller.tax_number) == (SellerStatus.ACTIVE, "SI50223054")
    entity = sandbox.client().entity_get(entity_id=seller.entity_id)
    assert (entity["name"], entity["metadata"]) == (
        "Alpine Crafts d.o.o.",
        {"seller_id": str(seller.pk)},
    )
    assert (
        AuditEvent.objects.filter(action="seller.onboarded").values_list("actor", "seller_id").get()
    ) == (user.pk, seller.pk)
    assert seller.entity_request_id.startswith("mkt-entity-")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"tax_number": "SI50223055"}, "'SI50223055' is not a valid tax number for SI."),
        ({"tax_number": ""}, "A tax subject needs a tax number."),
    ],
)
def test_adding_a_seller_with_a_bad_tax_number_shows_the_error_and_writes_nothing(
    operator, django_capture_on_commit_callbacks, changes, error
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = operator.post(f"{SELLERS}add/", {**ALPINE, **changes})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"tax_number": [error]}
    assert Seller.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert callbacks == []


def test_the_add_form_asks_only_for_the_sellers_details(operator):
    html = operator.get(f"{SELLERS}add/").content.decode()

    assert 'name="business_name"' in html
    assert 'name="tax_number"' in html
    assert "Entity request id" not in html
    assert 'name="users-TOTAL_FORMS"' not in html


def test_an_onboarded_sellers_links_to_its_orders_and_documents(operator):
    seller = SellerFactory()
    OrderFactory(seller=seller)

    html = operator.get(SELLERS).content.decode()

    assert f'href="/admin/marketplace/order/?seller__id__exact={seller.pk}">orders</a>' in html
    assert f'href="/admin/invoicing/document/?seller__id__exact={seller.pk}">documents</a>' in html


def test_a_sellers_page_shows_its_entity_and_members(operator):
    seller = SellerFactory()

    html = operator.get(f"{SELLERS}{seller.pk}/change/").content.decode()

    assert seller.entity_id in html
    assert 'name="users-TOTAL_FORMS"' in html


# Who gets an action: changing state takes the model's change permission, viewing is not enough


def failed_member():
    return SellerUserFactory(entity_user_state=MirrorState.FAILED, entity_user_error="503 ...")


def failed_removal():
    return RemovedEntityUser.objects.create(
        seller=SellerFactory(), entity_user_id="usr_1", last_error="403 forbidden"
    )


STATE_CHANGING_ACTIONS = [
    pytest.param(
        DOCUMENTS,
        "retry",
        "document",
        failed,
        lambda d: Document.objects.values_list("state", "request_id").get(pk=d.pk),
        id="document retry",
    ),
    pytest.param(
        SELLERS,
        "request_entity",
        "seller",
        lambda: SellerFactory(status=SellerStatus.FAILED, entity_id=None),
        lambda s: Seller.objects.values_list("status", "entity_request_id").get(pk=s.pk),
        id="seller entity request",
    ),
    pytest.param(
        "/admin/sellers/selleruser/",
        "mirror",
        "selleruser",
        failed_member,
        lambda m: SellerUser.objects.values_list("entity_user_state", "entity_user_request_id").get(
            pk=m.pk
        ),
        id="member mirror",
    ),
    pytest.param(
        "/admin/sellers/removedentityuser/",
        "delete_again",
        "removedentityuser",
        failed_removal,
        lambda r: RemovedEntityUser.objects.values_list("last_error", "request_id").get(pk=r.pk),
        id="removed user deletion",
    ),
]


def staff_with(client, *codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def offered_actions(response):
    form = response.context["action_form"]
    return [] if form is None else [name for name, _ in form.fields["action"].choices]


@pytest.mark.parametrize(("path", "action", "model", "make", "state"), STATE_CHANGING_ACTIONS)
def test_view_only_staff_are_not_offered_an_action_and_posting_it_changes_nothing(
    client, django_capture_on_commit_callbacks, path, action, model, make, state
):
    chosen = make()
    before = state(chosen)
    viewer = staff_with(client, f"view_{model}")

    listing = viewer.get(path)
    with django_capture_on_commit_callbacks() as callbacks:
        response = viewer.post(
            path, {"action": action, "_selected_action": [chosen.pk], "post": "yes"}
        )

    assert listing.status_code == 200
    assert action not in offered_actions(listing)
    assert response.status_code == 200
    assert state(chosen) == before
    assert callbacks == []
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(("path", "action", "model", "make", "state"), STATE_CHANGING_ACTIONS)
def test_staff_who_may_change_the_model_are_offered_the_action(
    client, path, action, model, make, state
):
    make()

    listing = staff_with(client, f"view_{model}", f"change_{model}").get(path)

    assert action in offered_actions(listing)


HELD = "VIES: DE123456788 not registered at issue; VAT is due on an order paid without it."


def test_invoices_held_for_an_operator_are_filtered_and_show_why(operator):
    held = document(DocumentState.PENDING, held_reason=HELD)
    document(DocumentState.PENDING)

    response = operator.get(f"{DOCUMENTS}?held=operator")

    assert response.status_code == 200
    assert [row.pk for row in response.context["cl"].result_list] == [held.pk]
    assert HELD in response.content.decode()


def test_release_asks_first_then_issues_the_held_invoices_and_audits(
    operator, user, django_capture_on_commit_callbacks
):
    held, pending = document(DocumentState.PENDING, held_reason=HELD), failed()
    data = {"action": "release", "_selected_action": [held.pk, pending.pk]}

    with django_capture_on_commit_callbacks() as asked_callbacks:
        asked = operator.post(DOCUMENTS, data)
    assert asked.context["title"] == "Release 1 held invoice?"
    assert asked.context["skipped"] == [("not held", 1)]
    assert Document.objects.get(pk=held.pk).held_reason == HELD
    assert asked_callbacks == []

    with django_capture_on_commit_callbacks() as callbacks:
        done = operator.post(DOCUMENTS, {**data, "post": "yes"})

    assert messages_of(done) == ["1 invoice released to be issued; 1 skipped (not held)."]
    assert Document.objects.get(pk=held.pk).held_reason == ""
    assert len(callbacks) == 1
    assert list(AuditEvent.objects.values_list("action", "actor", "document_id", "detail")) == [
        ("document.released", user.pk, held.pk, {"kind": "invoice", "held": HELD})
    ]


def test_release_needs_the_change_permission(client):
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_document"))
    client.force_login(viewer)
    held = document(DocumentState.PENDING, held_reason=HELD)

    client.post(DOCUMENTS, {"action": "release", "_selected_action": [held.pk], "post": "yes"})

    assert Document.objects.get(pk=held.pk).held_reason == HELD
