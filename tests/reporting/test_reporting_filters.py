from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from core.errors import ApplicationError
from reporting.exports import DOCUMENTS, INVOICES, STATEMENT
from reporting.filters import (
    export_parameters_parse,
    filters_from_json,
    filters_to_json,
    report_filters_parse,
)
from reporting.selectors import ReportFilters
from sellers.models import Seller


@pytest.mark.django_db
def test_parses_all_filters(make_seller: Callable[..., Seller]) -> None:
    seller = make_seller("Acme", "ent_acme")

    filters = export_parameters_parse(
        {"seller": f" {seller.pk} ", "date_from": "2024-01-01", "date_to": "2024-01-01"}, INVOICES
    ).filters

    assert filters == ReportFilters(
        seller_id=seller.pk, date_from=date(2024, 1, 1), date_to=date(2024, 1, 1)
    )


def test_missing_or_blank_values_mean_no_filter() -> None:
    assert export_parameters_parse({}, INVOICES).filters == ReportFilters(None, None, None)
    blank = {"seller": "", "date_from": " ", "date_to": ""}
    assert export_parameters_parse(blank, INVOICES).filters == ReportFilters(None, None, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"seller": "abc"}, "seller", "Enter a seller id (a positive integer), not 'abc'."),
        ({"seller": "-1"}, "seller", "Enter a seller id (a positive integer), not '-1'."),
        ({"seller": "0"}, "seller", "Enter a seller id (a positive integer), not '0'."),
        ({"seller": "1.5"}, "seller", "Enter a seller id (a positive integer), not '1.5'."),
        ({"seller": "\u0661"}, "seller", "Enter a seller id (a positive integer), not '\u0661'."),
        (
            {"seller": "9" * 19},
            "seller",
            f"Enter a seller id (a positive integer), not '{'9' * 19}'.",
        ),
        ({"seller": "999999"}, "seller", "There is no seller 999999."),
        (
            {"date_from": "2024-13-01"},
            "date_from",
            "Enter a valid date as YYYY-MM-DD, not '2024-13-01'.",
        ),
        (
            {"date_from": "20240101"},
            "date_from",
            "Enter a valid date as YYYY-MM-DD, not '20240101'.",
        ),
        (
            {"date_to": "2024-02-30"},
            "date_to",
            "Enter a valid date as YYYY-MM-DD, not '2024-02-30'.",
        ),
        ({"date_to": "yesterday"}, "date_to", "Enter a valid date as YYYY-MM-DD, not 'yesterday'."),
        (
            {"date_from": "2024-02-02", "date_to": "2024-02-01"},
            "date_from",
            "date_from must not be after date_to.",
        ),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(ApplicationError) as caught:
        export_parameters_parse(kwargs, INVOICES)

    assert (caught.value.field, caught.value.message) == (field, message)


PERIOD = {"date_from": "2024-01-01", "date_to": "2024-12-31"}


@pytest.mark.django_db
def test_report_filters_parse_every_filter(make_seller: Callable[..., Seller]) -> None:
    seller = make_seller("Acme", "ent_acme")
    params = {
        **PERIOD,
        "seller": str(seller.pk),
        "seller_country": "si",
        "buyer_country": " DE ",
        "currency": "eur",
        "kind": "credit_note",
    }

    assert report_filters_parse(params) == ReportFilters(
        seller_id=seller.pk,
        date_from=date(2024, 1, 1),
        date_to=date(2024, 12, 31),
        seller_country="SI",
        buyer_country="DE",
        currency="EUR",
        kind="credit_note",
    )


