"""How long a task waits before retrying a transient Space Invoices failure."""

import random

from invoicing.client import RateLimited

BASE_DELAY_S = 2.0
MAX_DELAY_S = 300.0


def retry_delay(attempt: int, error: Exception) -> float:
    """Retry-After when the API gave one, else capped exponential backoff with full jitter."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return min(error.retry_after, MAX_DELAY_S)
    return random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * 2**attempt))
