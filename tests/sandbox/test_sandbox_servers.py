"""The sandbox as real servers: state on disk, two servers on one data file and a server of
several worker processes."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from invoicing.sandbox import create_app
from tests.sandbox.servers import (
    KEY,
    REPO_ROOT,
    connection_owner,
    read_answer,
    running_server,
    start,
)

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
def two_servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two ``python -m invoicing.sandbox`` servers on the same data file; their base URLs."""
    data = tmp_path / "shared.sqlite3"
    with (
        running_server(data, name="first") as first,
        running_server(data, name="second") as second,
    ):
        yield first.base_url, second.base_url


@pytest.mark.integration
def test_concurrent_creates_across_servers_never_skip_or_repeat(
    two_servers: tuple[str, str],
) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with (
        httpx.Client(base_url=two_servers[0], headers=headers, timeout=30) as first,
        httpx.Client(base_url=two_servers[1], headers=headers, timeout=30) as second,
    ):
        entity = first.post("/entities", json={"name": "Seller", "country_code": "SI"}).json()

        def create(n: int) -> dict[str, Any]:
            client = first if n % 2 else second
            response = client.post("/invoices", json=INVOICE, headers={"x-entity-id": entity["id"]})
            assert response.status_code == 201, response.text
            invoice: dict[str, Any] = response.json()
            return invoice

        with ThreadPoolExecutor(max_workers=12) as pool:
            invoices = list(pool.map(create, range(60)))

        listed = second.get(
            "/invoices", params={"limit": 100}, headers={"x-entity-id": entity["id"]}
        ).json()

    assert sorted(invoice["number"] for invoice in invoices) == [
        f"2026-{n:05d}" for n in range(1, 61)
    ]
    assert len({invoice["id"] for invoice in invoices}) == 60
    assert [d["number"] for d in listed["data"]] == [f"2026-{n:05d}" for n in range(1, 61)]


@pytest.mark.integration
def test_concurrent_duplicates_of_one_request_id_create_one_document(
    two_servers: tuple[str, str],
) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with (
        httpx.Client(base_url=two_servers[0], headers=headers, timeout=30) as first,
        httpx.Client(base_url=two_servers[1], headers=headers, timeout=30) as second,
    ):
        first.post("/entities", json={"name": "Seller", "country_code": "SI"})

        def deliver(n: int) -> httpx.Response:
            client = first if n % 2 else second
            return client.post("/invoices", json=INVOICE, headers={"X-Request-Id": "order-42"})

        with ThreadPoolExecutor(max_workers=10) as pool:
            responses = list(pool.map(deliver, range(20)))

        listed = first.get("/invoices").json()

    assert {(r.status_code, r.content) for r in responses} == {(201, responses[0].content)}
    assert sum(1 for r in responses if "Idempotent-Replayed" not in r.headers) == 1
    assert [d["number"] for d in listed["data"]] == ["2026-00001"]


@pytest.mark.integration
def test_the_server_forgets_request_ids_with_idempotency_ttl(tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with (
        running_server(tmp_path / "shared.sqlite3", "--idempotency-ttl", "0") as server,
        httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client,
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
    with running_server(tmp_path / "shared.sqlite3", "--workers", "2") as server:
        workers = server.workers(2)
        base_url = server.base_url
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
    assert not any(Path(f"/proc/{worker}").exists() for worker in workers)  # stopped with it


@pytest.mark.integration
def test_several_worker_processes_answer_on_the_one_port(tmp_path: Path) -> None:
    with running_server(tmp_path / "shared.sqlite3", "--workers", "2") as server:
        workers = server.workers(2)
        owners: set[int] = set()
        with ExitStack() as connections:
            # The kernel hands each new connection to one worker: open them until both hold one.
            for _ in range(200):
                sock = connections.enter_context(
                    socket.create_connection(("127.0.0.1", server.port), timeout=5)
                )
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: sandbox\r\n\r\n")
                assert read_answer(sock.makefile("rb"))[0] == 200
                owners.add(connection_owner(server.port, sock.getsockname()[1], workers))
                if owners == workers:
                    break

    assert owners == workers
    assert server.process.pid not in owners  # the master only watches its workers


@pytest.mark.integration
def test_port_0_reports_the_port_bound(tmp_path: Path) -> None:
    with (
        running_server(tmp_path / "shared.sqlite3") as server,
        httpx.Client(base_url=server.base_url, timeout=10) as client,
    ):
        health = client.get("/health")
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.close()

    assert server.port != 0
    assert health.json() == {"status": "ok"}
    assert f"Listening at: http://127.0.0.1:{server.port} " in server.log.read_text()


@pytest.mark.integration
def test_a_taken_port_is_refused_at_once(tmp_path: Path) -> None:
    with running_server(tmp_path / "shared.sqlite3") as server:
        command = [sys.executable, "-m", "invoicing.sandbox", "--port", str(server.port),
                   "--account-key", KEY, "--data", str(tmp_path / "other.sqlite3")]  # fmt: skip
        refused = subprocess.run(
            command,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert refused.returncode == 1
    assert refused.stdout == ""
    assert f"cannot listen on 127.0.0.1:{server.port}: " in refused.stderr


@pytest.mark.integration
def test_sigterm_finishes_the_request_in_flight_then_stops_every_process(
    tmp_path: Path,
) -> None:
    server = start(
        tmp_path / "shared.sqlite3", "--workers", "2", "--latency-ms", "1000", log=tmp_path / "log"
    )
    workers = server.workers(2)
    with httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
    ) as client:
        assert client.get("/health").status_code == 200  # the connection is open on a worker
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(
                client.post, "/entities", json={"name": "Seller", "country_code": "SI"}
            )
            time.sleep(0.3)  # the create waits out its 1 s of latency in the worker
            server.process.send_signal(signal.SIGTERM)
            created = pending.result()
    returncode = server.process.wait(timeout=15)

    assert (created.status_code, created.json()["name"]) == (201, "Seller")
    assert returncode == 0
    assert not any(Path(f"/proc/{worker}").exists() for worker in workers)
    assert "Handling signal: term" in server.log.read_text()


@pytest.mark.integration
def test_sigint_stops_every_process_at_once(tmp_path: Path) -> None:
    server = start(tmp_path / "shared.sqlite3", "--workers", "2", log=tmp_path / "log")
    workers = server.workers(2)

    server.process.send_signal(signal.SIGINT)
    returncode = server.process.wait(timeout=15)

    assert returncode == 0
    assert not any(Path(f"/proc/{worker}").exists() for worker in workers)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left to an init that does not reap it counts as stopped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.integration
def test_workers_stop_when_their_master_disappears(tmp_path: Path) -> None:
    server = start(tmp_path / "shared.sqlite3", "--workers", "2", log=tmp_path / "log")
    workers = server.workers(2)

    server.process.kill()  # as the OOM killer would: the master cannot stop its workers
    server.process.wait(timeout=15)
    deadline = time.monotonic() + 15
    while any(alive(worker) for worker in workers) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert not any(alive(worker) for worker in workers)
