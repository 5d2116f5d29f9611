"""Buyers download a document's e-invoice beside its PDF, under the PDF's rules: the buyer of the
checkout (and the guest link) gets the XML, which the published validators accept; a stranger and
another checkout get a 404; an unknown format is a 400."""

import pytest
from django.test import Client
from django.utils import timezone

from marketplace.storefront.guest import guest_orders_token
from tests.einvoice_validators import validate
from tests.factories import UserFactory
from tests.storefront.test_orders import documents_of, paid, place  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def test_the_order_page_links_the_e_invoice_beside_the_pdf(client, paid):  # noqa: F811
    doc = documents_of(paid)["Berlin Books GmbH"]

    html = client.get(f"/orders/checkout/{paid.public_id}/").content.decode()
    status = client.get(f"/orders/checkout/{paid.public_id}/status/").json()

    base = f"/orders/checkout/{paid.public_id}/documents/{doc.pk}/"
    assert f'href="{base}pdf/"' in html
    assert f'href="{base}e-invoice/" data-testid="invoice-e-invoice"' in html
    urls = [d["e_invoice_url"] for o in status["orders"] for d in o["documents"]]
    assert f"{base}e-invoice/" in urls


def test_the_e_invoice_is_streamed_to_the_buyer_only(client, paid):  # noqa: F811
    doc = documents_of(paid)["Berlin Books GmbH"]
    url = f"/orders/checkout/{paid.public_id}/documents/{doc.pk}/e-invoice/"

    response = client.get(url)
    xrechnung = client.get(url, {"e_format": "xrechnung"})
    unknown = client.get(url, {"e_format": "edifact"})
    stranger = Client().get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"] == (
        f'attachment; filename="berlin-books-gmbh-{YEAR}-00001-ubl.xml"'
    )
    assert validate(response.content).counts() == {"xsd": 0, "en16931": 0, "peppol": 0}
    assert xrechnung.status_code == 200
    assert b"CrossIndustryInvoice" in xrechnung.content
    assert validate(xrechnung.content).errors == []
    assert unknown.status_code == 400
    assert "Choose an e-invoice format of ubl, xrechnung, zugferd." in unknown.content.decode()
    assert stranger.status_code == 404
    assert b"<?xml" not in stranger.content


def test_another_checkouts_e_invoice_is_not_found(client, products, paid):  # noqa: F811
    bob = Client()
    bob.force_login(UserFactory(username="bob"))
    bob_checkout = place(bob, products)
    doc = documents_of(paid)["Alpine Crafts d.o.o."]

    response = bob.get(f"/orders/checkout/{bob_checkout.public_id}/documents/{doc.pk}/e-invoice/")

    assert response.status_code == 404
    assert b"<?xml" not in response.content


def test_the_guest_link_downloads_the_e_invoice(paid):  # noqa: F811
    token = guest_orders_token(paid)
    doc = documents_of(paid)["Alpine Crafts d.o.o."]

    response = Client().get(f"/orders/guest/{token}/documents/{doc.pk}/e-invoice/")
    forged = Client().get(f"/orders/guest/{token}x/documents/{doc.pk}/e-invoice/")

    assert response.status_code == 200
    assert response.content.startswith(b"<?xml")
    assert forged.status_code in (400, 404)
    assert b"<?xml" not in forged.content
