"""The operator entity, its monthly commission invoices and credit notes, and payout statements."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.errors import ApplicationError
from invoicing import commission_invoices, services, tasks
from invoicing.client import Transient
from invoicing.commission_invoices import (
    commission_annex_csv,
    commission_documents_write,
    payout_statement_csv,
    payout_statements,
    previous_month,
)
from invoicing.models import Document, DocumentKind, DocumentPurpose, DocumentState, OperatorEntity
from invoicing.operator import operator_entity_ensure
from invoicing.reconciliation import reconcile
from marketplace import services as orders
from marketplace.models import TaxCategory
from marketplace.tax import REVERSE_CHARGE_NOTE
from tests.factories import (
    BILLING,
    ProductFactory,
    SellerUserFactory,
    UserFactory,
    paid_order,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
THIS_MONTH = TODAY.replace(day=1)
LAST_MONTH = previous_month(TODAY)


@pytest.fixture
def seller(operator):
    return seller_with_entity(business_name="Lonček d.o.o.")


def dated(document_filter, day):
    """What a document issued on another day is: the same document with that date."""
    Document.objects.filter(**document_filter).update(date=day)


def test_operator_entity_has_its_own_series_and_is_created_once(operator, sandbox):
    entity = sandbox.client().entity_get(entity_id=operator.entity_id)

    assert entity["name"] == "Marketplace d.o.o."
    assert entity["country_code"] == "SI"
    assert entity["settings"]["number_formats"]["invoice"] == "MP-{yyyy}-{nnnnn}"
    assert entity["settings"]["number_formats"]["credit_note"] == "MPCN-{yyyy}-{nnnnn}"
    assert operator_entity_ensure().entity_id == operator.entity_id
    assert OperatorEntity.objects.count() == 1


def test_operator_entity_refused_without_a_name_naming_the_setting(settings, sandbox):
    settings.OPERATOR_NAME = ""
    settings.OPERATOR_COUNTRY = "SI"

    with pytest.raises(ApplicationError) as refused:
        operator_entity_ensure()

    assert refused.value.field == "OPERATOR_NAME"
    assert OperatorEntity.objects.count() == 0


def test_the_operator_entity_never_holds_a_sellers_sale(
    seller, operator, django_capture_on_commit_callbacks
):
    mug = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    order = paid_order(BILLING, django_capture_on_commit_callbacks, (mug, 2))
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    sales = Document.objects.filter(order=order)
    assert sales.count() == 2
    assert set(sales.values_list("entity_id", flat=True)) == {seller.entity_id}
    assert not Document.objects.filter(entity_id=operator.entity_id, purpose="sale").exists()


def test_month_commission_invoice_credit_note_and_payout_statement_reconcile(
    seller, operator, sandbox, django_capture_on_commit_callbacks
):
    """Last month: order A (3 x 12.99 at 22 %, 2 x 7.45 at 9.5 %) and order B (4 x 5.00 at
    22 %, 1 refunded the same month); this month: 1 of A's mugs refunded and B cancelled."""
    mug = ProductFactory(seller=seller, name="Mug", unit_price=Decimal("12.99"))
    honey = ProductFactory(
        seller=seller, name="Honey", unit_price=Decimal("7.45"), tax_category=TaxCategory.REDUCED
    )
    cup = ProductFactory(seller=seller, name="Cup", unit_price=Decimal("5.00"))
    order_a = paid_order(BILLING, django_capture_on_commit_callbacks, (mug, 3), (honey, 2))
    order_b = paid_order(BILLING, django_capture_on_commit_callbacks, (cup, 4))
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(
            order_id=order_b.pk,
            lines=[orders.RefundLine(order_b.lines.get().pk, 1)],
        )
    dated({"order__in": [order_a, order_b]}, LAST_MONTH.replace(day=15))
    # Cancelled before payment: no document, no commission.
    unpaid = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(mug.pk, 1)], billing=BILLING
    ).orders.get()
    orders.order_cancel(order_id=unpaid.pk)

    with django_capture_on_commit_callbacks(execute=True):
        written = commission_documents_write(seller_id=seller.pk, period_start=LAST_MONTH)

    invoice = Document.objects.get(pk=written[0].pk)
    # Commission 10 %: A 38.97 + 14.90 = 53.87 -> 5.39; B 20.00 -> 2.00, 1 of 4 back -> 0.50.
    assert [d.kind for d in written] == [DocumentKind.INVOICE]
    assert invoice.state == DocumentState.ISSUED
    assert invoice.entity_id == operator.entity_id
    assert invoice.number == f"MP-{TODAY.year}-00001"
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        Decimal("6.89"),
        Decimal("1.52"),
        Decimal("8.41"),
    )
    remote = sandbox.client().invoice_get(
        entity_id=operator.entity_id, invoice_id=invoice.remote_id
    )
    assert remote["metadata"]["seller_id"] == str(seller.pk)
    assert remote["metadata"]["period"] == f"{LAST_MONTH:%Y-%m}"
    assert remote["customer"]["name"] == "Lonček d.o.o."

    # Again: exactly once.
    assert commission_documents_write(seller_id=seller.pk, period_start=LAST_MONTH) == []

    # Last month's payout: A 38.97*1.22 + 14.90*1.095 = 47.54 + 16.32 = 63.86 (per rate,
    # tax per document); B 24.40; B's refund 6.10; commission 8.41.
    [statement] = payout_statements(seller=seller, period_start=LAST_MONTH)
    assert (statement.sales_gross, statement.refunds_gross) == (Decimal("88.26"), Decimal("6.10"))
    assert (statement.commission_net, statement.commission_vat) == (
        Decimal("6.89"),
        Decimal("1.52"),
    )
    assert statement.payout == Decimal("73.75")
    assert statement.payout == Decimal("88.26") - Decimal("6.10") - Decimal("8.41")
    assert sum(e.commission for e in statement.entries) == statement.commission_net

    # This month: 1 mug of A refunded, B cancelled (its 3 remaining cups).
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(
            order_id=order_a.pk, lines=[orders.RefundLine(order_a.lines.order_by("pk")[0].pk, 1)]
        )
        orders.order_cancel(order_id=order_b.pk)
    with django_capture_on_commit_callbacks(execute=True):
        written = commission_documents_write(seller_id=seller.pk, period_start=THIS_MONTH)

    credit_note = Document.objects.get(pk=written[0].pk)
    # Returned: mug 3 -> 2 units: 3.90 - 2.60 = 1.30; cups 3 -> 0: 1.50. Total 2.80 + 22 %.
    assert [d.kind for d in written] == [DocumentKind.CREDIT_NOTE]
    assert credit_note.credited_invoice == invoice
    assert credit_note.number == f"MPCN-{TODAY.year}-00001"
    assert (credit_note.total_net, credit_note.total_gross) == (Decimal("2.80"), Decimal("3.42"))

    [statement] = payout_statements(seller=seller, period_start=THIS_MONTH)
    # Refunds: 1 mug 12.99 * 1.22 = 15.85; 3 cups 15.00 * 1.22 = 18.30.
    assert (statement.sales_gross, statement.refunds_gross) == (Decimal(0), Decimal("34.15"))
    assert statement.commission_gross == Decimal("-3.42")
    assert statement.payout == Decimal("-30.73")
    csv_text = payout_statement_csv([statement])
    assert f"{seller.pk},Lonček d.o.o.,{THIS_MONTH:%Y-%m},EUR,payout,,-30.73" in csv_text
    assert f"{THIS_MONTH:%Y-%m},EUR,sales_gross,,0.00" in csv_text
    assert f"commission,{credit_note.number},3.42" in csv_text


