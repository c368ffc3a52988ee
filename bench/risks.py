"""Time and SQL statements of the project-risk register's reads on a large project.

    python bench/risks.py                      # SQLite file in a temporary folder
    BENCH_DATABASE_URL=postgresql://user@host:5432/db python bench/risks.py

Seeds one project with 500 risks, each with two assessments, two history entries and a response
action (bulk inserts, not the services, so seeding takes seconds), then the same with 5,000. For
each size it measures the first page of `/risk list` (read and rendered), the PM's Home tab and
the weekly digest's build (after one warm-up run), and prints the best and the median time of
seven runs and the statements each run sent (queries; BEGIN and COMMIT are not counted, nor
reading the project, which the command and the job already hold). The statement counts must not
grow with the data. The PostgreSQL database's ``public`` schema is dropped and recreated: give it
a throwaway database.

Seeding is a list of functions, one per kind of record (``SEEDERS``): each takes the session, the
project's id and the size, and inserts its rows in bulk. Another kind (issues, key users, polls)
is one more function in the list.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

import storage.models  # noqa: E402, F401
from bench.digest import NOW, PM, RUNS, TEAM, StatementCounter, database_for, measure  # noqa: E402
from bench.machine import loop_ms, speed_line  # noqa: E402
from bot.clock import MovableClock  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services import digest as digest_service  # noqa: E402
from bot.services import projects as project_service  # noqa: E402
from bot.services import risks as risk_service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.views import risks as risk_views  # noqa: E402
from handlers.home import build_home  # noqa: E402
from storage.models import Risk, RiskAction, RiskAssessment, RiskHistory  # noqa: E402

SIZES = (500, 5_000)
OWNERS = [PM, "UTEAMBEN1", "UTEAMBEN2", "UTEAMBEN3"]
STRATEGIES = risk_service.STRATEGIES


@dataclass(frozen=True)
class Seeded:
    """What the seeders share: the project and when its records start."""

    project_id: int
    started: Any


Seeder = Callable[[Session, Seeded, int], None]


def seed_risks(session: Session, seeded: Seeded, size: int) -> None:
    """``size`` risks over the whole grid, one in five closed, one in three shown in the
    channel."""
    rows = []
    for number in range(1, size + 1):
        chance, weight = 1 + number % 5, 1 + (number // 5) % 5
        created = seeded.started + timedelta(hours=number % 2000)
        rows.append(
            {
                "team_id": TEAM,
                "project_id": seeded.project_id,
                "number": number,
                "title": f"Risk {number}: interface load may slip",
                "category": risk_service.CATEGORIES[number % 6],
                "module": ("FI", "MM", "SD", None)[number % 4],
                "probability": chance,
                "impact": weight,
                "level": risk_service.level_of(chance, weight),
                "owner_id": OWNERS[number % len(OWNERS)],
                "strategy": STRATEGIES[number % len(STRATEGIES)],
                "review_on": (NOW + timedelta(days=number % 30 - 10)).date(),
                "status": "closed" if number % 5 == 0 else "open",
                "visible_in_channel": number % 3 == 0,
                "created_by": PM,
                "created_at": created,
                "updated_at": created,
            }
        )
    session.execute(insert(Risk), rows)
    session.execute(
        text("UPDATE risksettings SET next_number = :next WHERE project_id = :project"),
        {"next": size + 1, "project": seeded.project_id},
    )


def _risk_ids(session: Session, seeded: Seeded) -> list[tuple[int, int, int]]:
    return list(
        session.execute(  # type: ignore[call-overload]
            select(Risk.id, Risk.probability, Risk.impact)
            .where(Risk.project_id == seeded.project_id)
            .order_by(Risk.id)
        ).all()
    )


def seed_assessments(session: Session, seeded: Seeded, size: int) -> None:
    """Two assessments a risk: the first when it was raised, then the current one."""
    grades = risk_service.Thresholds()
    rows = []
    for risk_id, chance, weight in _risk_ids(session, seeded):
        for step, (p, i) in enumerate(((max(chance - 1, 1), weight), (chance, weight))):
            rows.append(
                {
                    "team_id": TEAM,
                    "risk_id": risk_id,
                    "probability": p,
                    "impact": i,
                    "level": p * i,
                    "grade": grades.grade(p * i),
                    "actor_id": PM,
                    "note": "reviewed" if step else None,
                    "at": seeded.started + timedelta(days=step * 7),
                }
            )
    session.execute(insert(RiskAssessment), rows)


def seed_history(session: Session, seeded: Seeded, size: int) -> None:
    rows = []
    for risk_id, chance, weight in _risk_ids(session, seeded):
        for step, action in enumerate(("raised", "assessed")):
            rows.append(
                {
                    "team_id": TEAM,
                    "risk_id": risk_id,
                    "actor_id": PM,
                    "action": action,
                    "detail": {"level": chance * weight},
                    "at": seeded.started + timedelta(days=step * 7),
                }
            )
    session.execute(insert(RiskHistory), rows)


def seed_actions(session: Session, seeded: Seeded, size: int) -> None:
    rows = [
        {
            "team_id": TEAM,
            "risk_id": risk_id,
            "text": "Rehearse the load once more",
            "owner_id": OWNERS[risk_id % len(OWNERS)],
            "created_by": PM,
            "created_at": seeded.started,
        }
        for risk_id, _p, _i in _risk_ids(session, seeded)
    ]
    session.execute(insert(RiskAction), rows)


SEEDERS: list[Seeder] = [seed_risks, seed_assessments, seed_history, seed_actions]


def seed(runtime: Runtime, size: int) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(
                name="Bench", code="BENCH", pm_ids=[PM], timezone="Europe/Berlin"
            ),
        )
        project_service.set_team_members(ctx=ctx, project=project, user_ids=OWNERS[1:])
        project_service.settings_row(ctx, storage.models.RiskSettings, project)
        seeded = Seeded(project.id or 0, runtime.clock.now() - timedelta(days=200))
    with runtime.database.session() as session:
        for seeder in SEEDERS:
            seeder(session, seeded, size)
        session.commit()


def bench(url: str | None, folder: Path, size: int) -> list[tuple[str, str, float, float, int]]:
    database = database_for(url, folder, f"bench-risks-{size}.db")
    runtime = Runtime(
        settings=Settings(timezone="Europe/Berlin"), database=database, clock=MovableClock(NOW)
    )
    started = time.perf_counter()
    seed(runtime, size)
    seeded = time.perf_counter() - started
    with database.engine.begin() as connection:  # as autovacuum / a DBA would after a bulk load
        connection.execute(text("ANALYZE"))
    counter = StatementCounter(database)

    def first_page() -> None:
        with runtime.unit(TEAM, PM) as ctx:
            project = project_service.get_project(ctx, "BENCH")  # the command has it already
            counter.active = True
            found = risk_service.list_risks(
                ctx, project, "open", page_size=risk_views.LIST_PAGE_SIZE
            )
            risk_views.list_message(project.locale, found, "/risk")
            counter.active = False

    def home() -> None:
        counter.active = True
        build_home(runtime, TEAM, PM)
        counter.active = False

    def digest() -> None:
        with runtime.unit(TEAM, PM) as ctx:
            project = project_service.get_project(ctx, "BENCH")  # the job has it already
            counter.active = True
            digest_service.build_digest(ctx, project, now=ctx.now())
            counter.active = False

    data = f"{size:,} risks (seeded in {seeded:.1f} s)"
    rows = [
        ("/risk list p.1", data, *measure(counter, first_page)),
        ("PM's Home tab", data, *measure(counter, home)),
        ("digest build", data, *measure(counter, digest)),
    ]
    database.dispose()
    return rows


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    store = "PostgreSQL" if url else "SQLite"
    speed_before = loop_ms()
    with tempfile.TemporaryDirectory() as folder:
        rows = [row for size in SIZES for row in bench(url, Path(folder), size)]
    speed_after = loop_ms()
    print(f"Risk register reads on {store} ({RUNS} runs after a warm-up: best and median)")
    print(f"{'what':<15} {'data':<36} {'best ms':>8} {'median ms':>10} {'statements':>11}")
    for what, size, best, median, statements in rows:
        print(f"{what:<15} {size:<36} {best:>8.1f} {median:>10.1f} {statements:>11}")
    print("target: statement counts flat from 500 to 5,000 risks")
    print(speed_line(speed_before, speed_after))


if __name__ == "__main__":
    main()
