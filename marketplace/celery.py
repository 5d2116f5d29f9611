"""The Celery application shared by the web process, the workers and beat."""

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, setup_logging, worker_init
from django.conf import settings
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
