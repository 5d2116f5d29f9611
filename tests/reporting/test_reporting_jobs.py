"""Background export jobs: queued after commit, written by the task, downloaded in scope."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from reporting.models import ExportJob, ExportStatus
from reporting.services import export_job_run
from sellers.models import SellerUser
from tests.factories import operator_user

pytestmark = pytest.mark.django_db

YEAR = {"date_from": "2024-01-01", "date_to": "2024-12-31"}


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def operator_client(client: Client) -> Client:
    client.force_login(operator_user("reporting.export_reports", username="operator"))
    return client


def seller_client(make_user: Callable[..., User], seller: Any, name: str) -> Client:
    user = make_user(name)
    SellerUser.objects.create(user=user, seller=seller)
    client = Client()
    client.force_login(user)
    return client


def download(response: Any) -> str:
    return b"".join(response.streaming_content).decode("utf-8")


def test_operator_job_runs_after_commit_and_downloads(
    operator_client: Client,
    ledger: dict[str, Any],
    media: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = operator_client.post(
            "/api/reports/exports/",
            {"report": "documents", **YEAR},
            content_type="application/json",
        )
        assert ExportJob.objects.get().status == ExportStatus.QUEUED

    assert len(callbacks) == 1
    assert created.status_code == 201
    job = ExportJob.objects.get()
    assert created.json()["status"] == "queued"
    assert (job.status, job.row_count, job.file) == ("done", 5, f"exports/documents-{job.pk}.csv")
    assert job.filters == YEAR

    polled = operator_client.get(f"/api/reports/exports/{job.pk}/")
    assert polled.json()["download_url"] == f"/api/reports/exports/{job.pk}/download"
    assert polled.json()["row_count"] == 5

    response = operator_client.get(polled.json()["download_url"])
    streamed = operator_client.get("/api/reports/documents.csv", YEAR)
    assert response["Content-Disposition"] == f'attachment; filename="documents-{job.pk}.csv"'
    assert download(response) == streamed.getvalue().decode("utf-8")
    assert sorted(p.name for p in (media / "exports").iterdir()) == [f"documents-{job.pk}.csv"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"report": "passwords", **YEAR}, "report"),
        ({"report": "documents", "date_from": "2024-01-01"}, "date_to"),
        ({"report": "statement", **YEAR}, "seller"),
        ({"report": "documents", **YEAR, "currency": 978}, "currency"),
    ],
)
def test_bad_job_requests_are_a_400_and_queue_nothing(
    operator_client: Client, body: dict[str, Any], field: str
) -> None:
    response = operator_client.post("/api/reports/exports/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not ExportJob.objects.exists()


def test_seller_jobs_are_confined_to_the_seller(
    make_user: Callable[..., User],
    ledger: dict[str, Any],
    operator_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    bolt = seller_client(make_user, ledger["bolt"], "bolt-user")
    acme = seller_client(make_user, ledger["acme"], "acme-user")

    refused = bolt.post(
        "/api/reports/seller/exports/",
        {"report": "documents", **YEAR, "seller": ledger["acme"].pk},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["field"] == "seller"

    with django_capture_on_commit_callbacks(execute=True):
        created = bolt.post(
            "/api/reports/seller/exports/",
            {"report": "documents", **YEAR},
            content_type="application/json",
        )
    job = ExportJob.objects.get(pk=created.json()["id"])
    assert (job.seller, job.row_count) == (ledger["bolt"], 1)
    url = f"/api/reports/seller/exports/{job.pk}/"
    body = download(bolt.get(bolt.get(url).json()["download_url"]))
    assert [line.split(",")[2] for line in body.splitlines()] == ["document_number", "B-7"]

    # Another seller's user, and the operators' endpoints, never reach it.
    assert acme.get(url).status_code == 404
    assert acme.get(f"{url}download").status_code == 404
    assert operator_client.get(f"/api/reports/exports/{job.pk}/").status_code == 404
    assert bolt.get(f"/api/reports/exports/{job.pk}/").status_code == 403


def test_an_operator_sees_only_its_own_jobs(
    operator_client: Client, make_user: Callable[..., User], ledger: dict[str, Any]
) -> None:
    other = make_user("other-operator", is_staff=True)
    job = ExportJob.objects.create(report="documents", filters=YEAR, requested_by=other)

    assert operator_client.get(f"/api/reports/exports/{job.pk}/").status_code == 404


def test_a_failed_export_leaves_no_file_and_says_why(
    operator_client: Client, ledger: dict[str, Any], media: Path, monkeypatch: Any
) -> None:
    def explode(*args: Any, **kwargs: Any) -> int:
        raise ConnectionError("database went away")

    monkeypatch.setattr("reporting.services.export_write", explode)
    job = ExportJob.objects.create(
        report="documents", filters=YEAR, requested_by=User.objects.get(username="operator")
    )

    with pytest.raises(ConnectionError):
        export_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.error, job.file) == ("failed", "database went away", "")
    assert list((media / "exports").iterdir()) == []
    assert operator_client.get(f"/api/reports/exports/{job.pk}/download").status_code == 404


def test_a_finished_job_is_not_run_again(operator_client: Client, ledger: dict[str, Any]) -> None:
    job = ExportJob.objects.create(
        report="vat", filters=YEAR, requested_by=User.objects.get(username="operator")
    )
    export_job_run(job_id=job.pk)
    finished = ExportJob.objects.get(pk=job.pk).finished_at

    export_job_run(job_id=job.pk)

    assert ExportJob.objects.get(pk=job.pk).finished_at == finished
