"""The DAC7 platform report: figures per seller and quarter, the de-minimis exclusion, what a
seller lacks, and the XML file checked against the XSD the dac7 package ships."""

import io
import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import xmlschema
from dac7.core import DAC7_SCHEMA
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from core.models import AuditEvent
from invoicing.models import Document, DocumentKind, DocumentPurpose, DocumentState
from marketplace.models import Checkout, Order
from reporting.filings.dac7 import Quarter, below_de_minimis, dac7_report, dac7_xml
from sellers.models import Seller
from tests.factories import SellerFactory, operator_user

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
SCHEMA = xmlschema.XMLSchema10(DAC7_SCHEMA)
STAMP = datetime(2027, 1, 15, 10, 0, tzinfo=UTC)
INDIVIDUAL = {
    "seller_kind": "individual",
    "first_name": "Maja",
    "last_name": "Kovač",
    "date_of_birth": date(1985, 4, 12),
    "tin": "12345678",
    "tin_country": "SI",
    "iban": "SI56191000000123438",
}
ENTITY = {
    "seller_kind": "entity",
    "tin": "181234567",
    "tin_country": "AT",
    "business_registration_number": "FN 123456a",
    "iban": "AT611904300234573201",
}


@pytest.fixture(autouse=True)
def operator_settings(settings):
    settings.DAC7_OPERATOR_NAME = "Market Square SAS"
    settings.DAC7_OPERATOR_TIN = "732829320"
    settings.DAC7_OPERATOR_VAT = "FR44732829320"
    settings.DAC7_OPERATOR_ADDRESS = "1 rue de la Paix"
    settings.DAC7_OPERATOR_POST_CODE = "75002"
    settings.DAC7_OPERATOR_CITY = "Paris"
    settings.DAC7_OPERATOR_COUNTRY = "FR"
    return settings


def sales(seller: Seller, on: date, *amounts: str, currency: str = "EUR") -> list[Document]:
    """Issued invoices of `seller` dated `on`, one order each, written in bulk."""
    buyer = User.objects.create_user(username=f"dac7-buyer{next(_serial)}")
    checkouts = Checkout.objects.bulk_create([Checkout(buyer=buyer) for _ in amounts])
    orders = Order.objects.bulk_create(
        Order(
            checkout=checkout,
            seller=seller,
            buyer=buyer,
            buyer_name="Ana Novak",
            buyer_email="ana@example.com",
            billing_address="Prešernova 5",
            billing_post_code="2000",
            billing_city="Maribor",
            billing_country="SI",
            currency=currency,
            total_net=Decimal(amount),
            total_tax=Decimal("0.00"),
            total_gross=Decimal(amount),
        )
        for checkout, amount in zip(checkouts, amounts, strict=True)
    )
    return Document.objects.bulk_create(
        _document(order, DocumentKind.INVOICE, on, order.total_gross) for order in orders
    )


def credit_note(invoice: Document, on: date, amount: str) -> Document:
    document = _document(invoice.order, DocumentKind.CREDIT_NOTE, on, Decimal(amount))
    document.credited_invoice = invoice
    document.save()
    return document


def _document(order: Order, kind: str, on: date, gross: Decimal) -> Document:
    serial = next(_serial)
    return Document(
        order=order,
        seller=order.seller,
        entity_id=order.seller.entity_id,
        kind=kind,
        state=DocumentState.ISSUED,
        remote_id=f"doc_{serial}",
        number=f"D-{serial}",
        date=on,
        currency=order.currency,
        total_net=gross,
        total_tax=Decimal("0.00"),
        total_gross=gross,
    )


def quarters(*figures: tuple[str, int]) -> tuple[Quarter, ...]:
    return tuple(Quarter(consideration=Decimal(amount), activities=n) for amount, n in figures)


