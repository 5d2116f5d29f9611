"""Issuance throughput: 2,000 invoices across 50 sellers through real Celery workers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 .venv/bin/python benchmarks/issuance.py
    (--invoices 2000 --sellers 50 are the defaults)

Creates the database `--database` (default `issuance_bench`, dropped at the end), then for each
run: a fresh sandbox server, the sellers' entities, paid orders whose invoice rows are pending
(the outbox, written by `invoice_request`, which queues their issue tasks), and 1, 2 or 4
worker processes draining them through Redis. Runs with no rate limit and 20 ms added
latency, then at 600 requests/min (the sandbox enforcing it, our shared token bucket pacing it).
API requests and 429s are counted from the sandbox's request log; CPU time is the workers' own
(user + system, so waiting on the API is not counted; their start-up is included).
Throughput runs from the first invoice issued to the last. Sending email is off unless
`--email`: one request per invoice is the floor without it, two with it. The last line is one
JSON object with every run.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KEY = "sk_sandbox_issuance_bench"
REQUEST_LINE = re.compile(r"invoicing\.sandbox\.requests: (\w+) (\S+) (\d{3})")


def main() -> None:
    parser = argparse.ArgumentParser(description="Issuance throughput through real workers")
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--sellers", type=int, default=50)
    parser.add_argument(
        "--email", action="store_true", help="send each invoice to the buyer (2 requests each)"
    )
    parser.add_argument("--database", default="issuance_bench", help="Dropped and recreated.")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    server = base.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    os.environ.update(
        DATABASE_URL=f"{server}/{args.database}",
        DJANGO_SETTINGS_MODULE="marketplace.settings",
        CELERY_TASK_DEFAULT_QUEUE=f"issuance-bench-{uuid.uuid4().hex[:8]}",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    plan = [(1, None, 20), (2, None, 20), (4, None, 20), (1, 600, 0), (4, 600, 0)]
    runs = []
    try:
        for workers, limit, latency in plan:
            runs.append(_run(args.invoices, args.sellers, workers, limit, latency, args.email))
            print(json.dumps(runs[-1]), flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
    print(json.dumps({"runs": runs}))


def _run(
    invoices: int, sellers: int, workers: int, limit: int | None, latency: int, email: bool
) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Max, Min

    from invoicing.models import Document, DocumentKind, DocumentState

    with tempfile.TemporaryDirectory() as scratch:
        log_path = Path(scratch) / "sandbox.log"
        sandbox, url = _sandbox(Path(scratch) / "sandbox.sqlite3", log_path, limit, latency)
        try:
            order_ids, entity_ids = _seed(url, invoices, sellers)
            env = {
                **os.environ,
                "SPACE_INVOICES_URL": url,
                "SPACE_INVOICES_API_KEY": KEY,
                # Our bucket paces a little under the API's limit so 429s stay rare.
                "SPACE_INVOICES_RATE_LIMIT_PER_MIN": str(int(limit * 0.98)) if limit else "0",
                "SEND_DOCUMENTS_TO_BUYERS": "true" if email else "false",
                "LOG_LEVEL": "WARNING",
            }
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            pool = [_worker(env) for _ in range(workers)]
            rows = Document.objects.filter(order_id__in=order_ids, kind=DocumentKind.INVOICE)
            done = rows.filter(state=DocumentState.ISSUED)
            if email:
                done = done.filter(sent_at__isnull=False)
            while done.count() < len(order_ids):
                time.sleep(0.5)
            # Steady state: from the first invoice issued to the last one issued (and sent, with
            # email), so worker start-up is left out.
            last = Max("sent_at") if email else Max("issued_at")
            span = rows.aggregate(first=Min("issued_at"), last=last)
            elapsed = (span["last"] - span["first"]).total_seconds()
            for process in pool:
                process.terminate()
            for process in pool:
                process.wait()
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        finally:
            sandbox.terminate()
            sandbox.wait()
        requests, rate_limited = _count_requests(log_path)
        # Counted in the entities themselves, by a second server on the same data (no limit).
        verifier, verify_url = _sandbox(
            Path(scratch) / "sandbox.sqlite3", Path(scratch) / "verify.log", None, 0
        )
        try:
            remote = _duplicates_and_missing(verify_url, entity_ids, order_ids)
        finally:
            verifier.terminate()
            verifier.wait()
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    connection.close()
    per_s = (len(order_ids) - 1) / elapsed
    return {
        "workers": workers,
        "email": email,
        "rate_limit_per_min": limit,
        "latency_ms": latency,
        "invoices": len(order_ids),
        "invoices_per_s": round(per_s, 1),
        "requests_per_invoice": round(requests / len(order_ids), 3),
        "share_429": round(rate_limited / requests, 4) if requests else 0.0,
        "share_of_rate_limit": round(requests / elapsed * 60 / limit, 3) if limit else None,
        "cpu_ms_per_invoice": round(cpu_s * 1000 / len(order_ids), 2),
        **remote,
    }


def _sandbox(
    data: Path, log: Path, limit: int | None, latency: int
) -> tuple[subprocess.Popen[bytes], str]:
    command = [sys.executable, "-m", "invoicing.sandbox", "--port", "0", "--account-key", KEY,
               "--data", str(data), "--rate-limit", str(limit or 0),
               "--latency-ms", str(latency)]  # fmt: skip
    log_file = log.open("wb")
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log_file)
    assert process.stdout is not None
    banner = process.stdout.readline().decode().strip()
    return process, banner.rsplit(" ", 1)[1]


def _seed(url: str, invoices: int, sellers: int) -> tuple[list[int], list[str]]:
    """Sellers with entities, and paid orders whose invoice rows wait in the outbox (their issue
    tasks queued)."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from invoicing.client import EntityCreate, SpaceInvoicesClient
    from invoicing.services import invoice_request
    from marketplace.models import Checkout, Order, OrderLine, Product
    from sellers.models import Seller, SellerStatus

    client = SpaceInvoicesClient(base_url=url, api_key=KEY)
    buyer, _ = get_user_model().objects.get_or_create(username="bench-buyer")
    seller_rows = []
    for n in range(sellers):
        entity = client.entity_create(
            payload=EntityCreate(name=f"Bench seller {n}", country_code="SI"),
            request_id=f"bench-entity-{uuid.uuid4().hex}",
        )
        seller_rows.append(
            Seller.objects.create(
                business_name=f"Bench seller {n}", address="Main 1", post_code="1000",
                city="Ljubljana", country="SI", email=f"s{n}@example.com",
                tax_number="SI50223054", status=SellerStatus.ACTIVE, entity_id=entity["id"],
            )
        )  # fmt: skip
    # Slovenia's standard rate (22 %) comes from its rate table, by the product's category.
    products = {s.pk: Product.objects.create(seller=s, name="Mug", unit_price=Decimal("10.00"))
                for s in seller_rows}  # fmt: skip
    order_ids = []
    for index in range(invoices):
        seller = seller_rows[index % sellers]
        with transaction.atomic():
            order = Order.objects.create(
                checkout=Checkout.objects.create(buyer=buyer), seller=seller, buyer=buyer,
                buyer_name="Ana Novak", buyer_email="ana@example.com",
                billing_address="Prešernova 5", billing_post_code="2000",
                billing_city="Maribor", billing_country="SI", currency="EUR", status="paid",
                transaction_type="domestic", tax_rate_source="seller",
                total_net=Decimal("10.00"), total_tax=Decimal("2.20"),
                total_gross=Decimal("12.20"), paid_at=timezone.now(),
            )  # fmt: skip
            OrderLine.objects.create(
                order=order, product=products[seller.pk], name="Mug", quantity=1,
                unit_price=Decimal("10.00"), tax_rate=Decimal("22.00"),
                total_net=Decimal("10.00"),
            )  # fmt: skip
            # The invoice row with its frozen request, as the paid order's hook writes it; its
            # issue task goes to the queue the workers will drain.
            invoice_request(order=order)
        order_ids.append(order.pk)
    return order_ids, [str(seller.entity_id) for seller in seller_rows]


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "--queues",
               os.environ["CELERY_TASK_DEFAULT_QUEUE"], "--concurrency", "1", "--pool", "solo",
               "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)


def _count_requests(log: Path) -> tuple[int, int]:
    requests = rate_limited = 0
    for match in REQUEST_LINE.finditer(log.read_text(errors="replace")):
        _method, path, status = match.groups()
        if path.startswith("/entities") or path == "/health":
            continue
        requests += 1
        rate_limited += status == "429"
    return requests, rate_limited


def _duplicates_and_missing(
    url: str, entity_ids: list[str], order_ids: list[int]
) -> dict[str, int]:
    """Per seller entity, invoices naming the same order twice, and orders with none."""
    from collections import Counter

    from invoicing.client import SpaceInvoicesClient

    client = SpaceInvoicesClient(base_url=url, api_key=KEY)
    seen: Counter[str] = Counter()
    for entity_id in entity_ids:
        for document in client.invoice_iter(entity_id=entity_id):
            seen[document["metadata"].get("order_id", "")] += 1
    wanted = {str(order_id) for order_id in order_ids}
    return {
        "duplicates": sum(count - 1 for order_id, count in seen.items() if order_id in wanted),
        "missing": len(wanted - set(seen)),
    }


if __name__ == "__main__":
    main()
