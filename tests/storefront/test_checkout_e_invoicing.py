"""The checkout page asks a business buyer for its e-invoicing details and shows what is wrong
with them next to the field, writing nothing."""

from decimal import Decimal

import pytest

from marketplace.models import Order
from tests.factories import ProductFactory, SellerFactory
from tests.storefront.conftest import add, checkout_post, counts

pytestmark = pytest.mark.django_db

BELGIAN_BUSINESS = {
    "country": "BE",
    "post_code": "1000",
    "city": "Bruxelles",
    "company": "Client SA",
}


@pytest.fixture
def cart(client):
    seller = SellerFactory(business_name="Brussels Books", country="BE", tax_number="BE0403019261")
    atlas = ProductFactory(seller=seller, name="Atlas", unit_price=Decimal("20.00"))
    add(client, atlas, 1)
    return [(atlas, 1, Decimal("20.00"))]


def test_the_page_labels_the_e_invoicing_fields(client, cart):
    html = client.get("/checkout/").content.decode()

    for field, label in [
        ("peppol_scheme_id", "Peppol id scheme (e.g. 0208)"),
        ("peppol_id", "Peppol id"),
        ("buyer_reference", "Buyer reference"),
    ]:
        assert f'<label for="id_{field}">{label}:</label>' in html


@pytest.mark.parametrize(
    ("billing", "field", "message"),
    [
        (
            {},
            "peppol_id",
            "Brussels Books must send you a Peppol e-invoice: give your Peppol id and its scheme.",
        ),
        (
            {"peppol_id": "0403019262", "peppol_scheme_id": "0208"},
            "peppol_id",
            "0403019262 is not a Belgian enterprise number (Peppol scheme 0208).",
        ),
        (
            {"peppol_id": "0403019261", "peppol_scheme_id": "12"},
            "peppol_scheme_id",
            "12 is not a Peppol identifier scheme (EAS code).",
        ),
    ],
)
def test_bad_e_invoicing_details_are_shown_on_their_field(client, cart, billing, field, message):
    response = checkout_post(client, cart, **BELGIAN_BUSINESS, **billing)

    assert response.status_code == 400
    assert (
        f'<p class="field-error" id="id_{field}_error" data-testid="error-{field}">{message}</p>'
        in response.content.decode()
    )
    assert counts() == {"checkouts": 0, "orders": 0, "invoices": 0, "payments": 0}


def test_good_details_are_kept_on_the_order(client, cart):
    response = checkout_post(
        client,
        cart,
        **BELGIAN_BUSINESS,
        peppol_scheme_id="0208",
        peppol_id="0403019261",
        buyer_reference="PO-9",
    )

    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.buyer_peppol_scheme_id, order.buyer_peppol_id, order.buyer_reference) == (
        "0208",
        "0403019261",
        "PO-9",
    )
