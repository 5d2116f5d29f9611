from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.messages import get_messages
from django.http import StreamingHttpResponse
from django.test import Client, RequestFactory

from reporting.views import admin_invoice_export

URL = "/admin/invoicing/document/export.csv"
CHANGELIST = "/admin/invoicing/document/?seller__id__exact=1"


@pytest.fixture
def operator_client(client: Client, make_user: Callable[..., User]) -> Client:
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_staff_streams_the_filtered_export(
    operator_client: Client, ledger: dict[str, Any], expected_csv: Callable[[list[int]], str]
) -> None:
    response = operator_client.get(
        URL, {"seller": ledger["bolt"].pk, "date_from": "", "date_to": ""}
    )

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="invoices-all-all.csv"'
    assert response["X-Export-Version"] == "1"
    assert b"".join(response.streaming_content) == expected_csv([2]).encode("utf-8")


@pytest.mark.django_db
def test_bad_input_goes_back_with_a_message_naming_the_field(operator_client: Client) -> None:
    response = operator_client.get(
        URL, {"date_from": "2024-02-31"}, HTTP_REFERER=f"http://testserver{CHANGELIST}"
    )

    assert response.status_code == 302
    assert response["Location"] == f"http://testserver{CHANGELIST}"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Invoice export: date_from: Enter a valid date as YYYY-MM-DD, not '2024-02-31'."
    ]


@pytest.mark.django_db
def test_bad_input_never_goes_back_to_a_foreign_referer(operator_client: Client) -> None:
    response = operator_client.get(URL, {"seller": "x"}, HTTP_REFERER="https://evil.example/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Invoice export: seller: Enter a seller id (a positive integer), not 'x'."
    ]


@pytest.mark.django_db
def test_non_staff_goes_to_the_admin_login(
    client: Client, make_user: Callable[..., User], ledger: dict[str, Any]
) -> None:
    client.force_login(make_user("buyer"))

    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/invoicing/document/export.csv"


@pytest.mark.django_db
def test_anonymous_goes_to_the_admin_login(client: Client) -> None:
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/invoicing/document/export.csv"


@pytest.mark.django_db
def test_the_view_alone_also_requires_staff(rf: RequestFactory) -> None:
    """Without the admin_view wrapper the view still guards itself (staff_member_required)."""
    request = rf.get(URL)
    request.user = AnonymousUser()
    response = admin_invoice_export(request)

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/invoicing/document/export.csv"
