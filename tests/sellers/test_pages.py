"""The seller pages: each member sees its own seller only, from its membership."""

import datetime as dt
import html
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from core.models import AuditEvent
from invoicing.models import Document, DocumentKind, DocumentState
from marketplace import services as orders
from sellers.models import SellerRole, SellerStatus
from tests.factories import (
    BILLING,
    InvoiceFactory,
    OrderFactory,
    ProductFactory,
    SellerFactory,
    SellerUserFactory,
    UserFactory,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year
PASSWORD = "correct-horse-battery"  # what UserFactory sets
MEMBERS = ["admin", "editor", "viewer"]
NOT_A_SELLER = "your account is not a member of any seller"
ADMINS_ONLY = "Only seller admins can open the dashboard."
FRAME = re.compile(r'<iframe src="([^"]+)"[^>]*data-testid="dashboard-frame"')


def place(seller):
    product = ProductFactory(seller=seller, name="Mug", unit_price=Decimal("10.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, 2)], billing=BILLING
    )
    return checkout.orders.get()


@pytest.fixture
def world(sandbox, django_capture_on_commit_callbacks):
    """Alpine has a placed order, a paid one (invoiced) and a cancelled one (invoice and credit
    note); Berlin has one paid order, whose invoice has the same number as Alpine's first."""
    mine = seller_with_entity(business_name="Alpine Crafts d.o.o.", primary_colour="#0B6E4F")
    theirs = seller_with_entity(business_name="Berlin Books GmbH", primary_colour="#FFD23F")
    placed, paid, cancelled, their_paid = place(mine), place(mine), place(mine), place(theirs)
    with django_capture_on_commit_callbacks(execute=True):
        for order in (paid, cancelled, their_paid):
            orders.order_mark_paid(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=cancelled.pk)
    people = {
        "admin": SellerUserFactory(seller=mine, role=SellerRole.ADMIN).user,
        "editor": SellerUserFactory(seller=mine, role=SellerRole.EDITOR).user,
        "viewer": SellerUserFactory(seller=mine, role=SellerRole.VIEWER).user,
        "buyer": UserFactory(),
        "operator": UserFactory(is_staff=True, is_superuser=True),
        "other_admin": SellerUserFactory(seller=theirs, role=SellerRole.ADMIN).user,
    }
    documents = {
        "paid": Document.objects.get(order=paid),
        "cancelled": Document.objects.get(order=cancelled, kind=DocumentKind.INVOICE),
        "credit_note": Document.objects.get(order=cancelled, kind=DocumentKind.CREDIT_NOTE),
        "theirs": Document.objects.get(order=their_paid),
    }
    return {
        "mine": mine,
        "theirs": theirs,
        "orders": {"placed": placed, "paid": paid, "cancelled": cancelled, "theirs": their_paid},
        "documents": documents,
        "people": people,
    }


def as_(client, world, persona):
    if persona != "anonymous":
        client.force_login(world["people"][persona])
    return client


def page(response):
    return response.content.decode()


def orders_shown(text):
    """(order id, its document numbers) of each order row, in page order."""
    rows = text.split('data-testid="seller-order" data-order-id="')[1:]
    return [
        (int(row.split('"', 1)[0]), re.findall(r'data-testid="document-number">([^<]+)<', row))
        for row in rows
    ]


def documents_shown(text):
    """(document id, number or None) of each document row, in page order."""
    rows = text.split('data-testid="seller-document" data-document-id="')[1:]
    shown = []
    for row in rows:
        number = re.search(r'data-testid="document-number">([^<]+)<', row.split("</tr>", 1)[0])
        shown.append((int(row.split('"', 1)[0]), number.group(1) if number else None))
    return shown


def counts_shown(text, testid, attributes):
    pattern = f'data-testid="{testid}" ' + " ".join(f'data-{a}="(\\w+)"' for a in attributes)
    return {tuple(found[:-1]): int(found[-1]) for found in re.findall(pattern + r">(\d+)<", text)}


def refused(text):
    return html.unescape(re.search(r'data-testid="refused-message"><p>(.*?)</p>', text).group(1))


# Who gets in


@pytest.mark.parametrize(
    "path",
    ["/seller/", "/seller/orders/", "/seller/documents/", "/seller/dashboard/"],
)
def test_anonymous_is_sent_to_the_login_page(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("persona", ["buyer", "operator"])
@pytest.mark.parametrize(
    "path",
    ["/seller/", "/seller/orders/", "/seller/documents/", "/seller/dashboard/"],
)
def test_a_user_of_no_seller_gets_a_403_page(client, world, persona, path):
    response = as_(client, world, persona).get(path)

    assert response.status_code == 403
    assert NOT_A_SELLER in refused(page(response))


def test_a_seller_user_logs_in_through_the_site_login_page_and_lands_on_its_page(client, world):
    admin = world["people"]["admin"]
    login = client.get("/seller/orders/", follow=True)
    assert login.redirect_chain == [("/accounts/login/?next=/seller/orders/", 302)]

    response = client.post(
        "/accounts/login/",
        {"username": admin.username, "password": PASSWORD, "next": "/seller/orders/"},
        follow=True,
    )

    assert response.redirect_chain == [("/seller/orders/", 302)]
    assert response.status_code == 200
    assert '<span data-testid="seller-name">Alpine Crafts d.o.o.</span>' in page(response)


def test_the_site_nav_links_seller_users_to_their_pages(client, world):
    seller_nav = '<a href="/seller/" data-testid="nav-seller">Seller</a>'
    viewer = page(as_(client, world, "viewer").get("/"))
    buyer = page(as_(Client(), world, "buyer").get("/"))

    assert seller_nav in viewer
    assert seller_nav not in buyer


# Overview


@pytest.mark.parametrize("persona", MEMBERS)
def test_the_overview_shows_the_sellers_branding_entity_and_counts(client, world, persona):
    response = as_(client, world, persona).get("/seller/")

    text = page(response)
    assert response.status_code == 200
    assert '<span data-testid="seller-name">Alpine Crafts d.o.o.</span>' in text
    assert "--seller-colour: #0B6E4F" in text
    assert '<code data-testid="seller-colour">#0B6E4F</code>' in text
    assert '<span data-testid="entity-status" data-status="active">Active</span>' in text
    assert f'<code data-testid="entity-id">{world["mine"].entity_id}</code>' in text
    assert counts_shown(text, "order-count", ["status"]) == {
        ("placed",): 1,
        ("paid",): 1,
        ("fulfilled",): 0,
        ("cancelled",): 1,
    }
    assert counts_shown(text, "document-count", ["kind", "state"]) == {
        ("invoice", "pending"): 0,
        ("invoice", "issued"): 2,
        ("invoice", "failed"): 0,
        ("credit_note", "pending"): 0,
        ("credit_note", "issued"): 1,
        ("credit_note", "failed"): 0,
    }


def test_another_sellers_admin_sees_its_own_overview(client, world):
    text = page(as_(client, world, "other_admin").get("/seller/"))

    assert '<span data-testid="seller-name">Berlin Books GmbH</span>' in text
    assert "Alpine" not in text
    assert counts_shown(text, "order-count", ["status"]) == {
        ("placed",): 0,
        ("paid",): 1,
        ("fulfilled",): 0,
        ("cancelled",): 0,
    }


def test_the_overview_says_when_the_entity_is_still_being_created(client):
    pending = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    member = SellerUserFactory(seller=pending, role=SellerRole.VIEWER).user
    client.force_login(member)

    text = page(client.get("/seller/"))

    assert 'data-status="pending">Pending entity</span>' in text
    assert 'data-testid="entity-id"' not in text
    assert 'data-testid="entity-pending"' in text


# Orders


@pytest.mark.parametrize("persona", MEMBERS)
def test_orders_are_the_sellers_own_newest_first_with_their_documents(client, world, persona):
    response = as_(client, world, persona).get("/seller/orders/")

    placed, paid, cancelled = (world["orders"][name] for name in ("placed", "paid", "cancelled"))
    assert response.status_code == 200
    assert orders_shown(page(response)) == [
        (cancelled.pk, [f"{YEAR}-00002", f"CN-{YEAR}-00001"]),
        (paid.pk, [f"{YEAR}-00001"]),
        (placed.pk, []),
    ]
    for document in world["documents"].values():
        if document.seller_id == world["mine"].pk:
            assert f'href="/seller/documents/{document.pk}/pdf/"' in page(response)


def test_another_sellers_admin_sees_only_its_own_orders(client, world):
    text = page(as_(client, world, "other_admin").get("/seller/orders/"))

    theirs = world["documents"]["theirs"]
    assert orders_shown(text) == [(world["orders"]["theirs"].pk, [f"{YEAR}-00001"])]
    assert f'href="/seller/documents/{theirs.pk}/pdf/"' in text
    assert f'href="/seller/documents/{world["documents"]["paid"].pk}/pdf/"' not in text


@pytest.mark.parametrize(
    ("status", "expected"),
    [("cancelled", ["cancelled"]), ("paid", ["paid"]), ("fulfilled", []), ("", None)],
)
def test_orders_filter_by_status(client, world, status, expected):
    response = as_(client, world, "viewer").get("/seller/orders/", {"status": status})

    shown = [pk for pk, _ in orders_shown(page(response))]
    everything = [world["orders"][name].pk for name in ("cancelled", "paid", "placed")]
    assert response.status_code == 200
    assert shown == (everything if expected is None else [world["orders"][n].pk for n in expected])


def test_an_unknown_status_filter_is_a_400_naming_the_field(client, world):
    response = as_(client, world, "viewer").get("/seller/orders/", {"status": "lost"})

    text = page(response)
    assert response.status_code == 400
    assert orders_shown(text) == []
    assert re.search(
        r'data-testid="error-status">Select a valid choice. lost is not one of the available '
        r"choices.<",
        text,
    )


def test_orders_are_paginated_by_fifty(client):
    seller = SellerFactory()
    ids = [OrderFactory(seller=seller).pk for _ in range(51)]
    client.force_login(SellerUserFactory(seller=seller, role=SellerRole.VIEWER).user)

    first = page(client.get("/seller/orders/"))
    second = page(client.get("/seller/orders/", {"page": 2}))

    assert [pk for pk, _ in orders_shown(first)] == ids[:0:-1]
    assert [pk for pk, _ in orders_shown(second)] == [ids[0]]
    assert "Page 1 of 2" in first
    assert '<a href="?page=2" rel="next">Older</a>' in first


def test_pages_keep_the_status_filter(client):
    seller = SellerFactory()
    ids = [OrderFactory(seller=seller, status="fulfilled").pk for _ in range(51)]
    OrderFactory(seller=seller, status="paid")
    client.force_login(SellerUserFactory(seller=seller, role=SellerRole.VIEWER).user)

    first = page(client.get("/seller/orders/", {"status": "fulfilled"}))
    second = page(client.get("/seller/orders/", {"status": "fulfilled", "page": 2}))

    assert '<a href="?status=fulfilled&amp;page=2" rel="next">Older</a>' in first
    assert [pk for pk, _ in orders_shown(second)] == [ids[0]]


@pytest.mark.parametrize("count", [3, 30])
def test_the_orders_page_takes_the_same_queries_for_any_number_of_orders(
    client, django_assert_num_queries, count
):
    seller = SellerFactory()
    for _ in range(count):
        InvoiceFactory(order=OrderFactory(seller=seller))
    client.force_login(SellerUserFactory(seller=seller, role=SellerRole.VIEWER).user)

    # session, user, membership, the nav's membership, count, orders, their documents
    with django_assert_num_queries(7):
        response = client.get("/seller/orders/")

    assert len(orders_shown(page(response))) == count


def test_an_order_page_shows_the_order_with_lines_and_documents(client, world):
    cancelled = world["orders"]["cancelled"]

    response = as_(client, world, "editor").get(f"/seller/orders/{cancelled.pk}/")

    text = page(response)
    assert response.status_code == 200
    assert orders_shown(text) == [(cancelled.pk, [f"{YEAR}-00002", f"CN-{YEAR}-00001"])]
    assert '<strong data-testid="order-status">Cancelled</strong>' in text
    assert re.findall(r'data-testid="order-line">([^<]+)<', text) == [
        "2 \u00d7 Mug at 10.00 (22.00 % VAT) — 20.00 EUR"
    ]
    assert '<dd data-testid="order-total">24.40 EUR</dd>' in text


@pytest.mark.parametrize("persona", MEMBERS)
def test_another_sellers_order_is_a_404_page(client, world, persona):
    theirs = world["orders"]["theirs"]

    response = as_(client, world, persona).get(f"/seller/orders/{theirs.pk}/")

    assert response.status_code == 404
    assert refused(page(response)) == "This order does not exist or belongs to another seller."


# Documents


@pytest.mark.parametrize("persona", MEMBERS)
def test_documents_are_the_sellers_own_newest_first(client, world, persona):
    response = as_(client, world, persona).get("/seller/documents/")

    docs = world["documents"]
    assert response.status_code == 200
    assert documents_shown(page(response)) == [
        (docs["credit_note"].pk, f"CN-{YEAR}-00001"),
        (docs["cancelled"].pk, f"{YEAR}-00002"),
        (docs["paid"].pk, f"{YEAR}-00001"),
    ]
    assert f"Credit note of {YEAR}-00002" in page(response)


def test_another_sellers_admin_sees_only_its_own_documents(client, world):
    text = page(as_(client, world, "other_admin").get("/seller/documents/"))

    assert documents_shown(text) == [(world["documents"]["theirs"].pk, f"{YEAR}-00001")]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "credit_note"}, ["credit_note"]),
        ({"kind": "invoice"}, ["cancelled", "paid"]),
        ({"state": "issued", "kind": "invoice"}, ["cancelled", "paid"]),
        ({"state": "failed"}, []),
    ],
)
def test_documents_filter_by_kind_and_state(client, world, query, expected):
    response = as_(client, world, "viewer").get("/seller/documents/", query)

    assert response.status_code == 200
    shown = [pk for pk, _ in documents_shown(page(response))]
    assert shown == [world["documents"][name].pk for name in expected]


