from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import path, reverse
from drf_spectacular.generators import SchemaGenerator

from reporting.api import OperatorExportApi
from reporting.exports import INVOICES, STATEMENT
from tests.factories import operator_user

URL = "/api/reports/invoices.csv"


@pytest.fixture
def operator_client(client: Client) -> Client:
    client.force_login(operator_user("reporting.export_reports", username="operator"))
    return client


def body(response: Any) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return response.getvalue()


@pytest.mark.django_db
def test_operator_downloads_the_whole_export(
    operator_client: Client, ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    response = operator_client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="invoices-all-all.csv"'
    assert response["X-Export-Version"] == "1"
    assert body(response) == expected_csv([1, 2, 3, 4]).encode("utf-8")


@pytest.mark.django_db
def test_operator_filters_by_seller_and_dates(
    operator_client: Client, ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    response = operator_client.get(
        URL,
        {"seller": ledger["acme"].pk, "date_from": "2024-01-01", "date_to": "2024-02-01"},
        HTTP_ACCEPT="text/csv",
    )

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="invoices-2024-01-01-2024-02-01.csv"'
    )
    assert body(response) == expected_csv([1, 3]).encode("utf-8")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "detail"),
    [
        ({"seller": "abc"}, "seller", "Enter a seller id (a positive integer), not 'abc'."),
        ({"seller": "999999"}, "seller", "There is no seller 999999."),
        (
            {"date_from": "2024-1-5"},
            "date_from",
            "Enter a valid date as YYYY-MM-DD, not '2024-1-5'.",
        ),
        (
            {"date_to": "2024-02-30"},
            "date_to",
            "Enter a valid date as YYYY-MM-DD, not '2024-02-30'.",
        ),
        (
            {"date_from": "2024-03-01", "date_to": "2024-02-01"},
            "date_from",
            "date_from must not be after date_to.",
        ),
    ],
)
def test_bad_filters_are_a_400_naming_the_field(
    operator_client: Client, params: dict[str, str], field: str, detail: str
) -> None:
    response = operator_client.get(URL, params, HTTP_ACCEPT="text/csv")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    code = "not_found" if detail.startswith("There is no") else "invalid"
    assert response.json() == {"detail": detail, "field": field, "code": code}


@pytest.mark.django_db
def test_non_staff_user_is_forbidden(
    client: Client, make_user: Callable[..., User], ledger: dict[str, Any]
) -> None:
    client.force_login(make_user("buyer"))

    response = client.get(URL)

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only operators with the permission reporting.export_reports can do this.",
        "field": None,
        "code": "permission_denied",
    }


@pytest.mark.django_db
def test_anonymous_is_refused(client: Client) -> None:
    response = client.get(URL)

    # 401 when an authenticator with a WWW-Authenticate challenge (Token) is listed first in
    # REST_FRAMEWORK settings, 403 when SessionAuthentication is; either way refused.
    assert response.status_code in {401, 403}
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_schema_documents_params_and_the_csv_response() -> None:
    generator = SchemaGenerator(  # type: ignore[no-untyped-call]
        patterns=[path("api/reports/invoices.csv", OperatorExportApi.as_view(export=INVOICES))]
    )

    schema = generator.get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    operation = schema["paths"]["/api/reports/invoices.csv"]["get"]

    assert [(p["name"], p["schema"]) for p in operation["parameters"]] == [
        ("buyer_country", {"type": "string"}),
        ("currency", {"type": "string"}),
        ("date_from", {"type": "string", "format": "date"}),
        ("date_to", {"type": "string", "format": "date"}),
        ("delimiter", {"type": "string", "enum": [",", ";"], "default": ","}),
        ("format", {"type": "string", "enum": ["csv", "excel"], "default": "csv"}),
        ("kind", {"type": "string", "enum": ["credit_note", "invoice"]}),
        ("seller", {"type": "integer"}),
        ("seller_country", {"type": "string"}),
    ]
    assert operation["responses"]["200"]["content"] == {"text/csv": {"schema": {"type": "string"}}}
    assert list(operation["responses"]["400"]["content"]) == ["application/json"]


@pytest.mark.django_db(transaction=True)
def test_streams_in_autocommit_after_the_view_has_returned(
    operator_client: Client, ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    """As in production (no ATOMIC_REQUESTS): the cursor outlives the view and still reads."""
    response = operator_client.get(URL)

    assert body(response) == expected_csv([1, 2, 3, 4]).encode("utf-8")


EXPORT_ROUTES = {
    "report-invoices-csv": ("/api/reports/invoices.csv", "reports_invoices_csv"),
    "report-documents-csv": ("/api/reports/documents.csv", "reports_documents_csv"),
    "report-lines-csv": ("/api/reports/lines.csv", "reports_lines_csv"),
    "report-vat-csv": ("/api/reports/vat.csv", "reports_vat_csv"),
    "report-statement-csv": ("/api/reports/statement.csv", "reports_statement_csv"),
    "report-seller-documents-csv": (
        "/api/reports/seller/documents.csv",
        "reports_seller_documents_csv",
    ),
    "report-seller-lines-csv": ("/api/reports/seller/lines.csv", "reports_seller_lines_csv"),
    "report-seller-vat-csv": ("/api/reports/seller/vat.csv", "reports_seller_vat_csv"),
    "report-seller-statement-csv": (
        "/api/reports/seller/statement.csv",
        "reports_seller_statement_csv",
    ),
    "report-commission-csv": ("/api/reports/commission.csv", "reports_commission_csv"),
    "report-seller-commission-csv": (
        "/api/reports/seller/commission.csv",
        "reports_seller_commission_csv",
    ),
}


def test_every_export_route_keeps_its_name_path_and_operation() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    exports = {url for url in schema["paths"] if url.endswith(".csv")}

    assert exports == {url for url, _ in EXPORT_ROUTES.values()}
    for name, (url, operation_id) in EXPORT_ROUTES.items():
        assert reverse(name) == url
        operation = schema["paths"][url]["get"]
        assert operation["operationId"] == operation_id
        params = [p["name"] for p in operation["parameters"]]
        scoped = "/seller/" in url
        assert params == [
            "buyer_country", "currency", "date_from", "date_to", "delimiter", "format", "kind",
            *([] if scoped else ["seller"]), "seller_country",
        ]  # fmt: skip
    statement = schema["paths"]["/api/reports/seller/statement.csv"]["get"]
    assert statement["summary"] == "Export statement as CSV"
    assert statement["description"] == (
        "Columns (version 1, also in the `X-Export-Version` header): "
        f"{', '.join(STATEMENT.columns)}. The requesting seller user's own documents. "
        "date_from and date_to are required and span at most 366 days. See reporting/README.md."
    )
    invoices = schema["paths"]["/api/reports/invoices.csv"]["get"]
    assert invoices["description"] == (
        "Columns (version 1, also in the `X-Export-Version` header): "
        f"{', '.join(INVOICES.columns)}. Operators only. See reporting/README.md."
    )


@pytest.mark.django_db
def test_sellers_have_no_invoice_export(client: Client) -> None:
    assert client.get("/api/reports/seller/invoices.csv").status_code == 404
