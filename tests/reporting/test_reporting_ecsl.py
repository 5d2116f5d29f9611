"""The EC Sales List: figures computed by hand, the operators' and the sellers' pages and CSV,
seller isolation and bad input."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from core.errors import ApplicationError
from invoicing.models import Document, DocumentKind, DocumentLine, DocumentState
from marketplace.models import Checkout, Order, OrderLine, Product, SupplyKind
from reporting.filings.ecsl import (
    EcslExclusion,
    EcslRow,
    Quarter,
    ec_sales_list,
    quarter_parse,
    vat_number_normalise,
)
from sellers.models import Seller, SellerUser

pytestmark = pytest.mark.django_db

GOODS, SERVICES = SupplyKind.GOODS, SupplyKind.SERVICES
Q1 = {"quarter": "2026-Q1"}


def _document(
    seller: Seller,
    number: str,
    on: date,
    *,
    country: str,
    vat: str = "",
    lines: list[tuple[str, str]],
    transaction_type: str = "intra_eu_b2b",
    currency: str = "EUR",
    voided: bool = False,
) -> Document:
    """An issued invoice of a new order, one order line per (supply kind, net)."""
    buyer = User.objects.create_user(username=f"buyer-{number}")
    net = sum((D(amount) for _, amount in lines), D(0))
    order = Order.objects.create(
        checkout=Checkout.objects.create(buyer=buyer),
        seller=seller,
        buyer=buyer,
        buyer_name="Buyer",
        buyer_email="buyer@example.com",
        billing_address="Street 1",
        billing_post_code="1000",
        billing_city="City",
        billing_country=country,
        buyer_vat_number=vat,
        currency=currency,
        total_net=net,
        total_tax=D(0),
        total_gross=net,
    )
    invoice = _issued(seller, order, number, on, net, transaction_type, vat, voided=voided)
    for kind, amount in lines:
        product = Product.objects.create(
            seller=seller, name=kind, unit_price=D(amount), supply_kind=kind
        )
        line = OrderLine.objects.create(
            order=order,
            product=product,
            name=kind,
            quantity=1,
            unit_price=D(amount),
            tax_rate=D(0),
            total_net=D(amount),
            supply_kind=kind,
        )
        _line(invoice, line, amount)
    return invoice


def _issued(
    seller: Seller,
    order: Order,
    number: str,
    on: date,
    net: D,
    transaction_type: str,
    vat: str,
    *,
    credits: Document | None = None,
    voided: bool = False,
) -> Document:
    b2b = transaction_type == "intra_eu_b2b"
    return Document.objects.create(
        order=order,
        seller=seller,
        entity_id=seller.entity_id or "",
        kind=DocumentKind.CREDIT_NOTE if credits else DocumentKind.INVOICE,
        credited_invoice=credits,
        state=DocumentState.ISSUED,
        remote_id=f"r-{seller.pk}-{number}",
        number=number,
        date=on,
        currency=order.currency,
        total_net=net,
        total_tax=D(0),
        total_gross=net,
        transaction_type=transaction_type,
        reverse_charge=b2b,
        rate_source="zero" if b2b else "seller",
        customer_is_end_consumer=not vat,
        customer_tax_number=vat,
        seller_country=str(seller.country),
        buyer_country=str(order.billing_country),
        voided_at=datetime(2026, 3, 1, tzinfo=UTC) if voided else None,
    )


def _line(document: Document, order_line: OrderLine | None, amount: str) -> None:
    DocumentLine.objects.create(
        document=document,
        order_line=order_line,
        name="line",
        quantity=1,
        unit_price=D(amount),
        tax_rate=D(0),
        total_net=D(amount),
    )


def _credit_note(
    invoice: Document, number: str, on: date, amount: str, kind: str | None
) -> Document:
    """A credit note of `amount`: of the invoice's line of `kind`, or a balance line (None)."""
    note = _issued(
        invoice.seller,
        invoice.order,
        number,
        on,
        D(amount),
        invoice.transaction_type,
        invoice.customer_tax_number,
        credits=invoice,
    )
    order_line = invoice.order.lines.get(supply_kind=kind) if kind else None
    _line(note, order_line, amount)
    return note


@pytest.fixture
def sellers(make_seller: Callable[..., Seller]) -> dict[str, Seller]:
    acme = make_seller("Acme, d.o.o.", "ent_acme")
    acme.tax_number = "SI12345679"
    acme.save()
    return {"acme": acme, "bolt": make_seller("Bolt GmbH", "ent_bolt", country="AT")}


