"""Reconciliation of the mirror with each seller's entity, on the sandbox."""

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from core.errors import ApplicationError
from core.models import AuditEvent
from invoicing import gateway, reconciliation, services, webhooks
from invoicing.client import InvoiceCreate, SpaceInvoicesClient
from invoicing.models import Document, DocumentState, Finding, ReconciliationCursor
from invoicing.sandbox import sandbox_transport
from marketplace import services as orders
from marketplace.tax import ViesResult
from tests.conftest import SANDBOX_KEY
from tests.factories import BILLING, ProductFactory, UserFactory, seller_with_entity

pytestmark = pytest.mark.django_db

YEAR = timezone.localdate().year
UNREGISTERED_DE = "DE123456788"  # checksum-valid, not registered in the sandbox's VIES table


def paid_order(seller, callbacks, *, issue=True):
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
    )
    order = checkout.orders.get()
    with callbacks(execute=issue):
        orders.order_mark_paid(order_id=order.pk)
    return order


def test_findings_name_missing_unknown_and_duplicate_documents(
    sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    clean = seller_with_entity()
    invoiced = paid_order(seller, django_capture_on_commit_callbacks)
    not_issued = paid_order(seller, django_capture_on_commit_callbacks, issue=False)
    paid_order(clean, django_capture_on_commit_callbacks)
    client = sandbox.client()
    invoice = Document.objects.get(order=invoiced)
    duplicate = client.invoice_create(
        entity_id=seller.entity_id,
        payload=services.document_payload(invoice),
        request_id="someone-else-issued-it-again",
    )
    stray = client.invoice_create(
        entity_id=seller.entity_id,
        payload=InvoiceCreate.model_validate(
            {"items": [{"name": "Gift card", "quantity": 1, "price": Decimal("5.00")}],
             "metadata": {"order_id": "not-ours"}}
        ),
        request_id="stray-document",
    )  # fmt: skip

    found = reconciliation.reconcile(client=client)

    assert sorted((f.seller_id, f.kind, f.order_id, f.remote_id, f.detail) for f in found) == [
        (seller.pk, "duplicate", invoiced.pk, "",
         f"2 invoices: {YEAR}-00001, {YEAR}-00002"),
        (seller.pk, "missing_invoice", not_issued.pk, "", "at its invoice point, no invoice"),
        (seller.pk, "unknown_document", None, stray["id"],
         f"{YEAR}-00003 names order 'not-ours', which {seller} does not have"),
    ]  # fmt: skip
    assert duplicate["number"] == f"{YEAR}-00002"
    assert Finding.objects.count() == 3


def test_a_new_run_replaces_the_last_runs_findings(sandbox, django_capture_on_commit_callbacks):
    seller = seller_with_entity()
    order = paid_order(seller, django_capture_on_commit_callbacks, issue=False)
    assert [f.kind for f in reconciliation.reconcile(client=sandbox.client())] == [
        "missing_invoice"
    ]
    services.document_issue(invoice_id=Document.objects.get(order=order).pk)
    call_command("reconcile")
    assert Finding.objects.count() == 0


def test_gaps_are_found_per_series_from_one():
    series = reconciliation._Series({})
    series.add(["2026-00002", "2026-00005", "CN-2026-00001"])
    assert list(series.gaps()) == [
        ("2026-", "2026-00001"),
        ("2026-", "2026-00003"),
        ("2026-", "2026-00004"),
    ]


def test_findings_export_as_csv_from_admin(client, django_capture_on_commit_callbacks, sandbox):
    seller = seller_with_entity()
    order = paid_order(seller, django_capture_on_commit_callbacks, issue=False)
    [finding] = reconciliation.reconcile(client=sandbox.client())
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        "/admin/invoicing/finding/", {"action": "export_csv", "_selected_action": [finding.pk]}
    )

    assert response.status_code == 200
    assert response.content.decode().splitlines() == [
        "run_at,seller_id,kind,order_id,remote_id,detail",
        f"{finding.run_at.isoformat()},{seller.pk},missing_invoice,{order.pk},,"
        '"at its invoice point, no invoice"',
    ]


