"""The documents export v2 (the buyer's company and VAT number), the Excel variant of every CSV
export (UTF-8 BOM, `;`), and the documents written by PostgreSQL's COPY: the same bytes as the
ORM path, the same filters and seller scope."""

import csv
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from core.errors import ApplicationError
from invoicing.models import Document
from marketplace.models import Order
from reporting.exports import (
    DOCUMENTS,
    INVOICES,
    CsvExport,
    CsvFormat,
    csv_batches,
    csv_chunks,
    export_write,
)
from reporting.filters import (
    ExportParameters,
    export_parameters_from_json,
    export_parameters_parse,
    export_parameters_to_json,
)
from reporting.models import ExportJob
from reporting.selectors import ReportFilters
from sellers.models import Seller, SellerUser
from tests.factories import operator_user
from tests.reporting.conftest import PAID

pytestmark = pytest.mark.django_db

BOM = b"\xef\xbb\xbf"
YEAR = ReportFilters(date_from=date(2024, 1, 1), date_to=date(2024, 12, 31))
YEAR_PARAMS = {"date_from": "2024-01-01", "date_to": "2024-12-31"}
COMPANY = 'Müller; Söhne, "Bau" GmbH'
FORMATS = [CsvFormat(), CsvFormat(excel=True), CsvFormat(delimiter=";"), CsvFormat(True, ";")]
# The documents export as on SQLite: rows through csv.writer.
DOCUMENTS_ORM = replace(DOCUMENTS, copy_query=None)


def _business_sale(order: Order, invoice: Document, *, company: str, vat_number: str) -> None:
    """What checkout and the tax decision record for a company with a VAT number (reverse
    charged intra-EU B2B)."""
    Order.objects.filter(pk=order.pk).update(
        buyer_company=company, buyer_vat_number=vat_number, buyer_is_end_consumer=False
    )
    Document.objects.filter(pk=invoice.pk).update(
        transaction_type="intra_eu_b2b",
        reverse_charge=True,
        customer_is_end_consumer=False,
        customer_tax_number=vat_number,
    )


@pytest.fixture
def company(
    ledger: dict[str, Any],
    make_order: Callable[..., Order],
    make_invoice: Callable[..., Document],
) -> dict[str, Any]:
    """The ledger, plus Acme's reverse-charged invoice to a German company, and a voided one."""
    acme = ledger["acme"]
    order = make_order(
        acme, buyer_name="Jonas Müller", country="DE", net="200.00", tax="0.00", rate="0.00"
    )
    invoice = make_invoice(order, number="2024-00004", on=date(2024, 3, 2))
    _business_sale(order, invoice, company=COMPANY, vat_number="DE123456789")
    voided_order = make_order(acme, buyer_name="Voided", country="DE", paid_at=PAID)
    voided = make_invoice(voided_order, number="2024-00005", on=date(2024, 3, 3))
    Document.objects.filter(pk=voided.pk).update(voided_at=datetime(2024, 3, 4, tzinfo=UTC))
    return {**ledger, "order": order, "invoice": invoice}


PLAIN = CsvFormat()


def text(export: CsvExport, filters: ReportFilters, csv_format: CsvFormat = PLAIN) -> str:
    return "".join(csv_chunks(export, filters, csv_format))


def expected_german_rows(company: dict[str, Any], delimiter: str) -> str:
    """Buyer country DE: Ana Novak's invoice and the company's, written out by hand."""
    acme = company["acme"].pk
    o3, i3 = company["orders"][2], company["invoices"][2]
    order, invoice = company["order"], company["invoice"]
    seller_name = "Acme, d.o.o." if delimiter == ";" else '"Acme, d.o.o."'
    billed = '"Müller; Söhne, ""Bau"" GmbH"'
    rows = [
        [str(i3.pk), "invoice", "2024-00002", "2024-02-01", "", str(acme), seller_name, "SI",
         "ent_acme", str(o3.pk), str(o3.checkout_id), "Ana Novak", "", "", "DE", "intra_eu_b2c",
         "false", "EUR", "0.10", "0.00", "0.10", "inv_2024-00002", "", "", ""],
        [str(invoice.pk), "invoice", "2024-00004", "2024-03-02", "", str(acme), seller_name, "SI",
         "ent_acme", str(order.pk), str(order.checkout_id), billed, billed, "DE123456789", "DE",
         "intra_eu_b2b", "true", "EUR", "200.00", "0.00", "200.00", "inv_2024-00004", "", "", ""],
    ]  # fmt: skip
    header = delimiter.join(DOCUMENTS.columns)
    return "".join(delimiter.join(row) + "\r\n" for row in [[header], *rows])