def test_annex_lists_each_sale_document_with_its_commission(
    seller, django_capture_on_commit_callbacks
):
    mug = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    order = paid_order(BILLING, django_capture_on_commit_callbacks, (mug, 3))
    invoice = Document.objects.get(order=order)

    annex = commission_annex_csv(seller=seller, period_start=THIS_MONTH).splitlines()

    assert annex == [
        "document_number,kind,order_id,date,currency,sale_net,sale_gross,commission",
        f"{invoice.number},invoice,{order.pk},{TODAY.isoformat()},EUR,38.97,47.54,3.90",
    ]


def test_commission_of_a_seller_in_another_member_state_is_reverse_charged(
    operator, sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity(
        business_name="Becher GmbH",
        country="DE",
        tax_number="DE136695976",
        address="Hauptstr. 1",
        post_code="10115",
        city="Berlin",
    )
    mug = ProductFactory(seller=seller, unit_price=Decimal("20.00"))
    paid_order(BILLING, django_capture_on_commit_callbacks, (mug, 1))

    with django_capture_on_commit_callbacks(execute=True):
        [written] = commission_documents_write(seller_id=seller.pk, period_start=THIS_MONTH)

    invoice = Document.objects.get(pk=written.pk)
    assert invoice.state == DocumentState.ISSUED, invoice.last_error
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        Decimal("2.00"),
        Decimal("0.00"),
        Decimal("2.00"),
    )
    assert invoice.tax_note == REVERSE_CHARGE_NOTE
    assert invoice.transaction_type == "intra_eu_b2b"


