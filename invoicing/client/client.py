"""The one HTTP client for Space Invoices. Nothing else in the project talks to the API."""

import base64
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self, TypedDict, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from invoicing.client import _json, wire
from invoicing.client.errors import (
    Forbidden,
    Issue,
    NotFound,
    RateLimited,
    Rejected,
    SpaceInvoicesError,
    Transient,
    Unauthorized,
)
from invoicing.client.wire import (
    Document,
    DocumentCreate,
    DocumentSend,
    EmailResult,
    EmailSend,
    Entity,
    EntityApiKey,
    EntityApiKeyCreate,
    EntityCreate,
    EntityRole,
    EntityUpdate,
    EntityUser,
    EntityUserCreate,
    InvoiceCreate,
    InvoiceUpdate,
    Message,
    Page,
    Payment,
    PaymentCreate,
    SendResult,
    TransactionTypeCheck,
    TransactionTypeRequest,
    Webhook,
    WebhookCreate,
)

USER_AGENT = "marketplace-invoicing/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)

logger = logging.getLogger("invoicing.client")

# POSTs that only read (no idempotency key needed).
_READS_BY_POST = frozenset({"/transaction-type/check", "/invoices/render"})

A = TypeVar("A")  # the shape of an answer (a wire TypedDict)


class _ErrorFields(TypedDict):
    message: str
    status: int
    code: str | None
    request_id: str | None


