"""Cancellations and refunds: credit notes linked to the invoice, never more than invoiced."""

from dataclasses import replace
from decimal import Decimal

import httpx
import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ApplicationError
from core.models import AuditEvent
from invoicing import selectors, services
from invoicing.client import SpaceInvoicesClient
from invoicing.models import Document, DocumentKind, DocumentLine, DocumentState
from invoicing.reconciliation import reconcile
from marketplace import services as orders
from marketplace.models import OrderStatus, TaxCategory
from tests.factories import (
    BILLING,
    InvoiceFactory,
    ProductFactory,
    UserFactory,
    invoice_with_lines,
    operator_user,
    seller_with_entity,
)

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


@pytest.fixture
def seller(sandbox):
    return seller_with_entity()


@pytest.fixture
def order(seller):
    mug = ProductFactory(seller=seller, name="Mug", unit_price=Decimal("12.99"))
    honey = ProductFactory(
        seller=seller, name="Honey", unit_price=Decimal("7.45"), tax_category=TaxCategory.REDUCED
    )
    checkout = orders.checkout_create(
        buyer=UserFactory(),
        lines=[orders.CartLine(mug.pk, 3), orders.CartLine(honey.pk, 2)],
        billing=BILLING,
    )
    return checkout.orders.get()


def line_ids(order):
    mug, honey = order.lines.order_by("pk")
    return mug.pk, honey.pk


def paid_and_invoiced(order, callbacks):
    with callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    return Document.objects.get(order=order, kind=DocumentKind.INVOICE)


def test_cancelling_an_invoiced_order_issues_a_full_linked_credit_note(
    sandbox, order, django_capture_on_commit_callbacks
):
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    credit_note = Document.objects.get(order=order, kind=DocumentKind.CREDIT_NOTE)
    assert credit_note.state == DocumentState.ISSUED
    assert credit_note.number == f"CN-{YEAR}-00001"
    assert credit_note.entity_id == invoice.entity_id
    assert credit_note.credited_invoice == invoice
    assert (
        (credit_note.total_net, credit_note.total_tax, credit_note.total_gross)
        == (
            invoice.total_net,
            invoice.total_tax,
            invoice.total_gross,
        )
        == (Decimal("53.87"), Decimal("9.99"), Decimal("63.86"))
    )
    remote = sandbox.client().credit_note_get(
        entity_id=credit_note.entity_id, credit_note_id=credit_note.remote_id
    )
    assert remote["linked_documents"] == [invoice.remote_id]
    assert remote["metadata"]["order_id"] == str(order.pk)
    assert order.__class__.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


def test_a_credit_notes_payload_names_its_invoice_in_the_metadata(
    sandbox, order, django_capture_on_commit_callbacks
):
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    credit_note = Document.objects.get(order=order, kind=DocumentKind.CREDIT_NOTE)
    payload = services.document_payload(credit_note)
    assert payload.linked_documents == [invoice.remote_id]
    assert payload.metadata == {
        "order_id": str(order.pk),
        "seller_id": str(order.seller_id),
        "checkout_id": str(order.checkout_id),
        "document_ref": f"mkt-{credit_note.kind}-{credit_note.pk}",
        "credited_invoice_id": invoice.remote_id,
    }


def test_partial_refund_credits_those_quantities_and_refuses_a_second_time(
    sandbox, order, api_client, django_capture_on_commit_callbacks
):
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)
    mug, honey = line_ids(order)
    api_client.force_authenticate(
        operator_user("marketplace.view_order", "marketplace.change_order")
    )
    refund = {"lines": [{"line_id": mug, "quantity": 2}, {"line_id": honey, "quantity": 2}]}

    with django_capture_on_commit_callbacks(execute=True):
        first = api_client.post(f"/api/orders/{order.pk}/refund/", refund, format="json")
    again = api_client.post(f"/api/orders/{order.pk}/refund/", refund, format="json")

    assert first.status_code == 200, first.json()
    credit_note = Document.objects.get(kind=DocumentKind.CREDIT_NOTE)
    # 2 x 12.99 = 25.98 at 22 % -> 5.72; 2 x 7.45 = 14.90 at 9.5 % -> 1.42
    assert (credit_note.number, credit_note.total_net, credit_note.total_tax) == (
        f"CN-{YEAR}-00001",
        Decimal("40.88"),
        Decimal("7.14"),
    )
    assert credit_note.credited_invoice == invoice
    assert again.status_code == 400
    assert again.json() == {
        "detail": "Only 1 of 3 can still be credited for 'Mug'.",
        "field": "lines[0].quantity",
        "code": "over_credit",
    }
    assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 1


