"""The client against the sandbox, in-process: the contract both sides follow."""

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from invoicing.client import SpaceInvoicesClient
from invoicing.sandbox import SandboxApp, create_app, sandbox_transport

ACCOUNT_KEY = "sk_sandbox_contract_0123456789abcdef"
BASE_URL = "http://sandbox"


@pytest.fixture
def sandbox_app(tmp_path: Path) -> SandboxApp:
    return create_app(tmp_path / "sandbox.sqlite3", [ACCOUNT_KEY])


@pytest.fixture
def make_space_invoices(sandbox_app: SandboxApp) -> Iterator[Callable[[str], SpaceInvoicesClient]]:
    """Clients with any API key, talking to the fresh sandbox."""
    http = httpx.Client(transport=sandbox_transport(sandbox_app))

    def make(api_key: str) -> SpaceInvoicesClient:
        return SpaceInvoicesClient(base_url=BASE_URL, api_key=api_key, http=http)

    with http:
        yield make


@pytest.fixture
def space_invoices(
    make_space_invoices: Callable[[str], SpaceInvoicesClient],
) -> SpaceInvoicesClient:
    """A client with the sandbox's account key."""
    return make_space_invoices(ACCOUNT_KEY)
