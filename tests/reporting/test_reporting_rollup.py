"""The sellers x months rollup: kept at issue time, rebuilt on demand, and read by the summary
with the same results as adding up the documents themselves."""

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal as D
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from invoicing import services as invoicing
from invoicing.models import Document, DocumentKind, DocumentState
from invoicing.seller_entities import seller_entity_create
from marketplace import services as orders
from marketplace.models import Order
from reporting import services as reporting_services
from reporting.models import SellerMonthRollup
from reporting.selectors import (
    MonthTotal,
    ReportFilters,
    SellerMonth,
    month_totals,
    seller_month_summary,
    sellers_for_summary,
)
from reporting.services import rollup_document_issued, rollup_rebuild
from sellers.models import Seller, SellerStatus
from tests.factories import ProductFactory, SellerFactory, UserFactory
from tests.threads import in_thread

ZERO = D("0.00")


def rollup_rows() -> list[tuple[Any, ...]]:
    return list(
        SellerMonthRollup.objects.order_by("seller_id", "month", "currency").values_list(
            "seller_id",
            "month",
            "currency",
            "documents",
            "net",
            "tax",
            "gross",
            "credit_notes",
            "credit_net",
            "credit_tax",
            "credit_gross",
        )
    )


@pytest.mark.django_db
def test_issued_documents_are_rolled_up_per_seller_month_and_currency(
    ledger: dict[str, Any],
) -> None:
    acme, bolt = ledger["acme"].pk, ledger["bolt"].pk

    assert rollup_rows() == [
        (acme, date(2024, 1, 1), "EUR", 1, D("10.00"), D("2.20"), D("12.20"), 0, ZERO, ZERO, ZERO),
        # Invoice 2024-00002 (0.10) and the credit note of invoice 2024-00001 (10.00).
        (acme, date(2024, 2, 1), "EUR", 2, D("-9.90"), D("-2.20"), D("-12.10"), 1, D("10.00"),
         D("2.20"), D("12.20")),
        (acme, date(2024, 3, 1), "USD", 1, D("5.00"), D("1.10"), D("6.10"), 0, ZERO, ZERO, ZERO),
        (bolt, date(2024, 1, 1), "EUR", 1, D("1234.50"), D("246.90"), D("1481.40"), 0, ZERO, ZERO,
         ZERO),
    ]  # fmt: skip


@pytest.mark.django_db
def test_rebuild_recomputes_the_same_rows_and_repairs(ledger: dict[str, Any]) -> None:
    kept_at_issue = rollup_rows()
    SellerMonthRollup.objects.filter(currency="USD").delete()
    SellerMonthRollup.objects.filter(currency="EUR").update(documents=99, net=D("1.00"))

    assert rollup_rebuild() == 4
    assert rollup_rows() == kept_at_issue


@pytest.mark.django_db
def test_rebuild_command_reports_the_rows(ledger: dict[str, Any]) -> None:
    kept_at_issue = rollup_rows()
    SellerMonthRollup.objects.all().delete()
    out = StringIO()

    call_command("rebuild_report_rollup", stdout=out)

    assert out.getvalue() == "Rebuilt the report rollup: 4 seller-month rows.\n"
    assert rollup_rows() == kept_at_issue


# The summary read from the rollup equals a straight aggregate over the documents.

DAYS = (
    date(2023, 12, 31),
    date(2024, 1, 1),
    date(2024, 1, 15),
    date(2024, 1, 31),
    date(2024, 2, 1),
    date(2024, 2, 10),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2024, 6, 30),
    date(2024, 7, 1),
    date(2024, 11, 10),
    date(2024, 11, 30),
    date(2024, 12, 1),
    date(2024, 12, 31),
    date(2025, 1, 1),
)


@pytest.fixture
def varied(
    make_seller: Callable[..., Seller],
    make_order: Callable[..., Order],
    make_invoice: Callable[..., Document],
) -> list[Seller]:
    """Three sellers, two currencies, invoices on month edges around 2024, every third one
    credited 20 days later (often in the next month), and a pending and a failed document."""
    sellers = [
        make_seller("Acme", "ent_a", country="SI"),
        make_seller("Bolt", "ent_b", country="AT"),
        make_seller("Cora", "ent_c", country="DE"),
    ]
    for index, day in enumerate(DAYS * 2):
        order = make_order(
            sellers[index % 3],
            country=("SI", "DE", "FR", "AT")[index % 4],
            currency="USD" if index % 5 == 0 else "EUR",
            net=f"{index * 7 + 1}.{index:02d}",
            tax=f"{index}.{index * 3 % 100:02d}",
        )
        invoice = make_invoice(order, number=f"N-{index}", on=day)
        if index % 3 == 1:
            make_invoice(order, number=f"CN-{index}", on=day + timedelta(days=20), credits=invoice)
    make_invoice(make_order(sellers[0]), number="p", on=DAYS[3], state=DocumentState.PENDING)
    make_invoice(make_order(sellers[1]), number="f", on=DAYS[3], state=DocumentState.FAILED)
    return sellers


