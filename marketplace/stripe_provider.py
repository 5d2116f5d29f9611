"""Stripe Connect behind the order domain's provider interface (marketplace.payment_providers).

- Sellers: an Express Connect account per seller and an onboarding link; the seller's payout
  readiness (charges and payouts enabled) is read back from Stripe and kept on
  SellerPaymentAccount. A checkout with a seller not ready cannot be paid by card.
- Buyers: one Checkout Session per checkout across all its sellers, its amount and currency the
  checkout's total (one line per seller order), the checkout reference in its metadata and as
  the PaymentIntent's transfer_group, created with an idempotency key per checkout and attempt.
- Separate charges and transfers: once paid, one Transfer per seller order to its seller's
  account: the order's total minus the marketplace's commission with its VAT on its lines
  (marketplace.commission.order_commission_split) minus each refund confirmed before the
  transfer net of the commission with VAT it returns; idempotency key per order,
  transfer_group the checkout reference.
- Webhooks: verified by `stripe.Webhook.construct_event` (signature, endpoint secret,
  tolerance), applied once per event id (ProviderEvent). See `event_apply` for the answers.
- Refunds (marketplace.refunds): a Refund of the PaymentIntent, then, once Stripe confirms, the
  credit note and a reversal of the seller's transfer by the refund less the commission with
  VAT it returns (a cancellation the same).

The official client talks to settings.STRIPE_API_BASE: api.stripe.com, or the local stand-in
(marketplace.stripe_standin). Tests hand it an in-process HTTP client (`stripe_http_client`).
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from rest_framework import status

from core.errors import ApplicationError
from marketplace import payments, tasks
from marketplace.commission import order_commission_split
from marketplace.models import (
    Checkout,
    Order,
    Payment,
    PaymentOutcome,
    PaymentProvider,
    PaymentSession,
    PaymentSessionStatus,
    ProviderEvent,
    ProviderRefund,
    ProviderRefundStatus,
    SellerPaymentAccount,
    SellerTransfer,
)
from marketplace.payment_providers import EventResult
from marketplace.pricing import quantize
from sellers.models import Seller

logger = logging.getLogger(__name__)

# A session reused for "pay now" is younger than Stripe's 24 hours, with time left to pay.
SESSION_REUSE_FOR = timedelta(hours=23)


def stripe_http_client() -> stripe.HTTPClient | None:
    """The HTTP client the official library uses: its default (None), or in tests one that
    answers from the stand-in in-process."""
    return None


def stripe_client() -> stripe.StripeClient:
    base: str = settings.STRIPE_API_BASE
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": base, "connect": base},
        http_client=stripe_http_client(),
        max_network_retries=2,
    )


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's minor unit, as Stripe takes it (12.34 EUR -> 1234)."""
    unit = quantize(Decimal(1), currency).as_tuple().exponent
    return int(quantize(amount, currency).scaleb(-int(unit)))


def from_minor(amount: int, currency: str) -> Decimal:
    unit = quantize(Decimal(1), currency.upper()).as_tuple().exponent
    return quantize(Decimal(amount).scaleb(int(unit)), currency.upper())


def _provider_error(error: stripe.StripeError, doing: str) -> ApplicationError:
    # The class and Stripe's request id only: messages may quote what we sent.
    logger.error("stripe %s failed: %s %s", doing, type(error).__name__, error.request_id or "")
    return ApplicationError(
        f"The payment provider did not accept the {doing}; try again in a minute.",
        code="provider_error",
        http_status=status.HTTP_502_BAD_GATEWAY,
    )


# Sellers: Connect accounts


def seller_payment_account_link(*, seller: Seller, return_url: str) -> str:
    """Stripe's onboarding page for the seller's Connect account (opened on first use)."""
    client = stripe_client()
    account = SellerPaymentAccount.objects.filter(seller=seller).first()
    try:
        if account is None:
            remote = client.v1.accounts.create(
                params={
                    "type": "express",
                    "country": str(seller.country),
                    "email": seller.email,
                    "business_profile": {"name": seller.business_name},
                    "capabilities": {
                        "card_payments": {"requested": True},
                        "transfers": {"requested": True},
                    },
                    "metadata": {"seller_id": str(seller.pk)},
                },
                options={"idempotency_key": f"seller-{seller.pk}-account"},
            )
            account, _ = SellerPaymentAccount.objects.get_or_create(
                seller=seller, defaults={"stripe_account_id": remote.id}
            )
        link = client.v1.account_links.create(
            params={
                "account": account.stripe_account_id,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": return_url,
            }
        )
    except stripe.StripeError as error:
        raise _provider_error(error, "payout account set-up") from error
    return str(link.url)


