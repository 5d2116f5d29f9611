"""A seller user exports only its own documents, whatever path or parameter it tries."""

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.test import Client

from sellers.models import Seller, SellerUser

pytestmark = pytest.mark.django_db

YEAR = {"date_from": "2024-01-01", "date_to": "2024-12-31"}
SELLER_EXPORTS = ["documents", "lines", "vat", "statement", "commission"]


@pytest.fixture
def bolt_client(client: Client, make_user: Callable[..., User], ledger: dict[str, Any]) -> Client:
    """Logged in as a user of Bolt (one invoice); Acme has four documents."""
    user = make_user("bolt-staff")
    SellerUser.objects.create(user=user, seller=ledger["bolt"])
    client.force_login(user)
    return client


def rows(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.DictReader(io.StringIO(response.getvalue().decode("utf-8"), newline="")))


def test_seller_documents_are_its_own_only(bolt_client: Client, ledger: dict[str, Any]) -> None:
    documents = rows(bolt_client.get("/api/reports/seller/documents.csv", YEAR))

    assert [(d["seller_id"], d["document_number"]) for d in documents] == [
        (str(ledger["bolt"].pk), "B-7")
    ]


def test_seller_lines_vat_and_statement_are_its_own_only(
    bolt_client: Client, ledger: dict[str, Any]
) -> None:
    bolt = str(ledger["bolt"].pk)

    assert [
        r["seller_id"] for r in rows(bolt_client.get("/api/reports/seller/lines.csv", YEAR))
    ] == [bolt]
    assert rows(bolt_client.get("/api/reports/seller/vat.csv", YEAR)) == [
        {
            "seller_country": "AT",
            "buyer_country": "AT",
            "transaction_type": "domestic",
            "tax_rate": "22.00",
            "currency": "EUR",
            "document_count": "1",
            "taxable_base": "1234.50",
            "tax_amount": "246.90",
        }
    ]
    statement = rows(bolt_client.get("/api/reports/seller/statement.csv", YEAR))
    assert [(r["seller_id"], r["gross"]) for r in statement] == [(bolt, "1481.40")]


@pytest.mark.parametrize("export", SELLER_EXPORTS)
def test_naming_another_seller_is_refused(
    bolt_client: Client, ledger: dict[str, Any], export: str
) -> None:
    response = bolt_client.get(
        f"/api/reports/seller/{export}.csv", {**YEAR, "seller": ledger["acme"].pk}
    )

    assert response.status_code == 400
    assert response.json()["field"] == "seller"


@pytest.mark.parametrize("export", SELLER_EXPORTS)
def test_filters_cannot_widen_the_seller_scope(
    bolt_client: Client, ledger: dict[str, Any], export: str
) -> None:
    """Acme's buyer countries and currency select nothing of Bolt's: never Acme's rows."""
    response = bolt_client.get(
        f"/api/reports/seller/{export}.csv", {**YEAR, "seller_country": "SI", "currency": "USD"}
    )

    assert rows(response) == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/reports/invoices.csv",
        "/api/reports/documents.csv",
        "/api/reports/lines.csv",
        "/api/reports/vat.csv",
        "/api/reports/statement.csv",
        "/api/reports/commission.csv",
    ],
)
def test_operator_exports_are_forbidden_to_seller_users(bolt_client: Client, url: str) -> None:
    response = bolt_client.get(url, YEAR)

    assert response.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/admin/reports/documents.csv",
        "/admin/reports/statement/",
        "/admin/reports/summary/",
        "/admin/reports/vat/",
        "/admin/reports/health/",
        "/admin/reports/payouts/",
        "/admin/invoicing/document/export.csv",
    ],
)
def test_admin_reports_send_seller_users_to_the_login(bolt_client: Client, url: str) -> None:
    response = bolt_client.get(url, YEAR)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("export", SELLER_EXPORTS)
def test_seller_exports_need_a_membership(
    client: Client, make_user: Callable[..., User], export: str
) -> None:
    client.force_login(make_user("buyer"))

    response = client.get(f"/api/reports/seller/{export}.csv", YEAR)

    assert response.status_code == 403
    assert response.json() == {"detail": "Only a seller's users can do this."}


def test_a_user_of_another_seller_sees_that_sellers_rows(
    client: Client, make_user: Callable[..., User], ledger: dict[str, Any]
) -> None:
    user = make_user("acme-staff")
    SellerUser.objects.create(user=user, seller=ledger["acme"])
    client.force_login(user)

    documents = rows(client.get("/api/reports/seller/documents.csv", YEAR))

    assert {d["seller_id"] for d in documents} == {str(ledger["acme"].pk)}
    assert len(documents) == 4
    assert Seller.objects.count() == 2
