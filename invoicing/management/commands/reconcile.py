"""Compare the mirror with every active seller's entity and print what does not match."""

from django.core.management.base import BaseCommand

from invoicing.reconciliation import reconcile


class Command(BaseCommand):
    help = "Reconcile our invoice mirror with the documents in each seller's entity."

    def handle(self, *args: object, **options: object) -> None:
        findings = reconcile()
        for finding in findings:
            self.stdout.write(
                f"{finding.seller_id}\t{finding.kind}\t{finding.order_id or ''}\t"
                f"{finding.remote_id}\t{finding.detail}"
            )
        self.stderr.write(f"{len(findings)} finding(s); listed in admin under Findings")
