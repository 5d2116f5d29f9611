"""The OSS return draft (reporting/filings/oss.py) against hand-computed figures, its pages, its
CSV, the operators' exchange rates, bad input and the seller users' isolation."""

import itertools
import json
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from invoicing.models import Document, DocumentKind, DocumentState, DocumentTax
from reporting.filings.oss import (
    MissingRate,
    OssCorrection,
    OssSupply,
    Quarter,
    RateUsed,
    oss_return,
)
from reporting.models import ExchangeRate
from sellers.models import Seller
from tests.factories import OrderFactory, SellerFactory, SellerUserFactory, operator_user

pytestmark = pytest.mark.django_db

_serial = itertools.count(1)
Q1, Q2 = Quarter(2025, 1), Quarter(2025, 2)
Q2_PARAMS = {"year": "2025", "quarter": "2"}

# The recorded tax treatments (invoicing.Document) of the sales the tests make.
TREATMENTS: dict[str, dict[str, Any]] = {
    "oss": {"transaction_type": "intra_eu_b2c", "rate_source": "buyer_country"},
    "seller_rate": {"transaction_type": "intra_eu_b2c", "rate_source": "seller"},
    "domestic": {"transaction_type": "domestic", "rate_source": "seller"},
    "reverse_charge": {
        "transaction_type": "intra_eu_b2b",
        "rate_source": "zero",
        "reverse_charge": True,
        "customer_is_end_consumer": False,
        "customer_tax_number": "ATU13585627",
    },
}


def document(
    seller: Seller,
    *,
    number: str,
    on: date,
    country: str,
    taxes: list[tuple[str, str, str]],
    currency: str = "EUR",
    treatment: str = "oss",
    credits: Document | None = None,
    state: str = DocumentState.ISSUED,
    voided: bool = False,
) -> Document:
    """An issued document of the seller with its tax summary `(rate, base, VAT)` per rate; with
    `credits` a credit note of that invoice (its order, its treatment)."""
    order = credits.order if credits else OrderFactory(seller=seller, billing_country=country)
    issued = state == DocumentState.ISSUED
    base = sum((D(b) for _, b, _ in taxes), D(0))
    vat = sum((D(v) for _, _, v in taxes), D(0))
    made = Document.objects.create(
        order=order,
        seller=seller,
        entity_id=seller.entity_id,
        kind=DocumentKind.CREDIT_NOTE if credits else DocumentKind.INVOICE,
        credited_invoice=credits,
        state=state,
        remote_id=f"oss_{next(_serial)}" if issued else None,
        number=number if issued else "",
        date=on,
        currency=currency,
        total_net=base,
        total_tax=vat,
        total_gross=base + vat,
        seller_country=str(seller.country),
        buyer_country=country,
        voided_at=datetime(2025, 7, 2, tzinfo=UTC) if voided else None,
        **TREATMENTS[treatment],
    )
    DocumentTax.objects.bulk_create(
        DocumentTax(document=made, rate=D(rate), base=D(b), amount=D(v)) for rate, b, v in taxes
    )
    return made


def rate(currency: str, on: date, units_per_eur: str) -> None:
    ExchangeRate.objects.create(currency=currency, date=on, units_per_eur=D(units_per_eur))


