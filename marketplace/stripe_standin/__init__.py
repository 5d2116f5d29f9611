"""A local stand-in for the Stripe API endpoints the marketplace uses, for tests and `make run`.

The official `stripe` library talks to it instead of api.stripe.com when STRIPE_API_BASE names
it, the way the Space Invoices sandbox (invoicing/sandbox) stands in for Space Invoices. It is a
small WSGI application that imports nothing of Django or of the apps (an import-linter contract
holds it). Shapes follow Stripe's API reference for the fields we read and write; see
:mod:`.app` for the endpoints, :mod:`.state` for what it keeps and :mod:`.events` for the signed
webhook deliveries.
"""

from marketplace.stripe_standin.app import StandinApp, create_app
from marketplace.stripe_standin.events import sign_payload

__all__ = ["StandinApp", "create_app", "sign_payload"]
