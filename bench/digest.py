"""Time and SQL statements to build the weekly digest and a PM's Home tab on a large project.

    python bench/digest.py                      # SQLite file in a temporary folder
    BENCH_DATABASE_URL=postgresql://user@host:5432/db python bench/digest.py

Seeds one project with 500 key users, 10,000 issues, 20 poll rounds of 500 named answers each,
the standard curriculum with 50 training sessions (20 invitations each; at past sessions three in
four were present, the rest absent), a quiz round and a practical assessment per module taken by
every key user, and a touchpoint per key user (bulk inserts, not the services, so seeding takes
seconds), then the same ten times larger. For each
size it builds the digest and the PM's Home tab (after one warm-up run) and prints the best and
the median time of seven runs (the best is the work's own cost; the median also holds what else
the machine was doing, see ``bench/machine.py``) and the statements each run sent (queries; BEGIN
and COMMIT are not counted, nor, for the digest, reading the project, which the job already
holds). Targets: the digest in at most 100 ms and 15 statements, the Home tab in at most 100 ms,
and statement counts that do not grow with the data. The PostgreSQL database's ``public`` schema
is dropped and recreated: give it a throwaway database.
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
from bot.services import digest as digest_service  # noqa: E402
from bot.services import projects as project_service  # noqa: E402
from bot.services import trainings as training_service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.home import build_home  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    CalendarEvent,
    Interaction,
    Invitation,
    Issue,
    KeyUser,
    Poll,
    PollParticipant,
    PollQuestion,
    PollResponse,
    PracticalAssessment,
    QuizAttempt,
    QuizRound,
    TrainingSession,
)

TEAM = "T0BENCH1"
PM = "UPMBENCH1"
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
RUNS = 7


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


def seed(runtime: Runtime, scale: int) -> None:
    key_users, issues, rounds, answers = 500 * scale, 10_000 * scale, 20, 500 * scale
    clock = runtime.clock
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(
                name="Bench", code="BENCH", pm_ids=[PM], timezone="Europe/Berlin"
            ),
        )
        project_id = project.id
        training_service.adopt_standard_curriculum(ctx=ctx, project=project)
        modules = [module.id for module in training_service.modules_of(ctx, project_id)]
    started = clock.now() - timedelta(days=400)
    users = [f"UK{index:07d}" for index in range(key_users)]
    with runtime.database.session() as session:
        session.execute(
            insert(KeyUser),
            [
                {
                    "team_id": TEAM,
                    "project_id": project_id,
                    "user_id": user,
                    "role": "key_user",
                    "influence": ("high", "medium", "low")[index % 3],
                    "interest": ("high", "low")[index % 2],
                    "preferred_channel": "dm",
                    "created_at": started,
                    "updated_at": started,
                }
                for index, user in enumerate(users)
            ],
        )
        rows = []
        for number in range(1, issues + 1):
            created = clock.now() - timedelta(hours=number % (24 * 60), minutes=number % 60)
            resolved = created + timedelta(hours=5 + number % 40) if number % 3 else None
            rows.append(
                {
                    "team_id": TEAM,
                    "project_id": project_id,
                    "number": number,
                    "title": f"Issue {number}",
                    "kind": "issue",
                    "priority": f"P{1 + number % 4}",
                    "status": "resolved" if resolved else ("new", "in_progress")[number % 2],
                    "reporter_id": users[number % key_users],
                    "owner_id": users[(number * 7) % key_users] if number % 5 else None,
                    "created_by": users[number % key_users],
                    "due_date": (created + timedelta(days=3)).date(),
                    "due_at": created + timedelta(days=3),
                    "first_response_due_at": created + timedelta(hours=24),
                    "first_response_at": created + timedelta(hours=1 + number % 30),
                    "resolved_at": resolved,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                }
            )
            if len(rows) == 5_000:
                session.execute(insert(Issue), rows)
                rows = []
        if rows:
            session.execute(insert(Issue), rows)
        key_user_ids = [
            row[0]
            for row in session.execute(
                text("SELECT id FROM keyuser WHERE project_id = :p ORDER BY id"), {"p": project_id}
            )
        ]
        session.execute(
            insert(Interaction),
            [
                {
                    "team_id": TEAM,
                    "project_id": project_id,
                    "key_user_id": key_user_id,
                    "kind": "poll.answered",
                    "touchpoint": True,
                    "detail": {},
                    "at": clock.now() - timedelta(days=index % 40),
                }
                for index, key_user_id in enumerate(key_user_ids)
            ],
        )
        for index in range(50 * scale):
            starts = clock.now() + timedelta(days=index % 21 - 14, hours=index % 8)
            event = CalendarEvent(
                team_id=TEAM,
                project_id=project_id,
                kind="training",
                title=f"Session {index}",
                starts_at=starts,
                ends_at=starts + timedelta(hours=4),
                timezone="Europe/Berlin",
                organizer_id=PM,
                uid=uuid.uuid4().hex,
                created_by=PM,
                created_at=started,
                updated_at=started,
            )
            session.add(event)
            session.flush()
            session.add(
                TrainingSession(
                    team_id=TEAM,
                    project_id=project_id,
                    module_id=modules[index % len(modules)],
                    event_id=event.id,
                    trainer_id=PM,
                    hours=4,
                )
            )
            session.execute(
                insert(Invitation),
                [
                    {
                        "team_id": TEAM,
                        "event_id": event.id,
                        "user_id": users[(index * 20 + n) % key_users],
                        "response": ("accepted", "declined", "pending")[n % 3],
                        "invited_at": started,
                        "attendance": (
                            ("absent" if n % 4 == 0 else "present")
                            if starts < clock.now()
                            else None
                        ),
                    }
                    for n in range(20)
                ],
            )
        for module_id in modules:
            quiz = QuizRound(
                team_id=TEAM,
                project_id=project_id,
                module_id=module_id,
                question_ids=[],
                opens_at=started,
                deadline=started + timedelta(days=7),
                created_by=PM,
                created_at=started,
            )
            session.add(quiz)
            session.flush()
            session.execute(
                insert(QuizAttempt),
                [
                    {
                        "team_id": TEAM,
                        "round_id": quiz.id,
                        "module_id": module_id,
                        "user_id": users[index],
                        "key_user_id": key_user_id,
                        "answers": {},
                        "missed": [],
                        "score": (index * 37) % 101,
                        "passed": (index * 37) % 101 >= 60,
                        "submitted_at": started + timedelta(days=1),
                    }
                    for index, key_user_id in enumerate(key_user_ids)
                ],
            )
            session.execute(
                insert(PracticalAssessment),
                [
                    {
                        "team_id": TEAM,
                        "project_id": project_id,
                        "module_id": module_id,
                        "key_user_id": key_user_id,
                        "user_id": users[index],
                        "period": "2026-11",
                        "score": (index * 53) % 101,
                        "pass_mark": 60,
                        "passed": (index * 53) % 101 >= 60,
                        "assessed_by": PM,
                        "assessed_at": started + timedelta(days=2),
                    }
                    for index, key_user_id in enumerate(key_user_ids)
                ],
            )
        series = uuid.uuid4().hex
        for round_number in range(1, rounds + 1):
            opens = clock.now() - timedelta(days=7 * (rounds - round_number) + 3)
            poll = Poll(
                team_id=TEAM,
                project_id=project_id,
                series_id=series,
                round_number=round_number,
                title="Weekly pulse",
                recurrence="weekly",
                status="closed",
                opens_at=opens,
                closes_at=opens + timedelta(days=2),
                created_by=PM,
                created_at=opens,
            )
            session.add(poll)
            session.flush()
            rating = PollQuestion(
                team_id=TEAM, poll_id=poll.id, position=1, kind="rating", text="?"
            )
            nps = PollQuestion(team_id=TEAM, poll_id=poll.id, position=2, kind="nps", text="?")
            session.add_all([rating, nps])
            session.flush()
            session.execute(
                insert(PollParticipant),
                [
                    {"team_id": TEAM, "poll_id": poll.id, "user_id": user, "answered": True}
                    for user in users[:answers]
                ],
            )
            session.execute(
                insert(PollResponse),
                [
                    {
                        "team_id": TEAM,
                        "poll_id": poll.id,
                        "user_id": user,
                        "answers": {
                            str(rating.id): 1 + (index + round_number) % 5,
                            str(nps.id): (index * 3 + round_number) % 11,
                        },
                        "submitted_at": opens,
                        "updated_at": opens,
                    }
                    for index, user in enumerate(users[:answers])
                ],
            )


class StatementCounter:
    def __init__(self, database: Database) -> None:
        self.count = 0
        self.active = False  # counts only while the measured work runs
        event.listen(database.engine, "before_cursor_execute", self._count)

    def _count(self, _connection: object, _cursor: object, statement: str, *_args: object) -> None:
        if self.active and not statement.lstrip().upper().startswith(("BEGIN", "COMMIT")):
            self.count += 1  # queries only: transaction control is not counted


def measure(counter: StatementCounter, work) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """(best time, median time, most statements) of ``RUNS`` runs after a warm-up."""
    work()  # warm-up: caches, compiled statements
    times, counts = [], []
    for _ in range(RUNS):
        before = counter.count
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
        counts.append(counter.count - before)
    return min(times), statistics.median(times), max(counts)


def bench(url: str | None, folder: Path, scale: int) -> list[tuple[str, str, float, float, int]]:
    database = database_for(url, folder, f"bench-digest-{scale}.db")
    runtime = Runtime(
        settings=Settings(timezone="Europe/Berlin"), database=database, clock=MovableClock(NOW)
    )
    started = time.perf_counter()
    seed(runtime, scale)
    seeded = time.perf_counter() - started
    with database.engine.begin() as connection:  # as autovacuum / a DBA would after a bulk load
        connection.execute(text("ANALYZE"))
    counter = StatementCounter(database)

    def digest() -> None:
        with runtime.unit(TEAM, PM) as ctx:
            project = project_service.get_project(ctx, "BENCH")  # the job has it already
            counter.active = True
            digest_service.build_digest(ctx, project, now=ctx.now())
            counter.active = False

    def home() -> None:
        counter.active = True
        build_home(runtime, TEAM, PM)
        counter.active = False

    size = f"{scale}x ({10_000 * scale:,} issues, seeded in {seeded:.1f} s)"
    rows = [
        ("digest", size, *measure(counter, digest)),
        ("PM's Home tab", size, *measure(counter, home)),
    ]
    database.dispose()
    return rows


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    store = "PostgreSQL" if url else "SQLite"
    speed_before = loop_ms()
    with tempfile.TemporaryDirectory() as folder:
        rows = bench(url, Path(folder), 1) + bench(url, Path(folder), 10)
    speed_after = loop_ms()
    print(f"Digest and PM Home tab on {store} ({RUNS} runs after a warm-up: best and median)")
    print(f"{'what':<15} {'data':<42} {'best ms':>8} {'median ms':>10} {'statements':>11}")
    for what, size, best, median, statements in rows:
        print(f"{what:<15} {size:<42} {best:>8.1f} {median:>10.1f} {statements:>11}")
    print("targets: digest <= 100 ms and <= 15 statements; Home <= 100 ms; counts flat at 10x")
    print(speed_line(speed_before, speed_after))


if __name__ == "__main__":
    main()