def seller_payment_account_refresh(*, seller: Seller) -> SellerPaymentAccount | None:
    """Reads the seller's readiness back from Stripe (the seller returned from onboarding)."""
    account = SellerPaymentAccount.objects.filter(seller=seller).first()
    if account is None:
        return None
    try:
        remote = stripe_client().v1.accounts.retrieve(account.stripe_account_id)
    except stripe.StripeError as error:
        raise _provider_error(error, "payout account check") from error
    return _account_update(remote)


def _account_update(remote: Any) -> SellerPaymentAccount | None:
    account = SellerPaymentAccount.objects.filter(stripe_account_id=remote["id"]).first()
    if account is None:
        return None
    account.charges_enabled = bool(remote["charges_enabled"])
    account.payouts_enabled = bool(remote["payouts_enabled"])
    account.details_submitted = bool(remote["details_submitted"])
    account.save(
        update_fields=["charges_enabled", "payouts_enabled", "details_submitted", "updated_at"]
    )
    return account


def sellers_not_ready(orders: list[Order]) -> list[Seller]:
    ready = set(
        SellerPaymentAccount.objects.filter(
            seller__in=[order.seller_id for order in orders],
            charges_enabled=True,
            payouts_enabled=True,
        ).values_list("seller_id", flat=True)
    )
    return [order.seller for order in orders if order.seller_id not in ready]


class StripeProvider:
    name: str = PaymentProvider.STRIPE

    # Buyers

    def payment_start(self, *, checkout: Checkout, return_url: str, cancel_url: str) -> str:
        orders = list(payments.payable_orders(checkout).select_related("seller").order_by("pk"))
        amount, currency = payments.orders_amount(orders)
        not_ready = sellers_not_ready(orders)
        if not_ready:
            names = ", ".join(seller.business_name for seller in not_ready)
            raise ApplicationError(
                f"{names} cannot take card payments yet (its payouts are not set up with the "
                "payment provider). Your order is kept; pay later or contact us.",
                code="seller_not_ready",
                http_status=status.HTTP_409_CONFLICT,
            )
        reusable = self._reusable_session(checkout, amount, currency)
        if reusable is not None:
            return reusable.url
        attempt = checkout.payment_sessions.count()
        ref = str(checkout.public_id)
        try:
            session = stripe_client().v1.checkout.sessions.create(
                params={
                    "mode": "payment",
                    "line_items": [
                        {
                            "price_data": {
                                "currency": currency.lower(),
                                "unit_amount": to_minor(order.total_gross, currency),
                                "product_data": {
                                    "name": f"{order.seller.business_name}, order #{order.pk}"
                                },
                            },
                            "quantity": 1,
                        }
                        for order in orders
                    ],
                    "success_url": return_url,
                    "cancel_url": cancel_url,
                    "client_reference_id": ref,
                    "customer_email": orders[0].buyer_email,
                    "metadata": {"checkout_ref": ref},
                    "payment_intent_data": {
                        "metadata": {"checkout_ref": ref},
                        "transfer_group": ref,
                    },
                },
                options={"idempotency_key": f"checkout-{ref}-session-{attempt}"},
            )
        except stripe.StripeError as error:
            raise _provider_error(error, "payment") from error
        PaymentSession.objects.get_or_create(
            provider_session_id=session.id,
            defaults={
                "checkout": checkout,
                "provider": self.name,
                "url": session.url or "",
                "amount": amount,
                "currency": currency,
            },
        )
        return str(session.url)

    def _reusable_session(
        self, checkout: Checkout, amount: Decimal, currency: str
    ) -> PaymentSession | None:
        """The checkout's open session for this amount, still payable; any other open one is
        expired at Stripe first, so an old page cannot charge a stale amount."""
        sessions = checkout.payment_sessions.filter(
            status__in=[PaymentSessionStatus.OPEN, PaymentSessionStatus.FAILED]
        ).order_by("-pk")
        for session in sessions:
            fresh = session.created_at > timezone.now() - SESSION_REUSE_FOR
            if fresh and session.amount == amount and session.currency == currency:
                return session
            try:
                stripe_client().v1.checkout.sessions.expire(session.provider_session_id)
            except stripe.InvalidRequestError:
                pass  # already expired or complete at Stripe: its events tell us which
            except stripe.StripeError as error:
                raise _provider_error(error, "payment") from error
            session.status = PaymentSessionStatus.EXPIRED
            session.save(update_fields=["status", "updated_at"])
        return None

    # Events

    def event_apply(self, *, body: bytes, headers: dict[str, str], site_url: str) -> EventResult:
        return webhook_apply(
            body=body, signature=headers.get("Stripe-Signature"), site_url=site_url
        )

    # Refunds and transfers

    def refund_send(self, *, refund: ProviderRefund) -> None:
        from marketplace.refunds import provider_refund_confirm, provider_refund_fail

        payment = Payment.objects.get(
            checkout_id=refund.order.checkout_id, outcome=PaymentOutcome.PAID
        )
        try:
            remote = stripe_client().v1.refunds.create(
                params={
                    "payment_intent": payment.provider_payment_id,
                    "amount": to_minor(refund.amount, refund.currency),
                    "metadata": {
                        "refund_key": str(refund.idempotency_key),
                        "order_id": str(refund.order_id),
                        "checkout_ref": str(refund.order.checkout.public_id),
                    },
                },
                options={"idempotency_key": f"refund-{refund.idempotency_key}"},
            )
        except stripe.InvalidRequestError as error:
            provider_refund_fail(refund_id=refund.pk, reason=error.user_message or "refused")
            raise ApplicationError(
                "The payment provider refused the refund; nothing was refunded.",
                code="provider_refused",
                http_status=status.HTTP_409_CONFLICT,
            ) from error
        except stripe.StripeError as error:
            # Unknown outcome: the row stays pending; Stripe's refund events settle it.
            raise _provider_error(error, "refund") from error
        if remote.status == "succeeded":
            provider_refund_confirm(refund_id=refund.pk, provider_refund_id=remote.id)
        elif remote.status in ("failed", "canceled"):
            provider_refund_fail(refund_id=refund.pk, reason=remote.status)

    def transfers_create(self, *, checkout_id: int) -> None:
        for order_id in Order.objects.filter(
            checkout_id=checkout_id, paid_at__isnull=False, transfer__isnull=True
        ).values_list("pk", flat=True):
            seller_transfer_create(order_id=order_id)


