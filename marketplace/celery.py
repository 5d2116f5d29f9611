"""The Celery application shared by the web process, the workers and beat."""

import os
from typing import Any

from celery import Celery, Task
from celery.signals import beat_init, setup_logging, task_postrun, task_prerun, worker_init
from django.conf import settings
from django.db import connections
from django.utils.log import configure_logging

from marketplace.checks import refuse_to_start_on_errors

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _log_through_django_settings(**kwargs: Any) -> None:
    """Workers and beat log through settings.LOGGING, whose handlers redact secrets and personal
    data; answering this signal keeps Celery from installing handlers of its own."""
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


@worker_init.connect
@beat_init.connect
def _refuse_bad_configuration(**kwargs: Any) -> None:
    """The worker and beat run the start-up checks a management command runs (an embedded
    SECRET_KEY with DEBUG off, ...) and exit with status 1 on an error, before taking a task or
    sending one. Celery catches a receiver's exceptions, but not the SystemExit this raises."""
    refuse_to_start_on_errors()


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(task: Task[Any, Any] | None = None, **kwargs: Any) -> None:
    """Around each task a worker runs, what Django does around each request: close a connection
    that errored or is older than CONN_MAX_AGE, and check a kept one before its first query
    (CONN_HEALTH_CHECKS). Celery's own fixup would close it every time
    (settings.CELERY_DB_REUSE_MAX). An eager task runs in its caller, whose connection (and
    transaction) it leaves alone."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()