def test_a_void_or_payment_the_mirror_missed_is_a_state_drift_finding(
    sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    voided = Document.objects.get(order=paid_order(seller, django_capture_on_commit_callbacks))
    unpaid = Document.objects.get(order=paid_order(seller, django_capture_on_commit_callbacks))
    client = sandbox.client()
    void = client.invoice_void(
        entity_id=seller.entity_id,
        invoice_id=str(voided.remote_id),
        reason="issued by mistake",
        request_id="void-in-the-dashboard",
    )
    Document.objects.filter(pk=unpaid.pk).update(paid_at=None)  # as if the webhook was lost

    found = reconciliation.reconcile(client=client)

    assert sorted((f.kind, f.order_id, f.remote_id, f.detail) for f in found) == [
        ("state_drift", voided.order_id, voided.remote_id,
         f"{voided.number} was voided at {void['voided_at']}"),
        ("state_drift", unpaid.order_id, unpaid.remote_id, f"{unpaid.number} is paid in full"),
    ]  # fmt: skip


def test_recording_a_payment_marks_the_mirror_paid_so_no_drift_is_found(
    sandbox, django_capture_on_commit_callbacks, settings
):
    settings.INVOICE_TRIGGER = "placed"
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    with django_capture_on_commit_callbacks(execute=True):
        checkout = orders.checkout_create(
            buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
        )
    order = checkout.orders.get()
    assert Document.objects.get(order=order).paid_at is None
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)

    invoice = Document.objects.get(order=order)

    assert invoice.payment_recorded_at is not None
    assert invoice.paid_at == invoice.payment_recorded_at
    assert reconciliation.reconcile(client=sandbox.client()) == []


def test_the_payment_of_an_invoice_voided_meanwhile_is_not_recorded(
    sandbox, django_capture_on_commit_callbacks, settings
):
    settings.INVOICE_TRIGGER = "placed"
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    with django_capture_on_commit_callbacks(execute=True):
        checkout = orders.checkout_create(
            buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
        )
    order = checkout.orders.get()
    Document.objects.filter(order=order).update(voided_at=timezone.now())  # as a webhook does

    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)

    invoice = Document.objects.get(order=order)
    assert (invoice.payment_recorded_at, invoice.paid_at) == (None, None)
    remote = sandbox.client().invoice_get(entity_id=seller.entity_id, invoice_id=invoice.remote_id)
    assert remote["total_paid"] == 0


# Incremental runs, on a sandbox whose clock the tests move


class Listing:
    """A client of the sandbox that notes each request: (path, entity, query, documents)."""

    def __init__(self, sandbox):
        self.requests = []

        def noted(response):
            response.read()
            request = response.request
            query = request.url.params.get("query")
            self.requests.append(
                (
                    request.url.path,
                    request.headers.get("x-entity-id"),
                    json.loads(query) if query else None,
                    len(response.json().get("data", [])),
                )
            )

        http = httpx.Client(
            transport=sandbox_transport(sandbox.app),
            base_url="http://sandbox",
            event_hooks={"response": [noted]},
        )
        self.client = SpaceInvoicesClient(base_url="http://sandbox", api_key=SANDBOX_KEY, http=http)

    def run(self, **options):
        self.requests.clear()
        return reconciliation.reconcile(client=self.client, **options)


@pytest.fixture
def sandbox_clock(sandbox):
    """The sandbox's clock, set to a fixed time; ``move(minutes)`` moves it on."""

    class Clock:
        now = datetime.now(UTC).replace(microsecond=0)

        def move(self, minutes):
            self.now += timedelta(minutes=minutes)

        def stamp(self, minutes=0):
            moment = self.now + timedelta(minutes=minutes)
            return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    clock = Clock()
    sandbox.app.clock = lambda: clock.now
    return clock


def kinds(findings):
    return sorted((f.seller_id, f.kind, f.order_id, f.remote_id, f.detail) for f in findings)


