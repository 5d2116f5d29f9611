from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps

from core.request_id import task_signals_connect


class CoreConfig(AppConfig):
    """Cross-cutting plumbing every app may use; it imports none of them."""

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        task_signals_connect()


class OperatorAdminConfig(admin_apps.AdminConfig):
    """Django admin, with the operators' site (its index is their dashboard)."""

    default = False  # CoreConfig stays this module's config for "core"
    default_site = "core.admin_site.OperatorAdminSite"
