"""Builds the Space Invoices client from settings; the only place that reads its key."""

from django.conf import settings

from invoicing.client import SpaceInvoicesClient


def space_invoices_client() -> SpaceInvoicesClient:
    return SpaceInvoicesClient(
        base_url=settings.SPACE_INVOICES_URL,
        api_key=settings.SPACE_INVOICES_API_KEY,
        timeout=settings.SPACE_INVOICES_TIMEOUT,
    )
