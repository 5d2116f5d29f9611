"""Rates and places: a product's rate follows its tax category, its seller's country and the day
of the sale; Northern Ireland is a place of its own for goods (checkout, onboarding, admin)."""

import importlib
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone

from core.errors import ApplicationError
from marketplace.models import Checkout, Order, OrderLine, Product, TaxCategory
from marketplace.services import product_tax_rate_validate
from marketplace.tax import ViesResult
from sellers.models import Seller, SellerStatus
from tests.factories import ProductFactory, SellerFactory, UserFactory, operator_user

pytestmark = pytest.mark.django_db

BILLING = {
    "name": "Lena Weber",
    "email": "lena@example.com",
    "address": "Friedrichstraße 10",
    "post_code": "10117",
    "city": "Berlin",
    "country": "DE",
}


@pytest.fixture
def buyer_client(api_client):
    api_client.force_authenticate(UserFactory(username="lena"))
    return api_client


@pytest.fixture
def sale_day(monkeypatch):
    """Make the sale happen at noon on the given day."""

    def set_day(day: date) -> None:
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        monkeypatch.setattr(timezone, "now", lambda: noon)

    return set_day


def checkout(client, lines, **billing):
    payload = {
        "lines": [{"product_id": product.pk, "quantity": quantity} for product, quantity in lines],
        "billing": {**BILLING, **billing},
    }
    return client.post("/api/checkout/", payload, format="json")


def line_rates(order):
    return [(line.name, line.tax_rate, line.total_net) for line in order.lines.order_by("pk")]


def test_a_book_and_a_coffee_in_one_order_get_their_own_rates(buyer_client):
    seller = SellerFactory(country="DE", tax_number="DE136695976")
    book = ProductFactory(
        seller=seller, name="Book", unit_price=Decimal("20.00"), tax_category=TaxCategory.REDUCED
    )
    coffee = ProductFactory(seller=seller, name="Coffee to go", unit_price=Decimal("10.00"))

    response = checkout(buyer_client, [(book, 1), (coffee, 1)])

    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert line_rates(order) == [
        ("Book", Decimal("7.00"), Decimal("20.00")),
        ("Coffee to go", Decimal("19.00"), Decimal("10.00")),
    ]
    # 20.00 at 7 % = 1.40; 10.00 at 19 % = 1.90
    assert (order.total_net, order.total_tax, order.total_gross) == (
        Decimal("30.00"),
        Decimal("3.30"),
        Decimal("33.30"),
    )


@pytest.mark.parametrize(
    ("day", "rate", "tax"),
    [(date(2025, 12, 31), "14.00", "14.00"), (date(2026, 1, 2), "13.50", "13.50")],
)
def test_a_finnish_sale_takes_the_rate_in_force_on_its_day(buyer_client, sale_day, day, rate, tax):
    seller = SellerFactory(country="FI", tax_number="FI20774740")
    bread = ProductFactory(
        seller=seller, name="Rye bread", unit_price=Decimal("100.00"), tax_category="reduced"
    )
    sale_day(day)

    response = checkout(
        buyer_client, [(bread, 1)], country="FI", city="Helsinki", post_code="00100"
    )

    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert line_rates(order) == [("Rye bread", Decimal(rate), Decimal("100.00"))]
    assert (order.transaction_type, order.total_tax) == ("domestic", Decimal(tax))


def test_a_buyer_in_northern_ireland_buys_goods_from_great_britain_and_the_eu(buyer_client):
    london = SellerFactory(business_name="London Ltd", country="GB", tax_number="GB980780684")
    berlin = SellerFactory(business_name="Berlin GmbH", country="DE", tax_number="DE136695976")
    kettle = ProductFactory(seller=london, name="Kettle", unit_price=Decimal("50.00"))
    atlas = ProductFactory(
        seller=berlin, name="Atlas", unit_price=Decimal("30.00"), tax_category="reduced"
    )

    response = checkout(
        buyer_client,
        [(kettle, 1), (atlas, 1)],
        country="XI",
        city="Belfast",
        post_code="BT1 5GS",
        address="Donegall Square",
    )

    assert response.status_code == 201, response.json()
    orders = {order.seller.country.code: order for order in Order.objects.all()}
    # GB -> XI goods: a UK domestic sale at the UK's 20 %.
    assert (orders["GB"].transaction_type, orders["GB"].total_tax) == ("domestic", Decimal("10.00"))
    assert line_rates(orders["GB"]) == [("Kettle", Decimal("20.00"), Decimal("50.00"))]
    # DE -> XI goods: intra-EU B2C at the seller's rate (under the distance-sales threshold).
    assert (orders["DE"].transaction_type, orders["DE"].total_tax) == (
        "intra_eu_b2c",
        Decimal("2.10"),
    )
    assert str(orders["DE"].billing_country) == "XI"


def test_a_seller_in_northern_ireland_sells_to_an_eu_business_under_reverse_charge(
    buyer_client, monkeypatch
):
    belfast = SellerFactory(country="XI", tax_number="XI980780684")
    kettle = ProductFactory(seller=belfast, name="Kettle", unit_price=Decimal("50.00"))
    monkeypatch.setattr(
        "invoicing.order_documents.vies_check",
        lambda **kwargs: ViesResult(valid=True, checked_at=timezone.now()),
    )

    response = checkout(buyer_client, [(kettle, 1)], company="Weber GmbH", vat_number="DE136695976")

    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert (order.transaction_type, order.reverse_charge, order.total_tax) == (
        "intra_eu_b2b",
        True,
        Decimal("0.00"),
    )


