"""Only an operator (audited) or a verified provider callback marks an order paid: the buyer's
own word never does, and the local test payment provider refuses outside DEBUG and the tests."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.test import Client, override_settings

from core.models import AuditEvent
from invoicing.models import Document
from marketplace.checks import production_secrets_check
from marketplace.models import Checkout, OrderStatus, Payment
from marketplace.payments import payment_signature
from tests.factories import UserFactory, operator_user
from tests.storefront.conftest import add, checkout_post, counts

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NOT_AN_OPERATOR = {
    "detail": "Only operators with the permission marketplace.view_order, "
    "marketplace.record_order_payment can do this.",
    "field": None,
    "code": "permission_denied",
}
PROVIDER_DISABLED = (
    "The test payment provider is not enabled here: an order is paid only on a verified "
    "provider event or when an operator records the payment."
)


@pytest.fixture
def placed(client, products):
    """A logged-in buyer's checkout of one seller's order (2 x 14.90 at 22 % = 36.36 EUR)."""
    client.force_login(UserFactory(username="ana"))
    add(client, products["spoon"], 2)
    checkout_post(client, [(products["spoon"], 2, products["spoon"].unit_price)])
    return Checkout.objects.get()


def _paid_fields(checkout: Checkout) -> dict[str, str]:
    """A "paid" callback for the checkout, signed as the test provider's page signs it."""
    fields = {
        "checkout_ref": str(checkout.public_id),
        "amount": "36.36",
        "currency": "EUR",
        "outcome": "paid",
        "payment_id": f"pay_{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
    }
    return {**fields, "signature": payment_signature(fields)}


def _unpaid(checkout: Checkout) -> None:
    order = checkout.orders.get()
    assert (order.status, order.paid_at) == (OrderStatus.PLACED, None)
    assert not AuditEvent.objects.filter(action__in=["order.paid", "payment.confirmed"]).exists()
    assert Document.objects.count() == 0


# The API: only operators record a payment.


def test_a_buyer_cannot_mark_their_own_order_paid(api_client, placed):
    order = placed.orders.get()
    api_client.force_authenticate(placed.buyer)

    response = api_client.post(f"/api/orders/{order.pk}/pay/")

    assert response.status_code == 403
    assert response.json() == NOT_AN_OPERATOR
    _unpaid(placed)


def test_staff_without_the_payment_permission_cannot_mark_an_order_paid(api_client, placed):
    order = placed.orders.get()
    for staff in (UserFactory(is_staff=True), operator_user("marketplace.view_order")):
        api_client.force_authenticate(staff)

        response = api_client.post(f"/api/orders/{order.pk}/pay/")

        assert (response.status_code, response.json()) == (403, NOT_AN_OPERATOR)
    _unpaid(placed)


def test_an_operator_records_an_offline_payment_audited_in_production(
    api_client, placed, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENT_PROVIDER = "offline"
    order = placed.orders.get()
    cashier = operator_user(
        "marketplace.view_order", "marketplace.record_order_payment", username="olga"
    )
    api_client.force_authenticate(cashier)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"/api/orders/{order.pk}/pay/")

    assert (response.status_code, response.json()["status"]) == (200, "paid")
    paid = AuditEvent.objects.get(action="order.paid")
    assert (paid.actor, paid.order_id) == (cashier, order.pk)


# The storefront's test provider, with PAYMENT_PROVIDER as production has it.


def test_checkout_goes_to_the_orders_not_the_test_provider_in_production(
    client, products, settings
):
    settings.PAYMENT_PROVIDER = "offline"
    add(client, products["spoon"], 1)

    response = checkout_post(client, [(products["spoon"], 1, products["spoon"].unit_price)])

    checkout = Checkout.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/checkout/{checkout.public_id}/"
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="payment-pending">Payment not received yet.</p>' in page
    assert "/payment-provider/" not in page


def test_the_test_provider_page_refuses_in_production(client, placed, settings):
    settings.PAYMENT_PROVIDER = "offline"

    response = client.get(f"/payment-provider/{placed.public_id}/")

    assert response.status_code == 403
    assert PROVIDER_DISABLED in response.content.decode()
    assert 'name="signature"' not in response.content.decode()


def test_a_validly_signed_paid_callback_is_refused_in_production(client, placed, settings):
    settings.PAYMENT_PROVIDER = "offline"
    settings.PAYMENT_PROVIDER_SECRET = "a-strong-secret-" + "x" * 40
    before = counts()

    response = client.post("/payments/callback/", _paid_fields(placed))

    assert response.status_code == 403
    assert PROVIDER_DISABLED in response.content.decode()
    assert counts() == before
    assert Payment.objects.count() == 0
    _unpaid(placed)


def test_the_same_callback_pays_where_the_test_provider_is_enabled(
    client, placed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/payments/callback/", _paid_fields(placed))

    assert response.status_code == 302
    assert placed.orders.get().status == OrderStatus.PAID


# Start-up checks.


def test_the_checks_refuse_the_test_provider_with_debug_off():
    with override_settings(DEBUG=False, PAYMENT_PROVIDER="test"):
        refused = [error.id for error in production_secrets_check()]
    with override_settings(DEBUG=True, PAYMENT_PROVIDER="test"):
        local = [error.id for error in production_secrets_check()]

    assert "marketplace.E004" in refused
    assert local == []


def _manage_check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "PAYMENT_PROVIDER",
            "SMOKE_PROFILE",
            "STRIPE_SECRET_KEY",
            "STRIPE_WEBHOOK_SECRET",
            "STRIPE_API_BASE",
        }
    }
    production = {"SECRET_KEY": "k3y-" + "".join(f"{chr(97 + i % 26)}{i}" for i in range(30))}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **production, **env},
        capture_output=True,
        text=True,
    )