def test_cancel_after_a_partial_refund_credits_only_the_rest(
    sandbox, order, django_capture_on_commit_callbacks
):
    paid_and_invoiced(order, django_capture_on_commit_callbacks)
    mug, _ = line_ids(order)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 1)])
        orders.order_cancel(order_id=order.pk)

    numbers_and_nets = list(
        Document.objects.filter(kind=DocumentKind.CREDIT_NOTE)
        .order_by("pk")
        .values_list("number", "total_net", "total_gross")
    )
    # 63.86 invoiced; one mug credited: 12.99 + 2.86 = 15.85, so 48.01 remains. The rest's
    # goods lines would be 25.98 + 5.72 and 14.90 + 1.42 = 48.02, a cent above: the cancel
    # credits it by balance lines naming the goods, the 22 % line lowered to 25.97 (5.71).
    assert numbers_and_nets == [
        (f"CN-{YEAR}-00001", Decimal("12.99"), Decimal("15.85")),
        (f"CN-{YEAR}-00002", Decimal("40.87"), Decimal("48.00")),
    ]
    rest = Document.objects.get(number=f"CN-{YEAR}-00002")
    assert list(
        rest.lines.order_by("pk").values_list("order_line", "name", "quantity", "unit_price")
    ) == [
        (None, f"Balance of invoice {YEAR}-00001 at 22.00 %: 2 x Mug", 1, Decimal("25.97")),
        (None, f"Balance of invoice {YEAR}-00001 at 9.50 %: 2 x Honey", 1, Decimal("14.90")),
    ]
    assert selectors.invoices_over_credited().count() == 0


def test_a_refund_before_the_invoice_point_reduces_the_invoice(
    settings, sandbox, order, django_capture_on_commit_callbacks
):
    settings.INVOICE_TRIGGER = "fulfilled"
    mug, honey = line_ids(order)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
        assert orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 2)]) is None
        orders.order_fulfil(order_id=order.pk)

    invoice = Document.objects.get(order=order)
    assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 0
    assert list(invoice.lines.values_list("order_line_id", "quantity")) == [(mug, 1), (honey, 2)]
    # 12.99 at 22 % -> 2.86; 14.90 at 9.5 % -> 1.42
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        Decimal("27.89"),
        Decimal("4.28"),
        Decimal("32.17"),
    )


def test_refunding_everything_before_the_point_leaves_nothing_to_invoice(
    settings, order, django_capture_on_commit_callbacks
):
    settings.INVOICE_TRIGGER = "fulfilled"
    mug, honey = line_ids(order)
    orders.order_mark_paid(order_id=order.pk)
    orders.order_refund(
        order_id=order.pk, lines=[orders.RefundLine(mug, 3), orders.RefundLine(honey, 2)]
    )
    orders.order_fulfil(order_id=order.pk)
    assert Document.objects.count() == 0


def test_a_seller_override_of_the_invoice_point(settings, seller, order):
    settings.INVOICE_TRIGGER = "paid"
    seller.invoice_trigger = "fulfilled"
    seller.save()
    orders.order_mark_paid(order_id=order.pk)
    assert Document.objects.count() == 0
    orders.order_fulfil(order_id=order.pk)
    assert Document.objects.count() == 1


def test_cancelled_before_its_point_an_order_is_never_invoiced(settings, order):
    settings.INVOICE_TRIGGER = "fulfilled"
    orders.order_mark_paid(order_id=order.pk)
    orders.order_cancel(order_id=order.pk)
    with pytest.raises(ApplicationError) as refused:
        orders.order_fulfil(order_id=order.pk)
    assert (refused.value.field, refused.value.message) == (
        "status",
        "A cancelled order cannot become fulfilled.",
    )
    assert Document.objects.count() == 0


def test_fulfilled_before_paid_is_invoiced_once_at_payment(settings, order):
    settings.INVOICE_TRIGGER = "paid"
    orders.order_fulfil(order_id=order.pk)
    assert Document.objects.count() == 0
    orders.order_mark_paid(order_id=order.pk)
    with pytest.raises(ApplicationError):
        orders.order_mark_paid(order_id=order.pk)
    assert Document.objects.filter(order=order).count() == 1