@pytest.fixture
def books(sellers: dict[str, Seller]) -> dict[str, Document]:
    """Acme (SI) in 2026-Q1 and Q2, and one document of Bolt (AT)."""
    acme, bolt = sellers["acme"], sellers["bolt"]
    a1 = _document(
        acme, "A1", date(2026, 1, 15), country="DE", vat="de 136 695 976",
        lines=[(GOODS, "1000.00"), (SERVICES, "250.00")],
    )  # fmt: skip
    a2 = _document(
        acme, "A2", date(2026, 2, 10), country="DE", vat="DE136695976", lines=[(GOODS, "300.40")]
    )
    _document(
        acme, "A3", date(2026, 3, 31), country="FR", vat="FR40303265045",
        lines=[(SERVICES, "80.05")],
    )  # fmt: skip
    _document(
        acme, "A4", date(2026, 3, 5), country="XI", vat="XI980780684", lines=[(GOODS, "60.00")]
    )
    # Left out with a warning: a service to Northern Ireland, a sale in USD.
    _document(
        acme, "A5", date(2026, 3, 6), country="XI", vat="XI980780684", lines=[(SERVICES, "15.00")]
    )
    _document(
        acme, "A6", date(2026, 3, 7), country="FR", vat="FR40303265045", currency="USD",
        lines=[(GOODS, "40.00")],
    )  # fmt: skip
    # Never listed: a domestic sale to a business, a consumer in Germany, a voided invoice,
    # an invoice of 2025-Q4, and Bolt's sale to the same German customer.
    _document(
        acme, "D1", date(2026, 1, 20), country="SI", vat="SI50223054",
        lines=[(GOODS, "500.00")], transaction_type="domestic",
    )  # fmt: skip
    _document(
        acme, "C1", date(2026, 1, 21), country="DE", lines=[(GOODS, "70.00")],
        transaction_type="intra_eu_b2c",
    )  # fmt: skip
    _document(
        acme, "V1", date(2026, 2, 1), country="FR", vat="FR40303265045",
        lines=[(GOODS, "999.00")], voided=True,
    )  # fmt: skip
    _document(
        acme, "P1", date(2025, 12, 31), country="DE", vat="DE136695976", lines=[(GOODS, "11.00")]
    )
    _document(
        bolt, "B1", date(2026, 2, 2), country="DE", vat="DE136695976", lines=[(GOODS, "777.00")]
    )
    # A2 partly credited in Q1 by amount (a balance line: A2 sold goods only); A1's goods
    # partly credited in Q2.
    _credit_note(a2, "CN1", date(2026, 3, 20), "100.20", None)
    _credit_note(a1, "CN2", date(2026, 4, 2), "200.00", GOODS)
    return {"a1": a1, "a2": a2}


# Hand-computed: DE goods 1000.00 + 300.40 - 100.20 = 1200.20 (A1, A2, CN1); DE services
# 250.00 (A1); FR services 80.05 (A3); XI goods 60.00 (A4).
Q1_ROWS = [
    EcslRow("DE", "DE136695976", GOODS, D("1200.20"), 2, 1),
    EcslRow("DE", "DE136695976", SERVICES, D("250.00"), 1, 0),
    EcslRow("FR", "FR40303265045", SERVICES, D("80.05"), 1, 0),
    EcslRow("XI", "XI980780684", GOODS, D("60.00"), 1, 0),
]
Q1_EXCLUSIONS = [
    EcslExclusion(
        "A5",
        "invoice",
        date(2026, 3, 6),
        "EUR",
        D("15.00"),
        "a service between SI and XI is not an intra-EU supply of services",
    ),
    EcslExclusion(
        "A6",
        "invoice",
        date(2026, 3, 7),
        "USD",
        D("40.00"),
        "in USD: the mirror keeps no EUR exchange rate for it, so it is not converted",
    ),
]
Q1_CSV = (
    "seller_id,seller_tax_number,quarter,customer_country,customer_vat_number,supply_kind,"
    "net_eur,invoice_count,credit_note_count\r\n"
    "{acme},SI12345679,2026-Q1,DE,DE136695976,goods,1200.20,2,1\r\n"
    "{acme},SI12345679,2026-Q1,DE,DE136695976,services,250.00,1,0\r\n"
    "{acme},SI12345679,2026-Q1,FR,FR40303265045,services,80.05,1,0\r\n"
    "{acme},SI12345679,2026-Q1,XI,XI980780684,goods,60.00,1,0\r\n"
)


