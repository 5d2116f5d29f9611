"""The sandbox WSGI application: routing, authentication, rate limits, faults, idempotency and
error answers.

Every API call needs ``Authorization: Bearer <key>`` (401 otherwise; an expired entity key is 401
too) except ``GET /health``, ``GET /share/{shareable_id}`` and the embedded dashboard
``GET /embed/dashboard``, which takes its entity key in the query string (see
:mod:`.dashboard`). Account keys (``sk_``) reach every entity of their account; entity keys
(``ek_``) one entity (see :mod:`.handlers`). An
``x-account-id`` header naming another account is 403. Every answer echoes ``X-Request-Id``
(a generated ``req_...`` when absent).

Order of checks on an API call: route (404/405), key (401), rate limit (429 with
``Retry-After``, see :mod:`.ratelimit`), ``x-account-id`` (403), injected faults (see
:mod:`.faults`), then the operation. Bodies larger than 1 MiB are 413 ``payload_too_large``;
malformed JSON is 400 ``invalid_json``; a body that is not an object is 422. None of these
store anything.

Idempotency: a POST, PATCH or DELETE carrying ``X-Request-Id`` is looked up per account inside
the same ``BEGIN IMMEDIATE`` transaction that does the work, so concurrent duplicates wait for
the first and then replay its status and body (with ``Idempotent-Replayed: true``). Every answer
below 500 is kept, as with Stripe; 5xx answers roll back and are not kept. Reusing an id for a
different request (method, path, entity or body) is 409 ``idempotency_key_reused``. The reads
sent as POST (``/transaction-type/check``, ``/vies/check``) are not kept. Replies are kept for
good unless the fault configuration's ``idempotency_ttl`` makes the sandbox forget them (see
:mod:`.faults`).

Control endpoints for tests and demos (account key, not rate limited, never faulted):
``GET /sandbox/outbox`` (messages sent by ``/documents/{id}/send`` and user invitations),
``GET``/``POST /sandbox/faults``, ``GET /sandbox/webhook-deliveries`` and ``POST /sandbox/reset``
(deletes everything of the calling account and restores the run's starting fault
configuration).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from invoicing.sandbox import jsoncodec
from invoicing.sandbox.accounts import ENTITY_KEY, Account, account_for_key, key_digest
from invoicing.sandbox.dashboard import dashboard_response
from invoicing.sandbox.einvoice import FORMATS
from invoicing.sandbox.errors import ApiError, Issue, Issues, ValidationFailed, not_found
from invoicing.sandbox.faults import Fault, FaultConfig, FaultInjector
from invoicing.sandbox.handlers import HANDLERS, Binary, Call, Encoded, Handler
from invoicing.sandbox.ids import new_id, timestamp, utc_now
from invoicing.sandbox.query import list_page, parse_list_params
from invoicing.sandbox.ratelimit import RateLimiter, RateLimits, retry_after_header
from invoicing.sandbox.render import share_page
from invoicing.sandbox.store import Row, Store, StoredReply
from invoicing.sandbox.webhooks import RETRY_DELAYS, WebhookDispatcher

if TYPE_CHECKING:
    import datetime as dt

    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

JSON = "application/json"
MAX_BODY_BYTES = 1024 * 1024
IN_PROCESS = "sandbox.in_process"
FAULT_HEADER = "X-Sandbox-Fault"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_READ_POSTS = frozenset({"transaction_type_check", "invoice_render"})


def _rules() -> list[Rule]:
    rules = [
        Rule("/health", endpoint="health", methods=["GET"]),
        Rule("/share/<shareable_id>", endpoint="share", methods=["GET"]),
        Rule("/embed/dashboard", endpoint="embed_dashboard", methods=["GET"]),
        Rule("/sandbox/faults", endpoint="sandbox_faults", methods=["GET", "POST"]),
        Rule("/sandbox/reset", endpoint="sandbox_reset", methods=["POST"]),
        Rule("/sandbox/webhook-deliveries", endpoint="sandbox_deliveries", methods=["GET"]),
        Rule("/sandbox/outbox", endpoint="outbox_list", methods=["GET"]),
        Rule("/transaction-type/check", endpoint="transaction_type_check", methods=["POST"]),
        Rule("/vies/check", endpoint="transaction_type_check", methods=["POST"]),
        Rule("/documents/<document_id>/send", endpoint="document_send", methods=["POST"]),
        Rule("/email/send", endpoint="email_send", methods=["POST"]),
        # Catalogue items are written by document lines with ``save_item``.
        Rule("/items", endpoint="item_list", methods=["GET"]),
        Rule("/items/<item_id>", endpoint="item_get", methods=["GET"]),
    ]
    collections = {
        "/entities/users": ("user", "user_id", ("POST", "GET", None, "DELETE")),
        "/entities/api-keys": ("api_key", "key_id", ("POST", "GET", None, "DELETE")),
        "/entities": ("entity", "entity_id", ("POST", "GET", "GET", None)),
        "/payments": ("payment", "payment_id", ("POST", "GET", "GET", None)),
        "/customers": ("customer", "customer_id", ("POST", "GET", "GET", None)),
        "/taxes": ("tax", "tax_id", ("POST", "GET", "GET", None)),
        "/webhooks": ("webhook", "webhook_id", ("POST", "GET", None, "DELETE")),
    }
    for path, (name, id_arg, (create, listing, get, delete)) in collections.items():
        rules.append(Rule(path, endpoint=f"{name}_create", methods=[create]))
        rules.append(Rule(path, endpoint=f"{name}_list", methods=[listing]))
        if get:
            rules.append(Rule(f"{path}/<{id_arg}>", endpoint=f"{name}_get", methods=[get]))
        if delete:
            rules.append(Rule(f"{path}/<{id_arg}>", endpoint=f"{name}_delete", methods=[delete]))
    rules.append(Rule("/entities/<entity_id>", endpoint="entity_update", methods=["PATCH"]))
    rules.append(Rule("/entities/<entity_id>/logo", endpoint="entity_logo", methods=["PUT"]))
    rules.append(Rule("/invoices/render", endpoint="invoice_render", methods=["POST"]))
    rules.append(Rule("/invoices/<document_id>", endpoint="invoice_update", methods=["PATCH"]))
    for path, name in (("/invoices", "invoice"), ("/credit-notes", "credit_note")):
        rules += [
            Rule(path, endpoint=f"{name}_list", methods=["GET"]),
            Rule(path, endpoint=f"{name}_create", methods=["POST"]),
            Rule(f"{path}/<document_id>", endpoint=f"{name}_get", methods=["GET"]),
            Rule(f"{path}/<document_id>/void", endpoint=f"{name}_void", methods=["POST"]),
            Rule(f"{path}/<document_id>/finalize", endpoint=f"{name}_finalize", methods=["POST"]),
            Rule(f"{path}/<document_id>/pdf", endpoint=f"{name}_pdf", methods=["GET"]),
            Rule(
                f"{path}/<document_id>/<any({', '.join(FORMATS)}):e_format>",
                endpoint=f"{name}_e_invoice",
                methods=["GET"],
            ),
        ]
    return rules


ROUTES = Map(_rules(), merge_slashes=False)


class _Caller:
    """Who is calling: the account, the key's digest (rate limits), the entity of an ek_ key."""

    def __init__(self, account: Account, digest: str, entity_id: str | None) -> None:
        self.account = account
        self.digest = digest
        self.entity_id = entity_id


