"""The operators' admin: the landing dashboard, and changelists that stay cheap when large."""

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoicing.admin_dashboard import DocumentCounts, StatusCount, operator_dashboard
from invoicing.models import Document, DocumentState
from invoicing.services import VIES_HOLD_REASON
from marketplace.models import Order
from sellers.models import RemovedEntityUser, SellerStatus
from tests.factories import InvoiceFactory, OrderFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

ORDERS = "/admin/marketplace/order/"
DOCUMENTS = "/admin/invoicing/document/"


@pytest.fixture
def operator(client):
    client.force_login(UserFactory(username="operator", is_staff=True, is_superuser=True))
    return client


def unissued(seller, state=DocumentState.PENDING, **fields):
    """A document of a new order of `seller`, not issued (pending unless said otherwise)."""
    return InvoiceFactory(
        order=OrderFactory(seller=seller),
        state=state,
        remote_id=None,
        number="",
        shareable_id="",
        **fields,
    )


def created(document, ago):
    Document.objects.filter(pk=document.pk).update(created_at=timezone.now() - ago)


@pytest.fixture
def seeded():
    """2 draft, 1 pending, 3 active and 1 failed sellers; 4 pending documents (1 held by VIES,
    1 waiting for its seller's entity), 3 failed and 1 issued; removed members' users of
    entities: 2 failed deletions, 1 pending, 1 done."""
    SellerFactory.create_batch(2, status=SellerStatus.DRAFT, entity_id=None)
    onboarding = SellerFactory(business_name="Onboarding d.o.o.", status=SellerStatus.PENDING,
                               entity_id=None)  # fmt: skip
    SellerFactory(status=SellerStatus.FAILED, entity_id=None, entity_error="422 tax_number")
    alpine, bora, _ = SellerFactory.create_batch(3)
    now = timezone.now()
    pending = unissued(alpine)
    held = unissued(bora, last_error=VIES_HOLD_REASON)
    waiting = unissued(onboarding, entity_id="")
    oldest = unissued(bora)
    created(pending, timedelta(hours=1))
    created(held, timedelta(hours=5))
    created(waiting, timedelta(days=1))
    created(oldest, timedelta(days=2))
    failed_earlier = unissued(alpine, DocumentState.FAILED, last_error="422 items.0.price",
                              last_attempt_at=now - timedelta(hours=2))  # fmt: skip
    failed_later = unissued(bora, DocumentState.FAILED, last_error="gave up after 8 attempts",
                            last_attempt_at=now - timedelta(hours=1))  # fmt: skip
    never_tried = unissued(alpine, DocumentState.FAILED, last_error="401 unauthorized")
    InvoiceFactory(order=OrderFactory(seller=alpine))
    for entity_user_id, error, resolved_at in [
        ("usr_failed_1", "403 forbidden", None),
        ("usr_failed_2", "503 service_unavailable", None),
        ("usr_pending", "", None),
        ("usr_deleted", "", now),
    ]:
        RemovedEntityUser.objects.create(
            seller=alpine, entity_user_id=entity_user_id, last_error=error, resolved_at=resolved_at
        )
    return {
        "oldest": oldest,
        "failed": [failed_later, failed_earlier, never_tried],
        "bora": bora,
    }


def test_dashboard_numbers(seeded):
    with CaptureQueriesContext(connection) as queries:
        dashboard = operator_dashboard()

    assert len(queries) == 5
    assert dashboard.sellers == [
        StatusCount("draft", "Draft", 2),
        StatusCount("pending", "Pending entity", 1),
        StatusCount("awaiting_approval", "Awaiting operator approval", 0),
        StatusCount("active", "Active", 3),
        StatusCount("failed", "Entity creation failed", 1),
        StatusCount("rejected", "Rejected by an operator", 0),
    ]
    assert dashboard.documents == DocumentCounts(
        pending=4, held_by_vies=1, waiting_for_entity=1, failed=3
    )
    assert dashboard.oldest_pending == seeded["oldest"]
    assert dashboard.oldest_pending.seller == seeded["bora"]
    assert dashboard.recent_failed == seeded["failed"]
    assert dashboard.removed_users_failed == 2


