"""Logs you can follow: JSON lines, each with the id of the web request it belongs to, carried
onto the outbox row, into its tasks and onto the Space Invoices calls; redacted; Sentry off
unless SENTRY_DSN is set."""

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from unittest import mock

import pytest
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.test import RequestFactory

from core import request_id
from core.logging import JsonFormatter
from invoicing.models import Document
from marketplace import sentry
from marketplace.models import Order
from tests.factories import ProductFactory, UserFactory, operator_user, seller_with_entity
from tests.integration.processes import ROOT

BILLING = {
    "name": "Ana Novak",
    "email": "ana.novak@example.com",
    "address": "Prešernova 5",
    "post_code": "2000",
    "city": "Maribor",
    "country": "SI",
}


@pytest.fixture
def json_console() -> Iterator[io.StringIO]:
    """What the configured console handler writes, as the JSON lines of production."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous_stream, previous_formatter = handler.setStream(stream), handler.formatter
    handler.setFormatter(JsonFormatter())
    yield stream
    handler.setStream(previous_stream)
    handler.setFormatter(previous_formatter)


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.django_db(transaction=True)
def test_one_invoices_story_is_one_grep(api_client, sandbox, json_console):
    seller = seller_with_entity()
    product = ProductFactory(seller=seller, unit_price=Decimal("10.00"))
    api_client.force_authenticate(UserFactory(username="ana"))
    placed = api_client.post(
        "/api/checkout/",
        {"lines": [{"product_id": product.pk, "quantity": 1}], "billing": BILLING},
        format="json",
        headers={"X-Request-Id": "checkout-2f9c"},
    )
    assert placed.status_code == 201, placed.json()
    assert placed["X-Request-Id"] == "checkout-2f9c"
    order = Order.objects.get()
    json_console.truncate(0)
    json_console.seek(0)

    api_client.force_authenticate(
        operator_user("marketplace.view_order", "marketplace.record_order_payment")
    )
    paid = api_client.post(
        f"/api/orders/{order.pk}/pay/", format="json", headers={"X-Request-Id": "pay-7d41e0"}
    )

    assert paid.status_code == 200, paid.json()
    assert paid["X-Request-Id"] == "pay-7d41e0"
    invoice = Document.objects.get(order=order)
    assert invoice.state == "issued"
    assert invoice.correlation_id == "pay-7d41e0"
    # The idempotency key of the create stays the row's own, fixed before the first attempt.
    assert invoice.request_id.startswith("mkt-doc-")
    grep = [line for line in json_console.getvalue().splitlines() if "pay-7d41e0" in line]
    story = [json.loads(line) for line in grep]
    assert story == _records(json_console)  # every line of the request and its tasks
    assert {record["request_id"] for record in story} == {"pay-7d41e0"}
    key, document, entity = invoice.request_id, invoice.remote_id, seller.entity_id
    assert [_shape(record) for record in story] == [
        (
            "invoicing.client",
            f"space_invoices POST /invoices status=201 request_id={key} entity_id={entity}",
        ),
        ("invoicing.services", f"document {invoice.pk} issued as {document} in {entity}"),
        (
            "invoicing.client",
            f"space_invoices POST /documents/{document}/send status=200 request_id={key}-send "
            f"entity_id={entity}",
        ),
        ("celery.app.trace", "Task invoicing.issue_document succeeded"),
        ("marketplace.request", f"POST /api/orders/{order.pk}/pay/ status=200"),
    ]


def _shape(record: dict[str, object]) -> tuple[object, str]:
    """The record's logger and message, without elapsed times and task ids."""
    if record["logger"] == "celery.app.trace":
        return record["logger"], f"Task {record['data']['name']} succeeded"  # type: ignore[index]
    words = str(record["message"]).split(" ")
    return record["logger"], " ".join(word for word in words if not word.startswith("elapsed_ms="))


@pytest.mark.parametrize(
    "sent",
    [None, "", "x" * 129, "a b", "id\nINFO forged line", "id;drop", "ünïcode"],
)
@pytest.mark.django_db
def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(api_client, sent):
    headers = {} if sent is None else {"X-Request-Id": sent}
    response = api_client.get("/api/products/", headers=headers)
    given = response["X-Request-Id"]
    assert re.fullmatch("[0-9a-f]{32}", given)
    assert api_client.get("/api/products/", headers=headers)["X-Request-Id"] != given


@pytest.mark.django_db
def test_a_well_formed_request_id_is_kept_up_to_128_characters(api_client):
    sent = "Ab-9._" + "z" * 122
    assert api_client.get("/api/products/", headers={"X-Request-Id": sent})["X-Request-Id"] == sent


@pytest.mark.django_db
def test_djangos_log_line_of_a_refused_request_carries_its_id_once(api_client, json_console):
    response = api_client.get("/api/orders/12345/", headers={"X-Request-Id": "req-404"})

    assert response.status_code == 401
    records = _records(json_console)
    assert [(*_shape(r), r["level"], r["request_id"]) for r in records] == [
        ("marketplace.request", "GET /api/orders/12345/ status=401", "INFO", "req-404"),
        ("django.request", "Unauthorized: /api/orders/12345/", "WARNING", "req-404"),
    ]