def seller_transfer_create(*, order_id: int) -> SellerTransfer | None:
    """The one transfer of a paid order's share to its seller (idempotent: a second call finds
    it). Made under the order's lock, so a refund confirmed meanwhile is either deducted here or
    reversed after (marketplace.refunds).

    A retry may compute another amount than an attempt before it (a refund confirmed in
    between), so the idempotency key carries the amount, and a transfer an earlier attempt made
    without learning it (its answer lost) is looked up first, by the checkout's transfer group
    and the order: it is recorded as made, with the refunds its metadata says it deducted; the
    others are reversed from it."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(no_key=True)
            .select_related("seller", "checkout")
            .get(pk=order_id)
        )
        existing = SellerTransfer.objects.filter(order=order).first()
        if existing is not None or order.paid_at is None:
            return existing
        account = SellerPaymentAccount.objects.get(seller=order.seller)
        refunded = ProviderRefund.objects.filter(order=order, status=ProviderRefundStatus.SUCCEEDED)
        refunds = list(refunded)
        client = stripe_client()
        group = str(order.checkout.public_id)
        remote = _transfer_made_before(client, group, order.pk)
        if remote is None:
            commission = order_commission_split(order, refunds)
            # gross - commission with VAT on the sale - each refund net of the commission it
            # returns
            amount = (
                order.total_gross - commission.kept - sum((r.amount for r in refunds), Decimal(0))
            )
            if amount <= 0:
                return None
            payment = Payment.objects.get(checkout=order.checkout, outcome=PaymentOutcome.PAID)
            intent = client.v1.payment_intents.retrieve(payment.provider_payment_id)
            minor = to_minor(amount, order.currency)
            remote = client.v1.transfers.create(
                params={
                    "amount": minor,
                    "currency": order.currency.lower(),
                    "destination": account.stripe_account_id,
                    "transfer_group": group,
                    "source_transaction": _charge_id(intent.latest_charge),
                    "metadata": {
                        "order_id": str(order.pk),
                        "seller_id": str(order.seller_id),
                        "deducted_refunds": ",".join(str(r.pk) for r in refunds),
                    },
                },
                options={"idempotency_key": f"transfer-order-{order.pk}-{minor}"},
            )
        deducted = {
            int(pk) for pk in _metadata(remote).get("deducted_refunds", "").split(",") if pk
        }
        refunded.filter(pk__in=deducted).update(reversed_amount=0, transfer_reversal_id="deducted")
        for refund_id in sorted({r.pk for r in refunds} - deducted):
            transaction.on_commit(
                partial(tasks.seller_transfer_reverse.delay, refund_id), robust=True
            )
        return SellerTransfer.objects.create(
            order=order,
            provider_transfer_id=remote.id,
            destination=account.stripe_account_id,
            amount=from_minor(remote.amount, order.currency),
            currency=order.currency,
        )


def _transfer_made_before(
    client: stripe.StripeClient, group: str, order_id: int
) -> "stripe.Transfer | None":
    for transfer in client.v1.transfers.list(params={"transfer_group": group}).auto_paging_iter():
        if _metadata(transfer).get("order_id") == str(order_id):
            return transfer
    return None


def _metadata(transfer: "stripe.Transfer") -> dict[str, str]:
    metadata: dict[str, object] = transfer.metadata.to_dict() if transfer.metadata else {}
    return {key: str(value) for key, value in metadata.items()}


def _charge_id(charge: "str | stripe.Charge | None") -> str:
    if charge is None:
        raise ApplicationError("The payment has no charge to transfer from.", code="conflict")
    return charge if isinstance(charge, str) else charge.id


def transfer_reverse(*, refund_id: int) -> None:
    """Take the refund back from the seller's transfer, net of the commission with VAT it
    returns to the seller (once: idempotency key per refund, and the refund row records the
    reversal)."""
    with transaction.atomic():
        refund = ProviderRefund.objects.select_for_update().get(pk=refund_id)
        if refund.status != ProviderRefundStatus.SUCCEEDED or refund.transfer_reversal_id:
            return
        transfer = SellerTransfer.objects.filter(order_id=refund.order_id).first()
        if transfer is None:
            return  # not made yet: it will be made smaller instead
        order = Order.objects.select_related("seller").get(pk=refund.order_id)
        succeeded = ProviderRefund.objects.filter(
            order=order, status=ProviderRefundStatus.SUCCEEDED
        )
        returned = order_commission_split(order, succeeded).returns[refund.pk]
        reversed_before = ProviderRefund.objects.filter(order_id=refund.order_id).aggregate(
            total=Sum("reversed_amount")
        )["total"] or Decimal(0)
        amount = min(refund.amount - returned, transfer.amount - reversed_before)
        if amount <= 0:
            return
        remote = stripe_client().v1.transfers.reversals.create(
            transfer.provider_transfer_id,
            params={
                "amount": to_minor(amount, refund.currency),
                "metadata": {"refund_key": str(refund.idempotency_key)},
            },
            options={"idempotency_key": f"reversal-{refund.idempotency_key}"},
        )
        refund.reversed_amount = amount
        refund.transfer_reversal_id = remote.id
        refund.save(update_fields=["reversed_amount", "transfer_reversal_id"])


# Webhooks


class EventIgnored(Exception):
    """The event names nothing of ours (an unknown checkout): answered 200, nothing written."""


class EventRejected(Exception):
    """The event contradicts what we know (amount or currency): answered 400, nothing written."""


@dataclass(frozen=True)
class _Event:
    id: str
    type: str
    obj: dict[str, Any]


def webhook_apply(*, body: bytes, signature: str | None, site_url: str) -> EventResult:
    """Verify and apply one webhook delivery.

    400: a missing or bad signature, a timestamp outside the tolerance, a body that is not an
    event, an amount or currency that does not match the checkout. 200: applied, a replayed
    event id (nothing changes), an event for a checkout we do not know or of a type we do not
    handle (nothing written). The reason is logged with the event id, never the signature.
    """
    try:
        verified = stripe.Webhook.construct_event(
            body,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
        )
    except ValueError:
        logger.warning("stripe webhook refused: body is not a JSON event")
        return EventResult(400, "malformed")
    except stripe.SignatureVerificationError as error:
        stale = "tolerance" in str(error.user_message or "")
        reason = "stale timestamp" if stale else "bad signature"
        logger.warning("stripe webhook refused: %s", reason)
        return EventResult(400, reason.replace(" ", "_"))
    event = _Event(
        id=str(verified["id"]),
        type=str(verified["type"]),
        obj=verified["data"]["object"].to_dict(),
    )
    handler = HANDLERS.get(event.type)
    if handler is None:
        return EventResult(200, "unhandled")
    if ProviderEvent.objects.filter(event_id=event.id).exists():
        logger.info("stripe event %s (%s) replayed: nothing to do", event.id, event.type)
        return EventResult(200, "replayed")
    try:
        with transaction.atomic():
            checkout = handler(event, site_url)
    except EventIgnored as reason:
        logger.warning("stripe event %s (%s) ignored: %s", event.id, event.type, reason)
        return EventResult(200, "ignored")
    except EventRejected as reason:
        logger.error("stripe event %s (%s) rejected: %s", event.id, event.type, reason)
        return EventResult(400, "rejected")
    except IntegrityError:
        # A concurrent delivery of the same event recorded it first.
        return EventResult(200, "replayed")
    return EventResult(200, "applied", checkout)


def _record(event: _Event, checkout: Checkout | None, **fields: Any) -> None:
    ProviderEvent.objects.create(
        provider=PaymentProvider.STRIPE,
        event_id=event.id,
        type=event.type,
        checkout=checkout,
        object_id=str(event.obj.get("id", "")),
        **fields,
    )


def _record_amount(
    event: _Event, checkout: Checkout | None, *, amount_field: str, status: str
) -> None:
    """_record with the amount the event's object gives in `amount_field`, in its currency."""
    currency = str(event.obj.get("currency", "")).upper()
    amount = from_minor(int(event.obj.get(amount_field, 0)), currency)
    _record(event, checkout, amount=amount, currency=currency, status=status)


