"""APScheduler set-up: the job table on intervals, jobs persisted in the database, one leader.

APScheduler 3 has no cross-process locking, so only one scheduler process runs jobs at a time: with
PostgreSQL the leader holds a session-level advisory lock on a connection of its own; with SQLite
a file lock in the temporary directory, named after the database's path. The leader checks that
it still holds the lock (and that its connection is alive) before every job run and stops running
jobs at once when it does not. Any other scheduler waits as a standby and tries to take the lead
every ``standby_seconds``, so it takes over within that time of the leader's death (PostgreSQL
frees the lock of a dead session). Jobs are idempotent and every send is fenced by its outbox
claim, so even an overlap sends nothing twice.

Sharded (``liaison scheduler --shards N``, ``LIAISON_SHARDS``; see ``bot.shards``): each shard of
workspaces has a lock of its own (PostgreSQL's two-key form, ``(ADVISORY_LOCK_ID, N × 65536 +
shard)``, or a lock file per shard), and a process leads every shard whose lock it holds, with a
scheduler per shard whose jobs and sender see that shard's workspaces only. So that N processes
spread the shards, each also holds a member lock (one of ``MAX_MEMBERS`` slots) and leads at most
its fair share, ceil(shards / members), handing any shard beyond it back; it tries for the
shards nobody leads every ``standby_seconds``, so a dead process's shards are taken over within
that time (a process that just joined waits one such interval first, for the others started
with it). With one shard, everything is as it was (one lock, ``ADVISORY_LOCK_ID``).
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

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bot.jobs import JOB_TABLE, job_named, run_job
from bot.logs import tagged
from bot.runtime import Runtime
from bot.shards import Shard, all_shards
from storage.db import store_unavailable

log = logging.getLogger(__name__)

ADVISORY_LOCK_ID = 0x4C494149  # "LIAI"
MEMBER_KEY_BASE = 0x7FFF0000  # the member locks' second keys: MEMBER_KEY_BASE + slot
MAX_MEMBERS = 64
_runtime: Runtime | None = None
_leadership: Leadership | None = None


def shard_lock_key(shard: Shard) -> int:
    """The second key of a shard's lock: the shard count is in it, so schedulers started with
    different counts never take one another's locks for the same shards."""
    return shard.count * 65536 + shard.index


class Leadership:
    """The right to run jobs: an advisory lock (PostgreSQL) or a file lock (SQLite). ``keys``:
    the two-key lock of a shard (or of a member slot); without, the one scheduler's lock."""

    def __init__(self, runtime: Runtime, keys: tuple[int, int] | None = None) -> None:
        self.runtime = runtime
        self.keys = keys
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
                        text(f"SELECT pg_try_advisory_lock({self._arguments})"), self._values
                    ).scalar()
                )
                self._connection.commit()
            except SQLAlchemyError as error:
                log.warning("cannot reach the database to take the lead: %s", store_reason(error))
                self.held = False
            if not self.held:
                self._close()
            return self.held
        lock_path = sqlite_lock_path(database.sqlite_path, self.keys)
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
            if not self.held or self._connection is None:
                return False  # released meanwhile (a shard handed back)
            try:
                still = self._connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND pid = pg_backend_pid() AND granted AND classid = :class "
                        "AND objid = :object AND objsubid = :form"
                    ),
                    self._lock_row,
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
        with self._check_lock:  # a job checking the lock now sees it released, not lost
            self._release()

    def _release(self) -> None:
        if self._connection is not None and not self.lost.is_set():
            try:
                self._connection.execute(
                    text(f"SELECT pg_advisory_unlock({self._arguments})"), self._values
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

    @property
    def _arguments(self) -> str:
        return ":key" if self.keys is None else ":key1, :key2"

    @property
    def _values(self) -> dict[str, int]:
        if self.keys is None:
            return {"key": ADVISORY_LOCK_ID}
        return {"key1": self.keys[0], "key2": self.keys[1]}

    @property
    def _lock_row(self) -> dict[str, int]:
        """How pg_locks shows the lock: a bigint key as (0, key, 1), two keys as (k1, k2, 2)."""
        if self.keys is None:
            return {"class": 0, "object": ADVISORY_LOCK_ID, "form": 1}
        return {"class": self.keys[0], "object": self.keys[1], "form": 2}

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


def sqlite_lock_path(database_path: Path | None, keys: tuple[int, int] | None = None) -> Path:
    """The SQLite leader's lock file: in the temporary directory, named after the database's
    absolute path (every scheduler of one database finds the same file), so that nothing is left
    in the working folder or beside a database that may sit in a repository. A shard's (or a
    member slot's) lock file has its second key in its name."""
    subject = str(database_path) if database_path else f"memory:{os.getcwd()}"
    digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:16]
    suffix = "" if keys is None else f".{keys[1]:x}"
    return Path(tempfile.gettempdir()) / f"liaison-{digest}.scheduler{suffix}.lock"


def run_named_job(name: str) -> dict[str, Any]:
    """The callable APScheduler stores (importable by path, picklable arguments)."""
    if _runtime is None:
        raise RuntimeError("the scheduler's runtime is not set")
    if _leadership is not None and not _leadership.check():
        log.error("job %s not run: this scheduler no longer leads", name)
        return {}
    summary = run_job(_runtime, job_named(name))
    if any(summary.values()):
        with tagged(job=name):
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