@pytest.mark.parametrize(
    ("lines", "field", "detail"),
    [
        ([(0, 4)], "lines[0].quantity", "Only 3 of 3 'Mug' can still be refunded."),
        ([(0, 2), (0, 2)], "lines[1].quantity", "Only 3 of 3 'Mug' can still be refunded."),
        ([(0, 0)], "lines[0].quantity", "Quantity must be at least 1."),
        ([(99, 1)], "lines[0].line_id", None),
    ],
)
def test_bad_refunds_are_named_and_write_nothing(settings, order, lines, field, detail):
    settings.INVOICE_TRIGGER = "fulfilled"
    orders.order_mark_paid(order_id=order.pk)
    ids = line_ids(order)
    refund = [
        orders.RefundLine(ids[index] if index < 2 else 10**9, quantity) for index, quantity in lines
    ]
    with pytest.raises(ApplicationError) as refused:
        orders.order_refund(order_id=order.pk, lines=refund)
    assert refused.value.field == field
    if detail:
        assert refused.value.message == detail
    assert list(order.lines.values_list("refunded_quantity", flat=True)) == [0, 0]


def test_an_unpaid_order_cannot_be_refunded(order):
    mug, _ = line_ids(order)
    with pytest.raises(ApplicationError) as refused:
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 1)])
    assert refused.value.field == "status"


def test_a_credit_note_waits_for_its_invoice(django_capture_on_commit_callbacks):
    invoice = InvoiceFactory(state=DocumentState.PENDING, remote_id=None, number="")
    line = invoice.lines.get()
    credit_note = services.credit_note_request(
        invoice=invoice, lines=[services.CreditLine(line.order_line_id, 1)]
    )
    with pytest.raises(services.NotReady):
        services.document_issue(invoice_id=credit_note.pk)
    assert Document.objects.get(pk=credit_note.pk).attempts == 0


PRICES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2)
RATES = st.sampled_from([Decimal("0.00"), Decimal("9.50"), Decimal("22.00")])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.tuples(st.integers(1, 5), PRICES, RATES), min_size=1, max_size=4),
    refunds=st.lists(
        st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5)), min_size=1, max_size=3),
        max_size=6,
    ),
)
def test_credit_notes_never_exceed_the_invoice_per_line_rate_and_gross(lines, refunds):
    refusals: list[str] = []
    with transaction.atomic():
        invoice = invoice_with_lines(lines)
        for refund in refunds:
            invoiced = list(invoice.lines.order_by("pk"))
            credit = [
                services.CreditLine(invoiced[index % len(invoiced)].order_line_id, quantity)
                for index, quantity in refund
            ]
            try:
                services.credit_note_request(invoice=invoice, lines=credit)
            except ApplicationError as refusal:  # refusals are expected; only over-credits
                refusals.append(refusal.code)
        _assert_within_invoice(invoice)
        assert set(refusals) <= {"over_credit"}
        transaction.set_rollback(True)


def _assert_within_invoice(invoice):
    invoiced = {line.order_line_id: line for line in invoice.lines.all()}
    credited = list(DocumentLine.objects.filter(document__credited_invoice=invoice))
    for line_id, line in invoiced.items():
        assert sum(c.quantity for c in credited if c.order_line_id == line_id) <= line.quantity
    for rate in {line.tax_rate for line in invoiced.values()}:
        invoiced_base = sum(line.total_net for line in invoiced.values() if line.tax_rate == rate)
        credited_base = sum(c.total_net for c in credited if c.tax_rate == rate)
        assert credited_base <= invoiced_base
    balance = selectors.invoice_credit_balance(invoice=invoice)
    assert balance.credited_gross <= balance.invoiced_gross


def test_a_voided_invoice_gets_no_credit_note_on_cancel_or_refund(
    order, django_capture_on_commit_callbacks
):
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)
    Document.objects.filter(pk=invoice.pk).update(voided_at=timezone.now())  # as a webhook does
    mug, _ = line_ids(order)

    with pytest.raises(ApplicationError) as refused:
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 1)])
    orders.order_cancel(order_id=order.pk)

    assert (refused.value.field, refused.value.code) == ("status", "conflict")
    assert refused.value.message == (
        f"Invoice {invoice.number} was voided in Space Invoices: there is nothing left to credit."
    )
    assert order.documents.filter(kind=DocumentKind.CREDIT_NOTE).count() == 0
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def _remote_credit_notes(sandbox, invoice):
    query = {"metadata.credited_invoice_id": {"equals": invoice.remote_id}}
    return sandbox.client().credit_note_list(entity_id=invoice.entity_id, query=query).data


