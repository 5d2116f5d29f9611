"""API throttles: DRF's scoped throttle, counting in the default cache (Redis in production).

A view opts in with `throttle_scope = "<scope>"`; the rates are
`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]` (THROTTLE_<SCOPE> in the environment). A throttled
request gets 429 with `Retry-After`.
"""

import hashlib
from typing import TYPE_CHECKING, cast

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

if TYPE_CHECKING:  # DRF imports this module while it defines APIView
    from rest_framework.views import APIView


class ScopedThrottle(ScopedRateThrottle):
    """Per user (or client address when anonymous) and scope.

    DRF's own class reads the rates once at import; this one reads them per request, so a
    settings override (a test, a reload) takes effect.
    """

    def get_rate(self) -> str | None:
        self.THROTTLE_RATES = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
        return super().get_rate()


class LoginThrottle(ScopedThrottle):
    """Per username and client address: guessing one account's password from one address is
    slowed down, while that account's owner, elsewhere, still logs in."""

    def get_cache_key(self, request: Request, view: "APIView") -> str:
        username = request.data.get("username") if isinstance(request.data, dict) else None
        # Hashed: a username may hold characters a cache key cannot, and keys stay one length.
        digest = hashlib.sha256(str(username or "").casefold().encode()).hexdigest()
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{digest}:{self.get_ident(request)}",
        }
