from collections.abc import Callable
from typing import Any

from celery import Task, shared_task

from invoicing.client import Transient
from invoicing.retry import retry_delay
from sellers import services

MAX_ATTEMPTS = 8


def _run(
    task: Task[Any, Any],
    service: Callable[..., object],
    give_up: Callable[..., object],
    **ids: int,
) -> None:
    """Run the service; retry a transient failure with backoff, and after the last attempt
    record it with `give_up`."""
    try:
        service(**ids)
    except Transient as error:
        if task.request.retries >= MAX_ATTEMPTS:
            give_up(**ids, reason=str(error))
            return
        raise task.retry(exc=error, countdown=retry_delay(task.request.retries, error)) from error


@shared_task(
    name="sellers.create_seller_entity", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS
)
def create_seller_entity(self: Task[Any, Any], seller_id: int) -> None:
    _run(
        self, services.seller_entity_create, services.seller_entity_mark_failed, seller_id=seller_id
    )


@shared_task(
    name="sellers.update_seller_entity", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS
)
def update_seller_entity(self: Task[Any, Any], seller_id: int) -> None:
    _run(
        self,
        services.seller_entity_update,
        services.seller_entity_update_mark_failed,
        seller_id=seller_id,
    )


@shared_task(name="sellers.mirror_seller_user", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS)
def mirror_seller_user(self: Task[Any, Any], seller_user_id: int) -> None:
    _run(
        self,
        services.seller_user_mirror,
        services.seller_user_mirror_mark_failed,
        seller_user_id=seller_user_id,
    )


@shared_task(
    name="sellers.delete_removed_entity_user", bind=True, acks_late=True, max_retries=MAX_ATTEMPTS
)
def delete_removed_entity_user(self: Task[Any, Any], removal_id: int) -> None:
    _run(
        self,
        services.entity_user_removal_run,
        services.entity_user_removal_mark_failed,
        removal_id=removal_id,
    )
