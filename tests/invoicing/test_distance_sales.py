"""The EU-wide EUR 10,000 threshold for intra-EU distance sales (Article 59c), counted per seller
from its documents: under it a B2C sale to another member state takes the seller's rate, the sale
that takes the year over it and every later one (that year and the next) the buyer country's."""

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import AuditEvent
from invoicing import distance_sales
from invoicing import services as issuing
from invoicing.distance_sales import amount_in_eur
from invoicing.models import Document, DocumentKind, DocumentState
from marketplace import services as orders
from marketplace.models import Order
from sellers.models import Seller
from sellers.onboarding import seller_details_save
from sellers.setup import seller_business_details_update
from tests.factories import (
    InvoiceFactory,
    OrderFactory,
    ProductFactory,
    SellerFactory,
    UserFactory,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db

DAY = date(2026, 6, 15)
GERMAN_CONSUMER = orders.BillingDetails(
    name="Lena Weber",
    email="lena@example.com",
    address="Friedrichstraße 10",
    post_code="10117",
    city="Berlin",
    country="DE",
)


@pytest.fixture(autouse=True)
def sale_day(monkeypatch):
    """Sales are made at noon on DAY."""
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 6, 15, 12, tzinfo=UTC))


@pytest.fixture
def seller():
    """A Slovenian seller, not registered for OSS: 22 % at home, Germany's 19 % at destination."""
    return SellerFactory(country="SI")


def consumer_order(seller, net, **fields):
    """An order of the seller to a German consumer, one line of `net` at 0 %."""
    return OrderFactory(
        seller=seller,
        billing_country="DE",
        total_net=net,
        total_tax=Decimal(0),
        total_gross=net,
        line__unit_price=net,
        line__total_net=net,
        line__tax_rate=Decimal(0),
        **fields,
    )


def earlier_sale(seller, net, *, day, currency="EUR", state=DocumentState.ISSUED, credited=False):
    """An intra-EU B2C document of the seller for `net` (and its credit note when `credited`)."""
    order = consumer_order(seller, net, currency=currency)
    invoice = InvoiceFactory(order=order, transaction_type="intra_eu_b2c", date=day, state=state)
    if credited:
        InvoiceFactory(
            order=order,
            kind=DocumentKind.CREDIT_NOTE,
            credited_invoice=invoice,
            transaction_type="intra_eu_b2c",
            date=day,
        )
    return invoice


def dashboard_credit_note(invoice, net, *, day):
    """A credit note of `invoice` made in the seller's dashboard: mirrored without lines."""
    credit_note = InvoiceFactory(
        order=invoice.order,
        kind=DocumentKind.CREDIT_NOTE,
        credited_invoice=invoice,
        transaction_type="intra_eu_b2c",
        date=day,
        total_net=net,
        total_gross=net,
    )
    credit_note.lines.all().delete()


def sell(seller, net, currency="EUR"):
    product = ProductFactory(seller=seller, unit_price=net, currency=currency)
    checkout = orders.checkout_create(
        buyer=None, lines=[orders.CartLine(product.pk, 1)], billing=GERMAN_CONSUMER
    )
    order = checkout.orders.get()
    return order.lines.get().tax_rate, order.total_tax


def crossed_on(seller):
    return Seller.objects.get(pk=seller.pk).distance_sales_threshold_crossed_on


def test_up_to_the_threshold_the_sellers_rate_applies(seller):
    earlier_sale(seller, Decimal("9980.00"), day=date(2026, 3, 1))

    # 9,980.00 + 20.00 = 10,000.00: not over it.
    assert sell(seller, Decimal("20.00")) == (Decimal("22.00"), Decimal("4.40"))
    assert crossed_on(seller) is None


