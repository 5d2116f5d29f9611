from dataclasses import asdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django_countries.filters import CountryFilter

from core import admin_site
from core.errors import ApplicationError
from sellers import einvoicing, onboarding, staff
from sellers.models import (
    REMOVAL_FAILED,
    REMOVAL_PENDING,
    RemovedEntityUser,
    Seller,
    SellerStatus,
    SellerUser,
)
from sellers.validation import (
    Dac7Details,
    seller_dac7_details_validate,
    seller_tax_identity_validate,
)

MIRROR_FIELDS = ["entity_user_id", "entity_user_state", "entity_user_error"]


class SellerUserInline(admin.TabularInline[SellerUser, Seller]):
    """Members and their Space Invoices users; changes go through the member's own page."""

    model = SellerUser
    extra = 0
    fields = ["user", "role", *MIRROR_FIELDS]
    readonly_fields = ["user", "role", *MIRROR_FIELDS]
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Seller | None = None) -> bool:
        return False


# Draft and failed sellers without an entity are (re)queued for one; the service checks again.
NEEDS_STATUS = Q(status__in=[SellerStatus.DRAFT, SellerStatus.FAILED])
NEEDS_ENTITY = Q(NEEDS_STATUS, entity_id__isnull=True)


class SellerForm(forms.ModelForm[Seller]):
    """Onboarding's own checks of the country and tax number, on their fields."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # The country is read-only once the entity exists: then the seller's own counts.
        country = cleaned.get("country", self.instance.country)
        if country and {"tax_number", "is_tax_subject"} <= cleaned.keys():
            try:
                seller_tax_identity_validate(
                    country=str(country),
                    tax_number=cleaned["tax_number"],
                    is_tax_subject=cleaned["is_tax_subject"],
                )
            except ApplicationError as error:
                self.add_error(error.field if error.field in self.fields else None, error.message)
        if set(onboarding.DAC7_FIELDS) <= cleaned.keys():
            self._clean_dac7(cleaned)
        return cleaned

    def _clean_dac7(self, cleaned: dict[str, Any]) -> None:
        """The DAC7 details in the form the API stores them (compact TIN and IBAN)."""
        details = Dac7Details(**{name: cleaned[name] for name in onboarding.DAC7_FIELDS})
        try:
            valid = seller_dac7_details_validate(details, today=timezone.localdate())
        except ApplicationError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
            return
        cleaned.update(asdict(valid))


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin[Seller]):
    list_display = [
        "business_name",
        "country_name",
        "status",
        "entity_id",
        "e_invoicing_readiness",
        "created_at",
        "records",
    ]
    list_filter = ["status", ("country", CountryFilter), "is_tax_subject", "invoice_trigger"]
    search_fields = ["business_name", "email", "tax_number", "entity_id", "=id"]
    search_help_text = "Business name, email, tax number, entity id, or the seller id."
    date_hierarchy = "created_at"
    # Rendering a row costs ~0.5 ms (links, dates, the checkbox): 100 rows were most of the
    # page's time.
    list_per_page = 50
    readonly_fields = [
        "status",
        "approval",
        "vies_valid",
        "approved_at",
        "rejection_reason",
        "entity_id",
        "entity_error",
        "entity_request_id",
        "created_at",
        "updated_at",
        "distance_sales_threshold_crossed_on",
        "e_invoicing_readiness",
    ]
    inlines = [SellerUserInline]
    actions = ["request_entity"]
    fieldsets = [
        (None, {"fields": ["business_name", "email"]}),
        ("Address", {"fields": ["address", "post_code", "city", "country"]}),
        ("Tax", {"fields": ["tax_number", "is_tax_subject", "vies_valid"]}),
        ("Branding", {"fields": ["primary_colour", "logo", "invoice_footer"]}),
        # Last three: a new seller starts with no DAC7 details (collected once it sells), the
        # marketplace's invoicing defaults and no entity yet, so its add form leaves them out.
        (
            "DAC7 platform reporting",
            {
                "description": "Individuals: name, date of birth and TIN. Entities: TIN and "
                "business registration number (the VAT number is the tax number above). Both: "
                "the IBAN paid out to.",
                "fields": [
                    "seller_kind",
                    ("first_name", "last_name"),
                    "date_of_birth",
                    ("tin", "tin_country"),
                    "business_registration_number",
                    "iban",
                ],
            },
        ),
        (
            "Invoicing",
            {
                "fields": [
                    "invoice_trigger",
                    "oss_registered",
                    "distance_sales_threshold_crossed_on",
                    "vies_unavailable_policy",
                    "commission_rate",
                ]
            },
        ),
        (
            "Space Invoices",
            {
                "fields": [
                    "status",
                    "approval",
                    "approved_at",
                    "rejection_reason",
                    "entity_id",
                    "entity_error",
                    "entity_request_id",
                    "e_invoicing_readiness",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    @admin.display(description="E-invoicing")
    def e_invoicing_readiness(self, obj: Seller) -> str:
        """Which e-invoice the seller's country asks for and whether its entity is set up."""
        return einvoicing.readiness(
            str(obj.country), timezone.localdate(), obj.e_invoicing_settings
        ).summary

    def get_readonly_fields(self, request: HttpRequest, obj: Seller | None = None) -> list[str]:
        # The country fixes the entity's currency and tax rules: set once, at onboarding.
        fields = list(self.readonly_fields)
        return [*fields, "country"] if obj is not None and obj.entity_id else fields

    def get_fieldsets(self, request: HttpRequest, obj: Seller | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else fieldsets[:-3]

    def get_inlines(self, request: HttpRequest, obj: Seller | None = None) -> list[Any]:
        # Members join a seller that exists; onboarding is about the seller alone.
        return [] if obj is None else list(self.inlines)

    def get_form(
        self, request: HttpRequest, obj: Seller | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Seller]]:
        kwargs["form"] = SellerForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: Seller, form: forms.ModelForm[Seller], change: bool
    ) -> None:
        """A new seller is onboarded (its entity is created after commit); an edit is saved and
        what the entity holds of it follows after commit."""
        if change:
            onboarding.seller_details_save(
                seller=obj, changed=form.changed_data, actor=admin_site.operator(request)
            )
            return
        seller = onboarding.seller_onboard(
            details=_details(form.cleaned_data), actor=admin_site.operator(request)
        )
        # Admin goes on with the form's object: its log entry, inlines and redirect need the pk.
        obj.pk = seller.pk
        obj.refresh_from_db()

    def response_add(
        self, request: HttpRequest, obj: Seller, post_url_continue: str | None = None
    ) -> HttpResponse:
        if IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"Seller {obj} created; its Space Invoices entity is being created.",
            messages.SUCCESS,
        )
        if "_continue" in request.POST:
            return HttpResponseRedirect(reverse("admin:sellers_seller_change", args=[obj.pk]))
        if "_addanother" in request.POST:
            return HttpResponseRedirect(request.path)
        return self.response_post_save_add(request, obj)

    def get_urls(self) -> list[URLPattern]:
        approval = [
            path(
                "<int:pk>/approve/",
                self.admin_site.admin_view(self.approve_view),
                name="sellers_seller_approve",
            ),
            path(
                "<int:pk>/reject/",
                self.admin_site.admin_view(self.reject_view),
                name="sellers_seller_reject",
            ),
        ]
        return approval + super().get_urls()

    @admin.display(description="Approval")
    def approval(self, seller: Seller) -> str:
        if seller.status != SellerStatus.AWAITING_APPROVAL:
            return "-"
        return format_html(
            '<a class="button" href="{}" data-testid="seller-approve">Approve</a> '
            '<a class="button" href="{}" data-testid="seller-reject">Reject</a>',
            reverse("admin:sellers_seller_approve", args=[seller.pk]),
            reverse("admin:sellers_seller_reject", args=[seller.pk]),
        )

    def approve_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Approve a seller awaiting approval, after a confirmation page (audited)."""
        return self._approval_view(request, pk, reject=False)

    def reject_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Reject a seller awaiting approval with a reason the seller reads (audited)."""
        return self._approval_view(request, pk, reject=True)

    def _approval_view(self, request: HttpRequest, pk: int, *, reject: bool) -> HttpResponse:
        seller = self.get_object(request, str(pk))
        if seller is None or not self.has_change_permission(request, seller):
            raise PermissionDenied
        form = RejectForm(request.POST or None) if reject else None
        change_url = reverse("admin:sellers_seller_change", args=[seller.pk])
        if request.method == "POST" and (form is None or form.is_valid()):
            actor = admin_site.operator(request)
            try:
                if form is not None:
                    onboarding.seller_reject(
                        seller=seller, actor=actor, reason=form.cleaned_data["reason"]
                    )
                else:
                    onboarding.seller_approve(seller=seller, actor=actor)
            except ApplicationError as error:
                if form is None or error.field != "reason":
                    self.message_user(request, error.message, messages.ERROR)
                    return HttpResponseRedirect(change_url)
                form.add_error("reason", error.message)
            else:
                outcome = "rejected" if reject else "approved: it is active"
                self.message_user(request, f"Seller {seller} {outcome}.", messages.SUCCESS)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{'Reject' if reject else 'Approve'} {seller}",
            "seller": seller,
            "form": form,
            "reject": reject,
            "change_url": change_url,
        }
        status = 400 if form is not None and form.errors else 200
        return TemplateResponse(request, "admin/sellers/approval.html", context, status=status)

    # A CountryField column would look its name up in every country's choice, row by row.
    @admin.display(description="country", ordering="country")
    def country_name(self, seller: Seller) -> str:
        return str(seller.country.name)

    @admin.display(description="Records")
    def records(self, seller: Seller) -> str:
        """Links to the seller's orders and documents (no query: the filter takes the id)."""
        return format_html(
            '<a href="{}?seller__id__exact={}">orders</a> · '
            '<a href="{}?seller__id__exact={}">documents</a>',
            reverse("admin:marketplace_order_changelist"),
            seller.pk,
            reverse("admin:invoicing_document_changelist"),
            seller.pk,
        )

    @admin.action(
        description="Create the Space Invoices entity (draft or failed sellers)",
        permissions=["change"],
    )
    def request_entity(
        self, request: HttpRequest, queryset: QuerySet[Seller]
    ) -> TemplateResponse | None:
        count, skipped = _entity_request_counts(queryset)
        return admin_site.confirmed_action(
            request,
            self,
            action="request_entity",
            question=f"Create the Space Invoices entity of {admin_site.counted(count, 'seller')}?",
            eligible=queryset.filter(NEEDS_ENTITY).order_by("pk"),
            eligible_count=count,
            skipped=skipped,
            button="Yes, create the entities",
            act=lambda seller, actor: onboarding.seller_entity_request(seller=seller, actor=actor),
            noun="seller",
            outcome="queued for entity creation",
        )


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea, help_text="The seller reads it as written."
    )


