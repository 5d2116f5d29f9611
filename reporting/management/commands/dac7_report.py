"""manage.py dac7_report --year 2026 --output PATH: the year's DAC7 XML file, and on stderr what
it holds and what it leaves out (incomplete sellers, documents without a euro rate)."""

import os
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.errors import ApplicationError
from reporting.filings.dac7 import Dac7Report, dac7_report, dac7_xml, dac7_year_validate


class Command(BaseCommand):
    help = "Write the DAC7 platform report of a year as XML (the dac7 package's DPI schema)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--year", required=True, metavar="YYYY", help="The reported year.")
        parser.add_argument("--output", required=True, metavar="PATH", help="The XML file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["output"])
        if path.is_dir() or not path.parent.is_dir():
            raise CommandError(f"--output: {str(path)!r} is not a file path in a folder.")
        try:
            year = dac7_year_validate(options["year"], today_year=timezone.localdate().year)
            report = dac7_report(year=year)
            xml = dac7_xml(report, timestamp=timezone.now())
        except ApplicationError as error:
            raise CommandError(f"{_option(error.field)}: {error.message}") from None
        _write(path, xml)
        self._summary(report, path)

    def _summary(self, report: Dac7Report, path: Path) -> None:
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        for item in report.sellers:
            for problem in item.problems:
                self.stderr.write(f"left out: seller #{item.seller.pk}: {problem}")
        self.stderr.write(
            f"wrote {len(report.complete_sellers)} of {len(report.sellers)} reportable sellers "
            f"to {path} ({report.below_de_minimis} below the de-minimis limits)"
        )


def _option(field: str | None) -> str:
    return "--year" if field == "year" else str(field)


def _write(path: Path, xml: str) -> None:
    """Written beside the target and renamed: never a half-written file."""
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with open(fd, "w", encoding="utf-8") as stream:
            stream.write(xml)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
