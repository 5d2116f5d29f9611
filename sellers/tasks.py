from typing import Any

from celery import Task, shared_task

from invoicing.client import Transient
from invoicing.retry import retry_delay
from sellers import services

MAX_ATTEMPTS = 8


@shared_task(
    name="sellers.create_seller_entity", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS
)
def create_seller_entity(self: Task[Any, Any], seller_id: int) -> None:
    try:
        services.seller_entity_create(seller_id=seller_id)
    except Transient as error:
        if self.request.retries >= MAX_ATTEMPTS:
            services.seller_entity_mark_failed(seller_id=seller_id, reason=str(error))
            return
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries, error)) from error
