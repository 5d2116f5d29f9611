"""The public catalog listing's answers, kept in the cache for CATALOG_CACHE_SECONDS.

Every buyer's visit starts with the listing, the same page for everyone: building it (a count,
a page of products with their sellers, the serializer) was a sixth of the web process's work per
checkout (benchmarks/load.py). An answer is kept for a few seconds per URL as requested (its
links to the next and previous pages repeat the URL's host and parameters) and per day (the
listed rate is today's). A product or seller change shows within that time; nothing
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


def listing_cached(*, url: str, build: Callable[[], Any]) -> Any:
    """The listing's answer for this URL (absolute, with its query): the cached one, else
    `build()`, then kept. A refused request (`build` raises) keeps nothing."""
    seconds: int = settings.CATALOG_CACHE_SECONDS
    if seconds <= 0:
        return build()
    key = _key(url)
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


def _key(url: str) -> str:
    today = timezone.localdate().isoformat()
    return f"catalog-listing:{hashlib.sha256(f'{today}|{url}'.encode()).hexdigest()}"