@pytest.fixture
def two_sellers() -> dict[str, Any]:
    """An individual in Slovenia and an entity in Austria, across the quarters of 2026."""
    maja = SellerFactory(business_name="Maja Kovač s.p.", country="SI", **INDIVIDUAL)
    first_quarter = sales(maja, date(2026, 2, 10), *["50.00"] * 20)
    sales(maja, date(2026, 5, 5), *["12.20"] * 15)
    credit_note(first_quarter[0], date(2026, 8, 1), "50.00")  # counts in Q3, when issued
    sales(maja, date(2026, 9, 30), "99.99")

    bolt = SellerFactory(
        business_name="Bolt GmbH", country="AT", tax_number="ATU13585627", **ENTITY
    )
    sales(bolt, date(2026, 3, 31), "1500.00")
    sales(bolt, date(2026, 4, 1), "108.89", currency="USD")  # EUR 100.00 at the fixed table
    sales(bolt, date(2026, 4, 2), "1000.00", currency="CNY")  # no rate: left out
    (december,) = sales(bolt, date(2026, 12, 31), "700.00")
    credit_note(december, date(2026, 12, 31), "200.00")
    # Never counted: a voided invoice, one still pending, and the years around.
    Document.objects.filter(pk=sales(bolt, date(2026, 6, 1), "900.00")[0].pk).update(
        voided_at=STAMP
    )
    Document.objects.filter(pk=sales(bolt, date(2026, 6, 1), "900.00")[0].pk).update(
        state=DocumentState.PENDING, remote_id=None, number=""
    )
    sales(bolt, date(2025, 12, 31), "300.00")
    sales(bolt, date(2027, 1, 1), "300.00")

    # Not reported: a seller outside the EU, and one below the de-minimis limits.
    sales(SellerFactory(country="CH", **ENTITY), date(2026, 1, 5), *["100.00"] * 30)
    sales(SellerFactory(country="SI", **INDIVIDUAL), date(2026, 1, 5), "1999.99")
    return {"maja": maja, "bolt": bolt}


def test_figures_per_quarter_net_credit_notes_in_their_quarter_in_euro(two_sellers):
    report = dac7_report(year=2026)

    maja, bolt = report.sellers
    assert (maja.seller, bolt.seller) == (two_sellers["maja"], two_sellers["bolt"])
    assert maja.quarters == quarters(("1000.00", 20), ("183.00", 15), ("49.99", 1), ("0.00", 0))
    assert (maja.consideration, maja.activities, maja.fees) == (Decimal("1232.99"), 36, 0)
    assert bolt.quarters == quarters(("1500.00", 1), ("100.00", 1), ("0.00", 0), ("500.00", 1))
    assert (bolt.consideration, bolt.activities) == (Decimal("2100.00"), 3)
    assert (maja.problems, bolt.problems, maja.warnings, bolt.warnings) == ((), (), (), ())
    assert report.below_de_minimis == 1
    assert report.warnings == (
        f"Seller #{bolt.seller.pk}: 1 invoice document(s) in CNY of Q2 left out: "
        "no euro rate for it.",
    )
    assert report.operator_problems == {}


def _decoded(xml: str) -> dict[str, Any]:
    SCHEMA.validate(xml)
    decoded: dict[str, Any] = SCHEMA.to_dict(xml)  # type: ignore[assignment]
    return decoded


def _activities(seller: dict[str, Any]) -> dict[str, list[int]]:
    goods = seller["dpi:RelevantActivities"]["dpi:SaleOfGoods"]
    return {
        part: [goods[f"dpi:{group}"][f"dpi:{part}Q{n}"] for n in range(1, 5)]
        for group, part in [("Consideration", "Cons"), ("NumberOfActivities", "Numb"),
                            ("Fees", "Fees"), ("Taxes", "Taxes")]
    }  # fmt: skip


