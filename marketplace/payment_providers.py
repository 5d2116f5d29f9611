"""The order domain's payment provider interface, and the provider settings.PAYMENT_PROVIDER
names.

A provider takes a checkout's payment on its own page (`payment_start` answers where to send the
buyer), tells us what happened through events we verify (`event_apply`; the test provider's
signed callback, Stripe's signed webhooks), refunds part of a paid seller order
(`refund_send`, applied once the provider confirms, see marketplace.refunds) and routes each paid
seller order's share to its seller (`transfers_create`).

"offline" has no provider: operators record payments received, and refunds move no money here.
"""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.urls import reverse

from core.errors import ApplicationError
from marketplace import payments
from marketplace.models import Checkout, PaymentProvider, ProviderRefund


@dataclass(frozen=True)
class EventResult:
    """What an event did: an HTTP status for the provider, and a short reason (logged and sent
    back, never a secret)."""

    status: int
    outcome: str
    checkout: Checkout | None = None


class Provider(Protocol):
    name: str

    def payment_start(self, *, checkout: Checkout, return_url: str, cancel_url: str) -> str:
        """Where to send the buyer to pay the whole checkout's payable orders."""

    def event_apply(self, *, body: bytes, headers: dict[str, str], site_url: str) -> EventResult:
        """Verify a provider event and apply it (idempotent per event)."""

    def refund_send(self, *, refund: ProviderRefund) -> None:
        """Ask the provider to refund; confirms the refund when the provider answers so."""

    def transfers_create(self, *, checkout_id: int) -> None:
        """Route each paid seller order's share to its seller (idempotent)."""


class TestProvider:
    """The local test provider (marketplace.payments): its page signs the callback; it moves no
    money, so a refund is confirmed at once and nothing is transferred."""

    name: str = PaymentProvider.TEST

    def payment_start(self, *, checkout: Checkout, return_url: str, cancel_url: str) -> str:
        return reverse("storefront:payment-provider", args=[checkout.public_id])

    def event_apply(self, *, body: bytes, headers: dict[str, str], site_url: str) -> EventResult:
        raise ApplicationError(
            "The test provider reports through its signed callback (storefront), not webhooks.",
            code="provider_mismatch",
            http_status=404,
        )

    def refund_send(self, *, refund: ProviderRefund) -> None:
        from marketplace.refunds import provider_refund_confirm

        provider_refund_confirm(refund_id=refund.pk, provider_refund_id=f"test_{refund.pk}")

    def transfers_create(self, *, checkout_id: int) -> None:
        return None


def online_provider() -> Provider | None:
    """The provider buyers pay through, or None ("offline": operators record payments)."""
    name: str = settings.PAYMENT_PROVIDER
    if name == PaymentProvider.TEST and payments.local_provider_enabled():
        return TestProvider()
    if name == PaymentProvider.STRIPE:
        from marketplace.stripe_provider import StripeProvider

        return StripeProvider()
    return None


def provider_named(name: str) -> Provider:
    """The provider that took a payment (a refund goes back through it)."""
    if name == PaymentProvider.STRIPE:
        from marketplace.stripe_provider import StripeProvider

        return StripeProvider()
    return TestProvider()
