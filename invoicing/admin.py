import csv
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from core import admin_site
from core.admin_site import (
    AutocompleteFilterAdmin,
    IndexedValuesFilter,
    RelatedAutocompleteFilter,
)
from core.errors import ApplicationError
from invoicing import order_admin_views, reconciliation, selectors, services
from invoicing.admin_dashboard import HELD_BY_VIES, HELD_FOR_OPERATOR, WAITING_FOR_ENTITY
from invoicing.client import SpaceInvoicesError
from invoicing.models import (
    Document,
    DocumentState,
    Finding,
    FindingKind,
    OperatorEntity,
    WebhookDelivery,
)
from marketplace.admin import OrderAdmin
from marketplace.models import Order
from sellers.admin_rows import SellerRowsAdmin


class HeldFilter(admin.SimpleListFilter):
    """Pending documents that cannot be sent yet, and why."""

    title = "held"
    parameter_name = "held"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [
            ("operator", "For an operator's decision (VAT due on a paid order)"),
            ("vies", "By the VIES check (seller's policy)"),
            ("entity", "Waiting for the seller's entity"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Document]) -> QuerySet[Document]:
        if self.value() == "operator":
            return queryset.filter(HELD_FOR_OPERATOR)
        if self.value() == "vies":
            return queryset.filter(HELD_BY_VIES)
        if self.value() == "entity":
            return queryset.filter(WAITING_FOR_ENTITY)
        return queryset


class OverCreditedFilter(admin.SimpleListFilter):
    """Invoices whose credit notes (ours and the seller's dashboard's) credit more than their
    total: a dashboard credit note made after ours, or several of them."""

    title = "credit"
    parameter_name = "credit"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [("over", "Credited above the invoice's total")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Document]) -> QuerySet[Document]:
        if self.value() == "over":
            return queryset.filter(pk__in=selectors.invoices_over_credited().values("pk"))
        return queryset


@admin.register(Document)
class InvoiceAdmin(SellerRowsAdmin[Document]):
    """A read-only mirror of the documents in sellers' entities, with a retry for failures and
    a release for invoices held for an operator's decision."""

    list_display = [
        "__str__",
        "state",
        "seller",
        "order_link",
        "date",
        "total",
        "attempts",
        "last_error",
        "held_reason",
    ]
    # A date filter rather than a date hierarchy, which reads the first and last dates and
    # every year of the mirror on each page (~35 ms per 100,000 documents).
    list_filter = [
        "purpose",
        "state",
        HeldFilter,
        OverCreditedFilter,
        "kind",
        ("currency", IndexedValuesFilter),
        ("transaction_type", IndexedValuesFilter),
        ("date", admin.DateFieldListFilter),
        ("seller", RelatedAutocompleteFilter),
    ]
    # Each has a trigram index on PostgreSQL (migration 0008); the seller's business name is
    # searched as well (SellerRowsAdmin). A buyer's email is searched among orders.
    search_fields = ["number", "remote_id", "entity_id", "correlation_id"]
    # A number alone is a document's or an order's id.
    id_search_fields = ("pk", "order_id")
    search_help_text = "A document or order id, or a number, remote id, entity id or seller name."
    actions = ["retry", "release"]
    readonly_fields = [field.name for field in Document._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/retry/",
                self.admin_site.admin_view(self._retry_view),
                name="invoicing_document_retry",
            ),
            *super().get_urls(),
        ]

    def _retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_retry_permission(request):
            raise PermissionDenied
        return order_admin_views.document_retry_view(request, self, object_id)

    def has_delete_permission(self, request: HttpRequest, obj: Document | None = None) -> bool:
        return False

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        shown = (
            Document.objects.filter(pk=object_id)
            if object_id.isdigit()
            else Document.objects.none()
        )
        for found in selectors.over_credits(invoices=shown):
            currency = found.invoice.currency
            messages.warning(
                request,
                f"Over-credited: its credit notes credit {found.credited_gross} {currency}, "
                f"{found.excess} {currency} more than its total of "
                f"{found.invoice.total_gross} {currency}.",
            )
        context = {**(extra_context or {}), "can_retry": self.has_retry_permission(request)}
        return super().change_view(request, object_id, form_url, context)

    @admin.display(description="total", ordering="total_gross")
    def total(self, invoice: Document) -> str:
        """Gross with its currency: one column, so the last error stays on screen."""
        return (
            f"{invoice.total_gross} {invoice.currency}" if invoice.total_gross is not None else "-"
        )

    @admin.display(description="order", ordering="order_id")
    def order_link(self, invoice: Document) -> str:
        if invoice.order_id is None:  # the operator's commission document of a month
            return f"Commission {invoice.period_start:%Y-%m}"
        url = reverse("admin:marketplace_order_change", args=[invoice.order_id])
        return format_html('<a href="{}">Order {}</a>', url, invoice.order_id)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        """The mirror is read-only here, but a retry changes documents: the model's change
        permission (has_change_permission says no to everyone, for the read-only pages)."""
        return request.user.has_perm("invoicing.change_document")

    def has_release_permission(self, request: HttpRequest) -> bool:
        return self.has_retry_permission(request)

    @admin.action(description="Retry issuing the selected failed documents", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Document]) -> TemplateResponse | None:
        by_state = dict(queryset.order_by().values_list("state").annotate(Count("pk")))
        count = by_state.get(DocumentState.FAILED, 0)
        skipped = {
            "already issued": by_state.get(DocumentState.ISSUED, 0),
            "still pending": by_state.get(DocumentState.PENDING, 0),
        }
        return admin_site.confirmed_action(
            request,
            self,
            action="retry",
            question=f"Retry {admin_site.counted(count, 'failed document')}?",
            eligible=queryset.filter(state=DocumentState.FAILED).order_by("pk"),
            eligible_count=count,
            skipped=skipped,
            button="Yes, retry",
            act=lambda invoice, actor: self._retry_one(request, invoice, actor),
            noun="document",
            outcome="queued for retry",
        )

    def _retry_one(self, request: HttpRequest, invoice: Document, actor: User) -> bool:
        """A credit note that no longer fits in what remains of its invoice is refused."""
        try:
            services.document_retry(invoice_id=invoice.pk, actor=actor)
        except ApplicationError as error:
            self.message_user(request, f"Not retried: {error}", messages.ERROR)
            return False
        return True

    @admin.action(
        description="Release the selected held invoices (issue them with the VAT due)",
        permissions=["release"],
    )
    def release(
        self, request: HttpRequest, queryset: QuerySet[Document]
    ) -> TemplateResponse | None:
        held = queryset.filter(HELD_FOR_OPERATOR).order_by("pk")
        count = held.count()
        return admin_site.confirmed_action(
            request,
            self,
            action="release",
            question=f"Release {admin_site.counted(count, 'held invoice')}?",
            eligible=held,
            eligible_count=count,
            skipped={"not held": queryset.count() - count},
            button="Yes, release",
            act=lambda invoice, actor: services.document_release(
                invoice_id=invoice.pk, actor=actor
            ),
            noun="invoice",
            outcome="released to be issued",
        )


