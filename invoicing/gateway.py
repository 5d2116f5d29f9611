"""Builds the Space Invoices client from settings; the only place that reads its key."""

from functools import cache

import httpx
import redis
from django.conf import settings

from invoicing.client import SpaceInvoicesClient
from invoicing.ratelimit import Bucket, LocalBucket, RedisBucket, throttle


def space_invoices_client() -> SpaceInvoicesClient:
    bucket = _bucket()
    return SpaceInvoicesClient(
        base_url=settings.SPACE_INVOICES_URL,
        api_key=settings.SPACE_INVOICES_API_KEY,
        http=_http(),
        timeout=settings.SPACE_INVOICES_TIMEOUT,
        throttle=throttle(bucket) if bucket is not None else None,
    )


@cache
def _http() -> httpx.Client:
    """One connection pool per process: building a client (and its TLS context) per task, and
    a new connection per call, would cost more CPU than the call itself. Created on first use,
    so a forked worker child builds its own."""
    return httpx.Client(timeout=settings.SPACE_INVOICES_TIMEOUT)


@cache
def _bucket() -> Bucket | None:
    """This process's handle on the key's shared bucket (None: no limit configured)."""
    per_minute = settings.SPACE_INVOICES_RATE_LIMIT_PER_MIN
    if per_minute <= 0:
        return None
    burst = max(1, per_minute // 60)
    if settings.RATE_LIMIT_REDIS_URL:
        connection = redis.Redis.from_url(settings.RATE_LIMIT_REDIS_URL)
        return RedisBucket(
            connection, api_key=settings.SPACE_INVOICES_API_KEY, per_minute=per_minute, burst=burst
        )
    return LocalBucket(per_minute=per_minute, burst=burst)