def run_forever(
    runtime: Runtime, stop: threading.Event | None = None, shards: int | None = None
) -> int:
    """Lead when the lock is free, stand by when it is not; never exits on its own. ``shards``
    (default: the setting) above 1: lead a fair share of the shards (``run_sharded``)."""
    stop = stop or threading.Event()
    count = shards or runtime.settings.shards
    if count > 1:
        return run_sharded(runtime, count, stop)
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


class ShardLead:
    """One shard this process leads: its lock and its scheduler."""

    def __init__(self, runtime: Runtime, shard: Shard, leadership: Leadership) -> None:
        self.shard = shard
        self.leadership = leadership
        self.runtime = runtime.for_shard(shard)
        self.scheduler = SteadyScheduler(
            timezone="UTC",
            # In memory: every shard's scheduler has its own jobs (a shared job store would
            # have each process run the jobs of every shard's table).
            jobstores={"default": MemoryJobStore()},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        )
        for spec in JOB_TABLE:
            self.scheduler.add_job(
                self.run,
                "interval",
                seconds=max(spec.every.total_seconds() / runtime.speed, 0.5),
                id=spec.name,
                name=f"{spec.name} (shard {shard})",
                args=[spec.name],
            )

    def run(self, name: str) -> dict[str, Any]:
        if not self.leadership.check():
            log.error("job %s not run: this scheduler no longer leads shard %s", name, self.shard)
            return {}
        summary = run_job(self.runtime, job_named(name))
        if any(summary.values()):
            with tagged(job=name):
                log.info("job %s, shard %s: %s", name, self.shard, summary)
        return summary

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.leadership.release()


def members(runtime: Runtime) -> int:
    """How many sharded schedulers are running on this database (their member locks)."""
    database = runtime.database
    if database.is_postgresql:
        with database.engine.connect() as connection:
            return int(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND database = (SELECT oid FROM pg_database "
                        "WHERE datname = current_database()) "
                        "AND classid = :class AND objid >= :base AND objsubid = 2"
                    ),
                    {"class": ADVISORY_LOCK_ID, "base": MEMBER_KEY_BASE},
                ).scalar()
                or 0
            )
    held = 0
    for slot in range(MAX_MEMBERS):
        path = sqlite_lock_path(database.sqlite_path, (ADVISORY_LOCK_ID, MEMBER_KEY_BASE + slot))
        if not path.exists():
            continue
        with open(path, "w") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held += 1  # ours (another open file of the same lock) or another process's
                continue
            fcntl.flock(probe, fcntl.LOCK_UN)
    return held


def join(runtime: Runtime) -> Leadership | None:
    """A member slot's lock, held while this process runs (None: every slot is taken)."""
    for slot in range(MAX_MEMBERS):
        membership = Leadership(runtime, (ADVISORY_LOCK_ID, MEMBER_KEY_BASE + slot))
        if membership.acquire():
            return membership
    return None


def fair_share(count: int, running: int) -> int:
    return -(-count // max(running, 1))


def run_sharded(runtime: Runtime, count: int, stop: threading.Event) -> int:
    """Lead up to a fair share of ``count`` shards, stand by for the rest; never exits on its
    own. Every step (at most ``standby_seconds`` apart) drops the shards whose lock was lost,
    hands back shards beyond the fair share, and tries for shards nobody leads."""
    wait = runtime.settings.standby_seconds
    leads: dict[int, ShardLead] = {}
    membership: Leadership | None = None
    log.info("sharded scheduler: %d shards, trying every %ss", count, wait)
    try:
        while not stop.is_set():
            if membership is None or not membership.check():
                if membership is not None:
                    membership.release()
                membership = join(runtime)
                if not leads:
                    # Processes started together see one another before taking shards, so they
                    # spread the shards at once instead of handing them back.
                    stop.wait(wait)
            for index, lead in list(leads.items()):
                if not lead.leadership.check():
                    lead.stop()
                    del leads[index]
                    log.info("scheduler stops leading shard %s", lead.shard)
            try:
                share = fair_share(count, members(runtime)) if membership else count
            except SQLAlchemyError as error:
                log.warning("cannot count the schedulers: %s", store_reason(error))
                stop.wait(wait)
                continue
            while len(leads) > share:  # another process joined: hand the last shard back
                index = max(leads)
                leads.pop(index).stop()
                log.info(
                    "scheduler hands shard %d/%d back (its share is %d)", index + 1, count, share
                )
            for shard in all_shards(count):
                if len(leads) >= share or stop.is_set():
                    break
                if shard.index in leads:
                    continue
                leadership = Leadership(runtime, (ADVISORY_LOCK_ID, shard_lock_key(shard)))
                if not leadership.acquire():
                    continue
                lead = ShardLead(runtime, shard, leadership)
                try:
                    lead.scheduler.start()
                except SQLAlchemyError as error:
                    log.error("shard %s could not start its jobs: %s", shard, store_reason(error))
                    lead.stop()
                    continue
                leads[shard.index] = lead
                log.info("scheduler leads shard %s: running %d jobs", shard, len(JOB_TABLE))
            stop.wait(min(wait, 5.0))
    except (KeyboardInterrupt, SystemExit):
        stop.set()
    finally:
        for lead in leads.values():
            lead.stop()
        if membership is not None:
            membership.release()
        log.info("sharded scheduler stops")
    return 0
