import io
from collections.abc import Callable
from datetime import date
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.db.models.query import QuerySet

from reporting.exports import (
    INVOICE_EXPORT_COLUMNS,
    INVOICE_EXPORT_VERSION,
    invoice_csv_lines,
    invoice_export_write,
)
from reporting.selectors import InvoiceExportFilters, invoice_export_rows

ALL = InvoiceExportFilters()


def test_layout_is_version_1_with_fixed_columns() -> None:
    assert INVOICE_EXPORT_VERSION == 1
    assert INVOICE_EXPORT_COLUMNS == (
        "seller_id", "seller_name", "entity_id", "invoice_number", "invoice_date", "order_id",
        "checkout_id", "buyer_name", "buyer_country", "currency", "total_net", "total_tax",
        "total_gross", "remote_id",
    )  # fmt: skip


@pytest.mark.django_db
def test_export_is_exact_issued_invoices_only_in_order(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    text = "".join(invoice_csv_lines(ALL))

    assert text.encode("utf-8") == expected_csv([1, 2, 3, 4]).encode("utf-8")


@pytest.mark.django_db
def test_empty_export_is_the_header_alone() -> None:
    assert list(invoice_csv_lines(ALL)) == [",".join(INVOICE_EXPORT_COLUMNS) + "\r\n"]


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
def test_filters_by_seller_and_inclusive_dates(
    ledger: dict[str, Any],
    expected_csv: Callable[[list[int]], str],
    seller: str | None,
    date_from: date | None,
    date_to: date | None,
    rows: list[int],
) -> None:
    filters = InvoiceExportFilters(
        seller_id=ledger[seller].pk if seller else None, date_from=date_from, date_to=date_to
    )

    assert "".join(invoice_csv_lines(filters)) == expected_csv(rows)


@pytest.mark.django_db
def test_write_counts_invoices_and_reports_progress(
    ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    stream = io.StringIO(newline="")
    progress: list[int] = []

    rows = invoice_export_write(ALL, stream, progress.append, progress_every=2)

    assert rows == 4
    assert progress == [2, 4]
    assert stream.getvalue() == expected_csv([1, 2, 3, 4])


@pytest.mark.django_db
def test_lines_are_lazy_and_read_through_one_server_side_cursor(
    ledger: dict[str, Any], django_assert_num_queries: Any
) -> None:
    """Constant memory, structurally: nothing is read until asked, then a chunked cursor."""
    with django_assert_num_queries(0):
        lines = invoice_csv_lines(ALL)
        assert next(lines).startswith("seller_id,")

    with (
        mock.patch.object(connection, "chunked_cursor", wraps=connection.chunked_cursor) as spy,
        django_assert_num_queries(1),
    ):
        assert len(list(lines)) == 4

    spy.assert_called_once_with()


@pytest.mark.django_db
def test_selector_streams_with_iterator_in_chunks_of_2000(ledger: dict[str, Any]) -> None:
    with mock.patch.object(
        QuerySet, "iterator", autospec=True, side_effect=QuerySet.iterator
    ) as it:
        rows = list(invoice_export_rows(filters=ALL))

    assert len(rows) == 4
    assert it.call_args.kwargs == {"chunk_size": 2000}
