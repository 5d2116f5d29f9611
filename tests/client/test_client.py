import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from invoicing.client import (
    DEFAULT_TIMEOUT,
    DocumentItem,
    EmailSend,
    EntityCreate,
    Forbidden,
    InvoiceCreate,
    Issue,
    NotFound,
    RateLimited,
    Rejected,
    SpaceInvoicesClient,
    SpaceInvoicesError,
    Transient,
    Unauthorized,
)
from invoicing.client import (
    Document as RemoteDocument,
)
from invoicing.client import client as client_module

KEY = "sk_sandbox_0123456789abcdef0123456789abcdef"
BASE = "https://si.test"
ENT = "ent_0123456789abcdef01234567"
INV = "inv_0123456789abcdef01234567"

Handler = Callable[[httpx.Request], httpx.Response]


def make_client(handler: Handler, base_url: str = BASE) -> SpaceInvoicesClient:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return SpaceInvoicesClient(base_url=base_url, api_key=KEY, http=http)


def recording(
    response: httpx.Response,
) -> tuple[list[httpx.Request], Handler]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return response

    return sent, handler


def json_response(status: int, body: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=body.encode(), headers={"content-type": "application/json", **headers}
    )


def document(**fields: object) -> dict[str, object]:
    """An answer with the fields the client requires of a document."""
    return {
        "id": INV,
        "entity_id": ENT,
        "number": "2026-00001",
        "total": 10,
        "total_with_tax": 12,
        "total_paid": 0,
        "paid_in_full": False,
        "metadata": {},
        **fields,
    }


def page(ids: list[str], next_cursor: str | None, has_more: bool) -> httpx.Response:
    body = {
        "data": [document(id=i) for i in ids],
        "pagination": {
            "total": 5,
            "next_cursor": next_cursor,
            "prev_cursor": None,
            "has_more": has_more,
        },
    }
    return json_response(200, json.dumps(body))


def base_headers(request: httpx.Request) -> dict[str, str]:
    return {
        name: request.headers[name]
        for name in ("authorization", "accept", "user-agent")
        if name in request.headers
    }


EXPECTED_BASE_HEADERS = {
    "authorization": f"Bearer {KEY}",
    "accept": "application/json",
    "user-agent": "marketplace-invoicing/0.1",
}


# Requests


def test_entity_create_sends_account_level_write() -> None:
    sent, handler = recording(
        json_response(201, '{"id": "ent_1", "name": "Shop", "currency_code": "EUR"}')
    )

    entity = make_client(handler).entity_create(
        payload=EntityCreate.model_validate(
            {"name": "Shop", "country_code": "SI", "metadata": {"seller_id": "s1"}}
        ),
        request_id="seller-1-entity",
    )

    assert dict(entity) == {"id": "ent_1", "name": "Shop", "currency_code": "EUR"}
    [request] = sent
    assert request.method == "POST"
    assert str(request.url) == "https://si.test/entities"
    assert base_headers(request) == EXPECTED_BASE_HEADERS
    assert request.headers["x-request-id"] == "seller-1-entity"
    assert request.headers["content-type"] == "application/json"
    assert "x-entity-id" not in request.headers
    assert request.content == (b'{"name":"Shop","country_code":"SI","metadata":{"seller_id":"s1"}}')


def test_entity_get() -> None:
    sent, handler = recording(json_response(200, '{"id": "ent_1"}'))

    assert dict(make_client(handler).entity_get(entity_id="ent_1")) == {"id": "ent_1"}

    [request] = sent
    assert (request.method, str(request.url)) == ("GET", "https://si.test/entities/ent_1")
    assert base_headers(request) == EXPECTED_BASE_HEADERS
    assert "x-request-id" not in request.headers
    assert request.content == b""


