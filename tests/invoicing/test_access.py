import pytest

from invoicing.models import Document, DocumentState
from tests.factories import (
    InvoiceFactory,
    OrderFactory,
    SellerFactory,
    SellerUserFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def issued_invoice(seller, buyer, number):
    return InvoiceFactory(
        order=OrderFactory(seller=seller, buyer=buyer),
        remote_id=f"inv_{number:024x}",
        number=f"2026-{number:05d}",
        shareable_id=f"{number:024x}",
    )


def test_seller_users_list_only_their_sellers_documents(api_client):
    mine, theirs = SellerFactory(), SellerFactory()
    buyer = UserFactory()
    own = issued_invoice(mine, buyer, 1)
    foreign = issued_invoice(theirs, buyer, 2)
    api_client.force_authenticate(SellerUserFactory(seller=mine, role="viewer").user)

    listed = api_client.get("/api/seller/invoices/").json()["results"]

    assert [row["id"] for row in listed] == [own.pk]
    assert api_client.get(f"/api/invoices/{foreign.pk}/").status_code == 404
    assert api_client.get(f"/api/invoices/{foreign.pk}/link/").status_code == 404
    assert api_client.get(f"/api/invoices/{own.pk}/").json()["number"] == "2026-00001"


def test_seller_id_in_the_request_is_ignored(api_client):
    mine, theirs = SellerFactory(), SellerFactory()
    issued_invoice(theirs, UserFactory(), 1)
    api_client.force_authenticate(SellerUserFactory(seller=mine).user)
    listed = api_client.get(f"/api/seller/invoices/?seller={theirs.pk}&seller_id={theirs.pk}")
    assert listed.json()["results"] == []


def test_non_seller_users_have_no_seller_documents(api_client):
    api_client.force_authenticate(UserFactory())
    response = api_client.get("/api/seller/invoices/")
    assert response.status_code == 403
    assert api_client.get("/api/seller/").status_code == 403


def test_buyers_see_their_own_documents_only(api_client, settings):
    seller = SellerFactory()
    ana, bob = UserFactory(), UserFactory()
    anas = issued_invoice(seller, ana, 1)
    api_client.force_authenticate(bob)
    assert api_client.get(f"/api/invoices/{anas.pk}/").status_code == 404
    api_client.force_authenticate(ana)
    assert api_client.get(f"/api/invoices/{anas.pk}/link/").json() == {
        "url": f"{settings.SPACE_INVOICES_SHARE_URL}{anas.shareable_id}"
    }


def test_anonymous_users_see_only_the_catalog(api_client):
    invoice = issued_invoice(SellerFactory(), UserFactory(), 1)
    assert api_client.get("/api/catalog/products/").status_code == 200
    for path in ("/api/orders/", f"/api/invoices/{invoice.pk}/", "/api/seller/invoices/"):
        assert api_client.get(path).status_code == 401, path


def test_pending_documents_have_no_link_yet(api_client):
    invoice = issued_invoice(SellerFactory(), UserFactory(), 1)
    Document.objects.filter(pk=invoice.pk).update(
        state=DocumentState.PENDING, number="", remote_id=None
    )
    api_client.force_authenticate(invoice.order.buyer)
    response = api_client.get(f"/api/invoices/{invoice.pk}/link/")
    assert response.status_code == 400
    assert response.json()["field"] == "state"


def test_schema_is_served(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/checkout/" in response.content
