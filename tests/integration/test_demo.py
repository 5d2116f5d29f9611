"""`make demo` on the embedded defaults: SQLite, the filesystem broker, the sandbox server."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from tests.integration.processes import ROOT, free_port

pytestmark = pytest.mark.integration


def test_the_demo_prints_the_milestone(tmp_path: Path) -> None:
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    # DEBUG as `make demo` sets it: the embedded SECRET_KEY is refused in production mode.
    env.update(
        DEBUG="true", LOCAL_STATE_DIR=str(tmp_path), SPACE_INVOICES_URL=f"http://127.0.0.1:{port}"
    )
    # The demo operator `make demo` configures.
    env.update(OPERATOR_NAME="Demo Marketplace d.o.o.", OPERATOR_COUNTRY="SI")
    done = subprocess.run(
        [sys.executable, "manage.py", "demo", "--sandbox-port", str(port)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    year = timezone.localdate().year
    assert [invoice["number"] for invoice in result["invoices"]] == [f"{year}-00001"] * 2
    sellers = {seller["id"]: seller["entity_id"] for seller in result["sellers"]}
    assert len(set(sellers.values())) == 2
    for invoice in result["invoices"]:
        assert invoice["entity_id"] == sellers[invoice["seller_id"]]
        assert invoice["metadata"]["order_id"] == str(invoice["order_id"])
        assert invoice["metadata"]["seller_id"] == str(invoice["seller_id"])
    assert [invoice["total_with_tax"] for invoice in result["invoices"]] == ["36.36", "51.36"]
    csv_lines = Path(result["export_csv"]).read_text().splitlines()
    assert len(csv_lines) == 3
    assert all(f"{year}-00001" in line for line in csv_lines[1:])
    # The month's commission (10 %): Alpine (SI, domestic 22 %) sold 2 x 14.90 and refunded 1,
    # Berlin (DE, reverse charge) sold 2 x 24.00; each payout is sales - refunds - commission.
    commission = [
        (c["number"], c["transaction_type"], c["total_net"], c["total_with_tax"])
        for c in result["commission_invoices"]
    ]
    assert commission == [
        (f"MP-{year}-00001", "domestic", "1.49", "1.82"),
        (f"MP-{year}-00002", "intra_eu_b2b", "4.80", "4.80"),
    ]
    assert all(
        c["entity_id"] == result["operator_entity_id"] for c in result["commission_invoices"]
    )
    payouts = [
        (
            p["sales_gross"],
            p["refunds_gross"],
            p["commission_net"],
            p["commission_vat"],
            p["payout"],
        )
        for p in result["payout_statements"]
    ]
    assert payouts == [
        ("36.36", "18.18", "1.49", "0.33", "16.36"),
        ("51.36", "0.00", "4.80", "0.00", "46.56"),
    ]