def test_invoice_create_sends_entity_context_and_exact_decimals() -> None:
    sent, handler = recording(
        json_response(
            201,
            json.dumps(document(id="inv_1", total=19.99, total_paid=0))[:-1] + ', "taxes": '
            '[{"rate": 22, "base": 19.99, "amount": 4.40, "reverse_charge": false}]}',
        )
    )
    payload: dict[str, Any] = {
        "items": [
            {
                "name": "Pin",
                "quantity": 2,
                "price": Decimal("0.10"),
                "taxes": [{"rate": Decimal("22")}],
            }
        ],
        "expected_total_with_tax": Decimal("0.24"),
        "metadata": {"order_id": "o1"},
    }

    doc = make_client(handler).invoice_create(
        entity_id=ENT, payload=InvoiceCreate.model_validate(payload), request_id="order-o1"
    )

    [request] = sent
    assert (request.method, str(request.url)) == ("POST", "https://si.test/invoices")
    assert base_headers(request) == EXPECTED_BASE_HEADERS
    assert request.headers["x-entity-id"] == ENT
    assert request.headers["x-request-id"] == "order-o1"
    assert request.content == (
        b'{"items":[{"name":"Pin","quantity":2,"price":0.10,"taxes":[{"rate":22}]}],'
        b'"expected_total_with_tax":0.24,"metadata":{"order_id":"o1"}}'
    )
    assert repr(doc["total"]) == "Decimal('19.99')"
    assert repr(doc["total_paid"]) == "Decimal('0')"
    assert repr(doc["taxes"][0]["amount"]) == "Decimal('4.40')"
    assert repr(doc["taxes"][0]["rate"]) == "Decimal('22')"


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
def test_float_in_payload_is_refused_before_sending() -> None:
    sent, handler = recording(json_response(201, "{}"))
    # Built without validation (the model refuses floats): the encoder refuses them too.
    item = DocumentItem.model_construct(name="Pin", quantity=Decimal(1), price=0.1)
    payload = InvoiceCreate.model_construct(items=[item])

    with pytest.raises(TypeError, match="use Decimal"):
        make_client(handler).invoice_create(entity_id=ENT, payload=payload, request_id="r1")

    assert sent == []


def test_write_without_request_id_is_refused_before_sending() -> None:
    sent, handler = recording(json_response(201, "{}"))

    with pytest.raises(ValueError, match="request_id"):
        make_client(handler).invoice_create(
            entity_id=ENT,
            payload=InvoiceCreate.model_validate({"items": [{"name": "Pin", "quantity": 1}]}),
            request_id="",
        )

    assert sent == []


def test_invoice_get_is_entity_scoped_read() -> None:
    sent, handler = recording(json_response(200, json.dumps(document())))

    doc = make_client(handler).invoice_get(entity_id=ENT, invoice_id=INV)

    assert doc == document()
    [request] = sent
    assert (request.method, str(request.url)) == ("GET", f"https://si.test/invoices/{INV}")
    assert base_headers(request) == EXPECTED_BASE_HEADERS
    assert request.headers["x-entity-id"] == ENT
    assert "x-request-id" not in request.headers


def test_base_url_path_prefix_and_trailing_slash_are_kept() -> None:
    sent, handler = recording(json_response(200, json.dumps(document())))

    make_client(handler, base_url="https://si.test/api/").invoice_get(entity_id=ENT, invoice_id=INV)

    assert str(sent[0].url) == f"https://si.test/api/invoices/{INV}"


def test_invoice_list_sends_query_as_compact_json() -> None:
    sent, handler = recording(page(["inv_a", "inv_b"], next_cursor="c2", has_more=True))

    result = make_client(handler).invoice_list(
        entity_id=ENT,
        query={"metadata.order_id": {"equals": "o1"}, "total": {"gte": Decimal("10.00")}},
        limit=2,
        next_cursor="c1",
        order_by="-date",
    )

    [request] = sent
    assert (request.method, request.url.path) == ("GET", "/invoices")
    assert request.headers["x-entity-id"] == ENT
    assert dict(request.url.params) == {
        "limit": "2",
        "query": '{"metadata.order_id":{"equals":"o1"},"total":{"gte":10.00}}',
        "next_cursor": "c1",
        "order_by": "-date",
    }
    assert [d["id"] for d in result.data] == ["inv_a", "inv_b"]
    assert (result.next_cursor, result.prev_cursor, result.has_more, result.total) == (
        "c2",
        None,
        True,
        5,
    )


def test_payment_list_sends_the_entity_and_the_query() -> None:
    body = {
        "data": [
            {"id": "pmt_a", "amount": 12.5, "type": "card", "metadata": {"payment_ref": "p1"}}
        ],
        "pagination": {"total": 1, "next_cursor": None, "prev_cursor": None, "has_more": False},
    }
    sent, handler = recording(json_response(200, json.dumps(body)))

    result = make_client(handler).payment_list(
        entity_id=ENT, query={"metadata.payment_ref": {"equals": "p1"}}, limit=1
    )

    [request] = sent
    assert (request.method, request.url.path) == ("GET", "/payments")
    assert request.headers["x-entity-id"] == ENT
    assert dict(request.url.params) == {
        "limit": "1",
        "query": '{"metadata.payment_ref":{"equals":"p1"}}',
    }
    assert [(p["id"], p["amount"]) for p in result.data] == [("pmt_a", Decimal("12.5"))]
    assert (result.has_more, result.total) == (False, 1)


