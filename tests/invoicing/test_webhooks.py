"""The Space Invoices webhook endpoint: signed deliveries of real sandbox documents."""

import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from core.models import AuditEvent
from invoicing.client import DocumentCreate, InvoiceCreate, PaymentCreate
from invoicing.models import (
    Document,
    DocumentKind,
    DocumentState,
    DocumentTax,
    WebhookDelivery,
    WebhookOutcome,
)
from invoicing.sandbox import jsoncodec
from invoicing.sandbox.ids import timestamp
from invoicing.sandbox.webhooks import signature
from invoicing.services import document_treatment
from invoicing.webhooks import HANDLED_EVENTS
from marketplace import services as orders
from reporting.models import SellerMonthRollup
from reporting.selectors import ReportFilters, seller_statement
from tests.factories import BILLING, ProductFactory, UserFactory, seller_with_entity

URL = "/api/webhooks/space-invoices/"
SECRET = "whsec_tests_0123456789abcdef"
YEAR = timezone.localdate().year
WEBHOOK_ACTIONS = (
    "document.paid_by_webhook",
    "document.voided_by_webhook",
    "credit_note.mirrored_from_webhook",
)


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.SPACE_INVOICES_WEBHOOK_SECRET = SECRET
    settings.SPACE_INVOICES_WEBHOOK_TOLERANCE = 300


def new_seller():
    # Invoiced when placed, so issued unpaid: a payment can arrive later.
    return seller_with_entity(invoice_trigger="placed")


def issued_invoice(seller, callbacks):
    """An invoice issued in the seller's sandbox entity for 2 x 12.99 at 22 %, unpaid."""
    mug = ProductFactory(seller=seller, name="Mug", unit_price=Decimal("12.99"))
    with callbacks(execute=True):
        checkout = orders.checkout_create(
            buyer=UserFactory(), lines=[orders.CartLine(mug.pk, 2)], billing=BILLING
        )
    return Document.objects.get(order=checkout.orders.get(), kind=DocumentKind.INVOICE)


@pytest.fixture
def seller(sandbox, db):
    return new_seller()


@pytest.fixture
def invoice(seller, django_capture_on_commit_callbacks):
    return issued_invoice(seller, django_capture_on_commit_callbacks)


# What the sandbox does in the seller's entity, and the document each event carries


def remote_paid(sandbox, invoice):
    space_invoices = sandbox.client()
    space_invoices.payment_create(
        entity_id=invoice.entity_id,
        payload=PaymentCreate.model_validate(
            {
                "amount": invoice.total_gross,
                "type": "bank_transfer",
                "invoice_id": invoice.remote_id,
            }
        ),
        request_id=f"test-pay-{invoice.pk}",
    )
    return space_invoices.invoice_get(entity_id=invoice.entity_id, invoice_id=invoice.remote_id)


def remote_voided(sandbox, invoice):
    return sandbox.client().invoice_void(
        entity_id=invoice.entity_id,
        invoice_id=invoice.remote_id,
        reason="issued by mistake",
        request_id=f"test-void-{invoice.pk}",
    )


def remote_credit_note(sandbox, invoice, **fields):
    """A credit note the seller made in its dashboard: 1 mug of the invoice."""
    return sandbox.client().credit_note_create(
        entity_id=invoice.entity_id,
        payload=DocumentCreate.model_validate(
            {
                "items": [
                    {
                        "name": "Mug",
                        "quantity": 1,
                        "price": Decimal("12.99"),
                        "taxes": [{"rate": Decimal("22")}],
                    }
                ],
                "linked_documents": [invoice.remote_id],
                **fields,
            }
        ),
        request_id=f"test-credit-{invoice.pk}",
    )


def remote_credit_note_voided(sandbox, credit_note):
    return (
        sandbox.http()
        .post(
            f"/credit-notes/{credit_note['id']}/void",
            json={"reason": "wrong amount"},
            headers={"x-entity-id": credit_note["entity_id"], "X-Request-Id": "test-void-cn"},
        )
        .json()
    )


# Deliveries as the sandbox's dispatcher makes them


def body_of(event, data, *, at=None):
    """The body the dispatcher sends: ``{"event", "data", "timestamp"}`` in its JSON codec."""
    moment = at or timezone.now()
    return jsoncodec.dumps({"event": event, "data": data, "timestamp": timestamp(moment)}).encode()