def straight_cells(filters: ReportFilters) -> dict[tuple[int, date, str], list[Any]]:
    """Each issued document under `filters` added to its seller, month and currency, in Python."""
    cells: dict[tuple[int, date, str], list[Any]] = defaultdict(lambda: [0, ZERO, ZERO, ZERO])
    for doc in Document.objects.filter(state=DocumentState.ISSUED):
        assert doc.date is not None
        assert filters.date_from is not None
        assert filters.date_to is not None
        if not (
            filters.date_from <= doc.date <= filters.date_to
            and filters.seller_id in (None, doc.seller_id)
            and filters.seller_country in (None, doc.seller_country)
            and filters.buyer_country in (None, doc.buyer_country)
            and filters.currency in (None, doc.currency)
            and filters.kind in (None, doc.kind)
        ):
            continue
        sign = -1 if doc.kind == DocumentKind.CREDIT_NOTE else 1
        cell = cells[doc.seller_id, doc.date.replace(day=1), doc.currency]
        cell[0] += 1
        cell[1] += sign * (doc.total_net or ZERO)
        cell[2] += sign * (doc.total_tax or ZERO)
        cell[3] += sign * (doc.total_gross or ZERO)
    return cells


PERIODS = {
    "the year": (date(2024, 1, 1), date(2024, 12, 31)),
    "part-months at both ends": (date(2024, 1, 15), date(2024, 11, 10)),
    "part-month, whole month, part-month": (date(2024, 1, 31), date(2024, 3, 1)),
    "a whole leap February": (date(2024, 2, 1), date(2024, 2, 29)),
    "inside one month": (date(2024, 2, 10), date(2024, 2, 20)),
    "across the new year": (date(2023, 12, 1), date(2024, 1, 31)),
}
EXTRA = {
    "no other filter": {},
    "invoices": {"kind": DocumentKind.INVOICE},
    "credit notes": {"kind": DocumentKind.CREDIT_NOTE},
    "USD": {"currency": "USD"},
    "seller country (not in the rollup)": {"seller_country": "AT"},
    "buyer country (not in the rollup)": {"buyer_country": "DE"},
}


FILTER_CASES = [
    pytest.param(start, end, fields, id=f"{period}, {extra}")
    for period, (start, end) in PERIODS.items()
    for extra, fields in EXTRA.items()
]


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "end", "fields"), FILTER_CASES)
def test_summary_equals_a_straight_aggregate_of_the_documents(
    varied: list[Seller], start: date, end: date, fields: dict[str, str]
) -> None:
    filters = ReportFilters(date_from=start, date_to=end, **fields)
    cells = straight_cells(filters)
    expected = [SellerMonth(*key, *cells[key]) for key in sorted(cells)]
    totals: dict[tuple[date, str], list[Any]] = defaultdict(lambda: [0, ZERO, ZERO, ZERO])
    for (_, month, currency), cell in cells.items():
        totals[month, currency] = [
            a + b for a, b in zip(totals[month, currency], cell, strict=True)
        ]
    some = [varied[0].pk, varied[2].pk]

    assert seller_month_summary(filters=filters) == expected
    assert seller_month_summary(filters=filters, seller_ids=some) == [
        cell for cell in expected if cell.seller_id in some
    ]
    assert month_totals(filters=filters) == [
        MonthTotal(*key, *totals[key]) for key in sorted(totals)
    ]
    assert list(sellers_for_summary(filters=filters)) == [
        seller for seller in varied if any(key[0] == seller.pk for key in cells)
    ]
    one_seller = ReportFilters(seller_id=varied[1].pk, date_from=start, date_to=end, **fields)
    assert seller_month_summary(filters=one_seller) == [
        cell for cell in expected if cell.seller_id == varied[1].pk
    ]


