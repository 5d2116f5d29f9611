"""Fault injection, configured per run: ``--error-rate`` and friends on the command line, or
``POST /sandbox/faults`` (``GET`` shows the configuration in force).

Each authenticated API call (not ``/health``, ``/share`` or ``/sandbox/*``) first waits
``latency_ms``, then draws one number from a ``random.Random(seed)`` and, by the cumulative
rates, gets at most one fault:

* ``error``: 503 ``service_unavailable`` before any work; nothing is stored;
* ``rate_limit``: 429 ``rate_limited`` with ``Retry-After: 1`` before any work;
* ``timeout``: the call is done, but over a socket the answer comes only after ``timeout_ms``
  (longer than the client's read timeout by default); in-process the transport raises
  ``httpx.ReadTimeout`` after the work instead of sleeping;
* ``lost_response``: the call is done and committed, then the connection is closed without an
  answer (in-process: ``httpx.ReadError`` after the work).

The same seed and the same order of calls give the same faults; posting a configuration restarts the
sequence. Without a seed one is picked at random and shown by ``GET /sandbox/faults`` so a failing
run can be repeated. The configuration and sequence live in the server process: with ``--workers`` >
1 each worker has its own (see :mod:`invoicing.sandbox.__main__`). ``vies_unavailable`` makes
``/transaction-type/check`` answer as if VIES were down (see :mod:`.vies`).

``idempotency_ttl`` makes the sandbox forget request ids, as a service that keeps idempotency
keys for a limited time does: a reply kept longer than that many seconds is no longer replayed,
so a repeat of its ``X-Request-Id`` does the work again (a new document) and the id may then be
used for a different body. ``null`` (the default) keeps replies for good; ``0`` never replays.
Replies are dated by the app's clock when they are stored, so changing the TTL also applies to
those already kept (ones kept by a sandbox older than this option count as kept at the epoch).
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from invoicing.sandbox.errors import Issues

Fault = Literal["error", "rate_limit", "timeout", "lost_response"]

_RATES: tuple[tuple[str, Fault], ...] = (
    ("error_rate", "error"),
    ("rate_limit_rate", "rate_limit"),
    ("timeout_rate", "timeout"),
    ("lost_response_rate", "lost_response"),
)
_MAX_MS = 600_000
_MAX_TTL_S = 30 * 24 * 3600


@dataclass(frozen=True)
class FaultConfig:
    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    timeout_rate: float = 0.0
    lost_response_rate: float = 0.0
    latency_ms: int = 0
    timeout_ms: int = 15_000
    seed: int | None = None
    vies_unavailable: bool = False
    idempotency_ttl: int | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], issues: Issues) -> FaultConfig:
        """A configuration from a ``POST /sandbox/faults`` body; absent fields take defaults."""
        known = {field.name for field in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                issues.add((key,), f"unknown field; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for name, _ in _RATES:
            value = data.get(name, 0)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | Decimal)
                or not 0 <= value <= 1
            ):
                issues.add((name,), "must be a number from 0 to 1")
            else:
                values[name] = float(value)
        if sum(values.values()) > 1:
            issues.add(("error_rate",), "the rates must add up to at most 1")
        for name in ("latency_ms", "timeout_ms"):
            value = data.get(name, getattr(cls, name))
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_MS:
                issues.add((name,), f"must be a whole number of milliseconds from 0 to {_MAX_MS}")
            else:
                values[name] = value
        seed = data.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            issues.add(("seed",), "must be a whole number or null")
        else:
            values["seed"] = seed
        unavailable = data.get("vies_unavailable", False)
        if not isinstance(unavailable, bool):
            issues.add(("vies_unavailable",), "must be true or false")
        else:
            values["vies_unavailable"] = unavailable
        ttl = data.get("idempotency_ttl")
        if ttl is not None and (
            isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= _MAX_TTL_S
        ):
            issues.add(
                ("idempotency_ttl",),
                f"must be null or a whole number of seconds from 0 to {_MAX_TTL_S}",
            )
        else:
            values["idempotency_ttl"] = ttl
        return cls(**values)

    def replies_kept_after(self, now: float) -> float | None:
        """The Unix time at or before which a kept reply is forgotten; None: never."""
        return None if self.idempotency_ttl is None else now - self.idempotency_ttl


class FaultInjector:
    """The configuration in force and its seeded random sequence; safe across threads."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig) -> FaultConfig:
        """Put ``config`` in force (a random seed is filled in) and restart its sequence."""
        if config.seed is None:
            config = dataclasses.replace(config, seed=secrets.randbelow(2**31))
        with self._lock:
            self._config = config
            self._random = random.Random(config.seed)
        return config

    def draw(self) -> Fault | None:
        config = self._config
        rates = [(getattr(config, name), fault) for name, fault in _RATES]
        if not any(rate for rate, _ in rates):
            return None
        with self._lock:
            value = self._random.random()
        for rate, fault in rates:
            if value < rate:
                return fault
            value -= rate
        return None
