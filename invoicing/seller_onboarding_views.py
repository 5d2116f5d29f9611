"""The seller sign-up and onboarding wizard: sign up (account and business details), then
business details, bank account, branding, invoicing settings, a preview of its invoices and its
status, each step through the services the API uses (sellers.onboarding, sellers.setup,
invoicing.seller_preview). A service's refusal is shown next to the field it names, with a 400.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from core.throttles import throttled_post
from invoicing.client import SpaceInvoicesError
from invoicing.seller_onboarding_forms import (
    BankAccountForm,
    BrandingForm,
    BusinessDetailsForm,
    InvoicingSettingsForm,
    SignupForm,
)
from invoicing.seller_preview import preview_cases, seller_invoice_preview
from invoicing.seller_views import _page, _refuse, seller_member_required
from sellers import einvoicing, onboarding, setup
from sellers import selectors as seller_selectors
from sellers.models import SellerRole, SellerStatus, SellerUser

VIES_UNAVAILABLE = (
    "VIES could not be reached to confirm your VAT number. Its format is valid; the "
    "marketplace checks it again before approving you."
)
ADMINS_ONLY = "Only the seller's admins complete its set-up."
PREVIEW_UNAVAILABLE = "The invoicing service did not render the preview; try again in a minute."


@dataclass(frozen=True)
class Step:
    name: str
    title: str


STEPS = (
    Step("onboarding-details", "Business details"),
    Step("onboarding-bank", "Bank account"),
    Step("onboarding-branding", "Branding"),
    Step("onboarding-invoicing", "Invoicing settings"),
    Step("onboarding-preview", "Preview"),
    Step("onboarding-status", "Status"),
)

STATUS_TEXT = {
    SellerStatus.DRAFT: "Your invoicing account has not been requested yet.",
    SellerStatus.PENDING: "We are creating your invoicing account. This takes a few seconds.",
    SellerStatus.AWAITING_APPROVAL: (
        "Your invoicing account is ready. The marketplace reviews your details and approves "
        "you; you can still change them meanwhile."
    ),
    SellerStatus.ACTIVE: "You are live: your products are on sale and your orders are invoiced.",
    SellerStatus.FAILED: "We could not create your invoicing account.",
    SellerStatus.REJECTED: "The marketplace did not approve your shop.",
}


@require_http_methods(["GET", "POST"])
@throttled_post("signup")
def signup(request: HttpRequest) -> HttpResponse:
    if seller_selectors.seller_membership_for_user(request.user) is not None:
        return redirect("seller:onboarding-details")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        username, password = data.pop("username"), data.pop("password")
        try:
            seller = onboarding.seller_signup(
                username=username, password=password, details=onboarding.SellerDetails(**data)
            )
        except ApplicationError as error:
            _field_error(form, error)
        else:
            membership = SellerUser.objects.select_related("user").get(seller=seller)
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {seller.business_name}! Your account is ready.")
            if seller.tax_number and seller.vies_valid is None:
                messages.warning(request, VIES_UNAVAILABLE)
            return redirect("seller:onboarding-bank")
    status = 400 if form.errors else 200
    return render(request, "sellers/onboarding/signup.html", {"form": form}, status=status)


def _admin_step(
    view: Callable[[HttpRequest, SellerUser], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    def wrapped(request: HttpRequest, membership: SellerUser) -> HttpResponse:
        if membership.role != SellerRole.ADMIN:
            return _refuse(
                request, ADMINS_ONLY, status=403, title="Admins only", membership=membership
            )
        return view(request, membership)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return require_http_methods(["GET", "POST"])(seller_member_required(wrapped))


def _step_page(
    request: HttpRequest,
    membership: SellerUser,
    step: str,
    form: forms.Form | None,
    extra: dict[str, object] | None = None,
) -> HttpResponse:
    current = next(s for s in STEPS if s.name == step)
    index = STEPS.index(current)
    context = {
        "steps": STEPS,
        "step": current,
        "next_step": STEPS[index + 1] if index + 1 < len(STEPS) else None,
        "form": form,
        **(extra or {}),
    }
    status = 400 if form is not None and form.errors else 200
    template = f"sellers/onboarding/{step.removeprefix('onboarding-')}.html"
    return _page(request, membership, template, context, status=status)


def _save_step(
    request: HttpRequest,
    membership: SellerUser,
    step: str,
    form: forms.Form,
    save: Callable[[dict[str, object]], object],
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ApplicationError as error:
            _field_error(form, error)
        else:
            current = next(s for s in STEPS if s.name == step)
            messages.success(request, f"{current.title} saved.")
            return redirect(f"seller:{STEPS[STEPS.index(current) + 1].name}")
    return _step_page(request, membership, step, form)


@_admin_step
def details(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    seller = membership.seller
    form = BusinessDetailsForm.for_seller(seller, request.POST or None)

    def save(data: dict[str, object]) -> object:
        updated = setup.seller_business_details_update(
            seller=seller,
            actor=membership.user,
            **data,  # type: ignore[arg-type]
        )
        if updated.tax_number and updated.vies_valid is None:
            messages.warning(request, VIES_UNAVAILABLE)
        return updated

    return _save_step(request, membership, "onboarding-details", form, save)


@_admin_step
def bank(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    seller = membership.seller
    form = BankAccountForm(request.POST or None, initial={"iban": seller.iban, "bic": seller.bic})

    def save(data: dict[str, object]) -> object:
        return setup.seller_bank_account_update(
            seller=seller, actor=membership.user, iban=str(data["iban"]), bic=str(data["bic"])
        )

    return _save_step(request, membership, "onboarding-bank", form, save)


@_admin_step
def branding(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    seller = membership.seller
    initial = {"primary_colour": seller.primary_colour, "invoice_footer": seller.invoice_footer}
    form = BrandingForm(request.POST or None, request.FILES or None, initial=initial)

    def save(data: dict[str, object]) -> object:
        return setup.seller_branding_update(
            seller=seller,
            actor=membership.user,
            primary_colour=str(data["primary_colour"]),
            invoice_footer=str(data["invoice_footer"]),
            logo=data["logo"] or None,  # type: ignore[arg-type]
        )

    return _save_step(request, membership, "onboarding-branding", form, save)


@_admin_step
def invoicing_settings(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    seller = membership.seller
    initial = {
        "invoice_trigger": seller.invoice_trigger,
        "invoice_number_start": seller.invoice_number_start,
        "invoice_note": seller.invoice_note,
        "payment_terms": seller.payment_terms,
    }
    form = InvoicingSettingsForm(request.POST or None, initial=initial)

    def save(data: dict[str, object]) -> object:
        return setup.seller_invoicing_settings_update(
            seller=seller,
            actor=membership.user,
            **data,  # type: ignore[arg-type]
        )

    return _save_step(request, membership, "onboarding-invoicing", form, save)


@_admin_step
def preview(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    cases = preview_cases(membership.seller)
    return _step_page(request, membership, "onboarding-preview", None, {"cases": cases})


@require_http_methods(["GET"])
@seller_member_required
def preview_pdf(request: HttpRequest, membership: SellerUser, case: str) -> HttpResponse:
    try:
        pdf = seller_invoice_preview(seller=membership.seller, case_key=case)
    except ApplicationError as error:
        return _refuse(
            request,
            error.message,
            status=error.http_status,
            title="No preview",
            membership=membership,
        )
    except SpaceInvoicesError:
        return _refuse(
            request, PREVIEW_UNAVAILABLE, status=502, title="No preview", membership=membership
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="sample-invoice-{case}.pdf"'
    return response


@require_http_methods(["GET"])
@seller_member_required
def status(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    seller = membership.seller
    context = {
        "status_text": STATUS_TEXT[SellerStatus(seller.status)],
        "failure": _plain_failure(seller.entity_error) if seller.status == "failed" else "",
        "refresh": seller.status == SellerStatus.PENDING,
        # Which e-invoice the seller's country asks for, and whether its entity is set for it.
        "e_invoicing": einvoicing.readiness(
            str(seller.country), timezone.localdate(), seller.e_invoicing_settings
        ),
    }
    return _step_page(request, membership, "onboarding-status", None, context)


@require_POST
@seller_member_required
def retry(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    if membership.role != SellerRole.ADMIN:
        return _refuse(request, ADMINS_ONLY, status=403, title="Admins only", membership=membership)
    onboarding.seller_entity_request(seller=membership.seller, actor=membership.user)
    messages.success(request, "We are trying again to create your invoicing account.")
    return redirect(reverse("seller:onboarding-status"))


def _plain_failure(error: str) -> str:
    """The invoicing service's refusal, in words a seller acts on."""
    reason = error.split(": ", 1)[-1] if error else "no reason was given"
    return (
        f"The invoicing service refused your details ({reason}). Correct them in the steps "
        "above if they name one, then try again; if it fails again, contact the marketplace."
    )


def _field_error(form: forms.Form, error: ApplicationError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)
