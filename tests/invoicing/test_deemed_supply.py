"""Deemed-supplier sales (Article 14a): checkout, the operator's invoice to the buyer from its
deemed-sales entity, its credit notes, and the seller's exempt supply to the operator."""

from decimal import Decimal

import pytest
from django.utils import timezone

from invoicing.commission_invoices import payout_statements
from invoicing.deemed_supply import SUPPLY_TO_OPERATOR_NOTE
from invoicing.models import (
    Document,
    DocumentKind,
    DocumentPurpose,
    DocumentState,
    Finding,
    OperatorEntity,
)
from invoicing.operator import operator_entity_ensure
from invoicing.reconciliation import reconcile
from marketplace import services as orders
from marketplace.models import Checkout, Order, OrderLine
from marketplace.tax import IOSS_NOTE, OSS_NOTE
from reporting.filings.oss import Quarter, oss_documents
from tests.factories import BILLING, ProductFactory, UserFactory, paid_order, seller_with_entity

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year
GERMAN_CONSUMER = orders.BillingDetails(
    name="Lena Weber",
    email="lena@example.com",
    address="Hauptstraße 1",
    post_code="10115",
    city="Berlin",
    country="DE",
)


@pytest.fixture
def american(operator):
    return seller_with_entity(business_name="Maple & Co", country="US", tax_number="123456789")


def test_the_operator_has_a_second_entity_numbering_deemed_sales_apart(operator, sandbox):
    entity = sandbox.client().entity_get(entity_id=operator.deemed_entity_id)

    assert operator.deemed_entity_id not in ("", operator.entity_id)
    assert entity["name"] == "Marketplace d.o.o."
    assert entity["country_code"] == "SI"
    assert entity["settings"]["number_formats"]["invoice"] == "{yyyy}-{nnnnn}"
    assert entity["settings"]["number_formats"]["credit_note"] == "CN-{yyyy}-{nnnnn}"
    assert entity["metadata"] == {"role": "marketplace_operator_deemed_sales"}
    assert operator_entity_ensure().deemed_entity_id == operator.deemed_entity_id
    assert OperatorEntity.objects.count() == 1


def test_goods_in_the_eu_of_a_seller_outside_it_are_invoiced_by_the_operator_with_oss(
    american, operator, sandbox, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(
        seller=american, name="Lamp", unit_price=Decimal("50.00"), ships_from="DE"
    )

    order = paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (lamp, 2))

    assert (order.deemed_supply, order.transaction_type, order.tax_note) == (
        "oss",
        "intra_eu_b2c",
        OSS_NOTE.format(country="DE"),
    )
    assert (order.total_net, order.total_tax, order.total_gross) == (
        Decimal("100.00"),
        Decimal("19.00"),
        Decimal("119.00"),
    )
    invoice = Document.objects.get(order=order, purpose=DocumentPurpose.SALE)
    assert (invoice.state, invoice.entity_id, invoice.number) == (
        DocumentState.ISSUED,
        operator.deemed_entity_id,
        f"{YEAR}-00001",
    )
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        Decimal("100.00"),
        Decimal("19.00"),
        Decimal("119.00"),
    )
    remote = sandbox.client().invoice_get(
        entity_id=operator.deemed_entity_id, invoice_id=invoice.remote_id
    )
    assert remote["transaction_type"] == "intra_eu_b2c"
    assert remote["note"] == OSS_NOTE.format(country="DE")
    assert remote["customer"]["name"] == "Lena Weber"
    assert remote["total_paid"] == Decimal("119.00")

    supply = Document.objects.get(order=order, purpose=DocumentPurpose.SUPPLY_TO_OPERATOR)
    assert (supply.state, supply.entity_id, supply.kind, supply.number) == (
        DocumentState.ISSUED,
        american.entity_id,
        DocumentKind.INVOICE,
        f"{YEAR}-00001",
    )
    assert (supply.total_net, supply.total_tax, supply.total_gross) == (
        Decimal("100.00"),
        Decimal("0.00"),
        Decimal("100.00"),
    )
    remote_supply = sandbox.client().invoice_get(
        entity_id=american.entity_id, invoice_id=supply.remote_id
    )
    assert remote_supply["customer"]["name"] == "Marketplace d.o.o."
    assert remote_supply["customer"]["tax_number"] == "SI12345679"
    assert remote_supply["transaction_type"] == supply.transaction_type == "3w_b2b"
    assert remote_supply["note"] == SUPPLY_TO_OPERATOR_NOTE
    assert remote_supply["total_paid"] == Decimal("0")
    # Nothing of the sale in the operator's commission entity.
    assert not Document.objects.filter(entity_id=operator.entity_id).exists()


