import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.db.models.query import QuerySet

from invoicing.models import Document
from reporting.exports import (
    DOCUMENTS,
    EXPORTS,
    INVOICES,
    LINES,
    STATEMENT,
    VAT,
    csv_chunks,
    export_write,
)
from reporting.selectors import (
    ReportFilters,
    invoice_export_rows,
    month_totals,
    seller_statement,
    vat_summary,
)

ALL = ReportFilters()
YEAR = ReportFilters(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))


def text(export: Any, filters: ReportFilters) -> str:
    return "".join(csv_chunks(export, filters))


def parsed(export: Any, filters: ReportFilters) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text(export, filters), newline="")))


def test_layouts_are_fixed_and_versioned() -> None:
    assert {name: (e.version, e.columns) for name, e in EXPORTS.items()} == {
        "invoices": (1, (
            "seller_id", "seller_name", "entity_id", "invoice_number", "invoice_date", "order_id",
            "checkout_id", "buyer_name", "buyer_country", "currency", "total_net", "total_tax",
            "total_gross", "remote_id",
        )),
        "documents": (3, (
            "document_id", "kind", "document_number", "document_date", "credited_document_number",
            "seller_id", "seller_name", "seller_country", "entity_id", "order_id", "checkout_id",
            "buyer_name", "buyer_company", "buyer_vat_number", "buyer_country", "transaction_type",
            "reverse_charge", "currency", "total_net", "total_tax", "total_gross", "remote_id",
            "credited_remote_id", "e_invoice_format", "e_invoice_delivered",
        )),
        "lines": (1, (
            "document_id", "kind", "document_number", "document_date", "seller_id", "entity_id",
            "order_id", "checkout_id", "remote_id", "line_id", "order_line_id", "name", "quantity",
            "unit_price", "tax_rate", "currency", "total_net",
        )),
        "vat": (1, (
            "seller_country", "buyer_country", "transaction_type", "tax_rate", "currency",
            "document_count", "taxable_base", "tax_amount",
        )),
        "statement": (1, (
            "seller_id", "seller_name", "entity_id", "date_from", "date_to", "currency",
            "invoice_count", "invoice_net", "invoice_tax", "invoice_gross", "credit_note_count",
            "credit_note_net", "credit_note_tax", "credit_note_gross", "net", "tax", "gross",
        )),
        "commission": (1, (
            "seller_id", "seller_name", "number", "kind", "credited_number", "period", "date",
            "currency", "transaction_type", "net", "tax", "gross",
        )),
    }  # fmt: skip


