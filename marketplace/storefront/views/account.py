"""Buyer accounts: registration (login and logout are Django's views, storefront/urls.py)."""

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.throttles import throttled_post
from marketplace.storefront.forms import RegisterForm


@require_http_methods(["GET", "POST"])
@throttled_post("signup")
def register(request: HttpRequest) -> HttpResponse:
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
        return redirect("storefront:catalog")
    return render(
        request, "storefront/register.html", {"form": form}, status=400 if form.errors else 200
    )