@pytest.fixture
def sellers() -> dict[str, Seller]:
    """Acme (SI) with its Q2 2025 sales, and Bolt (AT) with one OSS sale of the same quarter.

    Acme's return for 2025-Q2, by hand:
    - DE 7 %: invoice A 50.00 / 3.50.
    - DE 19 %: A 100.00 / 19.00 + B 200.00 / 38.00 - credit note of B 50.00 / 9.50
      = 250.00 / 47.50.
    - FR 20 %: C 80.00 / 16.00 in EUR + D GBP 42.50 / 8.50 at the ECB rate of 30 June 2025
      (GBP 0.8555 for EUR 1): 42.50 / 0.8555 = 49.6786 -> 49.68, 8.50 / 0.8555 = 9.9357 -> 9.94;
      = 129.68 / 25.94.
    - IT 22 %: E is in USD, which has no rate: left out and listed (USD-1).
    - corrections of 2025-Q1: DE, the credit note of F (a Q1 invoice) -60.00 / -11.40; FR, the
      credit note of G (GBP 30.00 / 6.00, a Q1 invoice) at the rate of 31 March 2025 (0.8370):
      -35.8423 -> -35.84, -7.1685 -> -7.17.
    Not in it: a domestic sale, a reverse-charged B2B sale, a distance sale at Acme's own rate,
    a voided and a pending document, a Q3 sale, Bolt's sale, and F and G themselves (Q1).
    """
    acme = SellerFactory(business_name="Acme d.o.o.", country="SI", oss_registered=True)
    bolt = SellerFactory(business_name="Bolt GmbH", country="AT", oss_registered=True)
    two_rates = [("19.00", "100.00", "19.00"), ("7.00", "50.00", "3.50")]
    document(acme, number="A", on=date(2025, 4, 10), country="DE", taxes=two_rates)
    b = document(acme, number="B", on=date(2025, 5, 2), country="DE", taxes=[("19", "200", "38")])
    document(
        acme, number="CN-B", on=date(2025, 5, 10), country="DE", taxes=[("19", "50", "9.50")],
        credits=b,
    )  # fmt: skip
    document(acme, number="C", on=date(2025, 5, 20), country="FR", taxes=[("20", "80", "16")])
    document(
        acme, number="D", on=date(2025, 6, 15), country="FR", currency="GBP",
        taxes=[("20", "42.50", "8.50")],
    )  # fmt: skip
    document(
        acme, number="USD-1", on=date(2025, 6, 1), country="IT", currency="USD",
        taxes=[("22", "100", "22")],
    )  # fmt: skip
    f = document(acme, number="F", on=date(2025, 3, 10), country="DE", taxes=[("19", "60", "11.4")])
    document(
        acme, number="CN-F", on=date(2025, 4, 20), country="DE", taxes=[("19", "60", "11.4")],
        credits=f,
    )  # fmt: skip
    g = document(
        acme, number="G", on=date(2025, 2, 14), country="FR", currency="GBP",
        taxes=[("20", "30", "6")],
    )  # fmt: skip
    document(
        acme, number="CN-G", on=date(2025, 6, 2), country="FR", currency="GBP",
        taxes=[("20", "30", "6")], credits=g,
    )  # fmt: skip
    # Never in Acme's OSS return.
    document(
        acme, number="DOM", on=date(2025, 5, 5), country="SI", taxes=[("22", "100", "22")],
        treatment="domestic",
    )  # fmt: skip
    document(
        acme, number="B2B", on=date(2025, 5, 6), country="AT", taxes=[("0", "500", "0")],
        treatment="reverse_charge",
    )  # fmt: skip
    document(
        acme, number="OWN", on=date(2025, 5, 7), country="NL", taxes=[("22", "10", "2.20")],
        treatment="seller_rate",
    )  # fmt: skip
    document(
        acme, number="VOID", on=date(2025, 5, 8), country="DE", taxes=[("19", "70", "13.30")],
        voided=True,
    )  # fmt: skip
    document(
        acme, number="PEND", on=date(2025, 5, 9), country="DE", taxes=[("19", "5", "0.95")],
        state=DocumentState.PENDING,
    )  # fmt: skip
    document(acme, number="Q3", on=date(2025, 7, 1), country="DE", taxes=[("19", "9", "1.71")])
    document(
        bolt, number="BOLT-1", on=date(2025, 5, 3), country="DE", taxes=[("19", "1000", "190")]
    )
    rate("GBP", date(2025, 3, 31), "0.8370")
    rate("GBP", date(2025, 6, 27), "0.8400")  # before the quarter's last day: not its rate
    rate("GBP", date(2025, 6, 30), "0.8555")
    rate("GBP", date(2025, 7, 1), "0.9000")  # after it: not used while the last day has one
    return {"acme": acme, "bolt": bolt}


