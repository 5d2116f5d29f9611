"""manage.py export_invoices: the invoice CSV export, to a file or stdout."""

import os
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from marketplace.errors import ApplicationError
from reporting.exports import PROGRESS_EVERY, invoice_export_write
from reporting.filters import invoice_export_filters_parse

_OPTION_FOR_FIELD = {"seller": "--seller", "date_from": "--from", "date_to": "--to"}


class Command(BaseCommand):
    help = "Export issued invoices across sellers as CSV (the same columns as the admin and API)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seller", metavar="ID", help="Only this seller's invoices.")
        parser.add_argument(
            "--from", dest="date_from", metavar="YYYY-MM-DD", help="Invoice date from (inclusive)."
        )
        parser.add_argument(
            "--to", dest="date_to", metavar="YYYY-MM-DD", help="Invoice date to (inclusive)."
        )
        parser.add_argument(
            "--output",
            default="-",
            metavar="PATH|-",
            help="Where to write the CSV; '-' (the default) is stdout.",
        )
        parser.add_argument(
            "--progress-every",
            type=int,
            default=PROGRESS_EVERY,
            metavar="N",
            help="With --output PATH, report progress every N invoices.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            filters = invoice_export_filters_parse(
                seller=options["seller"], date_from=options["date_from"], date_to=options["date_to"]
            )
        except ApplicationError as error:
            option = _OPTION_FOR_FIELD.get(error.field or "", error.field)
            raise CommandError(f"{option}: {error.message}") from None
        if options["progress_every"] < 1:
            raise CommandError("--progress-every: must be at least 1.")

        output: str = options["output"]
        if output == "-":
            rows = invoice_export_write(filters, self.stdout)
            self.stderr.write(f"wrote {rows} invoices to stdout")
            return

        path = Path(output)
        if path.is_dir():
            raise CommandError(f"--output: {output!r} is a folder; give a file path.")
        if not path.parent.is_dir():
            raise CommandError(f"--output: the folder {str(path.parent)!r} does not exist.")
        # Written beside the target and renamed at the end: never a half-written export.
        try:
            fd, partial = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".partial", dir=path.parent
            )
        except OSError as error:
            raise CommandError(f"--output: cannot write to {output!r}: {error.strerror}.") from None
        try:
            with open(fd, "w", encoding="utf-8", newline="") as stream:
                rows = invoice_export_write(
                    filters,
                    stream,
                    lambda done: self.stderr.write(f"{done} invoices written"),
                    progress_every=options["progress_every"],
                )
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self.stderr.write(f"wrote {rows} invoices to {path}")
