"""The sandbox WSGI application: routing, authentication, idempotency and error answers.

Every API call needs ``Authorization: Bearer <account key>`` (401 otherwise) except
``GET /health`` and ``GET /share/{shareable_id}``; an ``x-account-id`` header naming another
account is 403. Every answer echoes ``X-Request-Id`` (a generated ``req_...`` when absent).

Idempotency: a POST or PATCH carrying ``X-Request-Id`` is looked up per account inside the same
``BEGIN IMMEDIATE`` transaction that does the work, so concurrent duplicates wait for the first
and then replay its status and body (with ``Idempotent-Replayed: true``). Every answer below 500
is kept, as with Stripe; 5xx answers roll back and are not kept. Reusing an id for a different
request (method, path, entity or body) is 409 ``idempotency_key_reused``.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from invoicing.sandbox import jsoncodec
from invoicing.sandbox.accounts import Account, account_for_key, key_digest
from invoicing.sandbox.errors import ApiError, Issue, ValidationFailed, not_found
from invoicing.sandbox.handlers import HANDLERS, Call, Handler
from invoicing.sandbox.ids import new_id
from invoicing.sandbox.render import share_page
from invoicing.sandbox.store import Store, StoredReply

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

JSON = "application/json"
_WRITE_METHODS = frozenset({"POST", "PATCH"})

ROUTES = Map(
    [
        Rule("/health", endpoint="health", methods=["GET"]),
        Rule("/share/<shareable_id>", endpoint="share", methods=["GET"]),
        Rule("/entities", endpoint="entity_list", methods=["GET"]),
        Rule("/entities", endpoint="entity_create", methods=["POST"]),
        Rule("/entities/<entity_id>", endpoint="entity_get", methods=["GET"]),
        Rule("/entities/<entity_id>", endpoint="entity_update", methods=["PATCH"]),
        Rule("/invoices", endpoint="invoice_list", methods=["GET"]),
        Rule("/invoices", endpoint="invoice_create", methods=["POST"]),
        Rule("/invoices/<document_id>", endpoint="invoice_get", methods=["GET"]),
        Rule("/credit-notes", endpoint="credit_note_list", methods=["GET"]),
        Rule("/credit-notes", endpoint="credit_note_create", methods=["POST"]),
        Rule("/credit-notes/<document_id>", endpoint="credit_note_get", methods=["GET"]),
    ],
    merge_slashes=False,
)


class SandboxApp:
    """A WSGI application answering like Space Invoices, with state in ``store``."""

    def __init__(self, store: Store, accounts: Mapping[str, Account]) -> None:
        """``accounts`` maps the SHA-256 of each account key (see ``key_digest``) to its account."""
        self.store = store
        self._accounts = dict(accounts)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.handle(Request(environ))
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        request_id = request.headers.get("X-Request-Id") or new_id("req")
        try:
            response = self._dispatch(request)
        except ApiError as error:
            response = _json_response(error.status, error.body())
        except Exception:
            logger.exception("sandbox error on %s %s", request.method, request.path)
            response = _json_response(
                500, {"code": "internal_error", "message": "the sandbox failed; see its log"}
            )
        response.headers["X-Request-Id"] = request_id
        return response

    def _dispatch(self, request: Request) -> Response:
        adapter = ROUTES.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
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
        return self._api(request, HANDLERS[endpoint], args)

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

    def _api(self, request: Request, handler: Handler, args: Mapping[str, str]) -> Response:
        account = self._authenticate(request)
        claimed_account = request.headers.get("x-account-id")
        if claimed_account and claimed_account != account.id:
            raise ApiError(403, "forbidden", "x-account-id does not match the key's account")
        entity_id = request.headers.get("x-entity-id") or None

        if request.method not in _WRITE_METHODS:
            with self.store.read() as session:
                call = Call(account, session, args, request.args, entity_id, {})
                status, payload = handler(call)
            return _json_response(status, payload)

        body = _json_body(request)
        request_id = request.headers.get("X-Request-Id")
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path}\n{entity_id}\n{jsoncodec.canonical(body)}".encode()
        ).hexdigest()
        with self.store.write() as session:
            if request_id and (stored := session.reply_get(account.id, request_id)):
                if stored.fingerprint != fingerprint:
                    raise ApiError(
                        409,
                        "idempotency_key_reused",
                        f"X-Request-Id {request_id} was already used for a different request",
                    )
                response = _stored_response(stored)
                response.headers["Idempotent-Replayed"] = "true"
                return response
            call = Call(account, session, args, request.args, entity_id, body)
            try:
                with session.savepoint():
                    status, payload = handler(call)
            except ApiError as error:
                status, payload = error.status, error.body()
            reply = StoredReply(
                fingerprint, status, jsoncodec.dumps(payload), {"Content-Type": JSON}
            )
            if request_id:
                session.reply_put(account.id, request_id, reply)
        return _stored_response(reply)

    def _authenticate(self, request: Request) -> Account:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        account = (
            self._accounts.get(key_digest(key.strip())) if scheme.lower() == "bearer" else None
        )
        if account is None:
            raise ApiError(401, "unauthorized", "send Authorization: Bearer <a valid account key>")
        return account


def create_app(data_path: str | Path, account_keys: Sequence[str]) -> SandboxApp:
    """A sandbox keeping its state in the SQLite file ``data_path`` (created if missing).

    Each key in ``account_keys`` (``sk_sandbox_...`` or ``sk_live_...``) is one account.
    Raises ``ValueError`` when no key is given or a key is not an account key.
    """
    if not account_keys:
        raise ValueError("give at least one account key")
    accounts = {key_digest(key): account_for_key(key) for key in account_keys}
    store = Store(data_path)
    store.initialize({account.id: account.environment for account in accounts.values()})
    return SandboxApp(store, accounts)


def sandbox_transport(app: SandboxApp) -> httpx.WSGITransport:
    """An httpx transport answering from ``app`` in-process (no socket, no thread)."""
    return httpx.WSGITransport(app=app)


def _json_body(request: Request) -> dict[str, Any]:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = jsoncodec.loads(raw)
    except ValueError as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise ValidationFailed([Issue((), "the body must be a JSON object")])
    return body


def _json_response(status: int, payload: Any) -> Response:
    return Response(jsoncodec.dumps(payload), status=status, content_type=JSON)


def _stored_response(reply: StoredReply) -> Response:
    return Response(reply.body, status=reply.status, headers=reply.headers)