EXPECTED_SUPPLIES = [
    OssSupply("DE", D("7.00"), D("50.00"), D("3.50")),
    OssSupply("DE", D("19.00"), D("250.00"), D("47.50")),
    OssSupply("FR", D("20.00"), D("129.68"), D("25.94")),
]
EXPECTED_CORRECTIONS = [
    OssCorrection(Q1, "DE", D("-60.00"), D("-11.40")),
    OssCorrection(Q1, "FR", D("-35.84"), D("-7.17")),
]


def test_return_figures_by_member_state_and_rate_in_euro(sellers: dict[str, Seller]) -> None:
    draft = oss_return(seller=sellers["acme"], quarter=Q2)

    assert draft.supplies == EXPECTED_SUPPLIES
    assert (draft.taxable_total, draft.vat_total) == (D("429.68"), D("76.94"))
    assert draft.corrections == EXPECTED_CORRECTIONS
    assert draft.correction_vat_total == D("-18.57")
    assert draft.rates == [
        RateUsed("GBP", Q1, date(2025, 3, 31), D("0.837000")),
        RateUsed("GBP", Q2, date(2025, 6, 30), D("0.855500")),
    ]
    assert draft.missing_rates == [MissingRate("USD", Q2, date(2025, 6, 30), ["USD-1"])]
    assert draft.blocked


def test_a_rate_entered_for_the_missing_currency_completes_the_return(
    sellers: dict[str, Seller],
) -> None:
    # 100 / 1.1 = 90.909 -> 90.91; 22 / 1.1 = 20.00.
    rate("USD", date(2025, 6, 30), "1.1")

    draft = oss_return(seller=sellers["acme"], quarter=Q2)

    assert draft.supplies == [
        *EXPECTED_SUPPLIES,
        OssSupply("IT", D("22.00"), D("90.91"), D("20.00")),
    ]
    assert draft.missing_rates == []
    assert not draft.blocked


def test_the_next_publication_converts_when_the_last_day_has_no_rate() -> None:
    """30 June 2024 was a Sunday: the ECB's next rate, of Monday 1 July, converts 2024-Q2."""
    seller = SellerFactory(country="SI")
    document(
        seller, number="S1", on=date(2024, 6, 3), country="FR", currency="GBP",
        taxes=[("20", "10.00", "2.00")],
    )  # fmt: skip
    rate("GBP", date(2024, 6, 28), "0.8000")
    rate("GBP", date(2024, 7, 1), "0.8450")  # 10 / 0.845 = 11.834 -> 11.83; 2 / 0.845 -> 2.37
    rate("GBP", date(2024, 7, 2), "0.9000")

    draft = oss_return(seller=seller, quarter=Quarter(2024, 2))

    assert draft.supplies == [OssSupply("FR", D("20.00"), D("11.83"), D("2.37"))]
    assert draft.rates == [RateUsed("GBP", Quarter(2024, 2), date(2024, 7, 1), D("0.845000"))]


def test_another_sellers_return_has_only_its_own_documents(sellers: dict[str, Seller]) -> None:
    draft = oss_return(seller=sellers["bolt"], quarter=Q2)

    assert draft.supplies == [OssSupply("DE", D("19.00"), D("1000.00"), D("190.00"))]
    assert (draft.corrections, draft.missing_rates) == ([], [])


# Operators' page and CSV.


@pytest.fixture
def operator_client(client: Client) -> Client:
    client.force_login(operator_user("reporting.view_reports"))
    return client