def _entity_request_counts(queryset: QuerySet[Seller]) -> tuple[int, dict[str, int]]:
    """How many of the sellers need their entity, and how many are skipped for each reason."""
    counts = queryset.aggregate(
        eligible=Count("pk", filter=NEEDS_ENTITY),
        active=Count("pk", filter=Q(status=SellerStatus.ACTIVE)),
        pending=Count("pk", filter=Q(status=SellerStatus.PENDING)),
        has_entity=Count("pk", filter=Q(NEEDS_STATUS, entity_id__isnull=False)),
    )
    return counts["eligible"], {
        "already active": counts["active"],
        "already pending": counts["pending"],
        "already with an entity": counts["has_entity"],
    }


def _details(data: dict[str, Any]) -> onboarding.SellerDetails:
    return onboarding.SellerDetails(
        business_name=data["business_name"],
        address=data["address"],
        post_code=data["post_code"],
        city=data["city"],
        country=str(data["country"]),
        email=data["email"],
        tax_number=data["tax_number"],
        is_tax_subject=data["is_tax_subject"],
        primary_colour=data["primary_colour"],
        invoice_footer=data["invoice_footer"],
        logo=data["logo"] or None,
    )


class SellerUserAddForm(forms.ModelForm[SellerUser]):
    """Adding a member: its account and membership, made by the same service as the seller's
    staff API (the audit trail, one email per seller, the mirror in Space Invoices)."""

    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    actor: User  # the operator, set by SellerUserAdmin.get_form

    class Meta:
        model = SellerUser
        fields = ["seller", "username", "email", "password", "role"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        # Admin shows errors only from validation, so the service runs here, inside admin's
        # transaction: a refusal lands on its field and writes nothing.
        try:
            self.instance = staff.seller_user_add(
                seller=cleaned["seller"],
                actor=self.actor,
                username=cleaned["username"],
                email=cleaned["email"],
                password=cleaned["password"],
                role=cleaned["role"],
            )
        except ApplicationError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


@admin.register(SellerUser)
class SellerUserAdmin(admin.ModelAdmin[SellerUser]):
    list_display = ["user", "seller", "role", "entity_user_state", "entity_user_id", "created_at"]
    list_filter = ["role", "entity_user_state"]
    search_fields = ["user__username", "user__email", "seller__business_name", "entity_user_id"]
    autocomplete_fields = ["seller"]
    readonly_fields = [*MIRROR_FIELDS, "entity_user_request_id", "created_at"]
    actions = ["mirror"]

    def get_readonly_fields(self, request: HttpRequest, obj: SellerUser | None = None) -> list[str]:
        if obj is None:
            return []
        # Role changes and removals go through the seller's staff API: it mirrors them and
        # keeps the seller an admin.
        return ["user", "seller", "role", *self.readonly_fields]

    def get_form(
        self,
        request: HttpRequest,
        obj: SellerUser | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm[SellerUser]]:
        if obj is not None:
            return super().get_form(request, obj, change, **kwargs)
        kwargs["form"] = SellerUserAddForm
        form = super().get_form(request, obj, change, **kwargs)
        # A class made for this request (modelform_factory), so the operator is this request's.
        form.actor = admin_site.operator(request)  # type: ignore[attr-defined]
        return form

    def has_delete_permission(self, request: HttpRequest, obj: SellerUser | None = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: SellerUser, form: forms.ModelForm[SellerUser], change: bool
    ) -> None:
        # A new member is saved by its form's service already.
        if change:
            super().save_model(request, obj, form, change)

    @admin.action(
        description="Mirror to Space Invoices (pending or failed members)", permissions=["change"]
    )
    def mirror(self, request: HttpRequest, queryset: QuerySet[SellerUser]) -> None:
        requested = [m for m in queryset if staff.seller_user_mirror_request(seller_user=m)]
        self.message_user(
            request,
            f"Mirroring requested for {len(requested)} member(s); "
            f"{queryset.count() - len(requested)} skipped (mirrored already).",
            messages.SUCCESS if requested else messages.WARNING,
        )


class RemovalStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [
            ("failed", "Failed: still in Space Invoices"),
            ("pending", "Being deleted"),
            ("deleted", "Deleted"),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[RemovedEntityUser]
    ) -> QuerySet[RemovedEntityUser]:
        states = {
            "failed": REMOVAL_FAILED,
            "pending": REMOVAL_PENDING,
            "deleted": Q(resolved_at__isnull=False),
        }
        value = self.value()
        return queryset.filter(states[value]) if value in states else queryset


@admin.register(RemovedEntityUser)
class RemovedEntityUserAdmin(admin.ModelAdmin[RemovedEntityUser]):
    """Users of sellers' entities that stand for no member any more, until Space Invoices has
    deleted them: while a failed one stays, its former member may still open the entity."""

    list_display = [
        "entity_user_id",
        "seller",
        "user",
        "state",
        "attempts",
        "last_error",
        "removed_at",
        "resolved_at",
    ]
    list_filter = [RemovalStateFilter]
    list_select_related = ["seller", "user"]
    search_fields = ["entity_user_id", "seller__business_name", "user__username"]
    readonly_fields = [field.name for field in RemovedEntityUser._meta.fields]
    actions = ["delete_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: RemovedEntityUser | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: RemovedEntityUser | None = None
    ) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        """The rows are read-only here, but asking again changes them: the model's change
        permission (has_change_permission says no to everyone, for the read-only pages)."""
        return request.user.has_perm("sellers.change_removedentityuser")

    @admin.display(description="state")
    def state(self, removal: RemovedEntityUser) -> str:
        if removal.resolved_at is not None:
            return "Deleted"
        return "Failed" if removal.last_error else "Being deleted"

    @admin.action(description="Delete in Space Invoices again", permissions=["retry"])
    def delete_again(
        self, request: HttpRequest, queryset: QuerySet[RemovedEntityUser]
    ) -> TemplateResponse | None:
        counts = queryset.aggregate(
            failed=Count("pk", filter=REMOVAL_FAILED),
            deleted=Count("pk", filter=Q(resolved_at__isnull=False)),
            pending=Count("pk", filter=REMOVAL_PENDING),
        )
        count = counts["failed"]
        return admin_site.confirmed_action(
            request,
            self,
            action="delete_again",
            question=f"Delete {admin_site.counted(count, 'removed user')} in Space Invoices again?",
            eligible=queryset.filter(REMOVAL_FAILED).order_by("pk"),
            eligible_count=count,
            skipped={
                "already deleted": counts["deleted"],
                "still being deleted": counts["pending"],
            },
            button="Yes, delete them",
            act=lambda removal, actor: staff.entity_user_removal_retry(
                removal=removal, actor=actor
            ),
            noun="removed user",
            outcome="queued for deletion",
        )
