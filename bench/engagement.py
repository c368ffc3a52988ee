"""Engagement debt and the weekly nudge over a large register: time and number of SQL statements.

    python bench/engagement.py --key-users 2000 --touchpoints 20 --projects 4

Seeds ``--projects`` projects sharing ``--key-users`` key users, each with ``--touchpoints``
touchpoints spread over two months, then times ``engagement_debt`` (one project), the Home tab's
``contacts_by_project`` (all projects) and ``nudges_due`` (the job's list per PM), counting the SQL
statements each sends: the figures must not grow with the number of key users.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import storage.models  # noqa: E402, F401
from bot.clock import MovableClock  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services import engagement  # noqa: E402
from bot.services.keyusers import LEVELS  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Interaction, KeyUser, Project, ProjectMember  # noqa: E402

TEAM = "T0BENCH1"
PM = "UPMBENCH1"
START = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)


def seed(runtime: Runtime, key_users: int, touchpoints: int, projects: int) -> list[int]:
    with runtime.database.session() as session:
        ids = []
        for number in range(projects):
            project = Project(
                team_id=TEAM,
                name=f"Bench {number}",
                code=f"B{number}",
                phase="realization",
                phases=["realization"],
                timezone="Europe/Berlin",
                locale="en",
                created_by=PM,
                created_at=START,
                updated_at=START,
            )
            session.add(project)
            session.flush()
            ids.append(project.id or 0)
            session.add(
                ProjectMember(
                    team_id=TEAM, project_id=project.id, user_id=PM, role="pm", added_at=START
                )
            )
        people = []
        for index in range(key_users):
            person = KeyUser(
                team_id=TEAM,
                project_id=ids[index % projects],
                user_id=f"UBEN{index:06d}",
                display_name=f"key user {index}",
                role="key_user",
                influence=LEVELS[index % 3],
                interest=LEVELS[(index // 3) % 3],
                created_at=START,
                updated_at=START,
            )
            people.append(person)
        session.add_all(people)
        session.flush()
        rows = []
        for index, person in enumerate(people):
            for step in range(touchpoints):
                minutes = (index * 37 + step * 4001) % (60 * 24 * 60)
                rows.append(
                    Interaction(
                        team_id=TEAM,
                        project_id=person.project_id,
                        key_user_id=person.id,
                        kind="poll.answered",
                        touchpoint=True,
                        detail={},
                        at=START + timedelta(minutes=minutes),
                    )
                )
        session.add_all(rows)
        session.commit()
    return ids


def measure(runtime: Runtime, label: str, call) -> tuple[str, float, int, int]:  # type: ignore[no-untyped-def]
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    engine = runtime.database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        with runtime.unit(TEAM, PM) as ctx:
            began = time.perf_counter()
            result = call(ctx)
            elapsed = time.perf_counter() - began
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return label, elapsed * 1000, statements[0], result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key-users", type=int, default=2000)
    parser.add_argument("--touchpoints", type=int, default=20)
    parser.add_argument("--projects", type=int, default=4)
    parser.add_argument("--database", default=None, help="database URL (default: a temp SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{folder}/bench.db"
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        database = Database(url)
        if args.database:
            SQLModel.metadata.drop_all(database.engine)
        SQLModel.metadata.create_all(database.engine)
        clock = MovableClock(START + timedelta(days=75))
        runtime = Runtime(settings=Settings(), database=database, clock=clock)
        began = time.perf_counter()
        ids = seed(runtime, args.key_users, args.touchpoints, args.projects)
        seeded = time.perf_counter() - began
        now = clock.now()
        rows = [
            measure(
                runtime,
                "engagement_debt (one project)",
                lambda ctx: len(engagement.engagement_debt(ctx, ids[0], now)),
            ),
            measure(
                runtime,
                "contacts_by_project (Home tab)",
                lambda ctx: sum(
                    len(c) for c in engagement.contacts_by_project(ctx, ids, now).values()
                ),
            ),
            measure(
                runtime,
                "nudges_due (weekly job)",
                lambda ctx: sum(n.count for n in engagement.nudges_due(ctx, now)),
            ),
        ]
        print(
            f"{args.key_users} key users in {args.projects} projects, "
            f"{args.key_users * args.touchpoints} touchpoints ({seeded:.1f} s to seed), "
            f"{database.engine.dialect.name}"
        )
        print(f"{'call':<34}{'ms':>10}{'SQL statements':>16}{'rows':>8}")
        for label, ms, statements, result in rows:
            print(f"{label:<34}{ms:>10.1f}{statements:>16}{result:>8}")
        if args.database:
            SQLModel.metadata.drop_all(database.engine)
        database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
