"""Issuing an order's invoice in its seller's entity, through the in-process sandbox."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import httpx
import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoicing import services
from invoicing.client import SpaceInvoicesClient, Transient, json_dumps
from invoicing.models import Document, DocumentKind, DocumentState
from invoicing.reconciliation import reconcile
from invoicing.sandbox import sandbox_transport
from invoicing.seller_entities import seller_entity_create
from marketplace import services as orders
from marketplace.models import Order, OrderStatus
from tests.conftest import SANDBOX_KEY
from tests.factories import BILLING, ProductFactory, SellerFactory, UserFactory, seller_with_entity

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year


def place_order(seller, quantity=2, buyer=None):
    product = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    checkout = orders.checkout_create(
        buyer=buyer or UserFactory(),
        lines=[orders.CartLine(product_id=product.pk, quantity=quantity)],
        billing=BILLING,
    )
    return checkout.orders.get()


def pay(order, callbacks):
    with callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    return Document.objects.get(order=order, kind=DocumentKind.INVOICE)


def pay_unissued(order, callbacks):
    """The order paid; its invoice row, with its issue task not run."""
    with callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    return Document.objects.get(order=order, kind=DocumentKind.INVOICE)


def test_paid_order_is_invoiced_in_its_sellers_entity(sandbox, django_capture_on_commit_callbacks):
    seller = seller_with_entity(business_name="Alpine Crafts", primary_colour="#AA3300")
    order = place_order(seller)

    invoice = pay(order, django_capture_on_commit_callbacks)

    assert invoice.state == DocumentState.ISSUED
    assert invoice.entity_id == seller.entity_id
    assert invoice.number == f"{YEAR}-00001"
    assert (invoice.total_net, invoice.total_tax, invoice.total_gross) == (
        Decimal("25.98"),
        Decimal("5.72"),
        Decimal("31.70"),
    )
    assert (invoice.total_net, invoice.total_gross) == (order.total_net, order.total_gross)
    remote = sandbox.client().invoice_get(entity_id=seller.entity_id, invoice_id=invoice.remote_id)
    assert remote["metadata"] == {
        "order_id": str(order.pk),
        "seller_id": str(seller.pk),
        "checkout_id": str(order.checkout_id),
        "document_ref": f"mkt-invoice-{invoice.pk}",
    }
    assert remote["issuer"]["name"] == "Alpine Crafts"
    assert remote["customer"]["name"] == "Ana Novak"
    assert remote["customer"]["country_code"] == "SI"
    share_page = sandbox.http().get(f"/share/{invoice.shareable_id}").text
    assert "#AA3300" in share_page
    assert f"{YEAR}-00001" in share_page


def test_each_seller_numbers_its_own_invoices(sandbox, django_capture_on_commit_callbacks):
    first_seller, second_seller = seller_with_entity(), seller_with_entity()

    numbers = [
        (seller.pk, pay(place_order(seller), django_capture_on_commit_callbacks).number)
        for seller in (first_seller, second_seller, first_seller, first_seller, second_seller)
    ]

    assert numbers == [
        (first_seller.pk, f"{YEAR}-00001"),
        (second_seller.pk, f"{YEAR}-00001"),
        (first_seller.pk, f"{YEAR}-00002"),
        (first_seller.pk, f"{YEAR}-00003"),
        (second_seller.pk, f"{YEAR}-00002"),
    ]


def test_invoice_is_found_by_order_id_in_its_entity_only(
    sandbox, django_capture_on_commit_callbacks
):
    seller, other = seller_with_entity(), seller_with_entity()
    order = place_order(seller)
    invoice = pay(order, django_capture_on_commit_callbacks)
    client = sandbox.client()

    found = client.invoice_list(
        entity_id=seller.entity_id, query={"metadata.order_id": {"equals": str(order.pk)}}
    )
    elsewhere = client.invoice_list(
        entity_id=other.entity_id, query={"metadata": {"order_id": {"equals": str(order.pk)}}}
    )

    assert [document["id"] for document in found.data] == [invoice.remote_id]
    assert elsewhere.data == []


def test_task_is_enqueued_only_after_commit(sandbox, django_capture_on_commit_callbacks):
    order = place_order(seller_with_entity())
    with mock.patch("invoicing.tasks.issue_document.delay") as delay:
        with django_capture_on_commit_callbacks() as callbacks:
            orders.order_mark_paid(order_id=order.pk)
            assert delay.call_count == 0
        assert delay.call_count == 0
        for callback in callbacks:
            callback()
    invoice = Document.objects.get(order=order)
    delay.assert_called_once_with(invoice.pk)


def test_a_rolled_back_payment_enqueues_nothing(sandbox, django_capture_on_commit_callbacks):
    order = place_order(seller_with_entity())
    with django_capture_on_commit_callbacks() as callbacks:
        try:
            with transaction.atomic():
                orders.order_mark_paid(order_id=order.pk)
                raise RuntimeError("payment provider said no after all")
        except RuntimeError:
            pass
    assert callbacks == []
    assert Document.objects.count() == 0
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PLACED


def test_a_second_invoice_for_the_same_order_is_impossible(
    sandbox, django_capture_on_commit_callbacks
):
    order = place_order(seller_with_entity())
    invoice = pay(order, django_capture_on_commit_callbacks)
    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.create(
            order=order, seller=order.seller, entity_id=invoice.entity_id, currency="EUR"
        )


def test_issuing_twice_creates_one_document(sandbox, django_capture_on_commit_callbacks):
    seller = seller_with_entity()
    invoice = pay(place_order(seller), django_capture_on_commit_callbacks)

    again = services.document_issue(invoice_id=invoice.pk)

    assert again.remote_id == invoice.remote_id
    listed = sandbox.client().invoice_list(entity_id=seller.entity_id)
    assert [document["id"] for document in listed.data] == [invoice.remote_id]


def test_a_lost_response_is_replayed_not_duplicated(sandbox, django_capture_on_commit_callbacks):
    """The API did the work but the answer never arrived: the retry gets the same document."""
    seller = seller_with_entity()
    order = place_order(seller)
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order)
    lost = sandbox.client().invoice_create(
        entity_id=seller.entity_id,
        payload=services.document_payload(invoice),
        request_id=invoice.request_id,
    )

    issued = services.document_issue(invoice_id=invoice.pk)

    assert issued.remote_id == lost["id"]
    assert issued.number == f"{YEAR}-00001"
    listed = sandbox.client().invoice_list(entity_id=seller.entity_id)
    assert [document["id"] for document in listed.data] == [lost["id"]]


def test_a_first_attempt_is_noted_as_sent_only_once_its_request_is_built(
    sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    invoice = pay_unissued(place_order(seller_with_entity()), django_capture_on_commit_callbacks)

    def unreadable(document):
        raise ValueError("the stored request does not parse")

    monkeypatch.setattr(services, "_payload_to_send", unreadable)
    with pytest.raises(ValueError, match="does not parse"):
        services.document_issue_and_send(invoice_id=invoice.pk, client=sandbox.client())

    row = Document.objects.get(pk=invoice.pk)
    assert (row.state, row.attempts, row.first_sent_at, row.outcome_unknown) == (
        DocumentState.PENDING,
        0,
        None,
        False,
    )


def test_a_first_attempt_counts_itself_and_notes_its_create_in_one_update(
    sandbox, django_capture_on_commit_callbacks, django_assert_num_queries
):
    order = place_order(seller_with_entity())
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order)
    client = sandbox.client()

    # The row with its order and seller, the attempt, then the mirror's transaction (a
    # savepoint here, inside the test's transaction: the issued state, its audit row, the
    # rollup, the tax line) and the email's sent_at.
    with django_assert_num_queries(9), django_capture_on_commit_callbacks(execute=False):
        services.document_issue_and_send(invoice_id=invoice.pk, client=client)

    row = Document.objects.get(pk=invoice.pk)
    assert (row.state, row.attempts, row.outcome_unknown) == (DocumentState.ISSUED, 1, False)
    assert row.first_sent_at is not None
    assert row.send_posted_at == row.issued_at
    assert row.sent_at is not None


def _answering(status, body=None, exc=None):
    def handler(request):
        if exc is not None:
            raise exc
        return httpx.Response(status, json=body)

    return SpaceInvoicesClient(
        base_url="http://si",
        api_key="sk_sandbox_x",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def _pending_invoice(django_capture_on_commit_callbacks):
    order = place_order(SellerFactory())
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    return Document.objects.get(order=order)


def test_a_rejection_fails_the_row_with_the_apis_reason_without_retry(
    django_capture_on_commit_callbacks,
):
    invoice = _pending_invoice(django_capture_on_commit_callbacks)
    rejection = {
        "code": "validation_error",
        "message": "Invalid document",
        "cause": {"issues": [{"path": ["expected_total_with_tax"], "message": "does not match"}]},
    }

    result = services.document_issue(invoice_id=invoice.pk, client=_answering(422, rejection))

    assert result.state == DocumentState.FAILED
    assert result.attempts == 1
    assert result.last_error == "422 validation_error: expected_total_with_tax: does not match"


def test_retry_of_a_rejected_row_uses_a_new_request_id(sandbox, django_capture_on_commit_callbacks):
    seller = seller_with_entity()
    order = place_order(seller)
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order)
    services.document_issue(invoice_id=invoice.pk, client=_answering(422, {"code": "bad"}))
    rejected_request_id = Document.objects.get(pk=invoice.pk).request_id

    with django_capture_on_commit_callbacks(execute=True):
        services.document_retry(invoice_id=invoice.pk)

    invoice.refresh_from_db()
    assert invoice.state == DocumentState.ISSUED
    assert invoice.request_id != rejected_request_id
    assert invoice.number == f"{YEAR}-00001"


def test_transient_errors_keep_the_row_pending_then_fail_it_after_the_last_attempt(
    settings, django_capture_on_commit_callbacks
):
    settings.INVOICE_MAX_ATTEMPTS = 3
    invoice = _pending_invoice(django_capture_on_commit_callbacks)
    request_id = invoice.request_id
    outages = [
        _answering(503, {"code": "unavailable", "message": "try later"}),
        _answering(0, exc=httpx.ReadTimeout("read timed out")),
    ]
    for client in outages:
        with pytest.raises(Transient):
            services.document_issue(invoice_id=invoice.pk, client=client)
        invoice.refresh_from_db()
        assert invoice.state == DocumentState.PENDING
        assert invoice.request_id == request_id

    assert invoice.attempts == 2
    assert "read timed out" in invoice.last_error
    final = services.document_issue(invoice_id=invoice.pk, client=_answering(500, {}))
    assert final.state == DocumentState.FAILED
    assert final.attempts == 3
    assert final.last_error.startswith("gave up after 3 attempts: ")


def test_sweeper_redrives_stale_pending_rows_only(
    sandbox, settings, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    stale_order, fresh_order = place_order(seller), place_order(seller)
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=stale_order.pk)
        orders.order_mark_paid(order_id=fresh_order.pk)
    stale = Document.objects.get(order=stale_order)
    Document.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - settings.INVOICE_PENDING_SWEEP_AFTER * 2
    )

    with django_capture_on_commit_callbacks(execute=True):
        swept = services.document_sweep_pending()

    assert swept == [stale.pk]
    assert Document.objects.get(pk=stale.pk).state == DocumentState.ISSUED
    assert Document.objects.get(order=fresh_order).state == DocumentState.PENDING


def test_a_lost_answer_is_found_by_metadata_after_the_request_id_changed(
    sandbox, django_capture_on_commit_callbacks
):
    """Idempotency keys expire: before creating again, the row looks for its document."""
    seller = seller_with_entity()
    order = place_order(seller)
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order)
    lost = sandbox.client().invoice_create(
        entity_id=seller.entity_id,
        payload=services.document_payload(invoice),
        request_id=invoice.request_id,
    )
    Document.objects.filter(pk=invoice.pk).update(
        attempts=1, first_sent_at=timezone.now(), request_id="mkt-doc-expired-key"
    )

    issued = services.document_issue(invoice_id=invoice.pk)

    assert (issued.state, issued.remote_id, issued.number) == (
        DocumentState.ISSUED,
        lost["id"],
        f"{YEAR}-00001",
    )
    listed = sandbox.client().invoice_list(entity_id=seller.entity_id)
    assert [document["id"] for document in listed.data] == [lost["id"]]


def test_an_order_of_a_seller_still_onboarding_waits_for_its_entity(
    sandbox, django_capture_on_commit_callbacks
):
    seller = SellerFactory(status="pending", entity_id=None)
    order = place_order(seller)
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order)
    assert (invoice.state, invoice.entity_id) == (DocumentState.PENDING, "")
    with pytest.raises(services.NotReady):
        services.document_issue(invoice_id=invoice.pk)

    with django_capture_on_commit_callbacks(execute=True):
        seller = seller_entity_create(seller_id=seller.pk)

    invoice.refresh_from_db()
    assert (invoice.state, invoice.entity_id, invoice.number) == (
        DocumentState.ISSUED,
        seller.entity_id,
        f"{YEAR}-00001",
    )


def test_an_operator_retry_of_an_issued_row_does_nothing(
    sandbox, django_capture_on_commit_callbacks
):
    invoice = pay(place_order(seller_with_entity()), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks() as callbacks:
        again = services.document_retry(invoice_id=invoice.pk)
    assert callbacks == []
    assert (again.state, again.request_id, again.number) == (
        DocumentState.ISSUED,
        invoice.request_id,
        invoice.number,
    )


def _remote_invoices(sandbox, invoice):
    """The entity's invoices that name this row in their metadata."""
    query = {"metadata.document_ref": {"equals": f"mkt-invoice-{invoice.pk}"}}
    return sandbox.client().invoice_list(entity_id=invoice.entity_id, query=query).data


