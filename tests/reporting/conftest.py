"""Local builders for the reporting tests: rows written straight with the ORM."""

import itertools
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User

from invoicing.models import DocumentKind, Invoice, InvoiceState
from marketplace.models import Checkout, Order, OrderLine, Product
from sellers.models import Seller, SellerStatus

_serial = itertools.count(1)


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
    ) -> Order:
        buyer = make_user(f"buyer{next(_serial)}")
        product = Product.objects.create(
            seller=seller, name="Mug", unit_price=Decimal(net), tax_rate=Decimal("22.00")
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
        )
        OrderLine.objects.create(
            order=order,
            product=product,
            name="Mug",
            quantity=1,
            unit_price=Decimal(net),
            tax_rate=Decimal("22.00"),
            total_net=Decimal(net),
        )
        return order

    return make


@pytest.fixture
def make_invoice() -> Callable[..., Invoice]:
    def make(
        order: Order,
        *,
        number: str,
        on: date,
        state: str = InvoiceState.ISSUED,
        kind: str = DocumentKind.INVOICE,
    ) -> Invoice:
        issued = state == InvoiceState.ISSUED
        assert order.seller.entity_id is not None
        return Invoice.objects.create(
            order=order,
            seller=order.seller,
            entity_id=order.seller.entity_id,
            kind=kind,
            state=state,
            remote_id=f"inv_{number}" if issued else None,
            number=number if issued else "",
            date=on if issued else None,
            currency=order.currency,
            total_net=order.total_net if issued else None,
            total_tax=order.total_tax if issued else None,
            total_gross=order.total_gross if issued else None,
        )

    return make


@pytest.fixture
def ledger(
    make_seller: Callable[..., Seller],
    make_order: Callable[..., Order],
    make_invoice: Callable[..., Invoice],
) -> dict[str, Any]:
    """Two sellers, four issued invoices, and documents the export must leave out."""
    acme = make_seller("Acme, d.o.o.", "ent_acme")
    bolt = make_seller("Bolt GmbH", "ent_bolt", country="AT")
    o1 = make_order(acme, buyer_name='Žiga "Zig" Šuštar', country="SI", net="10.00", tax="2.20")
    o2 = make_order(bolt, buyer_name="=HYPERLINK(1)", country="AT", net="1234.50", tax="246.90")
    o3 = make_order(acme, buyer_name="Ana Novak", country="DE", net="0.10", tax="0.00")
    o4 = make_order(acme, buyer_name="Bo Li", country="FR", currency="USD", net="5", tax="1.1")
    invoices = [
        make_invoice(o1, number="2024-00001", on=date(2024, 1, 31)),
        make_invoice(o2, number="B-7", on=date(2024, 1, 31)),
        make_invoice(o3, number="2024-00002", on=date(2024, 2, 1)),
        make_invoice(o4, number="2024-00003", on=date(2024, 3, 1)),
    ]
    # Left out: a credit note for o1, a pending and a failed invoice.
    make_invoice(o1, number="CN-1", on=date(2024, 2, 1), kind=DocumentKind.CREDIT_NOTE)
    make_invoice(make_order(acme), number="x", on=date(2024, 2, 1), state=InvoiceState.PENDING)
    make_invoice(make_order(bolt), number="y", on=date(2024, 2, 1), state=InvoiceState.FAILED)
    return {"acme": acme, "bolt": bolt, "orders": [o1, o2, o3, o4], "invoices": invoices}


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
