"""Invoice creates per second against the sandbox server over loopback.

Starts ``python -m invoicing.sandbox --port 0 --rate-limit 0 --workers W`` on a fresh data file
(faults off; two worker processes unless told otherwise, as a load test would run the sandbox so
that one process's GIL does not cap it), creates one entity, then runs ``--threads`` client threads
in all, spread over ``--processes`` client processes, each thread with its own keep-alive
``httpx.Client`` posting invoices of two taxed lines, each with its own ``X-Request-Id`` as the
project's client sends them (so the sandbox looks up and keeps every reply for idempotency).
After a one-second warm-up, the answers arriving in the next ``--seconds`` are counted. Prints
the figures, and as its last line one JSON object: ``{"creates_per_s": ..., "threads": ...,
"client_processes": ..., "server_workers": ...}``.

    .venv/bin/python benchmarks/sandbox_throughput.py [--threads 8] [--seconds 10]
        [--processes 1] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk_sandbox_benchmark"
WARM_UP_S = 1.0
INVOICE = {
    "date": "2026-06-01",
    "customer": {"name": "Ana Novak", "country_code": "SI"},
    "items": [
        {"name": "Mug", "quantity": 2, "price": "12.50", "taxes": [{"rate": 22}]},
        {"name": "Book", "quantity": 1, "price": "24.00", "taxes": [{"rate": "9.5"}]},
    ],
    "metadata": {"order_id": "bench"},
}


def start_server(data: Path, workers: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "invoicing.sandbox", "--port", "0", "--rate-limit", "0"]
    command += ["--account-key", KEY, "--data", str(data), "--workers", str(workers)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    banner = process.stdout.readline().strip()
    if "listening on" not in banner:
        process.kill()
        raise SystemExit(f"the sandbox did not start: {banner!r}")
    return process, banner.rsplit(" ", 1)[1]


def load(
    base_url: str, headers: dict[str, str], threads: int, window: tuple[float, float]
) -> tuple[list[float], int]:
    """Post invoices from ``threads`` threads until the window (``time.monotonic()`` values,
    the same clock in every process) ends; the latencies of the creates answered inside it,
    and the count of other answers there."""
    body = json.dumps(INVOICE).encode()
    begin, end = window
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads

    def client(index: int) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            while (sent := time.monotonic()) < end:
                # A new idempotency key per create, shaped like the ones invoicing/ sends.
                request_headers = {
                    "Content-Type": "application/json",
                    "X-Request-Id": f"mkt-doc-{uuid.uuid4().hex}",
                }
                response = http.post("/invoices", content=body, headers=request_headers)
                answered = time.monotonic()
                if begin <= answered <= end:
                    if response.status_code == 201:
                        latencies[index].append(answered - sent)
                    else:
                        errors[index] += 1

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return [latency for per_thread in latencies for latency in per_thread], sum(errors)


def run(base_url: str, threads: int, processes: int, seconds: float) -> tuple[list[float], int]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base_url, headers=headers) as setup:
        entity = setup.post("/entities", json={"name": "Bench", "country_code": "SI"}).json()
    headers["x-entity-id"] = entity["id"]
    begin = time.monotonic() + WARM_UP_S + 0.5  # 0.5 s for the client processes to start
    window = (begin, begin + seconds)
    shares = [threads // processes + (n < threads % processes) for n in range(processes)]
    if processes == 1:
        return load(base_url, headers, threads, window)
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        results = pool.starmap(load, [(base_url, headers, share, window) for share in shares])
    return [latency for latencies, _ in results for latency in latencies], sum(
        errors for _, errors in results
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8, help="client threads in all")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=1, help="client processes")
    parser.add_argument("--workers", type=int, default=2, help="sandbox worker processes")
    args = parser.parse_args()
    if not 1 <= args.processes <= args.threads:
        parser.error("--processes must be from 1 to --threads")
    with tempfile.TemporaryDirectory() as folder:
        process, base_url = start_server(Path(folder) / "bench.sqlite3", args.workers)
        try:
            latencies, errors = run(base_url, args.threads, args.processes, args.seconds)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    rate = len(latencies) / args.seconds
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(f"client threads: {args.threads} in {args.processes} process(es)")
    print(f"sandbox server workers: {args.workers}")
    print(f"invoices created: {len(latencies)} in {args.seconds:.1f} s, errors: {errors}")
    print(f"latency ms: p50 {quantiles[49] * 1000:.1f}, p99 {quantiles[98] * 1000:.1f}")
    print(f"creates/s: {rate:.0f}")
    result = {
        "creates_per_s": round(rate, 1),
        "threads": args.threads,
        "client_processes": args.processes,
        "server_workers": args.workers,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