def _next_day(monkeypatch):
    later = timezone.now() + timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: later)


def test_an_operator_retry_on_a_later_day_after_giving_up_finds_the_lost_invoice(
    sandbox, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """The first create succeeded but its answer was lost, and so were the look-ups after it;
    the row gave up. The operator's retries the next day find that invoice: one, not two."""
    settings.INVOICE_MAX_ATTEMPTS = 2
    seller = seller_with_entity()
    order = place_order(seller)
    with django_capture_on_commit_callbacks(execute=False):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order)
    written_on = timezone.localdate()
    sandbox.faults(lost_response_rate=1)
    with pytest.raises(Transient):
        services.document_issue(invoice_id=invoice.pk)
    gave_up = services.document_issue(invoice_id=invoice.pk)
    assert (gave_up.state, gave_up.attempts) == (DocumentState.FAILED, 2)
    sandbox.faults()
    [created] = _remote_invoices(sandbox, invoice)
    _next_day(monkeypatch)

    for _ in range(2):  # whatever the first retry did, the operator tries once more
        with django_capture_on_commit_callbacks(execute=True):
            services.document_retry(invoice_id=invoice.pk)

    invoice.refresh_from_db()
    assert (invoice.state, invoice.remote_id, invoice.number, invoice.date) == (
        DocumentState.ISSUED,
        created["id"],
        f"{YEAR}-00001",
        written_on,
    )
    assert [document["id"] for document in _remote_invoices(sandbox, invoice)] == [created["id"]]


