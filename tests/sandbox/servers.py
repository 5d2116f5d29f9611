"""The sandbox server as ``python -m invoicing.sandbox`` in a subprocess, for the tests of its
HTTP server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = "sk_sandbox_servers"
BANNER = "Space Invoices sandbox listening on http://127.0.0.1:"


@dataclass
class Server:
    process: subprocess.Popen[str]
    base_url: str
    port: int
    log: Path

    def workers(self, count: int) -> set[int]:
        """The master's worker processes, once ``count`` of them run."""
        deadline = time.monotonic() + 10
        while len(found := children(self.process.pid)) != count:
            assert time.monotonic() < deadline, f"workers: {found}, expected {count}"
            time.sleep(0.02)
        return found


def read_answer(stream: BinaryIO) -> tuple[int, dict[str, str], bytes]:
    """The status, headers (names in lower case) and body of the next answer on ``stream``."""
    status = int(stream.readline().split()[1])
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.lower()] = value.strip()
    body = stream.read(int(headers.get("content-length", "0")))
    return status, headers, body


def connection_owner(server_port: int, client_port: int, workers: set[int]) -> int:
    """The worker process holding the server's end of the connection from ``client_port``."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, remote_port = (int(a.rsplit(":", 1)[1], 16) for a in fields[1:3])
        if (local_port, remote_port) == (server_port, client_port):
            inode = fields[9]
    assert inode is not None, f"no connection from port {client_port}"
    for worker in workers:
        for descriptor in Path(f"/proc/{worker}/fd").iterdir():
            if os.readlink(descriptor) == f"socket:[{inode}]":
                return worker
    raise AssertionError(f"no worker holds the connection from port {client_port}")


def children(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def start(data: Path, *options: str, log: Path) -> Server:
    """``python -m invoicing.sandbox --port 0`` on the data file ``data`` with ``options``; returns
    once it printed the port it listens on."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "invoicing.sandbox", "--port", "0", "--account-key", KEY),
                *("--data", str(data), "--rate-limit", "0", *options),
            ],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=output,
            text=True,
        )
    assert process.stdout is not None
    banner = process.stdout.readline().strip()
    assert banner.startswith(BANNER), banner
    base_url = banner.rsplit(" ", 1)[1]
    return Server(process, base_url, int(base_url.rsplit(":", 1)[1]), log)


@contextmanager
def running_server(data: Path, *options: str, name: str = "server") -> Iterator[Server]:
    """A started server (its log in ``<name>.log`` beside ``data``); at the end it gets SIGTERM
    and must exit with status 0, never having logged a key."""
    server = start(data, *options, log=data.parent / f"{name}.log")
    try:
        yield server
    finally:
        server.process.send_signal(signal.SIGTERM)
        returncode = server.process.wait(timeout=15)
    assert returncode == 0
    assert "Authorization" not in server.log.read_text()