def test_a_refund_of_a_deemed_sale_is_credited_by_the_operators_deemed_sales_entity(
    american, operator, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(seller=american, unit_price=Decimal("50.00"), ships_from="DE")
    order = paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (lamp, 2))
    line = OrderLine.objects.get(order=order)

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(line.pk, 1)])

    credit_note = Document.objects.get(
        order=order, kind=DocumentKind.CREDIT_NOTE, purpose=DocumentPurpose.SALE
    )
    assert (credit_note.state, credit_note.entity_id, credit_note.number) == (
        DocumentState.ISSUED,
        operator.deemed_entity_id,
        f"CN-{YEAR}-00001",
    )
    assert credit_note.total_gross == Decimal("59.50")
    assert credit_note.credited_invoice == Document.objects.get(
        order=order, purpose=DocumentPurpose.SALE, kind=DocumentKind.INVOICE
    )
    supply_credit = Document.objects.get(
        order=order, kind=DocumentKind.CREDIT_NOTE, purpose=DocumentPurpose.SUPPLY_TO_OPERATOR
    )
    assert (supply_credit.state, supply_credit.entity_id, supply_credit.total_gross) == (
        DocumentState.ISSUED,
        american.entity_id,
        Decimal("50.00"),
    )
    assert supply_credit.credited_invoice == Document.objects.get(
        order=order, purpose=DocumentPurpose.SUPPLY_TO_OPERATOR, kind=DocumentKind.INVOICE
    )


def test_cancelling_a_deemed_sale_credits_the_buyers_invoice_and_the_sellers_supply(
    american, operator, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(seller=american, unit_price=Decimal("50.00"), ships_from="DE")
    order = paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (lamp, 2))

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    credit_notes = Document.objects.filter(order=order, kind=DocumentKind.CREDIT_NOTE)
    assert sorted(credit_notes.values_list("purpose", "entity_id", "state", "total_gross")) == [
        (DocumentPurpose.SALE, operator.deemed_entity_id, DocumentState.ISSUED, Decimal("119.00")),
        (
            DocumentPurpose.SUPPLY_TO_OPERATOR,
            american.entity_id,
            DocumentState.ISSUED,
            Decimal("100.00"),
        ),
    ]


def test_an_imported_consignment_up_to_150_euro_is_the_operators_sale_with_ioss(
    american, operator, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(seller=american, unit_price=Decimal("75.00"))

    order = paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (lamp, 2))

    assert (order.deemed_supply, order.tax_note, order.total_gross) == (
        "ioss",
        IOSS_NOTE.format(country="DE"),
        Decimal("178.50"),
    )
    invoice = Document.objects.get(order=order, purpose=DocumentPurpose.SALE)
    assert (invoice.entity_id, invoice.number, invoice.total_tax) == (
        operator.deemed_entity_id,
        f"{YEAR}-00001",
        Decimal("28.50"),
    )
    assert Document.objects.filter(
        order=order, purpose=DocumentPurpose.SUPPLY_TO_OPERATOR, entity_id=american.entity_id
    ).exists()


def test_an_imported_consignment_over_150_euro_is_refused_and_nothing_is_written(
    american, operator
):
    lamp = ProductFactory(seller=american, unit_price=Decimal("75.01"))

    with pytest.raises(orders.ApplicationError) as refused:
        orders.checkout_create(
            buyer=UserFactory(), lines=[orders.CartLine(lamp.pk, 2)], billing=GERMAN_CONSUMER
        )

    assert (refused.value.field, refused.value.code) == ("lines[0].product_id", "deemed_supplier")
    assert "consignment of EUR 150.02, over EUR 150.00" in refused.value.message
    assert (Checkout.objects.count(), Order.objects.count(), Document.objects.count()) == (0, 0, 0)


def test_an_imported_consignment_not_in_euro_is_refused(american, operator):
    lamp = ProductFactory(seller=american, unit_price=Decimal("10.00"), currency="USD")

    with pytest.raises(orders.ApplicationError) as refused:
        orders.checkout_create(
            buyer=UserFactory(), lines=[orders.CartLine(lamp.pk, 1)], billing=GERMAN_CONSUMER
        )

    assert refused.value.field == "lines[0].product_id"
    assert "priced in USD" in refused.value.message
    assert Order.objects.count() == 0


def test_one_sellers_goods_from_two_places_are_refused_naming_the_line(american, operator):
    lamp = ProductFactory(seller=american, ships_from="DE")
    chair = ProductFactory(seller=american)

    with pytest.raises(orders.ApplicationError) as refused:
        orders.checkout_create(
            buyer=UserFactory(),
            lines=[orders.CartLine(lamp.pk, 1), orders.CartLine(chair.pk, 1)],
            billing=GERMAN_CONSUMER,
        )

    assert (refused.value.field, refused.value.code) == ("lines[0].product_id", "mixed_origin")
    assert Order.objects.count() == 0


