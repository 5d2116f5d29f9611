"""Server-rendered pages at marketplace scale: SQL queries and latency of admin and storefront.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything \\
        .venv/bin/python benchmarks/pages.py [--sellers 1000] [--orders 100000] [--runs 40]

Creates (drops first) the database `--database` (default pages_bench) on the server of
DATABASE_URL, migrates it, and seeds with COPY: sellers (87 % active, the rest draft, pending,
failed or awaiting an operator's approval), 5 products per seller, one buyer per seller, and
orders of one line each, three orders of three sellers to a checkout, every order with its
invoice (97 % issued, 2 % pending, some of them held by the VIES check or waiting for their
seller's entity, 1 % failed). Then it
requests each page in-process through Django's test client (no network), as an operator
(admin pages), an anonymous visitor (catalog, seller sign-up), a buyer with orders and a cart
of three sellers (cart, the confirmation of one of their checkouts, their orders), an admin of
one seller (the seller pages: overview, orders, an order and its fulfil / cancel / refund
confirmations, documents, products, a product's form, staff) or the admin of a seller awaiting
approval (the onboarding wizard's steps), and prints for each
page its SQL queries and the median and 95th percentile of `--runs` requests after one warm-up
request (the one whose queries are counted). A page that does not answer 200 stops the run.

The last line printed is one JSON object:
`{"pages": {"catalog": {"p50_ms": ..., "p95_ms": ..., "queries": ...}, ...}}`, one key per page
("catalog", "cart", "confirmation", "admin_order_list", ...). Targets: each page's queries stay
the same at any scale (the tests pin them), p95 < 100 ms for the catalog, the cart, the
confirmation, the admin order list and the searches by buyer email and by document number
(trigram indexes on PostgreSQL), and < 300 ms for every page (the seller pages, the sign-up
and wizard pages and the operator's approval page included).
"""

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from _common import copy_model, django_setup, fresh_database, production_secrets, timed

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
COUNTRIES = ("SI", "DE", "AT", "FR", "IT", "HR", "NL", "ES", "PL")
PRODUCTS_PER_SELLER = 5
VIES_HOLD_REASON = "VIES unavailable; invoice held"  # invoicing.services.VIES_HOLD_REASON


def seller_status(seller: int) -> str:
    statuses = {1: "draft", 2: "pending", 3: "failed", 4: "awaiting_approval"}
    return statuses.get(seller % 30, "active")


def awaiting_seller(near: int) -> int:
    return next(s for s in range(near, near + 30) if seller_status(s) == "awaiting_approval")


def active_seller(near: int) -> int:
    return next(s for s in range(near, near + 30) if seller_status(s) == "active")


def seller_of(order: int, sellers: int) -> int:
    return order % sellers + 1


def checkout_of(order: int) -> int:
    """Three orders in a row (of three sellers) are one checkout."""
    return order // 3 + 1


def buyer_of(order: int, sellers: int) -> int:
    """A checkout's buyer; each buyer has checkouts at many sellers."""
    return (checkout_of(order) - 1) % sellers + 1