def deliver(
    body, *, delivery_id="dlv_000000000000000000000001", secret=SECRET, client=None, **headers
):
    sent = {
        "X-Webhook-Signature": signature(secret, body),
        "X-Webhook-Timestamp": str(int(time.time())),
        "X-Webhook-Event": "ignored-by-the-endpoint",
        "X-Webhook-Delivery": delivery_id,
        "X-Webhook-Id": "wh_000000000000000000000001",
        **headers,
    }
    sent = {name: value for name, value in sent.items() if value is not None}
    return (client or Client()).post(URL, data=body, content_type="application/json", headers=sent)


def mirror_state():
    """Everything a delivery may change, to compare before and after."""
    return (
        list(Document.objects.order_by("pk").values()),
        list(DocumentTax.objects.order_by("pk").values()),
        list(SellerMonthRollup.objects.order_by("pk").values()),
        list(WebhookDelivery.objects.values()),
        list(AuditEvent.objects.filter(action__in=WEBHOOK_ACTIONS).values()),
    )


def webhook_audit():
    return list(
        AuditEvent.objects.filter(action__in=WEBHOOK_ACTIONS)
        .order_by("pk")
        .values_list("action", "actor_id", "seller_id", "order_id", "document_id", "detail")
    )


def parsed(moment):
    return datetime.fromisoformat(moment)


# Each event applied to the mirror


@pytest.mark.django_db
def test_invoice_paid_records_the_payment_on_the_mirror(sandbox, invoice):
    document = remote_paid(sandbox, invoice)
    sent_at = timezone.now().replace(microsecond=0)
    assert (invoice.paid_at, document["paid_in_full"]) == (None, True)

    response = deliver(body_of("invoice.paid", document, at=sent_at))

    assert (response.status_code, response.json()) == (
        200,
        {"delivery_id": "dlv_000000000000000000000001", "outcome": "applied"},
    )
    invoice.refresh_from_db()
    assert (invoice.paid_at, invoice.voided_at, invoice.state) == (sent_at, None, "issued")
    assert list(
        WebhookDelivery.objects.values_list("delivery_id", "event", "remote_id", "outcome")
    ) == [("dlv_000000000000000000000001", "invoice.paid", invoice.remote_id, "applied")]
    assert webhook_audit() == [
        (
            "document.paid_by_webhook",
            None,
            invoice.seller_id,
            invoice.order_id,
            invoice.pk,
            {
                "event": "invoice.paid",
                "delivery_id": "dlv_000000000000000000000001",
                "remote_id": invoice.remote_id,
            },
        )
    ]


@pytest.mark.django_db
def test_invoice_voided_marks_it_voided_and_out_of_the_reports(sandbox, invoice):
    document = remote_voided(sandbox, invoice)
    statement = ReportFilters(seller_id=invoice.seller_id)
    assert [line.gross for line in seller_statement(filters=statement)] == [Decimal("31.70")]
    assert list(SellerMonthRollup.objects.values_list("documents", "gross")) == [
        (1, Decimal("31.70"))
    ]

    response = deliver(body_of("invoice.voided", document))

    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    invoice.refresh_from_db()
    assert (invoice.voided_at, invoice.state, invoice.number) == (
        parsed(document["voided_at"]),
        DocumentState.ISSUED,
        f"{YEAR}-00001",
    )
    assert seller_statement(filters=statement) == []
    assert list(SellerMonthRollup.objects.values_list("documents", "net", "tax", "gross")) == [
        (0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))
    ]
    assert [action for action, *_ in webhook_audit()] == ["document.voided_by_webhook"]


@pytest.mark.django_db
def test_credit_note_made_in_the_dashboard_is_mirrored_and_linked(sandbox, invoice):
    document = remote_credit_note(sandbox, invoice)

    response = deliver(body_of("credit_note.created", document))

    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    credit_note = Document.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert (
        credit_note.remote_id,
        credit_note.number,
        credit_note.state,
        credit_note.credited_invoice_id,
        credit_note.order_id,
        credit_note.seller_id,
        credit_note.entity_id,
        credit_note.currency,
        credit_note.date,
        credit_note.total_net,
        credit_note.total_tax,
        credit_note.total_gross,
    ) == (
        document["id"],
        f"CN-{YEAR}-00001",
        DocumentState.ISSUED,
        invoice.pk,
        invoice.order_id,
        invoice.seller_id,
        invoice.entity_id,
        "EUR",
        timezone.localdate(),
        Decimal("12.99"),
        Decimal("2.86"),
        Decimal("15.85"),
    )
    # It corrects the invoice's sale: the invoice's recorded treatment, not a new decision.
    assert document_treatment(credit_note) == document_treatment(invoice)
    assert (credit_note.transaction_type, credit_note.rate_source) == ("domestic", "seller")
    assert list(credit_note.taxes.values_list("rate", "base", "amount")) == [
        (Decimal("22.00"), Decimal("12.99"), Decimal("2.86"))
    ]
    assert list(SellerMonthRollup.objects.values_list("documents", "gross", "credit_notes")) == [
        (2, Decimal("15.85"), 1)
    ]
    assert [action for action, *_ in webhook_audit()] == ["credit_note.mirrored_from_webhook"]


