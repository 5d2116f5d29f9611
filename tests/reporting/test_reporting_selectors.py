from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from django.test import override_settings

from reporting.selectors import (
    MonthTotal,
    ReportFilters,
    SellerHealth,
    SellerMonth,
    StatementLine,
    Totals,
    VatRow,
    issuance_health,
    month_totals,
    seller_month_summary,
    seller_statement,
    sellers_for_summary,
    statement_documents,
    vat_summary,
)

YEAR = ReportFilters(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
NONE = Totals(0, D("0.00"), D("0.00"), D("0.00"))


@pytest.mark.django_db
def test_statement_by_currency_subtracts_credit_notes(ledger: dict[str, Any]) -> None:
    filters = ReportFilters(seller_id=ledger["acme"].pk, date_from=date(2024, 1, 1))

    assert seller_statement(filters=filters) == [
        StatementLine(
            "EUR",
            invoices=Totals(2, D("10.10"), D("2.20"), D("12.30")),
            credit_notes=Totals(1, D("10.00"), D("2.20"), D("12.20")),
            net=D("0.10"),
            tax=D("0.00"),
            gross=D("0.10"),
        ),
        StatementLine(
            "USD",
            invoices=Totals(1, D("5.00"), D("1.10"), D("6.10")),
            credit_notes=NONE,
            net=D("5.00"),
            tax=D("1.10"),
            gross=D("6.10"),
        ),
    ]


@pytest.mark.django_db
def test_statement_of_a_period_without_documents_is_empty(ledger: dict[str, Any]) -> None:
    filters = ReportFilters(
        seller_id=ledger["bolt"].pk, date_from=date(2024, 2, 1), date_to=date(2024, 12, 31)
    )

    assert seller_statement(filters=filters) == []
    assert list(statement_documents(filters=filters)) == []


@pytest.mark.django_db
def test_statement_documents_carry_signed_amounts(ledger: dict[str, Any]) -> None:
    filters = ReportFilters(seller_id=ledger["acme"].pk, currency="EUR")

    assert [
        (d.number, d.signed_net, d.signed_tax, d.signed_gross)
        for d in statement_documents(filters=filters)
    ] == [
        ("2024-00001", D("10.00"), D("2.20"), D("12.20")),
        ("2024-00002", D("0.10"), D("0.00"), D("0.10")),
        ("CN-1", D("-10.00"), D("-2.20"), D("-12.20")),
    ]


@pytest.mark.django_db
def test_summary_is_sellers_by_months_by_currency(ledger: dict[str, Any]) -> None:
    acme, bolt = ledger["acme"].pk, ledger["bolt"].pk

    assert seller_month_summary(filters=YEAR) == [
        SellerMonth(acme, date(2024, 1, 1), "EUR", 1, D("10.00"), D("2.20"), D("12.20")),
        SellerMonth(acme, date(2024, 2, 1), "EUR", 2, D("-9.90"), D("-2.20"), D("-12.10")),
        SellerMonth(acme, date(2024, 3, 1), "USD", 1, D("5.00"), D("1.10"), D("6.10")),
        SellerMonth(bolt, date(2024, 1, 1), "EUR", 1, D("1234.50"), D("246.90"), D("1481.40")),
    ]
    assert seller_month_summary(filters=YEAR, seller_ids=[bolt]) == [
        SellerMonth(bolt, date(2024, 1, 1), "EUR", 1, D("1234.50"), D("246.90"), D("1481.40")),
    ]


@pytest.mark.django_db
def test_month_totals_add_up_all_sellers(ledger: dict[str, Any]) -> None:
    assert month_totals(filters=YEAR) == [
        MonthTotal(date(2024, 1, 1), "EUR", 2, D("1244.50"), D("249.10"), D("1493.60")),
        MonthTotal(date(2024, 2, 1), "EUR", 2, D("-9.90"), D("-2.20"), D("-12.10")),
        MonthTotal(date(2024, 3, 1), "USD", 1, D("5.00"), D("1.10"), D("6.10")),
    ]


@pytest.mark.django_db
def test_summary_sellers_are_those_with_documents(ledger: dict[str, Any], make_seller: Any) -> None:
    make_seller("Idle", "ent_idle")

    assert list(sellers_for_summary(filters=YEAR)) == [ledger["acme"], ledger["bolt"]]
    march = ReportFilters(date_from=date(2024, 3, 1), date_to=date(2024, 3, 31))
    assert list(sellers_for_summary(filters=march)) == [ledger["acme"]]


@pytest.mark.django_db
def test_vat_summary_filters_by_seller_and_buyer_country(ledger: dict[str, Any]) -> None:
    filters = ReportFilters(seller_country="SI", buyer_country="SI")

    assert vat_summary(filters=filters) == [
        VatRow("SI", "SI", "domestic", D("22.00"), "EUR", 2, D("0.00"), D("0.00")),
    ]


@pytest.mark.django_db
@override_settings(INVOICE_TRIGGER="paid")
def test_health_counts_states_and_times_from_invoice_point(ledger: dict[str, Any]) -> None:
    acme, bolt = ledger["acme"], ledger["bolt"]
    pending = acme.documents.get(state="pending")

    rows = issuance_health(filters=ReportFilters())

    assert rows == [
        SellerHealth(
            bolt.pk, "Bolt GmbH", 1, 0, 1, None, timedelta(minutes=5), timedelta(minutes=5)
        ),
        SellerHealth(
            acme.pk,
            "Acme, d.o.o.",
            4,
            1,
            0,
            pending.created_at,
            timedelta(minutes=2),
            timedelta(minutes=3),
        ),
    ]


@pytest.mark.django_db
@override_settings(INVOICE_TRIGGER="fulfilled")
def test_health_uses_the_sellers_own_trigger_first(ledger: dict[str, Any]) -> None:
    bolt = ledger["bolt"]
    bolt.invoice_trigger = "paid"
    bolt.save(update_fields=["invoice_trigger"])

    rows = {row.seller_id: row for row in issuance_health(filters=ReportFilters())}

    # Acme follows the marketplace's `fulfilled`: none of its orders has been fulfilled.
    assert rows[ledger["acme"].pk].average_to_issue is None
    assert rows[bolt.pk].average_to_issue == timedelta(minutes=5)


@pytest.mark.django_db
def test_health_period_is_on_the_creation_date(ledger: dict[str, Any]) -> None:
    before = ReportFilters(date_from=date(2020, 1, 1), date_to=date(2020, 12, 31))

    assert issuance_health(filters=before) == []
