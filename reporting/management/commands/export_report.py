"""manage.py export_report REPORT: a CSV export (the same layouts as admin and API) to a file
or stdout, with a progress bar when writing a file."""

import os
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from reporting.exports import EXPORTS, CsvExport, export_write
from reporting.filters import ExportParameters, export_parameters_parse

# Each filter parameter and the option that sets it.
OPTIONS = {
    "seller": "--seller",
    "date_from": "--from",
    "date_to": "--to",
    "seller_country": "--seller-country",
    "buyer_country": "--buyer-country",
    "currency": "--currency",
    "kind": "--kind",
    "format": "--format",
    "delimiter": "--delimiter",
}
BAR_WIDTH = 30


def progress_bar(done: int, total: int) -> str:
    share = done / total if total else 1.0
    filled = min(BAR_WIDTH, int(share * BAR_WIDTH))
    return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} rows ({share:.0%})"


class Command(BaseCommand):
    help = "Export a report as CSV: " + ", ".join(EXPORTS) + "."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("report", choices=sorted(EXPORTS))
        parser.add_argument("--seller", metavar="ID", help="Only this seller's documents.")
        parser.add_argument(
            "--from", dest="date_from", metavar="YYYY-MM-DD", help="Document date from (inclusive)."
        )
        parser.add_argument(
            "--to", dest="date_to", metavar="YYYY-MM-DD", help="Document date to (inclusive)."
        )
        parser.add_argument("--seller-country", metavar="CC")
        parser.add_argument("--buyer-country", metavar="CC")
        parser.add_argument("--currency", metavar="CUR")
        parser.add_argument("--kind", choices=["invoice", "credit_note"])
        parser.add_argument(
            "--format", metavar="csv|excel", help="excel: UTF-8 with a BOM (default csv)."
        )
        parser.add_argument("--delimiter", metavar="','|';'", help="Default ','.")
        parser.add_argument(
            "--output",
            default="-",
            metavar="PATH|-",
            help="Where to write the CSV; '-' (the default) is stdout.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        export = EXPORTS[options["report"]]
        params = {name: options[name] for name in OPTIONS if options.get(name) is not None}
        try:
            parameters = export_parameters_parse(params, export)
        except ApplicationError as error:
            option = OPTIONS.get(error.field or "", error.field)
            raise CommandError(f"{option}: {error.message}") from None

        output: str = options["output"]
        if output == "-":
            rows = export_write(
                export, parameters.filters, self.stdout, csv_format=parameters.csv_format
            )
            self.stderr.write(f"wrote {rows} rows to stdout")
            return
        self._write_file(export, parameters, Path(output))

    def _write_file(self, export: CsvExport, parameters: ExportParameters, path: Path) -> None:
        if path.is_dir():
            raise CommandError(f"--output: {str(path)!r} is a folder; give a file path.")
        if not path.parent.is_dir():
            raise CommandError(f"--output: the folder {str(path.parent)!r} does not exist.")
        total = export.count(parameters.filters)
        # On a terminal the bar redraws in place; in a log it is one line per batch.
        ending = "\r" if self.stderr.isatty() else "\n"

        def progress(done: int) -> None:
            self.stderr.write(progress_bar(done, total), ending=ending)

        # Written beside the target and renamed at the end: never a half-written export.
        try:
            fd, partial = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".partial", dir=path.parent
            )
        except OSError as error:
            raise CommandError(
                f"--output: cannot write to {str(path)!r}: {error.strerror}."
            ) from None
        try:
            with open(fd, "w", encoding="utf-8", newline="") as stream:
                rows = export_write(
                    export,
                    parameters.filters,
                    stream,
                    progress,
                    csv_format=parameters.csv_format,
                )
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self.stderr.write(f"wrote {rows} rows to {path}")
