"""What the stand-in keeps (in memory, one process) and the operations on it, with Stripe's
checks for the fields we send: an unknown id is 404 `resource_missing`; a transfer to an account
whose payouts are not enabled, or beyond what its source charge left, a reversal beyond what the
transfer has left, or a refund beyond what the charge has left are 400 `invalid_request_error`.

Money is in the currency's minor unit (integers), currencies lower case, as on Stripe's wire.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from marketplace.stripe_standin.events import WebhookEndpoint
from marketplace.stripe_standin.ids import new_id

Obj = dict[str, Any]
SESSION_LIFETIME_S = 24 * 60 * 60


class StandinError(Exception):
    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> Obj:
        error: Obj = {"type": "invalid_request_error", "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
        return {"error": error}


def missing(kind: str, object_id: str, param: str = "id") -> StandinError:
    return StandinError(404, f"No such {kind}: '{object_id}'", param=param, code="resource_missing")


def required(params: Obj, name: str) -> Any:
    value = params.get(name)
    if value in (None, ""):
        raise StandinError(
            400, f"Missing required param: {name}.", param=name, code="parameter_missing"
        )
    return value


def amount_param(params: Obj, name: str = "amount") -> int:
    raw = required(params, name)
    try:
        amount = int(raw)
    except (TypeError, ValueError):
        raise StandinError(400, f"Invalid integer: {raw}", param=name) from None
    if amount < 1:
        raise StandinError(400, "This value must be greater than or equal to 1.", param=name)
    return amount


@dataclass
class State:
    base_url: str
    webhooks: WebhookEndpoint = field(default_factory=WebhookEndpoint)
    objects: dict[str, Obj] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def get(self, kind: str, object_id: str) -> Obj:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise missing(kind, object_id)
        return obj

    def _add(self, obj: Obj) -> Obj:
        self.objects[obj["id"]] = obj
        return obj

    # Connect accounts

    def account_create(self, params: Obj) -> Obj:
        return self._add(
            {
                "id": new_id("acct"),
                "object": "account",
                "type": params.get("type", "express"),
                "country": params.get("country", "SI"),
                "email": params.get("email"),
                "business_profile": {"name": (params.get("business_profile") or {}).get("name")},
                "capabilities": dict.fromkeys(params.get("capabilities") or {}, "inactive"),
                "charges_enabled": False,
                "payouts_enabled": False,
                "details_submitted": False,
                "metadata": params.get("metadata") or {},
                "created": int(time.time()),
            }
        )

    def account_link_create(self, params: Obj) -> Obj:
        account = self.get("account", required(params, "account"))
        return {
            "object": "account_link",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 300,
            "url": f"{self.base_url}/standin/onboarding/{account['id']}"
            f"?return_url={_quote(required(params, 'return_url'))}",
        }

    def account_onboard(self, account_id: str) -> Obj:
        """The seller finished Stripe's onboarding form: charges and payouts are enabled."""
        with self.lock:
            account = self.get("account", account_id)
            account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            account["capabilities"] = dict.fromkeys(account["capabilities"], "active")
        self.webhooks.send("account.updated", account)
        return account

    # Checkout Sessions and their payment

    def session_create(self, params: Obj) -> Obj:
        if params.get("mode") != "payment":
            raise StandinError(400, "Only mode=payment is supported here.", param="mode")
        items = params.get("line_items") or []
        if not items:
            raise StandinError(
                400,
                "Missing required param: line_items.",
                param="line_items",
                code="parameter_missing",
            )
        currencies = {str(item["price_data"]["currency"]).lower() for item in items}
        if len(currencies) != 1:
            raise StandinError(400, "All line items must share one currency.", param="line_items")
        total = sum(
            int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1)) for item in items
        )
        intent_data = params.get("payment_intent_data") or {}
        return self._add(
            {
                "id": new_id("cs_test"),
                "object": "checkout.session",
                "mode": "payment",
                "amount_total": total,
                "amount_subtotal": total,
                "currency": currencies.pop(),
                "client_reference_id": params.get("client_reference_id"),
                "customer_email": params.get("customer_email"),
                "metadata": params.get("metadata") or {},
                "payment_intent": None,
                "payment_intent_data": intent_data,
                "payment_status": "unpaid",
                "status": "open",
                "success_url": required(params, "success_url"),
                "cancel_url": params.get("cancel_url"),
                "created": int(time.time()),
                "expires_at": int(time.time()) + SESSION_LIFETIME_S,
                "url": "",
                "livemode": False,
            }
        )

    def session_public(self, session: Obj) -> Obj:
        shown = {k: v for k, v in session.items() if k != "payment_intent_data"}
        if session["status"] == "open":
            shown["url"] = f"{self.base_url}/standin/checkout/{session['id']}"
        else:
            shown["url"] = None
        return shown

    def session_pay(self, session_id: str, *, succeed: bool) -> Obj:
        """The buyer submitted the hosted page's card form: paid, or declined (the session
        stays open for another try, as Stripe's does)."""
        with self.lock:
            session = self.get("checkout.session", session_id)
            if session["status"] != "open":
                raise StandinError(400, f"This Checkout Session is {session['status']}.")
            intent_data = session["payment_intent_data"]
            intent = self._intent_for(session, intent_data)
            if not succeed:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": "Your card was declined.",
                    "type": "card_error",
                }
                failed = dict(intent)
            else:
                charge = self._add(
                    {
                        "id": new_id("ch"),
                        "object": "charge",
                        "amount": intent["amount"],
                        "amount_captured": intent["amount"],
                        "amount_refunded": 0,
                        "currency": intent["currency"],
                        "payment_intent": intent["id"],
                        "paid": True,
                        "refunded": False,
                        "status": "succeeded",
                        "transfer_group": intent["transfer_group"],
                        "metadata": intent["metadata"],
                        "created": int(time.time()),
                    }
                )
                intent.update(
                    status="succeeded",
                    latest_charge=charge["id"],
                    amount_received=intent["amount"],
                    last_payment_error=None,
                )
                session.update(status="complete", payment_status="paid")
            completed = self.session_public(session)
        if not succeed:
            self.webhooks.send("payment_intent.payment_failed", failed)
            return completed
        self.webhooks.send("checkout.session.completed", completed)
        self.webhooks.send("payment_intent.succeeded", dict(intent))
        return completed

    def _intent_for(self, session: Obj, intent_data: Obj) -> Obj:
        if session["payment_intent"]:
            return self.get("payment_intent", session["payment_intent"])
        intent = self._add(
            {
                "id": new_id("pi"),
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": 0,
                "currency": session["currency"],
                "metadata": intent_data.get("metadata") or {},
                "transfer_group": intent_data.get("transfer_group"),
                "status": "requires_payment_method",
                "latest_charge": None,
                "last_payment_error": None,
                "created": int(time.time()),
            }
        )
        session["payment_intent"] = intent["id"]
        return intent

    def session_expire(self, session_id: str) -> Obj:
        with self.lock:
            session = self.get("checkout.session", session_id)
            if session["status"] != "open":
                raise StandinError(
                    400,
                    f"This Checkout Session is {session['status']}; only "
                    "an open session can be expired.",
                )
            session["status"] = "expired"
            expired = self.session_public(session)
        self.webhooks.send("checkout.session.expired", expired)
        return expired

    # Transfers, reversals, refunds, disputes

    def transfer_create(self, params: Obj) -> Obj:
        with self.lock:
            amount = amount_param(params)
            currency = str(required(params, "currency")).lower()
            destination = self.get("account", required(params, "destination"))
            if not destination["payouts_enabled"]:
                raise StandinError(
                    400,
                    "The destination account cannot receive transfers: "
                    "its payouts are not enabled.",
                    param="destination",
                )
            source_id = params.get("source_transaction")
            if source_id:
                source = self.get("charge", source_id)
                sent = sum(
                    t["amount"]
                    for t in self.objects.values()
                    if t["object"] == "transfer" and t["source_transaction"] == source_id
                )
                if sent + amount > source["amount"]:
                    raise StandinError(
                        400,
                        "Transfers from this charge would exceed its amount.",
                        param="amount",
                        code="balance_insufficient",
                    )
            return self._add(
                {
                    "id": new_id("tr"),
                    "object": "transfer",
                    "amount": amount,
                    "amount_reversed": 0,
                    "currency": currency,
                    "destination": destination["id"],
                    "source_transaction": source_id,
                    "transfer_group": params.get("transfer_group"),
                    "metadata": params.get("metadata") or {},
                    "reversed": False,
                    "reversals": {"object": "list", "data": [], "has_more": False},
                    "created": int(time.time()),
                }
            )

    def transfer_list(self, params: Obj) -> Obj:
        """GET /v1/transfers, filtered by `transfer_group` when given; newest first, one page."""
        with self.lock:
            group = params.get("transfer_group")
            found = [
                t
                for t in self.objects.values()
                if t["object"] == "transfer" and (group is None or t["transfer_group"] == group)
            ]
        found.sort(key=lambda t: (t["created"], t["id"]), reverse=True)
        return {"object": "list", "url": "/v1/transfers", "data": found, "has_more": False}

    def reversal_create(self, transfer_id: str, params: Obj) -> Obj:
        with self.lock:
            transfer = self.get("transfer", transfer_id)
            amount = amount_param(params)
            if transfer["amount_reversed"] + amount > transfer["amount"]:
                raise StandinError(
                    400, "The reversal exceeds what is left of the transfer.", param="amount"
                )
            reversal = {
                "id": new_id("trr"),
                "object": "transfer_reversal",
                "amount": amount,
                "currency": transfer["currency"],
                "transfer": transfer["id"],
                "metadata": params.get("metadata") or {},
                "created": int(time.time()),
            }
            transfer["amount_reversed"] += amount
            transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
            transfer["reversals"]["data"].append(reversal)
            return self._add(reversal)

    def refund_create(self, params: Obj) -> Obj:
        with self.lock:
            intent = self.get(
                "payment_intent",
                required(params, "payment_intent"),
            )
            if not intent["latest_charge"] or intent["status"] != "succeeded":
                raise StandinError(
                    400,
                    "This PaymentIntent has no successful charge to refund.",
                    param="payment_intent",
                )
            charge = self.get("charge", intent["latest_charge"])
            amount = (
                amount_param(params)
                if "amount" in params
                else (charge["amount"] - charge["amount_refunded"])
            )
            if charge["amount_refunded"] + amount > charge["amount"]:
                raise StandinError(
                    400,
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                    f"({charge['amount'] - charge['amount_refunded']})",
                    param="amount",
                    code="amount_too_large",
                )
            refund = self._add(
                {
                    "id": new_id("re"),
                    "object": "refund",
                    "amount": amount,
                    "currency": charge["currency"],
                    "charge": charge["id"],
                    "payment_intent": intent["id"],
                    "metadata": params.get("metadata") or {},
                    "reason": params.get("reason"),
                    "status": "succeeded",
                    "created": int(time.time()),
                }
            )
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            refunded = dict(charge)
        self.webhooks.send("charge.refunded", refunded)
        self.webhooks.send("refund.created", dict(refund))
        return refund

    def dispute_create(self, params: Obj) -> Obj:
        """Control endpoint: the buyer's bank opened a dispute on the intent's charge."""
        with self.lock:
            intent = self.get("payment_intent", required(params, "payment_intent"))
            charge = self.get("charge", intent["latest_charge"] or "")
            dispute = self._add(
                {
                    "id": new_id("dp"),
                    "object": "dispute",
                    "amount": charge["amount"],
                    "currency": charge["currency"],
                    "charge": charge["id"],
                    "payment_intent": intent["id"],
                    "reason": params.get("reason", "fraudulent"),
                    "status": "needs_response",
                    "created": int(time.time()),
                }
            )
        self.webhooks.send("charge.dispute.created", dict(dispute))
        return dispute


def _quote(value: str) -> str:
    return quote(value, safe="")