def test_a_seller_outside_the_rate_tables_charges_its_own_rate_and_needs_one(buyer_client):
    seller = SellerFactory(country="US", tax_number="")
    lamp = ProductFactory(
        seller=seller, name="Lamp", unit_price=Decimal("100.00"), tax_rate=Decimal("8.25")
    )
    unrated = ProductFactory(seller=seller, name="Shade", unit_price=Decimal("10.00"))
    us = {"country": "US", "city": "Austin", "post_code": "78701"}

    placed = checkout(buyer_client, [(lamp, 1)], **us)
    refused = checkout(buyer_client, [(unrated, 1)], **us)

    assert placed.status_code == 201, placed.json()
    assert Order.objects.get().total_tax == Decimal("8.25")
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": f"Product {unrated.pk} has no tax rate for its seller's country; the seller "
        "must set one.",
        "field": "lines",
        "code": "product_tax_rate_missing",
    }
    assert (Checkout.objects.count(), Order.objects.count(), OrderLine.objects.count()) == (1, 1, 1)


def test_the_catalog_shows_the_category_and_todays_rate_in_the_sellers_country(api_client):
    seller = SellerFactory(country="DE", tax_number="DE136695976")
    ProductFactory(seller=seller, name="Atlas", tax_category=TaxCategory.REDUCED)

    product = api_client.get("/api/catalog/products/").json()["results"][0]

    assert (product["tax_category"], product["tax_rate"]) == ("reduced", "7.00")


def test_a_products_own_rate_is_only_for_sellers_outside_the_rate_tables():
    product_tax_rate_validate(seller_country="US", tax_rate=Decimal("8.25"))
    product_tax_rate_validate(seller_country="SI", tax_rate=None)
    with pytest.raises(ApplicationError) as in_table:
        product_tax_rate_validate(seller_country="SI", tax_rate=Decimal("9.50"))
    with pytest.raises(ApplicationError) as outside:
        product_tax_rate_validate(seller_country="US", tax_rate=None)

    assert (in_table.value.field, outside.value.field) == ("tax_rate", "tax_rate")


def test_the_migration_turns_typed_rates_into_categories():
    migration = importlib.import_module("marketplace.migrations.0010_product_tax_categories")
    slovenian = SellerFactory(country="SI")
    finnish = SellerFactory(country="FI", tax_number="FI20774740")
    american = SellerFactory(country="US", tax_number="")
    rows = {
        "honey": ProductFactory(seller=slovenian, tax_rate=Decimal("9.50")),
        "book": ProductFactory(seller=slovenian, tax_rate=Decimal("5.00")),
        "mug": ProductFactory(seller=slovenian, tax_rate=Decimal("22.00")),
        # Finland's 2025 rate matches its reduced band of an earlier entry.
        "bread": ProductFactory(seller=finnish, tax_rate=Decimal("14.00")),
        # A rate that matches no band keeps the product's category.
        "odd": ProductFactory(
            seller=slovenian, tax_rate=Decimal("13.00"), tax_category=TaxCategory.REDUCED
        ),
        "lamp": ProductFactory(seller=american, tax_rate=Decimal("8.25")),
    }

    migration.categories_from_rates(apps, None)

    migrated = {
        name: Product.objects.values_list("tax_category", "tax_rate").get(pk=product.pk)
        for name, product in rows.items()
    }
    assert migrated == {
        "honey": ("reduced", None),
        "book": ("super_reduced", None),
        "mug": ("standard", None),
        "bread": ("reduced", None),
        "odd": ("reduced", None),
        "lamp": ("standard", Decimal("8.25")),
    }


def test_an_operator_onboards_a_seller_in_northern_ireland(
    api_client, sandbox, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(operator_user("sellers.add_seller", username="operator"))
    details = {
        "business_name": "Belfast Goods Ltd",
        "address": "Donegall Square 1",
        "post_code": "BT1 5GS",
        "city": "Belfast",
        "country": "XI",
        "email": "billing@belfast.example",
        "tax_number": "XI 980 7806 84",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/sellers/", details, format="json")

    assert response.status_code == 201, response.json()
    seller = Seller.objects.get()
    assert (str(seller.country), seller.tax_number, seller.status) == (
        "XI",
        "XI980780684",
        SellerStatus.ACTIVE,
    )
    entity = sandbox.client().entity_get(entity_id=seller.entity_id)
    assert (entity["country_code"], entity["currency_code"]) == ("XI", "GBP")


def test_admin_shows_the_crossing_day_and_checks_a_products_own_rate(client):
    client.force_login(UserFactory(username="operator", is_staff=True, is_superuser=True))
    slovenian = SellerFactory(distance_sales_threshold_crossed_on=date(2026, 6, 15))
    american = SellerFactory(country="US", tax_number="")

    page = client.get(f"/admin/sellers/seller/{slovenian.pk}/change/").content.decode()

    assert "Distance sales threshold crossed on" in page
    assert "June 15, 2026" in page
    product = {
        "name": "Mug",
        "unit_price": "10.00",
        "currency": "EUR",
        "supply_kind": "goods",
        "is_active": "on",
    }
    typed = client.post(
        "/admin/marketplace/product/add/",
        {**product, "seller": slovenian.pk, "tax_category": "reduced", "tax_rate": "9.50"},
    )
    missing = client.post(
        "/admin/marketplace/product/add/",
        {**product, "seller": american.pk, "tax_category": "standard", "tax_rate": ""},
    )
    added = client.post(
        "/admin/marketplace/product/add/",
        {**product, "seller": slovenian.pk, "tax_category": "reduced", "tax_rate": ""},
    )

    assert typed.status_code == missing.status_code == 200
    assert "follow the product&#x27;s tax category" in typed.content.decode()
    assert "are not kept by the marketplace" in missing.content.decode()
    assert added.status_code == 302
    assert list(Product.objects.values_list("seller_id", "tax_category", "tax_rate")) == [
        (slovenian.pk, "reduced", None)
    ]
