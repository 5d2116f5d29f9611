from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from core.admin_site import (
    AutocompleteFilterAdmin,
    IndexedCountryFilter,
    IndexedValuesFilter,
    RelatedAutocompleteFilter,
    action_confirmed,
    confirmed_action,
    counted,
)
from core.errors import ApplicationError
from marketplace import services
from marketplace.models import (
    Checkout,
    Order,
    OrderLine,
    OrderStatus,
    PaymentSession,
    Product,
    ProviderEvent,
    ProviderRefund,
    SellerPaymentAccount,
    SellerTransfer,
)
from marketplace.services import product_tax_rate_validate
from sellers.admin_rows import SellerRowsAdmin


class ProductForm(forms.ModelForm[Product]):
    """The product's own rate only where its seller's country has no rate table."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        seller = cleaned.get("seller")
        if seller is not None and "tax_rate" in cleaned:
            try:
                product_tax_rate_validate(
                    seller_country=str(seller.country), tax_rate=cleaned["tax_rate"]
                )
            except ApplicationError as error:
                self.add_error("tax_rate", error.message)
        return cleaned


class PaymentReferenceForm(forms.Form):
    """The reference of a payment received offline (a bank transfer's), kept on its audit event."""

    reference = forms.CharField(
        max_length=100, help_text="The bank transfer's reference (or the receipt's)."
    )


@admin.register(Product)
class ProductAdmin(AutocompleteFilterAdmin[Product]):
    form = ProductForm
    list_display = [
        "name",
        "seller",
        "unit_price",
        "currency",
        "tax_category",
        "tax_rate",
        "supply_kind",
        "is_active",
    ]
    list_filter = ["is_active", "currency", ("seller", RelatedAutocompleteFilter)]
    list_select_related = ["seller"]
    search_fields = ["name", "seller__business_name"]
    autocomplete_fields = ["seller"]


class OrderLineInline(admin.TabularInline[OrderLine, Order]):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "name",
        "quantity",
        "unit_price",
        "tax_rate",
        "total_net",
        "supply_kind",
    )

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Order)
class OrderAdmin(SellerRowsAdmin[Order]):
    list_display = [
        "id",
        "seller",
        "buyer_name",
        "billing_country_name",
        "status",
        "currency",
        "total_gross",
        "placed_at",
    ]
    # A date filter rather than a date hierarchy, which reads the first and last dates and
    # every year of the table on each page (~40 ms per 100,000 orders).
    list_filter = [
        "status",
        ("currency", IndexedValuesFilter),
        ("billing_country", IndexedCountryFilter),
        ("placed_at", admin.DateFieldListFilter),
        ("seller", RelatedAutocompleteFilter),
    ]
    # Each has a trigram index on PostgreSQL (migration 0007); the seller's business name is
    # searched as well (SellerRowsAdmin), and a number alone is an order id.
    search_fields = ["buyer_email", "buyer_name", "buyer_vat_number"]
    search_help_text = "An order id, or a buyer's email, name or VAT number, or a seller's name."
    # invoicing.admin adds the order's documents (OrderWithDocumentsAdmin).
    inlines = [OrderLineInline]
    readonly_fields = [field.name for field in Order._meta.fields]
    actions = ["record_payment"]

    # A CountryField column would look its name up in every country's choice, row by row.
    @admin.display(description="billing country", ordering="billing_country")
    def billing_country_name(self, order: Order) -> str:
        return str(order.billing_country.name)

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_record_payment_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("marketplace.record_order_payment")

    @admin.action(
        description="Record the payment received for the selected orders",
        permissions=["record_payment"],
    )
    def record_payment(
        self, request: HttpRequest, queryset: QuerySet[Order]
    ) -> TemplateResponse | None:
        """A payment received outside any provider (a bank transfer), audited as the operator's."""
        payable = queryset.filter(
            paid_at__isnull=True, status__in=[OrderStatus.PLACED, OrderStatus.FULFILLED]
        ).order_by("pk")
        count = payable.count()
        form = PaymentReferenceForm(request.POST if action_confirmed(request) else None)
        return confirmed_action(
            request,
            self,
            action="record_payment",
            question=f"Record the payment received for {counted(count, 'order')}?",
            eligible=payable,
            eligible_count=count,
            skipped={"already paid or cancelled": queryset.count() - count},
            button="Yes, the payment was received",
            act=lambda order, actor: services.order_mark_paid(
                order_id=order.pk, actor=actor, reference=form.cleaned_data["reference"]
            ),
            noun="order",
            outcome="marked paid",
            form=form,
        )


@admin.register(Checkout)
class CheckoutAdmin(admin.ModelAdmin[Checkout]):
    list_display = ["id", "public_id", "buyer", "created_at"]
    list_select_related = ["buyer"]
    search_fields = ["public_id", "buyer__username", "buyer__email"]
    readonly_fields = ["public_id", "buyer", "created_at", "guest_link_sent_at"]


class _ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Payment records come from the provider: operators read them, nobody edits them here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SellerPaymentAccount)
class SellerPaymentAccountAdmin(_ReadOnlyAdmin):
    """Each seller's Stripe Connect account and payout readiness."""

    list_display = [
        "seller",
        "stripe_account_id",
        "charges_enabled",
        "payouts_enabled",
        "details_submitted",
        "updated_at",
    ]
    list_filter = ["charges_enabled", "payouts_enabled"]
    search_fields = ["seller__business_name", "stripe_account_id"]


@admin.register(ProviderEvent)
class ProviderEventAdmin(_ReadOnlyAdmin):
    """Provider events applied or recorded: payments, refunds and disputes Stripe reported."""

    list_display = ["event_id", "type", "checkout", "amount", "currency", "status", "created_at"]
    list_filter = ["type", "status"]
    search_fields = ["event_id", "object_id"]


@admin.register(ProviderRefund)
class ProviderRefundAdmin(_ReadOnlyAdmin):
    list_display = [
        "pk",
        "order",
        "kind",
        "amount",
        "currency",
        "status",
        "provider_refund_id",
        "reversed_amount",
        "failure_reason",
        "created_at",
        "confirmed_at",
    ]
    list_filter = ["status", "kind"]


@admin.register(SellerTransfer)
class SellerTransferAdmin(_ReadOnlyAdmin):
    list_display = [
        "provider_transfer_id",
        "order",
        "destination",
        "amount",
        "currency",
        "created_at",
    ]
    search_fields = ["provider_transfer_id", "destination"]


@admin.register(PaymentSession)
class PaymentSessionAdmin(_ReadOnlyAdmin):
    list_display = ["provider_session_id", "checkout", "amount", "currency", "status", "created_at"]
    list_filter = ["status"]
