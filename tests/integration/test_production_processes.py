"""The production processes (Procfile) as real processes: each refuses to start on a start-up check
error, `check --deploy` passes with production settings, gunicorn's access log is redacted."""

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.processes import (
    ROOT,
    collect_static,
    production_env,
    start_gunicorn,
    stop,
)

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
EMBEDDED_SECRET_ERROR = (
    "?: (marketplace.E001) SECRET_KEY is the embedded default or too weak while DEBUG is off."
)


@pytest.mark.parametrize(
    ("command", "started"),
    [
        pytest.param(["gunicorn", "marketplace.wsgi"], "Booting worker", id="gunicorn"),
        pytest.param(["celery", "-A", "marketplace", "worker"], "Connected to", id="worker"),
        pytest.param(["celery", "-A", "marketplace", "beat"], "Scheduler: Sending", id="beat"),
    ],
)
def test_each_process_refuses_the_embedded_secret_key(
    command: list[str], started: str, tmp_path: Path
) -> None:
    env = production_env(tmp_path, PORT="0")
    del env["SECRET_KEY"]  # the embedded default

    result = subprocess.run(
        [str(BIN / command[0]), *command[1:], "--loglevel", "INFO"]
        if command[0] == "celery"
        else [str(BIN / command[0]), *command[1:]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1, result.stderr
    assert EMBEDDED_SECRET_ERROR in result.stderr.splitlines()
    assert "marketplace.E004" not in result.stderr  # only the secret is wrong here
    assert started not in result.stdout + result.stderr


def test_check_deploy_passes_with_production_settings(tmp_path: Path) -> None:
    env = production_env(
        tmp_path,
        ALLOWED_HOSTS="shop.example.com",
        SECURE_SSL_REDIRECT="true",
        SECURE_PROXY_SSL_HEADER="true",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "System check identified no issues (0 silenced).\n"


def test_gunicorn_access_log_goes_through_the_redacting_handlers(tmp_path: Path) -> None:
    token = "eyJvcmRlciI6NDJ9abcdefgh:1tXyZq:Zm9vYmFyYmF6cXV4cXV1eF9zaWduYXR1cmU"
    log = tmp_path / "gunicorn.log"
    env = production_env(tmp_path)
    collect_static(env)
    process, url = start_gunicorn(env, log)
    try:
        guest = httpx.get(f"{url}/orders/guest/{token}/?email=ann%40example.com", timeout=10)
        docs = httpx.get(
            f"{url}/api/docs/",
            headers={"Referer": f"{url}/?q=ann@example.com", "X-Request-Id": "docs-3c1f"},
        )
    finally:
        stop(process)

    output = log.read_text()
    assert (guest.status_code, docs.status_code) == (404, 200)
    assert "Booting worker with pid" in output  # gunicorn's own log, through Django's handler
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [r["message"] for r in records if r["logger"] == "gunicorn.access"]
    [guest_line] = [line for line in access if "/orders/guest/" in line]
    [docs_line] = [line for line in access if "/api/docs/" in line]
    assert guest_line.startswith('127.0.0.1 "GET /orders/guest/[redacted]/" 404 ')
    assert docs_line.startswith('127.0.0.1 "GET /api/docs/" 200 ')
    assert docs_line.endswith("ms docs-3c1f")  # the id the response answered with
    assert token not in output
    assert "ann" not in output
