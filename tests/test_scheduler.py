"""The scheduler's set-up: jobs by id in the database job store, one leader at a time."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler

from bot.jobs import JOB_TABLE, run_due
from bot.runtime import Runtime
from bot.scheduler import build_scheduler, leader_lock


def test_every_job_is_stored_once_by_its_id(runtime: Runtime) -> None:
    for _ in range(2):  # a restart replaces the jobs instead of adding copies
        scheduler = build_scheduler(runtime, BackgroundScheduler)
        scheduler.start(paused=True)
        ids = sorted(job.id for job in scheduler.get_jobs())
        scheduler.shutdown(wait=False)
    assert ids == sorted(spec.name for spec in JOB_TABLE)


def test_only_one_scheduler_leads(runtime: Runtime) -> None:
    with leader_lock(runtime) as first:
        other = Runtime(
            settings=runtime.settings, database=type(runtime.database)(runtime.database.url)
        )
        try:
            with leader_lock(other) as second:
                assert first is True and second is False
        finally:
            other.database.dispose()
    with leader_lock(runtime) as again:
        assert again is True


def test_run_due_reports_every_job(runtime: Runtime) -> None:
    results = run_due(runtime)
    assert list(results) == [spec.name for spec in JOB_TABLE]
    assert results["deliver_outbox"]["sent"] == 0
