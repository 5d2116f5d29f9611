"""Compare the mirror with the sellers' entities that changed (or all, with --full); print
what does not match."""

from argparse import ArgumentParser

from django.core.management.base import BaseCommand

from invoicing.reconciliation import reconcile


class Command(BaseCommand):
    help = (
        "Reconcile our invoice mirror with the documents in the sellers' entities that changed "
        "since their last visit; --full lists every active seller's entity again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--full",
            action="store_true",
            help="List every document of every active seller (a first run, or a repair).",
        )

    def handle(self, *args: object, **options: object) -> None:
        findings = reconcile(full=bool(options["full"]))
        for finding in findings:
            self.stdout.write(
                f"{finding.seller_id}\t{finding.kind}\t{finding.order_id or ''}\t"
                f"{finding.remote_id}\t{finding.detail}"
            )
        self.stderr.write(
            f"{len(findings)} finding(s) in the sellers visited; listed in admin under Findings"
        )
