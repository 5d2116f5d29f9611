"""The distance-sales threshold check of a large seller's cross-border sale, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything \\
        .venv/bin/python benchmarks/distance_sales.py [--documents 200000] [--runs 200]

Creates (drops first) the database `--database` (default distance_sales_bench) on the server of
DATABASE_URL, migrates it, and seeds with COPY one Slovenian seller with `--documents` domestic
orders, each with its issued invoice, spread over the previous and the current year, and one
intra-EU B2C order with its invoice for every 300 of them (under the EUR 10,000 threshold), up
to the moment it runs.
Then it times `invoicing.distance_sales.distance_sales_over_threshold` for a German consumer's
sale, each call in its own transaction, rolled back, and prints its SQL queries and the median
and 95th percentile of `--runs` calls, twice: without a bound kept on the seller (the count a
checkout runs for a seller under the threshold: a row lock and two aggregates), then with the
bound the first such count leaves (committed), which answers without counting. The last line is
one JSON object: `{"documents": ..., "distance_documents": ..., "queries": ..., "p50_ms": ...,
"p95_ms": ..., "bound_queries": ..., "bound_p50_ms": ..., "bound_p95_ms": ...}`.
"""

import argparse
import json
import statistics
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
from _common import copy_model, django_setup, fresh_database, production_secrets, timed

# Sales up to now, the checked one today: a seller keeps a bound for today's sales only.
NOW = datetime.now(UTC)
ON = NOW.date()


def seed(url: str, documents: int) -> int:
    """The seller's rows; the number of its intra-EU B2C documents."""
    from django.contrib.auth.models import User

    from invoicing.models import Document, DocumentLine
    from marketplace.models import Checkout, Order, OrderLine, Product
    from sellers.models import Seller

    span = (NOW - datetime(ON.year - 1, 1, 1, tzinfo=UTC)) / documents

    def placed(n: int) -> datetime:
        return datetime(ON.year - 1, 1, 1, tzinfo=UTC) + span * n

    def distance(n: int) -> bool:
        return n % 300 == 0

    def kind(n: int) -> str:
        return "intra_eu_b2c" if distance(n) else "domestic"

    net = Decimal("10.00")
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        copy_model(conn, Seller, [{
            "id": 1, "business_name": "Big Seller d.o.o.", "address": "Trg 1",
            "post_code": "1000", "city": "Ljubljana", "country": "SI",
            "tax_number": "SI50223054", "email": "big@sellers.example", "status": "active",
            "entity_id": "ent_000000000001", "created_at": NOW, "updated_at": NOW,
        }])  # fmt: skip
        copy_model(conn, User, [{
            "id": 1, "password": "!", "username": "buyer", "email": "b@buyers.example",
            "date_joined": NOW,
        }])  # fmt: skip
        copy_model(conn, Product, [{
            "id": 1, "seller_id": 1, "name": "Item", "unit_price": net, "created_at": NOW,
        }])  # fmt: skip
        copy_model(conn, Checkout, (
            {"id": n, "public_id": uuid.UUID(int=n), "buyer_id": 1, "created_at": placed(n)}
            for n in range(1, documents + 1)
        ))  # fmt: skip
        copy_model(conn, Order, (
            {"id": n, "checkout_id": n, "seller_id": 1, "buyer_id": 1, "buyer_name": "Buyer",
             "buyer_email": "b@buyers.example", "billing_address": "Hauptstr. 1",
             "billing_post_code": "10115", "billing_city": "Berlin",
             "billing_country": "DE" if distance(n) else "SI", "currency": "EUR",
             "status": "paid", "total_net": net, "total_tax": Decimal("2.20"),
             "total_gross": Decimal("12.20"), "placed_at": placed(n), "paid_at": placed(n),
             "transaction_type": kind(n), "tax_rate_source": "seller"}
            for n in range(1, documents + 1)
        ))  # fmt: skip
        copy_model(conn, Document, (
            {"id": n, "order_id": n, "seller_id": 1, "kind": "invoice",
             "entity_id": "ent_000000000001", "currency": "EUR", "created_at": placed(n),
             "seller_country": "SI", "buyer_country": "DE" if distance(n) else "SI",
             "transaction_type": kind(n), "rate_source": "seller", "attempts": 1,
             "state": "issued", "first_sent_at": placed(n),
             "remote_id": f"doc_{n}", "number": f"INV-{n}", "shareable_id": f"share{n}",
             "date": placed(n).date(), "total_net": net, "total_tax": Decimal("2.20"),
             "total_gross": Decimal("12.20"), "issued_at": placed(n)}
            for n in range(1, documents + 1)
        ))  # fmt: skip
        copy_model(conn, OrderLine, (
            {"id": n, "order_id": n, "product_id": 1, "name": "Item", "quantity": 1,
             "unit_price": net, "tax_rate": Decimal("22.00"), "total_net": net}
            for n in range(1, documents + 1)
        ))  # fmt: skip
        copy_model(conn, DocumentLine, (
            {"id": n, "document_id": n, "order_line_id": n, "name": "Item", "quantity": 1,
             "unit_price": net, "tax_rate": Decimal("22.00"), "total_net": net}
            for n in range(1, documents + 1)
        ))  # fmt: skip
        for model in (User, Product, Checkout, Order, OrderLine, Document, DocumentLine):
            table = model._meta.db_table
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return documents // 300


def measure(runs: int) -> tuple[int, float, float]:
    """Queries of one call, and the median and 95th percentile of `runs` calls, rolled back."""
    from django.db import connection, transaction

    from invoicing.distance_sales import distance_sales_over_threshold
    from sellers.models import Seller

    seller = Seller.objects.get(pk=1)
    queries = 0

    def count(execute, *args):  # type: ignore[no-untyped-def]
        nonlocal queries
        queries += 1
        return execute(*args)

    def check() -> bool:
        with transaction.atomic():
            over = distance_sales_over_threshold(
                seller=seller, sale_net=Decimal("25.00"), currency="EUR", on=ON
            )
            transaction.set_rollback(True)
        return over

    with connection.execute_wrapper(count):
        over = check()
    assert over is False, "the seller is meant to stay under the threshold"
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        check()
        samples.append((time.perf_counter() - started) * 1000)
    p95 = statistics.quantiles(samples, n=20, method="inclusive")[-1]
    return queries, statistics.median(samples), p95


def keep_bound() -> None:
    """One sale's check committed: the seller keeps the bound its count left."""
    from django.db import transaction

    from invoicing.distance_sales import distance_sales_over_threshold
    from sellers.models import Seller

    with transaction.atomic():
        distance_sales_over_threshold(
            seller=Seller.objects.get(pk=1), sale_net=Decimal("25.00"), currency="EUR", on=ON
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database", default="distance_sales_bench")
    args = parser.parse_args()
    production_secrets()
    url = fresh_database(parser, args.database)
    django_setup(url)
    distance = timed(f"seed {args.documents} documents", lambda: seed(url, args.documents))
    queries, p50, p95 = measure(args.runs)
    print(f"counted: queries {queries}, p50 {p50:.2f} ms, p95 {p95:.2f} ms", flush=True)
    keep_bound()
    bound_queries, bound_p50, bound_p95 = measure(args.runs)
    print(
        f"under its bound: queries {bound_queries}, p50 {bound_p50:.2f} ms, p95 {bound_p95:.2f} ms",
        flush=True,
    )
    result = {
        "documents": args.documents,
        "distance_documents": distance,
        "queries": queries,
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "bound_queries": bound_queries,
        "bound_p50_ms": round(bound_p50, 2),
        "bound_p95_ms": round(bound_p95, 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
