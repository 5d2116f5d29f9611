import csv

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from invoicing import services
from invoicing.models import Finding, Invoice, InvoiceState


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin[Invoice]):
    """A read-only mirror of the documents in sellers' entities, with a retry for failures."""

    list_display = [
        "__str__",
        "kind",
        "state",
        "seller",
        "order",
        "date",
        "currency",
        "total_gross",
        "attempts",
        "last_error",
    ]
    list_filter = ["state", "kind", "currency", "seller"]
    search_fields = ["number", "remote_id", "entity_id", "order__id", "seller__business_name"]
    date_hierarchy = "date"
    actions = ["retry"]
    readonly_fields = [field.name for field in Invoice._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        return False

    @admin.action(description="Retry issuing the selected failed documents", permissions=["view"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        failed = list(queryset.filter(state=InvoiceState.FAILED).values_list("pk", flat=True))
        for invoice_id in failed:
            services.document_retry(invoice_id=invoice_id)
        skipped = queryset.count() - len(failed)
        self.message_user(
            request,
            f"Retry requested for {len(failed)} document(s); {skipped} skipped (not failed).",
            messages.SUCCESS if failed else messages.WARNING,
        )


@admin.register(Finding)
class FindingAdmin(admin.ModelAdmin[Finding]):
    """What the last reconciliation run found; exportable as CSV."""

    list_display = ["kind", "seller", "order_id", "remote_id", "detail", "run_at"]
    list_filter = ["kind", "seller"]
    search_fields = ["detail", "remote_id", "order_id"]
    actions = ["export_csv"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Finding | None = None) -> bool:
        return False

    @admin.action(description="Export the selected findings as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Finding]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="reconciliation.csv"'
        writer = csv.writer(response)
        writer.writerow(["run_at", "seller_id", "kind", "order_id", "remote_id", "detail"])
        for finding in queryset.order_by("seller_id", "kind", "pk"):
            writer.writerow(
                [finding.run_at.isoformat(), finding.seller_id, finding.kind,
                 finding.order_id or "", finding.remote_id, finding.detail]
            )  # fmt: skip
        return response