def test_dashboard_of_an_empty_marketplace():
    dashboard = operator_dashboard()

    assert [row.count for row in dashboard.sellers] == [0, 0, 0, 0, 0, 0]
    assert dashboard.documents == DocumentCounts(0, 0, 0, 0)
    assert dashboard.oldest_pending is None
    assert dashboard.recent_failed == []
    assert dashboard.removed_users_failed == 0


# Session, user, the dashboard's five queries, and admin's recent actions.
INDEX_QUERIES = 8


def test_admin_index_shows_the_dashboard_with_links(operator, seeded):
    with CaptureQueriesContext(connection) as queries:
        html = operator.get("/admin/").content.decode()

    assert len(queries) == INDEX_QUERIES
    for status, count in [("draft", 2), ("pending", 1), ("active", 3), ("failed", 1)]:
        assert f'<td data-status="{status}">{count}</td>' in html
        assert f'href="/admin/sellers/seller/?status__exact={status}"' in html
    for name, count in [("pending", 4), ("held_by_vies", 1), ("waiting_for_entity", 1),
                        ("failed", 3)]:  # fmt: skip
        assert f'<td data-count="{name}">{count}</td>' in html
    for query in ["state__exact=pending", "held=vies", "held=entity", "state__exact=failed"]:
        assert f'href="/admin/invoicing/document/?{query}"' in html
    assert '<td data-count="removed_users_failed">2</td>' in html
    assert 'href="/admin/sellers/removedentityuser/?state=failed"' in html
    oldest = seeded["oldest"]
    assert f'href="/admin/invoicing/document/{oldest.pk}/change/"' in html
    assert (
        f'href="/admin/marketplace/order/{oldest.order_id}/change/">order {oldest.order_id}' in html
    )
    assert "waiting for 2\xa0days" in html
    positions = [html.index(document.last_error) for document in seeded["failed"]]
    assert positions == sorted(positions)
    for path in ["/admin/reports/statement/", "/admin/reports/summary/", "/admin/reports/vat/",
                 "/admin/reports/health/", "/admin/invoicing/finding/"]:  # fmt: skip
        assert f'href="{path}"' in html


def test_admin_index_queries_do_not_grow_with_the_data(operator, seeded):
    for seller in SellerFactory.create_batch(10, status=SellerStatus.FAILED, entity_id=None):
        unissued(seeded["bora"], DocumentState.FAILED, last_error=f"rejected {seller.pk}")

    with CaptureQueriesContext(connection) as queries:
        html = operator.get("/admin/").content.decode()

    assert len(queries) == INDEX_QUERIES
    assert '<td data-status="failed">11</td>' in html
    assert '<td data-count="failed">13</td>' in html


def test_staff_without_document_permissions_see_no_dashboard(client, seeded):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_seller"))
    client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert "dashboard" not in response.context
    assert 'id="dashboard-sellers"' not in response.content.decode()


def test_held_filter_lists_the_held_documents(operator, seeded):
    held = Document.objects.get(last_error=VIES_HOLD_REASON)
    waiting = Document.objects.get(entity_id="")

    by_vies = operator.get("/admin/invoicing/document/?held=vies").context["cl"].result_list
    by_entity = operator.get("/admin/invoicing/document/?held=entity").context["cl"].result_list

    assert list(by_vies) == [held]
    assert list(by_entity) == [waiting]


# Changelists: the same exact number of queries for 5 rows as for 50.


def sellers(count):
    SellerFactory.create_batch(count)


def orders(count):
    seller = SellerFactory()
    for _ in range(count):
        OrderFactory(seller=seller)


def documents(count):
    seller = SellerFactory()
    for _ in range(count):
        InvoiceFactory(order=OrderFactory(seller=seller))