def test_commission_documents_wait_for_pending_sales_of_the_month(
    seller, django_capture_on_commit_callbacks
):
    mug = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    order = paid_order(BILLING, django_capture_on_commit_callbacks, (mug, 1))
    Document.objects.filter(order=order).update(state=DocumentState.PENDING, paid_at=None)

    with pytest.raises(Exception, match="pending"):
        commission_documents_write(seller_id=seller.pk, period_start=THIS_MONTH)

    assert not Document.objects.filter(purpose=DocumentPurpose.COMMISSION).exists()


def test_documents_written_before_the_operator_entity_wait_and_are_issued_with_it(
    settings, sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    mug = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    paid_order(BILLING, django_capture_on_commit_callbacks, (mug, 1))
    with django_capture_on_commit_callbacks(execute=True):
        [waiting] = commission_documents_write(seller_id=seller.pk, period_start=THIS_MONTH)
    waiting.refresh_from_db()
    assert (waiting.state, waiting.entity_id) == (DocumentState.PENDING, "")

    settings.OPERATOR_NAME = "Marketplace d.o.o."
    settings.OPERATOR_COUNTRY = "SI"
    with django_capture_on_commit_callbacks(execute=True):
        operator = operator_entity_ensure()

    waiting.refresh_from_db()
    assert (waiting.state, waiting.entity_id) == (DocumentState.ISSUED, operator.entity_id)
    assert waiting.number == f"MP-{TODAY.year}-00001"


def test_beat_task_writes_the_previous_month_per_seller(
    seller, django_capture_on_commit_callbacks, monkeypatch
):
    mug = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    order = paid_order(BILLING, django_capture_on_commit_callbacks, (mug, 1))
    dated({"order": order}, LAST_MONTH)
    queued = []
    monkeypatch.setattr(tasks.commission_documents, "delay", lambda *args: queued.append(args))

    assert tasks.commission_invoices() == 1

    assert queued == [(seller.pk, LAST_MONTH.isoformat())]


def member_client(client, seller):
    client.force_login(SellerUserFactory(seller=seller).user)
    return client


def test_seller_sees_its_commission_documents_and_payout_statement(
    client, seller, django_capture_on_commit_callbacks
):
    mug = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    paid_order(BILLING, django_capture_on_commit_callbacks, (mug, 3))
    other = seller_with_entity(business_name="Other d.o.o.")
    paid_order(BILLING, django_capture_on_commit_callbacks, (ProductFactory(seller=other), 1))
    with django_capture_on_commit_callbacks(execute=True):
        [mine] = commission_documents_write(seller_id=seller.pk, period_start=THIS_MONTH)
        [theirs] = commission_documents_write(seller_id=other.pk, period_start=THIS_MONTH)
    mine.refresh_from_db()
    member_client(client, seller)

    listing = client.get("/seller/commission/")
    page = client.get(f"/seller/payouts/{THIS_MONTH.year}/{THIS_MONTH.month}/")
    csv_response = client.get(
        f"/seller/payouts/{THIS_MONTH.year}/{THIS_MONTH.month}/", {"format": "csv"}
    )
    pdf = client.get(f"/seller/payouts/{THIS_MONTH.year}/{THIS_MONTH.month}/", {"format": "pdf"})

    assert listing.status_code == 200
    assert f'data-document-id="{mine.pk}"' in listing.content.decode()
    assert f'data-document-id="{theirs.pk}"' not in listing.content.decode()
    # 3 x 12.99 = 38.97 + 22 % = 47.54; commission 3.90 + 22 % = 4.76; payout 42.78.
    body = page.content.decode()
    assert '<dd data-testid="payout-sales">47.54</dd>' in body
    assert "<strong>42.78 EUR</strong>" in body
    assert "Other d.o.o." not in body
    assert csv_response["Content-Type"] == "text/csv"
    assert f"{seller.pk},Lonček d.o.o.,{THIS_MONTH:%Y-%m},EUR,payout,,42.78" in (
        csv_response.content.decode()
    )
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/seller/commission/{theirs.pk}/pdf/").status_code == 404
    assert client.get(f"/seller/commission/{mine.pk}/pdf/").content.startswith(b"%PDF")


def test_payout_page_refuses_a_month_that_does_not_exist_and_an_unknown_format(client, seller):
    member_client(client, seller)

    assert client.get("/seller/payouts/2026/13/").status_code == 404
    refused = client.get(f"/seller/payouts/{THIS_MONTH.year}/{THIS_MONTH.month}/?format=xls")
    assert refused.status_code == 400
    assert "format: html, csv, pdf or annex." in refused.content.decode()


def test_a_lost_answer_gives_one_commission_invoice_through_retry_and_reconciliation(
    seller, operator, sandbox, settings, django_capture_on_commit_callbacks
):
    """The create succeeded but its answers were lost until the row gave up; reconciliation
    then finds it by its metadata and mirrors it, and a later retry creates nothing more."""
    settings.INVOICE_MAX_ATTEMPTS = 2
    mug = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    paid_order(BILLING, django_capture_on_commit_callbacks, (mug, 3))
    with django_capture_on_commit_callbacks(execute=False):
        [invoice] = commission_documents_write(seller_id=seller.pk, period_start=THIS_MONTH)
    sandbox.faults(lost_response_rate=1)
    with pytest.raises(Transient):
        services.document_issue(invoice_id=invoice.pk)
    gave_up = services.document_issue(invoice_id=invoice.pk)
    assert (gave_up.state, gave_up.outcome_unknown) == (DocumentState.FAILED, True)
    sandbox.faults()

    reconcile()

    invoice.refresh_from_db()
    assert (invoice.state, invoice.number) == (DocumentState.ISSUED, f"MP-{TODAY.year}-00001")
    with django_capture_on_commit_callbacks(execute=True):
        services.document_retry(invoice_id=invoice.pk)
    page = sandbox.client().invoice_list(
        entity_id=operator.entity_id, query={"metadata.seller_id": {"equals": str(seller.pk)}}
    )
    assert [document["id"] for document in page.data] == [invoice.remote_id]


def test_beat_task_writes_nothing_while_the_operator_is_not_configured(
    settings, sandbox, monkeypatch
):
    settings.OPERATOR_NAME = ""
    queued = []
    monkeypatch.setattr(tasks.commission_documents, "delay", lambda *args: queued.append(args))

    assert tasks.commission_invoices() == 0

    assert queued == []
    assert OperatorEntity.objects.count() == 0


def test_operator_entity_command_creates_it_and_names_a_missing_setting(settings, sandbox):
    settings.OPERATOR_NAME = "Marketplace d.o.o."
    settings.OPERATOR_COUNTRY = ""
    with pytest.raises(CommandError, match="OPERATOR_COUNTRY: OPERATOR_COUNTRY is not set"):
        call_command("operator_entity")

    settings.OPERATOR_COUNTRY = "SI"
    out = io.StringIO()
    call_command("operator_entity", stdout=out)

    operator = OperatorEntity.objects.get()
    assert out.getvalue() == (
        f"{operator.entity_id}\t{operator.deemed_entity_id}\tMarketplace d.o.o.\tSI\n"
    )


def test_commission_invoices_command_refuses_a_bad_month():
    with pytest.raises(CommandError, match="--period: not a month YYYY-MM: '2026-13'"):
        call_command("commission_invoices", "--period", "2026-13")


def test_the_previous_month_of_january_is_last_years_december():
    assert previous_month(date(2027, 1, 1)) == date(2026, 12, 1)
    assert previous_month(date(2026, 3, 31)) == date(2026, 2, 1)


def test_a_months_commission_is_taxed_by_the_rules_of_that_month_not_of_the_day_written(
    seller, operator, sandbox, django_capture_on_commit_callbacks, monkeypatch
):
    cup = ProductFactory(seller=seller, name="Cup", unit_price=Decimal("5.00"))
    order = paid_order(BILLING, django_capture_on_commit_callbacks, (cup, 2))
    dated({"order": order}, LAST_MONTH.replace(day=15))
    asked_on = []
    treatment = commission_invoices.commission_treatment

    def recorded(*, seller, on):
        asked_on.append(on)
        return treatment(seller=seller, on=on)

    monkeypatch.setattr(commission_invoices, "commission_treatment", recorded)

    with django_capture_on_commit_callbacks(execute=True):
        commission_documents_write(seller_id=seller.pk, period_start=LAST_MONTH)

    assert asked_on == [THIS_MONTH - timedelta(days=1)]  # the last day of last month