def test_a_deemed_sale_waits_for_the_operators_entity_and_is_issued_with_it(
    settings, sandbox, django_capture_on_commit_callbacks
):
    settings.OPERATOR_NAME = "Marketplace d.o.o."
    settings.OPERATOR_COUNTRY = "SI"
    american = seller_with_entity(business_name="Maple & Co", country="US", tax_number="123456789")
    lamp = ProductFactory(seller=american, unit_price=Decimal("50.00"), ships_from="DE")
    order = paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (lamp, 1))
    invoice = Document.objects.get(order=order, purpose=DocumentPurpose.SALE)
    assert (invoice.state, invoice.entity_id) == (DocumentState.PENDING, "")

    with django_capture_on_commit_callbacks(execute=True):
        operator = operator_entity_ensure()

    invoice.refresh_from_db()
    assert (invoice.state, invoice.entity_id, invoice.number) == (
        DocumentState.ISSUED,
        operator.deemed_entity_id,
        f"{YEAR}-00001",
    )


def test_an_eu_sellers_sale_to_an_eu_consumer_stays_the_sellers(
    operator, django_capture_on_commit_callbacks
):
    slovenian = seller_with_entity(business_name="Lonček d.o.o.")
    mug = ProductFactory(seller=slovenian, unit_price=Decimal("10.00"))

    order = paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (mug, 1))

    assert order.deemed_supply == ""
    assert list(Document.objects.filter(order=order).values_list("purpose", "entity_id")) == [
        (DocumentPurpose.SALE, slovenian.entity_id)
    ]


def test_a_non_eu_sellers_sale_to_an_eu_business_stays_its_own(
    american, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(seller=american, unit_price=Decimal("50.00"), ships_from="DE")
    billing = orders.BillingDetails(
        **{**vars(BILLING), "company": "Novak d.o.o.", "vat_number": "SI50223054"}
    )

    order = paid_order(billing, django_capture_on_commit_callbacks, (lamp, 1))

    assert (order.deemed_supply, order.transaction_type) == ("", "3w_b2b")
    assert list(Document.objects.filter(order=order).values_list("purpose", "entity_id")) == [
        (DocumentPurpose.SALE, american.entity_id)
    ]


def test_a_sale_to_a_buyer_outside_the_eu_is_no_deemed_supply(
    american, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(seller=american, unit_price=Decimal("50.00"), ships_from="DE")
    billing = orders.BillingDetails(**{**vars(BILLING), "country": "CH"})

    order = paid_order(billing, django_capture_on_commit_callbacks, (lamp, 1))

    assert (order.deemed_supply, order.transaction_type) == ("", "3w_b2c")
    assert Document.objects.get(order=order).entity_id == american.entity_id


def test_reconciling_the_sellers_entity_finds_its_supply_and_nothing_amiss(
    american, operator, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(seller=american, unit_price=Decimal("50.00"), ships_from="DE")
    paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (lamp, 1))

    assert reconcile(full=True) == []
    assert not Finding.objects.exists()


def test_the_sellers_oss_return_leaves_out_the_operators_deemed_sale(
    american, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(seller=american, unit_price=Decimal("50.00"), ships_from="DE")
    order = paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (lamp, 1))
    invoice = Document.objects.get(order=order, purpose=DocumentPurpose.SALE)
    assert (invoice.state, invoice.transaction_type, invoice.rate_source) == (
        DocumentState.ISSUED,
        "intra_eu_b2c",
        "buyer_country",
    )

    assert list(oss_documents(seller=american, quarter=Quarter.of(invoice.date))) == []


def test_the_sellers_payout_counts_its_supply_not_the_operators_vat(
    american, django_capture_on_commit_callbacks
):
    lamp = ProductFactory(seller=american, unit_price=Decimal("50.00"), ships_from="DE")
    order = paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (lamp, 2))
    line = OrderLine.objects.get(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(line.pk, 1)])
    invoice = Document.objects.get(order=order, purpose=DocumentPurpose.SALE, kind="invoice")

    [statement] = payout_statements(seller=american, period_start=invoice.date.replace(day=1))

    # 2 x 50.00 sold at 19 % German VAT (119.00 invoiced), 1 refunded (59.50 credited): the
    # seller is owed the net, the VAT is the operator's.
    assert (statement.currency, statement.sales_gross, statement.refunds_gross) == (
        "EUR",
        Decimal("100.00"),
        Decimal("50.00"),
    )


def test_the_buyer_downloads_the_operators_invoice_but_not_the_sellers_supply_to_it(
    american, operator, sandbox, django_capture_on_commit_callbacks, client
):
    lamp = ProductFactory(
        seller=american, name="Lamp", unit_price=Decimal("50.00"), ships_from="DE"
    )
    order = paid_order(GERMAN_CONSUMER, django_capture_on_commit_callbacks, (lamp, 1))
    client.force_login(order.buyer)
    invoice = Document.objects.get(order=order, purpose=DocumentPurpose.SALE)
    supply = Document.objects.get(order=order, purpose=DocumentPurpose.SUPPLY_TO_OPERATOR)
    base = f"/orders/checkout/{order.checkout.public_id}/documents"

    assert client.get(f"{base}/{invoice.pk}/pdf/").status_code == 200
    assert client.get(f"{base}/{supply.pk}/pdf/").status_code == 404
    assert client.get(f"{base}/{supply.pk}/e-invoice/", {"e_format": "ubl"}).status_code == 404
