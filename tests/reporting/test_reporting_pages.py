"""Report pages in admin: exact figures, charts, bad input, and totals equal to the exports'."""

import csv
import io
from collections.abc import Callable
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.http import StreamingHttpResponse
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

YEAR = {"date_from": "2024-01-01", "date_to": "2024-12-31"}


@pytest.fixture
def operator_client(client: Client, make_user: Callable[..., User]) -> Client:
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.DictReader(io.StringIO(response.getvalue().decode("utf-8"), newline="")))


def test_summary_page_totals_equal_the_documents_export(
    operator_client: Client, ledger: dict[str, Any]
) -> None:
    page = operator_client.get("/admin/reports/summary/", YEAR)
    export = operator_client.get("/admin/reports/documents.csv", YEAR)

    assert page.status_code == 200
    page_gross: dict[str, D] = {}
    for cells in page.context["totals"].values():
        for total in cells:
            page_gross[total.currency] = page_gross.get(total.currency, D(0)) + total.gross
    export_gross: dict[str, D] = {}
    for row in csv_rows(export):
        export_gross[row["currency"]] = export_gross.get(row["currency"], D(0)) + D(
            row["total_gross"]
        )
    assert page_gross == export_gross == {"EUR": D("1481.50"), "USD": D("6.10")}
    assert page.context["months"] == [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
    assert [seller.business_name for seller, _ in page.context["rows"]] == [
        "Acme, d.o.o.",
        "Bolt GmbH",
    ]
    assert page.content.count(b'role="img"') == 2  # one chart per currency
    assert [
        (chart.key, chart.categories, chart.series[0].values) for chart in page.context["charts"]
    ] == [
        ("gross-eur", ("2024-01", "2024-02"), (D("1493.60"), D("-12.10"))),
        ("gross-usd", ("2024-03",), (D("6.10"),)),
    ]
    assert page.content.count(b'<th scope="row">2024-02</th>') == 1


def test_statement_page_totals_equal_the_statement_export(
    operator_client: Client, ledger: dict[str, Any]
) -> None:
    params = {**YEAR, "seller": ledger["acme"].pk}
    page = operator_client.get("/admin/reports/statement/", params)
    export = csv_rows(operator_client.get("/admin/reports/statement.csv", params))

    assert page.status_code == 200
    assert [(line.currency, line.net, line.tax, line.gross) for line in page.context["lines"]] == [
        (row["currency"], D(row["net"]), D(row["tax"]), D(row["gross"])) for row in export
    ]
    assert [(r["currency"], r["gross"]) for r in export] == [("EUR", "0.10"), ("USD", "6.10")]
    assert page.context["document_count"] == 4


def test_vat_page_totals_equal_the_vat_export(
    operator_client: Client, ledger: dict[str, Any]
) -> None:
    page = operator_client.get("/admin/reports/vat/", YEAR)
    export = csv_rows(operator_client.get("/admin/reports/vat.csv", YEAR))

    assert [(r.buyer_country, r.tax) for r in page.context["rows"]] == [
        (row["buyer_country"], D(row["tax_amount"])) for row in export
    ]
    assert page.content.count(b'role="img" aria-labelledby="vat-eur-title vat-eur-desc"') == 1
    assert page.content.count(b'role="img" aria-labelledby="vat-usd-title vat-usd-desc"') == 1


def test_vat_chart_names_each_row_once_when_two_routes_share_a_buyer_country_and_rate(
    operator_client: Client,
    ledger: dict[str, Any],
    make_order: Callable[..., Any],
    make_invoice: Callable[..., Any],
) -> None:
    # Bolt (AT) sells to Slovenia at 22 % as Acme (SI) does: "SI 22.00% EUR" twice before.
    order = make_order(ledger["bolt"], country="SI", net="50.00", tax="11.00")
    make_invoice(order, number="B-8", on=date(2024, 3, 5))

    page = operator_client.get("/admin/reports/vat/", YEAR)

    eur, usd = page.context["charts"]
    assert eur.categories == (
        "AT→AT 22% domestic",
        "AT→SI 22% intra_eu_b2c",
        "SI→DE 0% intra_eu_b2c",
        "SI→SI 22% domestic",
    )
    assert [(s.name, s.values) for s in eur.series] == [
        ("Taxable base", (D("1234.50"), D("50.00"), D("0.10"), D("0.00"))),
        ("Tax", (D("246.90"), D("11.00"), D("0.00"), D("0.00"))),
    ]
    assert (usd.categories, [s.values for s in usd.series]) == (
        ("SI→FR 22% intra_eu_b2c",),
        [(D("5.00"),), (D("1.10"),)],
    )
    for label in eur.categories:
        # Once as the x label, once as the table's row heading.
        assert page.content.decode().count(f">{label}<") == 2


def test_health_page_lists_worst_sellers_first(
    operator_client: Client, ledger: dict[str, Any]
) -> None:
    page = operator_client.get("/admin/reports/health/")

    assert page.status_code == 200
    assert [(r.seller_name, r.pending, r.failed) for r in page.context["rows"]] == [
        ("Bolt GmbH", 0, 1),
        ("Acme, d.o.o.", 1, 0),
    ]
    chart = page.context["chart"]
    assert chart.categories == (
        f"#{ledger['bolt'].pk} Bolt GmbH",
        f"#{ledger['acme'].pk} Acme, d.o.o.",
    )
    assert [(s.name, s.values) for s in chart.series] == [
        ("Pending", (0, 1)),
        ("Failed", (1, 0)),
    ]


@pytest.mark.parametrize(
    ("url", "params", "error"),
    [
        ("summary", {"date_from": "2024-05-01", "date_to": "2024-04-01"},
         "date_from: date_from must not be after date_to."),
        ("vat", {"date_from": "2024-01-01"},
         "date_to: date_to is required: a report covers a bounded period."),
        ("statement", {**YEAR, "seller": "88888"}, "seller: There is no seller 88888."),
        ("health", {**YEAR, "seller": "77777"}, "seller: There is no seller 77777."),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_page_naming_the_parameter(
    operator_client: Client, url: str, params: dict[str, str], error: str
) -> None:
    response = operator_client.get(f"/admin/reports/{url}/", params)

    assert response.status_code == 400
    assert response.context["error"] == error
    assert error.encode() in response.content


@pytest.mark.parametrize(
    ("name", "params", "error"),
    [
        ("documents", {"date_from": "2024-01-01"},
         "documents export: date_to: date_to is required: a report covers a bounded period.\n"),
        ("statement", YEAR,
         "statement export: seller: seller is required for the statement export.\n"),
    ],
)  # fmt: skip
def test_admin_export_with_bad_input_is_a_400_in_plain_text_naming_the_field(
    operator_client: Client, name: str, params: dict[str, str], error: str
) -> None:
    response = operator_client.get(f"/admin/reports/{name}.csv", params)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == error
    assert list(get_messages(response.wsgi_request)) == []


def test_admin_export_of_an_unknown_report_is_a_404(operator_client: Client) -> None:
    assert operator_client.get("/admin/reports/passwords.csv").status_code == 404


def test_index_defaults_to_this_year(operator_client: Client) -> None:
    response = operator_client.get("/admin/reports/")

    year = timezone.localdate().year
    assert response.status_code == 200
    assert response.context["params"] == {
        "date_from": f"{year}-01-01",
        "date_to": f"{year}-12-31",
    }
