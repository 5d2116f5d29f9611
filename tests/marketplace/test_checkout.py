from decimal import Decimal

import pytest

from invoicing.models import Document
from marketplace.models import Checkout, Order, OrderLine, SupplyKind, TaxCategory
from sellers.models import SellerStatus
from tests.factories import ProductFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

BILLING = {
    "name": "Ana Novak",
    "email": "ana@example.com",
    "address": "Prešernova 5",
    "post_code": "2000",
    "city": "Maribor",
    "country": "SI",
}


@pytest.fixture
def buyer_client(api_client):
    api_client.force_authenticate(UserFactory(username="ana"))
    return api_client


@pytest.fixture
def products():
    slovenian = SellerFactory(business_name="Alpine Crafts")
    german = SellerFactory(
        business_name="Berlin Books GmbH", country="DE", tax_number="DE136695976"
    )
    return {
        "mug": ProductFactory(seller=slovenian, name="Mug", unit_price=Decimal("12.99")),
        "honey": ProductFactory(
            seller=slovenian,
            name="Honey",
            unit_price=Decimal("7.45"),
            tax_category=TaxCategory.REDUCED,
        ),
        "book": ProductFactory(
            seller=german,
            name="Book",
            unit_price=Decimal("19.99"),
            tax_category=TaxCategory.REDUCED,
        ),
    }


def test_catalog_is_public_and_lists_only_active_sellers_products(api_client, products):
    ProductFactory(seller=SellerFactory(status=SellerStatus.PENDING, entity_id=None))
    ProductFactory(seller=products["mug"].seller, is_active=False)

    response = api_client.get("/api/catalog/products/")

    assert response.status_code == 200
    names = [product["name"] for product in response.json()["results"]]
    assert sorted(names) == ["Book", "Honey", "Mug"]
    mug = next(p for p in response.json()["results"] if p["name"] == "Mug")
    assert mug["seller_name"] == "Alpine Crafts"
    assert mug["unit_price"] == "12.99"


def test_catalog_filters_by_seller(api_client, products):
    response = api_client.get("/api/catalog/products/", {"seller": products["book"].seller_id})

    assert response.status_code == 200
    assert [product["name"] for product in response.json()["results"]] == ["Book"]


@pytest.mark.parametrize("seller", ["abc", "-1", " 1", "1.0", ""])
def test_catalog_refuses_a_seller_that_is_not_an_id(api_client, products, seller):
    response = api_client.get("/api/catalog/products/", {"seller": seller})

    assert response.status_code == 400
    assert response.json() == {
        "detail": "seller: Must be a seller id.",
        "field": "seller",
        "code": "invalid",
        "errors": {"seller": ["Must be a seller id."]},
    }


def test_cart_of_two_sellers_becomes_one_order_per_seller(buyer_client, products):
    lines = [
        {"product_id": products["mug"].pk, "quantity": 3},
        {"product_id": products["book"].pk, "quantity": 1},
        {"product_id": products["honey"].pk, "quantity": 2},
    ]

    response = buyer_client.post(
        "/api/checkout/", {"lines": lines, "billing": BILLING}, format="json"
    )

    assert response.status_code == 201, response.json()
    orders = {order["seller_name"]: order for order in response.json()["orders"]}
    assert set(orders) == {"Alpine Crafts", "Berlin Books GmbH"}
    alpine = orders["Alpine Crafts"]
    # 3 x 12.99 = 38.97 at 22 % -> 8.57; 2 x 7.45 = 14.90 at 9.5 % -> 1.42 (1.4155)
    assert (alpine["total_net"], alpine["total_tax"], alpine["total_gross"]) == (
        "53.87",
        "9.99",
        "63.86",
    )
    assert [(line["name"], line["quantity"], line["total_net"]) for line in alpine["lines"]] == [
        ("Mug", 3, "38.97"),
        ("Honey", 2, "14.90"),
    ]
    berlin = orders["Berlin Books GmbH"]
    assert (berlin["total_net"], berlin["total_tax"], berlin["total_gross"]) == (
        "19.99",
        "1.40",
        "21.39",
    )
    assert berlin["status"] == "placed"
    assert berlin["billing_country"] == "SI"
    assert Checkout.objects.get().orders.count() == 2


def test_the_same_product_twice_is_one_line(buyer_client, products):
    lines = [{"product_id": products["mug"].pk, "quantity": 1}] * 2
    response = buyer_client.post(
        "/api/checkout/", {"lines": lines, "billing": BILLING}, format="json"
    )
    assert response.status_code == 201
    assert [
        (line["quantity"], line["total_net"]) for line in response.json()["orders"][0]["lines"]
    ] == [(2, "25.98")]


def _bad_cart(products, case):
    inactive_seller = SellerFactory(status=SellerStatus.FAILED, entity_id=None)
    cases = {
        "zero quantity": ([{"product_id": products["mug"].pk, "quantity": 0}], "lines[0].quantity"),
        "negative quantity": (
            [
                {"product_id": products["book"].pk, "quantity": 1},
                {"product_id": products["mug"].pk, "quantity": -2},
            ],
            "lines[1].quantity",
        ),
        "unknown product": ([{"product_id": 999999, "quantity": 1}], "lines[0].product_id"),
        "inactive seller": (
            [
                {"product_id": products["mug"].pk, "quantity": 1},
                {"product_id": ProductFactory(seller=inactive_seller).pk, "quantity": 1},
            ],
            "lines[1].product_id",
        ),
        "empty cart": ([], "lines"),
        "quantity not a number": (
            [{"product_id": products["mug"].pk, "quantity": "many"}],
            "lines[0].quantity",
        ),
    }
    return cases[case]