def test_the_quarters_list_nets_credit_notes_per_customer_and_kind(
    sellers: dict[str, Seller], books: dict[str, Document]
) -> None:
    listing = ec_sales_list(seller=sellers["acme"], quarter=Quarter(2026, 1))

    assert listing.rows == Q1_ROWS
    assert listing.exclusions == Q1_EXCLUSIONS
    assert listing.totals == {"goods": D("1260.20"), "services": D("330.05")}


def test_a_credit_note_reduces_the_quarter_of_its_own_date(
    sellers: dict[str, Seller], books: dict[str, Document]
) -> None:
    listing = ec_sales_list(seller=sellers["acme"], quarter=Quarter(2026, 2))

    assert listing.rows == [EcslRow("DE", "DE136695976", GOODS, D("-200.00"), 0, 1)]
    assert listing.exclusions == []


def test_another_sellers_list_has_only_its_documents(
    sellers: dict[str, Seller], books: dict[str, Document]
) -> None:
    listing = ec_sales_list(seller=sellers["bolt"], quarter=Quarter(2026, 1))

    assert listing.rows == [EcslRow("DE", "DE136695976", GOODS, D("777.00"), 1, 0)]


def test_a_credit_note_without_lines_takes_its_invoices_kind(
    sellers: dict[str, Seller], books: dict[str, Document]
) -> None:
    # As one made in the seller's dashboard arrives by webhook: A2 sold goods only.
    a2 = books["a2"]
    _issued(
        a2.seller, a2.order, "CN4", date(2026, 6, 30), D("0.40"), "intra_eu_b2b",
        a2.customer_tax_number, credits=a2,
    )  # fmt: skip

    listing = ec_sales_list(seller=sellers["acme"], quarter=Quarter(2026, 2))

    assert listing.rows == [EcslRow("DE", "DE136695976", GOODS, D("-200.40"), 0, 2)]


def test_mixed_kinds_whose_lines_do_not_add_up_are_left_out(
    sellers: dict[str, Seller], books: dict[str, Document]
) -> None:
    # A credit note by amount of A1, which sold goods and services: its kind cannot be told.
    _credit_note(books["a1"], "CN3", date(2026, 5, 1), "10.00", None)

    listing = ec_sales_list(seller=sellers["acme"], quarter=Quarter(2026, 2))

    assert listing.exclusions == [
        EcslExclusion(
            "CN3",
            "credit_note",
            date(2026, 5, 1),
            "EUR",
            D("-10.00"),
            "mixes goods and services in amounts its lines do not split",
        )
    ]


@pytest.mark.parametrize(
    ("text", "quarter"),
    [("2026-Q1", Quarter(2026, 1)), (" 2026-q4 ", Quarter(2026, 4))],
)
def test_quarter_parse(text: str, quarter: Quarter) -> None:
    assert quarter_parse(text) == quarter
    assert (quarter.first_day, quarter.last_day) == {
        1: (date(2026, 1, 1), date(2026, 3, 31)),
        4: (date(2026, 10, 1), date(2026, 12, 31)),
    }[quarter.number]


@pytest.mark.parametrize("text", ["2026-Q5", "2026-Q0", "2026Q1", "Q1-2026", "", "0000-Q1"])
def test_a_bad_quarter_is_refused_naming_it(text: str) -> None:
    with pytest.raises(ApplicationError) as raised:
        quarter_parse(text)
    assert raised.value.field == "quarter"


@pytest.mark.parametrize(
    ("number", "country", "normalised"),
    [
        ("de 136.695.976", "DE", "DE136695976"),
        ("136695976", "DE", "DE136695976"),
        ("094259216", "GR", "EL094259216"),
        ("el-094259216", "GR", "EL094259216"),
    ],
)
def test_vat_numbers_are_normalised_with_their_prefix(
    number: str, country: str, normalised: str
) -> None:
    assert vat_number_normalise(number, country) == normalised


# The pages and the CSV.


@pytest.fixture
def operator_client(client: Client, make_user: Callable[..., User]) -> Client:
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    return client


def _member_client(client: Client, make_user: Callable[..., User], seller: Seller) -> Client:
    user = make_user(f"staff-{seller.pk}")
    SellerUser.objects.create(user=user, seller=seller)
    client.force_login(user)
    return client


def test_operators_page_shows_the_list_and_the_exclusions(
    operator_client: Client, sellers: dict[str, Seller], books: dict[str, Document]
) -> None:
    response = operator_client.get(
        "/admin/reports/ec-sales-list/", {"seller": sellers["acme"].pk, **Q1}
    )

    assert response.status_code == 200
    assert response.context["listing"].rows == Q1_ROWS
    content = response.content.decode()
    assert "2 document amounts left out of this list" in content
    assert "A6 (invoice, 2026-03-07): 40.00 USD, in USD: the mirror keeps no EUR" in content


