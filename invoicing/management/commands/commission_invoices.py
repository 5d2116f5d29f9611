"""Write a month's commission invoices and credit notes now (beat does it on
COMMISSION_INVOICE_DAY for the previous month)."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from invoicing.commission_invoices import (
    SalesPending,
    commission_documents_write,
    commission_sellers_for,
)
from invoicing.operator import operator_entity_id


class Command(BaseCommand):
    help = "Write the commission documents of --period (YYYY-MM) for every seller with sales."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="The month, YYYY-MM.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = date.fromisoformat(f"{options['period']}-01")
        except ValueError:
            raise CommandError(f"--period: not a month YYYY-MM: {options['period']!r}") from None
        if not operator_entity_id():
            self.stderr.write("the operator entity is not created yet: the documents will wait")
        for seller_id in commission_sellers_for(period):
            try:
                documents = commission_documents_write(seller_id=seller_id, period_start=period)
            except SalesPending as error:
                self.stderr.write(str(error))
                continue
            for document in documents:
                self.stdout.write(f"{seller_id}\t{document.kind}\t{document.pk}")
