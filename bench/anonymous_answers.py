"""What one anonymous answer costs as answers pile up (it should not grow with them).

    python bench/anonymous_answers.py --answers 1000
    python bench/anonymous_answers.py --answers 1000 --database-url postgresql://…/bench

An anonymous poll is opened for ``--answers`` key users, who then answer one after the other
through the same service the Slack handlers call. Printed: the median time of an answer around
the 1st, 10th, 100th, … answer, and how many ballot rows the poll's boxes hold at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlmodel import SQLModel, select  # noqa: E402

import storage.models  # noqa: E402, F401
from bot.clock import SystemClock  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services import keyusers as keyuser_service  # noqa: E402
from bot.services import polls as poll_service  # noqa: E402
from bot.services import projects as project_service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.views.polls import MESSAGES  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import BallotBox  # noqa: E402

TEAM = "T0BENCH1"
PM = "UPMBENCH1"


def database_for(url: str | None, folder: str, *, migrate: bool = False) -> Database:
    """A fresh store: a SQLite file in ``folder``, or the PostgreSQL database at ``url`` with its
    public schema dropped (a throwaway one!); its tables made, or ``migrate``d with Alembic."""
    if not url:
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        database = Database(url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    if migrate:
        upgrade(database.engine)
    else:
        SQLModel.metadata.create_all(database.engine)
    return database


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1000)
    parser.add_argument(
        "--database-url", help="a throwaway PostgreSQL database (its schema is dropped)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        database = database_for(args.database_url, folder)
        runtime = Runtime(settings=Settings(), database=database, clock=SystemClock())
        people = [f"UANS{index:06d}" for index in range(args.answers)]
        with runtime.unit(TEAM, PM) as ctx:
            project = project_service.create_project(
                ctx=ctx, data=project_service.ProjectInput(name="Bench", code="BENCH", pm_ids=[PM])
            )
            for user_id in people:
                keyuser_service.add_key_user(
                    ctx=ctx,
                    project=project,
                    data=keyuser_service.KeyUserInput(user_id=user_id, display_name=user_id),
                )
            poll, _keys = poll_service.create_poll(
                ctx=ctx,
                project=project,
                data=poll_service.PollInput(
                    title="Pulse",
                    anonymous=True,
                    questions=[
                        poll_service.QuestionInput("rating", "How is it going?"),
                        poll_service.QuestionInput("text", "Anything else?", required=False),
                    ],
                ),
                messages=MESSAGES,
            )
            rating, comment = poll_service.questions_of(ctx, poll)
        timings: list[float] = []
        for index, user_id in enumerate(people):
            raw = {f"q{rating.id}": index % 5 + 1, f"q{comment.id}": f"comment number {index}"}
            started = time.perf_counter()
            with runtime.unit(TEAM, user_id) as ctx:
                poll_service.submit_answers(ctx=ctx, poll_id=poll.id or 0, user_id=user_id, raw=raw)
            timings.append(time.perf_counter() - started)
        with database.session() as session:
            boxes = list(session.exec(select(BallotBox)).all())
        store = "PostgreSQL" if database.is_postgresql else "SQLite"
        print(f"\nanonymous answers on {store}, box size {poll_service.BOX_SIZE}")
        print(f"{'answer':>8}  {'median ms (±5 answers)':>24}")
        marks = [1, 10, 100, 500, 1000, 2000, 5000]
        for mark in [m for m in marks if m <= args.answers]:
            window = timings[max(0, mark - 6) : mark + 5]
            print(f"{mark:>8}  {1000 * statistics.median(window):>24.2f}")
        print(
            f"ballots stored: {sum(len(b.ballots) for b in boxes)} in {len(boxes)} boxes "
            f"(smallest {min(len(b.ballots) for b in boxes)})"
        )
        database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
