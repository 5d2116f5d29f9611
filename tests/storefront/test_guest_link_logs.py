"""A guest buyer's order link (a 90-day bearer link) and their email address reach no log: not
the console mail of a local run, not Django's request warnings, not the access log."""

import io
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from django.core import signing
from django.db import connection

from marketplace.models import Checkout
from marketplace.storefront.guest import SALT, guest_orders_token
from tests.integration.processes import ROOT, free_port, stop, wait_for
from tests.storefront.conftest import add, checkout_post, hidden_fields

pytestmark = pytest.mark.django_db

EMAIL = "ana.novak@example.com"


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured (redacting) console log handler writes."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def _messages(stream: io.StringIO) -> list[str]:
    """The JSON lines written (LOG_FORMAT=json, the default with DEBUG off), as text."""
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [f"{r['level']} {r['logger']} {r['message']}" for r in records]


def test_a_guest_checkout_logs_and_prints_neither_its_link_nor_the_email(
    client, products, settings, console, capsys, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "core.logging.RedactingConsoleEmailBackend"
    add(client, products["spoon"], 1)
    checkout_post(client, [(products["spoon"], 1, Decimal("14.90"))], email=EMAIL)
    checkout = Checkout.objects.get()
    html = client.get(f"/payment-provider/{checkout.public_id}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/payments/callback/", hidden_fields(html, "pay-button"))
    token = guest_orders_token(checkout)
    # Django logs a refused link's path as a warning: a link one character short, and an
    # expired one.
    assert client.get(f"/orders/guest/{token[:-1]}/").status_code == 404
    settings.GUEST_LINK_MAX_AGE_DAYS = -1
    assert client.get(f"/orders/guest/{token}/").status_code == 410

    printed = capsys.readouterr().out
    logged = console.getvalue()
    messages = _messages(console)
    assert "Subject: Your marketplace order" in printed
    assert "To: [email]" in printed
    assert "http://testserver/orders/guest/[redacted]/" in printed
    assert "WARNING django.request Not Found: /orders/guest/[redacted]/" in messages
    assert "WARNING django.request Gone: /orders/guest/[redacted]/" in messages
    for output in (printed, logged):
        assert token not in output
        assert token[:-1] not in output
        assert token.split(":")[0] not in output  # the signed payload alone names the checkout
        assert EMAIL not in output


def test_a_signed_token_or_email_in_any_log_record_is_redacted(console):
    token = "IjkzNWQ1MjFhLTU1OTAtNDg5NC04ZjI4LTE4MTE3NWVlODk4YSI:1xZkxy:pGLSIY_Rb_B2wbqqDgAgX1Go"
    logger = logging.getLogger("tests.storefront.logs")
    logger.warning("link %s for %s", f"https://shop.example/orders/guest/{token}/", EMAIL)
    logger.warning("token %s", token)
    logger.warning("encoded /orders/guest/%s/", token.replace(":", "%3A"))

    assert _messages(console) == [
        "WARNING tests.storefront.logs link https://shop.example/orders/guest/[redacted]/ for "
        "[email]",
        "WARNING tests.storefront.logs token [signed token]",
        "WARNING tests.storefront.logs encoded /orders/guest/[redacted]/",
    ]


@pytest.mark.integration
def test_the_access_log_of_runserver_holds_no_guest_link():
    """`make run` serves with runserver: its access log line carries each request's path."""
    token = signing.dumps(str(uuid.uuid4()), salt=SALT)
    database = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}",
    }
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}/orders/guest/{token}/?email={EMAIL}"

    def answered() -> int | None:
        try:
            return httpx.get(url, timeout=2).status_code
        except httpx.TransportError:
            return None

    try:
        assert wait_for(answered, "runserver") == 404  # no such checkout: still logged
    finally:
        stop(server)
    log = server.stderr.read() if server.stderr else ""
    assert '"GET /orders/guest/[redacted]/?email=[email] HTTP/1.1" 404' in log
    assert "WARNING django.request Not Found: /orders/guest/[redacted]/" in log
    assert token not in log
    assert EMAIL not in log
