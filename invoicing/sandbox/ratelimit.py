"""Rate limiting per API key, like the service: about 60 requests a minute for sandbox keys and
600 for live keys; beyond that 429 ``rate_limited`` with ``Retry-After`` (whole seconds).

Each key has a token bucket holding up to ``limit`` tokens, refilled continuously at ``limit`` per
minute; a call takes one token. Limits are per process and in memory (they restart with the server;
with ``--workers N`` a key may make up to N times its limit). A limit of ``None`` or 0 disables
limiting for that environment: the in-process ``create_app`` is unlimited unless told otherwise, the
CLI uses the service's figures.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

SANDBOX_PER_MINUTE = 60
LIVE_PER_MINUTE = 600


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute per key for each environment; None or 0: unlimited."""

    sandbox: int | None = SANDBOX_PER_MINUTE
    live: int | None = LIVE_PER_MINUTE


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def limit(self, environment: str) -> int | None:
        limit = self._limits.live if environment == "live" else self._limits.sandbox
        return limit or None

    def acquire(self, key: str, environment: str) -> float | None:
        """Take a token for ``key``; None if allowed, else the seconds until one is free."""
        limit = self.limit(environment)
        if limit is None:
            return None
        per_second = limit / 60
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(key, (float(limit), now))
            tokens = min(float(limit), tokens + (now - then) * per_second)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / per_second


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
