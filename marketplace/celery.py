"""The Celery application shared by the web process, the workers and beat."""

import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from django.conf import settings
from django.utils.log import configure_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

app = Celery("marketplace")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _log_through_django_settings(**kwargs: Any) -> None:
    """Workers and beat log through settings.LOGGING, whose handlers redact secrets and personal
    data; answering this signal keeps Celery from installing handlers of its own."""
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
