"""What the PostgreSQL benchmarks share: a fresh database on DATABASE_URL's server, migrated,
`manage.py` commands run against it, and Django set up on it in this process."""

import argparse
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def production_secrets() -> None:
    """Throwaway secrets for this run: DEBUG stays off, as in production, and its checks pass."""
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))


def database_url(base: str, name: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def timed(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    print(f"{label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def fresh_database(parser: argparse.ArgumentParser, name: str) -> str:
    """Drop and create `name` on DATABASE_URL's PostgreSQL server, migrate it; its URL."""
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith(("postgres://", "postgresql://")):
        parser.error("DATABASE_URL must point at a PostgreSQL server")
    url = database_url(base, name)
    timed(f"create {name}", lambda: _create_database(database_url(base, "postgres"), name))
    timed("migrate", lambda: manage(url, "migrate", "--noinput", "-v0"))
    return url


def _create_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def manage(url: str, *command: str) -> None:
    """Run `manage.py <command>` on the database at `url`."""
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *command],
        env={**os.environ, "DATABASE_URL": url},
        cwd=ROOT,
        check=True,
    )


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def copy_model(conn: psycopg.Connection, model: Any, rows: Iterable[dict[str, Any]]) -> None:
    """COPY rows of a Django model; a column a row leaves out gets the field's default, so the
    seed keeps working when fields with defaults are added."""
    fields = model._meta.concrete_fields
    columns = ", ".join(f'"{field.column}"' for field in fields)
    table = model._meta.db_table
    with conn.cursor() as cur, cur.copy(f'COPY "{table}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [row[f.attname] if f.attname in row else f.get_default() for f in fields]
            )
