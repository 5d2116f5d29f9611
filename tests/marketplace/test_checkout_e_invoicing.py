"""Checkout captures what a business buyer's e-invoice needs (Peppol id with its scheme, buyer
reference), checks its format, requires it where the seller's country mandates an e-invoice
(sellers.einvoicing), keeps it on the order and sends it on the document's customer."""

from decimal import Decimal

import pytest
from lxml import etree

from invoicing.models import Document, DocumentKind
from marketplace import services as orders
from marketplace.einvoice_buyer import buyer_e_invoicing_validate, leitweg_id_is_valid
from marketplace.models import Checkout, Order, OrderLine
from tests.factories import ProductFactory, SellerFactory, UserFactory, seller_with_entity

pytestmark = pytest.mark.django_db

BELGIAN_BUSINESS = {
    "name": "Jan Peeters",
    "email": "jan@example.be",
    "address": "Rue Neuve 1",
    "post_code": "1000",
    "city": "Bruxelles",
    "country": "BE",
    "company": "Client SA",
}


@pytest.fixture
def buyer_client(api_client):
    api_client.force_authenticate(UserFactory(username="jan"))
    return api_client


@pytest.fixture
def belgian_product():
    seller = SellerFactory(business_name="Brussels Books", country="BE", tax_number="BE0403019261")
    return ProductFactory(seller=seller, name="Atlas", unit_price=Decimal("20.00"))


def _checkout(client, product, **billing):
    return client.post(
        "/api/checkout/",
        {"lines": [{"product_id": product.pk, "quantity": 1}], "billing": billing},
        format="json",
    )


def _nothing_written():
    return (Checkout.objects.count(), Order.objects.count(), OrderLine.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize(
    ("extra", "field", "detail"),
    [
        (
            {},
            "billing.peppol_id",
            "Brussels Books must send you a Peppol e-invoice: give your Peppol id and its scheme.",
        ),
        (
            {"peppol_id": "0403019261"},
            "billing.peppol_scheme_id",
            "Give the Peppol id's scheme (e.g. 0208 for a Belgian enterprise number).",
        ),
        (
            {"peppol_id": "0403019261", "peppol_scheme_id": "1234"},
            "billing.peppol_scheme_id",
            "1234 is not a Peppol identifier scheme (EAS code).",
        ),
        (
            {"peppol_id": "0403019262", "peppol_scheme_id": "0208"},
            "billing.peppol_id",
            "0403019262 is not a Belgian enterprise number (Peppol scheme 0208).",
        ),
        (
            {"peppol_id": "9925:BE0403019261", "peppol_scheme_id": "0208"},
            "billing.peppol_scheme_id",
            "The Peppol id names scheme 9925, not 0208.",
        ),
        (
            {"peppol_id": "0208:0403019261", "buyer_reference": "PO\x0712"},
            "billing.buyer_reference",
            "A buyer reference is at most 100 printable characters.",
        ),
    ],
)
def test_bad_or_missing_e_invoicing_details_are_a_400_naming_the_field(
    buyer_client, belgian_product, extra, field, detail
):
    response = _checkout(buyer_client, belgian_product, **BELGIAN_BUSINESS, **extra)

    assert response.status_code == 400, response.json()
    assert response.json() == {"detail": detail, "field": field, "code": "invalid"}
    assert _nothing_written()


def test_a_belgian_business_sale_keeps_the_peppol_id_and_sends_it_on_the_invoice(
    sandbox, buyer_client, django_capture_on_commit_callbacks
):
    seller = seller_with_entity(
        business_name="Brussels Books", country="BE", tax_number="BE0403019261"
    )
    product = ProductFactory(seller=seller, name="Atlas", unit_price=Decimal("20.00"))

    response = _checkout(
        buyer_client,
        product,
        **BELGIAN_BUSINESS,
        peppol_id=" 0208:0403.019.261 ",
        buyer_reference="PO-2026-17",
    )

    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert (order.buyer_peppol_scheme_id, order.buyer_peppol_id, order.buyer_reference) == (
        "0208",
        "0403019261",
        "PO-2026-17",
    )
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order, kind=DocumentKind.INVOICE)
    client = sandbox.client()
    remote = client.invoice_get(entity_id=str(seller.entity_id), invoice_id=invoice.remote_id)
    assert remote["customer"]["peppol_id"] == "0403019261"
    assert remote["customer"]["peppol_scheme_id"] == "0208"
    assert remote["customer"]["e_invoicing"] == {"buyer_reference": "PO-2026-17"}
    ubl = etree.fromstring(
        client.document_e_invoice(
            entity_id=str(seller.entity_id), document_id=invoice.remote_id, e_format="ubl"
        )
    )
    ns = {
        "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
        "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    }
    endpoint = ubl.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", ns)
    assert (endpoint.text, endpoint.get("schemeID")) == ("0403019261", "0208")
    assert ubl.findtext("cbc:BuyerReference", namespaces=ns) == "PO-2026-17"


def test_a_belgian_consumer_needs_no_peppol_id(buyer_client, belgian_product):
    consumer = {key: value for key, value in BELGIAN_BUSINESS.items() if key != "company"}

    response = _checkout(buyer_client, belgian_product, **consumer)

    assert response.status_code == 201, response.json()
    assert Order.objects.get().buyer_peppol_id == ""


def test_a_slovenian_business_sale_needs_none_before_2028(buyer_client):
    product = ProductFactory(seller=SellerFactory(business_name="Alpine Crafts"))
    billing = {**BELGIAN_BUSINESS, "country": "SI", "post_code": "2000", "city": "Maribor"}

    response = _checkout(buyer_client, product, **billing)

    assert response.status_code == 201, response.json()


def test_leitweg_ids_and_scheme_formats():
    assert leitweg_id_is_valid("991-01234-38")
    assert leitweg_id_is_valid("04011000-12345-03")
    assert not leitweg_id_is_valid("991-01234-39")
    assert not leitweg_id_is_valid("1-2-3")
    german = buyer_e_invoicing_validate(
        peppol_id="991-01234-38", peppol_scheme_id="0204", buyer_reference="991-01234-38"
    )
    assert (german.peppol_scheme_id, german.peppol_id) == ("0204", "991-01234-38")
    vat = buyer_e_invoicing_validate(
        peppol_id="0403019261", peppol_scheme_id="9925", buyer_reference=""
    )
    assert vat.peppol_id == "BE0403019261"
    generic = buyer_e_invoicing_validate(
        peppol_id="12345678", peppol_scheme_id="0106", buyer_reference=""
    )
    assert generic.peppol_id == "12345678"