def test_operator_page_shows_the_figures_and_the_blocking_warning(
    operator_client: Client, sellers: dict[str, Seller]
) -> None:
    response = operator_client.get(
        "/admin/reports/oss/", {"seller": str(sellers["acme"].pk), **Q2_PARAMS}
    )

    assert response.status_code == 200
    draft = response.context["draft"]
    assert (draft.seller, draft.supplies, draft.corrections) == (
        sellers["acme"],
        EXPECTED_SUPPLIES,
        EXPECTED_CORRECTIONS,
    )
    html = response.content.decode()
    assert 'data-testid="oss-missing-rates"' in html
    assert "USD on 2025-06-30 (for 2025-Q2): USD-1" in html
    assert 'data-testid="oss-csv"' not in html  # no CSV while blocked


def test_operator_page_without_parameters_asks_for_a_seller(operator_client: Client) -> None:
    response = operator_client.get("/admin/reports/oss/")

    assert response.status_code == 200
    assert "draft" not in response.context
    assert "Choose a seller and a quarter." in response.content.decode()


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"year": "2025", "quarter": "2"}, "seller", "seller is required."),
        ({"seller": "999999", "year": "2025", "quarter": "2"}, "seller", "There is no seller"),
        ({"seller": "{acme}", "year": "2025", "quarter": "5"}, "quarter", "from 1 to 4"),
        ({"seller": "{acme}", "year": "20x5", "quarter": "1"}, "year", "from 2021 to 2100"),
        ({"seller": "{acme}", "year": "2025", "quarter": "1", "month": "3"}, "month", "Unknown"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    operator_client: Client,
    sellers: dict[str, Seller],
    params: dict[str, str],
    field: str,
    message: str,
) -> None:
    params = {name: value.format(acme=sellers["acme"].pk) for name, value in params.items()}

    page = operator_client.get("/admin/reports/oss/", params)
    export = operator_client.get("/admin/reports/oss/return.csv", params)

    assert page.status_code == 400
    assert page.context["error"].startswith(f"{field}: ")
    assert message in page.context["error"]
    assert export.status_code == 400
    assert export["Content-Type"] == "application/json"
    body = json.loads(export.content)
    assert body["field"] == field
    assert message in body["detail"]


def test_operator_csv_is_refused_while_a_rate_is_missing(
    operator_client: Client, sellers: dict[str, Seller]
) -> None:
    response = operator_client.get(
        "/admin/reports/oss/return.csv", {"seller": str(sellers["acme"].pk), **Q2_PARAMS}
    )

    assert response.status_code == 409
    assert json.loads(response.content) == {
        "detail": "No euro exchange rate for USD on 2025-06-30 (1 documents): enter it in admin "
        "(Exchange rates) first.",
        "field": "currency",
        "code": "missing_rate",
    }


def expected_csv(seller_id: int) -> str:
    return (
        "seller_id,section,period,member_state,tax_rate,taxable_amount_eur,vat_eur\r\n"
        f"{seller_id},supply,2025-Q2,DE,7.00,50.00,3.50\r\n"
        f"{seller_id},supply,2025-Q2,DE,19.00,250.00,47.50\r\n"
        f"{seller_id},supply,2025-Q2,FR,20.00,129.68,25.94\r\n"
        f"{seller_id},supply,2025-Q2,IT,22.00,90.91,20.00\r\n"
        f"{seller_id},correction,2025-Q1,DE,,-60.00,-11.40\r\n"
        f"{seller_id},correction,2025-Q1,FR,,-35.84,-7.17\r\n"
    )


def test_operator_csv_has_the_fixed_layout(
    operator_client: Client, sellers: dict[str, Seller]
) -> None:
    rate("USD", date(2025, 6, 30), "1.1")
    acme = sellers["acme"].pk
    page = operator_client.get("/admin/reports/oss/", {"seller": str(acme), **Q2_PARAMS})

    response = operator_client.get(page.context["csv_url"])  # the page's download link

    assert page.context["csv_url"] == (
        f"/admin/reports/oss/return.csv?seller={acme}&year=2025&quarter=2"
    )
    assert 'data-testid="oss-csv"' in page.content.decode()
    assert response.status_code == 200
    assert response["X-Export-Version"] == "1"
    assert (
        response["Content-Disposition"] == f'attachment; filename="oss-return-{acme}-2025-Q2.csv"'
    )
    assert response.content.decode("utf-8") == expected_csv(acme)


