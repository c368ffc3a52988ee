"""Time and SQL statements of the end users' readiness (per module and department) on a large
project.

    python bench/end_users.py                      # SQLite file in a temporary folder
    TEST_DATABASE_URL=postgresql://user@host:5432/db python bench/end_users.py   # also PostgreSQL

Seeds one project with 20 modules (8 planned hours each), a key user per module, 200 end users
in 8 departments (half in Slack, half recorded by name), 5 two-hour sessions per module held in
the past, each end user of the module on it (those in Slack by invitation, the others on the roll
call), present at three sessions in four (bulk inserts, not the services); then the same with
2,000 end users. For each size it computes the readiness of `/training readiness` and the
digest (``bot.services.end_user_readiness.readiness``, after one warm-up run) and prints the best
and the median time of seven runs and the statements each run sent (BEGIN and COMMIT are not
counted). Target:
the statement count does not grow with the data. The PostgreSQL database's ``public`` schema is
dropped and recreated: give it a throwaway database.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, text  # noqa: E402

import storage.models  # noqa: E402, F401
from bench.machine import loop_ms, speed_line  # noqa: E402
from bot.clock import MovableClock  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services import end_user_readiness  # noqa: E402
from bot.services import projects as project_service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    CalendarEvent,
    EndUser,
    EndUserAttendance,
    Invitation,
    KeyUser,
    TrainingModule,
    TrainingSession,
)

TEAM = "T0BENCH1"
PM = "UPMBENCH1"
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
RUNS = 7
MODULES = 20
DEPARTMENTS = 8
SESSIONS = 5  # per module, two hours each; 8 planned hours: ready from four sessions attended


def database_for(url: str | None, folder: Path, name: str) -> Database:
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        database = Database(url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        database = Database(f"sqlite:///{folder / name}")
    upgrade(database.engine)
    return database


def seed(runtime: Runtime, people: int) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(
                name="Bench", code="BENCH", pm_ids=[PM], timezone="Europe/Berlin"
            ),
        )
        project_id = project.id
    now = runtime.clock.now()
    started = now - timedelta(days=60)
    with runtime.database.session() as session:
        modules = []
        key_users = []
        for index in range(MODULES):
            module = TrainingModule(
                team_id=TEAM,
                project_id=project_id or 0,
                name=f"Module {index + 1:02d}",
                planned_hours=8.0,
                position=index + 1,
                created_at=started,
                updated_at=started,
            )
            key_user = KeyUser(
                team_id=TEAM,
                project_id=project_id or 0,
                user_id=f"UK{index:07d}",
                role="key_user",
                created_at=started,
                updated_at=started,
            )
            session.add(module)
            session.add(key_user)
            session.flush()
            modules.append(module.id)
            key_users.append(key_user.id)
        session.execute(
            insert(EndUser),
            [
                {
                    "team_id": TEAM,
                    "project_id": project_id,
                    "number": number + 1,
                    "name": f"End user {number + 1}",
                    "user_id": f"UE{number:07d}" if number % 2 else None,
                    "department": f"Department {number % DEPARTMENTS + 1}",
                    "module_id": modules[number % MODULES],
                    "key_user_id": key_users[number % MODULES],
                    "created_by": PM,
                    "created_at": started,
                    "updated_at": started,
                }
                for number in range(people)
            ],
        )
        rows = session.execute(
            text("SELECT id, number, user_id, module_id FROM enduser WHERE project_id = :p"),
            {"p": project_id},
        ).all()
        by_module: dict[int, list[tuple[int, int, str | None]]] = {}
        for ident, number, user_id, module_id in rows:
            by_module.setdefault(module_id, []).append((ident, number, user_id))
        for position, module_id in enumerate(modules):
            for index in range(SESSIONS):
                starts = now - timedelta(days=30 - index * 5, hours=position % 8)
                calendar_event = CalendarEvent(
                    team_id=TEAM,
                    project_id=project_id or 0,
                    kind="training",
                    title=f"Session {position}-{index}",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    timezone="Europe/Berlin",
                    organizer_id=f"UK{position:07d}",
                    uid=uuid.uuid4().hex,
                    created_by=PM,
                    created_at=started,
                    updated_at=started,
                )
                session.add(calendar_event)
                session.flush()
                session.add(
                    TrainingSession(
                        team_id=TEAM,
                        project_id=project_id or 0,
                        module_id=module_id,
                        event_id=calendar_event.id or 0,
                        trainer_id=f"UK{position:07d}",
                        hours=2,
                        audience_kind="end_users",
                    )
                )
                members = by_module.get(module_id, [])

                def mark(number: int, index: int = index) -> str:
                    return "absent" if (number + index) % 4 == 0 else "present"

                slack = [(n, u) for _i, n, u in members if u]
                named = [(i, n) for i, n, u in members if not u]
                if slack:
                    session.execute(
                        insert(Invitation),
                        [
                            {
                                "team_id": TEAM,
                                "event_id": calendar_event.id,
                                "user_id": user_id,
                                "response": "accepted",
                                "invited_at": started,
                                "attendance": mark(number),
                            }
                            for number, user_id in slack
                        ],
                    )
                if named:
                    session.execute(
                        insert(EndUserAttendance),
                        [
                            {
                                "team_id": TEAM,
                                "event_id": calendar_event.id,
                                "end_user_id": ident,
                                "attendance": mark(number),
                            }
                            for ident, number in named
                        ],
                    )
        session.commit()


class StatementCounter:
    def __init__(self, database: Database) -> None:
        self.count = 0
        self.active = False
        event.listen(database.engine, "before_cursor_execute", self._count)

    def _count(self, _connection: object, _cursor: object, statement: str, *_args: object) -> None:
        if self.active and not statement.lstrip().upper().startswith(("BEGIN", "COMMIT")):
            self.count += 1


def measure(counter: StatementCounter, work) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """(best time, median time, most statements) of ``RUNS`` runs after a warm-up."""
    work()
    times, counts = [], []
    for _ in range(RUNS):
        before = counter.count
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
        counts.append(counter.count - before)
    return min(times), statistics.median(times), max(counts)


def bench(url: str | None, folder: Path, people: int) -> tuple[str, float, float, int, str]:
    database = database_for(url, folder, f"bench-end-users-{people}.db")
    runtime = Runtime(
        settings=Settings(timezone="Europe/Berlin"), database=database, clock=MovableClock(NOW)
    )
    started = time.perf_counter()
    seed(runtime, people)
    seeded = time.perf_counter() - started
    with database.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    counter = StatementCounter(database)
    found: list[end_user_readiness.Cell] = []

    def readiness() -> None:
        with runtime.unit(TEAM, PM) as ctx:
            project = project_service.get_project(ctx, "BENCH")
            counter.active = True
            found[:] = end_user_readiness.readiness(ctx, project)
            counter.active = False

    best, median, statements = measure(counter, readiness)
    ready = sum(cell.ready for cell in found)
    total = sum(cell.end_users for cell in found)
    size = f"{people:,} end users, {len(found)} cells (seeded in {seeded:.1f} s)"
    database.dispose()
    return size, best, median, statements, f"{ready}/{total} ready"


def main() -> None:
    speed_before = loop_ms()
    stores = [("SQLite", None)]
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        stores.append(("PostgreSQL", url))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for store, store_url in stores:
            for people in (200, 2000):
                rows.append((store, *bench(store_url, Path(folder), people)))
    speed_after = loop_ms()
    print(f"End-user readiness per module and department ({RUNS} runs after a warm-up)")
    print(
        f"{'store':<11} {'data':<46} {'best ms':>8} {'median ms':>10} {'statements':>11} "
        f"{'ready':>12}"
    )
    for store, size, best, median, statements, ready in rows:
        print(f"{store:<11} {size:<46} {best:>8.1f} {median:>10.1f} {statements:>11} {ready:>12}")
    print("target: statements flat from 200 to 2,000 end users")
    print(speed_line(speed_before, speed_after))


if __name__ == "__main__":
    main()
