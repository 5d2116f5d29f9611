"""Run the sandbox server.

    python -m invoicing.sandbox [--host 127.0.0.1] [--port 8765]
        [--account-key sk_sandbox_local ...] [--data .local/sandbox.sqlite3]

Defaults may also come from SANDBOX_HOST, SANDBOX_PORT, SANDBOX_ACCOUNT_KEY (comma-separated for
several accounts) and SANDBOX_DATA. ``--port 0`` picks a free port; the listening line printed
on stdout shows it. Requests are logged to stderr (method, path, status). SIGTERM or SIGINT stop
the server cleanly.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from urllib.parse import urlsplit

from werkzeug.serving import WSGIRequestHandler, make_server

from invoicing.sandbox.app import create_app

logger = logging.getLogger("invoicing.sandbox.requests")


class RequestLogHandler(WSGIRequestHandler):
    """Logs one plain line per request: method, path and status. Never headers (they carry the
    key) nor the query string (filters may hold personal data)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(getattr(self, "path", "")).path
        logger.info("%s %s %s", getattr(self, "command", "-"), path, code)


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
    args = parser.parse_args(argv)
    keys = args.account_keys or [
        key.strip()
        for key in os.environ.get("SANDBOX_ACCOUNT_KEY", "sk_sandbox_local").split(",")
        if key.strip()
    ]
    try:
        app = create_app(args.data, keys)
    except ValueError as error:
        parser.error(str(error))

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # make_server reports a port in use itself and exits with status 1.
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=RequestLogHandler
    )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    serving = threading.Thread(target=server.serve_forever, name="sandbox-server")
    serving.start()
    sys.stdout.write(
        f"Space Invoices sandbox listening on http://{args.host}:{server.server_port}\n"
    )
    sys.stdout.flush()
    stop.wait()
    server.shutdown()
    serving.join()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