def test_staff_without_the_report_permission_get_403(
    client: Client, sellers: dict[str, Seller]
) -> None:
    client.force_login(operator_user())
    params = {"seller": str(sellers["acme"].pk), **Q2_PARAMS}

    assert client.get("/admin/reports/oss/", params).status_code == 403
    assert client.get("/admin/reports/oss/return.csv", params).status_code == 403


# Seller users: their own seller only.


def seller_client(client: Client, seller: Seller) -> Client:
    client.force_login(SellerUserFactory(seller=seller).user)
    return client


def test_seller_user_sees_only_its_own_return(client: Client, sellers: dict[str, Seller]) -> None:
    response = seller_client(client, sellers["bolt"]).get("/seller/reports/oss/", Q2_PARAMS)

    assert response.status_code == 200
    draft = response.context["draft"]
    assert draft.seller == sellers["bolt"]
    assert draft.supplies == [OssSupply("DE", D("19.00"), D("1000.00"), D("190.00"))]
    html = response.content.decode()
    assert "BOLT-1" not in html  # figures, not documents
    assert "Acme" not in html
    assert "250.00" not in html


def test_seller_user_cannot_name_another_seller(client: Client, sellers: dict[str, Seller]) -> None:
    member = seller_client(client, sellers["bolt"])
    params = {"seller": str(sellers["acme"].pk), **Q2_PARAMS}

    page = member.get("/seller/reports/oss/", params)
    export = member.get("/seller/reports/oss/return.csv", params)

    assert page.status_code == 400
    assert page.context["error"].startswith("seller: Unknown parameter 'seller'")
    assert "draft" not in page.context
    assert export.status_code == 400
    assert json.loads(export.content)["field"] == "seller"


def test_seller_csv_is_its_own_return(client: Client, sellers: dict[str, Seller]) -> None:
    rate("USD", date(2025, 6, 30), "1.1")

    response = seller_client(client, sellers["acme"]).get(
        "/seller/reports/oss/return.csv", Q2_PARAMS
    )

    assert response.status_code == 200
    assert response.content.decode("utf-8") == expected_csv(sellers["acme"].pk)


def test_seller_page_opens_on_the_last_complete_quarter(client: Client) -> None:
    seller = SellerFactory()
    today = datetime.now(UTC).date()

    response = seller_client(client, seller).get("/seller/reports/oss/")

    assert response.status_code == 200
    assert response.context["draft"].quarter == Quarter.of(today).previous()


def test_not_a_seller_member_gets_403(client: Client) -> None:
    client.force_login(User.objects.create_user("nobody"))

    assert client.get("/seller/reports/oss/", Q2_PARAMS).status_code == 403


# The operators' rate table in admin.


def test_operators_enter_rates_in_admin_and_bad_ones_are_refused(client: Client) -> None:
    client.force_login(User.objects.create_superuser("root"))
    url = "/admin/reporting/exchangerate/add/"

    added = client.post(url, {"currency": "GBP", "date": "2025-06-30", "units_per_eur": "0.8555"})
    lower = client.post(url, {"currency": "gbp", "date": "2025-06-30", "units_per_eur": "0.86"})
    euro = client.post(url, {"currency": "EUR", "date": "2025-06-30", "units_per_eur": "1"})
    twice = client.post(url, {"currency": "GBP", "date": "2025-06-30", "units_per_eur": "0.86"})

    assert added.status_code == 302
    assert list(ExchangeRate.objects.values_list("currency", "date", "units_per_eur")) == [
        ("GBP", date(2025, 6, 30), D("0.855500"))
    ]
    assert lower.status_code == euro.status_code == twice.status_code == 200  # the form again
    assert "currency" in lower.context["adminform"].form.errors
    assert euro.context["adminform"].form.errors
    assert twice.context["adminform"].form.errors
