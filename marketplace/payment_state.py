"""How a checkout's payment stands, as the buyer's pages show it: decided here once, from the
payments and the provider's sessions we recorded, for the confirmation page and "my orders"."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from marketplace.models import (
    Checkout,
    Order,
    OrderStatus,
    Payment,
    PaymentOutcome,
    PaymentSession,
    PaymentSessionStatus,
)
from marketplace.pricing import quantize

MESSAGES = {
    "paid": "Paid.",
    "confirming": "Payment received by the provider; confirming it…",
    "declined": "Your payment was declined and nothing was charged. Your orders are waiting: "
    "you can pay the whole checkout again.",
    "abandoned": "The payment was not completed and nothing was charged. Your orders are "
    "waiting: you can pay the whole checkout.",
    "awaiting": "Awaiting payment.",
    "none": "Nothing left to pay.",
}


ATTEMPT_STATES: dict[str, str] = {
    PaymentSessionStatus.FAILED: "declined",
    PaymentSessionStatus.EXPIRED: "abandoned",
}


@dataclass(frozen=True)
class PaymentState:
    state: str
    amount: Decimal | None = None  # what "pay now" charges (the whole checkout's payable orders)
    currency: str = ""

    @property
    def message(self) -> str:
        return MESSAGES[self.state]

    @property
    def payable(self) -> bool:
        return self.amount is not None and self.state != "paid"


def payment_states(checkouts: Iterable[Checkout], *, hint: str = "") -> dict[int, PaymentState]:
    """Each checkout's payment state (a fixed number of queries). `hint` is where the provider's
    page sent the buyer back: "done" (paid, its event may still be on its way) or "cancelled"."""
    ids = [checkout.pk for checkout in checkouts]
    paid: set[int] = set()
    declined: list[tuple[int, datetime]] = []
    for checkout_id, outcome, created in Payment.objects.filter(checkout_id__in=ids).values_list(
        "checkout_id", "outcome", "created_at"
    ):
        if outcome == PaymentOutcome.PAID:
            paid.add(checkout_id)
        else:
            declined.append((checkout_id, created))
    states = {checkout_id: PaymentState("paid") for checkout_id in paid}
    unpaid = [checkout_id for checkout_id in ids if checkout_id not in paid]
    if not unpaid:
        return states
    due: dict[int, list[tuple[str, Decimal]]] = {}
    for row in (
        Order.objects.filter(
            checkout_id__in=unpaid,
            paid_at__isnull=True,
            status__in=[OrderStatus.PLACED, OrderStatus.FULFILLED],
        )
        .values("checkout_id", "currency")
        .annotate(total=Sum("total_gross"))
        .order_by("checkout_id", "currency")
    ):
        due.setdefault(row["checkout_id"], []).append((row["currency"], row["total"]))
    last_attempt = _last_attempts(unpaid, declined)
    for checkout_id in unpaid:
        totals = due.get(checkout_id, [])
        if len(totals) != 1:
            states[checkout_id] = PaymentState("none")
            continue
        currency, total = totals[0]
        amount = quantize(total, currency)
        state = last_attempt.get(checkout_id, "awaiting")
        if hint == "done" and state == "awaiting":
            state = "confirming"
        elif hint == "cancelled" and state == "awaiting":
            state = "abandoned"
        states[checkout_id] = PaymentState(state, amount, currency)
    return states


def _last_attempts(ids: list[int], declined: list[tuple[int, datetime]]) -> dict[int, str]:
    """Per checkout, how its latest unsuccessful attempt ended: declined or abandoned (the
    provider's sessions, and the test provider's declined payments)."""
    outcome: dict[int, tuple[object, str]] = {}
    for checkout_id, created, status in PaymentSession.objects.filter(
        checkout_id__in=ids
    ).values_list("checkout_id", "created_at", "status"):
        state = ATTEMPT_STATES.get(status, "awaiting")
        _keep_latest(outcome, checkout_id, created, state)
    for checkout_id, created in declined:
        _keep_latest(outcome, checkout_id, created, "declined")
    return {checkout_id: state for checkout_id, (_, state) in outcome.items()}


def _keep_latest(
    outcome: dict[int, tuple[object, str]], checkout_id: int, created: object, state: str
) -> None:
    kept = outcome.get(checkout_id)
    if kept is None or created > kept[0]:  # type: ignore[operator]
        outcome[checkout_id] = (created, state)
