"""Throttle fixtures shared by the API and page throttling tests."""

from typing import Any

import pytest

from core.throttles import ScopedThrottle


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScopedThrottle, "timer", lambda *_: 1_000_000.0)


@pytest.fixture
def rates(settings: Any) -> dict[str, int]:
    """Small limits, so that the tests make few requests."""
    limits = {"login": 3, "signup": 2, "checkout": 4, "export": 2}
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: f"{n}/min" for scope, n in limits.items()},
    }
    return limits
