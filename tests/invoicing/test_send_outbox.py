"""Emailing an issued document to its buyer: due with the issued state, sent exactly once
(looked up before a repeat), re-driven by the sweeper, counted by reconciliation."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import httpx
import pytest
from django.utils import timezone

from invoicing import reconciliation, services, tasks
from invoicing.client import SpaceInvoicesClient, Transient
from invoicing.models import Document, DocumentState
from invoicing.sandbox import sandbox_transport
from marketplace import services as orders
from marketplace.models import Order
from tests.factories import BILLING, ProductFactory, UserFactory, seller_with_entity

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def paid_invoice(callbacks) -> Document:
    """A paid order's invoice, pending; its issue task is not run."""
    product = ProductFactory(seller=seller_with_entity(), unit_price=Decimal("10.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
    )
    with callbacks(execute=False):
        orders.order_mark_paid(order_id=checkout.orders.get().pk)
    return Document.objects.get(order__checkout=checkout)


def issued_invoice(callbacks) -> Document:
    """A paid order's invoice, issued; the tasks it enqueues are not run (lost)."""
    invoice = paid_invoice(callbacks)
    with callbacks(execute=False):
        return services.document_issue(invoice_id=invoice.pk)


def messages(sandbox) -> list[tuple[str, str]]:
    outbox = sandbox.http().get("/sandbox/outbox", params={"limit": 100}).json()["data"]
    return [(message["document_number"], message["to"]) for message in outbox]


def make_stale(settings, invoice: Document) -> None:
    long_ago = timezone.now() - settings.INVOICE_PENDING_SWEEP_AFTER * 2
    Document.objects.filter(pk=invoice.pk).update(send_due_at=long_ago, last_attempt_at=long_ago)
    Order.objects.filter(pk=invoice.order_id).update(paid_at=long_ago)


def test_the_send_is_due_from_the_moment_the_document_is_issued(
    sandbox, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(django_capture_on_commit_callbacks)

    assert invoice.state == DocumentState.ISSUED
    assert (invoice.send_due_at, invoice.send_posted_at, invoice.sent_at) == (
        invoice.issued_at,
        None,
        None,
    )
    assert messages(sandbox) == []


def test_nothing_is_due_when_documents_are_not_sent_to_buyers(
    sandbox, settings, django_capture_on_commit_callbacks
):
    settings.SEND_DOCUMENTS_TO_BUYERS = False
    product = ProductFactory(seller=seller_with_entity())
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
    )
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=checkout.orders.get().pk)
    invoice = Document.objects.get(order__checkout=checkout)
    make_stale(settings, invoice)
    Document.objects.filter(pk=invoice.pk).update(send_due_at=None)

    assert invoice.state == DocumentState.ISSUED
    assert services.document_sweep_pending() == []


