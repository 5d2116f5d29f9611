"""Concurrent buyers against the production profile: catalog -> checkout -> pay.

    .venv/bin/python benchmarks/load.py [--seconds 60] [--buyers 8] [--web-workers 2]
        [--database-url postgres://postgres@127.0.0.1:5432/load_bench]
        [--redis-url redis://127.0.0.1:6379/2]

Boots the production profile as `make smoke` does (marketplace/management/production_stack.py:
gunicorn with gunicorn.conf.py, a Celery worker and beat, the sandbox; DEBUG off, fresh secrets,
the database recreated and the Redis database flushed). Each buyer thread, with its own
keep-alive connection, lists the catalog, checks out one product and pays the checkout through
the test provider's signed callback, for `--seconds`. The per-buyer checkout throttle is raised
(the throttle stays in the path) and the Space Invoices rate limit lifted, as the sandbox's is.

Where the server runs with autovacuum off, the run's database is analyzed after 2 s and every
10 s, as auto-analyze keeps a production server's statistics (see _analyze).

Prints checkouts per second, p50/p95 latency per request kind and over all requests, the share
of 5xx answers, the CPU used meanwhile by each process of the stack, the client, PostgreSQL (the
run's database's backends, and the whole server with its exited backends) and the rest of the
machine (Linux /proc: the machine may be shared), the CPU per paid checkout of each, and the
stack's own CPU while idle for 5 s before the run, and the milliseconds a fixed pure-Python loop
takes just before the run (`calibration_ms`: the same code measures slower when a shared host
gives the machine less CPU, and this says by how much). Then it waits for the worker to issue
every invoice and checks that every paid order has exactly one, here and in the sandbox (by its
metadata order id). The last line is one JSON object.
"""

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marketplace.management.production_stack import Stack, StackError, wait_for

BILLING = {
    "name": "Load Buyer",
    "email": "buyer@example.com",
    "address": "Rue de la Paix 1",
    "post_code": "75002",
    "city": "Paris",
    "country": "FR",
}
# Seconds between two ANALYZE of the run's database where autovacuum is off (see _analyze).
ANALYZE_EVERY_S = 10.0
# Its connection's application_name: the sampler of the database's backends leaves it out.
ANALYZE_NAME = "load.py analyze"
# Seconds the started stack is watched doing nothing before the run.
IDLE_SECONDS = 5.0
# The calibration loop's length: about 0.5 s of one core on this machine when it runs at full speed.
CALIBRATION_STEPS = 2_000_000
PASSWORD = "Qz7-wmv!tr4x-Hk2p"  # noqa: S105 - throwaway buyers on a throwaway database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--buyers", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/load_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/2")
    parser.add_argument(
        "--drain-timeout", type=float, default=900, help="seconds to wait for every invoice"
    )
    args = parser.parse_args()
    stack = Stack(
        database_url=args.database_url,
        redis_url=args.redis_url,
        web_workers=args.web_workers,
        env={
            "THROTTLE_CHECKOUT": "1000000/min",
            "THROTTLE_SIGNUP": "1000000/hour",
            "THROTTLE_LOGIN": "1000000/min",
            "SPACE_INVOICES_RATE_LIMIT_PER_MIN": "0",
            "LOG_LEVEL": "WARNING",
        },
    )
    try:
        print(json.dumps(_run(stack, args)))
    except StackError as error:
        for name in ("web", "worker", "sandbox"):
            print(f"--- {name} log ---\n{stack.log(name)}", file=sys.stderr)
        sys.exit(f"load: {error}")
    finally:
        stack.close()


