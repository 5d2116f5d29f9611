"""On PostgreSQL, parameters are bound on the server and a statement a connection runs again is
prepared there (DATABASE_PREPARED_STATEMENTS, on by default), so it is parsed and planned once."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from marketplace.models import Product

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/unused"


def database_options(**env: str) -> dict[str, Any]:
    """settings.DATABASES["default"]["OPTIONS"] as a new process reads them from `env`."""
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_PREPARED_STATEMENTS"}
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "marketplace.settings", "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    options: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return options


def test_postgresql_prepares_statements_unless_turned_off():
    assert database_options(DATABASE_URL=POSTGRES_URL) == {
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    assert database_options(DATABASE_URL=POSTGRES_URL, DATABASE_PREPARED_STATEMENTS="false") == {}
    assert database_options(DATABASE_URL="sqlite:///unused.sqlite3") == {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }


@pytest.mark.django_db
def test_a_statement_run_a_sixth_time_runs_prepared_on_the_server():
    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                ['%FROM "marketplace_product" WHERE "marketplace_product"."id" = $1%'],
            )
            return [row[0] for row in cursor.fetchall()]

    for _ in range(5):
        assert list(Product.objects.filter(pk=0)) == []
    assert prepared() == []

    assert list(Product.objects.filter(pk=0)) == []

    assert len(prepared()) == 1