@pytest.mark.django_db
def test_whole_months_come_from_the_rollup_and_part_months_from_the_documents(
    varied: list[Seller],
) -> None:
    year = ReportFilters(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
    part = ReportFilters(date_from=date(2024, 2, 10), date_to=date(2024, 2, 20))
    part_cells = straight_cells(part)
    SellerMonthRollup.objects.all().delete()

    assert seller_month_summary(filters=year) == []
    assert seller_month_summary(filters=part) == [
        SellerMonth(*key, *part_cells[key]) for key in sorted(part_cells)
    ]
    assert len(part_cells) == 1

    assert rollup_rebuild() == 16
    summary = seller_month_summary(filters=year)
    assert len(summary) == 13
    assert sum(cell.documents for cell in summary) == 34
    assert summary == [
        SellerMonth(*key, *cell) for key, cell in sorted(straight_cells(year).items())
    ]


# Issued through invoicing: the one call in its `_mirror`.


def test_issuing_an_order_rolls_up_its_invoice_once(
    db: None, sandbox: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seller = seller_entity_create(
        seller_id=SellerFactory(status=SellerStatus.PENDING, entity_id=None).pk
    )
    product = ProductFactory(seller=seller, unit_price=D("12.99"))
    checkout = orders.checkout_create(
        buyer=UserFactory(),
        lines=[orders.CartLine(product_id=product.pk, quantity=2)],
        billing=orders.BillingDetails(
            name="Ana Novak",
            email="ana@example.com",
            address="Prešernova 5",
            post_code="2000",
            city="Maribor",
            country="SI",
        ),
    )
    order = checkout.orders.get()
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order, kind=DocumentKind.INVOICE)
    assert invoice.state == DocumentState.ISSUED

    invoicing.document_issue(invoice_id=invoice.pk)  # delivered again: counted once

    month = timezone.localdate().replace(day=1)
    assert rollup_rows() == [
        (seller.pk, month, "EUR", 1, D("25.98"), D("5.72"), D("31.70"), 0, ZERO, ZERO, ZERO)
    ]


# Concurrency: real transactions in threads, each on its own connection.


def wait_for_lock_waiter() -> None:
    """Until another session of this database waits on a lock (at most 10 s)."""
    with connection.cursor() as cursor:
        for _ in range(200):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
            waiting = cursor.fetchone()
            if waiting is not None and waiting[0] > 0:
                return
            time.sleep(0.05)
    raise AssertionError("no session waited on a lock")


def issue_and_hold(
    document: Document, written: threading.Event, release: threading.Event
) -> Callable[[], None]:
    """A worker that issues `document` and keeps its transaction open until `release`."""

    def work() -> None:
        with transaction.atomic():
            issue(document)
            written.set()
            assert release.wait(10)

    return work


def release_once_blocked(release: threading.Event, threads: list[threading.Thread]) -> None:
    """Once another session waits on the held transaction's lock, let it commit; join all."""
    wait_for_lock_waiter()
    release.set()
    for thread in threads:
        thread.join(10)


def issue(document: Document) -> None:
    """What invoicing's `_mirror` does in its transaction: mark issued, then roll up."""
    Document.objects.filter(pk=document.pk).update(
        state=DocumentState.ISSUED, remote_id=f"inv_{document.pk}", number=f"C-{document.pk}"
    )
    rollup_document_issued(document=document)


@pytest.fixture
def two_pending(
    make_seller: Callable[..., Seller],
    make_order: Callable[..., Order],
    make_invoice: Callable[..., Document],
) -> list[Document]:
    """Two pending invoices of one seller, dated in the same month, not yet rolled up."""
    seller = make_seller("Acme", "ent_acme")
    documents = [
        make_invoice(
            make_order(seller), number="", on=date(2024, 5, 2), state=DocumentState.PENDING
        )
        for _ in range(2)
    ]
    Document.objects.filter(pk__in=[d.pk for d in documents]).update(
        date=date(2024, 5, 2), total_net=D("1"), total_tax=D("0.22"), total_gross=D("1.22")
    )
    return documents


@pytest.mark.django_db(transaction=True)
def test_two_workers_issuing_in_the_same_seller_month_both_count(
    two_pending: list[Document],
) -> None:
    first, second = two_pending
    first_written, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def second_worker() -> None:
        assert first_written.wait(10)
        with transaction.atomic():
            issue(second)  # the same row: waits for the first, then adds to it

    # The first inserts the seller-month row and holds it uncommitted.
    first_worker = issue_and_hold(first, first_written, release)
    threads = [in_thread(first_worker, errors), in_thread(second_worker, errors)]
    first_written.wait(10)
    release_once_blocked(release, threads)

    assert errors == []
    assert rollup_rows() == [
        (first.seller_id, date(2024, 5, 1), "EUR", 2, D("2.00"), D("0.44"), D("2.44"), 0, ZERO,
         ZERO, ZERO),
    ]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_during_an_issue_counts_the_document_once(two_pending: list[Document]) -> None:
    """The issue adds a seller-month row the rebuild cannot see yet: the rebuild waits for it
    (without its table lock it would insert the same row and fail on the unique key)."""
    document = two_pending[0]
    written, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    threads = [in_thread(issue_and_hold(document, written, release), errors)]
    assert written.wait(10)
    threads.append(in_thread(rollup_rebuild, errors))
    release_once_blocked(release, threads)

    assert errors == []
    assert rollup_rows() == [
        (document.seller_id, date(2024, 5, 1), "EUR", 1, D("1.00"), D("0.22"), D("1.22"), 0, ZERO,
         ZERO, ZERO),
    ]  # fmt: skip


@pytest.mark.django_db
def test_the_issue_time_upsert_is_compiled_once_and_run_with_each_documents_id(
    ledger: dict[str, Any],
) -> None:
    kept_at_issue = rollup_rows()
    SellerMonthRollup.objects.all().delete()
    reporting_services._rollup_upsert.cache_clear()
    issued = list(Document.objects.filter(state=DocumentState.ISSUED).order_by("pk"))

    for document in issued:
        rollup_document_issued(document=document)

    assert len(issued) == 5
    assert rollup_rows() == kept_at_issue
    assert reporting_services._rollup_upsert.cache_info().misses == 1
    assert reporting_services._rollup_upsert.cache_info().hits == 4
