"""Run the sandbox server.

    python -m invoicing.sandbox [--host 127.0.0.1] [--port 8765]
        [--account-key sk_sandbox_local ...] [--data .local/sandbox.sqlite3]
        [--rate-limit 60] [--live-rate-limit 600]
        [--error-rate 0] [--rate-limit-rate 0] [--timeout-rate 0] [--lost-response-rate 0]
        [--latency-ms 0] [--timeout-ms 15000] [--seed N] [--vies-unavailable]
        [--idempotency-ttl SECONDS] [--workers 1]

Defaults may also come from SANDBOX_HOST, SANDBOX_PORT, SANDBOX_ACCOUNT_KEY (comma-separated for
several accounts), SANDBOX_DATA and SANDBOX_RATE_LIMIT. Rate limits are requests per minute per
key, as the service has them (60 for sandbox keys, 600 for live keys); ``0`` disables a limit.
The fault flags set the starting configuration of :mod:`invoicing.sandbox.faults` (changed at
run time with ``POST /sandbox/faults``). ``--port 0`` picks a free port; the listening line printed
on stdout shows it (printed once the server listens). Requests are logged to stderr (method, path,
status). SIGTERM or SIGINT stop the server cleanly (exit status 0). The server is gunicorn's
threaded worker (:mod:`invoicing.sandbox.server`).

``--workers N`` runs N worker processes on the one port and data file (under gunicorn's master
process), for load tests. The data (entities, documents, gapless numbering, idempotent replies) is
shared through the SQLite file;
what the sandbox keeps in memory is per process: each worker has its own rate-limit buckets (so
a key may make up to N times its limit), its own fault configuration and seeded fault sequence
(the flags configure every worker alike, but ``POST /sandbox/faults`` and ``POST
/sandbox/reset`` reach only the worker that answers, and which worker answers a call is up to
the kernel, so a seed no longer reproduces a run), and its own webhook deliveries and log. Keep
the default of one worker for tests, fault-injection runs and rate-limit checks.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from invoicing.sandbox.app import create_app
from invoicing.sandbox.faults import FaultConfig
from invoicing.sandbox.ratelimit import LIVE_PER_MINUTE, SANDBOX_PER_MINUTE, RateLimits
from invoicing.sandbox.server import SandboxServer, listen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m invoicing.sandbox", description="Space Invoices sandbox server"
    )
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=os.environ.get("SANDBOX_PORT", "8765"))
    parser.add_argument(
        "--account-key",
        action="append",
        dest="account_keys",
        metavar="KEY",
        help="an account key (sk_sandbox_... or sk_live_...); repeat for several accounts",
    )
    parser.add_argument(
        "--data",
        default=os.environ.get("SANDBOX_DATA", ".local/sandbox.sqlite3"),
        help="SQLite file holding the state (created if missing)",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=int(os.environ.get("SANDBOX_RATE_LIMIT", SANDBOX_PER_MINUTE)),
        metavar="N",
        help="requests per minute per sandbox key (0: unlimited)",
    )
    parser.add_argument(
        "--live-rate-limit",
        type=int,
        default=LIVE_PER_MINUTE,
        metavar="N",
        help="requests per minute per live key (0: unlimited)",
    )
    for name in ("error-rate", "rate-limit-rate", "timeout-rate", "lost-response-rate"):
        parser.add_argument(f"--{name}", type=float, default=0.0, metavar="P")
    parser.add_argument("--latency-ms", type=int, default=0, metavar="MS")
    parser.add_argument("--timeout-ms", type=int, default=FaultConfig.timeout_ms, metavar="MS")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--vies-unavailable", action="store_true")
    parser.add_argument(
        "--idempotency-ttl",
        type=int,
        default=None,
        metavar="SECONDS",
        help="forget a request id's reply after this long (default: keep it for good)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing the port and the data file (default 1)",
    )
    args = parser.parse_args(argv)
    keys = args.account_keys or [
        key.strip()
        for key in os.environ.get("SANDBOX_ACCOUNT_KEY", "sk_sandbox_local").split(",")
        if key.strip()
    ]
    try:
        faults = FaultConfig(
            error_rate=args.error_rate,
            rate_limit_rate=args.rate_limit_rate,
            timeout_rate=args.timeout_rate,
            lost_response_rate=args.lost_response_rate,
            latency_ms=args.latency_ms,
            timeout_ms=args.timeout_ms,
            seed=args.seed,
            vies_unavailable=args.vies_unavailable,
            idempotency_ttl=args.idempotency_ttl,
        )
        if faults.idempotency_ttl is not None and faults.idempotency_ttl < 0:
            raise ValueError("--idempotency-ttl must be 0 or more seconds")
        rates = (faults.error_rate, faults.rate_limit_rate, faults.timeout_rate)
        if min(*rates, faults.lost_response_rate) < 0 or sum(rates) + faults.lost_response_rate > 1:
            raise ValueError("fault rates must be from 0 to 1 and add up to at most 1")
        limits = RateLimits(sandbox=args.rate_limit, live=args.live_rate_limit)
        app = create_app(args.data, keys, rate_limits=limits, faults=faults)
        if args.workers < 1:
            raise ValueError("--workers must be at least 1")
    except ValueError as error:
        parser.error(str(error))

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        listener = listen(args.host, args.port)
    except OSError as error:
        sys.stderr.write(f"cannot listen on {args.host}:{args.port}: {error}\n")
        return 1
    port = listener.getsockname()[1]

    def announce() -> None:
        sys.stdout.write(f"Space Invoices sandbox listening on http://{args.host}:{port}\n")
        sys.stdout.flush()

    # gunicorn's master exits the process when it stops (status 0), and so does each worker.
    SandboxServer(app, listener, workers=args.workers, ready=announce).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
