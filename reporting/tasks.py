from celery import shared_task

from reporting import services


@shared_task(name="reporting.run_export", time_limit=3600, soft_time_limit=3500)
def run_export(job_id: int) -> None:
    services.export_job_run(job_id=job_id)