def test_invoice_list_defaults() -> None:
    sent, handler = recording(page([], next_cursor=None, has_more=False))

    make_client(handler).invoice_list(entity_id=ENT)

    assert dict(sent[0].url.params) == {"limit": "10"}


def test_invoice_iter_follows_cursors_across_three_pages() -> None:
    pages = {
        None: page(["inv_1", "inv_2"], next_cursor="c2", has_more=True),
        "c2": page(["inv_3", "inv_4"], next_cursor="c3", has_more=True),
        "c3": page(["inv_5"], next_cursor=None, has_more=False),
    }
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return pages[request.url.params.get("next_cursor")]

    docs: list[RemoteDocument] = list(
        make_client(handler).invoice_iter(
            entity_id=ENT, query={"metadata": {"seller_id": {"equals": "s1"}}}, page_size=2
        )
    )

    assert [d["id"] for d in docs] == ["inv_1", "inv_2", "inv_3", "inv_4", "inv_5"]
    assert [dict(r.url.params) for r in sent] == [
        {"limit": "2", "query": '{"metadata":{"seller_id":{"equals":"s1"}}}'},
        {"limit": "2", "query": '{"metadata":{"seller_id":{"equals":"s1"}}}', "next_cursor": "c2"},
        {"limit": "2", "query": '{"metadata":{"seller_id":{"equals":"s1"}}}', "next_cursor": "c3"},
    ]
    assert {r.headers["x-entity-id"] for r in sent} == {ENT}


def test_invoice_iter_stops_on_has_more_without_cursor() -> None:
    _, handler = recording(page(["inv_1"], next_cursor=None, has_more=True))

    with pytest.raises(SpaceInvoicesError, match="has_more without next_cursor"):
        list(make_client(handler).invoice_iter(entity_id=ENT))


def test_timeout_is_sent_with_each_request() -> None:
    sent, handler = recording(json_response(200, '{"id": "ent_1"}'))

    make_client(handler).entity_get(entity_id="ent_1")

    assert sent[0].extensions["timeout"] == {
        "connect": 3.0,
        "read": 10.0,
        "write": 10.0,
        "pool": 10.0,
    }
    assert httpx.Timeout(10.0, connect=3.0) == DEFAULT_TIMEOUT


# Error mapping


def error_body(code: str, message: str) -> str:
    return json.dumps({"code": code, "message": message})


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (400, "bad_request", Rejected),
        (401, "unauthorized", Unauthorized),
        (403, "forbidden", Forbidden),
        (404, "not_found", NotFound),
        (409, "conflict", Transient),
        (500, "internal_error", Transient),
        (503, "unavailable", Transient),
    ],
)
def test_error_status_mapping(status: int, code: str, error_type: type[SpaceInvoicesError]) -> None:
    body = error_body(code, "Went wrong")
    _, handler = recording(json_response(status, body, **{"x-request-id": "req-1"}))

    with pytest.raises(SpaceInvoicesError) as caught:
        make_client(handler).invoice_get(entity_id=ENT, invoice_id=INV)

    error = caught.value
    assert type(error) is error_type
    assert (error.status, error.code, error.message, error.request_id) == (
        status,
        code,
        "Went wrong",
        "req-1",
    )
    assert str(error) == f"{status} {code}: Went wrong"


def test_5xx_with_unparseable_body_is_transient() -> None:
    _, handler = recording(httpx.Response(502, content=b"<html>Bad Gateway</html>"))

    with pytest.raises(Transient) as caught:
        make_client(handler).invoice_get(entity_id=ENT, invoice_id=INV)

    error = caught.value
    assert type(error) is Transient
    assert (error.status, error.code, error.request_id) == (502, None, None)
    assert str(error) == "502: HTTP 502"