@pytest.mark.parametrize("export", [DOCUMENTS, DOCUMENTS_ORM], ids=["copy", "orm"])
def test_documents_bill_the_company_with_its_vat_number(
    company: dict[str, Any], export: CsvExport
) -> None:
    filters = replace(YEAR, buyer_country="DE")

    assert text(export, filters).encode() == expected_german_rows(company, ",").encode()


@pytest.mark.parametrize("export", [DOCUMENTS, DOCUMENTS_ORM], ids=["copy", "orm"])
def test_excel_variant_is_utf8_with_a_bom_and_semicolons(
    company: dict[str, Any], export: CsvExport
) -> None:
    filters = replace(YEAR, buyer_country="DE")

    written = text(export, filters, CsvFormat(excel=True, delimiter=";")).encode()

    assert written[:3] == BOM
    assert written == BOM + expected_german_rows(company, ";").encode()
    assert text(export, filters, CsvFormat(excel=True)).encode() == (
        BOM + expected_german_rows(company, ",").encode()
    )


@pytest.fixture
def awkward(company: dict[str, Any], make_seller: Callable[..., Seller]) -> Seller:
    """A third seller, with line breaks, quotes and both delimiters in its name."""
    return make_seller('Line\nBreak; "Co",\r\nLtd', "ent_awkward", country="AT")


def test_copy_writes_the_same_bytes_as_the_orm_path(
    company: dict[str, Any],
    awkward: Seller,
    make_order: Callable[..., Order],
    make_invoice: Callable[..., Document],
) -> None:
    """Free text with line breaks, quotes, both delimiters and formula prefixes; blank and
    NULL cells; credit notes (signed) and voided documents (left out); each format and filter."""
    order = make_order(
        awkward, buyer_name="-5 Buyer", country="DE", currency="USD", net="7.5", tax="1.1"
    )
    invoice = make_invoice(order, number="A-1", on=date(2024, 6, 1))
    credit_note = make_invoice(order, number="A-CN", on=date(2024, 6, 2), credits=invoice)
    for document in (invoice, credit_note):
        _business_sale(order, document, company="=cmd\nx;y", vat_number="DE987654321")

    one_seller = ReportFilters(seller_id=awkward.pk, currency="USD")
    for csv_format in FORMATS:
        for filters in (YEAR, ReportFilters(), replace(YEAR, kind="credit_note"), one_seller):
            assert text(DOCUMENTS, filters, csv_format) == text(
                DOCUMENTS_ORM, filters, csv_format
            ), (csv_format, filters)
    written = text(DOCUMENTS, YEAR, CsvFormat(delimiter=";"))
    awkward_rows = [row for row in written.split("\r\n") if ";ent_awkward;" in row]
    assert awkward_rows == [
        f'{invoice.pk};invoice;A-1;2024-06-01;;{awkward.pk};"Line Break; ""Co"",  Ltd";AT;'
        f'ent_awkward;{order.pk};{order.checkout_id};"\'=cmd x;y";"\'=cmd x;y";DE987654321;'
        "DE;intra_eu_b2b;true;USD;7.50;1.10;8.60;inv_A-1;;;",
        f"{credit_note.pk};credit_note;A-CN;2024-06-02;A-1;{awkward.pk};"
        f'"Line Break; ""Co"",  Ltd";AT;ent_awkward;{order.pk};{order.checkout_id};'
        '"\'=cmd x;y";"\'=cmd x;y";DE987654321;DE;intra_eu_b2b;true;USD;-7.50;-1.10;-8.60;'
        "inv_A-CN;inv_A-1;;",
    ]