def test_a_task_sent_to_a_worker_carries_the_request_id_in_its_message_header():
    headers: dict[str, object] = {}
    token = request_id._current.set("pay-7d41e0")
    try:
        before_task_publish.send(sender="invoicing.issue_document", headers=headers, body=None)
    finally:
        request_id._current.reset(token)
    assert headers == {request_id.TASK_HEADER: "pay-7d41e0"}

    # A worker's task request holds the message's headers as attributes.
    task = SimpleNamespace(request=SimpleNamespace(**{request_id.TASK_HEADER: "pay-7d41e0"}))
    task_prerun.send(sender="invoicing.issue_document", task_id="t1", task=task, args=(), kwargs={})
    assert request_id.request_id_current() == "pay-7d41e0"
    task_postrun.send(
        sender="invoicing.issue_document", task_id="t1", task=task, args=(), kwargs={}
    )
    assert request_id.request_id_current() == ""


def test_publishing_outside_of_a_request_adds_no_header():
    headers: dict[str, object] = {}
    before_task_publish.send(sender="invoicing.issue_document", headers=headers, body=None)
    assert headers == {}


def test_json_log_lines_are_redacted_extra_fields_too(json_console):
    logger = logging.getLogger("tests.marketplace.logs")
    token = request_id._current.set("req-1")
    try:
        logger.warning(
            "sent https://shop.example/orders/guest/eyJvcmRlciI6NDJ9:1tX2:abcDEF/ to %s",
            "ana.novak@example.com",
            extra={"buyer": "ana.novak@example.com", "key": "sk_live_0123abcd"},
        )
    finally:
        request_id._current.reset(token)
    # Django's own request log passes the request, whose repr holds the query string.
    request = RequestFactory().get("/orders/guest/abc/?email=ana.novak%40example.com")
    logger.warning(
        "Not Found: %s?%s", request.path, request.GET.urlencode(), extra={"request": request}
    )

    first, second = _records(json_console)
    assert set(first) == {"time", "level", "logger", "message", "request_id", "buyer", "key"}
    assert (first["level"], first["logger"], first["request_id"]) == (
        "WARNING",
        "tests.marketplace.logs",
        "req-1",
    )
    assert first["message"] == "sent https://shop.example/orders/guest/[redacted]/ to [email]"
    assert (first["buyer"], first["key"]) == ("[email]", "[secret]")
    assert set(second) == {"time", "level", "logger", "message"}
    assert second["message"] == "Not Found: /orders/guest/[redacted]/?email=[email]"
    assert "ana" not in json_console.getvalue()


def _settings_in_subprocess(script: str, **env: str) -> dict[str, object]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "LOG_FORMAT"}}
    environment.pop("SENTRY_DSN", None)
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + script],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "marketplace.settings", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_logs_are_json_with_debug_off_and_text_with_it_on():
    script = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.LOGGING['handlers']['console']['formatter']))"
    )
    assert _settings_in_subprocess(script) == "json"
    assert _settings_in_subprocess(script, DEBUG="true") == "text"
    assert _settings_in_subprocess(script, LOG_FORMAT="text") == "text"


def test_sentry_is_off_without_a_dsn_and_initialised_with_one():
    script = (
        "import json, sentry_sdk; client = sentry_sdk.get_client(); "
        "print(json.dumps({'active': client.is_active(), 'options': {"
        "k: str(client.options.get(k)) for k in ('send_default_pii', 'before_send', 'dsn')}, "
        "'integrations': sorted(n for n in client.integrations if n in ('django', 'celery'))}))"
    )
    assert _settings_in_subprocess(script)["active"] is False

    # A DSN on the loopback discard port: nothing is captured here, so nothing is sent.
    dsn = "http://public@127.0.0.1:9/1"
    on = _settings_in_subprocess(script, SENTRY_DSN=dsn)
    assert on["active"] is True
    assert on["integrations"] == ["celery", "django"]
    assert on["options"]["send_default_pii"] == "False"
    assert on["options"]["dsn"] == dsn
    assert "sentry_before_send" in on["options"]["before_send"]


def test_sentry_init_passes_the_private_options():
    with mock.patch("sentry_sdk.init") as init:
        sentry.sentry_init(dsn="http://public@127.0.0.1:9/1", environment="staging")
    [call] = init.call_args_list
    options = call.kwargs
    assert options["dsn"] == "http://public@127.0.0.1:9/1"
    assert options["environment"] == "staging"
    assert options["send_default_pii"] is False
    assert options["before_send"] is sentry.sentry_before_send
    assert [type(i).__name__ for i in options["integrations"]] == [
        "DjangoIntegration",
        "CeleryIntegration",
    ]


def test_sentry_events_are_redacted_and_tagged_with_the_request_id():
    event = {
        "message": "refused for ana.novak@example.com",
        "exception": {
            "values": [{"value": "key sk_live_0123abcd", "stacktrace": {"frames": [{"lineno": 3}]}}]
        },
        "request": {"url": "https://shop.example/orders/guest/eyJvcmRlciI6NDJ9:1tX2:abc/"},
        "breadcrumbs": {"values": [{"message": "mail to b@example.com"}]},
        "tags": {"seller": "7"},
    }
    token = request_id._current.set("pay-7d41e0")
    try:
        sent = sentry.sentry_before_send(event, {})
    finally:
        request_id._current.reset(token)
    assert sent == {
        "message": "refused for [email]",
        "exception": {
            "values": [{"value": "key [secret]", "stacktrace": {"frames": [{"lineno": 3}]}}]
        },
        "request": {"url": "https://shop.example/orders/guest/[redacted]/"},
        "breadcrumbs": {"values": [{"message": "mail to [email]"}]},
        "tags": {"seller": "7", "request_id": "pay-7d41e0"},
    }  # fmt: skip
