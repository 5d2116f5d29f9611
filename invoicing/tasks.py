"""Thin tasks: load by id, call one service. Transient failures, not-yet-ready documents and
an unavailable database or broker are retried with backoff; the services decide when a row has
used its attempts."""

import time
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task

from invoicing import reconciliation, services
from invoicing.client import Transient
from invoicing.retry import retry_delay
from marketplace.unavailable import INFRASTRUCTURE_ERRORS

MAX_RETRIES = 20  # beyond this a pending row waits for the sweeper
RETRIED: tuple[type[Exception], ...] = (Transient, services.NotReady, *INFRASTRUCTURE_ERRORS)


def _run(task: Task[Any, Any], service: Callable[..., object], invoice_id: int) -> None:
    try:
        service(invoice_id=invoice_id)
    except RETRIED as error:
        raise task.retry(exc=error, countdown=retry_delay(task.request.retries, error)) from error


@shared_task(name="invoicing.issue_document", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def issue_document(self: Task[Any, Any], invoice_id: int) -> None:
    _run(self, services.document_issue, invoice_id)


@shared_task(name="invoicing.send_document", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def send_document(self: Task[Any, Any], invoice_id: int) -> None:
    _run(self, services.document_send, invoice_id)


@shared_task(name="invoicing.record_payment", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def record_payment(self: Task[Any, Any], invoice_id: int) -> None:
    _run(self, services.payment_record, invoice_id)


@shared_task(name="invoicing.sweep_pending")
def sweep_pending() -> int:
    return len(services.document_sweep_pending())


@shared_task(name="invoicing.reconcile", time_limit=1800, soft_time_limit=1700)
def reconcile() -> int:
    """Visit the sellers due until 25 minutes have passed; the rest wait for the next run."""
    return len(reconciliation.reconcile(deadline=time.monotonic() + 1500))