def test_the_xml_validates_against_the_xsd_with_whole_euros_and_each_kind_of_seller(
    two_sellers,
):
    xml = dac7_xml(dac7_report(year=2026), timestamp=STAMP)

    decoded = _decoded(xml)
    spec = decoded["dpi:MessageSpec"]
    assert (spec["dpi:MessageRefId"], spec["dpi:ReportingPeriod"]) == (
        "OP_2026_732829320_d1",
        "2026-12-31",
    )
    operator = decoded["dpi:DPIBody"]["dpi:PlatformOperator"]
    assert (operator["dpi:VAT"], operator["dpi:ResCountryCode"]) == ("FR44732829320", "FR")
    bolt, maja = decoded["dpi:DPIBody"]["dpi:ReportableSeller"]  # entities first
    entity = bolt["dpi:Identity"]["dpi:EntitySeller"]["dpi:Standard"]
    assert entity["dpi:EntSellerID"]["dpi:TIN"] == [{"@issuedBy": "AT", "$": "181234567"}]
    assert entity["dpi:EntSellerID"]["dpi:IN"] == [
        {"@issuedBy": "AT", "@INType": "BRN", "$": "FN 123456a"}
    ]
    assert entity["dpi:EntSellerID"]["dpi:VAT"] == "ATU13585627"
    assert entity["dpi:FinancialIdentifier"][0]["dpi:Identifier"] == {
        "@AccountNumberType": "IBAN",
        "$": "AT611904300234573201",
    }
    assert "dpi:IndividualSeller" not in bolt["dpi:Identity"]
    person = maja["dpi:Identity"]["dpi:IndividualSeller"]["dpi:Standard"]["dpi:IndSellerID"]
    assert person["dpi:TIN"] == [{"@issuedBy": "SI", "$": "12345678"}]
    assert person["dpi:BirthInfo"] == {"dpi:BirthDate": "1985-04-12"}
    assert person["dpi:Name"] == [
        {"@nameType": "OECD202", "dpi:FirstName": "Maja", "dpi:LastName": "Kovač"}
    ]
    assert person["dpi:Address"][0]["dpi:CountryCode"] == "SI"
    assert _activities(maja) == {
        "Cons": [{"@currCode": "EUR", "$": amount} for amount in (1000, 183, 50, 0)],
        "Numb": [20, 15, 1, 0],
        "Fees": [{"@currCode": "EUR", "$": 0}] * 4,
        "Taxes": [{"@currCode": "EUR", "$": 0}] * 4,
    }
    assert _activities(bolt)["Cons"] == [
        {"@currCode": "EUR", "$": amount} for amount in (1500, 100, 0, 500)
    ]


@pytest.mark.parametrize(
    ("sales_count", "last_sale", "reportable"),
    [
        (29, "1719.99", False),  # 29 sales, EUR 1,999.99: excluded
        (29, "1720.00", True),  # EUR 2,000.00
        (30, "10.00", True),  # 30 sales, EUR 300.00
        (29, "10.00", False),  # 29 sales, EUR 290.00
    ],
)
def test_the_de_minimis_limits_at_their_boundaries(sales_count, last_sale, reportable):
    seller = SellerFactory(**INDIVIDUAL)
    sales(seller, date(2026, 7, 1), *["10.00"] * (sales_count - 1), last_sale)

    report = dac7_report(year=2026)

    assert [item.seller for item in report.sellers] == ([seller] if reportable else [])
    assert report.below_de_minimis == (0 if reportable else 1)


def test_below_de_minimis_needs_both_limits():
    assert below_de_minimis(activities=29, consideration=Decimal("1999.99")) is True
    assert below_de_minimis(activities=30, consideration=Decimal("1999.99")) is False
    assert below_de_minimis(activities=29, consideration=Decimal("2000.00")) is False