class SpaceInvoicesClient:
    """Typed calls to Space Invoices; failures raise ``invoicing.client.errors`` types.

    Request bodies are the wire models of ``invoicing.client.wire``; every answer is checked
    against its wire shape, and one that does not match is a ``Transient`` with code
    ``invalid_response`` (as is an answer that is not JSON).

    ``http`` lets callers (tests, the in-process sandbox) supply the transport; requests still go
    to ``base_url`` with this client's ``timeout``. An injected ``http`` client is not closed by
    ``close()``: its owner closes it.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        http: httpx.Client | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        throttle: Callable[[], None] | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        # Called before every request; blocks until the shared rate limit allows one more.
        self._throttle = throttle
        self._api_key = api_key
        self._timeout = timeout
        self._owns_http = http is None
        self._http = (
            httpx.Client(base_url=self._base_url, timeout=timeout) if http is None else http
        )

    def __repr__(self) -> str:
        return f"SpaceInvoicesClient(base_url={self._base_url!r})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Entities (account key)

    def entity_create(self, *, payload: EntityCreate, request_id: str) -> Entity:
        body = self._call("POST", "/entities", body=payload, request_id=request_id)
        return self._read(Entity, body, request_id)

    def entity_get(self, *, entity_id: str) -> Entity:
        body = self._call("GET", f"/entities/{quote(entity_id, safe='')}")
        return self._read(Entity, body, None)

    def entity_update(self, *, entity_id: str, payload: EntityUpdate, request_id: str) -> Entity:
        """Send the entity's details again (PATCH merges them into the entity)."""
        path = f"/entities/{quote(entity_id, safe='')}"
        body = self._call("PATCH", path, body=payload, request_id=request_id)
        return self._read(Entity, body, request_id)

    def entity_logo_upload(
        self, *, entity_id: str, content: bytes, content_type: str, request_id: str
    ) -> Entity:
        """Set the entity's logo (``PUT /entities/{id}/logo``, inferred path), printed on its
        documents; the same logo sent again changes nothing."""
        path = f"/entities/{quote(entity_id, safe='')}/logo"
        payload = wire.EntityLogo.model_validate(
            {"content_type": content_type, "data": base64.b64encode(content).decode()}
        )
        body = self._call("PUT", path, body=payload, request_id=request_id)
        return self._read(Entity, body, request_id)

    # Invoices (always in one entity's context)

    def invoice_render(self, *, entity_id: str, payload: InvoiceCreate) -> bytes:
        """The PDF the invoice would have, rendered without keeping it or using a number
        (``POST /invoices/render``, inferred path: the API's preview render). It shows the
        number the next invoice would get."""
        response = self._send(
            "POST", "/invoices/render", entity_id=entity_id, body=payload, accept="application/pdf"
        )
        return response.content

    def invoice_create(
        self, *, entity_id: str, payload: DocumentCreate, request_id: str
    ) -> Document:
        body = self._call(
            "POST", "/invoices", entity_id=entity_id, body=payload, request_id=request_id
        )
        return self._read(Document, body, request_id)

    def invoice_update(
        self, *, entity_id: str, invoice_id: str, payload: InvoiceUpdate, request_id: str
    ) -> Document:
        """``PATCH /invoices/{id}``: for the contract tests and parity with the API only; the
        project never edits an issued invoice."""
        path = f"/invoices/{quote(invoice_id, safe='')}"
        body = self._call("PATCH", path, entity_id=entity_id, body=payload, request_id=request_id)
        return self._read(Document, body, request_id)

    def invoice_get(self, *, entity_id: str, invoice_id: str) -> Document:
        path = f"/invoices/{quote(invoice_id, safe='')}"
        return self._read(Document, self._call("GET", path, entity_id=entity_id), None)

    def invoice_list(
        self,
        *,
        entity_id: str,
        query: Mapping[str, object] | None = None,
        limit: int = 10,
        next_cursor: str | None = None,
        order_by: str | None = None,
    ) -> Page[Document]:
        return self._list(Document, "/invoices", entity_id, query, limit, next_cursor, order_by)

    def invoice_iter(
        self,
        *,
        entity_id: str,
        query: Mapping[str, object] | None = None,
        page_size: int = 100,
        updated_since: str | None = None,
    ) -> Iterator[Document]:
        """Every matching invoice, following ``next_cursor`` until ``has_more`` is false;
        with ``updated_since`` (an API timestamp) only those created or changed since then."""
        return self._iter("/invoices", entity_id, _since(query, updated_since), page_size)

    # Credit notes: an invoice's body plus ``linked_documents`` naming the original

    def credit_note_create(
        self, *, entity_id: str, payload: DocumentCreate, request_id: str
    ) -> Document:
        body = self._call(
            "POST", "/credit-notes", entity_id=entity_id, body=payload, request_id=request_id
        )
        return self._read(Document, body, request_id)

    def credit_note_list(
        self,
        *,
        entity_id: str,
        query: Mapping[str, object] | None = None,
        limit: int = 10,
        next_cursor: str | None = None,
    ) -> Page[Document]:
        return self._list(Document, "/credit-notes", entity_id, query, limit, next_cursor, None)

    def credit_note_iter(
        self,
        *,
        entity_id: str,
        query: Mapping[str, object] | None = None,
        page_size: int = 100,
        updated_since: str | None = None,
    ) -> Iterator[Document]:
        """Every matching credit note, following ``next_cursor`` until ``has_more`` is false;
        with ``updated_since`` only those created or changed since then."""
        return self._iter("/credit-notes", entity_id, _since(query, updated_since), page_size)

    def credit_note_get(self, *, entity_id: str, credit_note_id: str) -> Document:
        path = f"/credit-notes/{quote(credit_note_id, safe='')}"
        return self._read(Document, self._call("GET", path, entity_id=entity_id), None)

    def invoice_void(
        self, *, entity_id: str, invoice_id: str, reason: str, request_id: str
    ) -> Document:
        path = f"/invoices/{quote(invoice_id, safe='')}/void"
        payload = wire.DocumentVoid(reason=reason)
        body = self._call("POST", path, entity_id=entity_id, body=payload, request_id=request_id)
        return self._read(Document, body, request_id)

    def document_pdf(self, *, entity_id: str, document_id: str) -> bytes:
        """The PDF of an invoice (``inv_``) or a credit note (``cre_``)."""
        collection = "credit-notes" if document_id.startswith("cre_") else "invoices"
        path = f"/{collection}/{quote(document_id, safe='')}/pdf"
        response = self._send("GET", path, entity_id=entity_id, accept="application/pdf")
        return response.content

    def document_e_invoice(
        self, *, entity_id: str, document_id: str, e_format: wire.EInvoiceFormat
    ) -> bytes:
        """The e-invoice XML of an invoice (``inv_``) or a credit note (``cre_``): ``ubl``
        (Peppol BIS Billing 3.0), ``xrechnung`` or ``zugferd`` (CII)."""
        if e_format not in wire.E_INVOICE_FORMATS:
            raise ValueError(f"unknown e-invoice format {e_format!r}")
        collection = "credit-notes" if document_id.startswith("cre_") else "invoices"
        path = f"/{collection}/{quote(document_id, safe='')}/{e_format}"
        response = self._send("GET", path, entity_id=entity_id, accept="application/xml")
        return response.content

    # Payments and sending

    def payment_create(self, *, entity_id: str, payload: PaymentCreate, request_id: str) -> Payment:
        body = self._call(
            "POST", "/payments", entity_id=entity_id, body=payload, request_id=request_id
        )
        return self._read(Payment, body, request_id)

    def payment_list(
        self,
        *,
        entity_id: str,
        query: Mapping[str, object] | None = None,
        limit: int = 10,
        next_cursor: str | None = None,
    ) -> Page[Payment]:
        """The entity's payments (recorded inline with a document or by ``payment_create``)."""
        return self._list(Payment, "/payments", entity_id, query, limit, next_cursor, None)

    def document_send(
        self, *, entity_id: str, document_id: str, payload: DocumentSend, request_id: str
    ) -> SendResult:
        path = f"/documents/{quote(document_id, safe='')}/send"
        body = self._call("POST", path, entity_id=entity_id, body=payload, request_id=request_id)
        return self._read(SendResult, body, request_id)

    def email_send(self, *, entity_id: str, payload: EmailSend, request_id: str) -> EmailResult:
        """An e-mail to one to four addresses, with a document's PDF when it names one."""
        body = self._call(
            "POST", "/email/send", entity_id=entity_id, body=payload, request_id=request_id
        )
        return self._read(EmailResult, body, request_id)

    def message_list(
        self,
        *,
        entity_id: str,
        query: Mapping[str, object] | None = None,
        limit: int = 10,
        path: str = "/sandbox/outbox",
    ) -> Page[Message]:
        """Messages ``document_send`` sent (``GET /sandbox/outbox``, the sandbox's route; the
        real service's is not documented, hence ``path``)."""
        return self._list(Message, path, entity_id, query, limit, None, None)

    # Tax rules

    def transaction_type_check(self, *, payload: TransactionTypeRequest) -> TransactionTypeCheck:
        """Classify a sale and check the customer's VAT number in VIES (a read: no request id)."""
        body = self._call("POST", "/transaction-type/check", body=payload, request_id=None)
        return self._read(TransactionTypeCheck, body, None)

    # Seller access (entity context)

    def entity_api_key_create(
        self, *, entity_id: str, name: str, ttl_seconds: int, request_id: str
    ) -> EntityApiKey:
        body = self._call(
            "POST",
            "/entities/api-keys",
            entity_id=entity_id,
            body=EntityApiKeyCreate(name=name, ttl=ttl_seconds),
            request_id=request_id,
        )
        return self._read(EntityApiKey, body, request_id)

    def entity_user_create(
        self, *, entity_id: str, email: str, role: EntityRole, request_id: str
    ) -> EntityUser:
        payload = EntityUserCreate(email=email, role=role, send_invite=False)
        body = self._call(
            "POST", "/entities/users", entity_id=entity_id, body=payload, request_id=request_id
        )
        return self._read(EntityUser, body, request_id)

    def entity_user_list(self, *, entity_id: str) -> list[EntityUser]:
        page = self._list(EntityUser, "/entities/users", entity_id, None, 100, None, None)
        return page.data

    def entity_user_delete(self, *, entity_id: str, user_id: str, request_id: str) -> None:
        path = f"/entities/users/{quote(user_id, safe='')}"
        self._send("DELETE", path, entity_id=entity_id, request_id=request_id)

    # Webhooks (account key)

    def webhook_create(self, *, payload: WebhookCreate, request_id: str) -> Webhook:
        """Register an endpoint for the account's events; the answer repeats the secret."""
        body = self._call("POST", "/webhooks", body=payload, request_id=request_id)
        return self._read(Webhook, body, request_id)

    # Service

    def health(self, *, path: str = "/health") -> dict[str, object]:
        """The service's liveness answer (``GET /health``, the sandbox's route; the real
        service's is inferred, hence ``path``): a cheap read for readiness probes."""
        return self._call("GET", path)

    # Transport

    def _list(
        self,
        shape: type[A],
        path: str,
        entity_id: str,
        query: Mapping[str, object] | None,
        limit: int,
        next_cursor: str | None,
        order_by: str | None,
    ) -> Page[A]:
        params = {"limit": str(limit)}
        if query is not None:
            params["query"] = _json.dumps(query)
        if next_cursor is not None:
            params["next_cursor"] = next_cursor
        if order_by is not None:
            params["order_by"] = order_by
        return _page(shape, self._call("GET", path, entity_id=entity_id, params=params))

    def _iter(
        self, path: str, entity_id: str, query: Mapping[str, object] | None, page_size: int
    ) -> Iterator[Document]:
        cursor: str | None = None
        while True:
            page = self._list(Document, path, entity_id, query, page_size, cursor, None)
            yield from page.data
            if not page.has_more:
                return
            if page.next_cursor is None:
                raise SpaceInvoicesError("has_more without next_cursor", code="invalid_response")
            cursor = page.next_cursor

    def _call(
        self,
        method: str,
        path: str,
        *,
        entity_id: str | None = None,
        request_id: str | None = None,
        body: wire.Request | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, object]:
        if method != "GET" and not request_id and path not in _READS_BY_POST:
            raise ValueError("every write needs a non-empty request_id (idempotency key)")
        response = self._send(
            method, path, entity_id=entity_id, request_id=request_id, body=body, params=params
        )
        return self._result(response, request_id)

    def _send(
        self,
        method: str,
        path: str,
        *,
        entity_id: str | None = None,
        request_id: str | None = None,
        body: wire.Request | None = None,
        params: Mapping[str, str] | None = None,
        accept: str = "application/json",
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": accept,
            "User-Agent": USER_AGENT,
        }
        if entity_id is not None:
            headers["x-entity-id"] = entity_id
        if request_id is not None:
            headers["X-Request-Id"] = request_id
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = _json.dumps(body.body()).encode()
        request = self._http.build_request(
            method,
            self._base_url + path,
            params=params,
            headers=headers,
            content=content,
            timeout=self._timeout,
        )
        if self._throttle is not None:
            self._throttle()
        started = time.monotonic()
        try:
            response = self._http.send(request)
        except httpx.RequestError as exc:
            _log(method, path, type(exc).__name__, started, request_id, entity_id)
            code = "timeout" if isinstance(exc, httpx.TimeoutException) else "transport_error"
            failure = Transient(f"{type(exc).__name__}: {exc}", code=code, request_id=request_id)
        else:
            request_id = response.headers.get("x-request-id", request_id)
            _log(method, path, response.status_code, started, request_id, entity_id)
            if response.is_success:
                return response
            raise self._error(response, _json_object(response) or {}, request_id)
        # Raised outside the except block: the httpx error's request carries the API key and
        # must not travel along as __context__.
        raise failure

    def _read(self, shape: type[A], body: Mapping[str, object], request_id: str | None) -> A:
        """``body`` checked against the answer's wire shape."""
        try:
            return cast(A, wire.ANSWERS[shape].validate_python(body))
        except ValidationError as error:
            raise _invalid(_mismatch(shape, error), request_id) from None

    def _result(self, response: httpx.Response, request_id: str | None) -> dict[str, object]:
        fields = _json_object(response)
        if fields is not None:
            return fields
        raise self._error(response, {}, request_id)

    def _error(
        self, response: httpx.Response, fields: Mapping[str, object], request_id: str | None
    ) -> SpaceInvoicesError:
        status = response.status_code
        if response.is_success:
            return Transient(
                "response body is not a JSON object",
                status=status,
                code="invalid_response",
                request_id=request_id,
            )
        code = fields.get("code")
        message = fields.get("message")
        kwargs: _ErrorFields = {
            "message": self._redact(message if isinstance(message, str) else f"HTTP {status}"),
            "status": status,
            "code": code if isinstance(code, str) else None,
            "request_id": request_id,
        }
        if status == 401:
            return Unauthorized(**kwargs)
        if status == 403:
            return Forbidden(**kwargs, issues=self._issues(fields))
        if status == 404:
            return NotFound(**kwargs)
        if status == 429:
            return RateLimited(
                **kwargs, retry_after=_retry_after(response.headers.get("retry-after"))
            )
        # A 409 is a conflict that may clear (a concurrent write), except a request id reused
        # with another body, which no retry can fix.
        if (status == 409 and kwargs["code"] != "idempotency_key_reused") or status >= 500:
            return Transient(**kwargs)
        if status >= 400:
            return Rejected(**kwargs, issues=self._issues(fields))
        return SpaceInvoicesError(**kwargs)

    def _issues(self, fields: Mapping[str, object]) -> tuple[Issue, ...]:
        cause = fields.get("cause")
        raw = cause.get("issues") if isinstance(cause, dict) else None
        issues = []
        for issue in raw if isinstance(raw, list) else ():
            if not isinstance(issue, dict):
                continue
            path = issue.get("path")
            parts = path if isinstance(path, list) else ()
            issues.append(
                Issue(
                    path=tuple(int(p) if isinstance(p, Decimal) else str(p) for p in parts),
                    message=self._redact(str(issue.get("message", ""))),
                )
            )
        return tuple(issues)

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "[api key]") if self._api_key else text