@pytest.mark.parametrize(
    "case",
    [
        "zero quantity",
        "negative quantity",
        "unknown product",
        "inactive seller",
        "empty cart",
        "quantity not a number",
    ],
)
def test_bad_cart_is_a_400_naming_the_line_and_writes_nothing(buyer_client, products, case):
    lines, field = _bad_cart(products, case)

    response = buyer_client.post(
        "/api/checkout/", {"lines": lines, "billing": BILLING}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field
    assert Checkout.objects.count() == 0
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert Document.objects.count() == 0


def test_unknown_billing_country_is_named(buyer_client, products):
    lines = [{"product_id": products["mug"].pk, "quantity": 1}]
    billing = {**BILLING, "country": "ZZ"}
    response = buyer_client.post(
        "/api/checkout/", {"lines": lines, "billing": billing}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "'ZZ' is not an ISO 3166-1 alpha-2 country code.",
        "field": "billing.country",
        "code": "invalid",
    }
    assert Order.objects.count() == 0


def test_missing_billing_field_is_named(buyer_client, products):
    lines = [{"product_id": products["mug"].pk, "quantity": 1}]
    billing = {key: value for key, value in BILLING.items() if key != "email"}
    response = buyer_client.post(
        "/api/checkout/", {"lines": lines, "billing": billing}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "billing.email"


def test_one_seller_in_two_currencies_is_refused(buyer_client, products):
    usd = ProductFactory(seller=products["mug"].seller, currency="USD")
    lines = [
        {"product_id": products["mug"].pk, "quantity": 1},
        {"product_id": usd.pk, "quantity": 1},
    ]
    response = buyer_client.post(
        "/api/checkout/", {"lines": lines, "billing": BILLING}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "lines"
    assert Order.objects.count() == 0


def test_anonymous_users_cannot_check_out(api_client, products):
    lines = [{"product_id": products["mug"].pk, "quantity": 1}]
    response = api_client.post(
        "/api/checkout/", {"lines": lines, "billing": BILLING}, format="json"
    )
    assert response.status_code in (401, 403)
    assert Order.objects.count() == 0


def test_a_non_eu_sellers_imported_consignment_over_150_euro_is_refused_naming_the_line(
    buyer_client, products, settings
):
    settings.OPERATOR_COUNTRY = "SI"
    american = SellerFactory(business_name="Maple & Co", country="US", tax_number="123456789")
    lamp = ProductFactory(seller=american, name="Lamp", unit_price=Decimal("150.01"))
    lines = [
        {"product_id": products["mug"].pk, "quantity": 1},
        {"product_id": lamp.pk, "quantity": 1},
    ]

    response = buyer_client.post(
        "/api/checkout/", {"lines": lines, "billing": BILLING}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": (
            f"Maple & Co's product {lamp.pk} cannot be sold to a consumer in SI: goods imported "
            "into the EU in a consignment of EUR 150.01, over EUR 150.00: import VAT is due at "
            "the border, and the marketplace has no treatment for it. Remove it, or buy as a "
            "business with a VAT number."
        ),
        "field": "lines[1].product_id",
        "code": "deemed_supplier",
    }
    assert (Checkout.objects.count(), Order.objects.count(), Document.objects.count()) == (0, 0, 0)


def test_a_non_eu_sellers_service_to_an_eu_consumer_is_refused(buyer_client, settings):
    settings.OPERATOR_COUNTRY = "SI"
    american = SellerFactory(business_name="Maple & Co", country="US", tax_number="123456789")
    course = ProductFactory(seller=american, supply_kind=SupplyKind.SERVICES)

    response = buyer_client.post(
        "/api/checkout/",
        {"lines": [{"product_id": course.pk, "quantity": 1}], "billing": BILLING},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["field"] == "lines[0].product_id"
    assert response.json()["code"] == "deemed_supplier"
    assert Order.objects.count() == 0


def test_a_non_eu_sellers_sale_to_an_eu_business_is_its_own(buyer_client):
    american = SellerFactory(business_name="Maple & Co", country="US", tax_number="123456789")
    lamp = ProductFactory(seller=american, name="Lamp", unit_price=Decimal("50.00"))
    billing = {**BILLING, "company": "Novak d.o.o.", "vat_number": "SI50223054"}

    response = buyer_client.post(
        "/api/checkout/",
        {"lines": [{"product_id": lamp.pk, "quantity": 2}], "billing": billing},
        format="json",
    )

    assert response.status_code == 201, response.json()
    [order] = response.json()["orders"]
    assert (order["transaction_type"], order["total_gross"]) == ("3w_b2b", "100.00")


def test_each_order_line_keeps_its_products_supply_kind(buyer_client, products):
    products["honey"].supply_kind = SupplyKind.SERVICES
    products["honey"].save()
    lines = [
        {"product_id": products["mug"].pk, "quantity": 1},
        {"product_id": products["honey"].pk, "quantity": 1},
    ]
    response = buyer_client.post(
        "/api/checkout/", {"lines": lines, "billing": BILLING}, format="json"
    )
    assert response.status_code == 201
    # Recorded at the sale: a later change of the product changes no order line.
    products["honey"].supply_kind = SupplyKind.GOODS
    products["honey"].save()
    assert list(OrderLine.objects.order_by("name").values_list("name", "supply_kind")) == [
        ("Honey", "services"),
        ("Mug", "goods"),
    ]
