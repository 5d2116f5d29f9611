"""Thin tasks: load by id, call one service. Mail that fails for a passing reason is retried with
capped backoff; a refusal is logged and dropped."""

import logging
import smtplib
from typing import Any

import stripe
from celery import Task, shared_task

from core.retry import backoff_delay
from marketplace.storefront.guest import guest_orders_email_send

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def smtp_transient(error: OSError) -> bool:
    """4xx replies, dropped connections and network errors pass; 5xx replies do not."""
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    return not isinstance(error, smtplib.SMTPNotSupportedError)


@shared_task(
    name="marketplace.send_guest_orders_email", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS
)
def send_guest_orders_email(self: Task[Any, Any], checkout_id: int, site_url: str) -> None:
    try:
        guest_orders_email_send(checkout_id=checkout_id, site_url=site_url)
    except OSError as error:  # smtplib's errors are OSErrors too
        # Class and reply code only: SMTP reply texts can quote the buyer's address.
        reason = f"{type(error).__name__} {getattr(error, 'smtp_code', '')}".strip()
        if not smtp_transient(error):
            logger.error("checkout %s: guest order email refused (%s)", checkout_id, reason)
            return
        if self.request.retries >= MAX_ATTEMPTS:
            logger.error("checkout %s: guest order email not sent (%s)", checkout_id, reason)
            return
        raise self.retry(exc=error, countdown=backoff_delay(self.request.retries)) from error


# What a Stripe call may fail with for a passing reason: retried with backoff. A refusal
# (InvalidRequestError) is not retried; the reconciliation page shows the transfer missing.
STRIPE_TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


@shared_task(
    name="marketplace.seller_transfers_create",
    acks_late=True,
    time_limit=120,
    autoretry_for=STRIPE_TRANSIENT,
    retry_backoff=True,
    max_retries=MAX_ATTEMPTS,
)
def seller_transfers_create(checkout_id: int) -> None:
    """Route a paid checkout's seller orders' shares to their sellers (idempotent)."""
    from marketplace.payment_providers import online_provider

    provider = online_provider()
    if provider is not None:
        provider.transfers_create(checkout_id=checkout_id)


@shared_task(
    name="marketplace.seller_transfer_reverse",
    acks_late=True,
    time_limit=120,
    autoretry_for=STRIPE_TRANSIENT,
    retry_backoff=True,
    max_retries=MAX_ATTEMPTS,
)
def seller_transfer_reverse(refund_id: int) -> None:
    """Take a confirmed refund back from the seller's transfer (idempotent)."""
    from marketplace.stripe_provider import transfer_reverse

    transfer_reverse(refund_id=refund_id)
