"""`make smoke`: the production profile end to end over HTTP, then a SIGTERM mid-issuance.

Boots gunicorn (2 workers), a Celery worker and beat and the sandbox with DEBUG off and fresh
secrets (marketplace/management/production_stack.py), then over HTTP: a static asset (200 and
long cache headers), /readyz, a buyer's checkout paid through the provider's signed callback
(the buyer's own word, and a callback with a bad signature, are refused first), its invoices and
the worker's JSON log lines of their Space Invoices calls carrying the paying request's id, a
refund by an operator holding the permission and its credit note, and the invoice CSV. Then it
pays a batch of checkouts, sends SIGTERM to every process while their invoices are being issued,
restarts them and proves every paid order has exactly one invoice, here and in the sandbox (by
its metadata order id). Prints one JSON line; any failure exits 1 naming the step.
"""

import json
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketplace.management.production_stack import Stack, StackError, expect, wait_for

# WhiteNoise serves hashed (manifest) file names for a year or more.
LONG_CACHE_SECONDS = 365 * 24 * 3600
BATCH_CHECKOUTS = 8
BILLING = {
    "name": "Smoke Buyer",
    "email": "buyer@example.com",
    "address": "Rue de la Paix 1",
    "post_code": "75002",
    "city": "Paris",
    "country": "FR",
}
# The operator's permissions: refund any order, read every order and invoice, export CSVs.
OPERATOR_SETUP = """
from django.contrib.auth.models import Permission, User
from django.db.models import Q
from rest_framework.authtoken.models import Token
perms = [("marketplace", "view_order"), ("marketplace", "change_order"),
         ("invoicing", "view_invoice"), ("reporting", "export_reports")]
query = Q(pk__in=[])
for app, codename in perms:
    query |= Q(content_type__app_label=app, codename=codename)
user = User.objects.create_user("smoke-operator", is_staff=True)
user.user_permissions.set(Permission.objects.filter(query))
print(Token.objects.create(user=user).key)
"""


class Command(BaseCommand):
    help = "Smoke-test the production profile (gunicorn, worker, beat, sandbox) over HTTP."
    # Its own settings are not the stack's: the processes it starts run the start-up checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database-url", required=True, help="PostgreSQL, recreated")
        parser.add_argument("--redis-url", required=True, help="a Redis database, flushed")

    def handle(self, *args: object, database_url: str, redis_url: str, **options: Any) -> None:
        started = time.monotonic()
        try:
            stack = Stack(database_url=database_url, redis_url=redis_url)
        except StackError as error:
            raise CommandError(json.dumps({"smoke": "failed", "error": str(error)})) from error
        smoke = Smoke(stack)
        try:
            smoke.run()
        except (StackError, httpx.HTTPError) as error:
            smoke.report["smoke"] = "failed"
            smoke.report["failed_step"] = smoke.step
            smoke.report["error"] = str(error)
            smoke.report["logs"] = str(stack.state)
            for name in ("web", "worker", "beat", "sandbox"):
                self.stderr.write(f"--- {name} log (last lines) ---\n{stack.log(name)}")
            stack.close(keep_state=True)
            raise CommandError(json.dumps(smoke.report)) from error
        except BaseException:
            stack.close(keep_state=True)  # no process outlives the smoke, whatever stopped it
            raise
        smoke.report["seconds"] = round(time.monotonic() - started, 1)
        if smoke.failures:
            smoke.report["smoke"] = "failed"
            smoke.report["failures"] = smoke.failures
            smoke.report["logs"] = str(stack.state)
            stack.close(keep_state=True)
            raise CommandError(json.dumps(smoke.report))
        stack.close()
        smoke.report["smoke"] = "passed"
        self.stdout.write(json.dumps(smoke.report))