def test_the_sale_that_crosses_it_and_every_later_one_take_the_buyer_countrys_rate(seller):
    earlier_sale(seller, Decimal("9980.00"), day=date(2026, 3, 1))

    # 9,980.00 + 20.01 = 10,000.01: this sale crosses it and is already taxed in Germany.
    crossing = sell(seller, Decimal("20.01"))
    later = sell(seller, Decimal("1.00"))

    assert crossing == (Decimal("19.00"), Decimal("3.80"))
    assert later == (Decimal("19.00"), Decimal("0.19"))
    assert crossed_on(seller) == DAY
    assert list(
        AuditEvent.objects.filter(action="seller.distance_sales_threshold_crossed").values_list(
            "seller_id", "detail"
        )
    ) == [(seller.pk, {"crossed_on": "2026-06-15"})]


def test_a_previous_year_over_the_threshold_puts_the_whole_next_year_at_destination(seller):
    earlier_sale(seller, Decimal("6000.00"), day=date(2025, 4, 1))
    earlier_sale(seller, Decimal("4000.01"), day=date(2025, 9, 30))

    assert sell(seller, Decimal("10.00")) == (Decimal("19.00"), Decimal("1.90"))
    assert crossed_on(seller) == date(2025, 9, 30)


def test_a_crossing_two_years_ago_no_longer_counts(seller):
    Seller.objects.filter(pk=seller.pk).update(distance_sales_threshold_crossed_on=date(2024, 5, 1))
    earlier_sale(seller, Decimal("10000.01"), day=date(2024, 5, 1))

    assert sell(seller, Decimal("10.00")) == (Decimal("22.00"), Decimal("2.20"))
    assert crossed_on(seller) == date(2024, 5, 1)


def test_credit_notes_reduce_and_failed_documents_do_not_count_while_pending_ones_do(seller):
    earlier_sale(seller, Decimal("9000.00"), day=date(2026, 2, 1))
    earlier_sale(seller, Decimal("500.00"), day=date(2026, 2, 2), credited=True)
    earlier_sale(seller, Decimal("5000.00"), day=None, state=DocumentState.FAILED)
    pending = earlier_sale(seller, Decimal("950.00"), day=None, state=DocumentState.PENDING)
    pending.__class__.objects.filter(pk=pending.pk).update(
        created_at=datetime(2026, 6, 1, 12, tzinfo=UTC)
    )

    # 9,000.00 + 500.00 - 500.00 + 950.00 (pending) = 9,950.00; + 50.00 = 10,000.00.
    assert sell(seller, Decimal("50.00")) == (Decimal("22.00"), Decimal("11.00"))
    # That order is not invoiced yet (invoice point: paid) and counts: 0.01 more is over.
    assert sell(seller, Decimal("0.01")) == (Decimal("19.00"), Decimal("0.00"))


@pytest.mark.parametrize("outcome_unknown", [True, False])
def test_an_invoice_that_failed_counts_once_by_its_document_or_by_its_order(
    seller, outcome_unknown
):
    """Given up with an unknown outcome, the invoice may exist: it counts, its order does not.
    Rejected (or proved absent), it created nothing: its order counts, as not invoiced yet."""
    earlier_sale(seller, Decimal("9900.00"), day=date(2026, 3, 1))
    product = ProductFactory(seller=seller, unit_price=Decimal("90.00"))
    order = orders.checkout_create(
        buyer=None, lines=[orders.CartLine(product.pk, 1)], billing=GERMAN_CONSUMER
    ).orders.get()
    orders.order_mark_paid(order_id=order.pk)  # its invoice row is written (not sent here)
    Document.objects.filter(order=order).update(
        state=DocumentState.FAILED, outcome_unknown=outcome_unknown
    )

    # 9,900.00 + 90.00 (once) = 9,990.00; + 10.00 = 10,000.00: not over; 0.01 more is over.
    assert sell(seller, Decimal("10.00")) == (Decimal("22.00"), Decimal("2.20"))
    assert sell(seller, Decimal("0.01")) == (Decimal("19.00"), Decimal("0.00"))
    assert crossed_on(seller) == DAY


def test_a_dashboard_credit_note_without_lines_reduces_the_total_by_its_net(seller):
    invoice = earlier_sale(seller, Decimal("9990.00"), day=date(2026, 3, 1))
    dashboard_credit_note(invoice, Decimal("40.00"), day=date(2026, 4, 1))

    # 9,990.00 - 40.00 = 9,950.00; + 50.00 = 10,000.00: not over; 0.01 more is over.
    assert sell(seller, Decimal("50.00")) == (Decimal("22.00"), Decimal("11.00"))
    assert sell(seller, Decimal("0.01")) == (Decimal("19.00"), Decimal("0.00"))


