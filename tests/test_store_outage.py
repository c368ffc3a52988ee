"""The database goes away under a running app and comes back: people are told, in the workspace's
language, that the store is unavailable (commands, clicks and forms, the form staying open), and
once it is back the next request works and the scheduler leads again, without a restart.

On PostgreSQL (TEST_DATABASE_URL) the app runs on a scratch database created next to the test
database, which stops accepting connections (its sessions terminated) and then accepts them again;
the server itself keeps running for everyone else. On SQLite the database file's folder is moved
away (and the pool's idle connections closed), then moved back.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import SQLModel, select

from bot.app import build_app
from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver, TrackingExecutor
from bot.emulator.server import SlackEmulator
from bot.i18n import t
from bot.jobs import JOB_TABLE
from bot.runtime import Runtime
from bot.scheduler import SteadyScheduler, build_scheduler, leader_lock, run_forever
from bot.settings import Settings
from handlers.common import error_text
from storage.db import Database, store_unavailable
from storage.models import Project
from tests.conftest import PM, PROJECT_CHANNEL, SIGNING_SECRET, postgres_url, virtual_pacer
from tests.flows import PROJECT_VALUES, create_project, last_response, texts

WAIT_SECONDS = 20.0  # the longest any step here waits for the app or the scheduler


class Outage:
    """A store of the test's own that can be made unreachable and brought back."""

    def __init__(self, tmp_path: Path) -> None:
        self._admin: Engine | None = None
        url = postgres_url()
        if url is None:
            self._folder = tmp_path / "store"
            self._folder.mkdir()
            self._away = tmp_path / "store-away"
            self.database = Database(f"sqlite:///{self._folder / 'liaison.db'}")
        else:
            admin_url = make_url(url)
            self.name = f"{admin_url.database}_outage"
            self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{self.name}"'))
            own = admin_url.set(database=self.name).render_as_string(hide_password=False)
            self.database = Database(own)
        SQLModel.metadata.create_all(self.database.engine)

    def begin(self) -> None:
        if self._admin is None:
            self._folder.rename(self._away)
            self.database.engine.dispose()  # open files would outlive the move
            return
        with self._admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": self.name},
            )

    def end(self) -> None:
        if self._admin is None:
            self._away.rename(self._folder)
            return
        with self._admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true'))

    def leader_pid(self) -> int | None:
        """The PostgreSQL session holding the scheduler's lock in the scratch database."""
        assert self._admin is not None
        with self._admin.connect() as connection:
            return connection.execute(
                text(
                    "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE d.datname = :name AND l.locktype = 'advisory' AND l.granted"
                ),
                {"name": self.name},
            ).scalar()

    @property
    def is_postgresql(self) -> bool:
        return self._admin is not None

    def close(self) -> None:
        self.database.dispose()
        if self._admin is not None:
            with self._admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self._admin.dispose()


@pytest.fixture
def outage(tmp_path: Path) -> Iterator[Outage]:
    store = Outage(tmp_path)
    yield store
    store.close()


def driver_for(
    settings: Settings,
    outage: Outage,
    clock: MovableClock,
    emulator: SlackEmulator,
    executor: TrackingExecutor,
) -> tuple[SlackDriver, Runtime]:
    runtime = Runtime(
        settings=settings, database=outage.database, clock=clock, pacer=virtual_pacer()
    )
    app = build_app(runtime, listener_executor=executor)
    return SlackDriver(app, SIGNING_SECRET, emulator, executor=executor), runtime


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_command_during_a_database_outage_is_told_the_store_is_unavailable(
    language: str,
    settings: Settings,
    outage: Outage,
    clock: MovableClock,
    emulator: SlackEmulator,
    executor: TrackingExecutor,
) -> None:
    slack, _ = driver_for(
        settings.with_overrides(locale=language), outage, clock, emulator, executor
    )
    create_project(slack)
    outage.begin()
    try:
        slack.slash_command(PM, "/project", "list")
        answer = last_response(slack)
        assert answer["text"] == t(language, "errors.store_unavailable")
        assert answer["response_type"] == "ephemeral"
    finally:
        outage.end()
    slack.slash_command(PM, "/project", "list")  # no restart: the next command works
    assert "S/4HANA finance rollout" in texts([last_response(slack)])