def test_422_is_rejected_with_issues() -> None:
    body = {
        "code": "validation_error",
        "message": "Validation failed",
        "cause": {
            "issues": [
                {"path": ["items", 0, "quantity"], "message": "must be greater than 0"},
                {"path": ["customer", "country_code"], "message": "unknown country"},
                {"path": [], "message": "expected_total_with_tax mismatch"},
                {"path": ["date"], "message": "invalid date"},
            ]
        },
    }
    _, handler = recording(json_response(422, json.dumps(body)))

    with pytest.raises(Rejected) as caught:
        make_client(handler).invoice_create(
            entity_id=ENT,
            payload=InvoiceCreate.model_validate({"items": [{"name": "Pin", "quantity": 0}]}),
            request_id="r1",
        )

    error = caught.value
    assert type(error) is Rejected
    assert (error.status, error.code, error.message, error.request_id) == (
        422,
        "validation_error",
        "Validation failed",
        "r1",
    )
    assert error.issues == (
        Issue(path=("items", 0, "quantity"), message="must be greater than 0"),
        Issue(path=("customer", "country_code"), message="unknown country"),
        Issue(path=(), message="expected_total_with_tax mismatch"),
        Issue(path=("date",), message="invalid date"),
    )
    assert str(error) == (
        "422 validation_error: items.0.quantity: must be greater than 0; "
        "customer.country_code: unknown country; expected_total_with_tax mismatch (+1 more)"
    )


def test_422_with_single_issue_reads_as_one_line() -> None:
    body = {
        "code": "validation_error",
        "message": "Validation failed",
        "cause": {
            "issues": [{"path": ["items", 0, "quantity"], "message": "must be greater than 0"}]
        },
    }
    _, handler = recording(json_response(422, json.dumps(body)))

    with pytest.raises(Rejected) as caught:
        make_client(handler).invoice_get(entity_id=ENT, invoice_id=INV)

    assert str(caught.value) == "422 validation_error: items.0.quantity: must be greater than 0"


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("30", 30.0),
        ("Tue, 14 Nov 2023 22:15:20 GMT", 120.0),
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),
        ("soon", None),
    ],
)
def test_429_is_rate_limited_with_retry_after(
    monkeypatch: pytest.MonkeyPatch, retry_after: str, expected: float | None
) -> None:
    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz: object = None) -> "FrozenDatetime":
            return cls(2023, 11, 14, 22, 13, 20, tzinfo=UTC)

    monkeypatch.setattr(client_module, "datetime", FrozenDatetime)
    _, handler = recording(
        json_response(429, error_body("rate_limited", "Slow down"), **{"retry-after": retry_after})
    )

    with pytest.raises(RateLimited) as caught:
        make_client(handler).invoice_get(entity_id=ENT, invoice_id=INV)

    error = caught.value
    assert isinstance(error, Transient)
    assert (error.status, error.code, error.retry_after) == (429, "rate_limited", expected)
    assert str(error) == "429 rate_limited: Slow down"


