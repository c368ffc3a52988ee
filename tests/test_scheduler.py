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


def test_a_leader_whose_connection_is_terminated_stops_and_another_takes_the_lead(
    runtime: Runtime,
) -> None:
    import pytest
    from sqlalchemy import text

    from bot import scheduler as scheduler_module
    from bot.scheduler import Leadership, run_named_job

    if not runtime.database.is_postgresql:
        pytest.skip("the advisory lock is PostgreSQL's")
    leader = Leadership(runtime)
    assert leader.acquire() and leader.check()
    standby = Leadership(runtime)
    assert standby.acquire() is False
    with runtime.database.engine.connect() as admin:
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND objid = :key AND granted"
            ),
            {"key": scheduler_module.ADVISORY_LOCK_ID},
        )
        admin.commit()
    ran: list[str] = []
    scheduler_module._runtime, scheduler_module._leadership = runtime, leader
    original = scheduler_module.job_named
    scheduler_module.job_named = lambda name: ran.append(name) or original(name)  # type: ignore[assignment]
    try:
        assert run_named_job("deliver_outbox") == {}  # checked before the run: not run
    finally:
        scheduler_module.job_named = original
        scheduler_module._leadership = None
    assert ran == [] and leader.lost.is_set()
    assert standby.acquire() is True
    standby.release()
    leader.release()


def test_a_second_scheduler_stands_by_and_takes_over_when_the_leader_stops(
    runtime: Runtime,
) -> None:
    import threading
    import time

    from bot import scheduler as scheduler_module
    from bot.scheduler import run_forever

    runtime.settings = runtime.settings.with_overrides(standby_seconds=0.2)
    leading: list[str] = []
    original = scheduler_module.build_scheduler

    def tracking(rt, cls, leadership):  # type: ignore[no-untyped-def]
        leading.append(threading.current_thread().name)
        return original(rt, cls, leadership)

    scheduler_module.build_scheduler = tracking  # type: ignore[assignment]
    stops = {name: threading.Event() for name in ("first", "second")}
    threads = {
        name: threading.Thread(target=run_forever, args=(runtime, stop), name=name, daemon=True)
        for name, stop in stops.items()
    }
    try:
        threads["first"].start()
        deadline = time.monotonic() + 10
        while leading != ["first"] and time.monotonic() < deadline:
            time.sleep(0.05)
        threads["second"].start()
        time.sleep(0.6)
        assert leading == ["first"] and threads["second"].is_alive()  # stands by, no exit
        stopped = time.monotonic()
        stops["first"].set()
        while leading != ["first", "second"] and time.monotonic() < deadline + 10:
            time.sleep(0.05)
        assert leading == ["first", "second"]
        assert time.monotonic() - stopped < 5
    finally:
        for stop in stops.values():
            stop.set()
        for thread in threads.values():
            thread.join(timeout=10)
        scheduler_module.build_scheduler = original