def test_a_click_during_a_database_outage_gets_an_ephemeral_answer(
    settings: Settings,
    outage: Outage,
    clock: MovableClock,
    emulator: SlackEmulator,
    executor: TrackingExecutor,
) -> None:
    slack, _ = driver_for(settings, outage, clock, emulator, executor)
    create_project(slack)
    outage.begin()
    try:  # "Next page" under an earlier `/issue list` answer
        slack.block_action(PM, "issue_list_page_next", "2|", channel_id=PROJECT_CHANNEL)
        answer = last_response(slack)
        assert answer["text"] == t("en", "errors.store_unavailable")
        assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    finally:
        outage.end()
    slack.block_action(PM, "issue_list_page_next", "2|", channel_id=PROJECT_CHANNEL)
    assert t("en", "issues.list.empty") in texts([last_response(slack)])


def test_a_form_submitted_during_a_database_outage_stays_open_with_the_reason(
    settings: Settings,
    outage: Outage,
    clock: MovableClock,
    emulator: SlackEmulator,
    executor: TrackingExecutor,
) -> None:
    slack, _ = driver_for(settings, outage, clock, emulator, executor)
    slack.slash_command(PM, "/project", "new", channel_id=PROJECT_CHANNEL)
    modal = emulator.top_view(PM)
    assert modal is not None
    outage.begin()
    try:
        started = time.monotonic()
        answer = slack.submit_view(PM, PROJECT_VALUES)
        assert time.monotonic() - started < 3  # Slack's acknowledgement deadline
        assert answer.json is not None and answer.json["response_action"] == "errors"
        assert list(answer.json["errors"].values()) == [t("en", "errors.store_unavailable")]
        still_open = emulator.top_view(PM)
        assert still_open is not None and still_open["id"] == modal["id"]
    finally:
        outage.end()
    slack.submit_view(PM, PROJECT_VALUES)  # the same form, sent again once the store is back
    assert emulator.top_view(PM) is None
    with outage.database.session() as session:
        assert [p.code for p in session.exec(select(Project)).all()] == ["ERP"]


def someone_leads(runtime: Runtime) -> bool:
    """Whether a scheduler leads: a second one cannot take the lock."""
    with leader_lock(runtime) as mine:
        return not mine


def wait_until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT_SECONDS:g} s: {what}"
        time.sleep(0.1)


def jobs_stored(database: Database) -> bool:
    if not inspect(database.engine).has_table("apscheduler_jobs"):
        return False
    with database.engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM apscheduler_jobs")).scalar()
    return count == len(JOB_TABLE)


