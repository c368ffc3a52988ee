"""APScheduler set-up: the job table on intervals, jobs persisted in the database, one leader.

APScheduler 3 has no cross-process locking, so only one scheduler process runs jobs at a time: with
PostgreSQL the leader holds a session-level advisory lock on a connection of its own; with SQLite
a file lock in the temporary directory, named after the database's path. The leader checks that
it still holds the lock (and that its connection is alive) before every job run and stops running
jobs at once when it does not. Any other scheduler waits as a standby and tries to take the lead
every ``standby_seconds``, so it takes over within that time of the leader's death (PostgreSQL
frees the lock of a dead session). Jobs are idempotent and every send is fenced by its outbox
claim, so even an overlap sends nothing twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.jobs import JOB_TABLE, job_named
from bot.logs import tagged
from bot.runtime import Runtime
from storage.db import store_unavailable

log = logging.getLogger(__name__)

ADVISORY_LOCK_ID = 0x4C494149  # "LIAI"
_runtime: Runtime | None = None
_leadership: Leadership | None = None


class Leadership:
    """The right to run jobs: an advisory lock (PostgreSQL) or a file lock (SQLite)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.held = False
        self.lost = threading.Event()
        self._connection: Connection | None = None
        self._file: IO[str] | None = None
        self._check_lock = threading.Lock()

    def acquire(self) -> bool:
        database = self.runtime.database
        if database.is_postgresql:
            try:
                self._connection = database.engine.connect()
                self.held = bool(
                    self._connection.execute(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_ID}
                    ).scalar()
                )
                self._connection.commit()
            except SQLAlchemyError as error:
                log.warning("cannot reach the database to take the lead: %s", store_reason(error))
                self.held = False
            if not self.held:
                self._close()
            return self.held
        lock_path = sqlite_lock_path(database.sqlite_path)
        try:
            handle = open(lock_path, "w")  # noqa: SIM115 - held open for as long as we lead
        except OSError as error:  # the temporary directory is gone or full
            log.warning("cannot open the scheduler's lock file: %s", error.strerror)
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file, self.held = handle, True
        return True

    def check(self) -> bool:
        """Do we still lead? False (for good) once the lock or its connection is gone."""
        if not self.held or self.lost.is_set():
            return False
        if self._connection is None:
            return True  # the file lock lives as long as the process
        with self._check_lock:
            try:
                still = self._connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND pid = pg_backend_pid() AND granted AND classid = 0 AND objid = :key"
                    ),
                    {"key": ADVISORY_LOCK_ID},
                ).scalar()
                self._connection.commit()
            except SQLAlchemyError as error:
                log.error("the leader's database connection is gone: %s", error)
                still = 0
        if not still:
            self.lost.set()
            log.error("this scheduler lost the leader lock: it stops running jobs now")
        return bool(still)

    def release(self) -> None:
        if self._connection is not None and not self.lost.is_set():
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_ID}
                )
                self._connection.commit()
            except SQLAlchemyError:
                pass  # a dead session holds no lock
        self._close()
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self.held = False

    def _close(self) -> None:
        if self._connection is not None:
            try:
                if self.lost.is_set():
                    self._connection.invalidate()  # never hand a dead session back to the pool
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None


def store_reason(error: SQLAlchemyError) -> str:
    """One line for the log: why the database failed, never the statement or its values."""
    return store_unavailable(error) or type(error).__name__


def sqlite_lock_path(database_path: Path | None) -> Path:
    """The SQLite leader's lock file: in the temporary directory, named after the database's
    absolute path (every scheduler of one database finds the same file), so that nothing is left
    in the working folder or beside a database that may sit in a repository."""
    subject = str(database_path) if database_path else f"memory:{os.getcwd()}"
    digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"liaison-{digest}.scheduler.lock"


def run_named_job(name: str) -> dict[str, Any]:
    """The callable APScheduler stores (importable by path, picklable arguments)."""
    if _runtime is None:
        raise RuntimeError("the scheduler's runtime is not set")
    if _leadership is not None and not _leadership.check():
        log.error("job %s not run: this scheduler no longer leads", name)
        return {}
    spec = job_named(name)
    with tagged(job=name):
        summary = spec.function(_runtime)
        if any(summary.values()):
            log.info("job %s: %s", name, summary)
    return summary


class SteadyScheduler(BackgroundScheduler):
    """The leader's scheduler, whose loop outlives the database going away. APScheduler 3 retries
    a job store that fails to list the jobs due, but not one that fails, a moment later, to store
    a job's next run or to say when the next is due: its thread would end, and a leader that keeps
    its lock (SQLite's file lock, or a PostgreSQL session that survived) would run nothing again.
    The jobs are tried again after ``jobstore_retry_interval`` (a job run twice sends nothing
    twice: every send is fenced by its outbox claim)."""

    def _process_jobs(self) -> float | None:
        try:
            return super()._process_jobs()  # type: ignore[no-any-return]
        except SQLAlchemyError as error:
            log.error("the scheduler could not plan its jobs: %s", store_reason(error))
            return float(self.jobstore_retry_interval)


@contextmanager
def leader_lock(runtime: Runtime) -> Iterator[bool]:
    """True while this process is the one scheduler allowed to run jobs."""
    leadership = Leadership(runtime)
    try:
        yield leadership.acquire()
    finally:
        leadership.release()


def build_scheduler(
    runtime: Runtime,
    scheduler_class: type[BaseScheduler] = BlockingScheduler,
    leadership: Leadership | None = None,
) -> BaseScheduler:
    global _runtime, _leadership
    _runtime, _leadership = runtime, leadership
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
            # A simulated rehearsal runs faster than real time; its jobs run as often in its time.
            seconds=max(spec.every.total_seconds() / runtime.speed, 0.5),
            id=spec.name,
            name=spec.name,
            args=[spec.name],
            replace_existing=True,
        )
    return scheduler


def run_forever(runtime: Runtime, stop: threading.Event | None = None) -> int:
    """Lead when the lock is free, stand by when it is not; never exits on its own."""
    stop = stop or threading.Event()
    wait = runtime.settings.standby_seconds
    announced = False
    while not stop.is_set():
        leadership = Leadership(runtime)
        if not leadership.acquire():
            if not announced:
                log.info("another scheduler leads: standing by, trying every %ss", wait)
                announced = True
            stop.wait(wait)
            continue
        announced = False
        started = time.monotonic()
        scheduler = build_scheduler(runtime, SteadyScheduler, leadership)
        try:
            scheduler.start()  # stores the job table: the database may have gone meanwhile
            # Said once the jobs run: a stop asked for after this line finds a started scheduler.
            log.info("scheduler leads: running %d jobs", len(JOB_TABLE))
            while not stop.is_set() and leadership.check():
                stop.wait(min(wait, 5.0))
        except (KeyboardInterrupt, SystemExit):
            stop.set()
        except SQLAlchemyError as error:
            log.error("the scheduler could not start its jobs: %s", store_reason(error))
            stop.wait(wait)
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            leadership.release()
            log.info("scheduler stops leading after %.0f s", time.monotonic() - started)
    return 0
