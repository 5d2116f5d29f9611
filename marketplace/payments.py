"""The local test payment provider and its signed callback.

It stands in for a real provider where PAYMENT_PROVIDER is "test" (DEBUG on, or the test suite;
the start-up checks refuse it with DEBUG off). Anywhere else its page and its callback refuse:
its page signs a "paid" callback for whoever opens it.

The provider page stands in for a hosted payment page: it shows the checkout's amount and sends
the buyer back to us with the outcome, as a redirect-style callback whose fields are signed with
HMAC-SHA256 under PAYMENT_PROVIDER_SECRET. We trust a callback only when its signature matches,
its timestamp is fresh and its amount and currency equal the total of the checkout's orders still
to pay (one cancelled or paid on its own is not charged); a payment id is processed once, so a
replayed callback changes nothing.
"""

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet, Sum
from rest_framework import status

from core.audit import audit_event, audit_record_many
from core.errors import ApplicationError
from marketplace import services, tasks
from marketplace.models import Checkout, Order, OrderStatus, Payment, PaymentOutcome
from marketplace.pricing import quantize

# Signed, in this order. Each value's format is checked first, so no value can carry a separator.
FIELDS = {
    "checkout_ref": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "amount": r"\d{1,12}(\.\d{1,4})?",
    "currency": r"[A-Z]{3}",
    "outcome": "|".join(PaymentOutcome.values),
    "payment_id": r"pay_[0-9a-f]{32}",
    "timestamp": r"\d{1,12}",
}
SIGNATURE = re.compile(r"[0-9a-f]{64}")
# How long the buyer may stay on the provider page, and how far ahead a clock may run.
MAX_AGE_SECONDS = 30 * 60
MAX_CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True)
class CallbackResult:
    checkout: Checkout
    # "confirmed", "declined", "replayed" (this payment id was processed before) or
    # "already_paid" (another payment paid the checkout first).
    effect: str


def local_provider_enabled() -> bool:
    provider: str = settings.PAYMENT_PROVIDER
    return provider == "test"


def _require_local_provider() -> None:
    if not local_provider_enabled():
        raise ApplicationError(
            "The test payment provider is not enabled here: an order is paid only on a verified "
            "provider event or when an operator records the payment.",
            code="provider_disabled",
            http_status=status.HTTP_403_FORBIDDEN,
        )


def payment_signature(fields: Mapping[str, str]) -> str:
    message = "\n".join(f"{name}={fields[name]}" for name in FIELDS)
    secret = settings.PAYMENT_PROVIDER_SECRET.encode()
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def payable_orders(checkout: Checkout) -> QuerySet[Order]:
    """The checkout's orders still to pay: not one cancelled or paid since it was placed."""
    return checkout.orders.filter(
        paid_at__isnull=True, status__in=[OrderStatus.PLACED, OrderStatus.FULFILLED]
    )


def checkout_amount(checkout: Checkout) -> tuple[Decimal, str]:
    """What the buyer pays for the checkout: its payable orders' gross totals, in one currency."""
    totals = list(
        payable_orders(checkout)
        .values("currency")
        .annotate(total=Sum("total_gross"))
        .order_by("currency")
    )
    return _amount(totals)


def orders_amount(orders: list[Order]) -> tuple[Decimal, str]:
    """checkout_amount of these payable orders, already read (locked by the caller)."""
    sums: dict[str, Decimal] = {}
    for order in orders:
        sums[order.currency] = sums.get(order.currency, Decimal(0)) + order.total_gross
    return _amount([{"currency": currency, "total": sums[currency]} for currency in sorted(sums)])


def _amount(totals: list[dict[str, Any]]) -> tuple[Decimal, str]:
    if not totals:
        raise ApplicationError(
            "Nothing in this checkout is left to pay: its orders are paid or cancelled.",
            field="checkout_ref",
            code="conflict",
            http_status=status.HTTP_409_CONFLICT,
        )
    if len(totals) > 1:
        raise ApplicationError(
            "This checkout holds orders in more than one currency and cannot be paid at once.",
            field="currency",
            code="conflict",
            http_status=status.HTTP_409_CONFLICT,
        )
    # Quantized: SQLite sums decimals with more places than the currency has.
    currency = totals[0]["currency"]
    return quantize(totals[0]["total"], currency), currency


def provider_payloads(
    *, checkout: Checkout, amount: Decimal, currency: str
) -> dict[str, dict[str, str]]:
    """The provider page's signed callback fields for the checkout's amount (checkout_amount),
    one set per outcome the buyer can choose."""
    _require_local_provider()
    payloads = {}
    for outcome in PaymentOutcome.values:
        fields = {
            "checkout_ref": str(checkout.public_id),
            "amount": str(amount),
            "currency": currency,
            "outcome": outcome,
            "payment_id": f"pay_{uuid.uuid4().hex}",
            "timestamp": str(int(time.time())),
        }
        payloads[outcome] = {**fields, "signature": payment_signature(fields)}
    return payloads


