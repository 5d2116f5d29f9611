"""Invoice creates per second against the sandbox server over loopback.

Starts ``python -m invoicing.sandbox --port 0 --rate-limit 0`` on a fresh data file (faults off),
creates one entity, then lets ``--threads`` client threads (one keep-alive ``httpx.Client``
each) post invoices of two taxed lines for ``--seconds`` after a short warm-up. Prints the
figures, and as its last line one JSON object: ``{"creates_per_s": ..., "threads": ...}``.

    .venv/bin/python benchmarks/sandbox_throughput.py [--threads 8] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk_sandbox_benchmark"
INVOICE = {
    "date": "2026-06-01",
    "customer": {"name": "Ana Novak", "country_code": "SI"},
    "items": [
        {"name": "Mug", "quantity": 2, "price": "12.50", "taxes": [{"rate": 22}]},
        {"name": "Book", "quantity": 1, "price": "24.00", "taxes": [{"rate": "9.5"}]},
    ],
    "metadata": {"order_id": "bench"},
}


def start_server(data: Path) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "invoicing.sandbox", "--port", "0", "--rate-limit", "0"]
    command += ["--account-key", KEY, "--data", str(data)]
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


def run(base_url: str, threads: int, seconds: float) -> tuple[int, list[float], int]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base_url, headers=headers) as setup:
        entity = setup.post("/entities", json={"name": "Bench", "country_code": "SI"}).json()
    headers["x-entity-id"] = entity["id"]
    body = json.dumps(INVOICE).encode()
    start = threading.Barrier(threads + 1)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    state = {"measuring": False, "stop": False}

    def client(index: int) -> None:
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            start.wait()
            while not state["stop"]:
                began = time.perf_counter()
                response = http.post(
                    "/invoices", content=body, headers={"Content-Type": "application/json"}
                )
                if state["measuring"]:
                    if response.status_code == 201:
                        latencies[index].append(time.perf_counter() - began)
                    else:
                        errors[index] += 1

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    time.sleep(1.0)  # warm-up, not measured
    state["measuring"] = True
    time.sleep(seconds)
    state["measuring"] = False
    state["stop"] = True
    for worker in workers:
        worker.join()
    flat = [latency for per_thread in latencies for latency in per_thread]
    return len(flat), flat, sum(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        process, base_url = start_server(Path(folder) / "bench.sqlite3")
        try:
            created, latencies, errors = run(base_url, args.threads, args.seconds)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    rate = created / args.seconds
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    print(f"client threads: {args.threads}")
    print(f"invoices created: {created} in {args.seconds:.1f} s, errors: {errors}")
    print(f"latency ms: p50 {quantiles[49] * 1000:.1f}, p99 {quantiles[98] * 1000:.1f}")
    print(f"creates/s: {rate:.0f}")
    print(json.dumps({"creates_per_s": round(rate, 1), "threads": args.threads}))


if __name__ == "__main__":
    main()
