import re
import smtplib
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.test import Client
from django.utils import timezone

from core.models import AuditEvent
from invoicing.models import Document, DocumentState
from marketplace import tasks
from marketplace.celery import app as celery_app
from marketplace.models import Checkout, OrderStatus, Payment
from marketplace.payments import payment_signature
from marketplace.services import order_cancel
from marketplace.storefront.guest import guest_orders_ref
from tests.factories import UserFactory
from tests.storefront.conftest import add, checkout_post, counts, hidden_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def placed(client, products):
    """A guest checkout of two sellers (36.36 + 25.68 EUR), on the provider's page."""
    add(client, products["spoon"], 2)
    add(client, products["book"], 1)
    checkout_post(
        client,
        [(products["spoon"], 2, Decimal("14.90")), (products["book"], 1, Decimal("24.00"))],
    )
    return Checkout.objects.get()


def provider_forms(client, checkout):
    html = client.get(f"/payment-provider/{checkout.public_id}/").content.decode()
    return hidden_fields(html, "pay-button"), hidden_fields(html, "decline-button")


def signed(**fields: str) -> dict[str, str]:
    return {**fields, "signature": payment_signature(fields)}


def test_provider_page_shows_the_amount_and_signed_forms(client, placed):
    response = client.get(f"/payment-provider/{placed.public_id}/")

    html = response.content.decode()
    assert "Test payment provider" in html
    assert '<strong data-testid="payment-amount">62.04 EUR</strong>' in html
    pay, decline = provider_forms(client, placed)
    assert {k: pay[k] for k in ("checkout_ref", "amount", "currency", "outcome")} == {
        "checkout_ref": str(placed.public_id),
        "amount": "62.04",
        "currency": "EUR",
        "outcome": "paid",
    }
    assert decline["outcome"] == "declined"
    assert pay["payment_id"] != decline["payment_id"]


def test_provider_page_of_another_buyers_checkout_is_not_found(client, placed):
    client.logout()
    other = Client()
    other.force_login(UserFactory(username="mallory"))

    response = other.get(f"/payment-provider/{placed.public_id}/")

    assert response.status_code == 404
    assert "belongs to another buyer" in response.content.decode()


def test_paying_marks_every_order_paid_issues_invoices_and_mails_the_guest(
    client, placed, django_capture_on_commit_callbacks
):
    pay, _ = provider_forms(client, placed)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/payments/callback/", pay)

    assert response.status_code == 302
    assert response["Location"] == f"/orders/checkout/{placed.public_id}/"
    orders = list(placed.orders.order_by("pk"))
    assert [order.status for order in orders] == [OrderStatus.PAID, OrderStatus.PAID]
    invoices = list(
        Document.objects.order_by("order_id").values_list("state", "number", "total_gross")
    )
    year = timezone.localdate().year
    assert invoices == [
        (DocumentState.ISSUED, f"{year}-00001", Decimal("36.36")),
        (DocumentState.ISSUED, f"{year}-00001", Decimal("25.68")),
    ]
    payment = Payment.objects.get()
    assert (payment.outcome, payment.amount, payment.provider_payment_id) == (
        "paid",
        Decimal("62.04"),
        pay["payment_id"],
    )
    confirmed = AuditEvent.objects.filter(action="payment.confirmed").order_by("order_id")
    assert [(e.order_id, e.actor_id, e.detail) for e in confirmed] == [
        (order.pk, None, {"checkout_id": placed.pk, "payment_id": pay["payment_id"]})
        for order in orders
    ]
    [email] = mail.outbox
    assert email.to == ["ana@example.com"]
    # The link is signed with a timestamp: the one mailed names this checkout.
    [token] = re.findall(r"http://testserver/orders/guest/([^/\s]+)/", email.body)
    assert guest_orders_ref(token) == placed.public_id
    assert "Alpine Crafts d.o.o., Berlin Books GmbH" in email.body
    assert "The link works for 90 days." in email.body


