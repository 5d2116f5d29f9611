"""Checkout latency and SQL queries for a 3-seller cart, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/checkout.py

Creates (and drops afterwards) the database `--database` (default `checkout_bench`) next to the
one in DATABASE_URL, migrates it, and drives POST /api/checkout/ in-process through DRF's test
client (no network between client and server; the buyer's VAT number is a VIES-cached one, so no
Space Invoices call happens at checkout). Prints figures; the last line is one JSON object.
"""

import argparse
import json
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

import psycopg
from _common import production_secrets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--database", default="checkout_bench", help="Dropped and recreated.")
    args = parser.parse_args()
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    admin_url = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    os.environ["DATABASE_URL"] = base_url.rsplit("/", 1)[0] + f"/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver"  # DRF's in-process client
    production_secrets()
    # One buyer posts hundreds of checkouts a minute here: the throttle stays in the path (and
    # is timed) with a rate it never reaches.
    os.environ["THROTTLE_CHECKOUT"] = "1000000/min"
    try:
        print(json.dumps(_measure(args.runs)))
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')


def _measure(runs: int) -> dict[str, float | int]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    from marketplace.models import Product
    from marketplace.tax import ViesResult
    from sellers.models import Seller, SellerStatus

    call_command("migrate", verbosity=0)
    sellers = [
        Seller.objects.create(
            business_name=f"Seller {country}",
            address="Main 1",
            post_code="1000",
            city="City",
            country=country,
            email=f"s@{country}.example",
            tax_number=tax_number,
            status=SellerStatus.ACTIVE,
            entity_id=f"ent_{index:024x}",
        )
        for index, (country, tax_number) in enumerate(
            [("SI", "SI50223054"), ("DE", "DE136695976"), ("AT", "ATU13585627")]
        )
    ]
    products = {
        seller.pk: [
            Product.objects.create(
                seller=seller,
                name=f"Item {n}",
                unit_price=Decimal("9.99") + n,
            )
            for n in range(10)
        ]
        for seller in sellers
    }
    buyer = get_user_model().objects.create_user(username="bench-buyer", password=None)
    client = APIClient()
    client.force_authenticate(buyer)
    # A VAT number VIES confirmed earlier today: the cache answers, as at a real checkout.
    cache.set("vies:FR40303265045", ViesResult(True, timezone.now(), "bench"), 3600)
    billing = {
        "name": "Bench Buyer",
        "email": "buyer@example.com",
        "address": "Rue 1",
        "post_code": "75001",
        "city": "Paris",
        "country": "FR",
        "company": "Acheteur SA",
        "vat_number": "FR40303265045",
    }

    def cart(lines_per_seller: int) -> dict[str, object]:
        lines = [
            {"product_id": product.pk, "quantity": 2}
            for seller in sellers
            for product in products[seller.pk][:lines_per_seller]
        ]
        return {"lines": lines, "billing": billing}

    def queries(lines_per_seller: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/checkout/", cart(lines_per_seller), format="json")
        assert response.status_code == 201, response.content
        return len(captured.captured_queries)

    queries_1, queries_10 = queries(1), queries(10)
    body = cart(10)
    for _ in range(20):  # warm up
        client.post("/api/checkout/", body, format="json")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.post("/api/checkout/", body, format="json")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"checkout of 3 sellers x 10 lines, {runs} runs: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"SQL queries per checkout: {queries_1} with 1 line per seller, {queries_10} with 10")
    return {
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "queries_1_line": queries_1,
        "queries_10_lines": queries_10,
    }


if __name__ == "__main__":
    main()
