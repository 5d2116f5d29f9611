"""How long a task waits before retrying a transient Space Invoices failure."""

from django.conf import settings

from core.retry import backoff_delay
from invoicing.client import RateLimited


def retry_delay(attempt: int, error: Exception) -> float:
    """Retry-After when the API gave one, else capped exponential backoff with full jitter."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        cap: float = settings.INVOICE_RETRY_MAX_DELAY
        return min(error.retry_after, cap)
    return backoff_delay(attempt)