def test_a_seller_missing_data_is_listed_incomplete_and_left_out_of_the_file():
    unknown = SellerFactory(business_name="Unknown kind")
    no_iban = SellerFactory(business_name="No IBAN", **(INDIVIDUAL | {"iban": ""}))
    no_brn = SellerFactory(
        business_name="No BRN", country="AT", **(ENTITY | {"business_registration_number": ""})
    )
    no_vat = SellerFactory(business_name="No VAT", tax_number="", **ENTITY)
    untaxed = SellerFactory(
        business_name="Not a tax subject", tax_number="", is_tax_subject=False, **ENTITY
    )
    for seller in (unknown, no_iban, no_brn, no_vat, untaxed):
        sales(seller, date(2026, 1, 2), "2000.00")

    report = dac7_report(year=2026)

    assert [(item.seller.business_name, item.problems) for item in report.sellers] == [
        ("Unknown kind", ("missing: seller_kind",)),
        ("No IBAN", ("missing: iban",)),
        ("No BRN", ("missing: business_registration_number",)),
        ("No VAT", ("missing: tax_number",)),
        ("Not a tax subject", ()),
    ]
    filed = _decoded(dac7_xml(report, timestamp=STAMP))["dpi:DPIBody"]["dpi:ReportableSeller"]
    names = [seller["dpi:Identity"]["dpi:EntitySeller"]["dpi:Standard"] for seller in filed]
    assert [name["dpi:EntSellerID"]["dpi:Name"] for name in names] == [["Not a tax subject"]]
    assert "dpi:VAT" not in names[0]["dpi:EntSellerID"]


def test_a_quarter_netting_negative_is_filed_as_zero_with_a_warning():
    seller = SellerFactory(**INDIVIDUAL)
    first = sales(seller, date(2026, 3, 1), *["100.00"] * 30)
    credit_note(first[0], date(2026, 4, 1), "100.00")

    (item,) = dac7_report(year=2026).sellers

    assert item.quarters == quarters(("3000.00", 30), ("-100.00", 0), ("0.00", 0), ("0.00", 0))
    assert item.warnings == (
        "Q2 nets to -100.00 EUR (credit notes of earlier sales): the file takes no negative "
        "amount and reports 0.",
    )
    (filed,) = _decoded(dac7_xml(dac7_report(year=2026), timestamp=STAMP))["dpi:DPIBody"][
        "dpi:ReportableSeller"
    ]
    assert [amount["$"] for amount in _activities(filed)["Cons"]] == [3000, 0, 0, 0]


def test_the_file_needs_the_operator_settings(settings):
    settings.DAC7_OPERATOR_NAME = ""
    settings.DAC7_OPERATOR_TIN = "FR44732829320"
    report = dac7_report(year=2026)

    assert report.operator_problems == {
        "DAC7_OPERATOR_NAME": "not set.",
        "DAC7_OPERATOR_TIN": "the French DPI file names the operator by its SIREN.",
    }