def test_operators_csv_is_the_versioned_layout(
    operator_client: Client, sellers: dict[str, Seller], books: dict[str, Document]
) -> None:
    response = operator_client.get(
        "/admin/reports/ec-sales-list/export.csv", {"seller": sellers["acme"].pk, **Q1}
    )

    assert response.status_code == 200
    assert response["X-Export-Version"] == "1"
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode() == Q1_CSV.format(acme=sellers["acme"].pk)


def test_the_operators_empty_form_answers_200(operator_client: Client) -> None:
    response = operator_client.get("/admin/reports/ec-sales-list/")

    assert response.status_code == 200
    assert "listing" not in response.context


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"seller": "{acme}", "quarter": "2026-Q5"}, "quarter"),
        ({"seller": "{acme}"}, "quarter"),
        ({"quarter": "2026-Q1"}, "seller"),
        ({"seller": "abc", "quarter": "2026-Q1"}, "seller"),
        ({"seller": "{acme}", "quarter": "2026-Q1", "date_from": "2026-01-01"}, "date_from"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    operator_client: Client, sellers: dict[str, Seller], params: dict[str, str], field: str
) -> None:
    query = {name: value.format(acme=sellers["acme"].pk) for name, value in params.items()}

    page = operator_client.get("/admin/reports/ec-sales-list/", query)
    download = operator_client.get("/admin/reports/ec-sales-list/export.csv", query)

    assert page.status_code == 400
    assert page.context["error"].startswith(f"{field}: ")
    assert download.status_code == 400
    assert download["Content-Type"] == "application/json"
    assert json.loads(download.content)["field"] == field


def test_staff_without_the_report_permission_are_refused(
    client: Client, make_user: Callable[..., User], sellers: dict[str, Seller]
) -> None:
    user = make_user("clerk", is_staff=True)
    client.force_login(user)
    query = {"seller": sellers["acme"].pk, **Q1}

    assert client.get("/admin/reports/ec-sales-list/", query).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_reports"))
    assert client.get("/admin/reports/ec-sales-list/", query).status_code == 200
    assert client.get("/admin/reports/ec-sales-list/export.csv", query).status_code == 403


def test_a_seller_user_sees_its_own_sellers_list_only(
    client: Client,
    make_user: Callable[..., User],
    sellers: dict[str, Seller],
    books: dict[str, Document],
) -> None:
    bolt_client = _member_client(client, make_user, sellers["bolt"])

    page = bolt_client.get("/seller/reports/ec-sales-list/", Q1)
    download = bolt_client.get("/seller/reports/ec-sales-list/export.csv", Q1)
    naming_acme = bolt_client.get(
        "/seller/reports/ec-sales-list/export.csv", {"seller": sellers["acme"].pk, **Q1}
    )

    assert page.status_code == 200
    assert page.context["listing"].rows == [EcslRow("DE", "DE136695976", GOODS, D("777.00"), 1, 0)]
    # Acme's DE goods row (1200.20) is nowhere on the page (a bare "A1" could match a token).
    assert "1200.20" not in page.content.decode()
    assert "1,200.20" not in page.content.decode()
    assert download.content.decode() == (
        "seller_id,seller_tax_number,quarter,customer_country,customer_vat_number,supply_kind,"
        "net_eur,invoice_count,credit_note_count\r\n"
        f"{sellers['bolt'].pk},,2026-Q1,DE,DE136695976,goods,777.00,1,0\r\n"
    )
    assert naming_acme.status_code == 400
    assert json.loads(naming_acme.content)["field"] == "seller"


def test_acmes_user_downloads_acmes_list(
    client: Client,
    make_user: Callable[..., User],
    sellers: dict[str, Seller],
    books: dict[str, Document],
) -> None:
    acme_client = _member_client(client, make_user, sellers["acme"])

    download = acme_client.get("/seller/reports/ec-sales-list/export.csv", Q1)
    bad = acme_client.get("/seller/reports/ec-sales-list/", {"quarter": "2026-Q5"})

    assert download.content.decode() == Q1_CSV.format(acme=sellers["acme"].pk)
    assert bad.status_code == 400
    assert bad.context["error"].startswith("quarter: ")


def test_a_user_without_a_seller_is_refused(
    client: Client, make_user: Callable[..., User], books: dict[str, Document]
) -> None:
    client.force_login(make_user("buyer"))

    assert client.get("/seller/reports/ec-sales-list/", Q1).status_code == 403
    assert client.get("/seller/reports/ec-sales-list/export.csv", Q1).status_code == 403