def test_on_postgresql_the_documents_are_written_by_copy_in_batches(
    company: dict[str, Any],
) -> None:
    assert connection.vendor == "postgresql"
    stream = io.StringIO(newline="")
    progress: list[int] = []

    with mock.patch("reporting.exports._writer_batches", side_effect=AssertionError("no COPY")):
        rows = export_write(DOCUMENTS, YEAR, stream, progress.append, batch_size=4)

    assert (rows, progress) == (6, [4, 6])
    assert stream.getvalue() == text(DOCUMENTS_ORM, YEAR)


def test_a_download_abandoned_midway_cancels_the_copy_and_frees_the_connection(
    company: dict[str, Any],
) -> None:
    batches = csv_batches(DOCUMENTS, YEAR, batch_size=2)
    assert [rows for rows, _ in (next(batches), next(batches))] == [0, 2]

    batches.close()  # as the server does when the client goes away

    assert Document.objects.filter(number="2024-00004").count() == 1
    assert text(DOCUMENTS, YEAR) == text(DOCUMENTS_ORM, YEAR)


@pytest.mark.parametrize("export", [DOCUMENTS, DOCUMENTS_ORM], ids=["copy", "orm"])
def test_a_sellers_export_never_holds_another_sellers_row(
    company: dict[str, Any], awkward: Seller, export: CsvExport
) -> None:
    sellers = {company["acme"].pk: 5, company["bolt"].pk: 1, awkward.pk: 0}
    every = {row["document_id"]: row for row in csv.DictReader(io.StringIO(text(export, YEAR)))}

    for seller_id, count in sellers.items():
        written = text(export, replace(YEAR, seller_id=seller_id))
        rows = list(csv.DictReader(io.StringIO(written)))
        assert len(rows) == count
        assert {row["seller_id"] for row in rows} <= {str(seller_id)}
        assert rows == [every[row["document_id"]] for row in rows]
    assert len(every) == 6


def _seller_client(make_user: Callable[..., User], seller: Seller) -> Client:
    user = make_user(f"staff-{seller.pk}")
    SellerUser.objects.create(user=user, seller=seller)
    client = Client()
    client.force_login(user)
    return client


def test_seller_route_in_excel_format_is_the_sellers_own(
    company: dict[str, Any], make_user: Callable[..., User]
) -> None:
    client = _seller_client(make_user, company["bolt"])

    response = client.get(
        "/api/reports/seller/documents.csv", {**YEAR_PARAMS, "format": "excel", "delimiter": ";"}
    )

    assert response.status_code == 200
    assert response["X-Export-Version"] == "3"
    written = response.getvalue()
    assert written[:3] == BOM
    rows = list(csv.DictReader(io.StringIO(written[3:].decode(), newline=""), delimiter=";"))
    assert [(row["seller_id"], row["document_number"]) for row in rows] == [
        (str(company["bolt"].pk), "B-7")
    ]


@pytest.fixture
def operator_client(client: Client) -> Client:
    client.force_login(operator_user("reporting.export_reports", username="operator"))
    return client


@pytest.mark.parametrize("route", ["/api/reports/invoices.csv", "/api/reports/documents.csv"])
def test_every_operator_export_takes_the_excel_variant(
    operator_client: Client, company: dict[str, Any], route: str
) -> None:
    plain = operator_client.get(route, YEAR_PARAMS).getvalue()
    excel = operator_client.get(route, {**YEAR_PARAMS, "format": "excel"}).getvalue()

    assert plain[:3] != BOM
    assert excel == BOM + plain


@pytest.mark.parametrize(
    ("route", "params", "field", "detail"),
    [
        ("/api/reports/documents.csv", {"format": "xlsx"}, "format",
         "Enter csv or excel (UTF-8 with a BOM), not 'xlsx'."),
        ("/api/reports/documents.csv", {"delimiter": "|"}, "delimiter",
         "Enter , (a comma) or ; (a semicolon), not '|'."),
        ("/api/reports/seller/documents.csv", {"delimiter": "tab"}, "delimiter",
         "Enter , (a comma) or ; (a semicolon), not 'tab'."),
        ("/api/reports/invoices.csv", {"format": "Excel"}, "format",
         "Enter csv or excel (UTF-8 with a BOM), not 'Excel'."),
    ],
)  # fmt: skip
def test_a_bad_format_is_a_400_naming_the_parameter(
    client: Client,
    company: dict[str, Any],
    make_user: Callable[..., User],
    route: str,
    params: dict[str, str],
    field: str,
    detail: str,
) -> None:
    if "/seller/" in route:
        client = _seller_client(make_user, company["acme"])
    else:
        client.force_login(operator_user("reporting.export_reports", username="operator"))

    response = client.get(route, {**YEAR_PARAMS, **params})

    assert response.status_code == 400
    assert response.json() == {"detail": detail, "field": field, "code": "invalid"}