@pytest.mark.django_db
def test_invoice_export_is_exact_issued_invoices_only_in_order(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    assert text(INVOICES, ALL).encode("utf-8") == expected_csv([1, 2, 3, 4]).encode("utf-8")


@pytest.mark.django_db
def test_empty_export_is_the_header_alone() -> None:
    assert list(csv_chunks(INVOICES, ALL)) == [",".join(INVOICES.columns) + "\r\n"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("seller", "date_from", "date_to", "rows"),
    [
        ("acme", None, None, [1, 3, 4]),
        ("bolt", None, None, [2]),
        (None, date(2024, 2, 1), None, [3, 4]),
        (None, None, date(2024, 2, 1), [1, 2, 3]),
        (None, date(2024, 1, 31), date(2024, 1, 31), [1, 2]),
        ("acme", date(2024, 1, 1), date(2024, 2, 29), [1, 3]),
        ("bolt", date(2024, 2, 1), None, []),
    ],
)
def test_invoice_export_filters_by_seller_and_inclusive_dates(
    ledger: dict[str, Any],
    expected_csv: Callable[[list[int]], str],
    seller: str | None,
    date_from: date | None,
    date_to: date | None,
    rows: list[int],
) -> None:
    filters = ReportFilters(
        seller_id=ledger[seller].pk if seller else None, date_from=date_from, date_to=date_to
    )

    assert text(INVOICES, filters) == expected_csv(rows)


@pytest.mark.django_db
def test_documents_export_signs_credit_notes_and_links_them(ledger: dict[str, Any]) -> None:
    acme, bolt = ledger["acme"].pk, ledger["bolt"].pk
    o1, o2, o3, o4 = ledger["orders"]
    i1, i2, i3, i4 = (invoice.pk for invoice in ledger["invoices"])
    cn = ledger["credit_note"].pk
    zig = '"Žiga ""Zig"" Šuštar"'

    assert text(DOCUMENTS, YEAR) == (
        ",".join(DOCUMENTS.columns) + "\r\n"
        f'{i1},invoice,2024-00001,2024-01-31,,{acme},"Acme, d.o.o.",SI,ent_acme,{o1.pk},'
        f"{o1.checkout_id},{zig},,,SI,domestic,false,EUR,10.00,2.20,12.20,inv_2024-00001,,,\r\n"
        f"{i2},invoice,B-7,2024-01-31,,{bolt},Bolt GmbH,AT,ent_bolt,{o2.pk},{o2.checkout_id},"
        f"'=HYPERLINK(1),,,AT,domestic,false,EUR,1234.50,246.90,1481.40,inv_B-7,,,\r\n"
        f'{i3},invoice,2024-00002,2024-02-01,,{acme},"Acme, d.o.o.",SI,ent_acme,{o3.pk},'
        f"{o3.checkout_id},Ana Novak,,,DE,intra_eu_b2c,false,EUR,0.10,0.00,0.10,inv_2024-00002,"
        ",,\r\n"
        f'{cn},credit_note,CN-1,2024-02-01,2024-00001,{acme},"Acme, d.o.o.",SI,ent_acme,{o1.pk},'
        f"{o1.checkout_id},{zig},,,SI,domestic,false,EUR,-10.00,-2.20,-12.20,inv_CN-1,"
        f"inv_2024-00001,,\r\n"
        f'{i4},invoice,2024-00003,2024-03-01,,{acme},"Acme, d.o.o.",SI,ent_acme,{o4.pk},'
        f"{o4.checkout_id},Bo Li,,,FR,intra_eu_b2c,false,USD,5.00,1.10,6.10,inv_2024-00003,,,\r\n"
    )


@pytest.mark.django_db
def test_documents_export_says_which_e_invoice_and_whether_it_was_delivered(
    ledger: dict[str, Any],
) -> None:
    i1, i2, i3, _ = ledger["invoices"]
    Document.objects.filter(pk=i1.pk).update(
        e_invoice_format="ubl", sent_at=datetime(2024, 1, 31, 12, tzinfo=UTC)
    )
    Document.objects.filter(pk=i2.pk).update(e_invoice_format="xrechnung", sent_at=None)

    rows = {row["document_id"]: row for row in parsed(DOCUMENTS, YEAR)}

    cells = {
        pk: (rows[str(pk)]["e_invoice_format"], rows[str(pk)]["e_invoice_delivered"])
        for pk in (i1.pk, i2.pk, i3.pk)
    }
    assert cells == {i1.pk: ("ubl", "true"), i2.pk: ("xrechnung", "false"), i3.pk: ("", "")}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filters", "numbers"),
    [
        ({"kind": "credit_note"}, ["CN-1"]),
        ({"kind": "invoice", "currency": "USD"}, ["2024-00003"]),
        ({"seller_country": "AT"}, ["B-7"]),
        ({"buyer_country": "SI"}, ["2024-00001", "CN-1"]),
        ({"date_from": date(2024, 2, 1), "date_to": date(2024, 2, 1)}, ["2024-00002", "CN-1"]),
        ({"currency": "GBP"}, []),
    ],
)
def test_documents_export_filters(
    ledger: dict[str, Any], filters: dict[str, Any], numbers: list[str]
) -> None:
    rows = parsed(DOCUMENTS, ReportFilters(**filters))

    assert [row["document_number"] for row in rows] == numbers


@pytest.mark.django_db
def test_lines_export_is_one_row_per_document_line(ledger: dict[str, Any]) -> None:
    o1 = ledger["orders"][0]
    line = o1.lines.get()
    filters = ReportFilters(seller_id=ledger["acme"].pk, buyer_country="SI")
    i1, cn = ledger["invoices"][0], ledger["credit_note"]

    assert text(LINES, filters) == (
        ",".join(LINES.columns) + "\r\n"
        f"{i1.pk},invoice,2024-00001,2024-01-31,{i1.seller_id},ent_acme,{o1.pk},{o1.checkout_id},"
        f"inv_2024-00001,{i1.lines.get().pk},{line.pk},Mug,1,10.00,22.00,EUR,10.00\r\n"
        f"{cn.pk},credit_note,CN-1,2024-02-01,{i1.seller_id},ent_acme,{o1.pk},{o1.checkout_id},"
        f"inv_CN-1,{cn.lines.get().pk},{line.pk},Mug,1,10.00,22.00,EUR,-10.00\r\n"
    )


@pytest.mark.django_db
def test_vat_export_adds_up_tax_by_country_type_and_rate(ledger: dict[str, Any]) -> None:
    assert text(VAT, YEAR) == (
        ",".join(VAT.columns) + "\r\n"
        "AT,AT,domestic,22.00,EUR,1,1234.50,246.90\r\n"
        "SI,DE,intra_eu_b2c,0.00,EUR,1,0.10,0.00\r\n"
        "SI,FR,intra_eu_b2c,22.00,USD,1,5.00,1.10\r\n"
        "SI,SI,domestic,22.00,EUR,2,0.00,0.00\r\n"
    )


