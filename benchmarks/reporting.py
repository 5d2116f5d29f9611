"""Reporting at marketplace scale: seed a dedicated PostgreSQL database with COPY, then measure.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything \\
        .venv/bin/python benchmarks/reporting.py [--documents 1000000] [--sellers 10000]

Creates (drops first) the database `--database` (default reporting_bench) on the server of
DATABASE_URL, migrates it with `manage.py migrate`, seeds sellers, buyers, checkouts, orders,
documents (1 in 20 a credit note of an earlier invoice of the same seller) and their tax rows
over the twelve months of 2024, builds the sellers x months rollup from them with
`manage.py rebuild_report_rollup` (timed on its own line), then measures:

- summary_s: the cross-seller sellers x months summary of the year, read from the rollup
  (target < 1 s);
- statement_ms: one seller's statement for the year (target < 50 ms);
- export_rows_per_s / export_peak_rss_mb: the full documents CSV export, in a child process
  that reports its own peak RSS (targets: >= 0.8 x copy_rows_per_s, < 200 MB);
- copy_rows_per_s: PostgreSQL's `COPY (same query) TO STDOUT WITH CSV`, in the same run;
- export_vs_copy: export_rows_per_s / copy_rows_per_s.

The last line printed is one JSON object with those figures.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from _common import (
    ROOT,
    copy_model,
    django_setup,
    fresh_database,
    manage,
    production_secrets,
    timed,
)

YEAR_FROM, YEAR_TO = date(2024, 1, 1), date(2024, 12, 31)
CREDIT_NOTE_EVERY = 20
COUNTRIES = ("SI", "DE", "AT", "FR", "IT", "HR", "NL", "ES", "PL", "US")
RATES = (Decimal("22.00"), Decimal("19.00"), Decimal("20.00"), Decimal("9.50"), Decimal("0.00"))
TRANSACTION_TYPES = ("domestic", "intra_eu_b2b", "intra_eu_b2c", "3w_b2b", "3w_b2c")


def seed(url: str, documents: int, sellers: int) -> None:
    """Consistent rows by construction, so FK triggers are off while copying (replica role)."""
    from django.contrib.auth.models import User

    from invoicing.models import Document, DocumentTax
    from marketplace.models import Checkout, Order
    from sellers.models import Seller

    credit_notes = documents // CREDIT_NOTE_EVERY
    invoices = documents - credit_notes
    buyers = sellers
    now = datetime(2025, 1, 15, tzinfo=UTC)
    days = (YEAR_TO - YEAR_FROM).days + 1

    spacing = invoices // max(credit_notes, 1)

    def order_of(doc: int) -> int:
        """Invoice o is order o's; credit note j credits an invoice spread over the year."""
        return doc if doc <= invoices else (doc - invoices - 1) * spacing + 1

    def seller_of(order: int) -> int:
        return order % sellers + 1

    def invoice_date(order: int) -> date:
        return YEAR_FROM + timedelta(days=order * days // (invoices + 1))

    def amounts(order: int) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        rate = RATES[order % len(RATES)]
        net = Decimal(order % 50_000 + 100) / 100
        tax = (net * rate / 100).quantize(Decimal("0.01"))
        return rate, net, tax, net + tax

    def paid_at(order: int) -> datetime:
        return datetime.combine(invoice_date(order), datetime.min.time(), UTC)

    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")
        copy_model(conn, Seller, (
            {"id": s, "business_name": f"Seller {s} d.o.o.", "address": "Trg 1",
             "post_code": "1000", "city": "Ljubljana", "country": COUNTRIES[s % 9],
             "email": f"s{s}@sellers.example", "status": "active", "entity_id": f"ent_{s:012d}",
             "entity_request_id": f"mkt-entity-{s}", "created_at": now, "updated_at": now,
             "oss_registered": s % 3 == 0}
            for s in range(1, sellers + 1)
        ))  # fmt: skip
        copy_model(conn, User, (
            {"id": b, "password": "!", "username": f"buyer{b}",
             "email": f"b{b}@buyers.example", "date_joined": now}
            for b in range(1, buyers + 1)
        ))  # fmt: skip
        copy_model(conn, Checkout, (
            {"id": o, "public_id": uuid.UUID(int=o), "created_at": paid_at(o),
             "buyer_id": o % buyers + 1}
            for o in range(1, invoices + 1)
        ))  # fmt: skip
        copy_model(conn, Order, (
            {"id": o, "buyer_name": f"Buyer {o % buyers + 1}", "buyer_email": "b@buyers.example",
             "billing_address": "Hauptstr. 1", "billing_post_code": "10115",
             "billing_city": "Berlin", "billing_country": COUNTRIES[o % 10],
             "currency": "USD" if o % 10 == 9 else "EUR", "status": "paid",
             **dict(zip(("total_net", "total_tax", "total_gross"), amounts(o)[1:], strict=True)),
             "placed_at": paid_at(o), "paid_at": paid_at(o), "buyer_id": o % buyers + 1,
             "checkout_id": o, "seller_id": seller_of(o),
             "transaction_type": TRANSACTION_TYPES[o % 5], "tax_rate_source": "seller"}
            for o in range(1, invoices + 1)
        ))  # fmt: skip

        def document(doc: int, order: int, on: date, credited: int | None) -> dict[str, Any]:
            _, net, tax, gross = amounts(order)
            issued = paid_at(order) + timedelta(seconds=doc % 600)
            seller = seller_of(order)
            kind, number = ("credit_note", f"CN-{doc}") if credited else ("invoice", f"INV-{doc}")
            return {
                "id": doc, "entity_id": f"ent_{seller:012d}", "kind": kind, "state": "issued",
                "remote_id": f"doc_{doc}", "number": number, "date": on,
                "currency": "USD" if order % 10 == 9 else "EUR", "total_net": net,
                "total_tax": tax, "total_gross": gross, "attempts": 1, "created_at": issued,
                "first_sent_at": issued, "issued_at": issued, "order_id": order,
                "seller_id": seller, "buyer_country": COUNTRIES[order % 10],
                "credited_invoice_id": credited, "seller_country": COUNTRIES[seller % 9],
                "transaction_type": TRANSACTION_TYPES[order % 5], "rate_source": "seller",
            }  # fmt: skip

        def documents_rows() -> Iterator[dict[str, Any]]:
            for order in range(1, invoices + 1):
                yield document(order, order, invoice_date(order), None)
            for doc in range(invoices + 1, documents + 1):
                order = order_of(doc)
                on = min(invoice_date(order) + timedelta(days=7), YEAR_TO)
                yield document(doc, order, on, order)

        copy_model(conn, Document, documents_rows())
        copy_model(conn, DocumentTax, (
            {"id": doc, **dict(zip(("rate", "base", "amount"), amounts(order_of(doc))[:3],
                                   strict=True)), "document_id": doc}
            for doc in range(1, documents + 1)
        ))  # fmt: skip
        for model in (Seller, User, Checkout, Order, Document, DocumentTax):
            table = model._meta.db_table
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def rollup_rebuild(url: str) -> None:
    """The sellers x months rollup from the seeded documents, as after deploying it on existing
    data (`manage.py rebuild_report_rollup`), then fresh planner statistics for it."""
    manage(url, "rebuild_report_rollup")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE reporting_sellermonthrollup")


def median_seconds(action: Callable[[], Any], runs: int) -> float:
    action()  # warm the caches and the connection
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def export_child(url: str) -> None:
    """Run the full documents export to /dev/null; print rows, seconds and own peak RSS."""
    django_setup(url)
    from reporting.exports import DOCUMENTS, export_write
    from reporting.selectors import ReportFilters

    filters = ReportFilters(date_from=YEAR_FROM, date_to=YEAR_TO)
    with open(os.devnull, "w", encoding="utf-8", newline="") as sink:
        started = time.perf_counter()
        rows = export_write(DOCUMENTS, filters, sink)
        seconds = time.perf_counter() - started
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak_rss_kb() / 1024}))