def seed(url: str, sellers: int, orders: int) -> None:
    """Consistent rows by construction, so FK triggers are off while copying (replica role)."""
    from django.contrib.auth.models import User

    from invoicing.models import Document
    from marketplace.models import Checkout, Order, OrderLine, Product
    from sellers.models import Seller

    def entity(seller: int) -> str | None:
        with_entity = seller_status(seller) in ("active", "awaiting_approval")
        return f"ent_{seller:012d}" if with_entity else None

    def placed(order: int) -> datetime:
        return NOW - timedelta(minutes=(orders - order) * 5)

    def document(order: int) -> dict[str, Any]:
        seller = seller_of(order, sellers)
        row: dict[str, Any] = {
            "id": order, "order_id": order, "seller_id": seller, "kind": "invoice",
            "entity_id": entity(seller) or "", "currency": "EUR", "created_at": placed(order),
            "seller_country": COUNTRIES[seller % 9], "buyer_country": COUNTRIES[order % 9],
            "transaction_type": "domestic", "rate_source": "seller", "attempts": 1,
        }  # fmt: skip
        if entity(seller) is None:
            return {**row, "state": "pending", "attempts": 0}
        if order % 100 == 0:
            return {**row, "state": "failed", "last_error": "422 validation_error: items",
                    "first_sent_at": placed(order), "last_attempt_at": placed(order)}  # fmt: skip
        if order % 100 == 1:
            return {**row, "state": "pending", "last_error": VIES_HOLD_REASON}
        return {
            **row, "state": "issued", "remote_id": f"doc_{order}", "number": f"INV-{order}",
            "shareable_id": f"share{order}", "date": placed(order).date(),
            "total_net": Decimal("10.00"), "total_tax": Decimal("2.20"),
            "total_gross": Decimal("12.20"), "first_sent_at": placed(order),
            "issued_at": placed(order),
        }  # fmt: skip

    def product(seller: int, n: int) -> int:
        return (seller - 1) * PRODUCTS_PER_SELLER + n + 1

    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        copy_model(conn, Seller, (
            {"id": s, "business_name": f"Seller {s} d.o.o.", "address": "Trg 1",
             "post_code": "1000", "city": "Ljubljana", "country": COUNTRIES[s % 9],
             "tax_number": f"SI{s:08d}", "email": f"s{s}@sellers.example",
             "status": seller_status(s), "entity_id": entity(s), "created_at": NOW,
             "updated_at": NOW, "approval_required": seller_status(s) == "awaiting_approval"}
            for s in range(1, sellers + 1)
        ))  # fmt: skip
        copy_model(conn, User, (
            {"id": b, "password": "!", "username": f"buyer{b}",
             "email": f"b{b}@buyers.example", "date_joined": NOW}
            for b in range(1, sellers + 1)
        ))  # fmt: skip
        copy_model(conn, Product, (
            {"id": product(s, n), "seller_id": s, "name": f"Item {n} of seller {s}",
             "unit_price": Decimal("10.00"), "created_at": NOW}
            for s in range(1, sellers + 1) for n in range(PRODUCTS_PER_SELLER)
        ))  # fmt: skip
        copy_model(conn, Checkout, (
            {"id": checkout_of(o), "public_id": uuid.UUID(int=checkout_of(o)),
             "buyer_id": buyer_of(o, sellers), "created_at": placed(o)}
            for o in range(1, orders + 1) if o == 1 or checkout_of(o) != checkout_of(o - 1)
        ))  # fmt: skip
        copy_model(conn, Order, (
            {"id": o, "checkout_id": checkout_of(o), "seller_id": seller_of(o, sellers),
             "buyer_id": buyer_of(o, sellers), "buyer_name": f"Buyer {buyer_of(o, sellers)}",
             "buyer_email": f"b{buyer_of(o, sellers)}@buyers.example",
             "billing_address": "Hauptstr. 1", "billing_post_code": "10115",
             "billing_city": "Berlin", "billing_country": COUNTRIES[o % 9], "currency": "EUR",
             "status": "paid", "total_net": Decimal("10.00"), "total_tax": Decimal("2.20"),
             "total_gross": Decimal("12.20"), "placed_at": placed(o), "paid_at": placed(o),
             "transaction_type": "domestic", "tax_rate_source": "seller"}
            for o in range(1, orders + 1)
        ))  # fmt: skip
        copy_model(conn, OrderLine, (
            {"id": o, "order_id": o,
             "product_id": product(seller_of(o, sellers), o % PRODUCTS_PER_SELLER),
             "name": "Item", "quantity": 1, "unit_price": Decimal("10.00"),
             "tax_rate": Decimal("22.00"), "total_net": Decimal("10.00")}
            for o in range(1, orders + 1)
        ))  # fmt: skip
        copy_model(conn, Document, (document(o) for o in range(1, orders + 1)))
        for model in (Seller, User, Product, Checkout, Order, OrderLine, Document):
            table = model._meta.db_table
            last = f"(SELECT max(id) FROM {table})"
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def pages(sellers: int, orders: int) -> Iterator[tuple[str, str, str]]:
    """(key, who, path) of each page measured."""
    middle = active_seller(sellers // 2)
    invoices = "/admin/invoicing/document/"
    yield "admin_index", "operator", "/admin/"
    yield "admin_seller_list", "operator", "/admin/sellers/seller/"
    yield "admin_seller_search_name", "operator", f"/admin/sellers/seller/?q=Seller+{middle}+d"
    yield "admin_seller_list_failed", "operator", "/admin/sellers/seller/?status__exact=failed"
    yield "admin_order_list", "operator", "/admin/marketplace/order/"
    yield (
        "admin_order_list_of_seller",
        "operator",
        f"/admin/marketplace/order/?seller__id__exact={middle}",
    )
    yield (
        "admin_order_search_email",
        "operator",
        f"/admin/marketplace/order/?q=b{middle}%40buyers.example",
    )
    yield "admin_order_search_id", "operator", f"/admin/marketplace/order/?q={orders // 2}"
    yield "admin_document_list", "operator", invoices
    yield "admin_document_list_failed", "operator", f"{invoices}?state__exact=failed"
    yield "admin_document_list_held_vies", "operator", f"{invoices}?held=vies"
    yield "admin_document_list_of_seller", "operator", f"{invoices}?seller__id__exact={middle}"
    # A partial number: INV-5000 and INV-50000 to INV-50009 at 100,000 orders.
    yield "admin_document_search_number", "operator", f"{invoices}?q=INV-{orders // 20}"
    yield (
        "admin_seller_autocomplete",
        "operator",
        "/admin/autocomplete/?app_label=marketplace&model_name=order&field_name=seller"
        f"&term=Seller+{middle}",
    )
    yield "catalog", "anonymous", "/"
    yield "catalog_page_20", "anonymous", "/?page=20"
    yield "product", "anonymous", f"/products/{(middle - 1) * PRODUCTS_PER_SELLER + 1}/"
    yield "cart", "buyer", "/cart/"
    # The buyer's first checkout: three orders of three sellers, each with its invoice.
    yield "confirmation", "buyer", f"/orders/checkout/{uuid.UUID(int=sellers // 2)}/"
    yield "my_orders", "buyer", "/my/orders/"
    # The seller pages, as an admin of the seller `middle` (seller_member in measure()).
    order = seller_order(middle, sellers, orders)
    product = (middle - 1) * PRODUCTS_PER_SELLER + 1
    yield "seller_overview", "seller", "/seller/"
    yield "seller_orders", "seller", "/seller/orders/"
    yield "seller_order", "seller", f"/seller/orders/{order}/"
    yield "seller_order_fulfil", "seller", f"/seller/orders/{order}/fulfil/"
    # Its dry run of the cancel (the seeded invoices have no lines: no credit note is drafted).
    yield "seller_order_cancel", "seller", f"/seller/orders/{order}/cancel/"
    yield "seller_order_refund", "seller", f"/seller/orders/{order}/refund/"
    yield "seller_documents", "seller", "/seller/documents/"
    yield "seller_products", "seller", "/seller/products/"
    yield "seller_product_edit", "seller", f"/seller/products/{product}/"
    yield "seller_staff", "seller", "/seller/staff/"
    yield "admin_order_refund", "operator", f"/admin/marketplace/order/{order}/refund/confirm/"

    waiting = awaiting_seller(sellers // 2)
    yield "admin_seller_approve", "operator", f"/admin/sellers/seller/{waiting}/approve/"
    yield "seller_signup", "anonymous", "/seller/signup/"
    for step in ("details", "bank", "branding", "invoicing", "preview", "status"):
        yield f"seller_onboarding_{step}", "seller_admin", f"/seller/onboarding/{step}/"


def seller_order(seller: int, sellers: int, orders: int) -> int:
    """An order of `seller` in the middle of the data whose invoice is issued (see seed)."""
    for k in range(orders // sellers // 2, orders // sellers):
        order = seller - 1 + k * sellers
        if order % 100 not in (0, 1):
            return order
    raise SystemExit(f"seller {seller} has no order with an issued invoice")


def percentile_95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def measure(sellers: int, orders: int, runs: int) -> dict[str, dict[str, Any]]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from sellers.models import SellerRole, SellerUser

    operator = User.objects.create_superuser("operator", "operator@example.com", None)
    clients = {
        "operator": Client(),
        "anonymous": Client(),
        "buyer": Client(),
        "seller": Client(),
        "seller_admin": Client(),
    }
    clients["operator"].force_login(operator)
    seller_admin = User.objects.create_user("seller-admin", "admin@sellers.example")
    SellerUser.objects.create(
        user=seller_admin, seller_id=active_seller(sellers // 2), role=SellerRole.ADMIN
    )
    clients["seller"].force_login(seller_admin)
    # The admin of a seller completing its set-up while it awaits approval.
    wizard_admin = User.objects.create_user("wizard-admin", "admin@seller.example")
    SellerUser.objects.create(
        user=wizard_admin, seller_id=awaiting_seller(sellers // 2), role=SellerRole.ADMIN
    )
    clients["seller_admin"].force_login(wizard_admin)
    # The buyer of checkout `sellers // 2` (see buyer_of), with a cart of three sellers.
    clients["buyer"].force_login(User.objects.get(pk=sellers // 2))
    seller = active_seller(sellers // 2)
    for _ in range(3):
        product = (seller - 1) * PRODUCTS_PER_SELLER + 1
        added = clients["buyer"].post("/cart/add/", {"product_id": product, "quantity": 1})
        assert added.status_code == 302, added.content
        seller = active_seller(seller + 1)

    queries = 0

    def count(execute: Callable[..., Any], *args: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(*args)

    results = {}
    print(f"{'page':32} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8}", flush=True)
    for key, who, path in pages(sellers, orders):
        client = clients[who]
        queries = 0
        with connection.execute_wrapper(count):
            status = client.get(path).status_code
        if status != 200:
            raise SystemExit(f"{key}: GET {path} answered {status}, not 200")
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
        p50, p95 = statistics.median(samples), percentile_95(samples)
        print(f"{key:32} {queries:7} {p50:8.1f} {p95:8.1f}", flush=True)
        results[key] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1), "queries": queries}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sellers", type=int, default=1_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=40, help="Requests per page (at least 2).")
    parser.add_argument("--database", default="pages_bench", help="Dropped and recreated.")
    args = parser.parse_args()
    if args.sellers < 30 or args.orders < 3 * args.sellers:
        parser.error("give at least 30 sellers and three orders per seller")
    if args.runs < 2:
        parser.error("give at least 2 runs (a p95 needs more: 40 is the default)")
    production_secrets()
    url = fresh_database(parser, args.database)
    os.environ["ALLOWED_HOSTS"] = "testserver"  # Django's in-process client
    django_setup(url)
    timed(
        f"seed {args.sellers} sellers, {args.orders} orders (COPY)",
        lambda: seed(url, args.sellers, args.orders),
    )
    print(json.dumps({"pages": measure(args.sellers, args.orders, args.runs)}))


if __name__ == "__main__":
    main()
