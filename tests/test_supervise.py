"""`make run`'s supervisor (scripts/supervise, used by every line of Procfile.dev): a process
that dies is started again, with a message naming it; honcho's SIGTERM stops it for good."""

import signal
import subprocess
from pathlib import Path

from tests.integration.processes import ROOT, wait_for

SUPERVISE = str(ROOT / "scripts" / "supervise")


def test_every_procfile_dev_process_is_supervised():
    lines = (ROOT / "Procfile.dev").read_text().splitlines()
    names = [line.split(":", 1)[0] for line in lines]
    assert names == ["sandbox", "web", "worker", "beat", "stripe"]
    assert [line.split(": ", 1)[1].split()[:2] for line in lines] == [
        ["scripts/supervise", name] for name in names
    ]


def test_a_process_that_dies_is_started_again_and_said_so(tmp_path: Path):
    starts = tmp_path / "starts"
    command = f"echo started >> {starts}; exit 3"
    supervisor = subprocess.Popen(
        [SUPERVISE, "worker", "sh", "-c", command], stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for(lambda: (starts.exists() and starts.read_text().count("started") >= 2) or None,
                 "a second start", timeout=10)  # fmt: skip
    finally:
        supervisor.send_signal(signal.SIGTERM)
        _, stderr = supervisor.communicate(timeout=10)
    assert supervisor.returncode == 0
    assert (
        stderr.splitlines()[0] == "supervise: worker exited with status 3; starting it again in 1 s"
    )


def test_sigterm_stops_the_process_and_the_supervisor_for_good(tmp_path: Path):
    pid_file = tmp_path / "pid"
    supervisor = subprocess.Popen(
        [SUPERVISE, "web", "sh", "-c", f"echo $$ > {pid_file}; exec sleep 60"],
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: (pid_file.exists() and pid_file.read_text().strip()) or None, "the process")
    child = int(pid_file.read_text())

    supervisor.send_signal(signal.SIGTERM)
    _, stderr = supervisor.communicate(timeout=10)

    assert (supervisor.returncode, stderr) == (0, "")
    assert subprocess.run(["kill", "-0", str(child)], capture_output=True).returncode == 1
