"""Local builders for the reporting tests: rows written straight with the ORM."""

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from invoicing.models import Document, DocumentKind, DocumentLine, DocumentState, DocumentTax
from marketplace.models import Checkout, Order, OrderLine, Product
from reporting.services import rollup_document_issued
from sellers.models import Seller, SellerStatus

_serial = itertools.count(1)
PAID = datetime(2024, 1, 31, 9, 0, tzinfo=UTC)


@pytest.fixture
def make_seller() -> Callable[..., Seller]:
    def make(business_name: str, entity_id: str, country: str = "SI") -> Seller:
        return Seller.objects.create(
            business_name=business_name,
            address="Trg 1",
            post_code="1000",
            city="Ljubljana",
            country=country,
            email=f"{entity_id}@sellers.example",
            status=SellerStatus.ACTIVE,
            entity_id=entity_id,
        )

    return make


@pytest.fixture
def make_user() -> Callable[..., User]:
    def make(username: str, **extra: Any) -> User:
        # No password (unusable, so no slow hashing): the tests log in with force_login.
        return User.objects.create_user(username=username, **extra)

    return make


@pytest.fixture
def make_order(make_user: Callable[..., User]) -> Callable[..., Order]:
    def make(
        seller: Seller,
        *,
        buyer_name: str = "Ana Novak",
        country: str = "DE",
        currency: str = "EUR",
        net: str = "100.00",
        tax: str = "22.00",
        rate: str = "22.00",
        paid_at: datetime | None = None,
    ) -> Order:
        buyer = make_user(f"buyer{next(_serial)}")
        product = Product.objects.create(
            seller=seller, name="Mug", unit_price=Decimal(net), tax_rate=Decimal(rate)
        )
        checkout = Checkout.objects.create(buyer=buyer)
        order = Order.objects.create(
            checkout=checkout,
            seller=seller,
            buyer=buyer,
            buyer_name=buyer_name,
            buyer_email="buyer@example.com",
            billing_address="Hauptstr. 1",
            billing_post_code="10115",
            billing_city="Berlin",
            billing_country=country,
            currency=currency,
            total_net=Decimal(net),
            total_tax=Decimal(tax),
            total_gross=Decimal(net) + Decimal(tax),
            paid_at=paid_at,
        )
        OrderLine.objects.create(
            order=order,
            product=product,
            name="Mug",
            quantity=1,
            unit_price=Decimal(net),
            tax_rate=Decimal(rate),
            total_net=Decimal(net),
        )
        return order

    return make


@pytest.fixture
def make_invoice() -> Callable[..., Document]:
    """An invoice of the whole order, or with `credits` a credit note of that whole invoice.

    An issued document gets its tax summary and lines; `to_issue` is the time from the order's
    payment (the invoice point in these tests) to the issue.
    """

    def make(
        order: Order,
        *,
        number: str,
        on: date,
        state: str = DocumentState.ISSUED,
        credits: Document | None = None,
        to_issue: timedelta = timedelta(minutes=1),
    ) -> Document:
        issued = state == DocumentState.ISSUED
        seller = order.seller
        assert seller.entity_id is not None
        domestic = seller.country == order.billing_country
        document = Document.objects.create(
            order=order,
            seller=seller,
            entity_id=seller.entity_id,
            kind=DocumentKind.CREDIT_NOTE if credits else DocumentKind.INVOICE,
            credited_invoice=credits,
            state=state,
            remote_id=f"inv_{number}" if issued else None,
            number=number if issued else "",
            date=on if issued else None,
            currency=order.currency,
            total_net=order.total_net if issued else None,
            total_tax=order.total_tax if issued else None,
            total_gross=order.total_gross if issued else None,
            transaction_type="domestic" if domestic else "intra_eu_b2c",
            seller_country=str(seller.country),
            buyer_country=str(order.billing_country),
            issued_at=order.paid_at + to_issue if issued and order.paid_at else None,
        )
        if issued:
            line = order.lines.get()
            DocumentTax.objects.create(
                document=document, rate=line.tax_rate, base=order.total_net, amount=order.total_tax
            )
            DocumentLine.objects.create(
                document=document,
                order_line=line,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                total_net=line.total_net,
            )
            rollup_document_issued(document=document)  # as invoicing's _mirror does
        return document

    return make


