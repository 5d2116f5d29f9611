"""Figures as finance reads them: amounts at their currency's minor unit, in the reader's locale;
human durations; the seller picker and its search; the statement's form."""

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal as D
from html.parser import HTMLParser
from typing import Any

import pytest
from babel import Locale
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone

from invoicing.models import Document
from marketplace.models import Order
from reporting.formatting import format_amount, format_duration, request_locale
from reporting.selectors import (
    ReportFilters,
    month_totals,
    seller_month_summary,
    seller_statement,
    statement_documents,
    vat_summary,
)
from sellers.models import Seller

pytestmark = pytest.mark.django_db

YEAR = {"date_from": "2024-01-01", "date_to": "2024-12-31"}
EN = Locale.parse("en_US")
DE = Locale.parse("de_DE")


class _Tables(HTMLParser):
    """The text of each cell of each row of the table with the given id."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.inside, self.rows = table_id, False, []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", self.table_id) in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table(response: Any, table_id: str) -> list[list[str]]:
    parser = _Tables(table_id)
    parser.feed(response.content.decode())
    return [row for row in parser.rows if row]


@pytest.fixture
def operator_client(client: Client, make_user: Callable[..., User]) -> Client:
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def yen(
    make_seller: Callable[..., Seller],
    make_order: Callable[..., Order],
    make_invoice: Callable[..., Document],
) -> Seller:
    """A seller invoicing in yen (no minor unit): 1500 + 150 tax, and 700 + 70 tax credited."""
    seller = make_seller("Kyoto KK", "ent_kyoto", country="SI")
    make_invoice(
        make_order(seller, currency="JPY", net="1500", tax="150", rate="10.00"),
        number="J-1",
        on=date(2024, 3, 5),
    )
    second = make_order(seller, currency="JPY", net="700", tax="70", rate="10.00")
    invoice = make_invoice(second, number="J-2", on=date(2024, 3, 6))
    make_invoice(second, number="J-CN-1", on=date(2024, 3, 7), credits=invoice)
    return seller


def test_yen_amounts_leave_the_selectors_without_a_minor_unit(yen: Seller) -> None:
    filters = ReportFilters(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
    one = ReportFilters(seller_id=yen.pk)

    [line] = seller_statement(filters=one)
    assert [str(v) for v in (*line.invoices[1:], *line.credit_notes[1:])] == [
        "2200", "220", "2420", "700", "70", "770",
    ]  # fmt: skip
    assert [str(v) for v in (line.net, line.tax, line.gross)] == ["1500", "150", "1650"]
    assert [
        (d.number, d.kind_label, str(d.signed_net), str(d.signed_gross))
        for d in statement_documents(filters=one)
    ] == [
        ("J-1", "Invoice", "1500", "1650"),
        ("J-2", "Invoice", "700", "770"),
        ("J-CN-1", "Credit note", "-700", "-770"),
    ]
    assert [
        (str(c.net), str(c.tax), str(c.gross)) for c in seller_month_summary(filters=filters)
    ] == [("1500", "150", "1650")]
    assert [(str(t.net), str(t.gross)) for t in month_totals(filters=filters)] == [("1500", "1650")]
    assert [(str(r.rate), str(r.base), str(r.tax)) for r in vat_summary(filters=filters)] == [
        ("10.00", "1500", "150")
    ]


def test_statement_documents_are_limited_and_quantised(ledger: dict[str, Any]) -> None:
    filters = ReportFilters(seller_id=ledger["acme"].pk)

    assert [
        (d.number, d.credited_number, d.currency, str(d.signed_net), str(d.signed_tax))
        for d in statement_documents(filters=filters, limit=3)
    ] == [
        ("2024-00001", None, "EUR", "10.00", "2.20"),
        ("2024-00002", None, "EUR", "0.10", "0.00"),
        ("CN-1", "2024-00001", "EUR", "-10.00", "-2.20"),
    ]


def test_statement_page_shows_amounts_for_the_readers_locale(
    operator_client: Client, ledger: dict[str, Any], yen: Seller
) -> None:
    bolt = {**YEAR, "seller": ledger["bolt"].pk}

    english = operator_client.get("/admin/reports/statement/", bolt)
    german = operator_client.get("/admin/reports/statement/", bolt, HTTP_ACCEPT_LANGUAGE="de-DE")
    french = operator_client.get(
        "/admin/reports/statement/", bolt, HTTP_ACCEPT_LANGUAGE="xx, fr-FR;q=0.9, de;q=0.8"
    )
    kyoto = operator_client.get("/admin/reports/statement/", {**YEAR, "seller": yen.pk})

    assert table(english, "statement-lines") == [
        ["EUR", "1", "1,234.50", "246.90", "1,481.40", "0", "0.00", "0.00", "0.00",
         "1,234.50", "246.90", "1,481.40"],
    ]  # fmt: skip
    assert table(german, "statement-lines")[0][2:5] == ["1.234,50", "246,90", "1.481,40"]
    assert table(french, "statement-lines")[0][2:5] == ["1\u202f234,50", "246,90", "1\u202f481,40"]
    assert table(english, "statement-documents") == [
        ["2024-01-31", "Invoice", "B-7", "", str(ledger["orders"][1].pk),
         str(ledger["orders"][1].checkout_id), "EUR", "1,234.50", "246.90", "1,481.40", "inv_B-7"],
    ]  # fmt: skip
    assert [row[6:10] for row in table(kyoto, "statement-documents")] == [
        ["JPY", "1,500", "150", "1,650"],
        ["JPY", "700", "70", "770"],
        ["JPY", "-700", "-70", "-770"],
    ]


def test_summary_and_vat_pages_show_rounded_localised_figures(
    operator_client: Client, ledger: dict[str, Any]
) -> None:
    summary = operator_client.get("/admin/reports/summary/", YEAR).content.decode()
    vat = operator_client.get("/admin/reports/vat/", YEAR, HTTP_ACCEPT_LANGUAGE="de")

    assert "<th>1,493.60 EUR (2)<br></th>" in summary
    assert "<td>1,481.40 EUR (1)<br></td>" in summary
    assert ["AT", "AT", "domestic", "22", "EUR", "1", "1.234,50", "246,90"] in table(
        vat, "vat-rows"
    )


def test_health_page_shows_durations_for_people(
    operator_client: Client, ledger: dict[str, Any], settings: Any
) -> None:
    settings.INVOICE_TRIGGER = "paid"

    response = operator_client.get("/admin/reports/health/")

    assert [row[0:1] + row[5:] for row in table(response, "health-rows")] == [
        [f"Bolt GmbH (#{ledger['bolt'].pk})", "5 min", "5 min"],
        [f"Acme, d.o.o. (#{ledger['acme'].pk})", "2 min", "3 min"],
    ]


@pytest.mark.parametrize(
    ("duration", "locale", "text"),
    [
        (timedelta(seconds=1.140621), EN, "1.1 sec"),
        (timedelta(seconds=1.140621), DE, "1,1 Sek."),
        (timedelta(0), EN, "0 sec"),
        (timedelta(seconds=59.97), EN, "1 min"),
        (timedelta(minutes=2, seconds=30.4), EN, "2 min, 30 sec"),
        (timedelta(hours=1, minutes=5, seconds=3), EN, "1 hr, 5 min"),
        (timedelta(days=2, hours=3, minutes=4), DE, "2 Tg., 3 Std."),
        (timedelta(seconds=-90), EN, "-1 min, 30 sec"),
    ],
)
def test_durations_read_in_their_two_largest_units(
    duration: timedelta, locale: Locale, text: str
) -> None:
    assert format_duration(duration, locale) == text


def test_amounts_take_the_currency_minor_unit_and_the_locale_grouping() -> None:
    assert format_amount(D("-1234567.1"), "EUR", EN) == "-1,234,567.10"
    assert format_amount(D("-1234567.1"), "EUR", DE) == "-1.234.567,10"
    assert format_amount(D("263.100000000000"), "EUR", EN) == "263.10"
    assert format_amount(D("1500"), "JPY", EN) == "1,500"


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("", "en_US"),
        ("de-CH,de;q=0.9", "de_CH"),
        ("en;q=0.5, sl-SI", "sl_SI"),
        ("xx-YY, *, fr;q=0.1", "fr"),
        ("de;q=zero", "en_US"),
    ],
)
def test_the_readers_locale_is_the_first_known_of_accept_language(
    rf: Any, header: str, locale: str
) -> None:
    request = rf.get("/", HTTP_ACCEPT_LANGUAGE=header)

    assert str(request_locale(request)) == locale


def test_statement_without_a_seller_is_a_form_with_the_seller_picker(
    operator_client: Client, ledger: dict[str, Any]
) -> None:
    response = operator_client.get("/admin/reports/statement/")
    html = response.content.decode()

    assert response.status_code == 200
    assert response.context["seller"] is None
    assert "Choose a seller above for its statement." in html
    assert (
        '<select name="seller" style="width:22em" id="id_seller" class="admin-autocomplete"'
        ' data-ajax--cache="true" data-ajax--delay="250" data-ajax--type="GET"'
        ' data-ajax--url="/admin/reports/sellers/"'
    ) in html
    assert 'data-placeholder="Search by name, id or tax number"' in html
    assert '<option value=""></option>\n\n</select>' in html
    assert "admin/js/vendor/select2/select2.full" in html
    # Without a seller, no statement download: every link shown answers a CSV.
    assert response.context["exports"] == ["documents", "lines", "vat", "commission"]
    assert "/admin/reports/statement.csv" not in html


def test_statement_with_a_seller_shows_it_picked_and_its_download(
    operator_client: Client, ledger: dict[str, Any]
) -> None:
    acme = ledger["acme"]

    response = operator_client.get("/admin/reports/statement/", {**YEAR, "seller": acme.pk})
    html = response.content.decode()

    assert f'<option value="{acme.pk}" selected>Acme, d.o.o. (#{acme.pk}, SI)</option>' in html
    assert response.context["exports"] == ["documents", "lines", "vat", "statement", "commission"]
    assert (
        'href="/admin/reports/statement.csv?date_from=2024-01-01&amp;date_to=2024-12-31'
        f'&amp;seller={acme.pk}"'
    ) in html


def test_seller_search_answers_the_pickers_autocomplete(
    operator_client: Client, ledger: dict[str, Any], make_seller: Callable[..., Seller]
) -> None:
    acme, bolt = ledger["acme"], ledger["bolt"]
    for number in range(20):
        make_seller(f"Zeta {number:02}", f"ent_zeta{number}")

    by_name = operator_client.get("/admin/reports/sellers/", {"term": " bol "}).json()
    by_id = operator_client.get("/admin/reports/sellers/", {"term": str(acme.pk)}).json()
    by_entity = operator_client.get("/admin/reports/sellers/", {"term": "ENT_ACME"}).json()
    first = operator_client.get("/admin/reports/sellers/", {"term": "", "page": "1"}).json()
    second = operator_client.get("/admin/reports/sellers/", {"term": "", "page": "2"}).json()

    assert by_name == {
        "results": [{"id": str(bolt.pk), "text": f"Bolt GmbH (#{bolt.pk}, AT)"}],
        "pagination": {"more": False},
    }
    assert by_id["results"][0] == {"id": str(acme.pk), "text": f"Acme, d.o.o. (#{acme.pk}, SI)"}
    assert [r["id"] for r in by_entity["results"]] == [str(acme.pk)]
    assert [r["text"][:9] for r in first["results"]][:3] == ["Acme, d.o", "Bolt GmbH", "Zeta 00 ("]
    assert (len(first["results"]), first["pagination"]) == (20, {"more": True})
    assert [r["text"][:7] for r in second["results"]] == ["Zeta 18", "Zeta 19"]
    assert second["pagination"] == {"more": False}


def test_seller_search_is_for_report_viewers_only(
    client: Client, make_user: Callable[..., User]
) -> None:
    client.force_login(make_user("clerk", is_staff=True))

    assert client.get("/admin/reports/sellers/", {"term": "a"}).status_code == 403


def test_a_report_without_dates_covers_this_year_whatever_else_is_given(
    operator_client: Client, ledger: dict[str, Any]
) -> None:
    year = timezone.localdate().year

    response = operator_client.get("/admin/reports/statement/", {"seller": ledger["acme"].pk})

    assert response.status_code == 200
    assert response.context["params"] == {
        "seller": str(ledger["acme"].pk),
        "date_from": f"{year}-01-01",
        "date_to": f"{year}-12-31",
    }


def test_summary_links_each_seller_to_its_statement_of_the_same_period(
    operator_client: Client, ledger: dict[str, Any]
) -> None:
    acme = ledger["acme"]

    response = operator_client.get("/admin/reports/summary/", {**YEAR, "currency": "EUR"})

    assert (
        f'href="/admin/reports/statement/?seller={acme.pk}&amp;date_from=2024-01-01'
        '&amp;date_to=2024-12-31&amp;currency=EUR">Acme, d.o.o.</a>'
    ) in response.content.decode()
    assert response.context["page_query"] == (
        "date_from=2024-01-01&date_to=2024-12-31&currency=EUR"
    )


def test_summary_of_part_months_runs_where_a_union_may_not_be_ordered(
    ledger: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite (the embedded default) refuses ORDER BY inside a UNION; PostgreSQL told the same.
    monkeypatch.setattr(connection.features, "supports_slicing_ordering_in_compound", False)
    january_and_a_day = ReportFilters(date_from=date(2024, 1, 1), date_to=date(2024, 2, 1))

    assert [
        (t.month, t.currency, str(t.gross)) for t in month_totals(filters=january_and_a_day)
    ] == [
        (date(2024, 1, 1), "EUR", "1493.60"),
        (date(2024, 2, 1), "EUR", "-12.10"),
    ]
