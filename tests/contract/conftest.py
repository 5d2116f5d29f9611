"""The client against the sandbox, both ways the project runs it: mounted in-process as an httpx
transport, and as the real server (``python -m invoicing.sandbox --port 0``, started once per
session in its own process). Every contract test runs against both (``[in_process]`` /
``[server]``). The server's state is shared across tests, so each test starts with
``POST /sandbox/reset`` of the contract account.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from invoicing.client import SpaceInvoicesClient
from invoicing.sandbox import create_app, sandbox_transport

ACCOUNT_KEY = "sk_sandbox_contract_0123456789abcdef"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sandbox server in a subprocess, unlimited rate; yields its base URL."""
    data = tmp_path_factory.mktemp("contract-server") / "sandbox.sqlite3"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "invoicing.sandbox", "--port", "0", "--rate-limit", "0"),
            *("--account-key", ACCOUNT_KEY, "--data", str(data)),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline().strip()
        assert "listening on http://" in banner, banner
        yield banner.rsplit(" ", 1)[1]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


@pytest.fixture(params=["in_process", "server"])
def sandbox_http(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[httpx.Client]:
    """An httpx client reaching a clean sandbox (no key set: the SpaceInvoicesClient sends it)."""
    if request.param == "in_process":
        app = create_app(tmp_path / "sandbox.sqlite3", [ACCOUNT_KEY])
        with httpx.Client(transport=sandbox_transport(app), base_url="http://sandbox") as http:
            yield http
        return
    base_url = request.getfixturevalue("sandbox_server")
    with httpx.Client(base_url=base_url, timeout=10) as http:
        reset = http.post("/sandbox/reset", headers={"Authorization": f"Bearer {ACCOUNT_KEY}"})
        assert reset.status_code == 200, reset.text
        yield http


@pytest.fixture
def make_space_invoices(
    sandbox_http: httpx.Client,
) -> Callable[[str], SpaceInvoicesClient]:
    """Clients with any API key, talking to the fresh sandbox."""

    def make(api_key: str) -> SpaceInvoicesClient:
        return SpaceInvoicesClient(
            base_url=str(sandbox_http.base_url), api_key=api_key, http=sandbox_http
        )

    return make


@pytest.fixture
def space_invoices(
    make_space_invoices: Callable[[str], SpaceInvoicesClient],
) -> SpaceInvoicesClient:
    """A client with the sandbox's account key."""
    return make_space_invoices(ACCOUNT_KEY)