def test_admin_downloads_take_the_excel_variant(
    client: Client, company: dict[str, Any], make_user: Callable[..., User]
) -> None:
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    excel = {"format": "excel", "delimiter": ";"}

    report = client.get("/admin/reports/documents.csv", {**YEAR_PARAMS, **excel})
    invoices = client.get("/admin/invoicing/document/export.csv", excel)

    assert report.getvalue() == BOM + text(DOCUMENTS, YEAR, CsvFormat(delimiter=";")).encode()
    assert invoices.getvalue() == (
        BOM + text(INVOICES, ReportFilters(), CsvFormat(delimiter=";")).encode()
    )


def test_command_writes_the_excel_variant_and_names_a_bad_option(
    company: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "documents.csv"
    call_command(
        "export_report", "documents", "--from", "2024-01-01", "--to", "2024-12-31",
        "--format", "excel", "--delimiter", ";", "--output", str(target), stderr=io.StringIO(),
    )  # fmt: skip

    assert target.read_bytes() == BOM + text(DOCUMENTS, YEAR, CsvFormat(delimiter=";")).encode()
    with pytest.raises(CommandError) as caught:
        call_command("export_report", "invoices", "--delimiter", "|", stdout=io.StringIO())
    assert str(caught.value) == "--delimiter: Enter , (a comma) or ; (a semicolon), not '|'."


def test_export_job_keeps_and_writes_its_format(
    operator_client: Client,
    company: dict[str, Any],
    settings: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        created = operator_client.post(
            "/api/reports/exports/",
            {"report": "documents", **YEAR_PARAMS, "format": "excel", "delimiter": ";"},
            content_type="application/json",
        )

    assert created.status_code == 201
    job = ExportJob.objects.get()
    assert job.filters == {**YEAR_PARAMS, "format": "excel", "delimiter": ";"}
    assert (tmp_path / job.file).read_bytes() == (
        BOM + text(DOCUMENTS, YEAR, CsvFormat(delimiter=";")).encode()
    )
    refused = operator_client.post(
        "/api/reports/exports/",
        {"report": "documents", **YEAR_PARAMS, "format": "ods"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["field"] == "format"


def test_parameters_round_trip_through_json() -> None:
    for csv_format in FORMATS:
        parameters = ExportParameters(YEAR, csv_format)
        assert export_parameters_from_json(export_parameters_to_json(parameters)) == parameters
    assert export_parameters_to_json(ExportParameters(YEAR, CsvFormat())) == YEAR_PARAMS


def test_blank_format_parameters_mean_the_default() -> None:
    parameters = export_parameters_parse({"format": "", "delimiter": " "}, INVOICES)

    assert parameters == ExportParameters(ReportFilters(), CsvFormat())
    with pytest.raises(ApplicationError) as caught:
        export_parameters_parse({"format": "excel", "delimiter": ";;"}, INVOICES)
    assert (caught.value.field, caught.value.message) == (
        "delimiter",
        "Enter , (a comma) or ; (a semicolon), not ';;'.",
    )


def test_admin_pages_offer_the_excel_variant(
    client: Client, make_user: Callable[..., User]
) -> None:
    client.force_login(make_user("root", is_staff=True, is_superuser=True))

    report = client.get("/admin/reports/", YEAR_PARAMS).content.decode()
    changelist = client.get("/admin/invoicing/document/").content.decode()

    assert (
        '<a href="/admin/reports/documents.csv?date_from=2024-01-01&amp;date_to=2024-12-31'
        '&amp;format=excel&amp;delimiter=%3B">documents</a>'
    ) in report
    assert '<option value="excel">Excel (UTF-8 BOM)</option>' in changelist
    assert '<option value=";">;</option>' in changelist
