import logging
from typing import Any

from celery import Task, shared_task

from invoicing.client import Transient
from invoicing.retry import retry_delay
from sellers import services

logger = logging.getLogger(__name__)

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


@shared_task(name="sellers.mirror_seller_user", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS)
def mirror_seller_user(self: Task[Any, Any], seller_user_id: int) -> None:
    try:
        services.seller_user_mirror(seller_user_id=seller_user_id)
    except Transient as error:
        if self.request.retries >= MAX_ATTEMPTS:
            services.seller_user_mirror_mark_failed(
                seller_user_id=seller_user_id, reason=str(error)
            )
            return
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries, error)) from error


@shared_task(
    name="sellers.remove_seller_user_remote", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS
)
def remove_seller_user_remote(self: Task[Any, Any], entity_id: str, entity_user_id: str) -> None:
    try:
        services.seller_user_remote_remove(entity_id=entity_id, entity_user_id=entity_user_id)
    except Transient as error:
        if self.request.retries >= MAX_ATTEMPTS:
            logger.error("entity %s: user %s not deleted: %s", entity_id, entity_user_id, error)
            return
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries, error)) from error
