"""The issue jobs and the issue list stay set-based: their statements do not grow with the number
of issues, escalations reach each PM as one DM per run (worst first, within Block Kit's limits),
and reminders follow each project's own day."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlmodel import select

from bot.clock import MovableClock
from bot.jobs import issues as jobs
from bot.runtime import Runtime
from bot.services import issue_followup, issues
from bot.services.context import Ctx
from bot.services.issues import IssueInput, ListQuery, Verb
from storage.db import Database, StatementCounter
from storage.models import Interaction, Issue, IssueHistory, OutboxMessage, Project
from tests.conftest import PM, TEAM
from tests.test_services_issues import ANNA, BEN, TOM, as_user, make_project


def log(ctx: Ctx, project: Project, user: str = ANNA, **values: str) -> Issue:
    data = IssueInput(**{"title": "Something broke", **values})
    return issues.create_issue(ctx=as_user(ctx, user), project=project, data=data).issue


def seed(runtime: Runtime, count: int, *, timezone: str = "Europe/Berlin") -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx, timezone=timezone)
        for number in range(count):
            priority = ("P1", "P2", "P3", "P4")[number % 4]
            log(
                ctx,
                project,
                ANNA if number % 2 else BEN,
                priority=priority,
                title=f"Issue {number}",
            )


def dms(database: Database, user: str, prefix: str) -> list[OutboxMessage]:
    with database.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.key.startswith(prefix))).all()
    return [row for row in rows if row.payload["channel"] == user]


def statements(runtime: Runtime, job) -> int:  # type: ignore[no-untyped-def]
    with StatementCounter(runtime.database.engine) as counted:
        job(runtime)
    return counted.count


def test_escalation_statements_do_not_grow_with_breaches(
    runtime: Runtime, clock: MovableClock
) -> None:
    seed(runtime, 8)
    clock.advance(days=40)
    few = statements(runtime, jobs.escalate_breaches)
    seed_more = 60
    with runtime.unit(TEAM, PM) as ctx:
        project = issues.project_service.get_project(ctx, "ERP")
        for number in range(seed_more):
            log(ctx, project, priority="P2", title=f"Later {number}")
    clock.advance(days=40)
    many = statements(runtime, jobs.escalate_breaches)
    assert many <= few  # not growing with the number of breaches
    assert statements(runtime, jobs.escalate_breaches) <= 10  # nothing new: a few reads


def test_auto_close_with_nothing_to_close_is_a_few_statements(
    runtime: Runtime, clock: MovableClock
) -> None:
    seed(runtime, 12)
    with runtime.unit(TEAM, PM) as ctx:
        for issue in ctx.session.exec(select(Issue)).all():
            project = issues.project_service.get_project_by_id(ctx, issue.project_id)
            issues.apply(ctx=ctx, issue=issue, project=project, verb=Verb.RESOLVE, text="Done")
    clock.advance(days=1)
    assert statements(runtime, jobs.auto_close_resolved) <= 5
    clock.advance(days=7)
    assert jobs.auto_close_resolved(runtime) == {"closed": 12}
    assert jobs.auto_close_resolved(runtime) == {"closed": 0}


def test_one_escalation_dm_per_pm_lists_the_worst_first_within_block_kit_limits(
    runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    seed(runtime, 48)
    clock.advance(hours=3)  # past the first-response level of the P1s (2 h) only
    jobs.escalate_breaches(runtime)
    [first] = dms(database, PM, "escalations:")
    assert "12 service-level breaches" in first.payload["text"]
    clock.advance(days=40)  # now everything is past its due date, and P2–P4 past first response
    assert jobs.escalate_breaches(runtime) == {"escalated": 84}  # 36 unowned + 48 resolution
    assert jobs.escalate_breaches(runtime) == {"escalated": 0}
    second = [row for row in dms(database, PM, "escalations:") if row.id != first.id]
    assert len(second) == 1
    payload = second[0].payload
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    assert "84 service-level breaches" in payload["text"]
    assert "36 without an owner · 0 without a first response · 48 past the due date" in str(blocks)
    shown = [b["text"]["text"] for b in blocks if b["type"] == "section"][1:]
    assert "(P1)" in shown[0] and all(len(text) <= 3000 for text in shown)
    assert "…and 44 more." in str(blocks)
    with database.session() as session:
        history = session.exec(select(IssueHistory).where(IssueHistory.action == "escalated"))
        assert len(history.all()) == 96
        threads = session.exec(
            select(OutboxMessage).where(OutboxMessage.key.endswith(":thread"))
        ).all()
    assert threads == []  # 84 at once for one project: the PMs' DM tells, not 84 thread replies
    with database.session() as session:
        notes = session.exec(select(Interaction).where(Interaction.kind == "issue.escalated"))
        notes = notes.all()
    assert len(notes) == 96
    assert all(note.touchpoint and note.key_user_id for note in notes)  # reporters are key users
    assert {note.detail["breach"] for note in notes} == {"unowned", "resolution"}
    assert "ERP-1" in {note.detail["issue"] for note in notes}


def test_reminders_start_at_nine_in_the_projects_timezone(
    runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    runtime.settings = replace(runtime.settings, timezone="UTC")  # the default, not the project's
    clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx, timezone="Asia/Shanghai")
        issue = log(ctx, project, priority="P1")
        issues.apply(ctx=ctx, issue=issue, project=project, verb=Verb.ASSIGN, owner_id=TOM)
    clock.set(datetime(2026, 12, 3, 0, 30, tzinfo=UTC))  # 08:30 on 3 December in Shanghai
    assert jobs.remind_overdue_owners(runtime) == {"reminded": 0}
    clock.advance(minutes=30)  # 09:00 in Shanghai, still 01:00 in UTC
    assert jobs.remind_overdue_owners(runtime) == {"reminded": 1}
    [reminder] = dms(database, TOM, "reminder:")
    assert reminder.key.endswith(":2026-12-03")
    clock.advance(hours=14, minutes=59)  # 23:59 in Shanghai: same local day, nothing new
    assert jobs.remind_overdue_owners(runtime) == {"reminded": 0}
    clock.advance(minutes=1)  # midnight in Shanghai, before nine: nothing yet
    assert jobs.remind_overdue_owners(runtime) == {"reminded": 0}


def test_remind_me_tomorrow_is_tomorrow_in_the_projects_timezone(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx, timezone="Asia/Shanghai")
    issue = log(ctx, project, priority="P1")
    issues.apply(ctx=ctx, issue=issue, project=project, verb=Verb.ASSIGN, owner_id=TOM)
    clock.set(datetime(2026, 12, 4, 17, 0, tzinfo=UTC))  # already 5 December in Shanghai
    [snoozed] = issue_followup.snooze(ctx=as_user(ctx, TOM), issue_ids=[issue.id], until=None)
    assert str(snoozed.snoozed_until) == "2026-12-06"


def test_issue_list_is_paged_in_sql_most_urgent_first(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    for number in range(40):
        log(ctx, project, priority=("P4", "P3", "P2", "P1")[number % 4], title=f"Issue {number}")
        clock.advance(minutes=1)
    whole = [issue.number for issue, _ in issues.list_issues(ctx, ListQuery(), page_size=100).items]
    with StatementCounter(ctx.session.get_bind()) as counted:  # type: ignore[arg-type]
        second = issues.list_issues(ctx, ListQuery(), page=2, page_size=15)
    assert counted.count <= 4
    assert (second.total, second.page, second.pages) == (40, 2, 3)
    assert [issue.number for issue, _ in second.items] == whole[15:30]
    assert issues.list_issues(ctx, ListQuery(), page=9, page_size=15).page == 3
    mine = issues.list_issues(as_user(ctx, ANNA), ListQuery(scope="mine"), page_size=100)
    assert mine.total == 40  # ANNA reported all of them; she sees them, and only hers
    assert issues.list_issues(as_user(ctx, "UNOBODY01"), ListQuery()).total == 0


def test_a_backlog_escalated_at_once_is_not_replied_into_every_thread(
    runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    def give_messages() -> None:
        with database.session() as session:
            for issue in session.exec(select(Issue)).all():
                issue.channel_id, issue.message_ts = "CERP00001", f"1700000000.{issue.id:06d}"
                session.add(issue)

    def thread_notes() -> int:
        with database.session() as session:
            rows = session.exec(select(OutboxMessage).where(OutboxMessage.key.endswith(":thread")))
            return len(rows.all())

    seed(runtime, 4)  # one P1: a single breach past its first-response level
    give_messages()
    clock.advance(hours=3)
    assert jobs.escalate_breaches(runtime) == {"escalated": 1}
    assert thread_notes() == 1  # a few: each issue's thread says it was escalated
    with runtime.unit(TEAM, PM) as ctx:
        project = issues.project_service.get_project(ctx, "ERP")
        for number in range(jobs.THREAD_NOTES + 5):
            log(ctx, project, priority="P1", title=f"Backlog {number}")
    give_messages()
    clock.advance(hours=3)
    assert jobs.escalate_breaches(runtime) == {"escalated": jobs.THREAD_NOTES + 5}
    assert thread_notes() == 1  # a backlog: the PMs' one DM tells, the threads stay quiet
    assert len(dms(database, PM, "escalations:")) == 2


def test_escalations_are_committed_batch_by_batch(
    runtime: Runtime, clock: MovableClock, database: Database, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import event

    seed(runtime, 30)
    clock.advance(days=40)  # each issue: no owner past first response, and past its due date
    monkeypatch.setattr(jobs, "write_batch_size", lambda _database: 7)
    commits: list[int] = []
    listener = lambda _connection: commits.append(1)  # noqa: E731
    event.listen(database.engine, "commit", listener)
    try:
        assert jobs.escalate_breaches(runtime) == {"escalated": 60}
    finally:
        event.remove(database.engine, "commit", listener)
    assert len(commits) >= 9  # 60 breaches in batches of 7, each committed on its own
    with database.session() as session:
        history = session.exec(select(IssueHistory).where(IssueHistory.action == "escalated"))
        assert len(history.all()) == 60
    [dm] = dms(database, PM, "escalations:")  # still one DM per PM for the whole run
    assert "60 service-level breaches" in dm.payload["text"]
    assert jobs.escalate_breaches(runtime) == {"escalated": 0}
