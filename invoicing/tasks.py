from typing import Any

from celery import Task, shared_task

from invoicing import services
from invoicing.client import Transient
from invoicing.retry import retry_delay


@shared_task(name="invoicing.issue_invoice", bind=True, acks_late=True, max_retries=None)
def issue_invoice(self: Task[Any, Any], invoice_id: int) -> None:
    """The service decides when a row has used its attempts; this only schedules the next."""
    try:
        services.invoice_issue(invoice_id=invoice_id)
    except Transient as error:
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries, error)) from error


@shared_task(name="invoicing.sweep_pending")
def sweep_pending() -> int:
    return len(services.invoice_sweep_pending())
