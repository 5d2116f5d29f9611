"""Create the marketplace operator's Space Invoices entity from the OPERATOR_* settings (once)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from invoicing.client import SpaceInvoicesError
from invoicing.operator import operator_entity_ensure


class Command(BaseCommand):
    help = (
        "Create the operator's entities if missing: commission (MP-, MPCN-) and deemed-supplier "
        "sales ({yyyy}-{nnnnn}, CN-)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            operator = operator_entity_ensure()
        except ApplicationError as error:
            raise CommandError(f"{error.field}: {error.message}") from None
        except SpaceInvoicesError as error:
            raise CommandError(f"Space Invoices refused the entity: {error}") from None
        self.stdout.write(
            f"{operator.entity_id}\t{operator.deemed_entity_id}\t{operator.name}\t{operator.country}"
        )
