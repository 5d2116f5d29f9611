"""Operators reach orders, documents, sellers, reports and exports through the Django model
permissions admin already requires; `is_staff` alone reaches what any user reaches."""

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import InvoiceFactory, SellerFactory, operator_user

pytestmark = pytest.mark.django_db

YEAR = {"date_from": "2026-01-01", "date_to": "2026-12-31"}
REPORT_PAGES = [
    "/admin/reports/",
    "/admin/reports/statement/",
    "/admin/reports/summary/",
    "/admin/reports/vat/",
    "/admin/reports/health/",
    "/admin/reports/sellers/",
]
ADMIN_DOWNLOADS = ["/admin/reports/documents.csv", "/admin/invoicing/document/export.csv"]
EXPORT_APIS = [
    "/api/reports/invoices.csv",
    "/api/reports/documents.csv",
    "/api/reports/lines.csv",
    "/api/reports/vat.csv",
    "/api/reports/statement.csv",
]
NEW_SELLER = {
    "business_name": "Alpine Crafts d.o.o.",
    "address": "Trubarjeva 1",
    "post_code": "1000",
    "city": "Ljubljana",
    "country": "SI",
    "email": "billing@alpine.example",
    "tax_number": "SI50223054",
}


def denied(*perms: str) -> dict[str, Any]:
    return {
        "detail": f"Only operators with the permission {', '.join(perms)} can do this.",
        "field": None,
        "code": "permission_denied",
    }


@pytest.fixture
def invoice() -> Any:
    """Another buyer's paid order, invoiced."""
    return InvoiceFactory()


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff() -> Any:
    return operator_user()


# Orders and documents: staff without the permissions see only their own.


def test_staff_alone_do_not_see_or_move_other_buyers_orders(invoice):
    client = api(staff())
    order = invoice.order
    refund = {"lines": [{"line_id": order.lines.get().pk, "quantity": 1}]}

    assert client.get("/api/orders/").json()["results"] == []
    assert client.get(f"/api/orders/{order.pk}/").status_code == 404
    assert client.post(f"/api/orders/{order.pk}/fulfil/").status_code == 404
    assert client.post(f"/api/orders/{order.pk}/cancel/").status_code == 404
    assert client.post(f"/api/orders/{order.pk}/refund/", refund, format="json").status_code == 404
    order.refresh_from_db()
    assert order.status == "paid"


def test_operators_with_view_order_see_every_order(invoice):
    client = api(operator_user("marketplace.view_order"))

    assert [row["id"] for row in client.get("/api/orders/").json()["results"]] == [invoice.order_id]
    assert client.get(f"/api/orders/{invoice.order_id}/").status_code == 200
    # Seeing is not moving: that takes marketplace.change_order.
    assert client.post(f"/api/orders/{invoice.order_id}/cancel/").status_code == 404


def test_operators_with_change_order_move_any_order(invoice, sandbox):
    client = api(operator_user("marketplace.view_order", "marketplace.change_order"))

    response = client.post(f"/api/orders/{invoice.order_id}/fulfil/")

    assert (response.status_code, response.json()["status"]) == (200, "fulfilled")


def test_staff_alone_do_not_see_other_buyers_documents(invoice):
    client = api(staff())
    for suffix in ("", "link/", "pdf/"):
        assert client.get(f"/api/invoices/{invoice.pk}/{suffix}").status_code == 404

    allowed = api(operator_user("invoicing.view_document"))
    assert allowed.get(f"/api/invoices/{invoice.pk}/").json()["number"] == invoice.number
    assert allowed.get(f"/api/invoices/{invoice.pk}/link/").status_code == 200


# Operator-only endpoints: 403 naming the permission.


def test_staff_alone_cannot_list_or_onboard_sellers():
    seller = SellerFactory()
    client = api(staff())

    listed = client.get("/api/sellers/")
    detail = client.get(f"/api/sellers/{seller.pk}/")
    onboarded = client.post("/api/sellers/", NEW_SELLER, format="json")

    assert (listed.status_code, listed.json()) == (403, denied("sellers.view_seller"))
    assert (detail.status_code, detail.json()) == (403, denied("sellers.view_seller"))
    assert (onboarded.status_code, onboarded.json()) == (403, denied("sellers.add_seller"))
    assert [
        row["id"]
        for row in api(operator_user("sellers.view_seller")).get("/api/sellers/").json()["results"]
    ] == [seller.pk]


def test_staff_alone_cannot_export_across_sellers(invoice, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    client = api(staff())
    for path in EXPORT_APIS:
        response = client.get(path, YEAR)
        assert (response.status_code, response.json()) == (403, denied("reporting.export_reports"))
    job = client.post("/api/reports/exports/", {"report": "documents", **YEAR}, format="json")
    assert (job.status_code, job.json()) == (403, denied("reporting.export_reports"))
    assert client.get("/api/reports/exports/1/").status_code == 403

    exporter = api(operator_user("reporting.export_reports"))
    for path in EXPORT_APIS:
        assert exporter.get(path, {**YEAR, "seller": invoice.seller_id}).status_code == 200


def test_staff_alone_get_a_403_page_for_reports_and_downloads(invoice):
    client = page_client(staff())
    for path in REPORT_PAGES + ADMIN_DOWNLOADS:
        response = client.get(path, YEAR)
        assert response.status_code == 403, path

    viewer = page_client(operator_user("reporting.view_reports"))
    for path in REPORT_PAGES:
        assert viewer.get(path, {**YEAR, "seller": invoice.seller_id}).status_code == 200, path
    for path in ADMIN_DOWNLOADS:
        assert viewer.get(path, YEAR).status_code == 403, path

    exporter = page_client(operator_user("reporting.export_reports"))
    for path in ADMIN_DOWNLOADS:
        assert exporter.get(path, YEAR).status_code == 200, path


def test_the_local_operator_of_ensure_operator_reaches_everything(invoice, tmp_path, settings):
    settings.LOCAL_DIR = tmp_path
    call_command("ensure_operator", stdout=None)
    operator = get_user_model().objects.get(username="operator")
    client, pages = api(operator), page_client(operator)

    assert client.get(f"/api/orders/{invoice.order_id}/").status_code == 200
    assert client.get(f"/api/invoices/{invoice.pk}/").status_code == 200
    assert client.get("/api/sellers/").status_code == 200
    assert client.get("/api/reports/documents.csv", YEAR).status_code == 200
    for path in REPORT_PAGES:
        assert pages.get(path, {**YEAR, "seller": invoice.seller_id}).status_code == 200, path
    for path in ADMIN_DOWNLOADS:
        assert pages.get(path, YEAR).status_code == 200, path