def test_a_pending_document_is_listed_without_number_or_pdf_link(client, world):
    pending = InvoiceFactory(
        order=world["orders"]["placed"], state=DocumentState.PENDING, remote_id=None, number=""
    )

    text = page(as_(client, world, "viewer").get("/seller/documents/", {"state": "pending"}))

    assert documents_shown(text) == [(pending.pk, None)]
    assert 'data-testid="document-pdf"' not in text


def test_an_unknown_kind_filter_is_a_400_naming_the_field(client, world):
    response = as_(client, world, "viewer").get("/seller/documents/", {"kind": "receipt"})

    assert response.status_code == 400
    assert documents_shown(page(response)) == []
    assert 'data-testid="error-kind">Select a valid choice.' in page(response)


@pytest.mark.parametrize("persona", MEMBERS)
def test_a_member_downloads_its_sellers_document_pdf(client, world, persona):
    credit_note = world["documents"]["credit_note"]

    response = as_(client, world, persona).get(f"/seller/documents/{credit_note.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    disposition = f'attachment; filename="alpine-crafts-doo-CN-{YEAR}-00001.pdf"'
    assert response["Content-Disposition"] == disposition
    assert response.content.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("persona", "expected"), [("other_admin", 404), ("buyer", 403), ("anonymous", 302)]
)
def test_a_sellers_document_pdf_is_refused_to_anyone_else(client, world, persona, expected):
    mine = world["documents"]["paid"]

    response = as_(client, world, persona).get(f"/seller/documents/{mine.pk}/pdf/")

    assert response.status_code == expected
    if expected == 404:
        assert refused(page(response)) == (
            "This document does not exist or belongs to another seller."
        )


