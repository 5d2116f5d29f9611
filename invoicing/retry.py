"""How long a task waits before retrying a transient Space Invoices failure."""

import random

from django.conf import settings

from invoicing.client import RateLimited


def retry_delay(attempt: int, error: Exception) -> float:
    """Retry-After when the API gave one, else capped exponential backoff with full jitter."""
    cap: float = settings.INVOICE_RETRY_MAX_DELAY
    base: float = settings.INVOICE_RETRY_BASE_DELAY
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return min(error.retry_after, cap)
    return random.uniform(0, min(cap, base * 2**attempt))