def payment_callback_process(*, data: Mapping[str, str], site_url: str) -> CallbackResult:
    """Apply a provider callback: a valid "paid" marks the checkout's payable orders paid."""
    _require_local_provider()
    fields = _verified(data)
    with transaction.atomic():
        checkout = (
            Checkout.objects.select_for_update(of=("self",))
            .select_related("buyer")
            .filter(public_id=fields["checkout_ref"])
            .first()
        )
        if checkout is None:
            raise ApplicationError("The payment names an unknown checkout.", field="checkout_ref")
        # One query: this payment id anywhere, and the checkout's paid payments.
        earlier = set(
            Payment.objects.filter(
                Q(provider_payment_id=fields["payment_id"])
                | Q(checkout=checkout, outcome=PaymentOutcome.PAID)
            ).values_list("provider_payment_id", flat=True)
        )
        if fields["payment_id"] in earlier:
            return CallbackResult(checkout, "replayed")
        if earlier:
            return CallbackResult(checkout, "already_paid")
        # Locked in id order with their sellers, as order_mark_paid locks one: what is still
        # to pay cannot change under us.
        orders = list(
            payable_orders(checkout)
            .select_for_update(no_key=True)
            .select_related("seller")
            .order_by("pk")
        )
        amount = _amount_matching(orders, fields)
        Payment.objects.create(
            checkout=checkout,
            provider_payment_id=fields["payment_id"],
            outcome=fields["outcome"],
            amount=amount,
            currency=fields["currency"],
        )
        payment_effects_apply(
            checkout,
            orders,
            paid=fields["outcome"] == PaymentOutcome.PAID,
            payment_id=fields["payment_id"],
            site_url=site_url,
        )
    effect = "confirmed" if fields["outcome"] == PaymentOutcome.PAID else "declined"
    return CallbackResult(checkout, effect)


def _verified(data: Mapping[str, str]) -> dict[str, str]:
    fields = {name: data.get(name, "") for name in FIELDS}
    for name, pattern in FIELDS.items():
        if not re.fullmatch(pattern, fields[name]):
            raise ApplicationError(f"The payment's {name} is missing or malformed.", field=name)
    signature = data.get("signature", "")
    if not SIGNATURE.fullmatch(signature) or not hmac.compare_digest(
        signature, payment_signature(fields)
    ):
        raise ApplicationError(
            "The payment confirmation is not signed by the payment provider.",
            field="signature",
            code="bad_signature",
            http_status=status.HTTP_403_FORBIDDEN,
        )
    age = time.time() - int(fields["timestamp"])
    if not -MAX_CLOCK_SKEW_SECONDS <= age <= MAX_AGE_SECONDS:
        raise ApplicationError(
            "The payment confirmation has expired; start the payment again.",
            field="timestamp",
            code="expired",
        )
    return fields


def _amount_matching(orders: list[Order], fields: Mapping[str, str]) -> Decimal:
    amount, currency = orders_amount(orders)
    if Decimal(fields["amount"]) != amount or fields["currency"] != currency:
        raise ApplicationError(
            f"The payment of {fields['amount']} {fields['currency']} does not match the "
            f"checkout's total of {amount} {currency}.",
            field="amount",
        )
    return amount


def payment_effects_apply(
    checkout: Checkout, orders: list[Order], *, paid: bool, payment_id: str, site_url: str
) -> None:
    """A verified payment's outcome on the checkout's payable orders (locked by the caller, in
    its transaction): paid marks them paid (the invoice point may issue), a guest gets the link
    to their orders; either way each order's audit trail says so."""
    for order in orders:
        event = audit_event(
            action="payment.confirmed" if paid else "payment.declined",
            seller_id=order.seller_id,
            order_id=order.pk,
            detail={"checkout_id": checkout.pk, "payment_id": payment_id},
        )
        if paid:
            # Its "payment.confirmed" written with the order's "order.paid", in one INSERT.
            services.order_mark_paid_locked(order=order, audit_with=[event])
        else:
            audit_record_many([event])
    if paid and services.buyer_is_guest(checkout.buyer):
        # Robust: the payment is recorded whatever happens to this enqueue; the buyer still sees
        # their orders on the page they are sent to.
        transaction.on_commit(
            lambda: tasks.send_guest_orders_email.delay(checkout.pk, site_url), robust=True
        )