def test_an_unissued_document_has_no_pdf(client, world):
    pending = InvoiceFactory(
        order=world["orders"]["placed"], state=DocumentState.PENDING, remote_id=None, number=""
    )

    response = as_(client, world, "viewer").get(f"/seller/documents/{pending.pk}/pdf/")

    assert response.status_code == 404
    assert refused(page(response)) == "This document is not issued yet, so it has no PDF."


def test_a_pdf_the_sandbox_does_not_send_is_a_502_page(client, world, sandbox):
    faults = sandbox.http().post("/sandbox/faults", json={"error_rate": 1.0})
    assert faults.status_code == 200

    response = as_(client, world, "viewer").get(
        f"/seller/documents/{world['documents']['paid'].pk}/pdf/"
    )

    assert response.status_code == 502
    assert refused(page(response)) == (
        "The invoicing service did not send the PDF; try again in a minute."
    )


# The embedded dashboard


def minted_events():
    return AuditEvent.objects.filter(action="dashboard_key.minted")


@pytest.fixture
def dashboard_url(settings):
    settings.SPACE_INVOICES_DASHBOARD_URL = "http://sandbox/embed/dashboard"
    return settings.SPACE_INVOICES_DASHBOARD_URL


def test_an_admin_gets_the_button_and_no_key_yet(client, world):
    response = as_(client, world, "admin").get("/seller/dashboard/")

    text = page(response)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert '<form method="post" action="/seller/dashboard/" data-testid="dashboard-form">' in text
    assert 'name="csrfmiddlewaretoken"' in text
    assert 'data-testid="dashboard-frame"' not in text
    assert not minted_events().exists()


