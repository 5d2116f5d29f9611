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
  that reports its own peak RSS (targets: >= half of copy_rows_per_s, < 200 MB);
- copy_rows_per_s: PostgreSQL's `COPY (same query) TO STDOUT WITH CSV`, in the same run.

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
from _common import ROOT, django_setup, fresh_database, manage, production_secrets, timed

YEAR_FROM, YEAR_TO = date(2024, 1, 1), date(2024, 12, 31)
CREDIT_NOTE_EVERY = 20
COUNTRIES = ("SI", "DE", "AT", "FR", "IT", "HR", "NL", "ES", "PL", "US")
RATES = (Decimal("22.00"), Decimal("19.00"), Decimal("20.00"), Decimal("9.50"), Decimal("0.00"))
TRANSACTION_TYPES = ("domestic", "intra_eu_b2b", "intra_eu_b2c", "3w_b2b", "3w_b2c")


def copy_rows(conn: psycopg.Connection, table: str, columns: str, rows: Iterator[tuple]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed(url: str, documents: int, sellers: int) -> None:
    """Consistent rows by construction, so FK triggers are off while copying (replica role)."""
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
        copy_rows(
            conn,
            "sellers_seller",
            "id, business_name, address, post_code, city, country, tax_number, is_tax_subject,"
            " email, primary_colour, logo, invoice_footer, status, entity_id, entity_request_id,"
            " entity_error, created_at, updated_at, invoice_trigger, oss_registered,"
            " vies_unavailable_policy",
            (
                (s, f"Seller {s} d.o.o.", "Trg 1", "1000", "Ljubljana",
                 COUNTRIES[s % 9], "", True, f"s{s}@sellers.example", "#1A73E8", "", "",
                 "active", f"ent_{s:012d}", f"mkt-entity-{s}", "", now, now, "", s % 3 == 0,
                 "hold")
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
                for b in range(1, buyers + 1)
            ),
        )
        copy_rows(
            conn,
            "marketplace_checkout",
            "id, public_id, created_at, buyer_id",
            ((o, uuid.UUID(int=o), paid_at(o), o % buyers + 1) for o in range(1, invoices + 1)),
        )
        copy_rows(
            conn,
            "marketplace_order",
            "id, buyer_name, buyer_email, billing_address, billing_post_code, billing_city,"
            " billing_country, currency, status, total_net, total_tax, total_gross, placed_at,"
            " paid_at, buyer_id, checkout_id, seller_id, buyer_company, buyer_vat_number,"
            " reverse_charge, tax_note, transaction_type, tax_rate_source, buyer_is_end_consumer",
            (
                (o, f"Buyer {o % buyers + 1}", "b@buyers.example", "Hauptstr. 1", "10115",
                 "Berlin", COUNTRIES[o % 10], "USD" if o % 10 == 9 else "EUR", "paid",
                 *amounts(o)[1:], paid_at(o), paid_at(o), o % buyers + 1, o, seller_of(o),
                 "", "", False, "", TRANSACTION_TYPES[o % 5], "seller", True)
                for o in range(1, invoices + 1)
            ),
        )  # fmt: skip

        def document(doc: int, order: int, on: date, credited: int | None) -> tuple:
            _, net, tax, gross = amounts(order)
            issued = paid_at(order) + timedelta(seconds=doc % 600)
            seller = seller_of(order)
            kind, number = ("credit_note", f"CN-{doc}") if credited else ("invoice", f"INV-{doc}")
            return (
                doc, f"ent_{seller:012d}", kind, "issued", f"mkt-doc-{doc}", f"doc_{doc}", number,
                "", on, "USD" if order % 10 == 9 else "EUR", net, tax, gross, 1, "", issued,
                issued, order, seller, COUNTRIES[order % 10], credited, False,
                COUNTRIES[seller % 9], TRANSACTION_TYPES[order % 5], "", "seller", "", True, "",
                "",
            )  # fmt: skip

        def documents_rows() -> Iterator[tuple]:
            for order in range(1, invoices + 1):
                yield document(order, order, invoice_date(order), None)
            for doc in range(invoices + 1, documents + 1):
                order = order_of(doc)
                on = min(invoice_date(order) + timedelta(days=7), YEAR_TO)
                yield document(doc, order, on, order)

        copy_rows(
            conn,
            "invoicing_invoice",
            "id, entity_id, kind, state, request_id, remote_id, number, shareable_id, date,"
            " currency, total_net, total_tax, total_gross, attempts, last_error, created_at,"
            " issued_at, order_id, seller_id, buyer_country, credited_invoice_id, reverse_charge,"
            " seller_country, transaction_type, vies_request_id, rate_source, tax_note,"
            " customer_is_end_consumer, customer_tax_number, held_reason",
            documents_rows(),
        )
        copy_rows(
            conn,
            "invoicing_documenttax",
            "id, rate, base, amount, document_id",
            ((doc, *amounts(order_of(doc))[:3], doc) for doc in range(1, documents + 1)),
        )
        for table in (
            "sellers_seller",
            "auth_user",
            "marketplace_checkout",
            "marketplace_order",
            "invoicing_invoice",
            "invoicing_documenttax",
        ):
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
    django_setup(url)
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
    return {
        "documents": documents,
        "sellers": sellers,
        "summary_s": round(summary_s, 3),
        "statement_ms": round(statement_s * 1000, 2),
        "export_rows_per_s": round(export["rows"] / export["seconds"]),
        "copy_rows_per_s": round(copy_rows_total / copy_s),
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
    timed(
        f"seed {args.documents} documents, {args.sellers} sellers (COPY)",
        lambda: seed(url, args.documents, args.sellers),
    )
    timed("rollup (manage.py rebuild_report_rollup)", lambda: rollup_rebuild(url))
    print(json.dumps(measure(url, args.documents, args.sellers)))


if __name__ == "__main__":
    main()