def test_429_without_retry_after() -> None:
    _, handler = recording(json_response(429, error_body("rate_limited", "Slow down")))

    with pytest.raises(RateLimited) as caught:
        make_client(handler).invoice_get(entity_id=ENT, invoice_id=INV)

    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("exception", "code", "text"),
    [
        (httpx.ReadTimeout, "timeout", "timeout: ReadTimeout: timed out"),
        (httpx.ConnectTimeout, "timeout", "timeout: ConnectTimeout: timed out"),
        (httpx.ConnectError, "transport_error", "transport_error: ConnectError: timed out"),
    ],
)
def test_transport_failures_are_transient(
    exception: type[httpx.TransportError], code: str, text: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception("timed out", request=request)

    with pytest.raises(Transient) as caught:
        make_client(handler).invoice_create(
            entity_id=ENT,
            payload=InvoiceCreate.model_validate({"items": [{"name": "Pin", "quantity": 1}]}),
            request_id="r1",
        )

    error = caught.value
    assert type(error) is Transient
    assert (error.status, error.code, error.request_id) == (None, code, "r1")
    assert str(error) == text
    assert error.__context__ is None
    assert error.__cause__ is None


def test_success_with_unparseable_body_is_transient() -> None:
    _, handler = recording(httpx.Response(201, content=b"<html>ok</html>"))

    with pytest.raises(Transient) as caught:
        make_client(handler).invoice_create(
            entity_id=ENT,
            payload=InvoiceCreate.model_validate({"items": [{"name": "Pin", "quantity": 1}]}),
            request_id="r1",
        )

    assert str(caught.value) == "201 invalid_response: response body is not a JSON object"


@pytest.mark.parametrize(
    ("answer", "problems"),
    [
        (
            {k: v for k, v in document().items() if k != "total"},
            "total: is required",
        ),
        (document(paid_in_full="maybe", metadata=[]),
         "paid_in_full: must be true or false; metadata: must be an object"),
    ],
)  # fmt: skip
def test_a_malformed_answer_is_transient_naming_what_is_wrong(
    answer: dict[str, object], problems: str
) -> None:
    _, handler = recording(json_response(200, json.dumps(answer), **{"x-request-id": "r1"}))

    with pytest.raises(Transient) as caught:
        make_client(handler).invoice_get(entity_id=ENT, invoice_id=INV)

    assert (caught.value.code, caught.value.request_id) == ("invalid_response", None)
    assert str(caught.value) == f"invalid_response: answer is not a valid Document: {problems}"


def test_a_malformed_list_item_is_transient() -> None:
    body = {
        "data": [{"id": "pmt_a", "amount": "lots", "type": "card"}],
        "pagination": {"total": 1, "next_cursor": None, "prev_cursor": None, "has_more": False},
    }
    _, handler = recording(json_response(200, json.dumps(body)))

    with pytest.raises(Transient) as caught:
        make_client(handler).payment_list(entity_id=ENT)

    assert str(caught.value) == (
        "invalid_response: answer is not a valid Payment: amount: must be a number"
    )


def test_email_send_posts_the_message_in_the_entity_context() -> None:
    answer = {
        "message_id": "msg_1",
        "status": "sent",
        "to": "ana@example.com",
        "subject": "Invoice",
        "shareable_link": None,
    }
    sent, handler = recording(json_response(200, json.dumps(answer)))

    result = make_client(handler).email_send(
        entity_id=ENT,
        payload=EmailSend(to="ana@example.com", document_id=INV, attach_pdf=True),
        request_id="email-1",
    )

    [request] = sent
    assert (request.method, request.url.path, request.headers["x-entity-id"]) == (
        "POST",
        "/email/send",
        ENT,
    )
    assert request.content == b'{"to":"ana@example.com","attach_pdf":true,"document_id":"%s"}' % (
        INV.encode()
    )
    assert result == answer


def test_errors_never_carry_the_api_key() -> None:
    body = {
        "code": "unauthorized",
        "message": f"Key {KEY} is revoked",
        "cause": {"issues": [{"path": ["authorization"], "message": f"Bearer {KEY}"}]},
    }
    _, handler = recording(json_response(401, json.dumps(body)))

    with pytest.raises(Unauthorized) as caught:
        make_client(handler).entity_get(entity_id="ent_1")

    error = caught.value
    assert str(error) == "401 unauthorized: Key [api key] is revoked"
    assert KEY not in repr(error)
    assert KEY not in repr(vars(error))
    assert KEY not in repr(make_client(handler))


# Logging


def client_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "invoicing.client"]


def test_one_info_line_per_call_without_key_or_body(caplog: pytest.LogCaptureFixture) -> None:
    _, handler = recording(
        json_response(
            201,
            json.dumps(document(id="inv_1", customer={"name": "Ana Novak"})),
            **{"x-request-id": "order-o1"},
        )
    )
    caplog.set_level(logging.DEBUG, logger="invoicing.client")

    make_client(handler).invoice_create(
        entity_id=ENT,
        payload=InvoiceCreate.model_validate(
            {"items": [{"name": "Pin", "quantity": 1}], "customer": {"name": "Ana Novak"}}
        ),
        request_id="order-o1",
    )

    [record] = client_records(caplog)
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert message.startswith("space_invoices POST /invoices status=201 elapsed_ms=")
    assert message.endswith(f"request_id=order-o1 entity_id={ENT}")
    assert KEY not in caplog.text
    assert "Ana Novak" not in caplog.text


def test_transport_failure_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    caplog.set_level(logging.INFO, logger="invoicing.client")

    with pytest.raises(Transient):
        make_client(handler).entity_get(entity_id="ent_1")

    [record] = client_records(caplog)
    assert record.getMessage().startswith("space_invoices GET /entities/ent_1 status=ConnectError ")
    assert record.getMessage().endswith("request_id=- entity_id=-")
    assert KEY not in caplog.text


# Lifecycle


def test_close_closes_only_an_owned_http_client() -> None:
    injected = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with SpaceInvoicesClient(base_url=BASE, api_key=KEY, http=injected):
        pass
    assert not injected.is_closed

    owned = SpaceInvoicesClient(base_url=BASE, api_key=KEY)
    with owned as entered:
        assert entered is owned
    assert owned._http.is_closed
