"""Build the readiness matrix (key users × modules) and print its time and SQL statement count.

    python bench/readiness.py --users 500 --modules 8
    python bench/readiness.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Seeds a project with ``--users`` key users and ``--modules`` modules, two 4-hour sessions per
module with everyone's attendance, a quiz round per module with everyone's attempt and a practical
assessment per key user on every module that has one; then builds the matrix ``--repeat`` times
(the median is printed) at several sizes up to ``--users``, so the statement count can be compared:
it must not grow with the number of key users. Target at 500 × 8: 200 ms or less.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import storage.models  # noqa: E402, F401
from bot.clock import MovableClock  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services import training_readiness as readiness  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import (  # noqa: E402
    CalendarEvent,
    Invitation,
    KeyUser,
    PracticalAssessment,
    Project,
    ProjectMember,
    QuizAttempt,
    QuizRound,
    TrainingModule,
    TrainingSession,
)

TEAM = "T0BENCH1"
PM = "UPMBENCH1"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def seed(database: Database, users: int, modules: int) -> int:
    """Rows written in bulk (the bench measures reading, not the services that write)."""
    rng = random.Random(7)
    with database.session() as session:
        project = Project(
            team_id=TEAM,
            name="Bench",
            code="BENCH",
            phase="realization",
            phases=["realization"],
            timezone="Europe/Berlin",
            locale="en",
            created_by=PM,
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(project)
        session.flush()
        session.add(
            ProjectMember(team_id=TEAM, project_id=project.id, user_id=PM, role="pm", added_at=NOW)
        )
        people = [
            KeyUser(
                team_id=TEAM,
                project_id=project.id or 0,
                user_id=f"UBEN{index:06d}",
                display_name=f"Key user {index:04d}",
                role="key_user",
                created_at=NOW,
                updated_at=NOW,
            )
            for index in range(users)
        ]
        session.add_all(people)
        session.flush()
        for position in range(1, modules + 1):
            module = TrainingModule(
                team_id=TEAM,
                project_id=project.id or 0,
                position=position,
                name=f"Module {position}",
                planned_hours=8,
                formats=["lecture"],
                has_practical=position % 2 == 0,
                created_at=NOW,
                updated_at=NOW,
            )
            session.add(module)
            session.flush()
            for number in range(2):
                starts = NOW - timedelta(days=30 - position * 2 - number)
                calendar_event = CalendarEvent(
                    team_id=TEAM,
                    project_id=project.id or 0,
                    kind="training",
                    title=f"{module.name} {number + 1}/2",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=4),
                    timezone="Europe/Berlin",
                    organizer_id=PM,
                    uid=f"bench-{position}-{number}@liaison",
                    created_by=PM,
                    created_at=NOW,
                    updated_at=NOW,
                )
                session.add(calendar_event)
                session.flush()
                session.add(
                    TrainingSession(
                        team_id=TEAM,
                        project_id=project.id or 0,
                        module_id=module.id or 0,
                        event_id=calendar_event.id or 0,
                        trainer_id=PM,
                        hours=4,
                    )
                )
                session.add_all(
                    Invitation(
                        team_id=TEAM,
                        event_id=calendar_event.id or 0,
                        user_id=person.user_id,
                        response="accepted",
                        invited_at=NOW,
                        attendance=rng.choice(["present", "present", "late", "absent"]),
                    )
                    for person in people
                )
            quiz = QuizRound(
                team_id=TEAM,
                project_id=project.id or 0,
                module_id=module.id or 0,
                question_ids=[1, 2, 3],
                opens_at=NOW - timedelta(days=7),
                deadline=NOW - timedelta(days=1),
                created_by=PM,
                created_at=NOW,
            )
            session.add(quiz)
            session.flush()
            for person in people:
                score = rng.choice([33, 67, 100])
                session.add(
                    QuizAttempt(
                        team_id=TEAM,
                        round_id=quiz.id or 0,
                        module_id=module.id or 0,
                        user_id=person.user_id,
                        key_user_id=person.id,
                        score=score,
                        passed=score >= 60,
                        submitted_at=NOW - timedelta(days=2, minutes=rng.randint(0, 600)),
                    )
                )
                if module.has_practical:
                    score = rng.randint(40, 100)
                    session.add(
                        PracticalAssessment(
                            team_id=TEAM,
                            project_id=project.id or 0,
                            module_id=module.id or 0,
                            key_user_id=person.id or 0,
                            user_id=person.user_id,
                            period="2026-11",
                            score=score,
                            pass_mark=60,
                            passed=score >= 60,
                            assessed_by=PM,
                            assessed_at=NOW - timedelta(days=3),
                        )
                    )
        return project.id or 0


def measure(database: Database, project_id: int, repeat: int) -> tuple[float, int, int]:
    """(median milliseconds, statements per build, ready cells)."""
    runtime = Runtime(settings=Settings(), database=database, clock=MovableClock(NOW))
    timings: list[float] = []
    statements: list[int] = []
    counting = [False]
    ready = 0

    def count(*_args: object) -> None:
        if counting[0]:
            statements[-1] += 1

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        for _ in range(repeat):
            with runtime.unit(TEAM, PM) as ctx:
                project = ctx.session.get(Project, project_id)
                assert project is not None
                statements.append(0)
                counting[0] = True
                started = time.perf_counter()
                matrix = readiness.compute(ctx, project)
                timings.append((time.perf_counter() - started) * 1000)
                counting[0] = False
                ready = sum(row.ready_count for row in matrix.rows)
    finally:
        event.remove(database.engine, "before_cursor_execute", count)
    return statistics.median(timings), max(statements), ready


def fresh_database(url: str | None, folder: str, name: str) -> Database:
    if url is None:
        database = Database(f"sqlite:///{Path(folder) / name}")
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        database = Database(url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    SQLModel.metadata.create_all(database.engine)
    return database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--modules", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--database-url", help="a throwaway PostgreSQL database (its schema is dropped)"
    )
    args = parser.parse_args(argv)
    sizes = sorted({max(1, args.users // 10), max(1, args.users // 2), args.users})
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            database = fresh_database(args.database_url, folder, f"bench-{size}.db")
            project_id = seed(database, size, args.modules)
            if args.database_url:
                # Fresh tables have no planner statistics yet; a live database has.
                with database.engine.begin() as connection:
                    connection.execute(text("ANALYZE"))
            millis, statements, ready = measure(database, project_id, args.repeat)
            rows.append((size, args.modules, millis, statements, ready))
            database.dispose()
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"readiness matrix on {store}, median of {args.repeat} builds")
    header = ("key users", "modules", "cells", "time (ms)", "SQL statements", "ready cells")
    print(" | ".join(header))
    for size, modules, millis, statements, ready in rows:
        cells = size * modules
        figures = f"{cells:>5} | {millis:>9.1f} | {statements:>14} | {ready:>11}"
        print(f"{size:>9} | {modules:>7} | {figures}")
    counts = {statements for *_rest, statements, _ready in rows}
    print("statements grow with key users:", "no" if len(counts) == 1 else "YES")
    return 0 if len(counts) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