class FailingSMTP(locmem.EmailBackend):
    """Raises `failures` one send at a time, the way an SMTP server fails, then delivers."""

    failures: list[Exception] = []
    attempts = 0

    def send_messages(self, messages):
        type(self).attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        return super().send_messages(messages)


@pytest.fixture
def smtp(settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.FailingSMTP"
    # An eager task that does not re-raise runs its retries at once, as a worker would after
    # each countdown.
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    FailingSMTP.failures, FailingSMTP.attempts = [], 0
    return FailingSMTP


def pay_guest(client, checkout, django_capture_on_commit_callbacks):
    pay, _ = provider_forms(client, checkout)
    with django_capture_on_commit_callbacks(execute=True):
        return client.post("/payments/callback/", pay)


def test_smtp_failure_keeps_the_payment_and_the_guest_email_goes_out_on_retry(
    client, placed, smtp, django_capture_on_commit_callbacks
):
    smtp.failures = [smtplib.SMTPServerDisconnected("Connection unexpectedly closed")]

    response = pay_guest(client, placed, django_capture_on_commit_callbacks)

    assert (response.status_code, response["Location"]) == (
        302,
        f"/orders/checkout/{placed.public_id}/",
    )
    assert counts() == {"checkouts": 1, "orders": 2, "invoices": 2, "payments": 1}
    assert set(placed.orders.values_list("status", flat=True)) == {OrderStatus.PAID}
    assert smtp.attempts == 2
    [email] = mail.outbox
    assert email.to == ["ana@example.com"]
    placed.refresh_from_db()
    assert placed.guest_link_sent_at is not None


def test_guest_email_goes_out_once_however_often_its_task_runs(
    client, placed, smtp, django_capture_on_commit_callbacks
):
    pay_guest(client, placed, django_capture_on_commit_callbacks)
    placed.refresh_from_db()
    sent_at = placed.guest_link_sent_at

    tasks.send_guest_orders_email.delay(placed.pk, "http://testserver/")

    assert len(mail.outbox) == 1
    assert smtp.attempts == 1
    placed.refresh_from_db()
    assert placed.guest_link_sent_at == sent_at


def test_guest_email_refused_by_the_server_is_not_retried(
    client, placed, smtp, django_capture_on_commit_callbacks, caplog
):
    smtp.failures = [smtplib.SMTPRecipientsRefused({"ana@example.com": (550, b"No such user")})]

    response = pay_guest(client, placed, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert Payment.objects.get().outcome == "paid"
    assert (smtp.attempts, mail.outbox) == (1, [])
    placed.refresh_from_db()
    assert placed.guest_link_sent_at is None
    assert [r.getMessage() for r in caplog.records if r.name == "marketplace.tasks"] == [
        f"checkout {placed.pk}: guest order email refused (SMTPRecipientsRefused)"
    ]


def test_guest_email_stops_after_its_attempts_when_the_server_stays_busy(
    client, placed, smtp, django_capture_on_commit_callbacks, caplog
):
    smtp.failures = [
        smtplib.SMTPResponseException(421, b"Try again later")
        for _ in range(tasks.MAX_ATTEMPTS + 1)
    ]

    response = pay_guest(client, placed, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert (smtp.attempts, mail.outbox) == (tasks.MAX_ATTEMPTS + 1, [])
    placed.refresh_from_db()
    assert placed.guest_link_sent_at is None
    assert [r.getMessage() for r in caplog.records if r.name == "marketplace.tasks"] == [
        f"checkout {placed.pk}: guest order email not sent (SMTPResponseException 421)"
    ]


def test_logged_in_buyer_gets_no_guest_email(client, products, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(username="ana"))
    add(client, products["honey"], 2)
    checkout_post(client, [(products["honey"], 2, Decimal("7.45"))])
    pay, _ = provider_forms(client, Checkout.objects.get())

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/payments/callback/", pay)

    assert mail.outbox == []
    assert Document.objects.get().state == DocumentState.ISSUED


def test_declined_payment_leaves_orders_unpaid_and_uninvoiced(
    client, placed, django_capture_on_commit_callbacks
):
    _, decline = provider_forms(client, placed)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/payments/callback/", decline, follow=True)

    html = response.content.decode()
    assert "Your payment was declined and nothing was charged." in html
    assert html.count('data-testid="pay-again"') == 2
    assert set(placed.orders.values_list("status", flat=True)) == {OrderStatus.PLACED}
    assert Document.objects.count() == 0
    assert Payment.objects.get().outcome == "declined"
    assert AuditEvent.objects.filter(action="payment.declined").count() == 2
    assert mail.outbox == []
    retry = client.get(f"/payment-provider/{placed.public_id}/")
    assert retry.status_code == 200


def test_an_order_cancelled_before_payment_is_not_charged(
    client, placed, django_capture_on_commit_callbacks
):
    alpine, berlin = placed.orders.order_by("pk")
    order_cancel(order_id=berlin.pk)
    pay, _ = provider_forms(client, placed)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/payments/callback/", pay)

    assert response.status_code == 302
    assert (pay["amount"], Payment.objects.get().amount) == ("36.36", Decimal("36.36"))
    statuses = list(placed.orders.order_by("pk").values_list("status", flat=True))
    assert statuses == [OrderStatus.PAID, OrderStatus.CANCELLED]
    assert list(Document.objects.values_list("order_id", "total_gross")) == [
        (alpine.pk, Decimal("36.36"))
    ]
    confirmed = AuditEvent.objects.filter(action="payment.confirmed")
    assert list(confirmed.values_list("order_id", flat=True)) == [alpine.pk]


def test_a_checkout_with_nothing_left_to_pay_is_refused_and_writes_nothing(
    client, placed, django_capture_on_commit_callbacks
):
    pay, _ = provider_forms(client, placed)  # rendered before the orders were cancelled
    for order in placed.orders.all():
        order_cancel(order_id=order.pk)
    audit_before = AuditEvent.objects.count()

    page = client.get(f"/payment-provider/{placed.public_id}/")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/payments/callback/", pay)

    message = "Nothing in this checkout is left to pay: its orders are paid or cancelled."
    assert (page.status_code, response.status_code) == (409, 409)
    assert message in page.content.decode()
    assert message in response.content.decode()
    assert counts() == {"checkouts": 1, "orders": 2, "invoices": 0, "payments": 0}
    assert AuditEvent.objects.count() == audit_before
    assert callbacks == []
    assert mail.outbox == []


def test_replayed_callback_is_a_no_op(client, placed, django_capture_on_commit_callbacks):
    pay, _ = provider_forms(client, placed)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/payments/callback/", pay)
    before = counts()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/payments/callback/", pay, follow=True)

    assert "This payment was already processed." in response.content.decode()
    assert counts() == before == {"checkouts": 1, "orders": 2, "invoices": 2, "payments": 1}
    assert AuditEvent.objects.filter(action="payment.confirmed").count() == 2
    assert len(mail.outbox) == 1


def test_second_payment_of_a_paid_checkout_changes_nothing(
    client, placed, django_capture_on_commit_callbacks
):
    first, _ = provider_forms(client, placed)
    second, _ = provider_forms(client, placed)  # both rendered before paying
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/payments/callback/", first)
    before = counts()

    response = client.post("/payments/callback/", second, follow=True)

    assert "This checkout was already paid; nothing more was charged." in response.content.decode()
    assert counts() == before


def forged_cases(
    pay: dict[str, str], decline: dict[str, str]
) -> dict[str, tuple[dict[str, str], int, str]]:
    now = str(int(time.time()))
    fresh = {k: v for k, v in pay.items() if k != "signature"}
    return {
        "amount-changed": (
            {**pay, "amount": "0.01"},
            403,
            "The payment confirmation is not signed by the payment provider.",
        ),
        "outcome-changed": (
            {**decline, "outcome": "paid"},
            403,
            "The payment confirmation is not signed by the payment provider.",
        ),
        "no-signature": (
            {k: v for k, v in pay.items() if k != "signature"},
            403,
            "The payment confirmation is not signed by the payment provider.",
        ),
        "wrong-secret": (
            {**fresh, "signature": "0" * 64},
            403,
            "The payment confirmation is not signed by the payment provider.",
        ),
        "stale": (
            signed(**{**fresh, "timestamp": str(int(time.time()) - 31 * 60)}),
            400,
            "The payment confirmation has expired; start the payment again.",
        ),
        "from-the-future": (
            signed(**{**fresh, "timestamp": str(int(time.time()) + 600)}),
            400,
            "The payment confirmation has expired; start the payment again.",
        ),
        "signed-but-short": (
            signed(**{**fresh, "amount": "1.00", "timestamp": now}),
            400,
            "The payment of 1.00 EUR does not match the checkout&#x27;s total of 62.04 EUR.",
        ),
        "signed-other-currency": (
            signed(**{**fresh, "currency": "USD", "timestamp": now}),
            400,
            "The payment of 62.04 USD does not match the checkout&#x27;s total of 62.04 EUR.",
        ),
        "malformed": (
            {**pay, "amount": "62.04\ncurrency=EUR"},
            400,
            "The payment&#x27;s amount is missing or malformed.",
        ),
        "unknown-checkout": (
            signed(**{**fresh, "checkout_ref": "00000000-0000-4000-8000-000000000000"}),
            400,
            "The payment names an unknown checkout.",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "amount-changed",
        "outcome-changed",
        "no-signature",
        "wrong-secret",
        "stale",
        "from-the-future",
        "signed-but-short",
        "signed-other-currency",
        "malformed",
        "unknown-checkout",
    ],
)
def test_forged_or_wrong_callback_is_refused_and_writes_nothing(
    client, placed, case, django_capture_on_commit_callbacks
):
    pay, decline = provider_forms(client, placed)
    data, status, message = forged_cases(pay, decline)[case]
    audit_before = AuditEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/payments/callback/", data)

    assert response.status_code == status
    assert message in response.content.decode()
    assert counts() == {"checkouts": 1, "orders": 2, "invoices": 0, "payments": 0}
    assert set(placed.orders.values_list("status", flat=True)) == {OrderStatus.PLACED}
    assert AuditEvent.objects.count() == audit_before
    assert callbacks == []
    assert mail.outbox == []


def test_callback_signed_with_another_secret_is_refused(client, placed, settings):
    pay, _ = provider_forms(client, placed)
    settings.PAYMENT_PROVIDER_SECRET = "another-secret"

    response = client.post("/payments/callback/", pay)

    assert response.status_code == 403
    assert counts()["payments"] == 0


def test_callback_needs_no_csrf_token_but_only_accepts_post(placed, client):
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    pay, _ = provider_forms(client, placed)

    assert strict.get("/payments/callback/").status_code == 405
    assert strict.post("/payments/callback/", pay).status_code == 302


@pytest.mark.parametrize("body", ["[" * 5000, '{"checkout_ref": '])
def test_a_json_callback_nested_or_malformed_is_refused_and_writes_nothing(client, placed, body):
    """The callback is a signed form: a JSON body, however deep or broken, carries no field."""
    audit_before = AuditEvent.objects.count()

    response = client.post("/payments/callback/", body, content_type="application/json")

    assert response.status_code == 400
    assert "The payment&#x27;s checkout_ref is missing or malformed." in response.content.decode()
    assert counts() == {"checkouts": 1, "orders": 2, "invoices": 0, "payments": 0}
    assert AuditEvent.objects.count() == audit_before
