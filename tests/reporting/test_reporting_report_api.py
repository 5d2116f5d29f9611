"""The report exports over the API: operators across sellers, bad input as a 400."""

from typing import Any

import pytest
from django.http import StreamingHttpResponse
from django.test import Client

from tests.factories import operator_user

pytestmark = pytest.mark.django_db

YEAR = {"date_from": "2024-01-01", "date_to": "2024-12-31"}


@pytest.fixture
def operator_client(client: Client) -> Client:
    client.force_login(operator_user("reporting.export_reports", username="operator"))
    return client


def body(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return response.getvalue().decode("utf-8")


def test_documents_export_over_the_api(operator_client: Client, ledger: dict[str, Any]) -> None:
    response = operator_client.get(
        "/api/reports/documents.csv", {**YEAR, "kind": "credit_note"}, HTTP_ACCEPT="text/csv"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="documents-2024-01-01-2024-12-31.csv"'
    )
    assert response["X-Export-Version"] == "3"
    lines = body(response).splitlines()
    assert len(lines) == 2
    assert lines[1].split(",")[1:4] == ["credit_note", "CN-1", "2024-02-01"]


@pytest.mark.parametrize(
    ("url", "rows"),
    [
        ("/api/reports/documents.csv", 6),
        ("/api/reports/lines.csv", 6),
        ("/api/reports/vat.csv", 5),
    ],
)
def test_each_export_answers_header_and_rows(
    operator_client: Client, ledger: dict[str, Any], url: str, rows: int
) -> None:
    response = operator_client.get(url, YEAR)

    assert response.status_code == 200
    assert len(body(response).splitlines()) == rows


def test_statement_export_for_a_seller(operator_client: Client, ledger: dict[str, Any]) -> None:
    response = operator_client.get(
        "/api/reports/statement.csv", {**YEAR, "seller": ledger["bolt"].pk}
    )

    assert body(response).splitlines()[1] == (
        f"{ledger['bolt'].pk},Bolt GmbH,ent_bolt,2024-01-01,2024-12-31,EUR,1,1234.50,246.90,"
        "1481.40,0,0.00,0.00,0.00,1234.50,246.90,1481.40"
    )


@pytest.mark.parametrize(
    ("url", "params", "field", "code", "detail"),
    [
        ("documents", {"date_to": "2024-12-31"}, "date_from", "required",
         "date_from is required: a report covers a bounded period."),
        ("documents", {"date_from": "2024-01-01"}, "date_to", "required",
         "date_to is required: a report covers a bounded period."),
        ("lines", {"date_from": "2024-03-01", "date_to": "2024-02-01"}, "date_from", "invalid",
         "date_from must not be after date_to."),
        ("vat", {"date_from": "2000-01-01", "date_to": "2024-12-31"}, "date_to", "invalid",
         "The period may span at most 366 days."),
        ("documents", {**YEAR, "seller": "424242"}, "seller", "not_found",
         "There is no seller 424242."),
        ("documents", {**YEAR, "seller": "x1"}, "seller", "invalid",
         "Enter a seller id (a positive integer), not 'x1'."),
        ("documents", {**YEAR, "buyer_country": "Germany"}, "buyer_country", "invalid",
         "Enter an ISO 3166-1 alpha-2 country code such as SI, not 'Germany'."),
        ("documents", {**YEAR, "currency": "€"}, "currency", "invalid",
         "Enter an ISO 4217 currency code such as EUR, not '€'."),
        ("documents", {**YEAR, "kind": "invoices"}, "kind", "invalid",
         "Enter one of invoice, credit_note, not 'invoices'."),
        ("documents", {**YEAR, "from": "2024-01-01"}, "from", "invalid",
         "Unknown parameter 'from'; use seller, date_from, date_to, seller_country, "
         "buyer_country, currency, kind, format, delimiter."),
        ("statement", YEAR, "seller", "required", "seller is required for the statement export."),
    ],
)  # fmt: skip
def test_bad_input_is_a_400_naming_the_parameter(
    operator_client: Client, url: str, params: dict[str, str], field: str, code: str, detail: str
) -> None:
    response = operator_client.get(f"/api/reports/{url}.csv", params, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response.json() == {"detail": detail, "field": field, "code": code}


def test_a_repeated_parameter_is_a_400(operator_client: Client) -> None:
    response = operator_client.get(
        "/api/reports/documents.csv?seller=1&seller=2&date_from=2024-01-01&date_to=2024-01-31"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "Give seller once.", "field": "seller", "code": "invalid"}
