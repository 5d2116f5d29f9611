"""manage.py rebuild_report_rollup: recompute the sellers x months rollup from the issued
documents (once after deploying it on existing data, or to repair it)."""

from typing import Any

from django.core.management.base import BaseCommand

from reporting.services import rollup_rebuild


class Command(BaseCommand):
    help = "Recompute the sellers x months rollup (reporting) from the issued documents."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = rollup_rebuild()
        self.stdout.write(f"Rebuilt the report rollup: {rows} seller-month rows.")
