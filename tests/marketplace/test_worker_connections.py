"""A Celery worker keeps its database connection between tasks (marketplace/celery.py,
settings.CELERY_DB_REUSE_MAX), and closes it after a task as Django does after a request: when it
errored and no longer answers, or is older than CONN_MAX_AGE."""

import time
from types import SimpleNamespace

import psycopg
import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import connection

from marketplace.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


class _Task:
    """What the signals read of a task: its request, eager (run by apply()) or not."""

    def __init__(self, *, eager: bool) -> None:
        self.request = SimpleNamespace(is_eager=eager)


WORKER_TASK = _Task(eager=False)


def _run_task(task: _Task = WORKER_TASK) -> None:
    """The signals a worker sends around one task, and Celery's Django fixup's own handlers."""
    fixup = DjangoWorkerFixup(app)
    task_prerun.send(sender=task, task_id="t1", task=task, args=(), kwargs={})
    fixup.on_task_prerun(sender=task)
    fixup.on_task_postrun(sender=task)
    task_postrun.send(sender=task, task_id="t1", task=task, args=(), kwargs={})


def _open_connection() -> object:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert connection.connection is not None
    return connection.connection


def test_the_connection_outlives_a_task():
    opened = _open_connection()
    _run_task()
    _run_task()
    assert connection.connection is opened
    with connection.cursor() as cursor:
        cursor.execute("SELECT 2")
        assert cursor.fetchone() == (2,)
    assert connection.connection is opened


def test_a_connection_older_than_conn_max_age_is_closed_after_a_task():
    _open_connection()
    connection.close_at = time.monotonic() - 1
    _run_task()
    assert connection.connection is None


def test_a_connection_that_errored_and_no_longer_answers_is_closed_after_a_task():
    opened = _open_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    # Another session ends this one's backend, as a database restart or failover would.
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    connection.errors_occurred = True  # as Django marks it when a query on it fails
    _run_task()
    assert connection.connection is None
    with connection.cursor() as cursor:  # the next task connects afresh
        cursor.execute("SELECT 1")
    assert connection.connection is not opened


def test_an_eager_task_leaves_its_callers_connection_alone():
    opened = _open_connection()
    connection.close_at = time.monotonic() - 1
    task = _Task(eager=True)
    task_prerun.send(sender=task, task_id="t1", task=task, args=(), kwargs={})
    task_postrun.send(sender=task, task_id="t1", task=task, args=(), kwargs={})
    assert connection.connection is opened
