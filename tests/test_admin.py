"""Operators' admin: the mirror is read-only, failures show their reason and can be retried."""

import pytest
from django.contrib.messages import get_messages

from invoicing.models import Document, DocumentState
from sellers.models import Seller, SellerStatus
from tests.factories import InvoiceFactory, OrderFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    user = UserFactory(username="operator", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def failed_invoice(seller, reason):
    return InvoiceFactory(
        order=OrderFactory(seller=seller),
        state=DocumentState.FAILED,
        remote_id=None,
        number="",
        shareable_id="",
        attempts=1,
        last_error=reason,
    )


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/sellers/seller/",
        "/admin/sellers/selleruser/",
        "/admin/marketplace/order/",
        "/admin/marketplace/product/",
        "/admin/invoicing/document/",
    ],
)
def test_admin_pages_open(operator, path):
    SellerFactory()
    assert operator.get(path).status_code == 200


def test_failed_invoice_shows_the_apis_reason(operator):
    invoice = failed_invoice(SellerFactory(), "422 validation_error: items.0.price: required")
    listing = operator.get("/admin/invoicing/document/?state__exact=failed").content.decode()
    assert "422 validation_error: items.0.price: required" in listing
    detail = operator.get(f"/admin/invoicing/document/{invoice.pk}/change/")
    assert detail.status_code == 200
    assert "422 validation_error: items.0.price: required" in detail.content.decode()
    assert "Export issued invoices (CSV)" in listing


def test_retry_action_issues_a_failed_invoice(
    operator, sandbox, django_capture_on_commit_callbacks
):
    from invoicing.seller_entities import seller_entity_create

    seller = seller_entity_create(
        seller_id=SellerFactory(status=SellerStatus.PENDING, entity_id=None).pk
    )
    invoice = failed_invoice(seller, "422 validation_error: something was wrong")
    issued_elsewhere = failed_invoice(SellerFactory(), "401 unauthorized")
    Document.objects.filter(pk=issued_elsewhere.pk).update(
        state=DocumentState.ISSUED, remote_id="inv_x", number="2026-00009"
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            "/admin/invoicing/document/",
            {
                "action": "retry",
                "_selected_action": [invoice.pk, issued_elsewhere.pk],
                "post": "yes",
            },
            follow=True,
        )

    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "1 document queued for retry; 1 skipped (already issued)."
    ]
    invoice.refresh_from_db()
    assert invoice.state == DocumentState.ISSUED
    assert invoice.last_error == ""
    assert Document.objects.get(pk=issued_elsewhere.pk).number == "2026-00009"


def test_invoices_cannot_be_edited_or_deleted_in_admin(operator):
    invoice = failed_invoice(SellerFactory(), "boom")
    operator.post(f"/admin/invoicing/document/{invoice.pk}/change/", {"number": "X-1"})
    assert (
        operator.post(
            f"/admin/invoicing/document/{invoice.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    invoice.refresh_from_db()
    assert invoice.number == ""


def test_request_entity_action_for_a_failed_seller(
    operator, sandbox, django_capture_on_commit_callbacks
):
    failed = SellerFactory(status=SellerStatus.FAILED, entity_id=None, entity_error="422 ...")
    active = SellerFactory()

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            "/admin/sellers/seller/",
            {"action": "request_entity", "_selected_action": [failed.pk, active.pk], "post": "yes"},
            follow=True,
        )

    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "1 seller queued for entity creation; 1 skipped (already active)."
    ]
    failed.refresh_from_db()
    assert failed.status == SellerStatus.ACTIVE
    assert failed.entity_id is not None
    assert Seller.objects.get(pk=active.pk).entity_id == active.entity_id
