"""The public catalog listing's answers, kept in the cache for CATALOG_CACHE_SECONDS.

Every buyer's visit starts with the listing, the same page for everyone: building it (a count,
a page of products with their sellers, the serializer) is a third of the web process's work per
checkout (benchmarks/load.py). An answer is kept for a few seconds, per page, filter, host and
day (the listed rate is today's). A product or seller change shows within that time; nothing
relies on the listing being current, as checkout reads the products and sellers it sells.

The cache is the shared one (Redis in production). When it cannot be reached, the listing is
built from the database as if nothing were cached, and a warning is logged.
"""

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from core.unavailable import CACHE_ERRORS

logger = logging.getLogger(__name__)

# The query parameters that change the listing; any other is ignored by the view, and by the key.
KEY_PARAMETERS = ("seller", "limit", "offset")


def listing_cached(*, host: str, parameters: dict[str, str], build: Callable[[], Any]) -> Any:
    """The listing's answer for these parameters: the cached one, else `build()`, then kept."""
    seconds: int = settings.CATALOG_CACHE_SECONDS
    if seconds <= 0:
        return build()
    key = _key(host, parameters)
    try:
        answer = cache.get(key)
    except CACHE_ERRORS as error:
        logger.warning("catalog listing built without the cache: %s", error)
        return build()
    if answer is not None:
        return answer
    answer = build()
    try:
        cache.set(key, answer, seconds)
    except CACHE_ERRORS as error:
        logger.warning("catalog listing not cached: %s", error)
    return answer


def _key(host: str, parameters: dict[str, str]) -> str:
    named = "&".join(f"{name}={parameters.get(name, '')}" for name in KEY_PARAMETERS)
    today = timezone.localdate().isoformat()
    digest = hashlib.sha256(f"{host}|{today}|{named}".encode()).hexdigest()
    return f"catalog-listing:{digest}"