@admin.register(Finding)
class FindingAdmin(AutocompleteFilterAdmin[Finding]):
    """What the last reconciliation run found; exportable as CSV."""

    list_display = ["kind", "seller", "order_id", "remote_id", "detail", "run_at"]
    list_filter = ["kind", ("seller", RelatedAutocompleteFilter)]
    list_select_related = ["seller"]
    search_fields = ["detail", "remote_id", "order_id"]
    actions = ["export_csv", "adopt"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Finding | None = None) -> bool:
        return False

    def has_adopt_permission(self, request: HttpRequest) -> bool:
        """Adopting writes the mirror: the documents' change permission, as for a retry."""
        return request.user.has_perm("invoicing.change_document")

    @admin.action(
        description="Adopt the Space Invoices document into the mirror", permissions=["adopt"]
    )
    def adopt(self, request: HttpRequest, queryset: QuerySet[Finding]) -> TemplateResponse | None:
        eligible = queryset.filter(kind=FindingKind.NOT_MIRRORED).order_by("pk")
        count = eligible.count()
        return admin_site.confirmed_action(
            request,
            self,
            action="adopt",
            question=f"Adopt {admin_site.counted(count, 'document')} into the mirror?",
            eligible=eligible,
            eligible_count=count,
            skipped={"not a document missing here": queryset.count() - count},
            button="Yes, adopt",
            act=lambda finding, actor: self._adopt_one(request, finding, actor),
            noun="document",
            outcome="adopted into the mirror",
        )

    def _adopt_one(self, request: HttpRequest, finding: Finding, actor: User) -> bool:
        try:
            reconciliation.finding_adopt(finding_id=finding.pk, actor=actor)
        except (ApplicationError, SpaceInvoicesError) as error:
            self.message_user(
                request, f"{finding.remote_id} was not adopted: {error}", messages.ERROR
            )
            return False
        return True

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


@admin.register(OperatorEntity)
class OperatorEntityAdmin(admin.ModelAdmin[OperatorEntity]):
    """The operator's own entity (manage.py operator_entity creates it from OPERATOR_*)."""

    list_display = ["name", "country", "vat_number", "entity_id", "created_at"]
    readonly_fields = [field.name for field in OperatorEntity._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: OperatorEntity | None = None
    ) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    """The Space Invoices webhook deliveries we accepted, and what each did to the mirror."""

    list_display = ["delivery_id", "event", "remote_id", "outcome", "received_at"]
    list_filter = ["event", "outcome"]
    search_fields = ["delivery_id", "remote_id"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WebhookDelivery | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: WebhookDelivery | None = None
    ) -> bool:
        return False


# An order's documents are invoicing's: the order's admin shows them below its lines.


class DocumentInline(admin.TabularInline[Document, Order]):
    model = Document
    extra = 0
    can_delete = False
    show_change_link = True
    fields = readonly_fields = (
        "kind",
        "state",
        "number",
        "date",
        "total_gross",
        "remote_id",
        "last_error",
    )

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


admin.site.unregister(Order)


@admin.register(Order)
class OrderWithDocumentsAdmin(OrderAdmin):
    inlines = [*OrderAdmin.inlines, DocumentInline]
    # Links the order's actions (invoicing.order_admin_views) above the form.
    change_form_template = "admin/invoicing/order/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        action = self.admin_site.admin_view(self._action_view)
        return [
            path(
                "<path:object_id>/<str:action>/confirm/",
                action,
                name="marketplace_order_action",
            ),
            *super().get_urls(),
        ]

    def _action_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if action not in order_admin_views.ACTIONS:
            raise Http404
        needed = (
            "marketplace.record_order_payment" if action == "pay" else "marketplace.change_order"
        )
        if not (request.user.has_perm(needed) and request.user.has_perm("marketplace.view_order")):
            raise PermissionDenied
        return order_admin_views.order_action_view(request, self, object_id, action)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "can_record_payment": request.user.has_perm("marketplace.record_order_payment"),
            "can_move": request.user.has_perm("marketplace.change_order"),
        }
        return super().change_view(request, object_id, form_url, context)