def test_a_production_process_with_the_test_provider_does_not_start():
    refused = _manage_check(DEBUG="false", PAYMENT_PROVIDER="test")
    production = _manage_check(DEBUG="false")

    assert refused.returncode == 1
    assert "(marketplace.E004) PAYMENT_PROVIDER is the local test provider" in refused.stderr
    assert (production.returncode, production.stderr) == (0, "")


def test_the_smoke_profile_runs_the_test_provider_with_debug_off_only_on_the_sandbox():
    smoke = {"DEBUG": "false", "PAYMENT_PROVIDER": "test", "SMOKE_PROFILE": "true"}
    sandbox = {
        "SPACE_INVOICES_URL": "http://127.0.0.1:8765",
        "SPACE_INVOICES_API_KEY": "sk_sandbox_x",
    }
    allowed = _manage_check(**smoke, **sandbox)
    live_key = _manage_check(**smoke, **sandbox | {"SPACE_INVOICES_API_KEY": "sk_live_x"})
    remote = _manage_check(**smoke, **sandbox | {"SPACE_INVOICES_URL": "https://eu.example.com"})

    assert (allowed.returncode, allowed.stderr) == (0, "")
    for refused in (live_key, remote):
        assert refused.returncode == 1
        assert "(marketplace.E005) SMOKE_PROFILE is on outside the smoke profile" in refused.stderr
        assert "(marketplace.E004) PAYMENT_PROVIDER is the local test provider" in refused.stderr


def test_an_unknown_payment_provider_is_refused_at_start():
    refused = _manage_check(DEBUG="true", PAYMENT_PROVIDER="paypal")

    assert refused.returncode == 1
    assert "PAYMENT_PROVIDER must be offline, test or stripe" in refused.stderr


# Admin: the same operator-only path, as an action on the order list.

ORDERS = "/admin/marketplace/order/"


def _admin(*perms: str) -> Client:
    admin_client = Client()
    admin_client.force_login(operator_user(*perms, username="olga"))
    return admin_client


def _actions(response) -> list[str]:
    form = response.context["action_form"]
    return [] if form is None else [name for name, _ in form.fields["action"].choices]


def test_an_operator_records_a_payment_in_admin_after_confirming(
    placed, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENT_PROVIDER = "offline"
    order = placed.orders.get()
    cashier = _admin("marketplace.view_order", "marketplace.record_order_payment")
    chosen = {"action": "record_payment", "_selected_action": [order.pk]}

    offered = _actions(cashier.get(ORDERS))
    question = cashier.post(ORDERS, chosen)
    without_reference = cashier.post(ORDERS, {**chosen, "post": "yes", "reference": ""})
    with django_capture_on_commit_callbacks(execute=True):
        done = cashier.post(
            ORDERS, {**chosen, "post": "yes", "reference": "TRF-2026-0042"}, follow=True
        )

    assert "record_payment" in offered
    assert "Record the payment received for 1 order?" in question.content.decode()
    assert without_reference.context["form"].errors == {"reference": ["This field is required."]}
    assert [str(m) for m in done.context["messages"]] == ["1 order marked paid."]
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    paid = AuditEvent.objects.get(action="order.paid")
    assert (paid.actor.username, paid.order_id, paid.detail) == (
        "olga",
        order.pk,
        {"reference": "TRF-2026-0042"},
    )


def test_staff_who_may_change_orders_are_not_offered_recording_a_payment(placed):
    order = placed.orders.get()
    editor = _admin("marketplace.view_order", "marketplace.change_order")

    offered = _actions(editor.get(ORDERS))
    editor.post(ORDERS, {"action": "record_payment", "_selected_action": [order.pk], "post": "yes"})

    assert "record_payment" not in offered
    _unpaid(placed)


def test_stripe_in_production_needs_real_keys_and_stripes_api():
    local = _manage_check(DEBUG="false", PAYMENT_PROVIDER="stripe")
    standin = _manage_check(
        DEBUG="false",
        PAYMENT_PROVIDER="stripe",
        STRIPE_SECRET_KEY="sk_live_abc",
        STRIPE_WEBHOOK_SECRET="whsec_abc",
        STRIPE_API_BASE="http://127.0.0.1:12111",
    )
    live = _manage_check(
        DEBUG="false",
        PAYMENT_PROVIDER="stripe",
        STRIPE_SECRET_KEY="sk_live_abc",
        STRIPE_WEBHOOK_SECRET="whsec_abc",
    )
    local_run = _manage_check(DEBUG="true", PAYMENT_PROVIDER="stripe")

    assert local.returncode == 1
    assert "(marketplace.E006) PAYMENT_PROVIDER is stripe while DEBUG is off" in local.stderr
    assert standin.returncode == 1
    assert "(marketplace.E007) STRIPE_API_BASE is not Stripe's API" in standin.stderr
    assert "E006" not in standin.stderr
    assert (live.returncode, live.stderr) == (0, "")
    assert (local_run.returncode, local_run.stderr) == (0, "")
