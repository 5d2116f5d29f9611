"""The public catalog listing's answers are cached for CATALOG_CACHE_SECONDS
(marketplace/listing_cache.py), per URL as requested and per day."""

import logging
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from marketplace import listing_cache
from sellers.models import SellerStatus
from tests.factories import ProductFactory, SellerFactory

pytestmark = pytest.mark.django_db

LISTING = "/api/catalog/products/"


@pytest.fixture
def products():
    seller = SellerFactory(business_name="Alpine Crafts", status=SellerStatus.ACTIVE)
    other = SellerFactory(business_name="Berlin Books", status=SellerStatus.ACTIVE, country="DE")
    return [
        ProductFactory(seller=seller, name="Mug", unit_price=Decimal("12.99")),
        ProductFactory(seller=seller, name="Spoon", unit_price=Decimal("4.50")),
        ProductFactory(seller=other, name="Book", unit_price=Decimal("19.99")),
    ]


def names(response) -> list[str]:
    return [product["name"] for product in response.json()["results"]]


def test_a_second_visit_within_the_time_is_answered_from_the_cache(
    api_client, products, django_assert_num_queries
):
    first = api_client.get(LISTING)
    products[0].name = "Renamed mug"
    products[0].save()

    with django_assert_num_queries(0):
        second = api_client.get(LISTING)

    assert second.status_code == 200
    assert second.json() == first.json()
    assert names(second) == ["Mug", "Spoon", "Book"]


def test_once_the_cached_answer_is_gone_the_change_shows(api_client, products):
    api_client.get(LISTING)
    products[0].name = "Renamed mug"
    products[0].save()
    cache.clear()  # what CATALOG_CACHE_SECONDS later does

    assert names(api_client.get(LISTING)) == ["Renamed mug", "Spoon", "Book"]


def test_each_filter_and_page_is_kept_apart(api_client, products):
    everything = api_client.get(LISTING)
    berlin = api_client.get(LISTING, {"seller": products[2].seller_id})
    second_page = api_client.get(LISTING, {"limit": 2, "offset": 2})
    again = api_client.get(LISTING, {"limit": 2, "offset": 2, "utm_source": "mail"})

    assert names(everything) == ["Mug", "Spoon", "Book"]
    assert names(berlin) == ["Book"]
    assert names(second_page) == ["Book"]
    assert second_page.json()["previous"] == "http://testserver/api/catalog/products/?limit=2"
    assert again.json()["previous"] == (
        "http://testserver/api/catalog/products/?limit=2&utm_source=mail"
    )


def test_a_blank_filter_is_refused_after_the_unfiltered_listing_was_kept(api_client, products):
    api_client.get(LISTING)

    blank = api_client.get(LISTING, {"seller": ""})

    assert blank.status_code == 400
    assert blank.json()["field"] == "seller"


def test_each_host_gets_links_to_itself(api_client, products):
    api_client.get(LISTING, {"limit": 1}, HTTP_HOST="shop.example.com")

    other = api_client.get(LISTING, {"limit": 1}, HTTP_HOST="testserver")

    assert other.json()["next"] == "http://testserver/api/catalog/products/?limit=1&offset=1"


def test_a_new_day_builds_the_listing_again(api_client, products, monkeypatch):
    api_client.get(LISTING)
    products[0].name = "Renamed mug"
    products[0].save()
    tomorrow = timezone.localdate().toordinal() + 1
    monkeypatch.setattr(timezone, "localdate", lambda *args: date.fromordinal(tomorrow))

    assert names(api_client.get(LISTING)) == ["Renamed mug", "Spoon", "Book"]


def test_a_refused_filter_is_not_kept(api_client, products):
    refused = api_client.get(LISTING, {"seller": "abc"})

    assert refused.status_code == 400
    assert api_client.get(LISTING, {"seller": "abc"}).status_code == 400
    assert names(api_client.get(LISTING)) == ["Mug", "Spoon", "Book"]


def test_with_no_time_set_every_answer_is_built(api_client, products, settings):
    settings.CATALOG_CACHE_SECONDS = 0
    api_client.get(LISTING)
    products[0].name = "Renamed mug"
    products[0].save()

    assert names(api_client.get(LISTING)) == ["Renamed mug", "Spoon", "Book"]


def test_the_listing_is_served_from_the_database_with_the_cache_down(
    api_client, products, cache_down, caplog
):
    with caplog.at_level(logging.WARNING, logger=listing_cache.__name__):
        response = api_client.get(LISTING)

    assert response.status_code == 200
    assert names(response) == ["Mug", "Spoon", "Book"]
    assert [r.getMessage() for r in caplog.records if r.name == listing_cache.__name__] == [
        f"catalog listing built without the cache: {cache_down}"
    ]