@pytest.mark.parametrize("moment", ["as_it_takes_the_lead", "once_it_leads"])
def test_the_scheduler_leads_again_after_a_database_outage_without_a_restart(
    moment: str, settings: Settings, outage: Outage, clock: MovableClock
) -> None:
    runtime = Runtime(
        settings=settings.with_overrides(standby_seconds=0.2),
        database=outage.database,
        clock=clock,
        pacer=virtual_pacer(),
    )
    stop = threading.Event()
    scheduler = threading.Thread(target=run_forever, args=(runtime, stop), daemon=True)
    scheduler.start()
    try:
        wait_until(lambda: someone_leads(runtime), "the scheduler takes the lead")
        if moment == "once_it_leads":  # else the outage comes while it stores its jobs
            wait_until(lambda: jobs_stored(outage.database), "the scheduler stores its jobs")
        first = outage.leader_pid() if outage.is_postgresql else None
        outage.begin()
        try:
            if outage.is_postgresql:  # its session is gone, and with it the lock
                wait_until(lambda: outage.leader_pid() is None, "the lock is freed")
            time.sleep(1.0)  # a few standby rounds find the database unreachable
            assert scheduler.is_alive()
        finally:
            outage.end()
        wait_until(lambda: someone_leads(runtime), "the scheduler leads again")
        assert scheduler.is_alive()
        if outage.is_postgresql:
            assert outage.leader_pid() not in (None, first)  # a new session took the lock
    finally:
        stop.set()
        scheduler.join(timeout=WAIT_SECONDS)
    assert not scheduler.is_alive()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word, as a database host whose server
    hangs or whose packets are lost."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_form_is_answered_in_time_when_the_database_does_not_answer_at_all(
    slack: SlackDriver,
    settings: Settings,
    clock: MovableClock,
    emulator: SlackEmulator,
    executor: TrackingExecutor,
    silent_port: int,
) -> None:
    slack.slash_command(PM, "/project", "new", channel_id=PROJECT_CHANNEL)
    modal = emulator.top_view(PM)
    assert modal is not None
    silent = Database(f"postgresql+psycopg://liaison@127.0.0.1:{silent_port}/liaison")
    runtime = Runtime(settings=settings, database=silent, clock=clock, pacer=virtual_pacer())
    hanging = SlackDriver(
        build_app(runtime, listener_executor=executor), SIGNING_SECRET, emulator, executor=executor
    )
    try:
        started = time.monotonic()
        answer = hanging.submit_view(PM, PROJECT_VALUES)
        assert time.monotonic() - started < 3  # Slack's acknowledgement deadline
    finally:
        silent.dispose()
    assert answer.json == {
        "response_action": "errors",
        "errors": {"name": t("en", "errors.store_unavailable")},
    }
    still_open = emulator.top_view(PM)
    assert still_open is not None and still_open["id"] == modal["id"]


def test_only_a_database_out_of_reach_is_told_as_unavailable() -> None:
    refused = OperationalError("SELECT 1", {}, Exception("connection refused\ndetails"))
    assert store_unavailable(refused) == "connection refused"
    assert store_unavailable(PoolTimeout()) is not None
    assert store_unavailable(IntegrityError("INSERT", {}, Exception("duplicate key"))) is None
    assert store_unavailable(ValueError("a bug")) is None
    assert error_text("en", refused) == t("en", "errors.store_unavailable")
    assert error_text("en", ValueError("a bug")) == t("en", "errors.unexpected")


def test_the_scheduler_runs_jobs_again_when_the_database_went_away_while_it_planned_them(
    settings: Settings, outage: Outage, clock: MovableClock
) -> None:
    """The database goes right after the scheduler has listed the jobs due, before it has asked
    when the next one is due: its loop must not end with it."""
    runtime = Runtime(
        settings=settings, database=outage.database, clock=clock, pacer=virtual_pacer()
    )
    scheduler = build_scheduler(runtime, SteadyScheduler)
    listed, gone, ran = threading.Event(), threading.Event(), threading.Event()
    scheduler.add_listener(lambda _: ran.set(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    engine = outage.database.engine

    def note_the_due_jobs_query(*args: Any) -> None:
        statement = str(args[2])
        if "job_state" in statement and "next_run_time <=" in statement:
            listed.set()

    def go_away_once_it_is_answered(*_args: Any) -> None:  # its connection is back in the pool
        if listed.is_set() and not gone.is_set():
            gone.set()
            outage.begin()

    event.listen(engine, "after_cursor_execute", note_the_due_jobs_query)
    event.listen(engine, "checkin", go_away_once_it_is_answered)
    try:
        scheduler.start()
        wait_until(gone.is_set, "the scheduler lists the jobs due")
        time.sleep(0.3)  # it plans on meanwhile, with the database away
        outage.end()
        # A job falls due: a scheduler whose loop still runs wakes and runs it.
        scheduler.modify_job(JOB_TABLE[0].name, next_run_time=datetime.now(UTC))
        assert ran.wait(WAIT_SECONDS), "the scheduler no longer runs jobs"
    finally:
        event.remove(engine, "after_cursor_execute", note_the_due_jobs_query)
        event.remove(engine, "checkin", go_away_once_it_is_answered)
        scheduler.shutdown(wait=False)
