"""The sandbox as real servers: state on disk, a threaded server, a second process and a server
of several worker processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from invoicing.sandbox import create_app
from invoicing.sandbox.server import SandboxServer

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_sandbox_servers"
INVOICE = {"date": "2026-06-01", "items": [{"name": "Mug", "quantity": 1, "price": "10.00"}]}


def test_state_survives_a_new_app_on_the_same_file(
    tmp_path: Path, sandbox_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "state" / "sandbox.sqlite3"
    before = sandbox_client(KEY, app=create_app(data, [KEY]))
    entity = before.post("/entities", json={"name": "Seller", "country_code": "SI"}).json()
    first = before.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-1"}).json()

    after = sandbox_client(KEY, app=create_app(data, [KEY]))
    replay = after.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-1"})
    second = after.post("/invoices", json=INVOICE).json()

    assert after.get(f"/entities/{entity['id']}").json() == entity
    assert after.get(f"/invoices/{first['id']}").json() == first
    assert replay.json() == first
    assert (first["number"], second["number"]) == ("2026-00001", "2026-00002")
    assert second["entity_id"] == entity["id"]


def test_replies_kept_by_an_older_sandbox_file_replay_until_a_ttl_is_set(
    tmp_path: Path, sandbox_client: Callable[..., httpx.Client]
) -> None:
    data = tmp_path / "sandbox.sqlite3"
    before = sandbox_client(KEY, app=create_app(data, [KEY]))
    before.post("/entities", json={"name": "Seller", "country_code": "SI"})
    first = before.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-1"}).json()
    with sqlite3.connect(data) as connection:  # the table as sandboxes before the TTL wrote it
        connection.execute("ALTER TABLE idempotency DROP COLUMN created_at")

    after = sandbox_client(KEY, app=create_app(data, [KEY]))
    replay = after.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-1"})
    after.post("/sandbox/faults", json={"idempotency_ttl": 3600})
    forgotten = after.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-1"})

    assert (replay.headers["Idempotent-Replayed"], replay.json()) == ("true", first)
    assert (forgotten.status_code, forgotten.json()["number"]) == (201, "2026-00002")


@pytest.fixture
def thread_server(tmp_path: Path) -> Iterator[str]:
    """The sandbox's threaded server in this process; yields its base URL."""
    server = SandboxServer("127.0.0.1", 0, create_app(tmp_path / "shared.sqlite3", [KEY]))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join()
    server.server_close()


@contextmanager
def running_server(tmp_path: Path, *options: str) -> Iterator[tuple[str, int]]:
    """``python -m invoicing.sandbox`` on a free port with the shared data file and ``options``;
    yields its base URL and process id, then stops it and checks it exited cleanly."""
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "invoicing.sandbox", "--port", "0", "--account-key", KEY),
            *("--data", str(tmp_path / "shared.sqlite3"), "--rate-limit", "0", *options),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline().strip()
        assert banner.startswith("Space Invoices sandbox listening on http://127.0.0.1:"), banner
        yield banner.rsplit(" ", 1)[1], process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=10)
        log.close()
    assert returncode == 0
    assert "Authorization" not in (tmp_path / "server.log").read_text()


@pytest.fixture
def process_server(tmp_path: Path) -> Iterator[str]:
    """``python -m invoicing.sandbox`` on a free port, same data file; yields its base URL."""
    with running_server(tmp_path) as (base_url, _):
        yield base_url


def children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


@pytest.mark.integration
def test_concurrent_creates_across_servers_never_skip_or_repeat(
    thread_server: str, process_server: str
) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with (
        httpx.Client(base_url=thread_server, headers=headers, timeout=30) as in_process,
        httpx.Client(base_url=process_server, headers=headers, timeout=30) as other_process,
    ):
        entity = in_process.post("/entities", json={"name": "Seller", "country_code": "SI"}).json()

        def create(n: int) -> dict[str, Any]:
            client = in_process if n % 2 else other_process
            response = client.post("/invoices", json=INVOICE, headers={"x-entity-id": entity["id"]})
            assert response.status_code == 201, response.text
            invoice: dict[str, Any] = response.json()
            return invoice

        with ThreadPoolExecutor(max_workers=12) as pool:
            invoices = list(pool.map(create, range(60)))

        listed = other_process.get(
            "/invoices", params={"limit": 100}, headers={"x-entity-id": entity["id"]}
        ).json()

    assert sorted(invoice["number"] for invoice in invoices) == [
        f"2026-{n:05d}" for n in range(1, 61)
    ]
    assert len({invoice["id"] for invoice in invoices}) == 60
    assert [d["number"] for d in listed["data"]] == [f"2026-{n:05d}" for n in range(1, 61)]


@pytest.mark.integration
def test_concurrent_duplicates_of_one_request_id_create_one_document(
    thread_server: str, process_server: str
) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with (
        httpx.Client(base_url=thread_server, headers=headers, timeout=30) as in_process,
        httpx.Client(base_url=process_server, headers=headers, timeout=30) as other_process,
    ):
        in_process.post("/entities", json={"name": "Seller", "country_code": "SI"})

        def deliver(n: int) -> httpx.Response:
            client = in_process if n % 2 else other_process
            return client.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-42"})

        with ThreadPoolExecutor(max_workers=10) as pool:
            responses = list(pool.map(deliver, range(20)))

        listed = in_process.get("/invoices").json()

    assert {(r.status_code, r.content) for r in responses} == {(201, responses[0].content)}
    assert sum(1 for r in responses if "Idempotent-Replayed" not in r.headers) == 1
    assert [d["number"] for d in listed["data"]] == ["2026-00001"]


@pytest.mark.integration
def test_the_server_forgets_request_ids_with_idempotency_ttl(tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with (
        running_server(tmp_path, "--idempotency-ttl", "0") as (base_url, _),
        httpx.Client(base_url=base_url, headers=headers, timeout=30) as client,
    ):
        faults = client.get("/sandbox/faults").json()
        client.post("/entities", json={"name": "Seller", "country_code": "SI"})
        answers = [
            client.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-1"})
            for _ in range(2)
        ]

    assert faults["idempotency_ttl"] == 0
    assert [(a.status_code, a.json()["number"]) for a in answers] == [
        (201, "2026-00001"),
        (201, "2026-00002"),
    ]


@pytest.mark.integration
def test_concurrent_creates_across_workers_never_skip_or_repeat(tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with running_server(tmp_path, "--workers", "2") as (base_url, pid):
        (worker,) = children(pid)
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as setup:
            entity = setup.post("/entities", json={"name": "Seller", "country_code": "SI"}).json()
        headers["x-entity-id"] = entity["id"]
        # One connection per client: the workers share the listening socket, so the clients'
        # connections are spread over both processes.
        clients = [httpx.Client(base_url=base_url, headers=headers, timeout=30) for _ in range(8)]

        def create(n: int) -> str:
            response = clients[n % len(clients)].post("/invoices", json=INVOICE)
            assert response.status_code == 201, response.text
            number: str = response.json()["number"]
            return number

        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            numbers = list(pool.map(create, range(80)))
        listed = clients[0].get("/invoices", params={"limit": 100}).json()
        for client in clients:
            client.close()

    assert sorted(numbers) == [f"2026-{n:05d}" for n in range(1, 81)]
    assert [d["number"] for d in listed["data"]] == [f"2026-{n:05d}" for n in range(1, 81)]
    assert not Path(f"/proc/{worker}").exists()  # the worker stopped with the server
