"""Real processes for integration tests: the sandbox server, Celery workers, gunicorn, a private
Redis and a proxy that cuts database connections."""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TypeVar

import httpx
import pytest
from django.db import connection

from marketplace.celery import app as celery_app

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result is not None:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_sandbox(
    data: Path, key: str, extra: Sequence[str] = ()
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "invoicing.sandbox", "--port", str(port),
               "--account-key", key, "--data", str(data), *extra]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool | None:
        try:
            return httpx.get(f"{url}/health", timeout=1).status_code == 200 or None
        except httpx.TransportError:
            return None

    wait_for(healthy, "the sandbox server")
    return process, url


def broker_url() -> str:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.fail("Integration tests need Redis: set CELERY_BROKER_URL (make test does).")
    return broker


def start_worker(
    env: dict[str, str], concurrency: int = 2, log: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """A worker on this run's own queue, reading the test database, in its own process group;
    its log lines (stderr) go to `log` when given."""
    database = connection.settings_dict
    database_url = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
        f"{database['PORT'] or 5432}/{database['NAME']}"
    )
    command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker",
               "--queues", celery_app.conf.task_default_queue, "--concurrency", str(concurrency),
               "--loglevel", "WARNING", "--without-gossip", "--without-mingle"]  # fmt: skip
    full_env = {
        **os.environ,
        # Production mode (DEBUG off) refuses the embedded SECRET_KEY at start.
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url(),
        **env,
    }
    return subprocess.Popen(command, cwd=ROOT, env=full_env, stderr=log, start_new_session=True)


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its pool children at once, as a crash or the OOM killer would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def production_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production process (DEBUG off, offline payments) with a throwaway
    strong SECRET_KEY, its embedded-default state in `state_dir`; `extra` on top."""
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY"}}
    return {
        **env,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "PAYMENT_PROVIDER": "offline",
        "LOCAL_STATE_DIR": str(state_dir),
        "CELERY_BROKER_URL": "filesystem://",
        **extra,
    }


def collect_static(env: dict[str, str]) -> None:
    """`manage.py collectstatic` into the STATIC_ROOT of `env`, as the image build runs it."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )


def start_gunicorn(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`gunicorn marketplace.wsgi` as the Procfile runs it (gunicorn.conf.py), one worker on a free
    port, its output in `log`; returns once it answers."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "marketplace.wsgi"],
            cwd=ROOT,
            env={**env, "PORT": str(port), "WEB_CONCURRENCY": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool | None:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited: {log.read_text()}")
        try:
            return httpx.get(f"{url}/api/schema/", timeout=5).status_code == 200 or None
        except httpx.TransportError:
            return None

    wait_for(answers, "gunicorn", timeout=30)
    return process, url


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """A private, memory-only redis-server on `port` (its data is lost when it is killed)."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--loglevel", "warning"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)

    def answers() -> bool | None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG") or None
        except OSError:
            return None

    wait_for(answers, f"redis-server on port {port}", timeout=20)
    return process


class TcpProxy:
    """Forwards 127.0.0.1:`port` to an upstream address, until `cut()`: every connection is
    closed and new ones are refused (nothing listens), as when a database server goes away;
    `restore()` listens again on the same port."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._sockets = self._sockets, set()
        if listener is not None:  # shutdown, not only close, wakes the thread in accept()
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut: the listener was closed
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets |= {client, server}
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