def test_an_incremental_run_lists_only_the_documents_that_changed_in_the_sellers_that_changed(
    sandbox, sandbox_clock, django_capture_on_commit_callbacks
):
    sellers = [seller_with_entity() for _ in range(3)]
    for seller in sellers:
        paid_order(seller, django_capture_on_commit_callbacks)
    listing = Listing(sandbox)
    assert listing.run() == []
    assert [(path, entity, query) for path, entity, query, _ in listing.requests] == [
        (path, seller.entity_id, None)
        for seller in sellers
        for path in ("/invoices", "/credit-notes")
    ]
    sandbox_clock.move(60)
    changed = sellers[1]
    paid_order(changed, django_capture_on_commit_callbacks)

    assert listing.run() == []

    since = {"updated_at": {"gte": sandbox_clock.stamp(-65)}}  # 5 minutes before the first
    assert listing.requests == [
        ("/invoices", changed.entity_id, since, 2),  # the new invoice and the last one seen
        ("/credit-notes", changed.entity_id, since, 0),
    ]
    assert ReconciliationCursor.objects.get(seller=changed).watermark == sandbox_clock.stamp()
    sandbox_clock.move(60)
    assert listing.run() == []
    assert listing.requests == []  # nothing changed anywhere: no request at all


def test_an_incremental_run_keeps_the_findings_of_the_sellers_it_does_not_visit(
    sandbox, sandbox_clock, django_capture_on_commit_callbacks
):
    quiet, busy = seller_with_entity(), seller_with_entity()
    not_issued = paid_order(quiet, django_capture_on_commit_callbacks, issue=False)
    [kept] = reconciliation.reconcile(client=sandbox.client())
    sandbox_clock.move(60)
    paid_order(busy, django_capture_on_commit_callbacks)

    assert reconciliation.reconcile(client=sandbox.client()) == []

    assert [(f.pk, f.run_at, f.seller_id, f.kind, f.order_id) for f in Finding.objects.all()] == [
        (kept.pk, kept.run_at, quiet.pk, "missing_invoice", not_issued.pk)
    ]


