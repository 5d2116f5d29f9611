"""The order's payment on its invoice: recorded exactly once, re-driven when its task is lost,
never sent for a zero total."""

from decimal import Decimal

import httpx
import pytest
from django.utils import timezone

from invoicing import services
from invoicing.client import SpaceInvoicesClient, Transient
from invoicing.models import Document, DocumentState
from marketplace import services as orders
from marketplace.models import Order
from tests.factories import BILLING, ProductFactory, UserFactory, seller_with_entity

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


@pytest.fixture
def placed_trigger(settings, sandbox):
    """Invoices are issued when the order is placed; the payment is recorded later."""
    settings.INVOICE_TRIGGER = "placed"


def place(callbacks, *, price="12.99", execute=True):
    product = ProductFactory(seller=seller_with_entity(), unit_price=Decimal(price))
    with callbacks(execute=execute):
        checkout = orders.checkout_create(
            buyer=UserFactory(),
            lines=[orders.CartLine(product_id=product.pk, quantity=2)],
            billing=BILLING,
        )
    order = checkout.orders.get()
    return order, Document.objects.filter(order=order).first()


def pay_later(order, callbacks, *, execute=False):
    with callbacks(execute=execute):
        orders.order_mark_paid(order_id=order.pk)


def remote(sandbox, invoice):
    return sandbox.client().invoice_get(entity_id=invoice.entity_id, invoice_id=invoice.remote_id)


def remote_payments(sandbox, invoice):
    return sandbox.client().payment_list(entity_id=invoice.entity_id).data


def make_stale(settings, invoice):
    """The payment's task was lost long enough ago for the sweeper to take over."""
    long_ago = timezone.now() - settings.INVOICE_PENDING_SWEEP_AFTER * 2
    Order.objects.filter(pk=invoice.order_id).update(paid_at=long_ago)
    Document.objects.filter(pk=invoice.pk).update(last_attempt_at=long_ago)


def test_a_payment_whose_answer_was_lost_is_found_not_posted_again(
    placed_trigger, sandbox, django_capture_on_commit_callbacks
):
    order, invoice = place(django_capture_on_commit_callbacks)
    pay_later(order, django_capture_on_commit_callbacks)
    sandbox.faults(lost_response_rate=1)
    with pytest.raises(Transient):
        services.payment_record(invoice_id=invoice.pk)
    sandbox.faults()
    sandbox.forget_request_ids()  # the retry comes after the API stopped replaying the first post

    recorded = services.payment_record(invoice_id=invoice.pk)

    assert (recorded.payment_error, recorded.payment_recorded_at is not None) == ("", True)
    [payment] = remote_payments(sandbox, invoice)
    assert (payment["amount"], payment["metadata"]) == (
        Decimal("31.70"),
        {"order_id": str(order.pk), "payment_ref": f"mkt-payment-{invoice.pk}"},
    )
    document = remote(sandbox, invoice)
    assert (document["total_paid"], document["paid_in_full"]) == (Decimal("31.70"), True)


def test_the_sweeper_records_a_payment_whose_task_was_lost(
    placed_trigger, sandbox, settings, django_capture_on_commit_callbacks
):
    order, invoice = place(django_capture_on_commit_callbacks)
    pay_later(order, django_capture_on_commit_callbacks)  # its record_payment task is lost
    make_stale(settings, invoice)

    with django_capture_on_commit_callbacks(execute=True):
        swept = services.document_sweep_pending()
    again = services.document_sweep_pending()

    assert (swept, again) == ([invoice.pk], [])
    assert Document.objects.get(pk=invoice.pk).payment_recorded_at is not None
    assert [payment["amount"] for payment in remote_payments(sandbox, invoice)] == [
        Decimal("31.70")
    ]
    assert remote(sandbox, invoice)["paid_in_full"] is True


def test_a_refused_payment_is_kept_for_admin_and_left_alone_by_the_sweeper(
    placed_trigger, sandbox, settings, django_capture_on_commit_callbacks
):
    order, invoice = place(django_capture_on_commit_callbacks)
    pay_later(order, django_capture_on_commit_callbacks)
    refusal = {"code": "validation_error", "message": "the invoice is already paid"}
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(422, json=refusal)))
    client = SpaceInvoicesClient(base_url="http://si", api_key="sk_sandbox_x", http=http)

    refused = services.payment_record(invoice_id=invoice.pk, client=client)
    make_stale(settings, invoice)

    assert (refused.payment_error, refused.payment_recorded_at) == (
        "422 validation_error: the invoice is already paid",
        None,
    )
    assert services.document_sweep_pending() == []


def test_an_invoice_found_again_after_its_order_was_paid_gets_the_payment_recorded(
    placed_trigger, sandbox, django_capture_on_commit_callbacks
):
    """Its create went out before the payment and its answer was lost: the document found
    again carries no payment, whatever a request built now would carry."""
    order, invoice = place(django_capture_on_commit_callbacks, execute=False)
    sandbox.faults(lost_response_rate=1)
    with pytest.raises(Transient):
        services.document_issue(invoice_id=invoice.pk)
    sandbox.faults()
    pay_later(order, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        issued = services.document_issue(invoice_id=invoice.pk)

    document = remote(sandbox, issued)
    assert (document["total_paid"], document["paid_in_full"]) == (Decimal("31.70"), True)
    assert Document.objects.get(pk=invoice.pk).payment_recorded_at is not None
    assert len(remote_payments(sandbox, issued)) == 1


def test_a_zero_total_order_is_invoiced_without_a_payment(
    sandbox, django_capture_on_commit_callbacks
):
    order, _ = place(django_capture_on_commit_callbacks, price="0.00")
    pay_later(order, django_capture_on_commit_callbacks, execute=True)

    invoice = Document.objects.get(order=order)
    assert (invoice.state, invoice.number, invoice.total_gross, invoice.last_error) == (
        DocumentState.ISSUED,
        f"{YEAR}-00001",
        Decimal("0.00"),
        "",
    )
    assert invoice.payment_recorded_at is not None
    document = remote(sandbox, invoice)
    assert (document["total_with_tax"], document["total_paid"], document["payments"]) == (
        Decimal("0"),
        Decimal("0"),
        [],
    )
    assert remote_payments(sandbox, invoice) == []


def test_a_zero_total_invoice_issued_at_placement_takes_no_payment_when_paid(
    placed_trigger, sandbox, django_capture_on_commit_callbacks
):
    order, invoice = place(django_capture_on_commit_callbacks, price="0.00")
    assert (invoice.state, invoice.total_gross) == (DocumentState.ISSUED, Decimal("0.00"))

    pay_later(order, django_capture_on_commit_callbacks, execute=True)

    invoice.refresh_from_db()
    assert (invoice.payment_error, invoice.payment_recorded_at is not None) == ("", True)
    assert remote_payments(sandbox, invoice) == []
    assert services.document_sweep_pending() == []
