"""Background CSV exports (one row per requested export, its status and its file), the
sellers x months rollup of issued documents, and the operators' table of euro exchange rates."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from sellers.models import Seller


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    report = models.CharField(max_length=20)  # a name in reporting.exports.EXPORTS
    # The validated filters and CSV format, as the parameters that parse back to them
    # (export_parameters_to_json).
    filters = models.JSONField(default=dict)
    # Set for a seller user's export: the seller it is confined to (from the membership).
    seller = models.ForeignKey(
        Seller, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    file = models.CharField(max_length=300, blank=True)  # relative to MEDIA_ROOT
    row_count = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        # Operators' access to finance data across sellers (core/permissions.py).
        permissions = [
            ("view_reports", "Can view the finance report pages"),
            ("export_reports", "Can export documents of every seller"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ExportStatus.values), name="export_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="done") | ~models.Q(file=""),
                name="export_done_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report} export #{self.pk} ({self.status})"


class SellerMonthRollup(models.Model):
    """Issued documents added up per seller, month and currency: the sellers x months summary
    reads these ~12 rows a seller a year, not the documents.

    `documents`, `net`, `tax`, `gross` are the summary's own figures (all documents; credit notes
    subtract); the `credit_*` columns are the credit notes' share (unsigned), for a report of
    one kind. Kept up to date in the transaction that issues a document
    (`reporting.services.rollup_document_issued`), recomputed from the documents by
    `manage.py rebuild_report_rollup`.
    """

    # No index of its own: the unique key below starts with the seller.
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()  # its first day
    currency = models.CharField(max_length=3)
    documents = models.PositiveIntegerField()
    net = models.DecimalField(max_digits=18, decimal_places=2)
    tax = models.DecimalField(max_digits=18, decimal_places=2)
    gross = models.DecimalField(max_digits=18, decimal_places=2)
    credit_notes = models.PositiveIntegerField()
    credit_net = models.DecimalField(max_digits=18, decimal_places=2)
    credit_tax = models.DecimalField(max_digits=18, decimal_places=2)
    credit_gross = models.DecimalField(max_digits=18, decimal_places=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "month", "currency"], name="report_rollup_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.seller_id} {self.month:%Y-%m} {self.currency}"


class ExchangeRate(models.Model):
    """The ECB's euro reference rate of one currency on one day, as operators enter it in admin:
    how many units of the currency one euro buys (the ECB quotes GBP 0.84183 for EUR 1).

    The OSS return converts a quarter's amounts at the rate of its last day (reporting.filings.oss).
    """

    currency = models.CharField(
        max_length=3,
        validators=[RegexValidator(r"^[A-Z]{3}\Z", "Enter an ISO 4217 currency code such as GBP.")],
    )
    date = models.DateField()
    units_per_eur = models.DecimalField(max_digits=16, decimal_places=6)

    class Meta:
        ordering = ["-date", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "date"], name="exchange_rate_one_per_day"),
            models.CheckConstraint(
                condition=models.Q(units_per_eur__gt=0), name="exchange_rate_positive"
            ),
            # The euro needs no rate: amounts in euro are taken as they are.
            models.CheckConstraint(
                condition=~models.Q(currency="EUR"), name="exchange_rate_not_euro"
            ),
        ]

    def __str__(self) -> str:
        return f"EUR 1 = {self.currency} {self.units_per_eur} on {self.date}"
