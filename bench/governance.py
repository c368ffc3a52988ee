"""Time and SQL statements of a project's governance reads on a large project.

    python bench/governance.py                 # SQLite file in a temporary folder
    TEST_DATABASE_URL=postgresql://user@host:5432/db python bench/governance.py   # and PostgreSQL

Seeds one project with 500 risks (each with two assessments, two history entries and a response
action), 200 change requests (each sent for review has its approval, its deciders and the answers
given; some still wait for a decider) and 2,000 decisions spread over 40 weeks (some about a
change request or a risk, some superseding the one before), with bulk inserts, not the services,
so seeding takes seconds; then the same ten times larger. For each size it measures the first
page of `/risk list`, `/change list` and `/project decisions` (read and rendered), the PM's Home
tab and the weekly digest's build (after one warm-up run), and prints the best and the median time
of seven runs and the statements each run sent (queries; BEGIN and COMMIT are not counted, nor
reading the project, which the command and the job already hold). Targets: at most 100 ms each,
and statement counts that do not grow with the data. SQLite always; PostgreSQL too when
``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL`` is set, whose ``public`` schema is dropped and
recreated: give it a throwaway database.

Seeding is a list of functions, one per kind of record (``SEEDERS``): each takes the session,
what was seeded before (the project, when its records start) and the size, and inserts its rows
in bulk. Another kind (issues, key users, polls) is one more function in the list.
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
from bot.services import changes as change_service  # noqa: E402
from bot.services import decisions as decision_service  # noqa: E402
from bot.services import digest as digest_service  # noqa: E402
from bot.services import projects as project_service  # noqa: E402
from bot.services import risks as risk_service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.views import changes as change_views  # noqa: E402
from bot.views import decisions as decision_views  # noqa: E402
from bot.views import risks as risk_views  # noqa: E402
from handlers.home import build_home  # noqa: E402
from storage.models import (  # noqa: E402
    Approval,
    ApprovalAnswer,
    ApprovalDecider,
    ChangeHistory,
    ChangeRequest,
    Decision,
    Risk,
    RiskAction,
    RiskAssessment,
    RiskHistory,
)
from storage.models.approvals import ApprovalStatus  # noqa: E402
from storage.models.changes import ChangeStatus  # noqa: E402
from storage.models.decisions import DecisionSource  # noqa: E402


@dataclass(frozen=True)
class Size:
    """How many records of each kind one project holds."""

    risks: int
    changes: int
    decisions: int

    def times(self, factor: int) -> Size:
        return Size(self.risks * factor, self.changes * factor, self.decisions * factor)

    def label(self) -> str:
        return f"{self.risks:,} risks, {self.changes:,} changes, {self.decisions:,} decisions"


BASE = Size(risks=500, changes=200, decisions=2_000)
SIZES = (BASE, BASE.times(10))
OWNERS = [PM, "UTEAMBEN1", "UTEAMBEN2", "UTEAMBEN3"]
SPONSORS = ["USPONBEN1", "USPONBEN2"]  # deciders who are not on the team
STRATEGIES = risk_service.STRATEGIES
DECISION_WEEKS = 40


@dataclass(frozen=True)
class Seeded:
    """What the seeders share: the project and when its records start."""

    project_id: int
    started: Any


Seeder = Callable[[Session, Seeded, Size], None]


def seed_risks(session: Session, seeded: Seeded, size: Size) -> None:
    """``size.risks`` risks over the whole grid, one in five closed, one in three shown in the
    channel."""
    rows = []
    for number in range(1, size.risks + 1):
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
        {"next": size.risks + 1, "project": seeded.project_id},
    )


def _risk_ids(session: Session, seeded: Seeded) -> list[tuple[int, int, int]]:
    return list(
        session.execute(  # type: ignore[call-overload]
            select(Risk.id, Risk.probability, Risk.impact)
            .where(Risk.project_id == seeded.project_id)
            .order_by(Risk.id)
        ).all()
    )


def seed_assessments(session: Session, seeded: Seeded, size: Size) -> None:
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


def seed_history(session: Session, seeded: Seeded, size: Size) -> None:
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


def seed_actions(session: Session, seeded: Seeded, size: Size) -> None:
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


CHANGE_STATUSES = (
    ChangeStatus.PROPOSED,
    ChangeStatus.UNDER_REVIEW,
    ChangeStatus.UNDER_REVIEW,
    ChangeStatus.APPROVED,
    ChangeStatus.REJECTED,
    ChangeStatus.IMPLEMENTED,
    ChangeStatus.VERIFIED,
)
APPROVAL_OF = {
    ChangeStatus.UNDER_REVIEW: ApprovalStatus.PENDING,
    ChangeStatus.APPROVED: ApprovalStatus.APPROVED,
    ChangeStatus.REJECTED: ApprovalStatus.REJECTED,
    ChangeStatus.IMPLEMENTED: ApprovalStatus.APPROVED,
    ChangeStatus.VERIFIED: ApprovalStatus.APPROVED,
}


def deciders_of(number: int) -> list[str]:
    """The PM and a sponsor, or both sponsors and a team member."""
    if number % 2:
        return [*SPONSORS, OWNERS[1]]
    return [PM, SPONSORS[number % 4 // 2]]


def seed_changes(session: Session, seeded: Seeded, size: Size) -> None:
    """``size.changes`` requests in every status, two in seven under review; one history entry
    each."""
    rows = []
    for number in range(1, size.changes + 1):
        created = seeded.started + timedelta(hours=number % 3000)
        rows.append(
            {
                "team_id": TEAM,
                "project_id": seeded.project_id,
                "number": number,
                "title": f"Change {number}: a new approval step in purchasing",
                "reason": "The auditors asked for it",
                "modules": [("FI", "MM", "SD")[number % 3]] + (["PP"] if number % 4 == 0 else []),
                "impact_schedule": "one week" if number % 3 == 0 else None,
                "requested_by": OWNERS[number % len(OWNERS)],
                "deciders": deciders_of(number),
                "status": CHANGE_STATUSES[number % len(CHANGE_STATUSES)],
                "created_by": PM,
                "created_at": created,
                "updated_at": created + timedelta(days=2),
                "version": 1,
            }
        )
    session.execute(insert(ChangeRequest), rows)
    session.execute(
        text("UPDATE changesettings SET next_number = :next WHERE project_id = :project"),
        {"next": size.changes + 1, "project": seeded.project_id},
    )
    changes = session.execute(
        select(ChangeRequest.id, ChangeRequest.title, ChangeRequest.created_at).where(
            ChangeRequest.project_id == seeded.project_id
        )
    ).all()
    session.execute(
        insert(ChangeHistory),
        [
            {
                "team_id": TEAM,
                "change_id": change_id,
                "actor_id": PM,
                "action": "proposed",
                "detail": {"title": title},
                "at": created,
            }
            for change_id, title, created in changes
        ],
    )


def seed_approvals(session: Session, seeded: Seeded, size: Size) -> None:
    """An approval of each request sent for review (pending while under review), its deciders,
    and their answers: all of them on a decided request, the first decider on one in three
    pending ones (a question from another on one in five), so most pending requests wait."""
    changes = session.execute(
        select(
            ChangeRequest.id, ChangeRequest.number, ChangeRequest.status, ChangeRequest.created_at
        ).where(ChangeRequest.project_id == seeded.project_id)
    ).all()
    session.execute(
        insert(Approval),
        [
            {
                "team_id": TEAM,
                "project_id": seeded.project_id,
                "subject_kind": change_service.KIND,
                "subject_id": change_id,
                "version": 1,
                "rule": "all",
                "status": APPROVAL_OF[status],
                "asked_by": PM,
                "asked_at": created + timedelta(days=1),
                "decided_at": None
                if status == ChangeStatus.UNDER_REVIEW
                else created + timedelta(days=2),
            }
            for change_id, _number, status, created in changes
            if status != ChangeStatus.PROPOSED
        ],
    )
    numbers = {change_id: number for change_id, number, _status, _created in changes}
    approvals = session.execute(
        select(Approval.id, Approval.subject_id, Approval.status, Approval.asked_at).where(
            Approval.project_id == seeded.project_id
        )
    ).all()
    deciders, answers = [], []
    for approval_id, change_id, status, asked in approvals:
        number = numbers[change_id]
        people = deciders_of(number)
        deciders += [
            {"team_id": TEAM, "approval_id": approval_id, "user_id": person} for person in people
        ]
        if status == ApprovalStatus.PENDING:
            given = [(people[0], "approve")] if number % 3 == 0 else []
            if number % 5 == 0:
                given.append((people[-1], "question"))
        else:
            verdict = "reject" if status == ApprovalStatus.REJECTED else "approve"
            given = [(person, verdict) for person in people]
        answers += [
            {
                "team_id": TEAM,
                "approval_id": approval_id,
                "user_id": person,
                "answer": answer,
                "comment": "Which plants?" if answer == "question" else None,
                "version": 1,
                "at": asked + timedelta(hours=3 + step),
            }
            for step, (person, answer) in enumerate(given)
        ]
    session.execute(insert(ApprovalDecider), deciders)
    session.execute(insert(ApprovalAnswer), answers)


def seed_decisions(session: Session, seeded: Seeded, size: Size) -> None:
    """``size.decisions`` decisions spread evenly over the last ``DECISION_WEEKS`` weeks (so
    every digest week has some): one in ten about a change request, one in ten about a risk, one
    in 25 superseding the one before."""
    change_ids = list(
        session.execute(
            select(ChangeRequest.id)
            .where(ChangeRequest.project_id == seeded.project_id)
            .order_by(ChangeRequest.id)
        ).scalars()
    )
    risk_ids = [risk_id for risk_id, _p, _i in _risk_ids(session, seeded)]
    today, days = NOW.date(), DECISION_WEEKS * 7
    rows = []
    for number in range(1, size.decisions + 1):
        decided = today - timedelta(days=(size.decisions - number) * days // size.decisions)
        source = DecisionSource.CHANGE if number % 10 == 0 and change_ids else None
        rows.append(
            {
                "team_id": TEAM,
                "project_id": seeded.project_id,
                "number": number,
                "text": f"Decision {number}: the interface runs nightly",
                "decided_by": [PM] if number % 3 else list(SPONSORS),
                "decided_by_names": None,
                "decided_on": decided,
                "source": source or DecisionSource.MANUAL,
                "change_id": change_ids[number % len(change_ids)] if source else None,
                "risk_id": risk_ids[number % len(risk_ids)]
                if number % 10 == 5 and risk_ids
                else None,
                "recorded_by": PM,
                "recorded_at": NOW
                - timedelta(days=(size.decisions - number) * days // size.decisions),
            }
        )
    session.execute(insert(Decision), rows)
    session.execute(
        text(
            "UPDATE decision SET supersedes_id = (SELECT earlier.id FROM decision AS earlier"
            " WHERE earlier.project_id = decision.project_id"
            " AND earlier.number = decision.number - 1)"
            " WHERE project_id = :project AND number % 25 = 0"
        ),
        {"project": seeded.project_id},
    )
    session.execute(
        text("UPDATE decisionsettings SET next_number = :next WHERE project_id = :project"),
        {"next": size.decisions + 1, "project": seeded.project_id},
    )


SEEDERS: list[Seeder] = [
    seed_risks,
    seed_assessments,
    seed_history,
    seed_actions,
    seed_changes,
    seed_approvals,
    seed_decisions,
]


def seed(runtime: Runtime, size: Size) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(
                name="Bench", code="BENCH", pm_ids=[PM], timezone="Europe/Berlin"
            ),
        )
        project_service.set_team_members(ctx=ctx, project=project, user_ids=OWNERS[1:])
        for settings in (
            storage.models.RiskSettings,
            storage.models.ChangeSettings,
            storage.models.DecisionSettings,
        ):
            project_service.settings_row(ctx, settings, project)
        seeded = Seeded(project.id or 0, runtime.clock.now() - timedelta(days=200))
    with runtime.database.session() as session:
        for seeder in SEEDERS:
            seeder(session, seeded, size)
        session.commit()


Row = tuple[str, str, float, float, int]


def readers(runtime: Runtime, counter: StatementCounter) -> list[tuple[str, Callable[[], Any]]]:
    """The reads measured, each counting only its own statements (what they show is returned,
    for a test to check)."""

    def command(read: Callable[[Any, Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with runtime.unit(TEAM, PM) as ctx:
                project = project_service.get_project(ctx, "BENCH")  # the command has it already
                counter.active = True
                try:
                    return read(ctx, project)
                finally:
                    counter.active = False

        return run

    def risks(ctx: Any, project: Any) -> Any:
        found = risk_service.list_risks(ctx, project, "open", page_size=risk_views.LIST_PAGE_SIZE)
        return risk_views.list_message(project.locale, found, "/risk")

    def changes(ctx: Any, project: Any) -> Any:
        found = change_service.list_changes(
            ctx, project, "open", page_size=change_views.LIST_PAGE_SIZE
        )
        return change_views.list_message(project.locale, found, "/change")

    def decisions(ctx: Any, project: Any) -> Any:
        found = decision_service.list_decisions(ctx, project, page_size=decision_service.PAGE_SIZE)
        return decision_views.list_message(project.locale, found, "/project decisions")

    def digest(ctx: Any, project: Any) -> Any:
        return digest_service.build_digest(ctx, project, now=ctx.now())

    def home() -> Any:
        counter.active = True
        try:
            return build_home(runtime, TEAM, PM)
        finally:
            counter.active = False

    return [
        ("/risk list p.1", command(risks)),
        ("/change list p.1", command(changes)),
        ("/project decisions p.1", command(decisions)),
        ("PM's Home tab", home),
        ("digest build", command(digest)),
    ]


def bench(url: str | None, folder: Path, size: Size) -> list[Row]:
    database = database_for(url, folder, f"bench-governance-{size.risks}.db")
    runtime = Runtime(
        settings=Settings(timezone="Europe/Berlin"), database=database, clock=MovableClock(NOW)
    )
    started = time.perf_counter()
    seed(runtime, size)
    seeded = time.perf_counter() - started
    with database.engine.begin() as connection:  # as autovacuum / a DBA would after a bulk load
        connection.execute(text("ANALYZE"))
    counter = StatementCounter(database)
    data = f"{size.label()} ({seeded:.1f} s)"
    rows = [(what, data, *measure(counter, read)) for what, read in readers(runtime, counter)]
    database.dispose()
    return rows


def main() -> None:
    stores: list[tuple[str, str | None]] = [("SQLite", None)]
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if url:
        stores.append(("PostgreSQL", url))
    speed_before = loop_ms()
    with tempfile.TemporaryDirectory() as folder:
        rows = [
            (store, *row)
            for store, store_url in stores
            for size in SIZES
            for row in bench(store_url, Path(folder), size)
        ]
    speed_after = loop_ms()
    print(f"Governance reads ({RUNS} runs after a warm-up: best and median)")
    print(
        f"{'store':<11} {'what':<23} {'data':<58} {'best ms':>8} {'median ms':>10} "
        f"{'statements':>11}"
    )
    for store, what, data, best, median, statements in rows:
        print(f"{store:<11} {what:<23} {data:<58} {best:>8.1f} {median:>10.1f} {statements:>11}")
    print("targets: each <= 100 ms; statement counts flat from the first size to ten times it")
    print(speed_line(speed_before, speed_after))


if __name__ == "__main__":
    main()
