from django.apps import AppConfig
from django.core import checks

from marketplace.checks import production_secrets_check


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        checks.register(production_secrets_check, checks.Tags.security)