@pytest.fixture
def ledger(
    make_seller: Callable[..., Seller],
    make_order: Callable[..., Order],
    make_invoice: Callable[..., Document],
) -> dict[str, Any]:
    """Two sellers, four issued invoices, a credit note, and documents reports leave out.

    Orders 1-3 were paid at PAID (the invoice point), order 4 has no payment time.
    """
    acme = make_seller("Acme, d.o.o.", "ent_acme")
    bolt = make_seller("Bolt GmbH", "ent_bolt", country="AT")
    o1 = make_order(
        acme, buyer_name='Žiga "Zig" Šuštar', country="SI", net="10.00", tax="2.20", paid_at=PAID
    )
    o2 = make_order(
        bolt, buyer_name="=HYPERLINK(1)", country="AT", net="1234.50", tax="246.90", paid_at=PAID
    )
    o3 = make_order(
        acme,
        buyer_name="Ana Novak",
        country="DE",
        net="0.10",
        tax="0.00",
        rate="0.00",
        paid_at=PAID,
    )
    o4 = make_order(acme, buyer_name="Bo Li", country="FR", currency="USD", net="5", tax="1.1")
    invoices = [
        make_invoice(o1, number="2024-00001", on=date(2024, 1, 31)),
        make_invoice(o2, number="B-7", on=date(2024, 1, 31), to_issue=timedelta(minutes=5)),
        make_invoice(o3, number="2024-00002", on=date(2024, 2, 1), to_issue=timedelta(minutes=3)),
        make_invoice(o4, number="2024-00003", on=date(2024, 3, 1)),
    ]
    # The credit note of invoice 1 counts in February, when it was issued.
    credit_note = make_invoice(o1, number="CN-1", on=date(2024, 2, 1), credits=invoices[0])
    # Never in reports or exports: a pending and a failed invoice.
    make_invoice(make_order(acme), number="x", on=date(2024, 2, 1), state=DocumentState.PENDING)
    make_invoice(make_order(bolt), number="y", on=date(2024, 2, 1), state=DocumentState.FAILED)
    return {
        "acme": acme,
        "bolt": bolt,
        "orders": [o1, o2, o3, o4],
        "invoices": invoices,
        "credit_note": credit_note,
    }


@pytest.fixture
def expected_csv(ledger: dict[str, Any]) -> Callable[[list[int]], str]:
    """The exact CSV text for the chosen ledger invoices (1-based), written out by hand."""
    return lambda rows: _expected_csv(ledger, rows)


def _expected_csv(ledger: dict[str, Any], rows: list[int]) -> str:
    acme, bolt = ledger["acme"].pk, ledger["bolt"].pk
    o1, o2, o3, o4 = ledger["orders"]
    lines = {
        1: f'{acme},"Acme, d.o.o.",ent_acme,2024-00001,2024-01-31,{o1.pk},{o1.checkout_id},'
        f'"Žiga ""Zig"" Šuštar",SI,EUR,10.00,2.20,12.20,inv_2024-00001\r\n',
        2: f"{bolt},Bolt GmbH,ent_bolt,B-7,2024-01-31,{o2.pk},{o2.checkout_id},"
        f"'=HYPERLINK(1),AT,EUR,1234.50,246.90,1481.40,inv_B-7\r\n",
        3: f'{acme},"Acme, d.o.o.",ent_acme,2024-00002,2024-02-01,{o3.pk},{o3.checkout_id},'
        f"Ana Novak,DE,EUR,0.10,0.00,0.10,inv_2024-00002\r\n",
        4: f'{acme},"Acme, d.o.o.",ent_acme,2024-00003,2024-03-01,{o4.pk},{o4.checkout_id},'
        f"Bo Li,FR,USD,5.00,1.10,6.10,inv_2024-00003\r\n",
    }
    header = (
        "seller_id,seller_name,entity_id,invoice_number,invoice_date,order_id,checkout_id,"
        "buyer_name,buyer_country,currency,total_net,total_tax,total_gross,remote_id\r\n"
    )
    return header + "".join(lines[row] for row in rows)