@pytest.mark.django_db
def test_credit_note_linked_by_metadata_only_is_mirrored(sandbox, invoice):
    document = remote_credit_note(sandbox, invoice)
    del document["linked_documents"]
    document["metadata"] = {"credited_invoice_id": invoice.remote_id}

    response = deliver(body_of("credit_note.created", document))

    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    assert Document.objects.get(kind=DocumentKind.CREDIT_NOTE).credited_invoice_id == invoice.pk


@pytest.mark.django_db
def test_credit_note_voided_marks_the_mirrored_credit_note(sandbox, invoice):
    created = remote_credit_note(sandbox, invoice)
    deliver(body_of("credit_note.created", created), delivery_id="dlv_created")
    voided = remote_credit_note_voided(sandbox, created)

    response = deliver(body_of("credit_note.voided", voided), delivery_id="dlv_voided")

    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    credit_note = Document.objects.get(kind=DocumentKind.CREDIT_NOTE)
    assert credit_note.voided_at == parsed(voided["voided_at"])
    invoice.refresh_from_db()
    assert invoice.voided_at is None
    assert list(SellerMonthRollup.objects.values_list("documents", "gross", "credit_notes")) == [
        (1, Decimal("31.70"), 0)
    ]


@pytest.fixture
def our_credit_note(sandbox, invoice, django_capture_on_commit_callbacks):
    """The credit note of cancelling the invoiced order: our mirror row and the entity's copy."""
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_cancel(order_id=invoice.order_id)
    ours = Document.objects.get(kind=DocumentKind.CREDIT_NOTE)
    document = sandbox.client().credit_note_get(
        entity_id=ours.entity_id, credit_note_id=ours.remote_id
    )
    return ours, document


@pytest.mark.django_db
def test_our_own_credit_note_is_not_mirrored_twice(our_credit_note):
    _, document = our_credit_note
    before = mirror_state()[:3]

    response = deliver(body_of("credit_note.created", document))

    assert (response.status_code, response.json()["outcome"]) == (200, "unchanged")
    assert mirror_state()[:3] == before
    assert webhook_audit() == []


@pytest.mark.django_db
def test_our_credit_note_whose_answer_is_not_mirrored_yet_is_known_by_its_ref(our_credit_note):
    ours, document = our_credit_note
    # As if the create's answer were still on its way: the row is pending, without the id.
    Document.objects.filter(pk=ours.pk).update(
        state=DocumentState.PENDING, remote_id=None, number=""
    )
    assert document["metadata"]["document_ref"] == f"mkt-credit_note-{ours.pk}"

    response = deliver(body_of("credit_note.created", document))

    assert (response.status_code, response.json()["outcome"]) == (200, "unchanged")
    assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("event", ["invoice.created", "invoice.sent", "payment.received"])
def test_events_the_mirror_does_not_act_on_are_acknowledged(sandbox, invoice, event):
    document = sandbox.client().invoice_get(
        entity_id=invoice.entity_id, invoice_id=invoice.remote_id
    )
    before = mirror_state()[:3]

    response = deliver(body_of(event, document))

    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert mirror_state()[:3] == before
    assert list(WebhookDelivery.objects.values_list("event", "outcome")) == [(event, "ignored")]


# Applying the same event again (a new delivery id) changes nothing


def paid_event(sandbox, invoice):
    return "invoice.paid", remote_paid(sandbox, invoice)


def voided_event(sandbox, invoice):
    return "invoice.voided", remote_voided(sandbox, invoice)


def credit_note_event(sandbox, invoice):
    return "credit_note.created", remote_credit_note(sandbox, invoice)