def _refund_giving_up(sandbox, settings, order, callbacks, **faults):
    """A refund of 2 mugs whose credit note gives up on its only attempt under these faults."""
    settings.INVOICE_MAX_ATTEMPTS = 1
    mug, _ = line_ids(order)
    sandbox.faults(**faults)
    with callbacks(execute=True):
        credit_note = orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 2)])
    sandbox.faults()
    credit_note.refresh_from_db()
    assert credit_note.state == DocumentState.FAILED
    return credit_note


def test_a_credit_note_that_gave_up_counts_until_the_operators_retry_finds_it(
    sandbox, settings, order, django_capture_on_commit_callbacks
):
    """Its create succeeded, the answer was lost: a second refund of the same quantities would
    credit them twice."""
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)
    credit_note = _refund_giving_up(
        sandbox, settings, order, django_capture_on_commit_callbacks, lost_response_rate=1
    )
    [created] = _remote_credit_notes(sandbox, invoice)
    mug, _ = line_ids(order)

    with pytest.raises(ApplicationError) as refused:
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 2)])
    with django_capture_on_commit_callbacks(execute=True):
        services.document_retry(invoice_id=credit_note.pk)

    assert (refused.value.field, refused.value.code, refused.value.message) == (
        "lines[0].quantity",
        "over_credit",
        "Only 1 of 3 can still be credited for 'Mug'.",
    )
    credit_note.refresh_from_db()
    assert (credit_note.state, credit_note.remote_id, credit_note.number) == (
        DocumentState.ISSUED,
        created["id"],
        f"CN-{YEAR}-00001",
    )
    assert [document["id"] for document in _remote_credit_notes(sandbox, invoice)] == [
        created["id"]
    ]
    assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 1


def test_a_credit_note_proven_absent_by_reconciliation_frees_its_quantities(
    sandbox, settings, order, django_capture_on_commit_callbacks
):
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)
    credit_note = _refund_giving_up(
        sandbox, settings, order, django_capture_on_commit_callbacks, error_rate=1
    )
    mug, _ = line_ids(order)
    with pytest.raises(ApplicationError):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 2)])

    reconcile()
    with django_capture_on_commit_callbacks(execute=True):
        second = orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 2)])

    credit_note.refresh_from_db()
    assert (credit_note.state, credit_note.outcome_unknown) == (DocumentState.FAILED, False)
    assert credit_note.absence_proven_at is not None
    second.refresh_from_db()
    assert (second.state, second.number, second.total_net) == (
        DocumentState.ISSUED,
        f"CN-{YEAR}-00001",
        Decimal("25.98"),
    )
    assert [document["id"] for document in _remote_credit_notes(sandbox, invoice)] == [
        second.remote_id
    ]


def test_a_rejected_credit_note_created_nothing_and_does_not_count(
    sandbox, order, django_capture_on_commit_callbacks
):
    paid_and_invoiced(order, django_capture_on_commit_callbacks)
    mug, _ = line_ids(order)
    with django_capture_on_commit_callbacks(execute=False):
        rejected = orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 3)])
    refusal = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(422, json={"code": "bad"}))
    )
    client = SpaceInvoicesClient(base_url="http://si", api_key="sk_sandbox_x", http=refusal)
    assert services.document_issue(invoice_id=rejected.pk, client=client).state == "failed"

    with django_capture_on_commit_callbacks(execute=True):
        second = orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 3)])

    rejected.refresh_from_db()
    assert (rejected.state, rejected.outcome_unknown) == (DocumentState.FAILED, False)
    second.refresh_from_db()
    assert (second.state, second.number) == (DocumentState.ISSUED, f"CN-{YEAR}-00001")


def _reject(credit_note):
    """Its create refused by the API (422): it created nothing."""
    refusal = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(422, json={"code": "bad"}))
    )
    client = SpaceInvoicesClient(base_url="http://si", api_key="sk_sandbox_x", http=refusal)
    assert services.document_issue(invoice_id=credit_note.pk, client=client).state == "failed"


def _refused_retry(credit_note, callbacks):
    with callbacks(execute=True) as queued, pytest.raises(ApplicationError) as refused:
        services.document_retry(invoice_id=credit_note.pk)
    credit_note.refresh_from_db()
    assert (credit_note.state, queued) == (DocumentState.FAILED, [])
    assert AuditEvent.objects.filter(action="document.retried").count() == 0
    return refused.value.field, refused.value.code, refused.value.message


