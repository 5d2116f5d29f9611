"""The seller's staff page: its admins invite a member (a login with a role), change a member's
role, remove a member (asked first). Each goes through sellers.staff, the services the API
uses, which mirror the roles to the users of the seller's Space Invoices entity; the page shows
each member's mirror state. A member of another seller is 404; other roles get a 403 page.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from invoicing.seller_views import _page, _refuse, seller_member_required
from sellers import selectors as seller_selectors
from sellers import staff
from sellers.models import SellerRole, SellerUser

ADMINS_ONLY = "Only the seller's admins manage its staff."
MEMBER_NOT_FOUND = "This member does not exist or belongs to another seller."


class InviteForm(forms.Form):
    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = forms.EmailField()
    password = forms.CharField(
        label="First password",
        widget=forms.PasswordInput(render_value=False),
        help_text="Give it to the new member; they log in with it.",
    )
    role = forms.ChoiceField(choices=SellerRole.choices, initial=SellerRole.EDITOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=SellerRole.choices)


def _admin(request: HttpRequest, membership: SellerUser) -> HttpResponse | None:
    if membership.role != SellerRole.ADMIN:
        return _refuse(request, ADMINS_ONLY, status=403, title="Staff", membership=membership)
    return None


def _member(membership: SellerUser, pk: int) -> SellerUser | None:
    return seller_selectors.seller_user_list(membership.seller).filter(pk=pk).first()


def _actor(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@require_http_methods(["GET", "POST"])
@seller_member_required
def staff_list(request: HttpRequest, membership: SellerUser) -> HttpResponse:
    refused = _admin(request, membership)
    if refused is not None:
        return refused
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                member = staff.seller_user_add(
                    seller=membership.seller, actor=_actor(request), **form.cleaned_data
                )
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, f"{member.user.username} is a member now.")
                return redirect("seller:staff")
        return _staff_page(request, membership, form, status=400)
    return _staff_page(request, membership, form)


def _staff_page(
    request: HttpRequest, membership: SellerUser, form: InviteForm, *, status: int = 200
) -> HttpResponse:
    members = [
        (member, RoleForm(initial={"role": member.role}, prefix=f"m{member.pk}"))
        for member in seller_selectors.seller_user_list(membership.seller)
    ]
    context: dict[str, object] = {"form": form, "members": members}
    return _page(request, membership, "sellers/staff.html", context, status=status)


@require_POST
@seller_member_required
def staff_role(request: HttpRequest, membership: SellerUser, pk: int) -> HttpResponse:
    refused = _admin(request, membership)
    if refused is not None:
        return refused
    member = _member(membership, pk)
    if member is None:
        return _refuse(
            request, MEMBER_NOT_FOUND, status=404, title="Member not found", membership=membership
        )
    form = RoleForm(request.POST, prefix=f"m{member.pk}")
    try:
        if not form.is_valid():
            raise ApplicationError("Choose a role.", field="role")
        staff.seller_user_role_change(
            seller_user=member, role=form.cleaned_data["role"], actor=_actor(request)
        )
    except ApplicationError as error:
        messages.error(request, f"{member.user.username}: {error.message}")
        return redirect("seller:staff")
    messages.success(request, f"{member.user.username} is {form.cleaned_data['role']} now.")
    return redirect("seller:staff")


@require_http_methods(["GET", "POST"])
@seller_member_required
def staff_remove(request: HttpRequest, membership: SellerUser, pk: int) -> HttpResponse:
    refused = _admin(request, membership)
    if refused is not None:
        return refused
    member = _member(membership, pk)
    if member is None:
        return _refuse(
            request, MEMBER_NOT_FOUND, status=404, title="Member not found", membership=membership
        )
    context: dict[str, object] = {"member": member}
    if request.method == "POST":
        try:
            staff.seller_user_remove(seller_user=member, actor=_actor(request))
        except ApplicationError as error:
            context["error"] = error.message
            return _page(request, membership, "sellers/staff_remove.html", context, status=400)
        messages.success(request, f"{member.user.username} is removed.")
        return redirect("seller:staff")
    return _page(request, membership, "sellers/staff_remove.html", context)
