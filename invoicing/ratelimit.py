"""One token bucket per Space Invoices key, shared by every worker process through Redis.

N workers together stay under the configured requests per minute, so a 429 stays the exception
rather than the control loop. The bucket refills continuously (rate / 60 tokens a second) up to
`burst` tokens; a caller that finds it empty sleeps until its token is due. The arithmetic runs
in one Lua script, atomically in Redis. Without Redis (the embedded broker) the bucket lives in
the process, which is right for the single worker `make run` starts.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

logger = logging.getLogger(__name__)

# KEYS[1]: the bucket. ARGV: rate per second, burst, now (s). Returns seconds to wait (0: go).
_TAKE = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate; tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
return tostring(wait)
"""


class Bucket(Protocol):
    def take(self, now: float) -> float:
        """Reserve one token; the seconds until it may be used (0 when at once)."""


class RedisBucket:
    def __init__(
        self, client: redis.Redis, *, api_key: str, per_minute: int, burst: int, scope: str = ""
    ) -> None:
        digest = hashlib.sha256(api_key.encode()).hexdigest()[:16]  # never the key itself
        # A scope is a second bucket of the same key (one caller's share of the limit).
        self._key = f"space-invoices:bucket:{digest}" + (f":{scope}" if scope else "")
        self._rate, self._burst = per_minute / 60, burst
        self._script = client.register_script(_TAKE)

    def take(self, now: float) -> float:
        return float(self._script(keys=[self._key], args=[self._rate, self._burst, now]))


class LocalBucket:
    def __init__(self, *, per_minute: int, burst: int) -> None:
        self._rate, self._burst = per_minute / 60, float(burst)
        self._tokens = float(burst)
        self._at: float | None = None
        self._lock = threading.Lock()

    def take(self, now: float) -> float:
        with self._lock:
            elapsed = 0.0 if self._at is None else max(0.0, now - self._at)
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate) - 1
            self._at = now
            return 0.0 if self._tokens >= 0 else -self._tokens / self._rate


def throttle(
    bucket: Bucket,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[[], None]:
    """A function that waits for the bucket's next token; the client calls it per request."""

    def wait_for_token() -> None:
        try:
            delay = bucket.take(clock())
        except (redis.ConnectionError, redis.TimeoutError) as error:
            # Fails open: the API's own 429 (retried) still holds the line meanwhile.
            logger.warning("rate limit not applied: its Redis is unreachable (%s)", error)
            return
        if delay > 0:
            sleep(delay)

    return wait_for_token