def _payment_of(event: _Event) -> Payment | None:
    """Our payment of the event's object's payment intent, if any."""
    return Payment.objects.filter(provider_payment_id=str(event.obj.get("payment_intent"))).first()


def _locked_checkout(ref: object) -> Checkout:
    checkout = (
        Checkout.objects.select_for_update(of=("self",))
        .select_related("buyer")
        .filter(public_id=str(ref))
        .first()
        if isinstance(ref, str) and _is_uuid(ref)
        else None
    )
    if checkout is None:
        raise EventIgnored("unknown checkout")
    return checkout


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _paid(event: _Event, site_url: str) -> Checkout:
    """checkout.session.completed (paid) or payment_intent.succeeded: the checkout's payable
    orders are paid, if the amount and currency are the checkout's."""
    obj = event.obj
    is_session = obj.get("object") == "checkout.session"
    checkout = _locked_checkout((obj.get("metadata") or {}).get("checkout_ref"))
    if is_session and obj.get("payment_status") != "paid":
        _record(event, checkout, status=str(obj.get("payment_status", "")))
        return checkout
    intent_id = str(obj.get("payment_intent") if is_session else obj.get("id"))
    currency = str(obj.get("currency", "")).upper()
    minor = obj.get("amount_total") if is_session else obj.get("amount_received")
    amount = from_minor(int(minor or 0), currency) if len(currency) == 3 else None
    earlier = Payment.objects.filter(checkout=checkout, outcome=PaymentOutcome.PAID).first()
    if earlier is not None:
        if earlier.provider_payment_id != intent_id:
            logger.error("checkout %s paid twice (intent %s): refund it", checkout.pk, intent_id)
        _record(event, checkout, amount=amount, currency=currency, status="already_paid")
        return checkout
    orders = list(
        payments.payable_orders(checkout)
        .select_for_update(no_key=True)
        .select_related("seller")
        .order_by("pk")
    )
    if not orders:
        raise EventRejected("nothing in the checkout is payable")
    expected, expected_currency = payments.orders_amount(orders)
    if amount != expected or currency != expected_currency:
        raise EventRejected(
            f"amount {amount} {currency} is not the checkout's {expected} {expected_currency}"
        )
    Payment.objects.create(
        checkout=checkout,
        provider=PaymentProvider.STRIPE,
        provider_payment_id=intent_id,
        outcome=PaymentOutcome.PAID,
        amount=expected,
        currency=expected_currency,
    )
    PaymentSession.objects.filter(checkout=checkout).exclude(
        status=PaymentSessionStatus.EXPIRED
    ).update(status=PaymentSessionStatus.COMPLETE, payment_intent_id=intent_id)
    payments.payment_effects_apply(
        checkout, orders, paid=True, payment_id=intent_id, site_url=site_url
    )
    _record(event, checkout, amount=expected, currency=expected_currency, status="paid")
    # Robust: the payment is recorded whatever happens to this enqueue (or, eager, the
    # transfer); a missing transfer shows on the reconciliation page.
    transaction.on_commit(lambda: tasks.seller_transfers_create.delay(checkout.pk), robust=True)
    return checkout


