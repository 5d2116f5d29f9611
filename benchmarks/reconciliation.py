"""Reconciliation at marketplace scale: a full pass, then an incremental pass after new documents.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything \\
        .venv/bin/python benchmarks/reconciliation.py [--sellers 10000] [--documents 1000000]
        [--new 1000] [--database reconciliation_bench]

Creates (drops first) the database `--database` on the server of DATABASE_URL and migrates it,
then seeds, with COPY, `--sellers` active sellers and `--documents` paid orders with their
issued, paid invoices (the mirror), spread over this year up to yesterday, and writes the same
documents straight into an in-process sandbox's SQLite store (one entity per seller, each
document's JSON answer and each entity's number sequence), so the mirror and the entities agree.
Documents are invoices only; each seller has documents / sellers of them, numbered from 1.

Then it measures, counting the API requests the reconciliation client sends (no rate limit, so
the seconds are the work itself; at RECONCILIATION_RATE_LIMIT_PERCENT of a live key's 600/min
reconciliation may send 60 a minute, and the output says how long the requests would take at
that pace):

- the full pass (`reconcile(full=True)`, as `manage.py reconcile --full`): lists every entity;
- `--new` new paid orders at random sellers, each invoice written and issued the way the app
  does it (`invoice_request`, then `document_issue`: POST /invoices to the sandbox, mirrored);
- the incremental pass (`reconcile()`, the periodic task's run): visits only the sellers with
  changes and lists only their changed documents.

The last line printed is one JSON object with `full_requests`, `full_s`, `incremental_requests`,
`incremental_s` and the sellers each pass visited.
"""

import argparse
import json
import logging
import os
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from _common import copy_model, django_setup, fresh_database, production_secrets, timed

KEY = "sk_sandbox_reconciliation_bench"
RATE = Decimal("22.00")
CENT = Decimal("0.01")


def amounts(order: int) -> tuple[Decimal, Decimal, Decimal]:
    net = Decimal(order % 5_000 + 100) / 100
    tax = (net * RATE / 100).quantize(CENT, ROUND_HALF_UP)  # as Space Invoices rounds
    return net, tax, net + tax


def entity_id(seller: int) -> str:
    return f"ent_{seller:024x}"


def remote_id(order: int) -> str:
    return f"inv_{order:024x}"


