"""APScheduler set-up: the job table on intervals, jobs persisted in the database, one leader.

APScheduler 3 has no cross-process locking, so only one scheduler process runs jobs at a time: with
PostgreSQL it holds a session-level advisory lock; with SQLite a file lock beside the database.
Jobs are idempotent anyway, so a second runner would send nothing twice.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text

from bot.jobs import JOB_TABLE, job_named
from bot.runtime import Runtime

log = logging.getLogger(__name__)

ADVISORY_LOCK_ID = 0x4C494149  # "LIAI"
_runtime: Runtime | None = None


def run_named_job(name: str) -> dict[str, Any]:
    """The callable APScheduler stores (importable by path, picklable arguments)."""
    if _runtime is None:
        raise RuntimeError("the scheduler's runtime is not set")
    spec = job_named(name)
    summary = spec.function(_runtime)
    if any(summary.values()):
        log.info("job %s: %s", name, summary)
    return summary


@contextmanager
def leader_lock(runtime: Runtime) -> Iterator[bool]:
    """True while this process is the one scheduler allowed to run jobs."""
    database = runtime.database
    if database.is_postgresql:
        connection = database.engine.connect()
        try:
            got = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_ID}
                ).scalar()
            )
            yield got
        finally:
            connection.close()  # ends the session, which releases the advisory lock
        return
    path = database.sqlite_path
    lock_path = f"{path}.scheduler.lock" if path else os.path.join(os.getcwd(), ".liaison.lock")
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_scheduler(
    runtime: Runtime, scheduler_class: type[BaseScheduler] = BlockingScheduler
) -> BaseScheduler:
    global _runtime
    _runtime = runtime
    scheduler = scheduler_class(
        timezone="UTC",
        jobstores={
            "default": SQLAlchemyJobStore(
                engine=runtime.database.engine, tablename="apscheduler_jobs"
            )
        },
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    for spec in JOB_TABLE:
        scheduler.add_job(
            run_named_job,
            "interval",
            seconds=spec.every.total_seconds(),
            id=spec.name,
            name=spec.name,
            args=[spec.name],
            replace_existing=True,
        )
    return scheduler


def run_forever(runtime: Runtime) -> int:
    with leader_lock(runtime) as leader:
        if not leader:
            log.error("another Liaison scheduler holds the lock; this one stays idle and exits")
            return 3
        scheduler = build_scheduler(runtime)
        log.info("scheduler running %d jobs", len(JOB_TABLE))
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
        return 0
