"""Time and SQL statements of the go-live gate on a large project.

    python bench/golive.py                      # SQLite file in a temporary folder
    TEST_DATABASE_URL=postgresql://user@host:5432/db python bench/golive.py   # also PostgreSQL

Seeds the project of ``bench/end_users.py`` (20 modules of 8 planned hours, a key user per
module, end users present at three sessions in four), moved to final preparation, with a key
user's module on every register row, an open P1 or P2 issue in every other module, an open high
risk and a change request under review in every fifth and open items on the final-preparation
checklist; first with 200 end users, then with 2,000. For each size it computes the whole gate
(``bot.services.golive.compute``, after one warm-up run) and prints the best and the median time
of seven runs and the statements each run sent (BEGIN and COMMIT are not counted). Targets: at
most 150 ms, and the statement count does not grow with the data. The PostgreSQL database's
``public`` schema is dropped and recreated: give it a throwaway database.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text, update  # noqa: E402

import storage.models  # noqa: E402, F401
from bench.end_users import NOW, PM, RUNS, TEAM, StatementCounter, database_for, measure, seed  # noqa: E402  # noqa: E402
from bench.machine import loop_ms, speed_line  # noqa: E402
from bot.clock import MovableClock  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services import golive  # noqa: E402
from bot.services import issues as issue_service  # noqa: E402
from bot.services import projects as project_service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.models import ChangeRequest, ChecklistItem, KeyUser, Project, Risk  # noqa: E402

TARGET_MS = 150


def seed_gate(runtime: Runtime) -> None:
    """What the gate reads beyond the end users: key users' modules, issues, risks, change
    requests, the checklist and the phase."""
    now = runtime.clock.now()
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "BENCH")
        project_id = project.id or 0
        ctx.session.exec(  # type: ignore[call-overload]
            update(Project).where(Project.id == project_id).values(phase=golive.FINAL_PHASE)
        )
        for key_user in ctx.session.exec(ctx.select(KeyUser)).all():
            key_user.module = f"Module {int(key_user.user_id[2:]) + 1:02d}"
            ctx.session.add(key_user)
        for index in range(0, 20, 2):
            issue_service.create_issue(
                ctx=ctx,
                project=project,
                data=issue_service.IssueInput(
                    title=f"Issue {index}",
                    module=f"Module {index + 1:02d}",
                    priority="P1" if index % 4 == 0 else "P2",
                ),
            )
        for index in range(0, 20, 5):
            module = f"Module {index + 1:02d}"
            ctx.session.add(
                Risk(
                    team_id=TEAM,
                    project_id=project_id,
                    number=index + 1,
                    title=f"Risk {index}",
                    category="data",
                    module=module,
                    probability=4,
                    impact=5,
                    level=20,
                    strategy="reduce",
                    created_by=PM,
                    created_at=now,
                    updated_at=now,
                )
            )
            ctx.session.add(
                ChangeRequest(
                    team_id=TEAM,
                    project_id=project_id,
                    number=index + 1,
                    title=f"Change {index}",
                    reason="bench",
                    modules=[module],
                    status="under_review",
                    requested_by=PM,
                    created_by=PM,
                    created_at=now,
                    updated_at=now,
                )
            )
        for number in range(1, 11):
            ctx.session.add(
                ChecklistItem(
                    team_id=TEAM,
                    project_id=project_id,
                    phase=golive.FINAL_PHASE,
                    number=number,
                    text=f"Cut-over step {number}",
                    status="done" if number % 2 else "open",
                    created_by=PM,
                    created_at=now,
                    updated_at=now,
                )
            )


def bench(url: str | None, folder: Path, people: int) -> tuple[str, float, float, int, str]:
    database = database_for(url, folder, f"bench-golive-{people}.db")
    runtime = Runtime(
        settings=Settings(timezone="Europe/Berlin"), database=database, clock=MovableClock(NOW)
    )
    started = time.perf_counter()
    seed(runtime, people)
    seed_gate(runtime)
    seeded = time.perf_counter() - started
    with database.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    counter = StatementCounter(database)
    found: list[golive.Gate] = []

    def gate() -> None:
        with runtime.unit(TEAM, PM) as ctx:
            project = project_service.get_project(ctx, "BENCH")
            counter.active = True
            found[:] = [golive.compute(ctx, project)]
            counter.active = False

    best, median, statements = measure(counter, gate)
    counts = found[0].counts()
    verdicts = f"{counts['go']}/{counts['at_risk']}/{counts['no_go']}"
    size = f"{people:,} end users, {len(found[0].modules)} modules (seeded in {seeded:.1f} s)"
    database.dispose()
    return size, best, median, statements, verdicts


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
    print(f"The go-live gate of a project, every module ({RUNS} runs after a warm-up)")
    print(
        f"{'store':<11} {'data':<48} {'best ms':>8} {'median ms':>10} {'statements':>11} "
        f"{'go/risk/no':>11}"
    )
    for store, size, best, median, statements, verdicts in rows:
        print(
            f"{store:<11} {size:<48} {best:>8.1f} {median:>10.1f} {statements:>11} {verdicts:>11}"
        )
    print(f"targets: best at most {TARGET_MS} ms, statements flat from 200 to 2,000 end users")
    print(speed_line(speed_before, speed_after))


if __name__ == "__main__":
    main()
