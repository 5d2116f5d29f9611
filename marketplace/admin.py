from django.contrib import admin
from django.http import HttpRequest

from invoicing.models import Invoice
from marketplace.models import AuditEvent, Checkout, Order, OrderLine, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin[Product]):
    list_display = ["name", "seller", "unit_price", "currency", "tax_rate", "is_active"]
    list_filter = ["is_active", "currency", "seller"]
    search_fields = ["name", "seller__business_name"]
    autocomplete_fields = ["seller"]


class OrderLineInline(admin.TabularInline[OrderLine, Order]):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = readonly_fields = ("name", "quantity", "unit_price", "tax_rate", "total_net")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class DocumentInline(admin.TabularInline[Invoice, Order]):
    model = Invoice
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


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = [
        "id",
        "seller",
        "buyer_name",
        "billing_country",
        "status",
        "currency",
        "total_gross",
        "placed_at",
    ]
    list_filter = ["status", "currency", "billing_country", "seller"]
    search_fields = ["id", "buyer_name", "buyer_email", "seller__business_name"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, DocumentInline]
    readonly_fields = [field.name for field in Order._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Checkout)
class CheckoutAdmin(admin.ModelAdmin[Checkout]):
    list_display = ["id", "public_id", "buyer", "created_at"]
    search_fields = ["public_id", "buyer__username", "buyer__email"]
    readonly_fields = ["public_id", "buyer", "created_at"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    """Read-only: the trail is written by the code that acts, never edited by hand."""

    list_display = ["created_at", "action", "actor", "seller_id", "order_id", "document_id"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["action", "actor__username", "=seller_id", "=order_id", "=document_id"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
