"""The governance benchmark at a tiny size, so that it cannot rot: its seeding runs on the store
under test, what it seeds shows up where the bench measures it (open requests waiting for a
decider on the PM's Home, decisions in the digest's week), and every read it measures sends the
same number of statements at two sizes."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import SQLModel

from bench import governance as bench
from bench.digest import NOW, StatementCounter
from bot.clock import MovableClock
from bot.runtime import Runtime
from bot.services import awaiting
from bot.services import changes as change_service
from bot.services import projects as project_service
from bot.settings import Settings
from storage.db import Database

SMALL = bench.Size(risks=12, changes=14, decisions=60)
LARGE = SMALL.times(3)
EMPTY_TABLES = [f'DELETE FROM "{t.name}"' for t in reversed(SQLModel.metadata.sorted_tables)]


def scalar(database: Database, sql: str, **params: Any) -> Any:
    with database.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def measured(database: Database, size: bench.Size) -> tuple[dict[str, int], dict[str, Any]]:
    """Seeds ``size`` on an emptied store; each read's statements and what it returned."""
    with database.engine.begin() as connection:
        for statement in EMPTY_TABLES:
            connection.execute(text(statement))
    runtime = Runtime(
        settings=Settings(timezone="Europe/Berlin"), database=database, clock=MovableClock(NOW)
    )
    bench.seed(runtime, size)
    counter = StatementCounter(database)
    counts, shown = {}, {}
    for what, read in bench.readers(runtime, counter):
        read()  # warm-up, as the bench does
        before = counter.count
        shown[what] = read()
        counts[what] = counter.count - before
    with runtime.unit(bench.TEAM, bench.PM) as ctx:
        project = project_service.get_project(ctx, "BENCH")
        projects = {project.id or 0: project}
        rows, _signoffs = awaiting.home_rows(ctx, bench.PM, list(projects), projects)
        shown["waiting"] = change_service.waiting_rows(rows, projects)
    return counts, shown


def test_the_bench_seeds_and_its_reads_send_the_same_statements_at_two_sizes(
    database: Database,
) -> None:
    small, _ = measured(database, SMALL)
    large, shown = measured(database, LARGE)
    assert small == large
    assert set(large) == {
        "/risk list p.1",
        "/change list p.1",
        "/project decisions p.1",
        "PM's Home tab",
        "digest build",
    }

    # What was seeded is what the bench says: counters past the records, one approval per request
    # sent for review, some deciders still to decide.
    project = scalar(database, "SELECT id FROM project WHERE code = 'BENCH'")
    for table, settings, count in (
        ("risk", "risksettings", LARGE.risks),
        ("changerequest", "changesettings", LARGE.changes),
        ("decision", "decisionsettings", LARGE.decisions),
    ):
        assert scalar(database, f"SELECT count(*) FROM {table}") == count
        counter = f"SELECT next_number FROM {settings} WHERE project_id = :p"
        assert scalar(database, counter, p=project) == count + 1
    assert scalar(database, "SELECT count(*) FROM approval") == scalar(
        database, "SELECT count(*) FROM changerequest WHERE status <> 'proposed'"
    )
    pending = scalar(
        database,
        "SELECT count(*) FROM approvaldecider d JOIN approval a ON a.id = d.approval_id"
        " WHERE a.status = 'pending' AND NOT EXISTS (SELECT 1 FROM approvalanswer x"
        " WHERE x.approval_id = d.approval_id AND x.user_id = d.user_id"
        " AND x.answer IN ('approve', 'reject'))",
    )
    assert pending > 0
    assert scalar(database, "SELECT count(*) FROM approvalanswer") > 0
    waiting = shown["waiting"]
    assert waiting and any(person is not None for _change, _project, person, _a in waiting)

    # The digest's week holds decisions, as many as a plain count of that week's local days.
    digest = shown["digest build"]
    zone = ZoneInfo("Europe/Berlin")
    start: datetime = digest.period.start
    end: datetime = digest.period.end
    week = scalar(
        database,
        "SELECT count(*) FROM decision WHERE decided_on >= :first AND decided_on < :after"
        " AND withdrawn_at IS NULL",
        first=start.astimezone(zone).date(),
        after=end.astimezone(zone).date(),
    )
    assert week > 0
    assert digest.sections["decisions"].total == week
