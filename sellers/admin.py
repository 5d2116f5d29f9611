from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from sellers import services
from sellers.models import Seller, SellerStatus, SellerUser


class SellerUserInline(admin.TabularInline[SellerUser, Seller]):
    model = SellerUser
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin[Seller]):
    list_display = ["business_name", "country", "status", "entity_id", "created_at"]
    list_filter = ["status", "country", "is_tax_subject"]
    search_fields = ["business_name", "email", "tax_number", "entity_id"]
    readonly_fields = [
        "status",
        "entity_id",
        "entity_error",
        "entity_request_id",
        "created_at",
        "updated_at",
    ]
    inlines = [SellerUserInline]
    actions = ["request_entity"]
    fieldsets = [
        (None, {"fields": ["business_name", "email"]}),
        ("Address", {"fields": ["address", "post_code", "city", "country"]}),
        ("Tax", {"fields": ["tax_number", "is_tax_subject"]}),
        ("Branding", {"fields": ["primary_colour", "logo", "invoice_footer"]}),
        (
            "Space Invoices",
            {
                "fields": [
                    "status",
                    "entity_id",
                    "entity_error",
                    "entity_request_id",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    @admin.action(description="Create the Space Invoices entity (draft or failed sellers)")
    def request_entity(self, request: HttpRequest, queryset: QuerySet[Seller]) -> None:
        eligible = queryset.filter(
            status__in=[SellerStatus.DRAFT, SellerStatus.FAILED], entity_id__isnull=True
        )
        requested = [services.seller_entity_request(seller=seller) for seller in eligible]
        skipped = queryset.count() - len(requested)
        self.message_user(
            request,
            f"Entity creation requested for {len(requested)} seller(s); "
            f"{skipped} skipped (already active or pending).",
            messages.SUCCESS if requested else messages.WARNING,
        )


@admin.register(SellerUser)
class SellerUserAdmin(admin.ModelAdmin[SellerUser]):
    list_display = ["user", "seller", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "seller__business_name"]
    autocomplete_fields = ["user", "seller"]
