"""A stateful stand-in for the Space Invoices API (like stripe-mock), independent of Django.

Run it as a server with ``python -m invoicing.sandbox`` or mount it in-process::

    app = create_app(tmp_path / "sandbox.sqlite3", ["sk_sandbox_test"])
    client = httpx.Client(transport=sandbox_transport(app), base_url="http://sandbox")

It follows ``space-invoices-api.md``: entities, invoices and credit notes with per-entity
numbering, totals, list filters and cursors, idempotent writes and public share pages.
"""

from invoicing.sandbox.app import SandboxApp, create_app, sandbox_transport

__all__ = ["SandboxApp", "create_app", "sandbox_transport"]
