"""The marketplace's order reference on every document: the `reference` sent to Space Invoices
and printed on the PDF, for invoices and credit notes alike."""

import io
import json
from decimal import Decimal

import pytest
from pypdf import PdfReader

from invoicing.models import Document, DocumentKind
from invoicing.seller_entities import seller_entity_create
from marketplace import services as orders
from marketplace.services import CartLine
from tests.factories import BILLING, ProductFactory, SellerFactory, SellerUserFactory, UserFactory

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_invoice_and_credit_note_carry_the_order_reference_in_the_body_and_on_the_pdf(
    sandbox, django_capture_on_commit_callbacks
):
    seller = seller_entity_create(seller_id=SellerFactory(status="pending", entity_id=None).pk)
    product = ProductFactory(seller=seller, name="Lamp", unit_price=Decimal("80.00"))
    buyer = UserFactory(username="ana")
    checkout = orders.checkout_create(
        buyer=buyer, lines=[CartLine(product_id=product.pk, quantity=2)], billing=BILLING
    )
    order = checkout.orders.get()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    line = order.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(line.pk, 1)])

    invoice = Document.objects.get(order=order, kind=DocumentKind.INVOICE)
    credit_note = Document.objects.get(order=order, kind=DocumentKind.CREDIT_NOTE)
    assert order.reference == f"order-{order.pk}"
    for document in (invoice, credit_note):
        assert json.loads(document.payload)["reference"] == f"order-{order.pk}"
    for path in (f"/invoices/{invoice.remote_id}", f"/credit-notes/{credit_note.remote_id}"):
        remote = sandbox.http().get(path, headers={"x-entity-id": seller.entity_id}).json()
        assert remote["reference"] == f"order-{order.pk}"
        pdf = sandbox.http().get(f"{path}/pdf", headers={"x-entity-id": seller.entity_id})
        assert pdf.status_code == 200
        assert f"Reference order-{order.pk}" in pdf_text(pdf.content)


def test_the_seller_documents_list_and_the_buyers_order_card_show_the_reference(
    client, sandbox, django_capture_on_commit_callbacks
):
    seller = seller_entity_create(seller_id=SellerFactory(status="pending", entity_id=None).pk)
    product = ProductFactory(seller=seller, name="Lamp", unit_price=Decimal("80.00"))
    buyer = UserFactory(username="ana")
    checkout = orders.checkout_create(
        buyer=buyer, lines=[CartLine(product_id=product.pk, quantity=1)], billing=BILLING
    )
    order = checkout.orders.get()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    member = SellerUserFactory(seller=seller)

    client.force_login(member.user)
    documents = client.get("/seller/documents/").content.decode()
    client.force_login(buyer)
    cards = client.get("/my/orders/").content.decode()

    assert f'data-testid="document-order">order-{order.pk}</a>' in documents
    assert f'<code data-testid="order-reference">order-{order.pk}</code>' in cards