def test_retrying_a_credit_note_proven_absent_after_its_goods_were_credited_again_is_refused(
    sandbox, settings, order, django_capture_on_commit_callbacks
):
    """Refund 2 mugs: A gives up, reconciliation proves it absent, the same 2 mugs are
    refunded again (B). Retrying A would credit the 2 mugs twice."""
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)
    absent = _refund_giving_up(
        sandbox, settings, order, django_capture_on_commit_callbacks, error_rate=1
    )
    assert services.document_find_remote(invoice_id=absent.pk).outcome_unknown is False
    mug, _ = line_ids(order)
    with django_capture_on_commit_callbacks(execute=True):
        second = orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 2)])

    refusal = _refused_retry(absent, django_capture_on_commit_callbacks)

    assert refusal == (
        "lines",
        "over_credit",
        f"Credit note #{absent.pk} (failed) credits 2 of 'Mug', but only 1 remain to credit on "
        f"invoice {YEAR}-00001 (credited since it failed): sending it would credit them twice.",
    )
    second.refresh_from_db()
    assert (second.state, second.number, second.total_gross) == (
        DocumentState.ISSUED,
        f"CN-{YEAR}-00001",
        Decimal("31.70"),
    )
    assert [document["id"] for document in _remote_credit_notes(sandbox, invoice)] == [
        second.remote_id
    ]


def test_retrying_a_rejected_credit_note_after_its_goods_were_credited_again_is_refused(
    sandbox, order, django_capture_on_commit_callbacks
):
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)
    mug, _ = line_ids(order)
    with django_capture_on_commit_callbacks(execute=False):
        rejected = orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 3)])
    _reject(rejected)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=order.pk)

    refusal = _refused_retry(rejected, django_capture_on_commit_callbacks)

    assert refusal == (
        "lines",
        "over_credit",
        f"Credit note #{rejected.pk} (failed) credits 3 of 'Mug', but only 0 remain to credit "
        f"on invoice {YEAR}-00001 (credited since it failed): sending it would credit them "
        "twice.",
    )
    assert [document["total_with_tax"] for document in _remote_credit_notes(sandbox, invoice)] == [
        Decimal("63.86")
    ]


def test_a_credit_note_proven_absent_is_retried_while_its_goods_remain(
    sandbox, settings, order, django_capture_on_commit_callbacks
):
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)
    absent = _refund_giving_up(
        sandbox, settings, order, django_capture_on_commit_callbacks, error_rate=1
    )
    services.document_find_remote(invoice_id=absent.pk)
    mug, _ = line_ids(order)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(mug, 1)])

    with django_capture_on_commit_callbacks(execute=True):
        services.document_retry(invoice_id=absent.pk)

    absent.refresh_from_db()
    assert (absent.state, absent.number, absent.total_gross) == (
        DocumentState.ISSUED,
        f"CN-{YEAR}-00002",
        Decimal("31.70"),
    )
    assert len(_remote_credit_notes(sandbox, invoice)) == 2


@pytest.fixture
def candles(sandbox, django_capture_on_commit_callbacks):
    """A Dutch seller's 3 x 10.03 at 21 %: 30.09 + 6.32 = 36.41."""
    seller = seller_with_entity(country="NL", tax_number="NL004495445B01")
    candle = ProductFactory(seller=seller, name="Candle", unit_price=Decimal("10.03"))
    checkout = orders.checkout_create(
        buyer=UserFactory(),
        lines=[orders.CartLine(candle.pk, 3)],
        billing=replace(BILLING, country="NL"),
    )
    order = checkout.orders.get()
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        Decimal("30.09"),
        Decimal("6.32"),
        Decimal("36.41"),
    )
    return order, invoice


