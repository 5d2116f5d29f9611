from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.core import checks

from marketplace.checks import production_secrets_check
from marketplace.request_id import task_signals_connect


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        checks.register(production_secrets_check, checks.Tags.security)
        task_signals_connect()


class OperatorAdminConfig(admin_apps.AdminConfig):
    """Django admin, with the operators' site (its index is their dashboard)."""

    default = False  # MarketplaceConfig stays this module's config for "marketplace"
    default_site = "marketplace.admin_site.OperatorAdminSite"
