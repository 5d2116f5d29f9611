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
- `--new` new paid orders at random sellers, each invoice issued through the API (POST /invoices
  to the sandbox) and mirrored (the rows issued as `_mirror` leaves them);
- the incremental pass (`reconcile()`, the periodic task's run): visits only the sellers with
  changes and lists only their changed documents.

The last line printed is one JSON object with `full_requests`, `full_s`, `incremental_requests`,
`incremental_s` and the sellers each pass visited.
"""

import argparse
import json
import logging
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from _common import django_setup, fresh_database, production_secrets, timed

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


def copy_rows(conn: psycopg.Connection, table: str, columns: str, rows: Iterator[tuple]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed_database(url: str, plan: Plan) -> None:
    """Sellers, buyers, checkouts, paid orders and their issued invoices; consistent by
    construction, so FK triggers are off while copying (replica role)."""
    now, sellers, documents = plan.now, plan.sellers, plan.documents
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        copy_rows(
            conn,
            "sellers_seller",
            "id, business_name, address, post_code, city, country, tax_number, is_tax_subject,"
            " email, primary_colour, logo, invoice_footer, status, entity_id, entity_request_id,"
            " entity_error, created_at, updated_at, invoice_trigger, oss_registered,"
            " vies_unavailable_policy",
            (
                (s, f"Seller {s} d.o.o.", "Trg 1", "1000", "Ljubljana", "SI", "", True,
                 f"s{s}@sellers.example", "#1A73E8", "", "", "active", entity_id(s),
                 f"mkt-entity-{s}", "", now, now, "", False, "hold")
                for s in range(1, sellers + 1)
            ),
        )  # fmt: skip
        copy_rows(
            conn,
            "auth_user",
            "id, password, is_superuser, username, first_name, last_name, email, is_staff,"
            " is_active, date_joined",
            (
                (b, "!", False, f"buyer{b}", "", "", f"b{b}@buyers.example", False, True, now)
                for b in range(1, sellers + 1)
            ),
        )
        copy_rows(
            conn,
            "marketplace_checkout",
            "id, public_id, created_at, buyer_id",
            ((c, uuid.UUID(int=c), now, 1) for c in range(1, plan.checkout(documents) + 1)),
        )
        copy_rows(
            conn,
            "marketplace_order",
            "id, buyer_name, buyer_email, billing_address, billing_post_code, billing_city,"
            " billing_country, currency, status, total_net, total_tax, total_gross, placed_at,"
            " paid_at, buyer_id, checkout_id, seller_id, buyer_company, buyer_vat_number,"
            " reverse_charge, tax_note, transaction_type",
            (
                (o, "Buyer", "b@buyers.example", "Trg 2", "1000", "Ljubljana", "SI", "EUR",
                 "paid", *amounts(o), plan.moment(o), plan.moment(o), o % sellers + 1,
                 plan.checkout(o), plan.seller(o), "", "", False, "", "domestic")
                for o in range(1, documents + 1)
            ),
        )  # fmt: skip
        copy_rows(
            conn,
            "invoicing_invoice",
            "id, entity_id, kind, state, request_id, remote_id, number, shareable_id, date,"
            " date_due, currency, total_net, total_tax, total_gross, attempts, last_error,"
            " created_at, last_attempt_at, issued_at, payment_recorded_at, paid_at, order_id,"
            " seller_id, buyer_country, reverse_charge, seller_country, transaction_type,"
            " vies_request_id",
            (
                (o, entity_id(plan.seller(o)), "invoice", "issued", f"mkt-doc-{o}", remote_id(o),
                 plan.number(o), f"{o:024x}", plan.moment(o).date(),
                 plan.moment(o).date() + timedelta(days=30), "EUR", *amounts(o), 1, "",
                 plan.moment(o), plan.moment(o), plan.moment(o), plan.moment(o), plan.moment(o),
                 o, plan.seller(o), "SI", False, "SI", "domestic", "")
                for o in range(1, documents + 1)
            ),
        )  # fmt: skip
        for table in (
            "sellers_seller",
            "auth_user",
            "marketplace_checkout",
            "marketplace_order",
            "invoicing_invoice",
        ):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def seed_sandbox(path: Path, plan: Plan) -> Any:
    """The sandbox app on `path`, holding one entity per seller and every seeded document."""
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
                "document_ref": f"mkt-invoice-{order}",
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


def issue_new(url: str, app: Any, plan: Plan, count: int) -> int:
    """`count` new paid orders at random sellers, their invoices issued through the API and
    mirrored; the number of sellers that got one."""
    from invoicing.models import Invoice

    rng = random.Random(12)
    first = plan.documents + 1
    orders = range(first, first + count)
    checkouts = plan.checkout(plan.documents)  # new order o gets checkout checkouts + o - first + 1
    seller_of = {o: rng.randrange(1, plan.sellers + 1) for o in orders}
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        copy_rows(
            conn,
            "marketplace_checkout",
            "id, public_id, created_at, buyer_id",
            ((checkouts + o - first + 1, uuid.UUID(int=o), now, 1) for o in orders),
        )
        copy_rows(
            conn,
            "marketplace_order",
            "id, buyer_name, buyer_email, billing_address, billing_post_code, billing_city,"
            " billing_country, currency, status, total_net, total_tax, total_gross, placed_at,"
            " paid_at, buyer_id, checkout_id, seller_id, buyer_company, buyer_vat_number,"
            " reverse_charge, tax_note, transaction_type",
            (
                (o, "Buyer", "b@buyers.example", "Trg 2", "1000", "Ljubljana", "SI", "EUR",
                 "paid", *amounts(o), now, now, 1, checkouts + o - first + 1, seller_of[o], "",
                 "", False, "", "domestic")
                for o in orders
            ),
        )  # fmt: skip
        for table in ("marketplace_checkout", "marketplace_order"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    client = Counted(app).client
    rows = []
    for order in orders:
        net, _, gross = amounts(order)
        row = Invoice(
            pk=order, order_id=order, seller_id=seller_of[order],
            entity_id=entity_id(seller_of[order]), currency="EUR", transaction_type="domestic",
            seller_country="SI", buyer_country="SI", request_id=f"mkt-doc-{order}",
        )  # fmt: skip
        document = client.invoice_create(
            entity_id=row.entity_id,
            payload={
                "currency_code": "EUR",
                "customer": {"name": "Buyer", "country_code": "SI", "is_end_consumer": True},
                "items": [{"name": "Item", "quantity": 1, "price": net, "taxes": [{"rate": RATE}]}],
                "expected_total_with_tax": gross,
                "payments": [{"amount": gross, "type": "card"}],
                "metadata": {
                    "order_id": str(order),
                    "seller_id": str(row.seller_id),
                    "document_ref": f"mkt-invoice-{order}",
                },
            },
            request_id=row.request_id,
        )
        issued = datetime.now(UTC)
        row.state, row.remote_id, row.number = "issued", document["id"], document["number"]
        row.shareable_id = document["shareable_id"] or ""
        row.date = date.fromisoformat(document["date"])
        row.total_net, row.total_gross = document["total"], document["total_with_tax"]
        row.total_tax = row.total_gross - row.total_net
        row.attempts, row.last_attempt_at, row.issued_at = 1, issued, issued
        row.payment_recorded_at = row.paid_at = issued
        rows.append(row)
    Invoice.objects.bulk_create(rows)
    return len(set(seller_of.values()))


def measure(url: str, plan: Plan, new: int) -> dict[str, Any]:
    django_setup(url)
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
        changed = timed(f"issue {new} new invoices", lambda: issue_new(url, app, plan, new))
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
    plan = Plan(args.documents, args.sellers)
    url = fresh_database(parser, args.database)
    timed(
        f"seed {args.documents} documents, {args.sellers} sellers (COPY)",
        lambda: seed_database(url, plan),
    )
    print(json.dumps(measure(url, plan, args.new)))


if __name__ == "__main__":
    main()