def test_one_unit_refunds_of_every_unit_never_credit_more_than_the_invoice(
    sandbox, candles, django_capture_on_commit_callbacks
):
    order, invoice = candles
    candle = order.lines.get()

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(candle.pk, 1)])

    # One unit is 10.03 + 2.11 = 12.14; after two, 36.41 - 24.28 = 12.13 remains, which no
    # document reaches (10.03 net -> 12.14, 10.02 -> 12.12): the third credits 12.12.
    notes = Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).order_by("pk")
    assert list(notes.values_list("number", "state", "total_net", "total_tax", "total_gross")) == [
        (f"CN-{YEAR}-00001", DocumentState.ISSUED, Decimal("10.03"), Decimal("2.11"),
         Decimal("12.14")),
        (f"CN-{YEAR}-00002", DocumentState.ISSUED, Decimal("10.03"), Decimal("2.11"),
         Decimal("12.14")),
        (f"CN-{YEAR}-00003", DocumentState.ISSUED, Decimal("10.02"), Decimal("2.10"),
         Decimal("12.12")),
    ]  # fmt: skip
    last = notes.last()
    name = f"Balance of invoice {YEAR}-00001 at 21.00 %: 1 x Candle"
    assert list(
        last.lines.values_list("order_line", "name", "quantity", "unit_price", "tax_rate")
    ) == [(None, name, 1, Decimal("10.02"), Decimal("21.00"))]
    remote = sandbox.client().credit_note_get(
        entity_id=last.entity_id, credit_note_id=last.remote_id
    )
    assert [(item["name"], item["price"]) for item in remote["items"]] == [(name, Decimal("10.02"))]
    assert remote["total_with_tax"] == Decimal("12.12")
    balance = selectors.invoice_credit_balance(invoice=invoice)
    assert (balance.credited_gross, balance.remaining_gross) == (
        Decimal("36.40"),
        Decimal("0.01"),
    )
    assert selectors.invoices_over_credited().count() == 0
    assert [finding.kind for finding in reconcile(client=sandbox.client())] == []
    with pytest.raises(ApplicationError) as refused:
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(candle.pk, 1)])
    assert (refused.value.field, refused.value.code) == ("lines", "over_credit")
    assert refused.value.message.startswith(
        f"These lines credit 12.14 EUR, but only 0.01 EUR of invoice {YEAR}-00001 remains"
    )


def test_a_partial_credit_note_worth_more_than_the_gross_that_remains_is_refused(candles):
    """Not the last quantities, yet above the remaining gross (the invoice's total is set
    lower here to stand for what many partial credit notes' rounding can leave): the gross is
    checked whatever the quantities say, and the note is refused, never written."""
    order, invoice = candles
    candle = order.lines.get()
    Document.objects.filter(pk=invoice.pk).update(total_gross=Decimal("20.00"))
    invoice.refresh_from_db()

    with pytest.raises(ApplicationError) as refused:
        services.credit_note_request(invoice=invoice, lines=[services.CreditLine(candle.pk, 2)])

    assert (refused.value.field, refused.value.code, refused.value.message) == (
        "lines",
        "over_credit",
        f"These lines credit 24.27 EUR, but only 20.00 EUR of invoice {YEAR}-00001 remains to "
        "credit.",
    )
    assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 0


def test_a_cancel_after_refunds_whose_rounding_credited_the_whole_total_credits_nothing_more(
    sandbox, django_capture_on_commit_callbacks
):
    """10 x 0.03 at 21 % is 0.30 + 0.06 = 0.36; each one-unit credit note is 0.03 + 0.01, so
    nine of them credit all 0.36 and the tenth unit has nothing left to credit."""
    seller = seller_with_entity(country="NL", tax_number="NL004495445B01")
    match = ProductFactory(seller=seller, name="Match", unit_price=Decimal("0.03"))
    checkout = orders.checkout_create(
        buyer=UserFactory(),
        lines=[orders.CartLine(match.pk, 10)],
        billing=replace(BILLING, country="NL"),
    )
    order = checkout.orders.get()
    invoice = paid_and_invoiced(order, django_capture_on_commit_callbacks)
    line = order.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(9):
            orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(line.pk, 1)])
    with pytest.raises(ApplicationError) as refused:
        orders.order_refund(order_id=order.pk, lines=[orders.RefundLine(line.pk, 1)])

    with django_capture_on_commit_callbacks(execute=True):
        cancelled = orders.order_cancel(order_id=order.pk)

    assert invoice.total_gross == Decimal("0.36")
    assert refused.value.message == (
        f"These lines credit 0.04 EUR, but only 0.00 EUR of invoice {YEAR}-00001 remains to credit."
    )
    assert cancelled.status == OrderStatus.CANCELLED
    notes = Document.objects.filter(kind=DocumentKind.CREDIT_NOTE)
    assert (notes.count(), sum(note.total_gross for note in notes)) == (9, Decimal("0.36"))