def test_other_currencies_count_at_the_fixed_ecb_table(seller):
    # USD at 1.0889 per euro (ECB, 14 March 2025): 10,880.00 USD = 9,991.73 EUR.
    assert amount_in_eur(Decimal("10880.00"), "USD") == Decimal("9991.73")
    earlier_sale(seller, Decimal("10880.00"), day=date(2026, 3, 1), currency="USD")

    # + 9.00 USD = 8.27 EUR -> 10,000.00: not over; + 1.00 USD = 0.92 EUR more is over.
    assert sell(seller, Decimal("9.00"), currency="USD") == (Decimal("22.00"), Decimal("1.98"))
    assert sell(seller, Decimal("1.00"), currency="USD") == (Decimal("19.00"), Decimal("0.19"))
    # Sales in another currency keep no bound: each is counted.
    assert bound(seller) == (2026, None)


def test_a_currency_without_a_rate_is_taxed_at_destination_and_records_nothing(seller):
    assert sell(seller, Decimal("10.00"), currency="MXN") == (Decimal("19.00"), Decimal("1.90"))
    assert crossed_on(seller) is None


def test_an_oss_seller_is_always_taxed_at_destination_and_nothing_is_counted(seller):
    Seller.objects.filter(pk=seller.pk).update(oss_registered=True)
    seller.refresh_from_db()

    assert sell(seller, Decimal("10.00")) == (Decimal("19.00"), Decimal("1.90"))
    assert crossed_on(seller) is None
    assert Order.objects.get().transaction_type == "intra_eu_b2c"


def test_orders_not_invoiced_yet_count_less_refunds_and_cancellations(seller):
    Seller.objects.filter(pk=seller.pk).update(invoice_trigger="fulfilled")
    seller.refresh_from_db()
    earlier_sale(seller, Decimal("9900.00"), day=date(2026, 3, 1))
    product = ProductFactory(seller=seller, unit_price=Decimal("30.00"))

    def place(quantity):
        lines = [orders.CartLine(product.pk, quantity)]
        return orders.checkout_create(buyer=None, lines=lines, billing=GERMAN_CONSUMER).orders.get()

    refunded = place(2)  # 9,960.00
    cancelled = place(1)  # 9,990.00
    orders.order_mark_paid(order_id=refunded.pk)
    line = refunded.lines.get()
    orders.order_refund(order_id=refunded.pk, lines=[orders.RefundLine(line.pk, 1)])
    orders.order_cancel(order_id=cancelled.pk)

    # 9,900.00 + 30.00 left of the refunded order = 9,930.00; + 70.00 = 10,000.00: not over.
    assert sell(seller, Decimal("70.00")) == (Decimal("22.00"), Decimal("15.40"))
    assert sell(seller, Decimal("0.01")) == (Decimal("19.00"), Decimal("0.00"))
    assert not Document.objects.filter(order__in=[refunded, cancelled]).exists()


def test_a_b2b_sale_that_falls_back_to_b2c_at_issue_takes_the_threshold_into_account(
    sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity(vies_unavailable_policy="standard_vat")
    Seller.objects.filter(pk=seller.pk).update(distance_sales_threshold_crossed_on=date(2026, 3, 1))
    lamp = ProductFactory(seller=seller, unit_price=Decimal("80.00"))
    business = replace(GERMAN_CONSUMER, company="Muster GmbH", vat_number="DE136695976")
    order = orders.checkout_create(
        buyer=None, lines=[orders.CartLine(lamp.pk, 2)], billing=business
    ).orders.get()
    assert (order.transaction_type, order.total_tax) == ("intra_eu_b2b", Decimal("0.00"))
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order)
    sandbox.http().post("/sandbox/faults", json={"vies_unavailable": True})

    issued = issuing.document_issue(invoice_id=invoice.pk)

    # VAT is due after all: over the threshold, at Germany's 19 % (160.00 -> 30.40), not 22 %.
    assert (issued.state, issued.transaction_type) == (DocumentState.ISSUED, "intra_eu_b2c")
    assert list(issued.lines.values_list("tax_rate", flat=True)) == [Decimal("19.00")]
    assert (issued.total_tax, issued.total_gross) == (Decimal("30.40"), Decimal("190.40"))


