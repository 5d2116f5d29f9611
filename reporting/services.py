"""Writes of the reporting app: background CSV export jobs."""

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from reporting import tasks
from reporting.exports import EXPORTS, export_write
from reporting.filters import filters_from_json, filters_to_json
from reporting.models import ExportJob, ExportStatus
from reporting.selectors import ReportFilters
from sellers.models import Seller

EXPORTS_FOLDER = "exports"


def export_job_request(
    *, report: str, filters: ReportFilters, requested_by: User, seller: Seller | None
) -> ExportJob:
    """Queue an export of validated filters; the task starts once the row is committed.

    `seller` confines a seller user's job (and its download) to that seller.
    """
    job = ExportJob.objects.create(
        report=report, filters=filters_to_json(filters), requested_by=requested_by, seller=seller
    )
    transaction.on_commit(lambda: tasks.run_export.delay(job.pk))
    return job


def export_job_run(*, job_id: int) -> None:
    """Write the job's CSV under MEDIA_ROOT/exports/ (whole or not at all) and record it."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:  # already run, or running elsewhere
        return
    job = ExportJob.objects.get(pk=job_id)
    folder = Path(settings.MEDIA_ROOT) / EXPORTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{job.report}-{job.pk}.csv"
    fd, partial = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial", dir=folder)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as stream:
            rows = export_write(EXPORTS[job.report], filters_from_json(job.filters), stream)
        os.replace(partial, folder / name)
    except Exception as error:
        Path(partial).unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        raise
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportStatus.DONE,
        file=f"{EXPORTS_FOLDER}/{name}",
        row_count=rows,
        finished_at=timezone.now(),
    )