def peak_rss_kb() -> int:
    """This process's own peak RSS (Linux). Not getrusage's ru_maxrss, which a child started
    with fork + exec inherits from its parent (here the measuring process, already ~180 MB)."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))


def measure(url: str, documents: int, sellers: int) -> dict[str, Any]:
    from django.db import connection

    from reporting.selectors import (
        ReportFilters,
        document_export_queryset,
        seller_month_summary,
        seller_statement,
        vat_summary,
    )

    year = ReportFilters(date_from=YEAR_FROM, date_to=YEAR_TO)
    summary_s = median_seconds(lambda: seller_month_summary(filters=year), runs=3)
    print(f"summary: {len(seller_month_summary(filters=year))} seller-month-currency rows")
    one_seller = ReportFilters(seller_id=sellers // 2, date_from=YEAR_FROM, date_to=YEAR_TO)
    statement_s = median_seconds(lambda: seller_statement(filters=one_seller), runs=20)
    vat_s = median_seconds(lambda: vat_summary(filters=year), runs=1)
    print(f"vat summary (not a target): {vat_s:.3f} s")

    # PostgreSQL's own COPY of exactly the export's query, parameters inlined client-side.
    sql, params = document_export_queryset(filters=year).query.sql_with_params()
    connection.close()
    with psycopg.connect(url) as conn:
        query = psycopg.ClientCursor(conn).mogrify(sql, params)
        started = time.perf_counter()
        copied_bytes = 0
        with conn.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT WITH CSV") as copy:
            for block in copy:
                copied_bytes += len(block)
        copy_s = time.perf_counter() - started
        copy_rows_total = conn.execute(f"SELECT count(*) FROM ({query}) q").fetchone()[0]

    child = subprocess.run(
        [sys.executable, __file__, "--export-child", "--database-url", url],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    export = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"export: {export['rows']} rows in {export['seconds']:.1f} s; copy: {copy_s:.1f} s")
    export_rows_per_s = export["rows"] / export["seconds"]
    copy_rows_per_s = copy_rows_total / copy_s
    return {
        "documents": documents,
        "sellers": sellers,
        "summary_s": round(summary_s, 3),
        "statement_ms": round(statement_s * 1000, 2),
        "export_rows_per_s": round(export_rows_per_s),
        "copy_rows_per_s": round(copy_rows_per_s),
        "export_vs_copy": round(export_rows_per_s / copy_rows_per_s, 2),
        "export_peak_rss_mb": round(export["peak_rss_mb"], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--sellers", type=int, default=10_000)
    parser.add_argument("--database", default="reporting_bench", help="Dropped and recreated.")
    parser.add_argument("--export-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    production_secrets()
    if args.export_child:
        export_child(args.database_url)
        return
    if args.sellers < 1 or args.documents < 2 * args.sellers:
        parser.error("give at least one seller and two documents per seller")
    url = fresh_database(parser, args.database)
    django_setup(url)
    timed(
        f"seed {args.documents} documents, {args.sellers} sellers (COPY)",
        lambda: seed(url, args.documents, args.sellers),
    )
    timed("rollup (manage.py rebuild_report_rollup)", lambda: rollup_rebuild(url))
    print(json.dumps(measure(url, args.documents, args.sellers)))


if __name__ == "__main__":
    main()