def _log(
    method: str,
    path: str,
    outcome: int | str,
    started: float,
    request_id: str | None,
    entity_id: str | None,
) -> None:
    logger.info(
        "space_invoices %s %s status=%s elapsed_ms=%d request_id=%s entity_id=%s",
        method,
        path,
        outcome,
        (time.monotonic() - started) * 1000,
        request_id or "-",
        entity_id or "-",
    )


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _since(
    query: Mapping[str, object] | None, updated_since: str | None
) -> Mapping[str, object] | None:
    """``query`` narrowed to documents whose ``updated_at`` is at or after ``updated_since``."""
    if updated_since is None:
        return query
    return {**(query or {}), "updated_at": {"gte": updated_since}}


def _page(shape: type[A], body: Mapping[str, object]) -> Page[A]:
    try:
        answer = wire.LIST_ANSWER.validate_python(body)
        data = [wire.ANSWERS[shape].validate_python(item) for item in answer["data"]]
    except ValidationError as error:
        raise _invalid(_mismatch(shape, error), None) from None
    pagination = answer["pagination"]
    return Page(
        data=data,
        next_cursor=pagination["next_cursor"],
        prev_cursor=pagination.get("prev_cursor"),
        has_more=pagination["has_more"],
        total=pagination["total"],
    )


def _mismatch(shape: type[Any], error: ValidationError) -> str:
    """What is wrong with an answer, by path (never its values: they may be personal data)."""
    problems = "; ".join(
        f"{'.'.join(map(str, path)) or 'body'}: {message}" for path, message in wire.issues(error)
    )
    return f"answer is not a valid {shape.__name__}: {problems}"


def _invalid(message: str, request_id: str | None) -> Transient:
    return Transient(message, code="invalid_response", request_id=request_id)


def _json_object(response: httpx.Response) -> dict[str, object] | None:
    try:
        body = _json.loads(response.content)
    except ValueError:
        return None
    return cast(dict[str, object], body) if isinstance(body, dict) else None