def test_a_leap_year_is_the_longest_period() -> None:
    filters = report_filters_parse({"date_from": "2024-01-01", "date_to": "2024-12-31"})

    assert (filters.date_from, filters.date_to) == (date(2024, 1, 1), date(2024, 12, 31))


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"date_to": "2024-12-31"},
            "date_from",
            "date_from is required: a report covers a bounded period.",
        ),
        (
            {"date_from": "2024-01-01"},
            "date_to",
            "date_to is required: a report covers a bounded period.",
        ),
        ({}, "date_from", "date_from is required: a report covers a bounded period."),
        (
            {"date_from": "2024-01-01", "date_to": "2025-01-01"},
            "date_to",
            "The period may span at most 366 days.",
        ),
        (
            {"date_from": "0001-01-01", "date_to": "9999-12-31"},
            "date_to",
            "The period may span at most 366 days.",
        ),
        (
            {"date_from": "2024-03-01", "date_to": "2024-02-01"},
            "date_from",
            "date_from must not be after date_to.",
        ),
        (
            {**PERIOD, "seller_country": "XX"},
            "seller_country",
            "Enter an ISO 3166-1 alpha-2 country code such as SI, not 'XX'.",
        ),
        (
            {**PERIOD, "buyer_country": "DEU"},
            "buyer_country",
            "Enter an ISO 3166-1 alpha-2 country code such as SI, not 'DEU'.",
        ),
        (
            {**PERIOD, "currency": "EURO"},
            "currency",
            "Enter an ISO 4217 currency code such as EUR, not 'EURO'.",
        ),
        (
            {**PERIOD, "kind": "receipt"},
            "kind",
            "Enter one of invoice, credit_note, not 'receipt'.",
        ),
        (
            {**PERIOD, "sellr": "1"},
            "sellr",
            "Unknown parameter 'sellr'; use seller, date_from, date_to, seller_country, "
            "buyer_country, currency, kind.",
        ),
        ({**PERIOD, "currency": ["EUR"]}, "currency", "currency must be text."),
    ],
)
def test_report_filters_bad_input_names_the_parameter(
    params: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ApplicationError) as caught:
        report_filters_parse(params)

    assert (caught.value.field, caught.value.message) == (field, message)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"seller": "abc", "kind": "receipt"},
            "date_from",
            "date_from is required: a report covers a bounded period.",
        ),
        (
            {"date_to": "31.12.2024", "currency": "EURO"},
            "date_to",
            "Enter a valid date as YYYY-MM-DD, not '31.12.2024'.",
        ),
        (
            {"date_from": "2024-03-01", "date_to": "2024-02-01", "seller": "abc"},
            "date_from",
            "date_from must not be after date_to.",
        ),
        (
            {"date_from": "2024-01-01", "date_to": "2025-06-30", "buyer_country": "XX"},
            "date_to",
            "The period may span at most 366 days.",
        ),
        (
            {**PERIOD, "currency": "EURO", "seller": "abc"},
            "seller",
            "Enter a seller id (a positive integer), not 'abc'.",
        ),
        (
            {**PERIOD, "kind": "receipt", "sellr": "1"},
            "sellr",
            "Unknown parameter 'sellr'; use seller, date_from, date_to, seller_country, "
            "buyer_country, currency, kind.",
        ),
    ],
)
def test_of_several_problems_the_period_is_named_first(
    params: dict[str, Any], field: str, message: str
) -> None:
    """Names and types, then the period (its dates, their order, both given, its span), then
    the other filters in turn."""
    with pytest.raises(ApplicationError) as caught:
        report_filters_parse(params)

    assert (caught.value.field, caught.value.message) == (field, message)


@pytest.mark.django_db
def test_a_seller_scoped_export_refuses_the_seller_parameter_and_fixes_its_own(
    make_seller: Callable[..., Seller],
) -> None:
    own, other = make_seller("Own", "ent_own"), make_seller("Other", "ent_other")

    with pytest.raises(ApplicationError) as caught:
        export_parameters_parse({**PERIOD, "seller": str(other.pk)}, DOCUMENTS, seller_id=own.pk)
    assert caught.value.field == "seller"

    filters = export_parameters_parse(PERIOD, DOCUMENTS, seller_id=own.pk).filters
    assert filters.seller_id == own.pk


def test_the_statement_needs_a_seller() -> None:
    with pytest.raises(ApplicationError) as caught:
        export_parameters_parse(PERIOD, STATEMENT)

    assert (caught.value.field, caught.value.code, caught.value.message) == (
        "seller",
        "required",
        "seller is required for the statement export.",
    )


@pytest.mark.django_db
def test_filters_round_trip_through_json(make_seller: Callable[..., Seller]) -> None:
    seller = make_seller("Acme", "ent_acme")
    filters = ReportFilters(
        seller_id=seller.pk, date_from=date(2024, 1, 1), date_to=date(2024, 1, 31), currency="EUR"
    )

    stored = filters_to_json(filters)

    assert stored == {
        "seller": seller.pk,
        "date_from": "2024-01-01",
        "date_to": "2024-01-31",
        "currency": "EUR",
    }
    assert filters_from_json(stored) == filters
