"""A document's e-invoice through the API and the seller pages, under the PDF's rules, and the
format each document is issued in (the seller country's mandate on the day it is written)."""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from invoicing.models import Document, DocumentKind, DocumentState
from marketplace import services as orders
from tests.einvoice_validators import validate
from tests.factories import (
    BILLING,
    ProductFactory,
    SellerUserFactory,
    UserFactory,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db


def _invoice(callbacks, seller, buyer, billing=BILLING):
    product = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    checkout = orders.checkout_create(
        buyer=buyer, lines=[orders.CartLine(product_id=product.pk, quantity=2)], billing=billing
    )
    order = checkout.orders.get()
    with callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    return Document.objects.get(order=order, kind=DocumentKind.INVOICE)


def test_the_buyer_and_the_seller_download_it_and_nobody_else(
    sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity(business_name="Alpine Crafts")
    ana = UserFactory(username="ana")
    invoice = _invoice(django_capture_on_commit_callbacks, seller, ana)
    member = SellerUserFactory(seller=seller).user
    outsider = SellerUserFactory(seller=seller_with_entity(business_name="Other")).user
    api = APIClient()

    api.force_authenticate(ana)
    own = api.get(f"/api/invoices/{invoice.pk}/e-invoice/")
    zugferd = api.get(f"/api/invoices/{invoice.pk}/e-invoice/", {"e_format": "zugferd"})
    bad = api.get(f"/api/invoices/{invoice.pk}/e-invoice/", {"e_format": "pdf"})
    api.force_authenticate(UserFactory(username="bob"))
    other_buyer = api.get(f"/api/invoices/{invoice.pk}/e-invoice/")
    pages = Client()
    pages.force_login(member)
    seller_page = pages.get(f"/seller/documents/{invoice.pk}/e-invoice/")
    pages.force_login(outsider)
    other_seller_page = pages.get(f"/seller/documents/{invoice.pk}/e-invoice/")

    assert invoice.state == DocumentState.ISSUED
    assert invoice.e_invoice_format == ""  # Slovenia: no mandate before 2028, UBL on request
    assert own.status_code == 200
    assert own["Content-Disposition"] == (
        f'attachment; filename="alpine-crafts-{invoice.number}-ubl.xml"'
    )
    assert validate(own.content).counts() == {"xsd": 0, "en16931": 0, "peppol": 0}
    assert validate(zugferd.content).counts() == {"xsd": 0, "en16931": 0, "peppol": 0}
    assert bad.status_code == 400
    assert bad.json()["field"] == "e_format"
    assert other_buyer.status_code == 404
    assert seller_page.status_code == 200
    assert seller_page.content == own.content
    assert other_seller_page.status_code == 404
    assert b"<?xml" not in other_seller_page.content


def test_a_document_not_issued_has_no_e_invoice(sandbox, django_capture_on_commit_callbacks):
    seller = seller_with_entity(business_name="Alpine Crafts")
    ana = UserFactory(username="ana")
    invoice = _invoice(django_capture_on_commit_callbacks, seller, ana)
    Document.objects.filter(pk=invoice.pk).update(state=DocumentState.PENDING, paid_at=None)
    api = APIClient()
    api.force_authenticate(ana)

    response = api.get(f"/api/invoices/{invoice.pk}/e-invoice/")

    assert response.status_code == 400
    assert response.json()["field"] == "state"


def test_documents_record_the_format_their_sellers_mandate_asks_for(
    sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(timezone, "localdate", lambda *args: dt.date(2027, 3, 1))
    german = seller_with_entity(
        business_name="Berlin Books", country="DE", tax_number="DE136695976"
    )
    belgian = seller_with_entity(
        business_name="Brussels Books", country="BE", tax_number="BE0403019261"
    )
    buyer = UserFactory()
    berlin = replace(BILLING, country="DE", post_code="10115", city="Berlin")
    brussels = replace(
        BILLING, country="BE", post_code="1000", city="Bruxelles", company="Client SA",
        peppol_id="0208:0403019261",
    )  # fmt: skip

    de_invoice = _invoice(django_capture_on_commit_callbacks, german, buyer, berlin)
    be_invoice = _invoice(django_capture_on_commit_callbacks, belgian, buyer, brussels)

    assert de_invoice.e_invoice_format == "xrechnung"
    assert be_invoice.e_invoice_format == "ubl"
    api = APIClient()
    api.force_authenticate(buyer)
    xml = api.get(f"/api/invoices/{de_invoice.pk}/e-invoice/")
    assert xml["Content-Disposition"].endswith(f'-{de_invoice.number}-xrechnung.xml"')
    assert validate(xml.content).errors == []