def test_a_retry_on_a_later_day_sends_the_date_the_row_was_written(
    sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    invoice = pay_unissued(place_order(seller_with_entity()), django_capture_on_commit_callbacks)
    written_on = timezone.localdate()
    sandbox.faults(error_rate=1)
    with pytest.raises(Transient):
        services.document_issue(invoice_id=invoice.pk)
    sandbox.faults()
    _next_day(monkeypatch)

    issued = services.document_issue(invoice_id=invoice.pk)

    [remote] = _remote_invoices(sandbox, issued)
    assert (issued.state, issued.date, remote["date"]) == (
        DocumentState.ISSUED,
        written_on,
        written_on.isoformat(),
    )
    assert issued.payload == json_dumps(services.document_payload(issued))


def test_every_attempt_after_the_first_create_looks_the_document_up_first(
    sandbox, settings, django_capture_on_commit_callbacks
):
    """Also the first attempt after an operator's retry, which resets the attempt counter."""
    settings.INVOICE_MAX_ATTEMPTS = 1
    invoice = pay_unissued(place_order(seller_with_entity()), django_capture_on_commit_callbacks)
    sandbox.faults(error_rate=1)
    assert services.document_issue(invoice_id=invoice.pk).state == DocumentState.FAILED
    sandbox.faults()
    services.document_retry(invoice_id=invoice.pk)
    calls = []
    http = httpx.Client(
        transport=sandbox_transport(sandbox.app),
        event_hooks={"request": [lambda request: calls.append((request.method, request.url.path))]},
    )
    client = SpaceInvoicesClient(base_url="http://sandbox", api_key=SANDBOX_KEY, http=http)

    issued = services.document_issue(invoice_id=invoice.pk, client=client)

    assert (issued.state, issued.attempts) == (DocumentState.ISSUED, 1)
    assert calls == [("GET", "/invoices"), ("POST", "/invoices")]


def test_reconciliation_adopts_the_invoice_of_a_row_that_gave_up_on_a_lost_answer(
    sandbox, settings, django_capture_on_commit_callbacks
):
    settings.INVOICE_MAX_ATTEMPTS = 1
    invoice = pay_unissued(place_order(seller_with_entity()), django_capture_on_commit_callbacks)
    sandbox.faults(lost_response_rate=1)
    assert services.document_issue(invoice_id=invoice.pk).state == DocumentState.FAILED
    sandbox.faults()
    [created] = _remote_invoices(sandbox, invoice)

    findings = reconcile()

    invoice.refresh_from_db()
    assert (invoice.state, invoice.remote_id, invoice.number) == (
        DocumentState.ISSUED,
        created["id"],
        f"{YEAR}-00001",
    )
    assert invoice.outcome_unknown is False
    assert invoice.payment_recorded_at is not None  # the create carried the payment inline
    assert findings == []