@pytest.mark.django_db
def test_vat_export_counts_a_credit_note_in_its_own_period(ledger: dict[str, Any]) -> None:
    february = ReportFilters(date_from=date(2024, 2, 1), date_to=date(2024, 2, 29))

    assert text(VAT, february) == (
        ",".join(VAT.columns) + "\r\n"
        "SI,DE,intra_eu_b2c,0.00,EUR,1,0.10,0.00\r\n"
        "SI,SI,domestic,22.00,EUR,1,-10.00,-2.20\r\n"
    )


@pytest.mark.django_db
def test_statement_export_is_the_statement_by_currency(ledger: dict[str, Any]) -> None:
    acme = ledger["acme"].pk
    filters = ReportFilters(seller_id=acme, date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))

    assert text(STATEMENT, filters) == (
        ",".join(STATEMENT.columns) + "\r\n"
        f'{acme},"Acme, d.o.o.",ent_acme,2024-01-01,2024-12-31,EUR,2,10.10,2.20,12.30,'
        "1,10.00,2.20,12.20,0.10,0.00,0.10\r\n"
        f'{acme},"Acme, d.o.o.",ent_acme,2024-01-01,2024-12-31,USD,1,5.00,1.10,6.10,'
        "0,0.00,0.00,0.00,5.00,1.10,6.10\r\n"
    )


def _sum_by_currency(rows: list[dict[str, str]], column: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row["currency"]] += Decimal(row[column])
    return dict(sums)


@pytest.mark.django_db
def test_export_totals_equal_the_report_totals(ledger: dict[str, Any]) -> None:
    """Reconcilable: documents, lines and VAT exports add up to the statements and summary."""
    documents = parsed(DOCUMENTS, YEAR)
    expected = {"EUR": Decimal("1481.50"), "USD": Decimal("6.10")}

    assert _sum_by_currency(documents, "total_gross") == expected
    assert {
        currency: sum(t.gross for t in month_totals(filters=YEAR) if t.currency == currency)
        for currency in expected
    } == expected
    statements: dict[str, Decimal] = defaultdict(Decimal)
    for seller in (ledger["acme"], ledger["bolt"]):
        for line in seller_statement(filters=ReportFilters(seller_id=seller.pk)):
            statements[line.currency] += line.gross
    assert statements == expected

    net = _sum_by_currency(documents, "total_net")
    tax = _sum_by_currency(documents, "total_tax")
    assert net == {"EUR": Decimal("1234.60"), "USD": Decimal("5.00")}
    assert _sum_by_currency(parsed(LINES, YEAR), "total_net") == net
    vat = vat_summary(filters=YEAR)
    assert {c: sum(r.base for r in vat if r.currency == c) for c in net} == net
    assert {c: sum(r.tax for r in vat if r.currency == c) for c in tax} == tax
    assert _sum_by_currency(parsed(VAT, YEAR), "tax_amount") == tax


@pytest.mark.django_db
def test_write_counts_rows_and_reports_progress_per_batch(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    stream = io.StringIO(newline="")
    progress: list[int] = []

    rows = export_write(INVOICES, ALL, stream, progress.append, batch_size=3)

    assert rows == 4
    assert progress == [3, 4]
    assert stream.getvalue() == expected_csv([1, 2, 3, 4])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "export",
    # The documents export without COPY: as on SQLite.
    [INVOICES, replace(DOCUMENTS, copy_query=None), LINES],
    ids=lambda e: e.name,
)
def test_chunks_are_lazy_and_read_through_one_server_side_cursor(
    ledger: dict[str, Any], django_assert_num_queries: Any, export: Any
) -> None:
    """Constant memory, structurally: nothing is read until asked, then a chunked cursor, in
    one transaction (here a savepoint in the test's own)."""
    with django_assert_num_queries(0):
        chunks = csv_chunks(export, YEAR)
        assert next(chunks) == ",".join(export.columns) + "\r\n"

    opened = []
    chunked_cursor = connection.chunked_cursor

    def opening() -> Any:
        opened.append(chunked_cursor())
        return opened[-1]

    with (
        mock.patch.object(connection, "chunked_cursor", side_effect=opening),
        django_assert_num_queries(3) as queries,
    ):
        assert len(list(chunks)) == 1

    # One named cursor: PostgreSQL declares it and hands the rows over in chunks.
    assert [bool(cursor.cursor.name) for cursor in opened] == [True]
    assert [query["sql"].split()[0] for query in queries.captured_queries] == [
        "SAVEPOINT",
        "SELECT",
        "RELEASE",
    ]


@pytest.mark.django_db
def test_selector_streams_with_iterator_in_chunks_of_2000(ledger: dict[str, Any]) -> None:
    with mock.patch.object(
        QuerySet, "iterator", autospec=True, side_effect=QuerySet.iterator
    ) as it:
        rows = list(invoice_export_rows(filters=ALL))

    assert len(rows) == 4
    assert it.call_args.kwargs == {"chunk_size": 2000}