def credit_note_voided_event(sandbox, invoice):
    created = remote_credit_note(sandbox, invoice)
    deliver(body_of("credit_note.created", created), delivery_id="dlv_setup")
    return "credit_note.voided", remote_credit_note_voided(sandbox, created)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make_event", [paid_event, voided_event, credit_note_event, credit_note_voided_event]
)
def test_the_same_event_applied_twice_changes_nothing_the_second_time(sandbox, invoice, make_event):
    event, document = make_event(sandbox, invoice)
    first = deliver(body_of(event, document), delivery_id="dlv_first")
    after_first = mirror_state()
    audited = webhook_audit()

    second = deliver(body_of(event, document), delivery_id="dlv_second")

    assert (first.json()["outcome"], second.status_code, second.json()["outcome"]) == (
        "applied",
        200,
        "unchanged",
    )
    assert mirror_state()[:3] == after_first[:3]
    assert webhook_audit() == audited
    assert WebhookDelivery.objects.get(delivery_id="dlv_second").outcome == "unchanged"


# Documents that are not ours


@pytest.mark.django_db
def test_a_document_of_an_entity_that_is_not_its_sellers_is_ignored(sandbox, invoice):
    other = new_seller()
    document = remote_paid(sandbox, invoice)
    document["entity_id"] = other.entity_id  # same id, another entity: not our mirror's
    before = mirror_state()[:3]

    response = deliver(body_of("invoice.paid", document))

    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert mirror_state()[:3] == before
    invoice.refresh_from_db()
    assert invoice.paid_at is None


@pytest.mark.django_db
def test_a_document_we_do_not_mirror_is_ignored(sandbox, seller):
    document = sandbox.client().invoice_create(
        entity_id=seller.entity_id,
        payload=InvoiceCreate.model_validate(
            {"items": [{"name": "Tea", "quantity": 1, "price": Decimal("5.00")}]}
        ),
        request_id="test-made-in-dashboard",
    )

    response = deliver(body_of("invoice.voided", document))

    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert Document.objects.count() == 0


@pytest.mark.django_db
def test_a_credit_note_of_an_invoice_we_do_not_mirror_is_ignored(sandbox, invoice):
    document = remote_credit_note(sandbox, invoice)
    Document.objects.filter(pk=invoice.pk).update(remote_id="inv_000000000000000000000000")

    response = deliver(body_of("credit_note.created", document))

    assert (response.status_code, response.json()["outcome"]) == (200, "ignored")
    assert Document.objects.filter(kind=DocumentKind.CREDIT_NOTE).count() == 0


# Refused deliveries: exact answers, and nothing written


def forged(body):
    return {"X-Webhook-Signature": signature("whsec_someone_else", body)}


REFUSALS = {
    "forged signature": (
        lambda body: (body, forged(body)),
        401,
        {
            "detail": "The signature does not match the body.",
            "field": "X-Webhook-Signature",
            "code": "signature_invalid",
        },
    ),
    "missing signature": (
        lambda body: (body, {"X-Webhook-Signature": None}),
        401,
        {
            "detail": "The delivery is not signed.",
            "field": "X-Webhook-Signature",
            "code": "signature_missing",
        },
    ),
    "body changed after signing": (
        lambda body: (
            body.replace(b"invoice.paid", b"invoice.void"),
            {"X-Webhook-Signature": signature(SECRET, body)},
        ),
        401,
        {
            "detail": "The signature does not match the body.",
            "field": "X-Webhook-Signature",
            "code": "signature_invalid",
        },
    ),
    "malformed JSON": (
        lambda body: (body[:-1], {}),
        400,
        {"detail": "Must be a JSON object.", "field": "body", "code": "malformed_body"},
    ),
    "JSON nested too deeply": (
        lambda body: (b"[" * 5000, {}),
        400,
        {"detail": "Must be a JSON object.", "field": "body", "code": "malformed_body"},
    ),
    "missing delivery id": (
        lambda body: (body, {"X-Webhook-Delivery": None}),
        400,
        {
            "detail": "Missing or not a delivery id.",
            "field": "X-Webhook-Delivery",
            "code": "invalid",
        },
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_refused_deliveries_change_nothing(sandbox, invoice, case):
    make, status, answer = REFUSALS[case]
    body, headers = make(body_of("invoice.paid", remote_paid(sandbox, invoice)))
    before = mirror_state()

    response = deliver(body, **headers)

    assert (response.status_code, response.json()) == (status, answer)
    assert mirror_state() == before
    assert WebhookDelivery.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("age", [timedelta(seconds=301), timedelta(seconds=-301)])
def test_a_stale_or_future_signed_timestamp_is_refused(sandbox, invoice, age):
    body = body_of("invoice.paid", remote_paid(sandbox, invoice), at=timezone.now() - age)
    before = mirror_state()

    response = deliver(body)

    assert (response.status_code, response.json()) == (
        401,
        {
            "detail": "The delivery's timestamp is too far from our clock.",
            "field": "timestamp",
            "code": "stale_timestamp",
        },
    )
    assert mirror_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"event": "invoice.paid", "data": {"id": "inv_1"}}, "timestamp"),
        ({"event": "invoice.paid", "data": {"id": "inv_1"}, "timestamp": "yesterday"}, "timestamp"),
        ({"event": "invoice.refunded", "data": {"id": "inv_1"}, "timestamp": "now"}, "event"),
        ({"event": "invoice.paid", "data": [], "timestamp": "now"}, "data"),
        ({"event": "invoice.paid", "data": {"number": "1"}, "timestamp": "now"}, "data.id"),
        ({"event": "invoice.paid", "data": {"id": "inv_1"}, "timestamp": "now"}, "data.entity_id"),
    ],
)
def test_a_signed_body_missing_a_field_is_refused_naming_it(sandbox, invoice, payload, field):
    if payload.get("timestamp") == "now":
        payload["timestamp"] = timestamp(timezone.now())
    body = jsoncodec.dumps(payload).encode()
    before = mirror_state()

    response = deliver(body)

    assert (response.status_code, response.json()["field"]) == (400, field)
    assert mirror_state() == before


