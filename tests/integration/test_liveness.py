"""The liveness commands of docker-compose.yml, run as written against real processes: the
worker answers `celery inspect ping`, beat keeps its heartbeat file fresh."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from marketplace.celery import app as celery_app
from tests.integration.processes import (
    ROOT,
    broker_url,
    kill_hard,
    production_env,
    start_worker,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Where beat's container keeps its heartbeat (BEAT_HEARTBEAT_FILE in the image's state folder).
COMPOSE_HEARTBEAT = "/var/lib/marketplace/beat-heartbeat"


def healthcheck(
    service: str, env: dict[str, str], heartbeat: str = COMPOSE_HEARTBEAT
) -> subprocess.CompletedProcess[str]:
    """Runs the service's healthcheck from docker-compose.yml as the container would (only the
    heartbeat file's path is this test's own)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    test = [part.replace(COMPOSE_HEARTBEAT, heartbeat) for part in
            compose["services"][service]["healthcheck"]["test"]]  # fmt: skip
    # CMD-SHELL runs in sh, where Compose has turned `$$` into `$`.
    args = ["sh", "-c", test[1].replace("$$", "$")] if test[0] == "CMD-SHELL" else test[1:]
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        args, cwd=ROOT, env={**env, "PATH": path}, capture_output=True, text=True, timeout=60
    )


def test_worker_healthcheck_pings_this_hosts_worker(tmp_path: Path) -> None:
    env = production_env(tmp_path, CELERY_BROKER_URL=broker_url(), HOSTNAME=socket.gethostname())

    def pong() -> subprocess.CompletedProcess[str] | None:
        result = healthcheck("worker", env)
        return result if result.returncode == 0 else None

    worker = start_worker({})
    try:
        answered = wait_for(pong, "the worker's pong")
    finally:
        kill_hard(worker)  # dead, as after a crash: it says no goodbye to the broker
    assert f"celery@{socket.gethostname()}: OK" in answered.stdout
    assert "pong" in answered.stdout
    gone = healthcheck("worker", env)
    assert gone.returncode != 0
    assert "No nodes replied" in gone.stdout + gone.stderr


def test_beat_healthcheck_reads_the_heartbeat_its_scheduler_keeps(tmp_path: Path) -> None:
    heartbeat = tmp_path / "beat-heartbeat"
    env = production_env(
        tmp_path,
        CELERY_BROKER_URL=broker_url(),
        CELERY_TASK_DEFAULT_QUEUE=celery_app.conf.task_default_queue,
        BEAT_HEARTBEAT_FILE=str(heartbeat),
    )
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "marketplace", "beat", "--loglevel", "WARNING",
         "--scheduler", "core.health.HeartbeatScheduler", "--max-interval", "1"],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        first = wait_for(lambda: heartbeat.stat().st_mtime if heartbeat.exists() else None, "beat")
        wait_for(lambda: heartbeat.stat().st_mtime > first or None, "a second tick", timeout=10)
        assert healthcheck("beat", env, str(heartbeat)).returncode == 0
    finally:
        stop(beat)
    # A beat that stopped ticking two minutes ago is unhealthy.
    stale = time.time() - 121
    os.utime(heartbeat, (stale, stale))
    assert healthcheck("beat", env, str(heartbeat)).returncode == 1
