"""API throttles: DRF's scoped throttle, counting in the default cache (Redis in production).

A view opts in with `throttle_scope = "<scope>"`; the rates are
`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` (THROTTLE_<SCOPE> in the environment). A throttled
request gets 429 with `Retry-After`.

Logins are also locked out by django-axes after repeated failures (settings.AXES_*); its
username, client address and lockout page are the ones below, so both count alike.
"""

import functools
import hashlib
import logging
import math
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from core.unavailable import CACHE_ERRORS

if TYPE_CHECKING:  # DRF imports this module while it defines APIView
    from rest_framework.views import APIView

logger = logging.getLogger(__name__)


class ScopedThrottle(ScopedRateThrottle):
    """Per user (or client address when anonymous) and scope.

    DRF's own class reads the rates once at import; this one reads them per request, so a
    settings override (a test, a reload) takes effect.
    """

    def get_rate(self) -> str | None:
        self.THROTTLE_RATES = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
        return super().get_rate()

    def allow_request(self, request: Request, view: "APIView") -> bool:
        """Fails open: with its cache unreachable a request is let through (and logged), so
        losing Redis does not take checkout and login down with it."""
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as error:
            logger.warning(
                "throttle %s not applied: its cache is unreachable (%s)", self.scope, error
            )
            return True


def login_username(raw: object) -> str:
    """The posted username as authentication reads it, for counting attempts against it.

    The login form and DRF's token serializer both strip surrounding whitespace before they
    authenticate (and DRF takes a number as its text), so " ana" is a guess at "ana" and counts
    as one. Case and Unicode compatibility forms are folded too: a spelling that names no other
    account gets no budget of its own.
    """
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return ""
    return unicodedata.normalize("NFKC", str(raw).strip()).casefold()


class LoginThrottle(ScopedThrottle):
    """Per username (as authentication reads it) and client address: guessing one account's
    password from one address is slowed down, while that account's owner, elsewhere, still logs
    in."""

    def get_cache_key(self, request: Request, view: "APIView") -> str:
        # A page passes its Django request (page_throttle_wait): the form is its POST.
        form = request.data if isinstance(request, Request) else cast(HttpRequest, request).POST
        username = login_username(form.get("username") if isinstance(form, dict) else None)
        # Hashed: a username may hold characters a cache key cannot, and keys stay one length.
        digest = hashlib.sha256(username.encode()).hexdigest()
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{digest}:{self.get_ident(request)}",
        }


class _PageScope:
    """What DRF's throttles read from a view: its scope."""

    def __init__(self, scope: str) -> None:
        self.throttle_scope = scope


def page_throttle_wait(request: HttpRequest, scope: str, *, per_username: bool = False) -> int:
    """Count a server-rendered page's request against the API's rate for `scope`.

    The same counters as the API's throttles, so a login page and the token endpoint share one
    budget. Returns the seconds to wait when over the rate, else 0.
    """
    throttle = LoginThrottle() if per_username else ScopedThrottle()
    view = cast("APIView", _PageScope(scope))
    # DRF's throttles read only the user, the address headers and (logins) the posted form,
    # all of which a plain Django request has.
    if throttle.allow_request(cast(Request, request), view):
        return 0
    return math.ceil(throttle.wait() or 1)


def throttled_post(
    scope: str, *, per_username: bool = False
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Refuse a page's POSTs over the scope's rate with a 429 page saying when to try again."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
            if request.method == "POST":
                wait = page_throttle_wait(request, scope, per_username=per_username)
                if wait:
                    return throttled_page(request, wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """django-axes' username: the one authentication was given (the form's or the token
    serializer's, already stripped), else the posted one, as `login_username` folds it."""
    if credentials and "username" in credentials:
        return login_username(credentials["username"])
    form = getattr(request, "data", request.POST)
    return login_username(form.get("username") if isinstance(form, dict) else None)


def client_address(request: HttpRequest) -> str:
    """django-axes' client address: the throttles' (REMOTE_ADDR, or X-Forwarded-For behind
    NUM_PROXIES proxies), so a forged header picks no lockout of its own."""
    return ScopedThrottle().get_ident(cast(Request, request))


def login_lockout_seconds() -> int:
    return math.ceil(settings.AXES_COOLOFF_TIME.total_seconds())


def login_locked_out_page(
    request: HttpRequest, original_response: HttpResponse | None, credentials: object
) -> HttpResponse:
    """The login page's answer while django-axes locks the username out from here: 429."""
    return throttled_page(request, login_lockout_seconds())


def throttled_page(request: HttpRequest, wait: int) -> HttpResponse:
    context = {
        "title": "Too many attempts",
        "message": f"Too many attempts from here; try again in {wait} seconds.",
    }
    response = render(request, "storefront/refused.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response