class Smoke:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.step = "start"
        self.report: dict[str, Any] = {}
        # Checks the rest does not depend on: all are run, any failure fails the smoke.
        self.failures: dict[str, str] = {}
        self.web = httpx.Client(base_url=stack.web_url, timeout=15)

    def run(self) -> None:
        self._step("release", self.stack.prepare)
        self._step("start", self.stack.start)
        self._check("static", self._static_asset)
        self._check("readyz", self._readyz)
        self._step("setup", self._setup)
        self._step("checkout", self._checkout_to_credit_note)
        self._step("csv", self._csv)
        self._step("sigterm", self._sigterm_mid_issuance)

    def _step(self, name: str, action: Callable[[], None]) -> None:
        self.step = name
        action()

    def _check(self, name: str, action: Callable[[], None]) -> None:
        self.step = name
        try:
            action()
        except (StackError, httpx.HTTPError, ValueError) as error:
            self.failures[name] = str(error) or type(error).__name__

    # Steps

    def _static_asset(self) -> None:
        page = self.web.get("/")
        expect(page.status_code == 200, f"GET / answered {page.status_code}")
        found = re.search(r'href="(/static/[^"]+\.css)"', page.text)
        if found is None:
            raise StackError("the storefront page links no stylesheet under /static/")
        path = found.group(1)
        asset = self.web.get(path)
        cache_control = asset.headers.get("cache-control", "")
        max_age = re.search(r"max-age=(\d+)", cache_control)
        self.report["static"] = {
            "path": path,
            "status": asset.status_code,
            "cache_control": cache_control,
        }
        expect(asset.status_code == 200, f"GET {path} answered {asset.status_code}")
        expect(
            max_age is not None and int(max_age.group(1)) >= LONG_CACHE_SECONDS,
            f"{path} is not cached for long: Cache-Control {cache_control!r}",
        )

    def _readyz(self) -> None:
        ready = self.web.get("/readyz")
        self.report["readyz"] = ready.status_code
        expect(ready.status_code == 200, f"GET /readyz answered {ready.status_code}")
        self.report["readyz"] = ready.json()

    def _setup(self) -> None:
        self.operator = {
            "Authorization": f"Token {self.stack.manage('shell', '-c', OPERATOR_SETUP).split()[-1]}"
        }
        self.stack.manage("seed_catalog")

        def two_sellers() -> list[dict[str, Any]] | None:
            products = self.web.get("/api/catalog/products/", params={"limit": 100}).json()
            rows = products["results"]
            return rows if len({row["seller_id"] for row in rows}) >= 2 else None

        products = wait_for(two_sellers, "the seeded sellers' entities (catalog)", 60)
        by_seller: dict[int, dict[str, Any]] = {}
        for product in products:
            by_seller.setdefault(product["seller_id"], product)
        self.cart = [
            {"product_id": product["id"], "quantity": 2} for product in list(by_seller.values())[:2]
        ]
        password = secrets.token_urlsafe(24)
        registered = self.web.post(
            "/api/buyers/",
            json={"username": "smoke-buyer", "email": "buyer@example.com", "password": password},
        )
        expect(registered.status_code == 201, f"buyer sign-up: {registered.text}")
        token = self.web.post(
            "/api/auth/token/", json={"username": "smoke-buyer", "password": password}
        )
        expect(token.status_code == 200, f"buyer token: {token.text}")
        self.buyer = {"Authorization": f"Token {token.json()['token']}"}

    def _checkout_to_credit_note(self) -> None:
        checkout = self._place()
        orders = checkout["orders"]
        own_word = self.web.post(f"/api/orders/{orders[0]['id']}/pay/", headers=self.buyer)
        expect(own_word.status_code == 403, f"a buyer marked an order paid: {own_word.text}")
        forged = {**self._callback(checkout), "signature": "0" * 64}
        refused = self.web.post("/payments/callback/", data=forged)
        expect(refused.status_code == 403, f"a forged callback answered {refused.status_code}")
        expect(
            all(self._order(order["id"])["paid_at"] is None for order in orders),
            "an order was paid by a refused payment",
        )
        request_id = f"smoke-pay-{secrets.token_hex(8)}"
        self._pay(checkout, request_id=request_id)
        invoices = [self._document(order["id"], "invoice") for order in orders]
        self._check("logs", lambda: self._issuance_logged(request_id, invoices))
        refunded = orders[0]
        line = refunded["lines"][0]
        refund = self.web.post(
            f"/api/orders/{refunded['id']}/refund/",
            json={"lines": [{"line_id": line["id"], "quantity": 1}]},
            headers=self.operator,
        )
        expect(refund.status_code == 200, f"operator refund: {refund.status_code} {refund.text}")
        credit_note = self._document(refunded["id"], "credit_note")
        self.report["checkout"] = {
            "orders": [order["id"] for order in orders],
            "invoices": [invoice["number"] for invoice in invoices],
            "credit_note": credit_note["number"],
            "credit_note_net": credit_note["total_net"],
        }
        expect(
            Decimal(credit_note["total_net"]) == Decimal(line["unit_price"]),
            f"the credit note for 1 x {line['unit_price']} is {credit_note['total_net']} net",
        )

    def _issuance_logged(self, request_id: str, invoices: list[dict[str, Any]]) -> None:
        """The worker's JSON log lines of each invoice's Space Invoices call carry the id of the
        web request that paid it."""
        lines = self.stack.log("worker", lines=100_000).splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        calls = [
            record
            for record in records
            if record.get("request_id") == request_id
            and record.get("logger") == "invoicing.client"
            and record.get("message", "").startswith("space_invoices POST /invoices")
        ]
        self.report["logs"] = {"request_id": request_id, "invoice_calls": len(calls)}
        expect(
            len(calls) == len(invoices),
            f"{len(calls)} JSON log lines of the invoice calls carry request id {request_id}, "
            f"not {len(invoices)}",
        )

    def _csv(self) -> None:
        today = datetime.now(UTC).date().isoformat()
        export = self.web.get(
            "/api/reports/documents.csv",
            params={"date_from": today, "date_to": today},
            headers=self.operator,
        )
        expect(export.status_code == 200, f"CSV export: {export.status_code} {export.text[:300]}")
        content_type = export.headers.get("content-type", "")
        expect(content_type.startswith("text/csv"), f"the CSV came as {content_type!r}")
        for number in [
            *self.report["checkout"]["invoices"],
            self.report["checkout"]["credit_note"],
        ]:
            expect(number in export.text, f"{number} is missing from the CSV")
        self.report["csv_rows"] = len(export.text.strip().splitlines()) - 1

    def _sigterm_mid_issuance(self) -> None:
        batch = [self._place() for _ in range(BATCH_CHECKOUTS)]
        for checkout in batch:
            self._pay(checkout, wait=False)
        in_flight = self.stack.invoice_counts()
        codes = self.stack.terminate()
        self.report["sigterm"] = {
            "paid_orders": in_flight["paid_orders"],
            "issued_before_sigterm": in_flight["issued_here"],
            "exit_codes": codes,
        }
        expect(
            in_flight["issued_here"] < in_flight["paid_orders"],
            "every invoice was issued before SIGTERM: nothing was in flight",
        )
        self.stack.start()
        settled = wait_for(
            lambda: counts if not (counts := self.stack.invoice_counts())["missing"] else None,
            "every paid order's invoice after the restart",
            120,
            interval=1,
        )
        self.report["sigterm"].update(
            {
                "invoices_here": settled["issued_here"],
                "invoices_in_sandbox": settled["in_sandbox"],
                "duplicated": settled["duplicated"],
            }
        )
        expect(not settled["duplicated"], f"orders invoiced twice: {settled['duplicated']}")
        expect(not settled["unpaid_invoiced"], f"unpaid orders invoiced: {settled}")
        expect(
            settled["issued_here"] == settled["in_sandbox"] == settled["paid_orders"],
            f"paid orders and invoices differ: {settled}",
        )

    # Buyer, provider and operator calls

    def _place(self) -> dict[str, Any]:
        placed = self.web.post(
            "/api/checkout/", json={"lines": self.cart, "billing": BILLING}, headers=self.buyer
        )
        expect(placed.status_code == 201, f"checkout: {placed.status_code} {placed.text}")
        checkout: dict[str, Any] = placed.json()
        return checkout

    def _callback(self, checkout: dict[str, Any]) -> dict[str, str]:
        orders = checkout["orders"]
        amount = sum((Decimal(order["total_gross"]) for order in orders), Decimal(0))
        return self.stack.provider_callback(
            checkout_ref=self.stack.checkout_ref(checkout["checkout_id"]),
            amount=str(amount),
            currency=orders[0]["currency"],
        )

    def _pay(self, checkout: dict[str, Any], wait: bool = True, request_id: str = "") -> None:
        headers = {"X-Request-Id": request_id} if request_id else {}
        paid = self.web.post("/payments/callback/", data=self._callback(checkout), headers=headers)
        expect(paid.status_code == 302, f"signed callback: {paid.status_code} {paid.text[:300]}")
        if wait:
            for order in checkout["orders"]:
                expect(self._order(order["id"])["paid_at"], f"order {order['id']} is not paid")

    def _order(self, order_id: int) -> dict[str, Any]:
        answer = self.web.get(f"/api/orders/{order_id}/", headers=self.buyer)
        expect(answer.status_code == 200, f"order {order_id}: {answer.status_code}")
        order: dict[str, Any] = answer.json()
        return order

    def _document(self, order_id: int, kind: str) -> dict[str, Any]:
        def issued() -> dict[str, Any] | None:
            documents = self._order(order_id)["documents"]
            return next(
                (doc for doc in documents if doc["kind"] == kind and doc["state"] == "issued"),
                None,
            )

        return wait_for(issued, f"order {order_id}'s {kind}", 60)
