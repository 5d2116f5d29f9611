"""The operator's commission documents in the finance pages and exports, apart from sales."""

from decimal import Decimal

import pytest
from django.utils import timezone

from invoicing.commission_invoices import commission_documents_write
from invoicing.models import Document
from invoicing.operator import operator_entity_ensure
from marketplace import services as orders
from reporting.exports import COMMISSION, EXPORTS, csv_batches
from reporting.selectors import ReportFilters, commission_revenue, seller_statement
from tests.factories import (
    BILLING,
    ProductFactory,
    SellerUserFactory,
    UserFactory,
    operator_user,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
THIS_MONTH = TODAY.replace(day=1)
PERIOD = ReportFilters(date_from=THIS_MONTH, date_to=TODAY)


@pytest.fixture
def commission_invoice(settings, sandbox, django_capture_on_commit_callbacks):
    """A seller's sale (3 x 12.99 at 22 %) and its month's commission invoice (3.90 + 22 %)."""
    settings.OPERATOR_NAME = "Marketplace d.o.o."
    settings.OPERATOR_COUNTRY = "SI"
    operator_entity_ensure()
    seller = seller_with_entity(business_name="Lonček d.o.o.")
    mug = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(mug.pk, 3)], billing=BILLING
    )
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=checkout.orders.get().pk)
    with django_capture_on_commit_callbacks(execute=True):
        [written] = commission_documents_write(seller_id=seller.pk, period_start=THIS_MONTH)
    return Document.objects.get(pk=written.pk)


def test_commission_revenue_is_reported_apart_from_the_sellers_sales(commission_invoice):
    filters = ReportFilters(
        seller_id=commission_invoice.seller_id, date_from=THIS_MONTH, date_to=TODAY
    )

    [revenue] = commission_revenue(filters=PERIOD)
    [statement] = seller_statement(filters=filters)

    assert (revenue.currency, revenue.net, revenue.tax, revenue.gross) == (
        "EUR",
        Decimal("3.90"),
        Decimal("0.86"),
        Decimal("4.76"),
    )
    # The seller's statement holds its sale only (47.54), not the commission invoice.
    assert statement.gross == Decimal("47.54")


def test_commission_export_lists_the_operators_documents(commission_invoice):
    header, rows = (text for _, text in csv_batches(COMMISSION, PERIOD))

    assert EXPORTS["commission"] is COMMISSION
    assert header.strip() == (
        "seller_id,seller_name,number,kind,credited_number,period,date,currency,"
        "transaction_type,net,tax,gross"
    )
    assert rows.strip() == (
        f"{commission_invoice.seller_id},Lonček d.o.o.,{commission_invoice.number},invoice,,"
        f"{THIS_MONTH.isoformat()},{TODAY.isoformat()},EUR,domestic,3.90,0.86,4.76"
    )


def test_summary_page_shows_commission_revenue(client, commission_invoice):
    client.force_login(operator_user("reporting.view_reports"))

    page = client.get("/admin/reports/summary/")

    assert page.status_code == 200
    assert 'data-testid="commission-revenue-row"><td>EUR</td>' in page.content.decode()


def test_operator_payout_page_csv_and_refusals(client, commission_invoice):
    client.force_login(operator_user("reporting.view_reports"))
    seller_id = commission_invoice.seller_id
    query = {"seller": seller_id, "period": f"{THIS_MONTH:%Y-%m}"}

    page = client.get("/admin/reports/payouts/", query)
    csv_response = client.get("/admin/reports/payouts/", {**query, "format": "csv"})
    no_month = client.get("/admin/reports/payouts/", {"seller": seller_id, "period": "2026-13"})
    no_seller = client.get("/admin/reports/payouts/", {"period": "2026-01"})

    # 47.54 - 4.76 = 42.78
    assert "<strong>42.78 EUR</strong>" in page.content.decode()
    assert f"{seller_id},Lonček d.o.o.,{THIS_MONTH:%Y-%m},EUR,payout,,42.78" in (
        csv_response.content.decode()
    )
    assert no_month.status_code == 400
    assert "period: a month as YYYY-MM." in no_month.content.decode()
    assert no_seller.status_code == 400
    assert "seller: choose a seller." in no_seller.content.decode()


def test_a_seller_user_exports_its_own_commission_documents_only(
    client, commission_invoice, django_capture_on_commit_callbacks
):
    other = seller_with_entity(business_name="Other d.o.o.")
    checkout = orders.checkout_create(
        buyer=UserFactory(),
        lines=[orders.CartLine(ProductFactory(seller=other).pk, 1)],
        billing=BILLING,
    )
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=checkout.orders.get().pk)
    with django_capture_on_commit_callbacks(execute=True):
        commission_documents_write(seller_id=other.pk, period_start=THIS_MONTH)
    client.force_login(SellerUserFactory(seller=commission_invoice.seller).user)

    response = client.get(
        "/api/reports/seller/commission.csv",
        {"date_from": THIS_MONTH.isoformat(), "date_to": TODAY.isoformat()},
    )

    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith(f"{commission_invoice.seller_id},Lonček d.o.o.,MP-")


def test_admin_lists_and_opens_commission_documents(client, commission_invoice):
    client.force_login(operator_user(is_superuser=True))

    listing = client.get("/admin/invoicing/document/", {"purpose__exact": "commission"})
    change = client.get(f"/admin/invoicing/document/{commission_invoice.pk}/change/")
    operator_entity = client.get("/admin/invoicing/operatorentity/")

    assert listing.status_code == 200
    body = listing.content.decode()
    assert commission_invoice.number in body
    assert f"Commission {THIS_MONTH:%Y-%m}" in body
    assert change.status_code == 200
    assert operator_entity.status_code == 200
    assert "Marketplace d.o.o." in operator_entity.content.decode()
