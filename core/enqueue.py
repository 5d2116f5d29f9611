"""Enqueueing a task after commit without turning a committed request into an error.

The work a task does is recorded in the transaction that needs it (an outbox row, a pending
state), so a message the broker cannot take loses nothing: the sweeper that re-drives that
state sends it again. What must not happen is the broker's error reaching the request, whose
transaction has already committed: the buyer would be told that a payment failed when it went
through.
"""

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task[Any, Any], *args: object) -> None:
    """`task.delay(*args)` once the current transaction commits (at once outside one); a broker
    that cannot take the message is logged as a warning and left to the sweeper."""

    def send() -> None:
        try:
            task.delay(*args)
        except Exception as error:  # kombu, redis and socket errors alike: the broker is away
            logger.warning(
                "task %s%r not enqueued (%s: %s); left for the sweeper",
                task.name,
                args,
                type(error).__name__,
                error,
            )

    transaction.on_commit(send)