@pytest.mark.django_db
def test_a_credit_note_missing_its_totals_is_refused_and_nothing_is_kept(sandbox, invoice):
    document = remote_credit_note(sandbox, invoice)
    del document["total_with_tax"]
    before = mirror_state()

    response = deliver(body_of("credit_note.created", document))

    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Must be a number.", "field": "data.total_with_tax", "code": "invalid"},
    )
    assert mirror_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "maximum"),
    [
        ({"total_with_tax": 10**12}, "data.total_with_tax", "999999999999.99"),
        ({"total": -(10**12), "total_with_tax": 0}, "data.total", "999999999999.99"),
        ({"total": Decimal("-999999999999.99")}, "data.total_with_tax", "999999999999.99"),
        ({"taxes": [{"rate": 1000, "base": 1, "amount": 1}]}, "data.taxes[0].rate", "999.99"),
        (
            {"taxes": [{"rate": 22, "base": Decimal("1e20"), "amount": 1}]},
            "data.taxes[0].base",
            "999999999999.99",
        ),
    ],
)
def test_a_signed_amount_beyond_its_column_is_refused_naming_it(
    sandbox, invoice, change, field, maximum
):
    """Before, the database refused the insert: a 500, retried by Space Invoices for hours."""
    document = {**remote_credit_note(sandbox, invoice), **change}
    before = mirror_state()

    response = deliver(body_of("credit_note.created", document))

    assert (response.status_code, response.json()) == (
        400,
        {
            "detail": f"Must be between -{maximum} and {maximum}.",
            "field": field,
            "code": "out_of_range",
        },
    )
    assert mirror_state() == before


@pytest.mark.django_db
def test_a_replayed_delivery_id_is_refused_and_has_no_effect(sandbox, invoice):
    paid = body_of("invoice.paid", remote_paid(sandbox, invoice))
    first = deliver(paid, delivery_id="dlv_replayed")
    after_first = mirror_state()
    # Even a genuinely signed, different event under a used delivery id does nothing.
    voided = body_of("invoice.voided", remote_voided(sandbox, invoice))

    again = deliver(paid, delivery_id="dlv_replayed")
    other = deliver(voided, delivery_id="dlv_replayed")

    assert first.status_code == 200
    refused = {
        "detail": "This delivery was received before.",
        "field": "X-Webhook-Delivery",
        "code": "replayed_delivery",
    }
    assert [(again.status_code, again.json()), (other.status_code, other.json())] == [
        (403, refused),
        (403, refused),
    ]
    assert mirror_state() == after_first
    invoice.refresh_from_db()
    assert invoice.voided_at is None


@pytest.mark.django_db
def test_without_a_configured_secret_every_delivery_is_refused(sandbox, invoice, settings):
    body = body_of("invoice.paid", remote_paid(sandbox, invoice))
    settings.SPACE_INVOICES_WEBHOOK_SECRET = ""
    before = mirror_state()

    response = deliver(body, secret="")

    assert (response.status_code, response.json()["code"]) == (503, "webhook_secret_unset")
    assert mirror_state() == before