def test_the_counts_sql_is_compiled_once_per_time_zone_and_days_follow_the_current_one(seller):
    """The aggregates' one statement is compiled once (distance_sales._compiled) and run with
    each seller and date after; the day an order counts on is its day in the current time zone,
    which the compiled SQL names, so each zone has its own."""
    distance_sales._compiled.cache_clear()
    Seller.objects.filter(pk=seller.pk).update(invoice_trigger="fulfilled")
    late = consumer_order(seller, Decimal("25.00"), transaction_type="intra_eu_b2c")
    # 02:30 UTC on 15 June is still 14 June in New York.
    Order.objects.filter(pk=late.pk).update(placed_at=datetime(2026, 6, 15, 2, 30, tzinfo=UTC))
    other = SellerFactory(country="SI")
    OrderFactory(seller=other, billing_country="DE", transaction_type="intra_eu_b2c")

    assert distance_sales._counted_eur(seller.pk, DAY) == (
        [(DAY, Decimal("25.00"))],
        Decimal("25.00"),
    )
    with timezone.override("America/New_York"):
        assert distance_sales._counted_eur(seller.pk, DAY) == (
            [(date(2026, 6, 14), Decimal("25.00"))],
            Decimal("25.00"),
        )
    assert distance_sales._counted_eur(seller.pk, date(2026, 6, 14)) == ([], Decimal(0))
    assert distance_sales._compiled.cache_info().misses == 2
    assert distance_sales._compiled.cache_info().hits == 1


def bound(seller):
    row = Seller.objects.get(pk=seller.pk)
    return row.distance_sales_bound_year, row.distance_sales_bound_eur


def counted_sell(seller, net):
    """sell(), and whether it counted the seller's documents."""
    with CaptureQueriesContext(connection) as queries:
        taxed = sell(seller, net)
    counts = [q["sql"] for q in queries.captured_queries if "SUM(" in q["sql"]]
    # Documents and orders not invoiced yet, in one statement (one snapshot).
    assert all(" UNION ALL " in sql for sql in counts)
    return taxed, len(counts) == 1


def test_a_sale_its_bound_leaves_under_the_threshold_counts_nothing(seller):
    earlier_sale(seller, Decimal("9000.00"), day=date(2026, 3, 1))

    # Counted: 9,000.00 sold + 400.00; the bound is what was sold with this sale.
    assert counted_sell(seller, Decimal("400.00")) == ((Decimal("22.00"), Decimal("88.00")), True)
    assert bound(seller) == (2026, Decimal("9400.00"))
    # 9,400.00 + 600.00 = 10,000.00: under by the bound alone, which rises.
    assert counted_sell(seller, Decimal("600.00")) == ((Decimal("22.00"), Decimal("132.00")), False)
    assert bound(seller) == (2026, Decimal("10000.00"))
    # 0.01 more: the bound no longer answers; counted, and over.
    assert counted_sell(seller, Decimal("0.01")) == ((Decimal("19.00"), Decimal("0.00")), True)
    assert crossed_on(seller) == DAY


