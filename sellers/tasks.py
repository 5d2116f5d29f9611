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


@shared_task(
    name="sellers.update_seller_entity", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS
)
def update_seller_entity(self: Task[Any, Any], seller_id: int) -> None:
    try:
        services.seller_entity_update(seller_id=seller_id)
    except Transient as error:
        if self.request.retries >= MAX_ATTEMPTS:
            services.seller_entity_update_mark_failed(seller_id=seller_id, reason=str(error))
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
    name="sellers.delete_removed_entity_user", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS
)
def delete_removed_entity_user(self: Task[Any, Any], removal_id: int) -> None:
    try:
        services.entity_user_removal_run(removal_id=removal_id)
    except Transient as error:
        if self.request.retries >= MAX_ATTEMPTS:
            services.entity_user_removal_mark_failed(removal_id=removal_id, reason=str(error))
            return
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries, error)) from error