def test_the_issue_task_sends_the_document_itself(sandbox, django_capture_on_commit_callbacks):
    invoice = paid_invoice(django_capture_on_commit_callbacks)

    with (
        mock.patch("invoicing.tasks.send_document.delay") as send_task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        tasks.issue_document.apply(args=[invoice.pk]).get()

    done = Document.objects.get(pk=invoice.pk)
    assert (done.state, done.attempts, done.number) == (DocumentState.ISSUED, 1, f"{YEAR}-00001")
    assert done.send_posted_at is not None
    assert done.sent_at is not None
    assert send_task.call_count == 0
    assert messages(sandbox) == [(f"{YEAR}-00001", "ana@example.com")]


def test_a_send_failing_in_the_issue_task_is_retried_without_a_second_create(
    sandbox, django_capture_on_commit_callbacks
):
    invoice = paid_invoice(django_capture_on_commit_callbacks)
    app = sandbox.app

    def send_unavailable(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/send"):
            return httpx.Response(503, json={"code": "unavailable", "message": "down"})
        return sandbox_transport(app).handle_request(request)

    http = httpx.Client(transport=httpx.MockTransport(send_unavailable), base_url="http://sb")
    failing = SpaceInvoicesClient(base_url="http://sb", api_key="sk_sandbox_tests", http=http)
    with pytest.raises(Transient):
        services.document_issue_and_send(invoice_id=invoice.pk, client=failing)
    issued = Document.objects.get(pk=invoice.pk)

    services.document_issue_and_send(invoice_id=invoice.pk, client=sandbox.client())

    done = Document.objects.get(pk=invoice.pk)
    assert (issued.state, issued.sent_at, issued.send_posted_at is not None) == (
        DocumentState.ISSUED,
        None,
        True,
    )
    assert (done.attempts, done.remote_id, done.sent_at is not None) == (
        1,
        issued.remote_id,
        True,
    )
    listed = sandbox.client().invoice_list(entity_id=invoice.entity_id, query={}, limit=10)
    assert [document["id"] for document in listed.data] == [issued.remote_id]
    assert messages(sandbox) == [(f"{YEAR}-00001", "ana@example.com")]


def test_the_sweeper_sends_a_document_whose_task_was_lost_once(
    sandbox, settings, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(django_capture_on_commit_callbacks)
    make_stale(settings, invoice)

    with django_capture_on_commit_callbacks(execute=True):
        swept = services.document_sweep_pending()
    again = services.document_sweep_pending()

    assert (swept, again) == ([invoice.pk], [])
    assert Document.objects.get(pk=invoice.pk).sent_at is not None
    assert messages(sandbox) == [(f"{YEAR}-00001", "ana@example.com")]


def test_a_send_whose_answer_was_lost_is_found_not_sent_again(
    sandbox, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(django_capture_on_commit_callbacks)
    sandbox.faults(lost_response_rate=1)
    with pytest.raises(Transient):
        services.document_send(invoice_id=invoice.pk)
    sandbox.faults()
    sandbox.forget_request_ids()  # the API no longer replays the first post

    sent = services.document_send(invoice_id=invoice.pk)

    assert sent.send_posted_at is not None
    assert sent.sent_at is not None
    assert messages(sandbox) == [(f"{YEAR}-00001", "ana@example.com")]


def test_without_a_route_to_look_it_up_the_send_is_replayed_by_its_request_id(
    sandbox, settings, django_capture_on_commit_callbacks
):
    settings.SPACE_INVOICES_MESSAGES_PATH = "/no-such-route"
    invoice = issued_invoice(django_capture_on_commit_callbacks)
    sandbox.faults(lost_response_rate=1)
    with pytest.raises(Transient):
        services.document_send(invoice_id=invoice.pk)
    sandbox.faults()

    sent = services.document_send(invoice_id=invoice.pk)

    assert sent.sent_at is not None
    assert messages(sandbox) == [(f"{YEAR}-00001", "ana@example.com")]


def test_a_refused_send_is_kept_for_admin_and_left_alone_by_the_sweeper(
    sandbox, settings, django_capture_on_commit_callbacks
):
    invoice = issued_invoice(django_capture_on_commit_callbacks)
    refusal = {"code": "validation_error", "message": "to is not a deliverable address"}
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(422, json=refusal)))
    client = SpaceInvoicesClient(base_url="http://si", api_key="sk_sandbox_x", http=http)

    refused = services.document_send(invoice_id=invoice.pk, client=client)
    make_stale(settings, Document.objects.get(pk=invoice.pk))

    assert (refused.send_error, refused.sent_at) == (
        "422 validation_error: to is not a deliverable address",
        None,
    )
    assert services.document_sweep_pending() == []
    assert messages(sandbox) == []


def test_reconciliation_counts_documents_never_sent_and_payments_never_recorded(
    sandbox, settings, django_capture_on_commit_callbacks
):
    settings.INVOICE_TRIGGER = "placed"  # the payment is recorded after the invoice is issued
    invoice = issued_invoice(django_capture_on_commit_callbacks)
    recent = reconciliation.reconcile(client=sandbox.client())
    make_stale(settings, invoice)

    found = reconciliation.reconcile(client=sandbox.client())

    assert recent == []  # the sweeper still has its time to drive both
    assert sorted((f.kind, f.order_id, f.remote_id, f.detail) for f in found) == [
        ("not_sent", invoice.order_id, invoice.remote_id,
         f"{YEAR}-00001 was issued and never sent to the buyer"),
        ("payment_not_recorded", invoice.order_id, invoice.remote_id,
         f"{YEAR}-00001 is paid here and its payment is not recorded there"),
    ]  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        services.document_sweep_pending()
    Document.objects.filter(pk=invoice.pk).update(last_attempt_at=timezone.now() - timedelta(1))

    assert reconciliation.reconcile(client=sandbox.client()) == []
    done = Document.objects.get(pk=invoice.pk)
    assert (done.sent_at is not None, done.payment_recorded_at is not None) == (True, True)