def test_numbering_gaps_stay_found_when_only_changed_documents_are_listed(
    sandbox, sandbox_clock, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    paid_order(seller, django_capture_on_commit_callbacks)
    assert reconciliation.reconcile(client=sandbox.client()) == []
    # A number the entity gave away without any document we can list.
    with sandbox.http() as http:
        response = http.patch(
            f"/entities/{seller.entity_id}",
            json={"settings": {"number_sequence_starts": {"invoice": 3}}},
        )
    assert response.status_code == 200, response.text
    listing = Listing(sandbox)
    gap = (seller.pk, "numbering_gap", None, "", f"series '{YEAR}-' skips {YEAR}-00002")

    sandbox_clock.move(60)
    paid_order(seller, django_capture_on_commit_callbacks)
    assert kinds(listing.run()) == [gap]
    sandbox_clock.move(60)
    paid_order(seller, django_capture_on_commit_callbacks)
    assert kinds(listing.run()) == [gap]
    # 00004 and, within the overlap before the watermark, 00003; 00001 is known from before.
    assert listing.requests[0][3] == 2
    assert ReconciliationCursor.objects.get(seller=seller).series == {
        f"{YEAR}-": {"width": 5, "last": 4, "missing": [2]}
    }


def test_a_change_nobody_announced_is_found_by_a_full_pass(
    sandbox, sandbox_clock, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    invoice = Document.objects.get(order=paid_order(seller, django_capture_on_commit_callbacks))
    assert reconciliation.reconcile(client=sandbox.client()) == []
    sandbox_clock.move(60)
    void = sandbox.client().invoice_void(
        entity_id=seller.entity_id,
        invoice_id=str(invoice.remote_id),
        reason="voided in the dashboard; its webhook was lost",
        request_id="void-unannounced",
    )
    listing = Listing(sandbox)

    assert listing.run() == []
    assert listing.requests == []
    call_command("reconcile", "--full")

    assert kinds(Finding.objects.all()) == [
        (seller.pk, "state_drift", invoice.order_id, invoice.remote_id,
         f"{invoice.number} was voided at {void['voided_at']}"),
    ]  # fmt: skip


def test_a_webhook_from_an_entity_makes_its_seller_due(
    sandbox, sandbox_clock, django_capture_on_commit_callbacks
):
    announced, _quiet = seller_with_entity(), seller_with_entity()
    assert reconciliation.reconcile(client=sandbox.client()) == []
    assert list(reconciliation.sellers_due()) == []

    webhooks.webhook_delivery_process(
        delivery=webhooks.Delivery(
            delivery_id="whd_created_in_dashboard",
            event="invoice.created",
            data={"id": "inv_000000000000000000000001", "entity_id": announced.entity_id},
            sent_at=timezone.now(),
        )
    )

    assert list(reconciliation.sellers_due()) == [announced]


def test_a_run_stops_at_its_deadline_and_the_next_run_visits_the_rest(sandbox):
    sellers = [seller_with_entity() for _ in range(2)]

    assert reconciliation.reconcile(client=sandbox.client(), deadline=time.monotonic()) == []
    assert ReconciliationCursor.objects.count() == 0
    assert list(reconciliation.sellers_due()) == sellers
    assert reconciliation.reconcile(client=sandbox.client()) == []
    assert sorted(ReconciliationCursor.objects.values_list("seller_id", flat=True)) == [
        seller.pk for seller in sellers
    ]


def gave_up_unseen(seller, callbacks, sandbox, settings):
    """A paid order whose invoice was created but gave up on its only attempt, the answer lost:
    the outcome of its create is unknown here."""
    settings.INVOICE_MAX_ATTEMPTS = 1
    order = paid_order(seller, callbacks, issue=False)
    sandbox.faults(lost_response_rate=1)
    failed = services.document_issue(invoice_id=Document.objects.get(order=order).pk)
    sandbox.faults()
    assert (failed.state, failed.outcome_unknown, failed.remote_id) == (
        DocumentState.FAILED, True, None
    )  # fmt: skip
    return failed


def client_failing_first_look_up(sandbox, failure, calls):
    """A client of the sandbox whose first document look-up (GET /invoices) fails with
    `failure` (a status code, or "timeout"); every request is noted in `calls`."""
    inner = sandbox_transport(sandbox.app)

    def handle(request):
        calls.append((request.method, request.url.path))
        if request.url.path == "/invoices" and calls.count(("GET", "/invoices")) == 1:
            if failure == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(failure, json={"code": "injected", "message": "Injected"})
        return inner.handle_request(request)

    http = httpx.Client(transport=httpx.MockTransport(handle), base_url="http://sandbox")
    return SpaceInvoicesClient(base_url="http://sandbox", api_key=SANDBOX_KEY, http=http)


@pytest.mark.parametrize(
    ("failure", "logged"),
    [
        ("timeout", "timeout: ReadTimeout: timed out"),
        (503, "503 injected: Injected"),
        (429, "429 injected: Injected"),
        (404, "404 injected: Injected"),
    ],
)
def test_a_failed_look_up_of_an_unknown_outcome_is_logged_and_the_run_goes_on(
    sandbox, settings, caplog, django_capture_on_commit_callbacks, failure, logged
):
    seller = seller_with_entity()
    first = gave_up_unseen(seller, django_capture_on_commit_callbacks, sandbox, settings)
    second = gave_up_unseen(seller, django_capture_on_commit_callbacks, sandbox, settings)
    [created, _] = sandbox.client().invoice_list(entity_id=seller.entity_id).data
    calls: list[tuple[str, str]] = []

    with caplog.at_level("WARNING", logger="invoicing.reconciliation"):
        found = reconciliation.reconcile(
            client=client_failing_first_look_up(sandbox, failure, calls)
        )

    assert [
        record.getMessage()
        for record in caplog.records
        if record.name == "invoicing.reconciliation"
    ] == [
        f"reconciliation: document {first.pk} of seller {seller.pk} not settled, its look-up "
        f"failed: {logged}"
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.outcome_unknown) == (DocumentState.FAILED, True)
    assert (second.state, second.number) == (DocumentState.ISSUED, f"{YEAR}-00002")
    # The seller was visited: the first row's invoice is there and not mirrored.
    assert kinds(found) == [
        (seller.pk, "not_mirrored", first.order_id, created["id"],
         f"{YEAR}-00001 is in Space Invoices; its invoice #{first.pk} here is failed"),
    ]  # fmt: skip
    assert ReconciliationCursor.objects.filter(seller=seller).count() == 1

    assert reconciliation.reconcile(client=sandbox.client()) == []
    first.refresh_from_db()
    assert (first.state, first.remote_id, first.outcome_unknown) == (
        DocumentState.ISSUED, created["id"], False
    )  # fmt: skip


def test_a_run_past_its_deadline_looks_up_no_unknown_outcome(
    sandbox, settings, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    rows = [
        gave_up_unseen(seller, django_capture_on_commit_callbacks, sandbox, settings)
        for _ in range(2)
    ]
    calls: list[tuple[str, str]] = []
    client = client_failing_first_look_up(sandbox, 503, calls)

    assert reconciliation.reconcile(client=client, deadline=time.monotonic()) == []

    assert calls == []
    assert [
        (row.state, row.outcome_unknown)
        for row in Document.objects.filter(pk__in=[row.pk for row in rows])
    ] == [(DocumentState.FAILED, True)] * 2
    assert ReconciliationCursor.objects.count() == 0


def test_reconciliation_waits_for_its_own_share_of_the_rate_limit_and_the_shared_bucket(
    settings, monkeypatch, sandbox
):
    settings.SPACE_INVOICES_RATE_LIMIT_PER_MIN = 600
    settings.RECONCILIATION_RATE_LIMIT_PERCENT = 10
    settings.RATE_LIMIT_REDIS_URL = ""
    settings.SPACE_INVOICES_API_KEY = SANDBOX_KEY
    gateway._bucket.cache_clear()
    gateway.reconciliation_bucket.cache_clear()
    seller = seller_with_entity()
    monkeypatch.undo()  # the real reconciliation_client, not the sandbox fixture's
    try:
        share, shared = gateway.reconciliation_bucket(), gateway._bucket()
        consulted = []
        monkeypatch.setattr(gateway, "throttle", lambda bucket: lambda: consulted.append(bucket))
        monkeypatch.setattr(gateway, "_http", lambda: sandbox.client()._http)

        gateway.reconciliation_client().invoice_list(entity_id=seller.entity_id)

        assert consulted == [share, shared]
        # 10 % of 600 a minute: one request a second, against the shared bucket's ten.
        assert [share.take(100.0) for _ in range(3)] == [0.0, 1.0, 2.0]
        assert [shared.take(100.0) for _ in range(11)][-2:] == [0.0, 0.1]
    finally:
        gateway._bucket.cache_clear()
        gateway.reconciliation_bucket.cache_clear()


# Documents in Space Invoices that the mirror lacks, and the reverse


def test_a_document_whose_row_failed_here_is_found_and_adopted_from_admin(
    client, sandbox, sandbox_clock, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    order = paid_order(seller, django_capture_on_commit_callbacks, issue=False)
    row = Document.objects.get(order=order)
    # The create succeeded but its answer was lost, and the row gave up.
    remote = sandbox.client().invoice_create(
        entity_id=seller.entity_id,
        payload=services.document_payload(row),
        request_id=row.request_id,
    )
    services.document_mark_failed(invoice_id=row.pk, reason="gave up after 8 attempts: timeout")

    [finding] = reconciliation.reconcile(client=sandbox.client())

    assert (finding.kind, finding.order_id, finding.remote_id, finding.detail) == (
        "not_mirrored", order.pk, remote["id"],
        f"{YEAR}-00001 is in Space Invoices; its invoice #{row.pk} here is failed",
    )  # fmt: skip
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/invoicing/finding/",
            {"action": "adopt", "_selected_action": [finding.pk], "post": "yes"},
        )

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "1 document adopted into the mirror."
    ]
    row.refresh_from_db()
    assert (row.state, row.remote_id, row.number, row.total_net, row.total_gross) == (
        DocumentState.ISSUED, remote["id"], f"{YEAR}-00001", Decimal("10.00"), Decimal("12.20")
    )  # fmt: skip
    assert row.payment_recorded_at is not None  # paid with the document, as the API shows
    assert Finding.objects.count() == 0
    assert AuditEvent.objects.filter(action="document.adopted", document_id=row.pk).count() == 1
    sandbox_clock.move(60)
    assert reconciliation.reconcile(client=sandbox.client()) == []


def test_an_invoice_there_for_an_order_without_a_row_here_is_adopted(
    sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
    )
    order = checkout.orders.get()  # placed, not paid: no invoice row yet
    remote = sandbox.client().invoice_create(
        entity_id=seller.entity_id,
        payload=InvoiceCreate.model_validate(
            {"items": [{"name": "Mug", "quantity": 1, "price": Decimal("10.00"),
                        "taxes": [{"rate": Decimal("22")}]}],
             "metadata": {"order_id": str(order.pk), "document_ref": "mkt-invoice-999999"}}
        ),
        request_id="issued-from-a-restored-backup",
    )  # fmt: skip

    [finding] = reconciliation.reconcile(client=sandbox.client())
    assert (finding.kind, finding.order_id, finding.remote_id, finding.detail) == (
        "not_mirrored", order.pk, remote["id"],
        f"{YEAR}-00001 is in Space Invoices; order {order.pk} has no invoice here",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        adopted = reconciliation.finding_adopt(finding_id=finding.pk, client=sandbox.client())

    assert (adopted.order_id, adopted.state, adopted.remote_id, adopted.number) == (
        order.pk, DocumentState.ISSUED, remote["id"], f"{YEAR}-00001"
    )  # fmt: skip
    assert list(adopted.lines.values_list("name", "quantity")) == [(product.name, 1)]
    assert Document.objects.filter(order=order).count() == 1
    assert Finding.objects.count() == 0


def test_adopting_refuses_a_document_of_another_order(sandbox, django_capture_on_commit_callbacks):
    seller = seller_with_entity()
    first = Document.objects.get(order=paid_order(seller, django_capture_on_commit_callbacks))
    other = Document.objects.get(
        order=paid_order(seller, django_capture_on_commit_callbacks, issue=False)
    )
    document = sandbox.client().invoice_get(
        entity_id=seller.entity_id, invoice_id=str(first.remote_id)
    )

    with pytest.raises(ApplicationError) as refused:
        services.document_adopt(invoice_id=other.pk, document=document)

    assert (refused.value.field, str(refused.value)) == (
        "remote_id", f"{first.remote_id} is not the document of {other}."
    )  # fmt: skip
    assert Document.objects.get(pk=other.pk).state == DocumentState.PENDING


def test_an_invoice_paid_here_but_unpaid_there_is_found(
    sandbox, django_capture_on_commit_callbacks, settings
):
    settings.INVOICE_TRIGGER = "placed"
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    with django_capture_on_commit_callbacks(execute=True):
        checkout = orders.checkout_create(
            buyer=UserFactory(), lines=[orders.CartLine(product.pk, 1)], billing=BILLING
        )
    order = checkout.orders.get()
    invoice = Document.objects.get(order=order)
    # Paid here and marked recorded, but the payment never reached Space Invoices.
    now = timezone.now()
    order.paid_at = now
    order.save(update_fields=["paid_at"])
    Document.objects.filter(pk=invoice.pk).update(payment_recorded_at=now, paid_at=now)

    found = reconciliation.reconcile(client=sandbox.client())

    assert kinds(found) == [
        (seller.pk, "unpaid_remotely", order.pk, invoice.remote_id,
         f"{invoice.number} is paid 12.20 here; Space Invoices shows 0.00 paid of 12.20"),
    ]  # fmt: skip


@pytest.mark.parametrize("policy", ["standard_vat", "hold"])
def test_a_partial_payment_recorded_because_vat_became_due_at_issue_is_no_finding(
    sandbox, django_capture_on_commit_callbacks, policy
):
    """Paid 160.00 at checkout without VAT; VIES no longer knew the number at issue, so the
    invoice is 195.20 with 160.00 paid, issued at once or after an operator's release."""
    seller = seller_with_entity(vies_unavailable_policy=policy)
    order = vat_due_at_issue(seller)
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=order.pk)
    invoice = Document.objects.get(order=order)
    if policy == "hold":
        with django_capture_on_commit_callbacks(execute=True):
            services.document_release(invoice_id=invoice.pk)
        invoice.refresh_from_db()
    remote = sandbox.client().invoice_get(
        entity_id=seller.entity_id, invoice_id=str(invoice.remote_id)
    )
    assert (invoice.state, invoice.total_gross, invoice.paid_at) == (
        DocumentState.ISSUED, Decimal("195.20"), None
    )  # fmt: skip
    assert invoice.payment_recorded_at is not None
    assert (remote["total_paid"], remote["paid_in_full"]) == (Decimal("160.00"), False)

    assert reconciliation.reconcile(client=sandbox.client()) == []
    assert reconciliation.reconcile(client=sandbox.client(), full=True) == []
    assert Finding.objects.count() == 0


def test_a_partial_payment_recorded_here_but_missing_there_is_found(
    sandbox, django_capture_on_commit_callbacks, settings
):
    settings.INVOICE_TRIGGER = "placed"
    seller = seller_with_entity(vies_unavailable_policy="standard_vat")
    with django_capture_on_commit_callbacks(execute=True):
        order = vat_due_at_issue(seller)  # issued at checkout: 195.20, nothing paid yet
    invoice = Document.objects.get(order=order)
    # Paid here and its 160.00 marked recorded, but the payment never reached Space Invoices.
    now = timezone.now()
    order.paid_at = now
    order.save(update_fields=["paid_at"])
    Document.objects.filter(pk=invoice.pk).update(payment_recorded_at=now)

    found = reconciliation.reconcile(client=sandbox.client())

    assert kinds(found) == [
        (seller.pk, "unpaid_remotely", order.pk, invoice.remote_id,
         f"{invoice.number} is paid 160.00 here; Space Invoices shows 0.00 paid of 195.20"),
    ]  # fmt: skip


def vat_due_at_issue(seller):
    """An order of 2 x 80.00 placed by a German business whose VAT number VIES confirmed at
    checkout (reverse charge: 160.00) and no longer knows at issue (22 % due: 195.20)."""
    cache.set(f"vies:{UNREGISTERED_DE}", ViesResult(valid=True, checked_at=timezone.now()))
    product = ProductFactory(seller=seller, name="Lamp", unit_price=Decimal("80.00"))
    business = replace(BILLING, country="DE", company="Muster GmbH", vat_number=UNREGISTERED_DE)
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(product.pk, 2)], billing=business
    )
    order = checkout.orders.get()
    assert (order.transaction_type, order.total_gross) == ("intra_eu_b2b", Decimal("160.00"))
    return order


def test_adopting_a_document_whose_row_was_issued_meanwhile_says_so_and_changes_nothing(
    client, sandbox, django_capture_on_commit_callbacks
):
    seller = seller_with_entity()
    order = paid_order(seller, django_capture_on_commit_callbacks, issue=False)
    row = Document.objects.get(order=order)
    remote = sandbox.client().invoice_create(
        entity_id=seller.entity_id,
        payload=services.document_payload(row),
        request_id=row.request_id,
    )
    [finding] = reconciliation.reconcile(client=sandbox.client())
    services.document_issue(invoice_id=row.pk)  # the answer replayed for its request id
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(
        "/admin/invoicing/finding/",
        {"action": "adopt", "_selected_action": [finding.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"{remote['id']} was not adopted: {YEAR}-00001 is already issued.",
        "0 documents adopted into the mirror; 1 skipped (failed).",
    ]
    assert Document.objects.get(pk=row.pk).remote_id == remote["id"]
    assert Finding.objects.filter(pk=finding.pk).exists()