@pytest.mark.django_db
def test_the_endpoint_needs_no_login_and_takes_only_post():
    client = Client(enforce_csrf_checks=True)

    assert client.get(URL).status_code == 405
    assert deliver(b"{}", client=client).status_code == 400  # past CSRF and auth, to the body


# Concurrency: two copies of one delivery at once


@pytest.mark.django_db(transaction=True)
def test_two_identical_deliveries_racing_apply_once(sandbox, django_capture_on_commit_callbacks):
    invoice = issued_invoice(new_seller(), django_capture_on_commit_callbacks)
    body = body_of("invoice.paid", remote_paid(sandbox, invoice))
    start = threading.Barrier(2)
    statuses = []

    def post():
        try:
            start.wait()
            statuses.append(deliver(body, delivery_id="dlv_racing").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 403]
    assert list(WebhookDelivery.objects.values_list("delivery_id", "outcome")) == [
        ("dlv_racing", "applied")
    ]
    assert [action for action, *_ in webhook_audit()] == ["document.paid_by_webhook"]
    invoice.refresh_from_db()
    assert invoice.paid_at is not None


# End to end: registered with the sandbox, delivered by its dispatcher over HTTP


def wait_for(condition):
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_delivers_to_the_registered_endpoint(
    sandbox, live_server, django_capture_on_commit_callbacks, capsys, monkeypatch
):
    # The dispatcher keeps its HTTP connection open, so the server's request thread never ends:
    # it must not keep a database connection either, or the test database cannot be dropped.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    invoice = issued_invoice(new_seller(), django_capture_on_commit_callbacks)

    call_command("register_webhook", url=f"{live_server.url}{URL}")
    remote_paid(sandbox, invoice)
    remote_voided(sandbox, invoice)

    webhook_id, url, events = capsys.readouterr().out.strip().split("\t")
    assert (url, events.split(",")) == (f"{live_server.url}{URL}", list(HANDLED_EVENTS))
    with sandbox.http() as http:
        registered = http.get("/webhooks").json()["data"]

        def attempts():
            return http.get("/sandbox/webhook-deliveries").json()["data"]

        wait_for(lambda: len(attempts()) == 2)
        delivered = sorted((a["event"], a["outcome"]) for a in attempts())
    assert [(w["id"], w["url"], w["events"]) for w in registered] == [
        (webhook_id, f"{live_server.url}{URL}", list(HANDLED_EVENTS))
    ]
    assert delivered == [("invoice.paid", 200), ("invoice.voided", 200)]
    assert sorted(WebhookDelivery.objects.values_list("event", "outcome")) == [
        ("invoice.paid", WebhookOutcome.APPLIED),
        ("invoice.voided", WebhookOutcome.APPLIED),
    ]
    invoice.refresh_from_db()
    assert (invoice.paid_at is not None, invoice.voided_at is not None) == (True, True)


def test_register_webhook_refuses_a_url_that_is_not_http():
    with pytest.raises(CommandError, match="--url: not an http"):
        call_command("register_webhook", url="ftp://example.com/hooks")


@pytest.mark.django_db
def test_register_webhook_needs_a_secret(sandbox, settings):
    settings.SPACE_INVOICES_WEBHOOK_SECRET = ""

    with pytest.raises(CommandError, match=r"^Set SPACE_INVOICES_WEBHOOK_SECRET first\.$"):
        call_command(
            "register_webhook", url="https://shop.example.com/api/webhooks/space-invoices/"
        )

    with sandbox.http() as http:
        assert http.get("/webhooks").json()["data"] == []


# The issue answer itself records an inline payment (its webhook may arrive first)


@pytest.mark.django_db
def test_an_invoice_paid_at_issue_is_paid_in_the_mirror(seller, django_capture_on_commit_callbacks):
    seller.invoice_trigger = "paid"
    seller.save(update_fields=["invoice_trigger"])
    mug = ProductFactory(seller=seller, unit_price=Decimal("12.99"))
    checkout = orders.checkout_create(
        buyer=UserFactory(), lines=[orders.CartLine(mug.pk, 1)], billing=BILLING
    )
    with django_capture_on_commit_callbacks(execute=True):
        orders.order_mark_paid(order_id=checkout.orders.get().pk)

    invoice = Document.objects.get(kind=DocumentKind.INVOICE)
    assert (invoice.state, invoice.paid_at) == (DocumentState.ISSUED, invoice.issued_at)


@pytest.mark.django_db
def test_an_invoice_issued_unpaid_is_not_paid_in_the_mirror(invoice):
    assert (invoice.state, invoice.paid_at) == (DocumentState.ISSUED, None)
