"""The stand-in's WSGI application.

API (``Authorization: Bearer <secret key>``, form-encoded bodies with Stripe's bracket notation,
JSON answers and Stripe's error shape ``{"error": {"type", "message", "param", "code"}}``):

- ``POST /v1/accounts``, ``GET /v1/accounts/{id}``, ``POST /v1/account_links``
- ``POST /v1/checkout/sessions``, ``GET /v1/checkout/sessions/{id}``,
  ``POST /v1/checkout/sessions/{id}/expire``
- ``GET /v1/payment_intents/{id}``
- ``POST /v1/transfers``, ``GET /v1/transfers`` (by ``transfer_group``),
  ``GET /v1/transfers/{id}``, ``POST /v1/transfers/{id}/reversals``
- ``POST /v1/refunds``

A POST with an ``Idempotency-Key`` is answered once: the same key again replays the first
answer (``Idempotent-Replayed: true``); with other parameters it is 400 ``idempotency_error``,
as Stripe answers.

Pages a browser opens (no key): ``/standin/checkout/{id}`` (the hosted payment page: pay with a
card that succeeds or one that is declined, or go back) and ``/standin/onboarding/{account}``
(Connect onboarding: completing it enables charges and payouts). Control endpoint (key):
``POST /standin/disputes`` (``payment_intent``) opens a dispute. Each change sends its webhook
events to the endpoint, signed (:mod:`.events`).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from marketplace.stripe_standin.events import Deliver, WebhookEndpoint, http_deliver
from marketplace.stripe_standin.state import Obj, StandinError, State

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

_KEY = re.compile(r"Bearer (sk_test_\w+)")

ROUTES = Map(
    [
        Rule("/v1/accounts", methods=["POST"], endpoint="account_create"),
        Rule("/v1/accounts/<object_id>", methods=["GET"], endpoint="account_get"),
        Rule("/v1/account_links", methods=["POST"], endpoint="account_link_create"),
        Rule("/v1/checkout/sessions", methods=["POST"], endpoint="session_create"),
        Rule("/v1/checkout/sessions/<object_id>", methods=["GET"], endpoint="session_get"),
        Rule(
            "/v1/checkout/sessions/<object_id>/expire", methods=["POST"], endpoint="session_expire"
        ),
        Rule("/v1/payment_intents/<object_id>", methods=["GET"], endpoint="intent_get"),
        Rule("/v1/transfers", methods=["POST"], endpoint="transfer_create"),
        Rule("/v1/transfers", methods=["GET"], endpoint="transfer_list"),
        Rule("/v1/transfers/<object_id>", methods=["GET"], endpoint="transfer_get"),
        Rule("/v1/transfers/<object_id>/reversals", methods=["POST"], endpoint="reversal_create"),
        Rule("/v1/refunds", methods=["POST"], endpoint="refund_create"),
        Rule("/standin/disputes", methods=["POST"], endpoint="dispute_create"),
        Rule("/standin/checkout/<object_id>", methods=["GET", "POST"], endpoint="checkout_page"),
        Rule(
            "/standin/onboarding/<object_id>", methods=["GET", "POST"], endpoint="onboarding_page"
        ),
    ]
)
PAGES = {"checkout_page", "onboarding_page"}


def decode_form(body: str) -> Obj:
    """Stripe's form encoding back into nested objects: ``metadata[ref]=x`` and
    ``line_items[0][quantity]=1``."""
    root: Obj = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            nxt: Any = value if last else ({} if not parts[index + 1].isdigit() else [])
            if isinstance(node, list):
                position = int(part)
                while len(node) <= position:
                    node.append(None)
                if node[position] is None:
                    node[position] = nxt
                node = node[position]
            else:
                node = node.setdefault(part, nxt)
    return root


class StandinApp:
    def __init__(self, base_url: str, *, secret_key: str, webhooks: WebhookEndpoint) -> None:
        self.secret_key = secret_key
        self.state = State(base_url=base_url.rstrip("/"), webhooks=webhooks)
        self.replies: dict[str, tuple[str, int, bytes]] = {}
        self.replies_lock = threading.Lock()
        self.key_locks: dict[str, threading.Lock] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        return self.respond(request)(environ, start_response)

    def respond(self, request: Request) -> Response:
        try:
            endpoint, args = ROUTES.bind_to_environ(request.environ).match()
        except HTTPException as error:
            return _json(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"Unrecognized request URL ({request.method}: {request.path}).",
                    }
                },
                error.code or 404,
            )
        if endpoint in PAGES:
            return self._page(endpoint, request, args["object_id"])
        match = _KEY.fullmatch(request.headers.get("Authorization", ""))
        if match is None or match.group(1) != self.secret_key:
            return _json(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "Invalid API Key provided.",
                    }
                },
                401,
            )
        # POST sends its parameters in the body, GET in the query string.
        params = decode_form(
            request.get_data(as_text=True)
            if request.method == "POST"
            else request.query_string.decode()
        )
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return self._call(endpoint, params, args)
        fingerprint = hashlib.sha256(
            f"{request.path}\n{json.dumps(params, sort_keys=True)}".encode()
        ).hexdigest()
        # One answer per key: a concurrent duplicate waits for the first. No lock is held
        # across keys: a call may deliver webhooks whose handlers call back in with other keys.
        with self.replies_lock:
            key_lock = self.key_locks.setdefault(key, threading.Lock())
        with key_lock:
            kept = self.replies.get(key)
            if kept is None:
                response = self._call(endpoint, params, args)
                if response.status_code < 500:
                    self.replies[key] = (fingerprint, response.status_code, response.get_data())
                return response
        if kept[0] != fingerprint:
            return _json(
                {
                    "error": {
                        "type": "idempotency_error",
                        "message": "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with.",
                    }
                },
                400,
            )
        replay = Response(kept[2], status=kept[1], content_type="application/json")
        replay.headers["Idempotent-Replayed"] = "true"
        return replay

    def _call(self, endpoint: str, params: Obj, args: Mapping[str, Any]) -> Response:
        state = self.state
        object_id = args.get("object_id", "")
        handlers: dict[str, Callable[[], Obj]] = {
            "account_create": lambda: state.account_create(params),
            "account_get": lambda: state.get("account", object_id),
            "account_link_create": lambda: state.account_link_create(params),
            "session_create": lambda: state.session_public(state.session_create(params)),
            "session_get": lambda: state.session_public(state.get("checkout.session", object_id)),
            "session_expire": lambda: state.session_expire(object_id),
            "intent_get": lambda: state.get("payment_intent", object_id),
            "transfer_create": lambda: state.transfer_create(params),
            "transfer_get": lambda: state.get("transfer", object_id),
            "transfer_list": lambda: state.transfer_list(params),
            "reversal_create": lambda: state.reversal_create(object_id, params),
            "refund_create": lambda: state.refund_create(params),
            "dispute_create": lambda: state.dispute_create(params),
        }
        try:
            return _json(handlers[endpoint]())
        except StandinError as error:
            return _json(error.body(), error.status)

    def _page(self, endpoint: str, request: Request, object_id: str) -> Response:
        state = self.state
        try:
            if endpoint == "onboarding_page":
                return self._onboarding(request, object_id)
            session = state.session_public(state.get("checkout.session", object_id))
        except StandinError as error:
            return _html("Not found", f"<p>{html.escape(error.message)}</p>", 404)
        if request.method == "POST":
            action = request.form.get("action")
            if action == "back":
                return redirect(session["cancel_url"] or session["success_url"], 303)
            try:
                state.session_pay(object_id, succeed=action == "pay")
            except StandinError as error:
                return _html("Cannot pay", f"<p>{html.escape(error.message)}</p>", 400)
            if action == "pay":
                target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", object_id)
                return redirect(target, 303)
            return _checkout_page(session, declined=True)
        if session["status"] != "open":
            return _html(
                "Session closed", f"<p>This Checkout Session is {session['status']}.</p>", 410
            )
        return _checkout_page(session, declined=False)

    def _onboarding(self, request: Request, account_id: str) -> Response:
        account = self.state.get("account", account_id)
        back = request.args.get("return_url", "")
        if request.method == "POST":
            self.state.account_onboard(account_id)
            return redirect(back, 303) if back else _html("Done", "<p>Onboarding complete.</p>")
        body = (
            f"<p>Connect account <code>{account['id']}</code> (stand-in onboarding).</p>"
            '<form method="post"><button type="submit" data-testid="standin-onboard">'
            "Complete onboarding</button></form>"
        )
        return _html("Stripe onboarding (stand-in)", body)


def _checkout_page(session: Obj, *, declined: bool) -> Response:
    digits = 0 if session["currency"] in {"jpy", "krw"} else 2
    amount = f"{session['amount_total'] / 10**digits:.{digits}f} {session['currency'].upper()}"
    notice = (
        '<p role="alert" data-testid="standin-declined">Your card was declined.</p>'
        if declined
        else ""
    )
    body = (
        f'{notice}<p>Pay <strong data-testid="standin-amount">{html.escape(amount)}</strong></p>'
        '<form method="post">'
        '<button name="action" value="pay" data-testid="standin-pay">Pay</button> '
        '<button name="action" value="decline" data-testid="standin-decline">'
        "Pay with a card that is declined</button> "
        '<button name="action" value="back" data-testid="standin-back">Back</button>'
        "</form>"
    )
    return _html("Checkout (Stripe stand-in)", body)


def _html(title: str, body: str, status: int = 200) -> Response:
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def _json(body: Obj, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def create_app(
    base_url: str,
    *,
    secret_key: str,
    webhook_url: str = "",
    webhook_secret: str = "",
    deliver: Deliver = http_deliver,
) -> StandinApp:
    """The stand-in answering on `base_url` (where its pages' links point), accepting
    `secret_key`, sending events to `webhook_url` signed with `webhook_secret`."""
    webhooks = WebhookEndpoint(url=webhook_url, secret=webhook_secret, deliver=deliver)
    return StandinApp(base_url, secret_key=secret_key, webhooks=webhooks)
