"""The production profile as real processes, for `manage.py smoke` and benchmarks/load.py.

gunicorn (its config file, gunicorn.conf.py, where present), a Celery worker and beat, and the
Space Invoices sandbox, each its own process started the way the Procfile starts it, with DEBUG
off and throwaway strong secrets generated here for each run (never the embedded ones). State
lives in a fresh PostgreSQL database, one Redis database (broker, cache and the shared rate
limit) and a temporary folder (sandbox data, beat schedule, process logs). The release steps
(collectstatic, migrate) run first, as a deploy runs them.

The test payment provider runs in the smoke profile (SMOKE_PROFILE): the orchestrator plays the
provider, signing each payment callback with the provider secret it generated.
"""

import hashlib
import hmac
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import redis

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
# The callback fields the test provider signs, in order (marketplace.payments.FIELDS).
CALLBACK_FIELDS = ("checkout_ref", "amount", "currency", "outcome", "payment_id", "timestamp")


class StackError(Exception):
    """A step of the production profile failed; the message says which and why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(probe: Callable[[], T | None], what: str, timeout: float, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result is not None:
            return result
        time.sleep(interval)
    raise StackError(f"timed out after {timeout:.0f} s waiting for {what}")


def expect(condition: bool, failure: str) -> None:
    if not condition:
        raise StackError(failure)


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


class Stack:
    """One production profile: `prepare()` once, then `start()` and `terminate()` as often as
    needed (the database, Redis and sandbox data survive a restart), `close()` at the end."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        web_workers: int = 2,
        worker_concurrency: int = 2,
        env: Mapping[str, str] | None = None,
    ) -> None:
        if not database_url.startswith(("postgres://", "postgresql://")):
            raise StackError(f"the production profile runs on PostgreSQL, not {database_url!r}")
        if not redis_url.startswith("redis://"):
            raise StackError(f"the production profile runs on Redis, not {redis_url!r}")
        self.database_url = database_url
        self.redis_url = redis_url
        self.web_workers = web_workers
        self.worker_concurrency = worker_concurrency
        self.state = Path(tempfile.mkdtemp(prefix="prod-profile-"))
        self.web_url = f"http://127.0.0.1:{free_port()}"
        self.sandbox_url = f"http://127.0.0.1:{free_port()}"
        self.account_key = f"sk_sandbox_{secrets.token_hex(16)}"
        self.provider_secret = secrets.token_urlsafe(48)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._local = threading.local()
        self._connections: list[psycopg.Connection[Any]] = []
        self.env = {
            **{key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")},
            "DJANGO_SETTINGS_MODULE": "marketplace.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": redis_url,
            "CACHE_URL": redis_url,
            "SPACE_INVOICES_URL": self.sandbox_url,
            "SPACE_INVOICES_API_KEY": self.account_key,
            "SPACE_INVOICES_WEBHOOK_SECRET": f"whsec_{secrets.token_urlsafe(32)}",
            "PAYMENT_PROVIDER": "test",
            "SMOKE_PROFILE": "true",
            "PAYMENT_PROVIDER_SECRET": self.provider_secret,
            "LOCAL_STATE_DIR": str(self.state),
            "SEND_DOCUMENTS_TO_BUYERS": "false",
            **(env or {}),
        }

    # Release

    def prepare(self) -> None:
        """A fresh database and Redis database, then the release steps."""
        name = urlsplit(self.database_url).path.lstrip("/")
        admin_url = _with_database(self.database_url, "postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        redis.Redis.from_url(self.redis_url).flushdb()
        self.manage("collectstatic", "--noinput", "-v0")
        self.manage("migrate", "--noinput", "-v0")

    def manage(self, *command: str) -> str:
        """`manage.py <command>` in the production environment; its standard output."""
        done = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise StackError(
                f"manage.py {' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}"
            )
        return done.stdout

    # Processes

    def start(self) -> None:
        """The sandbox, web (gunicorn), worker and beat; returns once web and sandbox answer."""
        sandbox_port = str(urlsplit(self.sandbox_url).port)
        web_port = str(urlsplit(self.web_url).port)
        python = sys.executable
        self._spawn("sandbox", [python, "-m", "invoicing.sandbox", "--port", sandbox_port,
                                "--account-key", self.account_key, "--rate-limit", "0",
                                "--data", str(self.state / "sandbox.sqlite3")])  # fmt: skip
        self._spawn("web", [python, "-m", "gunicorn", "marketplace.wsgi",
                            "--workers", str(self.web_workers),
                            "--bind", f"127.0.0.1:{web_port}"], PORT=web_port)  # fmt: skip
        self._spawn("worker", [python, "-m", "celery", "-A", "marketplace", "worker",
                               "--concurrency", str(self.worker_concurrency),
                               "--loglevel", "INFO"])  # fmt: skip
        self._spawn("beat", [python, "-m", "celery", "-A", "marketplace", "beat",
                             "--loglevel", "INFO",
                             "--schedule", str(self.state / "celerybeat-schedule")])  # fmt: skip
        wait_for(lambda: self._answers(f"{self.sandbox_url}/health"), "the sandbox", 60)
        wait_for(lambda: self._answers(f"{self.web_url}/api/catalog/products/"), "gunicorn", 60)

    def _spawn(self, name: str, command: list[str], **env: str) -> None:
        log = (self.state / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def _answers(self, url: str) -> bool | None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackError(
                    f"{name} exited with {process.returncode} while starting:\n{self.log(name)}"
                )
        try:
            return httpx.get(url, timeout=2).status_code < 500 or None
        except httpx.TransportError:
            return None

    def terminate(self, timeout: float = 30) -> dict[str, int]:
        """SIGTERM to every process at once, as an orchestrator stops them; their exit codes.
        One still running after `timeout` is killed with its children and reported as -9."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        deadline = time.monotonic() + timeout
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                codes[name] = -9
        self.processes = {}
        return codes

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each running process with its children (gunicorn's workers,
        the worker's pool), from /proc (Linux)."""
        names = {process.pid: name for name, process in self.processes.items()}
        ticks = dict.fromkeys(self.processes, 0)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            name = names.get(int(fields[2]))  # its process group: one per started process
            if name is not None:
                ticks[name] += int(fields[11]) + int(fields[12])
        return {name: count / os.sysconf("SC_CLK_TCK") for name, count in ticks.items()}

    def close(self, *, keep_state: bool = False) -> None:
        """Stop what still runs; remove the state folder (logs, sandbox data) unless kept."""
        for conn in self._connections:
            conn.close()
        self._connections = []
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes = {}
        if not keep_state:
            shutil.rmtree(self.state, ignore_errors=True)

    def log(self, name: str, lines: int = 40) -> str:
        path = self.state / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    # The payment provider and the books

    def checkout_ref(self, checkout_id: int) -> str:
        """The provider's reference of a checkout (the shop hands it over with the payment)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # One connection per client thread, kept: a new one per call would load the server.
            conn = self._local.conn = psycopg.connect(self.database_url, autocommit=True)
            self._connections.append(conn)
        row = conn.execute(
            "SELECT public_id FROM marketplace_checkout WHERE id = %s", [checkout_id]
        ).fetchone()
        if row is None:
            raise StackError(f"checkout {checkout_id} is not in the database")
        return str(row[0])

    def provider_callback(self, *, checkout_ref: str, amount: str, currency: str) -> dict[str, str]:
        """The test provider's signed "paid" callback for a checkout, as its page posts it."""
        fields = {
            "checkout_ref": checkout_ref,
            "amount": amount,
            "currency": currency,
            "outcome": "paid",
            "payment_id": f"pay_{secrets.token_hex(16)}",
            "timestamp": str(int(time.time())),
        }
        message = "\n".join(f"{name}={fields[name]}" for name in CALLBACK_FIELDS)
        signature = hmac.new(self.provider_secret.encode(), message.encode(), hashlib.sha256)
        return {**fields, "signature": signature.hexdigest()}

    def invoice_counts(self) -> dict[str, Any]:
        """Paid orders against invoices: issued rows here, and documents in the sandbox by their
        metadata order id, across every seller entity."""
        with psycopg.connect(self.database_url) as conn:
            paid = {
                str(row[0])
                for row in conn.execute(
                    "SELECT id FROM marketplace_order WHERE paid_at IS NOT NULL"
                )
            }
            local = Counter(
                str(row[0])
                for row in conn.execute(
                    "SELECT order_id FROM invoicing_document WHERE kind = 'invoice' "
                    "AND state = 'issued'"
                )
            )
        remote: Counter[str] = Counter()
        headers = {"Authorization": f"Bearer {self.account_key}"}
        with httpx.Client(base_url=self.sandbox_url, headers=headers, timeout=10) as client:
            entities = client.get("/entities", params={"limit": 100}).raise_for_status().json()
            for entity in entities["data"]:
                cursor = None
                while True:
                    params = {"limit": "100", **({"next_cursor": cursor} if cursor else {})}
                    page = (
                        client.get(
                            "/invoices", params=params, headers={"x-entity-id": entity["id"]}
                        )
                        .raise_for_status()
                        .json()
                    )
                    remote.update(doc["metadata"].get("order_id", "") for doc in page["data"])
                    cursor = page["pagination"].get("next_cursor")
                    if not page["pagination"].get("has_more") or not cursor:
                        break
        return {
            "paid_orders": len(paid),
            "issued_here": sum(local[order] for order in paid),
            "in_sandbox": sum(remote[order] for order in paid),
            "missing": sorted(order for order in paid if remote[order] == 0 or local[order] == 0),
            "duplicated": sorted(order for order in paid if remote[order] > 1 or local[order] > 1),
            "unpaid_invoiced": sorted(set(remote) - paid),
        }
