"""Run the Stripe stand-in.

    python -m marketplace.stripe_standin [--host 127.0.0.1] [--port 12111]
        [--secret-key sk_test_local] [--webhook-url URL] [--webhook-secret whsec_...]

Defaults also come from STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and STANDIN_WEBHOOK_URL.
State is kept in memory: a restart forgets every object. Threaded werkzeug server; for local
use only.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from werkzeug.serving import run_simple

from marketplace.stripe_standin.app import create_app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m marketplace.stripe_standin")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--secret-key", default=os.environ.get("STRIPE_SECRET_KEY", "sk_test_local")
    )
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("STANDIN_WEBHOOK_URL", "http://127.0.0.1:8000/api/webhooks/stripe/"),
    )
    parser.add_argument(
        "--webhook-secret", default=os.environ.get("STRIPE_WEBHOOK_SECRET", "whsec_local")
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    base_url = f"http://{args.host}:{args.port}"
    app = create_app(
        base_url,
        secret_key=args.secret_key,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    sys.stdout.write(f"Stripe stand-in listening on {base_url}\n")
    sys.stdout.flush()
    run_simple(args.host, args.port, app, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