def test_opening_the_dashboard_embeds_it_with_a_fresh_key(world, sandbox, dashboard_url):
    browser = as_(Client(enforce_csrf_checks=True), world, "admin")
    form = page(browser.get("/seller/dashboard/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)

    response = browser.post("/seller/dashboard/", {"csrfmiddlewaretoken": token})

    text = page(response)
    src = html.unescape(FRAME.search(text).group(1))
    entity_id = world["mine"].entity_id
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert re.fullmatch(rf"{re.escape(dashboard_url)}\?entityId={entity_id}&key=ek_\w+", src)
    event = minted_events().get()
    assert (event.seller_id, event.actor_id) == (world["mine"].pk, world["people"]["admin"].pk)
    expires = dt.datetime.fromisoformat(event.detail["expires_at"])
    shown = re.search(r'<time datetime="([^"]+)" data-testid="dashboard-expires">', text)
    assert dt.datetime.fromisoformat(shown.group(1)) == expires
    key = src.rpartition("key=")[2]
    assert key not in str(dict(browser.session))
    assert key not in str(event.detail)
    with sandbox.http() as http:
        dashboard = http.get(src)
    assert dashboard.status_code == 200
    assert "<h1>Alpine Crafts d.o.o.</h1>" in dashboard.text
    assert re.findall(r"<tr><td>([^<]+)</td>", dashboard.text) == [
        f"CN-{YEAR}-00001",
        f"{YEAR}-00002",
        f"{YEAR}-00001",
    ]


def test_another_sellers_admin_opens_its_own_entitys_dashboard(client, world, dashboard_url):
    response = as_(client, world, "other_admin").post("/seller/dashboard/")

    src = html.unescape(FRAME.search(page(response)).group(1))
    assert src.startswith(f"{dashboard_url}?entityId={world['theirs'].entity_id}&key=ek_")
    assert minted_events().get().seller_id == world["theirs"].pk


def test_the_dashboard_post_needs_the_csrf_token(world):
    browser = as_(Client(enforce_csrf_checks=True), world, "admin")

    response = browser.post("/seller/dashboard/")

    assert response.status_code == 403
    assert not minted_events().exists()


@pytest.mark.parametrize("persona", ["editor", "viewer"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_editors_and_viewers_are_told_only_admins_open_the_dashboard(
    client, world, persona, method
):
    response = getattr(as_(client, world, persona), method)("/seller/dashboard/")

    message = refused(page(response))
    assert response.status_code == 403
    assert message.startswith(ADMINS_ONLY)
    assert "Ask an admin of Alpine Crafts d.o.o." in message
    assert not minted_events().exists()


@pytest.mark.parametrize(("persona", "expected"), [("buyer", 403), ("anonymous", 302)])
def test_non_members_cannot_mint_a_key(client, world, persona, expected):
    response = as_(client, world, persona).post("/seller/dashboard/")

    assert response.status_code == expected
    assert not minted_events().exists()


def test_an_admin_of_a_seller_without_entity_is_told_to_wait(client):
    pending = SellerFactory(status=SellerStatus.PENDING, entity_id=None)
    client.force_login(SellerUserFactory(seller=pending, role=SellerRole.ADMIN).user)

    response = client.post("/seller/dashboard/")

    text = page(response)
    assert response.status_code == 409
    assert response["Cache-Control"] == "no-store"
    assert (
        '<div class="alert alert--error" role="alert" data-testid="dashboard-error"><p>'
        "The seller&#x27;s Space Invoices entity does not exist yet; try again later.</p></div>"
    ) in text
    assert 'data-testid="dashboard-frame"' not in text
    assert not minted_events().exists()


def test_a_key_the_sandbox_does_not_mint_is_a_502_page(client, world, sandbox):
    assert sandbox.http().post("/sandbox/faults", json={"error_rate": 1.0}).status_code == 200

    response = as_(client, world, "admin").post("/seller/dashboard/")

    text = page(response)
    assert response.status_code == 502
    assert "The invoicing service did not open the dashboard; try again in a minute." in text
    assert 'data-testid="dashboard-frame"' not in text
    assert not minted_events().exists()
