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


def reconciliation_client() -> SpaceInvoicesClient:
    """A client for reconciliation: each request waits for a token of reconciliation's own
    bucket (RECONCILIATION_RATE_LIMIT_PERCENT of the limit), then of the key's shared bucket,
    so reconciliation never takes more than its share and issuance always has the rest."""
    waits = [throttle(bucket) for bucket in (reconciliation_bucket(), _bucket()) if bucket]

    def wait_for_tokens() -> None:
        for wait in waits:
            wait()

    return SpaceInvoicesClient(
        base_url=settings.SPACE_INVOICES_URL,
        api_key=settings.SPACE_INVOICES_API_KEY,
        http=_http(),
        timeout=settings.SPACE_INVOICES_TIMEOUT,
        throttle=wait_for_tokens if waits else None,
    )


def health_client() -> SpaceInvoicesClient:
    """A client for readiness probes: HEALTH_CHECK_TIMEOUT instead of the calls' timeout, and
    no rate-limit token (a probe must neither wait for one nor take one from issuance)."""
    return SpaceInvoicesClient(
        base_url=settings.SPACE_INVOICES_URL,
        api_key=settings.SPACE_INVOICES_API_KEY,
        http=_http(),
        timeout=settings.HEALTH_CHECK_TIMEOUT,
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
    return _new_bucket(settings.SPACE_INVOICES_RATE_LIMIT_PER_MIN, scope="")


@cache
def reconciliation_bucket() -> Bucket | None:
    """Reconciliation's share of the key's limit (None: no limit configured)."""
    per_minute = settings.SPACE_INVOICES_RATE_LIMIT_PER_MIN
    share = max(1, per_minute * settings.RECONCILIATION_RATE_LIMIT_PERCENT // 100)
    return _new_bucket(share if per_minute > 0 else 0, scope="reconciliation")


def _new_bucket(per_minute: int, *, scope: str) -> Bucket | None:
    if per_minute <= 0:
        return None
    burst = max(1, per_minute // 60)
    if settings.RATE_LIMIT_REDIS_URL:
        connection = redis.Redis.from_url(settings.RATE_LIMIT_REDIS_URL)
        return RedisBucket(
            connection,
            api_key=settings.SPACE_INVOICES_API_KEY,
            per_minute=per_minute,
            burst=burst,
            scope=scope,
        )
    return LocalBucket(per_minute=per_minute, burst=burst)