def _failed(event: _Event, site_url: str) -> Checkout:
    """The card was declined (payment_intent.payment_failed) or the session expired: the
    orders stay payable; the page says so and offers to pay again."""
    obj = event.obj
    checkout = _locked_checkout((obj.get("metadata") or {}).get("checkout_ref"))
    if obj.get("object") == "checkout.session":
        sessions = checkout.payment_sessions.filter(provider_session_id=obj.get("id"))
        new_status = PaymentSessionStatus.EXPIRED
    else:
        sessions = checkout.payment_sessions.filter(status=PaymentSessionStatus.OPEN)
        new_status = PaymentSessionStatus.FAILED
    sessions.exclude(status=PaymentSessionStatus.COMPLETE).update(status=new_status)
    error = obj.get("last_payment_error") or {}
    _record(event, checkout, status=str(error.get("code") or obj.get("status", "")))
    return checkout


def _charge_refunded(event: _Event, site_url: str) -> Checkout | None:
    """Recorded for operators (a refund made in Stripe's dashboard shows here too)."""
    payment = _payment_of(event)
    checkout = payment.checkout if payment else None
    status = "refunded" if event.obj.get("refunded") else "partially_refunded"
    _record_amount(event, checkout, amount_field="amount_refunded", status=status)
    return checkout