class Plan:
    """Which seller, number and date each seeded order (and its invoice, same id) has."""

    def __init__(self, documents: int, sellers: int) -> None:
        self.documents, self.sellers = documents, sellers
        today = datetime.now(UTC).date()
        self.year = today.year
        self.first_day = date(self.year, 1, 1)
        self.days = max(1, (today - self.first_day).days)  # up to yesterday
        self.now = datetime.now(UTC)

    def seller(self, order: int) -> int:
        return (order - 1) % self.sellers + 1

    def checkout(self, order: int) -> int:
        """One checkout per round of orders over all sellers: an order per seller each."""
        return (order - 1) // self.sellers + 1

    def number(self, order: int) -> str:
        return f"{self.year}-{(order - 1) // self.sellers + 1:05d}"

    def moment(self, order: int) -> datetime:
        day = self.first_day + timedelta(days=order * self.days // (self.documents + 1))
        return datetime.combine(day, day_time(9), UTC) + timedelta(seconds=order % 28_800)


def seed_database(url: str, plan: Plan) -> None:
    """Sellers (a product each), buyers, checkouts, paid orders and their issued invoices;
    consistent by construction, so FK triggers are off while copying (replica role). Each row
    is a domestic sale to a consumer in Slovenia, recorded as the app records one; the invoices'
    frozen requests (`payload`) stay blank, as on rows written before requests were frozen:
    reconciliation never reads them."""
    from django.contrib.auth.models import User

    from invoicing.models import Document
    from marketplace.models import Checkout, Order, Product
    from sellers.models import Seller

    now, sellers, documents = plan.now, plan.sellers, plan.documents
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        copy_model(conn, Seller, (
            {"id": s, "business_name": f"Seller {s} d.o.o.", "address": "Trg 1",
             "post_code": "1000", "city": "Ljubljana", "country": "SI",
             "email": f"s{s}@sellers.example", "status": "active", "entity_id": entity_id(s),
             "entity_request_id": f"mkt-entity-{s}", "created_at": now, "updated_at": now}
            for s in range(1, sellers + 1)
        ))  # fmt: skip
        copy_model(conn, User, (
            {"id": b, "password": "!", "username": f"buyer{b}",
             "email": f"b{b}@buyers.example", "date_joined": now}
            for b in range(1, sellers + 1)
        ))  # fmt: skip
        # Its rate comes from Slovenia's table for its category (standard: 22 %).
        copy_model(conn, Product, (
            {"id": s, "seller_id": s, "name": "Item", "unit_price": Decimal("10.00"),
             "created_at": now}
            for s in range(1, sellers + 1)
        ))  # fmt: skip
        copy_model(conn, Checkout, (
            {"id": c, "public_id": uuid.UUID(int=c), "created_at": now, "buyer_id": 1}
            for c in range(1, plan.checkout(documents) + 1)
        ))  # fmt: skip
        copy_model(conn, Order, (
            {"id": o, "buyer_name": "Buyer", "buyer_email": "b@buyers.example",
             "billing_address": "Trg 2", "billing_post_code": "1000",
             "billing_city": "Ljubljana", "billing_country": "SI", "currency": "EUR",
             "status": "paid", **dict(zip(("total_net", "total_tax", "total_gross"),
                                          amounts(o), strict=True)),
             "placed_at": plan.moment(o), "paid_at": plan.moment(o), "buyer_id": o % sellers + 1,
             "checkout_id": plan.checkout(o), "seller_id": plan.seller(o),
             "transaction_type": "domestic", "tax_rate_source": "seller",
             "buyer_is_end_consumer": True}
            for o in range(1, documents + 1)
        ))  # fmt: skip
        copy_model(conn, Document, (
            {"id": o, "entity_id": entity_id(plan.seller(o)), "kind": "invoice",
             "state": "issued", "remote_id": remote_id(o), "number": plan.number(o),
             "shareable_id": f"{o:024x}", "date": plan.moment(o).date(),
             "date_due": plan.moment(o).date() + timedelta(days=30), "currency": "EUR",
             **dict(zip(("total_net", "total_tax", "total_gross"), amounts(o), strict=True)),
             "attempts": 1, "created_at": plan.moment(o), "first_sent_at": plan.moment(o),
             "last_attempt_at": plan.moment(o), "issued_at": plan.moment(o),
             "payment_recorded_at": plan.moment(o), "paid_at": plan.moment(o), "order_id": o,
             "seller_id": plan.seller(o), "seller_country": "SI", "buyer_country": "SI",
             "transaction_type": "domestic", "rate_source": "seller",
             "customer_is_end_consumer": True}
            for o in range(1, documents + 1)
        ))  # fmt: skip
        for model in (Seller, User, Product, Checkout, Order, Document):
            table = model._meta.db_table
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def seed_sandbox(path: Path, plan: Plan) -> Any:
    """The sandbox app on `path`, holding one entity per seller and every seeded document."""
    from invoicing.models import document_ref
    from invoicing.sandbox import create_app, jsoncodec, sandbox_transport
    from invoicing.sandbox.ids import timestamp

    app = create_app(path, [KEY])
    with httpx.Client(
        transport=sandbox_transport(app),
        base_url="http://sandbox",
        headers={"Authorization": f"Bearer {KEY}"},
    ) as http:
        template = http.post(
            "/entities",
            json={
                "name": "Template",
                "country_code": "SI",
                "settings": {"number_formats": {"invoice": "{yyyy}-{nnnnn}"}},
            },
        ).json()
        http.post("/sandbox/reset")

    def entity(seller: int) -> tuple[str, str, str]:
        body = {**template, "id": entity_id(seller), "name": f"Seller {seller} d.o.o."}
        return entity_id(seller), template["account_id"], jsoncodec.dumps(body)

    def document(order: int) -> tuple[str, str, str, str, str, str]:
        net, tax, gross = amounts(order)
        moment = plan.moment(order)
        stamp = timestamp(moment)
        body = {
            "id": remote_id(order),
            "entity_id": entity_id(plan.seller(order)),
            "number": plan.number(order),
            "date": moment.date().isoformat(),
            "date_due": (moment.date() + timedelta(days=30)).isoformat(),
            "currency_code": "EUR",
            "total": net,
            "total_with_tax": gross,
            "total_discount": Decimal("0.00"),
            "taxes": [{"rate": RATE, "base": net, "amount": tax, "reverse_charge": False}],
            "total_paid": gross,
            "total_due": Decimal("0.00"),
            "paid_in_full": True,
            "is_draft": False,
            "voided_at": None,
            "transaction_type": "domestic",
            "shareable_id": f"{order:024x}",
            "metadata": {
                "order_id": str(order),
                "seller_id": str(plan.seller(order)),
                "checkout_id": str(plan.checkout(order)),
                "document_ref": document_ref(kind="invoice", pk=order),
            },
            "created_at": stamp,
            "updated_at": stamp,
        }
        return (
            remote_id(order),
            body["entity_id"],
            "invoice",
            body["number"],
            body["shareable_id"],
            jsoncodec.dumps(body),
        )

    with app.store.write() as session:
        db = session._db  # a benchmark's bulk load; the API would take hours for a million
        db.executemany(
            "INSERT INTO entities (id, account_id, body) VALUES (?, ?, ?)",
            (entity(s) for s in range(1, plan.sellers + 1)),
        )
        db.executemany(
            "INSERT INTO documents (id, entity_id, type, number, shareable_id, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (document(o) for o in range(1, plan.documents + 1)),
        )
        db.executemany(
            "INSERT INTO sequences (entity_id, document_type, period, last_value)"
            " VALUES (?, 'invoice', ?, ?)",
            (
                (entity_id(s), str(plan.year), len(range(s, plan.documents + 1, plan.sellers)))
                for s in range(1, plan.sellers + 1)
            ),
        )
    return app


class Counted:
    """A Space Invoices client on the sandbox that counts the requests it sends."""

    def __init__(self, app: Any) -> None:
        from invoicing.client import SpaceInvoicesClient
        from invoicing.sandbox import sandbox_transport

        self.requests = 0

        def count(request: httpx.Request) -> None:
            self.requests += 1

        http = httpx.Client(
            transport=sandbox_transport(app),
            base_url="http://sandbox",
            event_hooks={"request": [count]},
        )
        self.client = SpaceInvoicesClient(base_url="http://sandbox", api_key=KEY, http=http)


def issue_new(app: Any, plan: Plan, count: int) -> int:
    """`count` new paid orders at random sellers, each written and issued as the app does it
    (`invoice_request` writes the invoice row with its frozen request, `document_issue` sends it
    to the sandbox and mirrors the answer); the number of sellers that got one."""
    from django.db import transaction
    from django.utils import timezone

    from invoicing.services import document_issue, invoice_request
    from marketplace.models import Checkout, Order, OrderLine

    rng = random.Random(12)
    client = Counted(app).client
    sellers = set()
    for order in range(plan.documents + 1, plan.documents + count + 1):
        seller = rng.randrange(1, plan.sellers + 1)
        sellers.add(seller)
        net, tax, gross = amounts(order)
        with transaction.atomic():
            row = Order.objects.create(
                checkout=Checkout.objects.create(buyer_id=1), seller_id=seller, buyer_id=1,
                buyer_name="Buyer", buyer_email="b@buyers.example", billing_address="Trg 2",
                billing_post_code="1000", billing_city="Ljubljana", billing_country="SI",
                currency="EUR", status="paid", total_net=net, total_tax=tax, total_gross=gross,
                transaction_type="domestic", tax_rate_source="seller", paid_at=timezone.now(),
            )  # fmt: skip
            OrderLine.objects.create(
                order=row, product_id=seller, name="Item", quantity=1, unit_price=net,
                tax_rate=RATE, total_net=net,
            )  # fmt: skip
            invoice = invoice_request(order=row)
        assert invoice is not None
        document_issue(invoice_id=invoice.pk, client=client)
    return len(sellers)


def measure(plan: Plan, new: int) -> dict[str, Any]:
    logging.getLogger("invoicing").setLevel(logging.WARNING)
    from invoicing.models import Finding
    from invoicing.reconciliation import reconcile, sellers_due

    with tempfile.TemporaryDirectory() as folder:
        app = timed(
            f"sandbox: {plan.sellers} entities, {plan.documents} documents (SQLite)",
            lambda: seed_sandbox(Path(folder) / "sandbox.sqlite3", plan),
        )
        full = Counted(app)
        started = time.perf_counter()
        full_findings = reconcile(client=full.client, full=True)
        full_s = time.perf_counter() - started
        print(
            f"full pass: {plan.sellers} sellers, {full.requests} requests, {full_s:.1f} s, "
            f"{len(full_findings)} findings",
            flush=True,
        )
        changed = timed(f"issue {new} new invoices", lambda: issue_new(app, plan, new))
        due = sellers_due().count()
        incremental = Counted(app)
        started = time.perf_counter()
        findings = reconcile(client=incremental.client)
        incremental_s = time.perf_counter() - started
        print(
            f"incremental pass: {due} sellers due ({changed} got a new invoice), "
            f"{incremental.requests} requests, {incremental_s:.1f} s, {len(findings)} findings; "
            f"{Finding.objects.count()} findings stored",
            flush=True,
        )
    share_per_min = 60  # RECONCILIATION_RATE_LIMIT_PERCENT=10 of a live key's 600/min
    print(
        f"at {share_per_min} requests/min: full pass {full.requests / share_per_min:.0f} min, "
        f"incremental pass {incremental.requests / share_per_min:.1f} min"
    )
    return {
        "sellers": plan.sellers,
        "documents": plan.documents,
        "new_documents": new,
        "full_requests": full.requests,
        "full_s": round(full_s, 1),
        "full_sellers_visited": plan.sellers,
        "incremental_requests": incremental.requests,
        "incremental_s": round(incremental_s, 2),
        "incremental_sellers_visited": due,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sellers", type=int, default=10_000)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=1_000)
    parser.add_argument("--database", default="reconciliation_bench", help="Dropped and recreated.")
    args = parser.parse_args()
    production_secrets()
    if args.sellers < 1 or args.documents < args.sellers:
        parser.error("give at least one seller and one document per seller")
    # The tasks the new invoices enqueue (issue, send) wait in memory: the benchmark issues them.
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    plan = Plan(args.documents, args.sellers)
    url = fresh_database(parser, args.database)
    django_setup(url)
    timed(
        f"seed {args.documents} documents, {args.sellers} sellers (COPY)",
        lambda: seed_database(url, plan),
    )
    print(json.dumps(measure(plan, args.new)))


if __name__ == "__main__":
    main()
