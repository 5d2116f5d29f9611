"""Thin tasks: load by id, call one service. Transient failures, not-yet-ready documents and
an unavailable database or broker are retried with backoff; the services decide when a row has
used its attempts."""

import logging
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from core.errors import ApplicationError
from core.unavailable import INFRASTRUCTURE_ERRORS
from invoicing import commission_invoices as commission_invoices_module
from invoicing import operator, reconciliation, seller_entities, services
from invoicing.client import Transient
from invoicing.retry import retry_delay

logger = logging.getLogger(__name__)

MAX_RETRIES = 20  # beyond this a pending row waits for the sweeper
RETRIED: tuple[type[Exception], ...] = (Transient, services.NotReady, *INFRASTRUCTURE_ERRORS)


def _run(task: Task[Any, Any], service: Callable[..., object], invoice_id: int) -> None:
    try:
        service(invoice_id=invoice_id)
    except RETRIED as error:
        raise task.retry(exc=error, countdown=retry_delay(task.request.retries, error)) from error


@shared_task(name="invoicing.issue_document", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def issue_document(self: Task[Any, Any], invoice_id: int) -> None:
    """The document issued, then emailed to its buyer (the send task's work, done here)."""
    _run(self, services.document_issue_and_send, invoice_id)


@shared_task(name="invoicing.send_document", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def send_document(self: Task[Any, Any], invoice_id: int) -> None:
    """An issued document's email where the issue task did not post it: a document the sweeper,
    reconciliation or an operator found issued, or whose email is due again."""
    _run(self, services.document_send, invoice_id)


@shared_task(name="invoicing.record_payment", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def record_payment(self: Task[Any, Any], invoice_id: int) -> None:
    _run(self, services.payment_record, invoice_id)


@shared_task(name="invoicing.sweep_pending")
def sweep_pending() -> int:
    return len(services.document_sweep_pending()) + len(
        seller_entities.seller_entity_sweep_pending()
    )


@shared_task(name="invoicing.e_invoicing_sync")
def e_invoicing_sync() -> int:
    """Send the readiness table's e-invoicing settings to the entities that lack them."""
    return len(seller_entities.seller_e_invoicing_sync())


@shared_task(name="invoicing.reconcile", time_limit=1800, soft_time_limit=1700)
def reconcile() -> int:
    """Visit the sellers due until 25 minutes have passed; the rest wait for the next run."""
    return len(reconciliation.reconcile(deadline=time.monotonic() + 1500))


# A seller's entity, its users and the removed members' users (invoicing.seller_entities). The
# tasks keep the names they had when sellers ran them, so messages already queued still run.

SELLER_MAX_ATTEMPTS = 8
SELLER_RETRIED: tuple[type[Exception], ...] = (Transient, *INFRASTRUCTURE_ERRORS)


def _run_seller_work(
    task: Task[Any, Any],
    service: Callable[..., object],
    give_up: Callable[..., object],
    **ids: int,
) -> None:
    """Run the service; retry a transient failure or an unavailable database or broker with
    backoff, and after the last attempt record it with `give_up`."""
    try:
        service(**ids)
    except SELLER_RETRIED as error:
        if task.request.retries >= SELLER_MAX_ATTEMPTS:
            give_up(**ids, reason=str(error))
            return
        raise task.retry(exc=error, countdown=retry_delay(task.request.retries, error)) from error


@shared_task(
    name="sellers.create_seller_entity", bind=True, acks_late=True, max_retries=SELLER_MAX_ATTEMPTS
)
def create_seller_entity(self: Task[Any, Any], seller_id: int) -> None:
    _run_seller_work(
        self,
        seller_entities.seller_entity_create,
        seller_entities.seller_entity_mark_failed,
        seller_id=seller_id,
    )


@shared_task(
    name="sellers.update_seller_entity", bind=True, acks_late=True, max_retries=SELLER_MAX_ATTEMPTS
)
def update_seller_entity(self: Task[Any, Any], seller_id: int) -> None:
    _run_seller_work(
        self,
        seller_entities.seller_entity_update,
        seller_entities.seller_entity_update_mark_failed,
        seller_id=seller_id,
    )


@shared_task(
    name="sellers.mirror_seller_user", bind=True, acks_late=True, max_retries=SELLER_MAX_ATTEMPTS
)
def mirror_seller_user(self: Task[Any, Any], seller_user_id: int) -> None:
    _run_seller_work(
        self,
        seller_entities.seller_user_mirror,
        seller_entities.seller_user_mirror_mark_failed,
        seller_user_id=seller_user_id,
    )


@shared_task(
    name="sellers.delete_removed_entity_user",
    bind=True,
    acks_late=True,
    max_retries=SELLER_MAX_ATTEMPTS,
)
def delete_removed_entity_user(self: Task[Any, Any], removal_id: int) -> None:
    _run_seller_work(
        self,
        seller_entities.entity_user_removal_run,
        seller_entities.entity_user_removal_mark_failed,
        removal_id=removal_id,
    )


# The operator's monthly commission documents (invoicing.commission_invoices)


@shared_task(name="invoicing.commission_invoices")
def commission_invoices() -> int:
    """Beat, on COMMISSION_INVOICE_DAY: the previous month's commission documents, per seller."""
    period = commission_invoices_module.previous_month(timezone.localdate())
    try:
        operator.operator_entity_ensure()
    except ApplicationError as error:  # not configured: nothing can be issued
        logger.error("commission documents of %s not written: %s", period, error)
        return 0
    except Transient as error:  # written anyway: they wait for the entity (the sweeper)
        logger.warning("operator entity not created yet: %s", error)
    sellers = commission_invoices_module.commission_sellers_for(period)
    for seller_id in sellers:
        commission_documents.delay(seller_id, period.isoformat())
    return len(sellers)


COMMISSION_RETRIED: tuple[type[Exception], ...] = (
    commission_invoices_module.SalesPending,
    *INFRASTRUCTURE_ERRORS,
)


@shared_task(
    name="invoicing.commission_documents", bind=True, acks_late=True, max_retries=MAX_RETRIES
)
def commission_documents(self: Task[Any, Any], seller_id: int, period: str) -> None:
    try:
        commission_invoices_module.commission_documents_write(
            seller_id=seller_id, period_start=date.fromisoformat(period)
        )
    except COMMISSION_RETRIED as error:
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries, error)) from error
