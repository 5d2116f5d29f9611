"""How long a task waits before it retries a failure that may pass."""

import random

from django.conf import settings


def backoff_delay(attempt: int) -> float:
    """Capped exponential backoff with full jitter."""
    cap: float = settings.INVOICE_RETRY_MAX_DELAY
    base: float = settings.INVOICE_RETRY_BASE_DELAY
    return random.uniform(0, min(cap, base * 2**attempt))