def _run(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    stack.prepare()
    stack.start()
    seeded = int(stack.manage("seed_catalog").split()[1])  # "Seeded 3 sellers; ..."
    web = httpx.Client(base_url=stack.web_url, timeout=30)

    def catalog() -> list[dict[str, Any]] | None:
        rows = web.get("/api/catalog/products/", params={"limit": 100}).json()["results"]
        return rows if len({row["seller_id"] for row in rows}) == seeded else None

    products = wait_for(catalog, "every seeded seller's products in the catalog", 60)
    with psycopg.connect(args.database_url) as conn:
        autovacuum = _one(conn, "SHOW autovacuum") == "on"
    if not autovacuum:
        print(
            f"autovacuum is off on this server: the run's database is analyzed after 2 s "
            f"and every {ANALYZE_EVERY_S:.0f} s",
            flush=True,
        )
    tokens = [_buyer_token(web, n) for n in range(args.buyers)]
    # What the stack burns with nothing to do (beat, the worker's and gunicorn's loops), so the
    # CPU per checkout can be told apart from it when a shared machine slows the run down.
    idle_before, idle_started = stack.cpu_seconds(), time.monotonic()
    time.sleep(IDLE_SECONDS)
    idle_after = stack.cpu_seconds()
    idle_rate = {
        name: (idle_after[name] - idle_before[name]) / (time.monotonic() - idle_started)
        for name in idle_after
    }
    calibration = _calibration_ms()
    print(
        f"{args.buyers} buyers, {len(products)} products, gunicorn {args.web_workers} workers; "
        f"calibration loop {calibration:.0f} ms; running {args.seconds:.0f} s",
        flush=True,
    )
    timings: dict[str, list[float]] = defaultdict(list)
    statuses: dict[int, int] = defaultdict(int)
    checkouts = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds
    started = time.monotonic()
    machine_before, stack_before, client_before = _machine_cpu(), stack.cpu_seconds(), _own_cpu()
    postgres_before = _postgres_cpu()
    backends = _BackendSampler(args.database_url, deadline)

    def buyer(index: int) -> None:
        connection = _Connection(stack.web_url, tokens[index])
        n = index
        while time.monotonic() < deadline:
            product = products[n % len(products)]["id"]
            n += 1
            catalog = connection.timed("catalog", "GET", "/api/catalog/products/")
            placed = connection.timed(
                "checkout",
                "POST",
                "/api/checkout/",
                payload={"lines": [{"product_id": product, "quantity": 1}], "billing": BILLING},
            )
            paid = None
            if placed[1] == 201:
                body = json.loads(placed[2])
                order = body["orders"][0]
                callback = stack.provider_callback(
                    checkout_ref=stack.checkout_ref(body["checkout_id"]),
                    amount=str(Decimal(order["total_gross"])),
                    currency=order["currency"],
                )
                paid = connection.timed("pay", "POST", "/payments/callback/", form=callback)
            with lock:
                for kind, status, _, elapsed in filter(None, (catalog, placed, paid)):
                    timings[kind].append(elapsed)
                    statuses[status] += 1
                if paid is not None and paid[1] == 302:
                    checkouts[0] += 1
        connection.close()

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(args.buyers)]
    threads.append(threading.Thread(target=backends.run))
    if not autovacuum:
        threads.append(threading.Thread(target=_analyze, args=(args.database_url, deadline)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    machine = _machine_cpu() - machine_before
    stack_after = stack.cpu_seconds()
    by_process = {name: stack_after[name] - stack_before[name] for name in stack_after}
    ours = sum(by_process.values())
    client = _own_cpu() - client_before
    postgres = _postgres_cpu() - postgres_before
    backends_cpu = backends.cpu_seconds()
    others = max(0.0, machine - ours - client - postgres)
    print(
        f"CPU during the run: {machine:.0f} s busy of {elapsed * (os.cpu_count() or 1):.0f} s; "
        + ", ".join(f"{name} {used:.1f} s" for name, used in by_process.items())
        + f", client {client:.1f} s, PostgreSQL {postgres:.1f} s (every database on the server; "
        f"this run's database's backends {backends_cpu:.1f} s), "
        f"everything else on the machine {others:.0f} s"
    )
    every = sorted(t for kind in timings.values() for t in kind)
    requests = sum(statuses.values())
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    for kind, values in sorted(timings.items()):
        print(f"{kind:9s} {len(values):6d} requests  p50 {_p(values, 50):7.1f} ms  "
              f"p95 {_p(values, 95):7.1f} ms")  # fmt: skip
    print(f"statuses: {dict(sorted(statuses.items()))}")
    rate = checkouts[0] / elapsed
    print(f"{checkouts[0]} paid checkouts in {elapsed:.1f} s: {rate:.1f} checkouts/s", flush=True)
    drain_started = time.monotonic()
    settled = wait_for(
        lambda: counts if not (counts := stack.invoice_counts())["missing"] else None,
        "every paid order's invoice",
        args.drain_timeout,
        interval=2,
    )
    drained = time.monotonic() - drain_started
    exactly_once = (
        not settled["duplicated"]
        and not settled["unpaid_invoiced"]
        and settled["issued_here"] == settled["in_sandbox"] == settled["paid_orders"]
    )
    print(
        f"{settled['paid_orders']} paid orders, {settled['in_sandbox']} invoices in the sandbox, "
        f"{settled['issued_here']} issued here, {len(settled['duplicated'])} duplicated; "
        f"all issued {drained:.0f} s after the load ended"
    )
    return {
        "seconds": round(elapsed, 1),
        "buyers": args.buyers,
        "web_workers": args.web_workers,
        "checkouts": checkouts[0],
        "checkouts_per_s": round(rate, 1),
        "p50_ms": round(_p(every, 50), 1),
        "p95_ms": round(_p(every, 95), 1),
        "p95_ms_by_kind": {kind: round(_p(v, 95), 1) for kind, v in sorted(timings.items())},
        "requests": requests,
        "share_5xx": round(server_errors / requests, 4) if requests else None,
        "paid_orders": settled["paid_orders"],
        "invoices_in_sandbox": settled["in_sandbox"],
        "exactly_one_invoice_per_paid_order": exactly_once,
        "invoices_drained_s": round(drained, 1),
        "cpus": os.cpu_count(),
        "calibration_ms": round(calibration),
        "cpu_s_stack": {name: round(used, 1) for name, used in by_process.items()},
        "cpu_s_client": round(client, 1),
        "cpu_s_postgres_all_databases": round(postgres, 1),
        "cpu_s_postgres_this_database": round(backends_cpu, 1),
        "cpu_s_others": round(others, 1),
        "cpu_ms_per_checkout": {
            name: round(used * 1000 / checkouts[0], 1) if checkouts[0] else None
            for name, used in {**by_process, "client": client, "postgres": backends_cpu}.items()
        },
        "stack_idle_cpu_ms_per_s": {n: round(rate * 1000, 1) for n, rate in idle_rate.items()},
        "cpu_ms_per_checkout_above_idle": {
            name: round((used - idle_rate[name] * elapsed) * 1000 / checkouts[0], 1)
            for name, used in by_process.items()
        }
        if checkouts[0]
        else None,
    }


def _buyer_token(web: httpx.Client, n: int) -> str:
    username = f"load-buyer-{n}"
    registered = web.post(
        "/api/buyers/",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    if registered.status_code != 201:
        raise StackError(f"buyer sign-up: {registered.status_code} {registered.text}")
    token = web.post("/api/auth/token/", json={"username": username, "password": PASSWORD})
    if token.status_code != 200:
        raise StackError(f"buyer token: {token.status_code} {token.text}")
    key: str = token.json()["token"]
    return key


class _Connection:
    """One buyer's keep-alive HTTP/1.1 connection: the standard library's client, which spends
    a fraction of httpx's CPU per request (the client shares the machine with the stack). The
    answer's body is read in full, as a browser would."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Token {token}", "Host": parts.netloc}
        self.http = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def timed(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        payload: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
    ) -> tuple[str, int, bytes, float]:
        """(kind, status, body, milliseconds) of one request."""
        headers, body = dict(self.headers), None
        if payload is not None:
            headers["Content-Type"], body = "application/json", json.dumps(payload).encode()
        elif form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form).encode()
        started = time.perf_counter()
        self.http.request(method, path, body=body, headers=headers)
        response = self.http.getresponse()
        content = response.read()
        return kind, response.status, content, (time.perf_counter() - started) * 1000

    def close(self) -> None:
        self.http.close()


def _analyze(database_url: str, deadline: float) -> None:
    """What autovacuum's auto-analyze does on a production server: the planner's statistics
    follow the tables as the run fills them. Without any, PostgreSQL plans the fresh database's
    growing tables as if they held a row or two (a checkout's distance-sales count then scans
    every invoice once per order of the seller)."""
    at = time.monotonic() + 2  # the first once the tables hold a few hundred rows
    with psycopg.connect(database_url, autocommit=True, application_name=ANALYZE_NAME) as conn:
        while at < deadline:
            time.sleep(max(0.0, at - time.monotonic()))
            conn.execute("ANALYZE")
            at += ANALYZE_EVERY_S


def _calibration_ms() -> float:
    """The CPU milliseconds of a fixed pure-Python loop, the best of three."""
    best = float("inf")
    for _ in range(3):
        started, total = time.process_time(), 0
        for n in range(CALIBRATION_STEPS):
            total += n * n % 7
        best = min(best, (time.process_time() - started) * 1000)
    return best


def _one(conn: psycopg.Connection[Any], query: str) -> Any:
    row = conn.execute(query).fetchone()
    return row[0] if row else None


def _machine_cpu() -> float:
    """Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu() -> float:
    """CPU seconds used so far by the PostgreSQL server (serving every database on it, not only
    this run's): its running processes, and the backends that have exited, which the postmaster
    has reaped into its children's times."""
    ticks = 0
    processes: dict[int, tuple[int, list[str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if name == "postgres":
            fields = rest.split()
            processes[int(stat.parent.name)] = (int(fields[1]), fields)
    for parent, fields in processes.values():
        ticks += int(fields[11]) + int(fields[12])
        if parent not in processes:  # the postmaster
            ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


class _BackendSampler:
    """CPU used during the run by the PostgreSQL backends connected to the run's database (but
    its own and _analyze's): each one's /proc times read every second until the deadline. A
    backend that ends during the run (a web thread's connection older than CONN_MAX_AGE) counts
    up to its last reading."""

    def __init__(self, database_url: str, deadline: float) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)
        self.deadline = deadline
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self._read(self.first)

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            time.sleep(max(0.0, min(1.0, self.deadline - time.monotonic())))
            self._read(self.last)

    def cpu_seconds(self) -> float:
        self._read(self.last)
        self.conn.close()
        used = sum(ticks - self.first.get(pid, 0) for pid, ticks in self.last.items())
        return used / os.sysconf("SC_CLK_TCK")

    def _read(self, into: dict[int, int]) -> None:
        pids = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND application_name <> %s",
            [ANALYZE_NAME],
        ).fetchall()
        for (pid,) in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            into[pid] = int(fields[11]) + int(fields[12])


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def _p(values: list[float], percentile: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[percentile - 1]


if __name__ == "__main__":
    main()
