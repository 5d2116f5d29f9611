"""Space Invoices in ``/readyz`` (core.health): registered by invoicing at ready()."""

from django.conf import settings

from core.health import CheckTimedOut
from invoicing import gateway
from invoicing.client import SpaceInvoicesError


def space_invoices_check() -> None:
    try:
        with gateway.health_client() as client:
            client.health(path=settings.SPACE_INVOICES_HEALTH_PATH)
    except SpaceInvoicesError as exc:
        if exc.code == "timeout":
            raise CheckTimedOut from exc
        raise
