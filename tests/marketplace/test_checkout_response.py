"""The checkout API answers from the rows it has just written, without reading them back."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.models import TaxCategory
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


def test_the_answer_is_built_from_the_written_rows_and_equals_them_read_back(api_client):
    api_client.force_authenticate(UserFactory(username="ana"))
    slovenian = SellerFactory(business_name="Alpine Crafts")
    german = SellerFactory(
        business_name="Berlin Books GmbH", country="DE", tax_number="DE136695976"
    )
    mug = ProductFactory(seller=slovenian, name="Mug", unit_price=Decimal("12.99"))
    honey = ProductFactory(
        seller=slovenian, name="Honey", unit_price=Decimal("7.45"), tax_category=TaxCategory.REDUCED
    )
    book = ProductFactory(
        seller=german, name="Book", unit_price=Decimal("19.99"), tax_category=TaxCategory.REDUCED
    )
    body = {
        "lines": [
            {"product_id": book.pk, "quantity": 1},
            {"product_id": mug.pk, "quantity": 2},
            {"product_id": honey.pk, "quantity": 3},
        ],
        "billing": BILLING,
    }

    with CaptureQueriesContext(connection) as queries:
        placed = api_client.post(
            "/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="answer-1"
        )
    # The same key and body again: the checkout placed first, read from the database.
    again = api_client.post("/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="answer-1")

    assert placed.status_code == 201
    assert again.status_code == 200
    assert placed.json() == again.json()
    orders = placed.json()["orders"]
    # One order per seller, in the cart's order: 19.99 at 7 % (a distance sale under the
    # threshold: Germany's reduced rate); 2 x 12.99 = 25.98 at 22 % -> 5.72 and
    # 3 x 7.45 = 22.35 at 9.5 % -> 2.12 (2.12325).
    assert [(order["seller_name"], order["total_gross"]) for order in orders] == [
        ("Berlin Books GmbH", "21.39"),
        ("Alpine Crafts", "56.17"),
    ]
    assert [[line["name"] for line in order["lines"]] for order in orders] == [
        ["Book"],
        ["Mug", "Honey"],
    ]
    # Orders and lines are inserted, never selected back for the answer.
    reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT")
        and (
            'FROM "marketplace_orderline"' in query["sql"]
            or 'FROM "marketplace_order"' in query["sql"]
        )
    ]
    assert reads == []