def test_the_admin_page_lists_figures_and_what_is_missing(client, two_sellers):
    Seller.objects.filter(pk=two_sellers["maja"].pk).update(iban="")
    client.force_login(operator_user("reporting.view_reports"))

    response = client.get("/admin/reports/dac7/?year=2026")

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Maja Kovač s.p.</a> (#{two_sellers['maja'].pk}, SI)" in page
    assert "incomplete: missing: iban" in page
    assert "EUR 1232.99<br>36 sales" in page
    assert "EUR 2100.00<br>3 sales" in page
    assert "Download the XML (1 complete seller)" in page
    assert "1 below the de-minimis limits" in page


def test_the_admin_page_answers_a_bad_year_with_400_and_others_with_403(client):
    client.force_login(operator_user("reporting.view_reports"))
    response = client.get("/admin/reports/dac7/?year=2022")
    assert response.status_code == 400
    assert "year: 2022 is not a DAC7 reporting year" in response.content.decode()

    client.force_login(operator_user("reporting.export_reports"))
    assert client.get("/admin/reports/dac7/").status_code == 403
    assert client.get("/admin/reports/dac7.xml?year=2026").status_code == 403


def test_the_xml_download_is_valid_and_audited(client, two_sellers):
    operator = operator_user("reporting.view_reports")
    client.force_login(operator)

    response = client.get("/admin/reports/dac7.xml?year=2026")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="dac7-2026.xml"'
    assert len(_decoded(response.content.decode())["dpi:DPIBody"]["dpi:ReportableSeller"]) == 2
    event = AuditEvent.objects.get(action="export.downloaded")
    assert (event.actor, event.detail) == (
        operator,
        {
            "report": "dac7",
            "year": 2026,
            "sellers": [two_sellers["maja"].pk, two_sellers["bolt"].pk],
        },
    )


def test_the_xml_download_names_a_missing_setting(client, settings):
    settings.DAC7_OPERATOR_CITY = ""
    client.force_login(operator_user("reporting.view_reports"))

    response = client.get("/admin/reports/dac7.xml?year=2026")

    assert response.status_code == 400
    assert "DAC7_OPERATOR_CITY: not set." in response.content.decode()
    assert not AuditEvent.objects.filter(action="export.downloaded").exists()


def test_the_command_writes_the_file_and_says_what_it_left_out(two_sellers, tmp_path):
    Seller.objects.filter(pk=two_sellers["bolt"].pk).update(tin="")
    output = tmp_path / "dac7.xml"
    errors = io.StringIO()

    call_command("dac7_report", "--year", "2026", "--output", str(output), stderr=errors)

    filed = _decoded(output.read_text())["dpi:DPIBody"]["dpi:ReportableSeller"]
    assert [seller["dpi:DocSpec"]["stf:DocRefId"] for seller in filed] == [
        f"OP_2026_732829320_{two_sellers['maja'].pk}_v1"
    ]
    bolt = two_sellers["bolt"].pk
    assert errors.getvalue().splitlines() == [
        f"warning: Seller #{bolt}: 1 invoice document(s) in CNY of Q2 left out: no euro rate "
        "for it.",
        f"left out: seller #{bolt}: missing: tin",
        f"wrote 1 of 2 reportable sellers to {output} (1 below the de-minimis limits)",
    ]


def test_the_command_refuses_a_bad_year(tmp_path):
    with pytest.raises(CommandError, match=r"^--year: 'next' is not a year\.$"):
        call_command("dac7_report", "--year", "next", "--output", str(tmp_path / "f.xml"))
    assert list(tmp_path.iterdir()) == []


def commission(seller: Seller, on: date, gross: str, credits: Document | None = None) -> Document:
    """An issued commission document of the operator to `seller` dated `on`."""
    serial = next(_serial)
    return Document.objects.create(
        purpose=DocumentPurpose.COMMISSION,
        period_start=on.replace(day=1),
        seller=seller,
        entity_id="ent_operator",
        kind=DocumentKind.CREDIT_NOTE if credits else DocumentKind.INVOICE,
        credited_invoice=credits,
        state=DocumentState.ISSUED,
        remote_id=f"{'cre' if credits else 'inv'}_{serial:024x}",
        number=f"MP-{serial:05d}",
        date=on,
        currency="EUR",
        total_net=Decimal(gross),
        total_tax=Decimal("0.00"),
        total_gross=Decimal(gross),
    )


def test_fees_are_the_commission_charged_less_credited_per_quarter(two_sellers):
    maja = two_sellers["maja"]
    january = commission(maja, date(2026, 2, 1), "12.20")
    commission(maja, date(2026, 3, 2), "2.44", credits=january)
    commission(maja, date(2026, 8, 1), "5.00")
    commission(maja, date(2025, 12, 1), "99.00")  # another year

    report = dac7_report(year=2026)

    item = next(item for item in report.sellers if item.seller == maja)
    assert [quarter.fees for quarter in item.quarters] == [
        Decimal("9.76"),
        Decimal("0.00"),
        Decimal("5.00"),
        Decimal("0.00"),
    ]
    assert item.fees == Decimal("14.76")
    # The commission documents are not the seller's sales.
    assert item.consideration == Decimal("1232.99")