# Each: session, user, the filtered count and the page.
@pytest.mark.parametrize(
    ("path", "make", "expected"),
    [
        # ... the full count (1,000 sellers count cheaply), the date hierarchy's range and
        # dates, the country filter's countries
        ("/admin/sellers/seller/", sellers, 8),
        # ... the currency and country filters' values (no full count, a date filter)
        ("/admin/marketplace/order/", orders, 6),
        # ... the currency and transaction type filters' values (no full count, a date filter)
        ("/admin/invoicing/document/", documents, 6),
        # ... and a text search's sellers with the word in their name (one query a word)
        ("/admin/marketplace/order/?q=ana", orders, 7),
        ("/admin/invoicing/document/?q=2026-", documents, 7),
    ],
)
def test_changelist_queries_do_not_grow_with_rows(operator, path, make, expected):
    make(5)
    with CaptureQueriesContext(connection) as five:
        assert operator.get(path).status_code == 200
    make(45)
    with CaptureQueriesContext(connection) as fifty:
        response = operator.get(path)

    assert response.context["cl"].result_count >= 50
    assert (len(five), len(fifty)) == (expected, expected)


def test_value_filters_list_the_values_in_the_table(operator):
    seller = SellerFactory()
    OrderFactory(seller=seller, currency="USD", billing_country="DE")
    InvoiceFactory(order=OrderFactory(seller=seller), transaction_type="intra_eu_b2b")
    InvoiceFactory(order=OrderFactory(seller=seller), transaction_type="domestic")

    orders = operator.get(ORDERS).content.decode()
    documents = operator.get(DOCUMENTS).content.decode()

    assert _filter_links(orders, "currency") == ["?currency=EUR", "?currency=USD"]
    assert _filter_links(orders, "billing_country") == [
        "?billing_country=DE",
        "?billing_country=SI",
    ]
    assert _filter_links(documents, "transaction_type") == [
        "?transaction_type=domestic",
        "?transaction_type=intra_eu_b2b",
    ]


def _filter_links(html, parameter):
    return re.findall(rf'href="(\?{parameter}=[^"&]*)"', html)


def test_seller_filter_picks_one_seller_by_search(operator):
    alpine = SellerFactory(business_name="Alpine Crafts d.o.o.")
    SellerFactory(business_name="Bora Trade d.o.o.")
    orders_of_alpine = [OrderFactory(seller=alpine) for _ in range(2)]
    OrderFactory()

    found = operator.get(
        "/admin/autocomplete/",
        {"app_label": "marketplace", "model_name": "order", "field_name": "seller", "term": "alp"},
    ).json()
    with CaptureQueriesContext(connection) as queries:
        response = operator.get(f"/admin/marketplace/order/?seller__id__exact={alpine.pk}")

    assert found == {
        "results": [{"id": str(alpine.pk), "text": "Alpine Crafts d.o.o."}],
        "pagination": {"more": False},
    }
    assert list(response.context["cl"].result_list) == orders_of_alpine[::-1]
    # One more than unfiltered: the picked seller's name for the picker.
    assert len(queries) == 7
    html = response.content.decode()
    assert f'<option value="{alpine.pk}" selected>Alpine Crafts d.o.o.</option>' in html
    assert "Bora Trade" not in html


def test_seller_filter_keeps_the_other_filters_and_a_cleared_picker_shows_all(operator):
    OrderFactory.create_batch(2)

    response = operator.get("/admin/marketplace/order/?status__exact=paid&seller__id__exact=")

    assert response.status_code == 200
    assert response.context["cl"].result_count == 2
    assert '<input type="hidden" name="status__exact" value="paid">' in response.content.decode()


