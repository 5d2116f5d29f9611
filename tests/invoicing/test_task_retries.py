"""Tasks retry an unavailable database or broker with backoff, as they retry transient API
errors; anything else fails at once."""

import kombu.exceptions
import redis.exceptions
from django.db import InterfaceError, OperationalError

from invoicing import seller_entities, services, tasks
from marketplace.celery import app as celery_app


def failing_then_done(monkeypatch, errors: list[Exception]) -> list[int]:
    """document_send raises each of `errors` in turn, then succeeds; returns the calls' ids."""
    calls: list[int] = []

    def send(*, invoice_id: int) -> None:
        calls.append(invoice_id)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]

    monkeypatch.setattr(services, "document_send", send)
    # As on a worker: a retry is a new run (here, inline) and a failure is the task's result.
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)
    return calls


def test_database_and_broker_errors_are_retried_until_the_work_is_done(monkeypatch, settings):
    settings.INVOICE_RETRY_MAX_DELAY = 0
    calls = failing_then_done(
        monkeypatch,
        [
            OperationalError("server closed the connection unexpectedly"),
            InterfaceError("connection already closed"),
            kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379."),
            redis.exceptions.TimeoutError("Timeout reading from socket"),
        ],
    )

    result = tasks.send_document.apply(args=[7])

    assert result.successful()
    assert calls == [7, 7, 7, 7, 7]


def test_other_errors_are_not_retried(monkeypatch):
    calls = failing_then_done(monkeypatch, [ValueError("a bug")])

    result = tasks.send_document.apply(args=[7])

    assert result.failed()
    assert calls == [7]


def test_seller_tasks_retry_database_and_broker_errors_until_the_work_is_done(
    monkeypatch, settings
):
    settings.INVOICE_RETRY_MAX_DELAY = 0
    calls: list[int] = []
    errors = [
        OperationalError("server closed the connection unexpectedly"),
        kombu.exceptions.OperationalError("Error 111 connecting to 127.0.0.1:6379."),
        redis.exceptions.ConnectionError("Connection refused"),
    ]

    def create(*, seller_id: int) -> None:
        calls.append(seller_id)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]

    monkeypatch.setattr(seller_entities, "seller_entity_create", create)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)

    result = tasks.create_seller_entity.apply(args=[3])

    assert result.successful()
    assert calls == [3, 3, 3, 3]


def test_a_seller_task_out_of_attempts_on_a_database_error_is_recorded_failed(
    monkeypatch, settings
):
    settings.INVOICE_RETRY_MAX_DELAY = 0
    failed: list[tuple[int, str]] = []

    def create(*, seller_id: int) -> None:
        raise InterfaceError("connection already closed")

    def mark_failed(*, seller_id: int, reason: str) -> None:
        failed.append((seller_id, reason))

    monkeypatch.setattr(seller_entities, "seller_entity_create", create)
    monkeypatch.setattr(seller_entities, "seller_entity_mark_failed", mark_failed)
    monkeypatch.setitem(celery_app.conf, "task_eager_propagates", False)

    result = tasks.create_seller_entity.apply(args=[3])

    assert result.successful()
    assert failed == [(3, "connection already closed")]