def test_the_bound_leaves_out_credit_notes_so_one_rejected_later_is_counted(seller):
    invoice = earlier_sale(seller, Decimal("9990.00"), day=date(2026, 3, 1))
    credit_note = InvoiceFactory(
        order=invoice.order,
        kind=DocumentKind.CREDIT_NOTE,
        credited_invoice=invoice,
        transaction_type="intra_eu_b2c",
        date=None,
        state=DocumentState.PENDING,
    )

    # 9,990.00 - 9,990.00 (pending credit note) + 5.00: under; the bound is 9,995.00 sold.
    assert counted_sell(seller, Decimal("5.00")) == ((Decimal("22.00"), Decimal("1.10")), True)
    assert bound(seller) == (2026, Decimal("9995.00"))
    Document.objects.filter(pk=credit_note.pk).update(
        state=DocumentState.FAILED, outcome_unknown=False
    )

    # Rejected: 9,990.00 + 5.00 + 10.00 = 10,005.00, over; the bound sends it to be counted.
    assert counted_sell(seller, Decimal("10.00")) == ((Decimal("19.00"), Decimal("1.90")), True)
    assert crossed_on(seller) == DAY


@pytest.mark.parametrize("placed", [date(2025, 12, 31), date(2024, 12, 31)])
def test_the_bound_holds_earlier_orders_not_invoiced_yet_which_may_be_dated_this_year(
    seller, placed
):
    Seller.objects.filter(pk=seller.pk).update(invoice_trigger="fulfilled")
    late = consumer_order(seller, Decimal("9990.00"), transaction_type="intra_eu_b2c")
    Order.objects.filter(pk=late.pk).update(
        placed_at=datetime(placed.year, placed.month, placed.day, 12, tzinfo=UTC)
    )

    # This year: 5.00. The bound adds the earlier 9,990.00 not invoiced yet.
    assert counted_sell(seller, Decimal("5.00")) == ((Decimal("22.00"), Decimal("1.10")), True)
    assert bound(seller) == (2026, Decimal("9995.00"))
    InvoiceFactory(order=late, transaction_type="intra_eu_b2c", date=DAY)

    # Invoiced today: 9,990.00 + 5.00 + 10.00 = 10,005.00 this year, over.
    assert counted_sell(seller, Decimal("10.00")) == ((Decimal("19.00"), Decimal("1.90")), True)
    assert crossed_on(seller) == DAY


def test_no_bound_is_kept_while_last_year_sold_over_the_threshold(seller):
    earlier_sale(seller, Decimal("10500.00"), day=date(2025, 5, 1), credited=True)

    # Last year: 10,500.00 sold, all credited (under); a credit note rejected could take it over.
    assert counted_sell(seller, Decimal("5.00")) == ((Decimal("22.00"), Decimal("1.10")), True)
    assert bound(seller) == (2026, None)
    assert counted_sell(seller, Decimal("5.00")) == ((Decimal("22.00"), Decimal("1.10")), True)


def test_a_bound_of_another_year_is_not_used(seller):
    Seller.objects.filter(pk=seller.pk).update(
        distance_sales_bound_year=2025, distance_sales_bound_eur=Decimal("0.00")
    )
    earlier_sale(seller, Decimal("9990.00"), day=date(2026, 3, 1))

    assert counted_sell(seller, Decimal("20.00")) == ((Decimal("19.00"), Decimal("3.80")), True)
    assert crossed_on(seller) == DAY


def test_an_invoice_rejected_before_the_count_is_in_the_bound_as_it_may_be_retried(seller):
    """A B2B order's invoice that fell back to B2C at issue and was rejected counts nowhere (its
    order is B2B); an operator's retry brings it back without a sale to raise the bound."""
    earlier_sale(seller, Decimal("9990.00"), day=None, state=DocumentState.FAILED)

    assert counted_sell(seller, Decimal("5.00")) == ((Decimal("22.00"), Decimal("1.10")), True)
    assert bound(seller) == (2026, Decimal("9995.00"))
    Document.objects.filter(state=DocumentState.FAILED).update(state=DocumentState.ISSUED, date=DAY)

    # Issued after all: 9,990.00 + 5.00 + 10.00 = 10,005.00, over.
    assert counted_sell(seller, Decimal("10.00")) == ((Decimal("19.00"), Decimal("1.90")), True)
    assert crossed_on(seller) == DAY