@pytest.mark.parametrize(
    ("path", "term", "wanted"),
    [
        ("/admin/sellers/seller/", "alpine", "alpine"),
        ("/admin/sellers/seller/", "33392005961", "alpine"),
        ("/admin/sellers/seller/", "ent_alpine", "alpine"),
        ("/admin/marketplace/order/", "ana.alpine@example.com", "order"),
        ("/admin/marketplace/order/", "987654", "order"),
        ("/admin/marketplace/order/", "ALPINE@exa", "order"),
        ("/admin/marketplace/order/", '"alpine d.o.o."', "order"),
        ("/admin/invoicing/document/", "026-0777", "invoice"),
        ("/admin/invoicing/document/", "2026-07777", "invoice"),
        ("/admin/invoicing/document/", "inv_alpine", "invoice"),
        ("/admin/invoicing/document/", "ent_alpine", "invoice"),
        ("/admin/invoicing/document/", "alpine d.o.o", "invoice"),
        ("/admin/invoicing/document/", "987654", "invoice"),
    ],
)
def test_search(operator, path, term, wanted):
    alpine = SellerFactory(business_name="Alpine d.o.o.", country="HR",
                           tax_number="HR33392005961", entity_id="ent_alpine")  # fmt: skip
    SellerFactory()
    order = OrderFactory(id=987654, seller=alpine, buyer_email="ana.alpine@example.com")
    invoice = InvoiceFactory(order=order, number="2026-07777", remote_id="inv_alpine")
    InvoiceFactory()
    rows = {"alpine": alpine, "order": order, "invoice": invoice}

    response = operator.get(path, {"q": term})

    assert list(response.context["cl"].result_list) == [rows[wanted]]


def test_search_finds_rows_with_each_word_in_a_field_or_the_seller_name(operator):
    alpine = SellerFactory(business_name="Alpine d.o.o.")
    bora = SellerFactory(business_name="Bora d.o.o.")
    ana_at_alpine = OrderFactory(seller=alpine, buyer_name="Ana Novak")
    OrderFactory(seller=alpine, buyer_name="Eva Kos")
    ana_at_bora = OrderFactory(seller=bora, buyer_name="Ana Novak")
    invoice_of_bora = InvoiceFactory(order=ana_at_bora, number="B-2026-1")
    InvoiceFactory(order=ana_at_alpine, number="A-2026-1")

    def found(path, term):
        return list(operator.get(path, {"q": term}).context["cl"].result_list)

    assert found(ORDERS, "alpine novak") == [ana_at_alpine]
    assert found(ORDERS, "d.o.o. NOVAK") == [ana_at_bora, ana_at_alpine]
    assert found(ORDERS, "alpine bora") == []
    assert found(DOCUMENTS, "bora 2026") == [invoice_of_bora]
    assert found(DOCUMENTS, "alpine b-2026") == []


@pytest.mark.parametrize(
    ("model", "indexes"),
    [
        (Order, {"order_buyer_email_trgm", "order_buyer_name_trgm", "order_buyer_vat_number_trgm"}),
        (
            Document,
            {
                "document_number_trgm",
                "document_remote_id_trgm",
                "document_entity_id_trgm",
                "document_correlation_id_trgm",
            },
        ),
    ],
)
def test_text_searches_read_indexes_only(rf, model, indexes):
    """With scans ruled out the plan still answers the search from indexes: each searched
    column's trigram index serves the SQL Django writes for `icontains`, and the seller's name
    is matched among sellers."""
    SellerFactory(business_name="Alpine d.o.o.")
    model_admin = admin.site.get_model_admin(model)
    queryset, _ = model_admin.get_search_results(rf.get("/"), model.objects.order_by(), "alpine")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")

    plan = queryset.explain()

    assert "Seq Scan" not in plan
    assert set(re.findall(r"Bitmap Index Scan on (\w+_trgm)", plan)) == indexes


def test_big_tables_count_only_the_filtered_rows(operator):
    OrderFactory.create_batch(3)

    response = operator.get("/admin/marketplace/order/?status__exact=paid")

    assert response.context["cl"].full_result_count is None
    assert response.context["cl"].result_count == 3


def test_a_number_alone_searches_ids(operator):
    order = OrderFactory(id=987655)
    invoice = InvoiceFactory(order=order)
    other = InvoiceFactory(order=OrderFactory(buyer_name="Buyer 987655"))

    by_document = operator.get(DOCUMENTS, {"q": str(other.pk)}).context["cl"].result_list
    by_order = operator.get(DOCUMENTS, {"q": "987655"}).context["cl"].result_list
    orders = operator.get(ORDERS, {"q": " 987655 "}).context["cl"].result_list
    too_big = operator.get(ORDERS, {"q": "9" * 30})

    assert list(by_document) == [other]
    assert list(by_order) == [invoice]
    assert list(orders) == [order]
    assert list(too_big.context["cl"].result_list) == []