class SandboxApp:
    """A WSGI application answering like Space Invoices, with state in ``store``."""

    def __init__(
        self,
        store: Store,
        accounts: Mapping[str, Account],
        *,
        rate_limits: RateLimits | None = None,
        faults: FaultConfig | None = None,
        webhook_retry_delays: Sequence[float] = RETRY_DELAYS,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        """``accounts`` maps the SHA-256 of each account key (see ``key_digest``) to its account.

        ``rate_limits`` None: unlimited. ``clock`` gives the current time (tests move it).
        """
        self.store = store
        self._accounts = dict(accounts)
        self._accounts_by_id = {account.id: account for account in accounts.values()}
        self._limiter = RateLimiter(rate_limits) if rate_limits else None
        self._initial_faults = faults or FaultConfig()
        self.faults = FaultInjector(faults)
        self.webhooks = WebhookDispatcher(webhook_retry_delays)
        self.clock = clock

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response, fault = self._handle(Request(environ))
        if fault is not None and environ.get(IN_PROCESS):
            response.headers[FAULT_HEADER] = fault
        elif fault == "timeout":
            time.sleep(self.faults.config.timeout_ms / 1000)
        elif fault == "lost_response":
            # The work is committed: hang up on the client through the worker's own socket, then
            # tell gunicorn the socket is gone (ENOTCONN), so that it sends nothing more.
            environ["gunicorn.socket"].shutdown(socket.SHUT_RDWR)
            raise OSError(errno.ENOTCONN, "sandbox fault: the answer is lost")
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """The answer to ``request`` (faults are drawn but the answer is always given)."""
        return self._handle(request)[0]

    def _handle(self, request: Request) -> tuple[Response, Fault | None]:
        request_id = request.headers.get("X-Request-Id") or new_id("req")
        fault: list[Fault] = []
        try:
            response = self._dispatch(request, fault)
        except ApiError as error:
            response = _json_response(error.status, error.body())
            if isinstance(error, _RateLimited):
                response.headers["Retry-After"] = error.retry_after
        except Exception:
            logger.exception("sandbox error on %s %s", request.method, request.path)
            response = _json_response(
                500, {"code": "internal_error", "message": "the sandbox failed; see its log"}
            )
        response.headers["X-Request-Id"] = request_id
        return response, fault[0] if fault else None

    def _dispatch(self, request: Request, fault: list[Fault]) -> Response:
        # Routes ignore the host: binding to the path alone spares rebuilding the request URL.
        adapter = ROUTES.bind("sandbox", path_info=request.path)
        try:
            endpoint, args = adapter.match(method=request.method)
        except NotFound:
            raise ApiError(404, "not_found", f"no route {request.method} {request.path}") from None
        except MethodNotAllowed as error:
            allowed = ", ".join(sorted(error.valid_methods or ()))
            response = _json_response(
                405,
                {"code": "method_not_allowed", "message": f"{request.method} is not allowed here"},
            )
            response.headers["Allow"] = allowed
            return response
        if endpoint == "health":
            return _json_response(200, {"status": "ok"})
        if endpoint == "share":
            return self._share(args["shareable_id"])
        if endpoint == "embed_dashboard":
            return dashboard_response(request, self.store, self._key_entity)
        if endpoint.startswith("sandbox_"):
            return self._control(request, endpoint)
        return self._api(request, endpoint, HANDLERS[endpoint], args, fault)

    def _share(self, shareable_id: str) -> Response:
        with self.store.read() as session:
            found = session.document_by_shareable_id(shareable_id)
            entity = session.entity_by_id(found[1]["entity_id"]) if found else None
        if found is None or entity is None:
            raise not_found("document", shareable_id)
        document_type, document = found
        response = Response(share_page(document, document_type, entity), mimetype="text/html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'"
        )
        return response

    def _control(self, request: Request, endpoint: str) -> Response:
        caller = self._authenticate(request)
        if caller.entity_id is not None:
            raise ApiError(403, "forbidden", "sandbox control calls need an account key")
        account_id = caller.account.id
        if endpoint == "sandbox_faults":
            if request.method == "POST":
                issues = Issues()
                config = FaultConfig.from_json(_json_body(request), issues)
                issues.raise_if_any()
                self.faults.configure(config)
            return _json_response(200, self.faults.config.as_json())
        if endpoint == "sandbox_reset":
            with self.store.write() as session:
                session.account_reset(account_id)
            self.faults.configure(self._initial_faults)
            return _json_response(200, {"status": "reset"})
        attempts = self.webhooks.attempts(account_id)
        rows = [Row(seq, attempt) for seq, attempt in enumerate(attempts, start=1)]
        return _json_response(200, list_page(rows, parse_list_params(request.args)))

    def _api(
        self,
        request: Request,
        endpoint: str,
        handler: Handler,
        args: Mapping[str, str],
        fault: list[Fault],
    ) -> Response:
        caller = self._authenticate(request)
        if self._limiter is not None:
            wait = self._limiter.acquire(caller.digest, caller.account.environment)
            if wait is not None:
                raise _rate_limited(wait, "too many requests for this key")
        claimed_account = request.headers.get("x-account-id")
        if claimed_account and claimed_account != caller.account.id:
            raise ApiError(403, "forbidden", "x-account-id does not match the key's account")
        entity_id = request.headers.get("x-entity-id") or None
        body = _json_body(request) if request.method in _WRITE_METHODS else {}

        config = self.faults.config
        if config.latency_ms:
            time.sleep(config.latency_ms / 1000)
        drawn = self.faults.draw()
        if drawn == "error":
            raise ApiError(503, "service_unavailable", "injected fault: try again")
        if drawn == "rate_limit":
            raise _rate_limited(1, "injected fault: too many requests")
        if drawn is not None:
            fault.append(drawn)

        def call_in(session: Any) -> Call:
            return Call(
                caller.account,
                session,
                args,
                request.args,
                entity_id,
                body,
                self.clock(),
                key_entity_id=caller.entity_id,
                vies_available=not config.vies_unavailable,
            )

        if request.method not in _WRITE_METHODS or endpoint in _READ_POSTS:
            with self.store.read() as session:
                status, payload = handler(call_in(session))
            return _response(status, payload)

        request_id = request.headers.get("X-Request-Id")
        events: list[tuple[str, Any]] = []
        webhooks: list[dict[str, Any]] = []
        with self.store.write() as session:
            call = call_in(session)
            stored_at = call.now.timestamp()
            if not request_id:
                # Nothing is kept: an ApiError rolls the whole transaction back.
                reply = _reply("", *handler(call))
            else:
                fingerprint = hashlib.sha256(
                    f"{request.method} {request.path}\n{entity_id}\n"
                    f"{jsoncodec.canonical(body)}".encode()
                ).hexdigest()
                kept_after = config.replies_kept_after(stored_at)
                if stored := session.reply_get(
                    caller.account.id, request_id, kept_after=kept_after
                ):
                    if stored.fingerprint != fingerprint:
                        raise ApiError(
                            409,
                            "idempotency_key_reused",
                            f"X-Request-Id {request_id} was already used for a different request",
                        )
                    response = _stored_response(stored)
                    response.headers["Idempotent-Replayed"] = "true"
                    return response
                try:
                    with session.savepoint():
                        status, payload = handler(call)
                except ApiError as error:
                    status, payload = error.status, error.body()
                reply = _reply(fingerprint, status, payload)
                session.reply_put(caller.account.id, request_id, reply, created_at=stored_at)
            if call.events and reply.status < 300:
                events = call.events
                webhooks = [row.body for row in session.record_list("webhook", caller.account.id)]
        for event, data in events if webhooks else ():
            self.webhooks.emit(caller.account.id, webhooks, event, data)
        return _stored_response(reply)

    def _authenticate(self, request: Request) -> _Caller:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise _unauthorized("send Authorization: Bearer <a valid account or entity key>")
        return self._caller(key)

    def _key_entity(self, key: str) -> str:
        """The entity that the entity key ``key`` reaches now (401 for any other key)."""
        caller = self._caller(key) if key else None
        if caller is None or caller.entity_id is None:
            raise _unauthorized("open the dashboard with a valid entity key")
        return caller.entity_id

    def _caller(self, key: str) -> _Caller:
        digest = key_digest(key)
        account = self._accounts.get(digest)
        if account is not None:
            return _Caller(account, digest, None)
        if ENTITY_KEY.fullmatch(key):
            with self.store.read() as session:
                found = session.record_by_lookup("api_key", digest)
            account = self._accounts_by_id.get(found[0]) if found else None
            if found is not None and account is not None:
                expires_at = found[1]["expires_at"]
                if expires_at <= timestamp(self.clock()):
                    raise _unauthorized(f"the entity key expired at {expires_at}")
                return _Caller(account, digest, found[1]["entity_id"])
        raise _unauthorized("send Authorization: Bearer <a valid account or entity key>")


def create_app(
    data_path: str | Path,
    account_keys: Sequence[str],
    *,
    rate_limits: RateLimits | None = None,
    faults: FaultConfig | None = None,
    webhook_retry_delays: Sequence[float] = RETRY_DELAYS,
) -> SandboxApp:
    """A sandbox keeping its state in the SQLite file ``data_path`` (created if missing).

    Each key in ``account_keys`` (``sk_sandbox_...`` or ``sk_live_...``) is one account.
    Unlimited and fault-free unless ``rate_limits`` / ``faults`` say otherwise.
    Raises ``ValueError`` when no key is given or a key is not an account key.
    """
    if not account_keys:
        raise ValueError("give at least one account key")
    accounts = {key_digest(key): account_for_key(key) for key in account_keys}
    store = Store(data_path)
    store.initialize({account.id: account.environment for account in accounts.values()})
    return SandboxApp(
        store,
        accounts,
        rate_limits=rate_limits,
        faults=faults,
        webhook_retry_delays=webhook_retry_delays,
    )


class SandboxTransport(httpx.WSGITransport):
    """Answers from a :class:`SandboxApp` in-process (no socket, no thread).

    Injected faults that need a connection become the errors a client would see: a lost answer
    raises ``httpx.ReadError`` and a timeout ``httpx.ReadTimeout``, both after the work is done.
    """

    def __init__(self, app: SandboxApp) -> None:
        def in_process(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            environ[IN_PROCESS] = True
            return app(environ, start_response)

        super().__init__(app=in_process)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        fault = response.headers.get(FAULT_HEADER)
        if fault == "lost_response":
            raise httpx.ReadError("sandbox fault: the connection dropped", request=request)
        if fault == "timeout":
            raise httpx.ReadTimeout("sandbox fault: no answer in time", request=request)
        return response


def sandbox_transport(app: SandboxApp) -> SandboxTransport:
    """An httpx transport answering from ``app`` in-process."""
    return SandboxTransport(app)


def _json_body(request: Request) -> dict[str, Any]:
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise _too_large()
    request.max_content_length = MAX_BODY_BYTES
    try:
        raw = request.get_data()
    except RequestEntityTooLarge:
        raise _too_large() from None
    if not raw.strip():
        return {}
    try:
        body = jsoncodec.loads(raw)
    except ValueError as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise ValidationFailed([Issue((), "the body must be a JSON object")])
    return body


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is larger than {MAX_BODY_BYTES} bytes")


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


class _RateLimited(ApiError):
    def __init__(self, retry_after: str, message: str) -> None:
        super().__init__(429, "rate_limited", message)
        self.retry_after = retry_after


def _rate_limited(seconds: float, message: str) -> ApiError:
    return _RateLimited(retry_after_header(seconds), message)


def _response(status: int, payload: Any) -> Response:
    if isinstance(payload, Binary):
        response = Response(payload.content, status=status, mimetype=payload.mimetype)
        response.headers["Content-Disposition"] = f'inline; filename="{payload.filename}"'
        return response
    return _json_response(status, payload)


def _json_response(status: int, payload: Any) -> Response:
    return Response(jsoncodec.dumps(payload), status=status, content_type=JSON)


def _reply(fingerprint: str, status: int, payload: Any) -> StoredReply:
    if payload is None:
        return StoredReply(fingerprint, status, "", {})
    text = payload.text if isinstance(payload, Encoded) else jsoncodec.dumps(payload)
    return StoredReply(fingerprint, status, text, {"Content-Type": JSON})


def _stored_response(reply: StoredReply) -> Response:
    return Response(reply.body, status=reply.status, headers=reply.headers)