def test_a_count_up_to_an_earlier_day_keeps_no_bound(seller):
    """An invoice's re-check at issue counts up to its order's day: later sales are left out."""
    earlier_sale(seller, Decimal("9500.00"), day=date(2026, 6, 1))

    with transaction.atomic():
        assert not distance_sales.distance_sales_over_threshold(
            seller=seller, sale_net=Decimal("800.00"), currency="EUR", on=date(2026, 3, 2)
        )
    assert bound(seller) == (2026, None)

    # 9,500.00 + 600.00 = 10,100.00: counted, and over.
    assert counted_sell(seller, Decimal("600.00")) == ((Decimal("19.00"), Decimal("114.00")), True)


def test_an_operators_edit_keeps_the_bound_and_crossing_recorded_meanwhile(seller):
    read_before = Seller.objects.get(pk=seller.pk)
    Seller.objects.filter(pk=seller.pk).update(
        distance_sales_bound_year=2026,
        distance_sales_bound_eur=Decimal("100.00"),
        distance_sales_threshold_crossed_on=DAY,
    )

    read_before.business_name = "Renamed d.o.o."
    seller_details_save(seller=read_before, changed=["business_name"], actor=None)

    assert bound(seller) == (2026, Decimal("100.00"))
    assert crossed_on(seller) == DAY


@pytest.mark.parametrize("field", ["oss_registered", "is_tax_subject"])
def test_a_change_of_the_tax_set_up_forgets_the_bound(seller, field):
    """Sales under OSS (or made as no taxable person) are taxed without the threshold and did not
    raise the bound."""
    Seller.objects.filter(pk=seller.pk).update(
        distance_sales_bound_year=2026, distance_sales_bound_eur=Decimal("100.00")
    )
    edited = Seller.objects.get(pk=seller.pk)
    setattr(edited, field, not getattr(edited, field))
    if field == "is_tax_subject":
        edited.tax_number = ""

    seller_details_save(seller=edited, changed=[field], actor=None)

    assert bound(seller) == (None, None)


def test_the_sellers_own_change_of_its_tax_set_up_forgets_the_bound(seller):
    Seller.objects.filter(pk=seller.pk).update(
        distance_sales_bound_year=2026, distance_sales_bound_eur=Decimal("100.00")
    )
    edited = Seller.objects.get(pk=seller.pk)

    seller_business_details_update(
        seller=edited,
        actor=UserFactory(),
        business_name=edited.business_name,
        address=edited.address,
        post_code=edited.post_code,
        city=edited.city,
        tax_number="",
        is_tax_subject=False,
        company_number="",
    )

    assert bound(seller) == (None, None)


def test_a_negative_dashboard_credit_note_raises_the_total_and_the_bound(seller):
    invoice = earlier_sale(seller, Decimal("9000.00"), day=date(2026, 3, 1))
    dashboard_credit_note(invoice, Decimal("-990.00"), day=date(2026, 4, 1))

    # 9,000.00 + 990.00 + 5.00 = 9,995.00, the bound too.
    assert counted_sell(seller, Decimal("5.00")) == ((Decimal("22.00"), Decimal("1.10")), True)
    assert bound(seller) == (2026, Decimal("9995.00"))
    assert counted_sell(seller, Decimal("10.00")) == ((Decimal("19.00"), Decimal("1.90")), True)


def test_a_deemed_supply_is_the_marketplaces_distance_sale_not_the_sellers(seller):
    """Goods shipped from outside the EU to a consumer in it: the marketplace is the deemed
    supplier (Article 14a), and the sale does not count towards the seller's threshold."""
    Seller.objects.filter(pk=seller.pk).update(invoice_trigger="fulfilled")
    imported = consumer_order(
        seller, Decimal("9990.00"), transaction_type="intra_eu_b2c", deemed_supply="ioss"
    )
    InvoiceFactory(order=imported, transaction_type="intra_eu_b2c", date=date(2026, 3, 1))
    not_invoiced = consumer_order(
        seller, Decimal("9990.00"), transaction_type="intra_eu_b2c", deemed_supply="ioss"
    )

    assert counted_sell(seller, Decimal("20.00")) == ((Decimal("22.00"), Decimal("4.40")), True)
    assert bound(seller) == (2026, Decimal("20.00"))
    assert not not_invoiced.documents.exists()