def _refund_event(event: _Event, site_url: str) -> Checkout | None:
    """refund.created / refund.updated: our refund (its key in metadata) confirmed or failed."""
    from marketplace.refunds import provider_refund_confirm, provider_refund_fail

    obj = event.obj
    key = (obj.get("metadata") or {}).get("refund_key", "")
    refund = ProviderRefund.objects.filter(idempotency_key=key).first() if _is_uuid(key) else None
    if refund is None:
        raise EventIgnored("not a refund of ours")
    if obj.get("status") == "succeeded":
        provider_refund_confirm(refund_id=refund.pk, provider_refund_id=str(obj["id"]))
    elif obj.get("status") in ("failed", "canceled"):
        provider_refund_fail(refund_id=refund.pk, reason=str(obj.get("status")))
    checkout = refund.order.checkout
    _record_amount(event, checkout, amount_field="amount", status=str(obj.get("status", "")))
    return checkout


def _dispute(event: _Event, site_url: str) -> Checkout | None:
    obj = event.obj
    payment = _payment_of(event)
    status = str(obj.get("status", ""))
    _record_amount(
        event, payment.checkout if payment else None, amount_field="amount", status=status
    )
    if payment is not None:
        logger.warning(
            "checkout %s: dispute %s (%s)", payment.checkout_id, obj.get("id"), obj.get("status")
        )
    return payment.checkout if payment else None


def _account_updated(event: _Event, site_url: str) -> None:
    if _account_update(event.obj) is None:
        raise EventIgnored("unknown connected account")
    _record(event, None, status="ready" if event.obj.get("payouts_enabled") else "not_ready")


HANDLERS = {
    "checkout.session.completed": _paid,
    "checkout.session.async_payment_succeeded": _paid,
    "payment_intent.succeeded": _paid,
    "checkout.session.expired": _failed,
    "checkout.session.async_payment_failed": _failed,
    "payment_intent.payment_failed": _failed,
    "charge.refunded": _charge_refunded,
    "refund.created": _refund_event,
    "refund.updated": _refund_event,
    "refund.failed": _refund_event,
    "charge.dispute.created": _dispute,
    "charge.dispute.updated": _dispute,
    "charge.dispute.closed": _dispute,
    "account.updated": _account_updated,
}
