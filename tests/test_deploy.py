"""The deployment files, checked without a Docker engine: docker-compose.yml against the Compose
specification's schema and the project's rules, the Dockerfile as BuildKit parses it, and the
production lock file against pyproject.toml."""

import copy
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import dockerfile
import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "production.lock"
APP_SERVICES = ("web", "worker", "beat")
# The image runs the production processes and the sandbox (compose's `sandbox` service).
IMAGE_EXTRAS = ("production", "sandbox")
ONE_SHOT = "migrate"


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_errors(document: dict[str, Any]) -> list[str]:
    """What the Compose specification's JSON schema (as vendored by check-jsonschema, which
    `make lint` runs on the file too) finds wrong with ``document``."""
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return sorted(error.message for error in validator.iter_errors(document))


def test_compose_file_follows_the_compose_specification() -> None:
    document = compose()
    assert compose_errors(document) == []
    broken = copy.deepcopy(document)
    broken["services"]["web"]["healtcheck"] = broken["services"]["web"].pop("healthcheck")
    assert compose_errors(broken) == [
        "Unevaluated properties are not allowed ('healtcheck' was unexpected)"
    ]


def test_every_long_running_service_has_a_healthcheck_and_restarts() -> None:
    services = compose()["services"]
    assert set(services) == {ONE_SHOT, *APP_SERVICES, "sandbox", "postgres", "redis"}
    for name, service in services.items():
        if name == ONE_SHOT:
            continue
        test = service["healthcheck"]["test"]
        assert test[0] in {"CMD", "CMD-SHELL"}, name
        assert service["restart"] == "unless-stopped", name
    assert services["web"]["healthcheck"]["test"][-1] == (
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"
    )
    assert services["worker"]["healthcheck"]["test"] == [
        "CMD-SHELL",
        "celery -A marketplace inspect ping --destination celery@$$HOSTNAME --timeout 10",
    ]
    assert "core.health.HeartbeatScheduler" in services["beat"]["command"]
    assert "/var/lib/marketplace/beat-heartbeat" in services["beat"]["healthcheck"]["test"][-1]
    assert services["sandbox"]["healthcheck"]["test"][-1].endswith(
        "urlopen('http://127.0.0.1:8765/health', timeout=3)"
    )


def test_migrations_run_once_before_web_worker_and_beat() -> None:
    services = compose()["services"]
    migrate = services[ONE_SHOT]
    assert migrate["command"] == "python manage.py migrate --noinput"
    assert migrate["restart"] == "no"
    assert migrate["healthcheck"] == {"disable": True}
    for name in APP_SERVICES:
        assert services[name]["depends_on"][ONE_SHOT] == {
            "condition": "service_completed_successfully"
        }
        assert "migrate" not in services[name]["command"], name
    assert services["web"]["command"] == "gunicorn marketplace.wsgi"
    assert services["worker"]["command"].startswith("celery -A marketplace worker")
    assert services["beat"]["command"].startswith("celery -A marketplace beat")


def test_image_is_multi_stage_installs_the_lock_by_hash_and_runs_as_non_root() -> None:
    commands = dockerfile.parse_file(str(ROOT / "Dockerfile"))
    stages = [i for i, command in enumerate(commands) if command.cmd == "FROM"]
    assert len(stages) == 2
    builder, runtime = commands[: stages[1]], commands[stages[1] :]
    assert builder[0].value[-2:] == ("AS", "builder")
    assert ("requirements/production.lock", "/build/production.lock") in [
        c.value for c in builder if c.cmd == "COPY"
    ]
    installs = [c.value[0] for c in builder if c.cmd == "RUN" and "pip install" in c.value[0]]
    assert installs == [
        "/venv/bin/pip install --require-hashes --no-deps -r /build/production.lock"
    ]
    # The runtime stage installs nothing from a registry: it copies the builder's venv.
    assert not [c for c in runtime if c.cmd == "RUN" and "pip" in c.value[0]]
    assert [c.value for c in runtime if c.flags == ("--from=builder",)] == [("/venv", "/venv")]
    users = [c.value[0] for c in runtime if c.cmd == "USER"]
    assert users == ["app"]
    user_at = next(i for i, c in enumerate(runtime) if c.cmd == "USER")
    assert any("collectstatic" in c.value[0] for c in runtime[:user_at] if c.cmd == "RUN")
    assert [c.value for c in runtime if c.cmd == "EXPOSE"] == [("8000", "8765")]
    healthcheck = next(c for c in runtime if c.cmd == "HEALTHCHECK")
    assert "/healthz" in healthcheck.value[1]
    assert runtime[-1].cmd == "CMD"
    assert runtime[-1].value == ("gunicorn", "marketplace.wsgi")
    for command in runtime:
        if command.cmd == "COPY" and not command.flags:
            for source in command.value[:-1]:
                assert (ROOT / source).exists(), source


def locked() -> tuple[dict[str, str], set[str], dict[str, int]]:
    """The lock's pins (name -> version), the names pyproject asked for directly, and the
    number of hashes each pin carries."""
    pins: dict[str, str] = {}
    direct: set[str] = set()
    hashes: dict[str, int] = {}
    name = ""
    for line in LOCK.read_text().splitlines():
        pin = re.match(r"^([A-Za-z0-9._-]+)==(\S+)", line)
        if pin:
            name = canonicalize_name(pin[1])
            pins[name] = pin[2]
            hashes[name] = 0
        elif "--hash=sha256:" in line:
            hashes[name] += 1
        elif "marketplace-invoicing (pyproject.toml)" in line:
            direct.add(name)
    return pins, direct, hashes


def lock_disagreements(pyproject: dict[str, Any]) -> list[str]:
    project = pyproject["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in IMAGE_EXTRAS:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    pins, direct, _ = locked()
    problems = []
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{name} is not in the lock")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}=={pins[name]} does not satisfy {requirement.specifier}")
    for name in sorted(direct - {canonicalize_name(r.name) for r in wanted}):
        problems.append(f"{name} is locked for pyproject.toml, which no longer asks for it")
    return problems


def test_lock_file_agrees_with_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert lock_disagreements(pyproject) == [], "run `make lock`"
    _, direct, hashes = locked()
    assert {"django", "gunicorn", "whitenoise", "python-json-logger", "sentry-sdk"} <= direct
    assert {"werkzeug", "fpdf2"} <= direct  # the sandbox extra, for compose's sandbox service
    assert [name for name, count in hashes.items() if count == 0] == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: p["dependencies"].append("lxml>=5"), "lxml is not in the lock"),
        (
            lambda p: p["dependencies"].__setitem__(
                p["dependencies"].index("gunicorn>=25.1,<28"), "gunicorn>=99"
            ),
            "does not satisfy >=99",
        ),
        (
            lambda p: p["optional-dependencies"]["sandbox"].__setitem__(0, "werkzeug>=99"),
            "does not satisfy >=99",
        ),
        (
            lambda p: p["dependencies"].remove("whitenoise>=6.8,<7"),
            "whitenoise is locked for pyproject.toml, which no longer asks for it",
        ),
    ],
)
def test_lock_check_notices_a_changed_pyproject(change: Any, problem: str) -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    change(pyproject["project"])
    problems = lock_disagreements(pyproject)
    assert len(problems) == 1
    assert problem in problems[0]
