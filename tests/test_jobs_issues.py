# ruff: noqa: F811 - the issue fixtures are imported from tests.test_flows_issues
"""The scheduled issue jobs at moved clock times: grouped daily reminders, snoozes, escalations
once, auto-close, and nothing new when a run is repeated."""

from __future__ import annotations

from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.ids import IssueId
from bot.jobs import run_due
from bot.runtime import Runtime
from storage.db import Database
from storage.models import Issue, IssueHistory, OutboxMessage
from tests.conftest import PM, PROJECT_CHANNEL
from tests.flows import texts
from tests.test_flows_issues import (  # noqa: F401 - fixtures
    ANNA,
    BEN,
    TOM,
    erp,
    log_issue,
)

REMINDER = "You own"


def outbox_count(database: Database) -> int:
    with database.session() as session:
        return len(session.exec(select(OutboxMessage)).all())


def dms_with(slack: SlackDriver, user: str, needle: str) -> list[dict]:
    return [m for m in slack.emulator.dm_messages(user) if needle in texts([m])]


def two_overdue_issues_for_tom(slack: SlackDriver) -> None:
    log_issue(slack, title="Payment run stops", priority="P1")
    log_issue(slack, BEN, title="Stock values wrong", priority="P2")
    for ref in ("ERP-1", "ERP-2"):
        slack.slash_command(PM, "/issue", f"{ref} assign <@{TOM}|tom>")
        slack.slash_command(TOM, "/issue", f"{ref} ack")


def test_overdue_issues_are_reminded_once_a_day_in_one_dm(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    two_overdue_issues_for_tom(erp)
    run_due(runtime)
    assert dms_with(erp, TOM, REMINDER) == []  # nothing overdue yet
    clock.advance(days=4)  # Saturday 09:00 Berlin: both past due (P1 1 day, P2 3 days)
    run_due(runtime)
    [reminder] = dms_with(erp, TOM, REMINDER)
    text = texts([reminder])
    assert "You own 2 overdue issues" in text
    assert "ERP-1" in text and "ERP-2" in text
    assert "Remind me tomorrow" in text and "Snooze until" in text
    count = outbox_count(database)
    run_due(runtime)
    clock.advance(hours=5)
    run_due(runtime)  # same day, after a "restart"
    assert outbox_count(database) == count
    assert len(dms_with(erp, TOM, REMINDER)) == 1
    clock.advance(hours=19)
    run_due(runtime)
    assert len(dms_with(erp, TOM, REMINDER)) == 2
    assert erp.emulator.violations == []


def test_no_reminder_before_nine_in_the_morning(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    two_overdue_issues_for_tom(erp)
    clock.advance(days=3, hours=22)  # Saturday 07:00 Berlin
    run_due(runtime)
    assert dms_with(erp, TOM, REMINDER) == []
    clock.advance(hours=2)
    run_due(runtime)
    assert len(dms_with(erp, TOM, REMINDER)) == 1


def test_snooze_until_a_date_holds_reminders(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    two_overdue_issues_for_tom(erp)
    clock.advance(days=4)
    run_due(runtime)
    [reminder] = dms_with(erp, TOM, REMINDER)
    erp.block_action(TOM, IssueId.SNOOZE_UNTIL, "2026-12-08", message=reminder)
    assert "2 issues snoozed until 2026-12-08" in texts(erp.emulator.responses[-1:])
    for _ in range(2):  # Sunday and Monday: quiet
        clock.advance(days=1)
        run_due(runtime)
    assert len(dms_with(erp, TOM, REMINDER)) == 1
    clock.advance(days=1)  # Tuesday 8 December
    run_due(runtime)
    assert len(dms_with(erp, TOM, REMINDER)) == 2


def test_remind_me_tomorrow(erp: SlackDriver, runtime: Runtime, clock: MovableClock) -> None:
    two_overdue_issues_for_tom(erp)
    clock.advance(days=4)
    run_due(runtime)
    [reminder] = dms_with(erp, TOM, REMINDER)
    erp.click(TOM, IssueId.REMIND_TOMORROW, message=reminder)
    assert "snoozed until 2026-12-06" in texts(erp.emulator.responses[-1:])
    erp.block_action(TOM, IssueId.SNOOZE_UNTIL, "2026-12-01", message=reminder)
    assert "Pick a day after today" in texts(erp.emulator.responses[-1:])
    clock.advance(days=1)
    run_due(runtime)
    assert len(dms_with(erp, TOM, REMINDER)) == 2


def test_breaches_are_escalated_once_to_the_pms(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    log_issue(erp, title="Nobody owns me", priority="P1")
    log_issue(erp, BEN, title="Owned but silent", priority="P1")
    erp.slash_command(PM, "/issue", f"ERP-2 assign <@{TOM}|tom>")
    clock.advance(hours=1)
    run_due(runtime)
    assert dms_with(erp, PM, "escalated") == [] and dms_with(erp, PM, ":rotating_light:") == []
    clock.advance(hours=1, minutes=1)  # past the P1 first-response level of 2 hours
    run_due(runtime)
    [alert] = dms_with(erp, PM, ":rotating_light:")  # one DM for both breaches
    assert "2 service-level breaches in your projects" in texts([alert])
    assert "1 without an owner · 1 without a first response · 0 past the due date" in texts([alert])
    assert "*ERP-1* · “Nobody owns me” (P1) still has no owner" in texts([alert])
    assert "*ERP-2* · “Owned but silent” (P1) has had no first response" in texts([alert])
    count = outbox_count(database)
    run_due(runtime)
    run_due(runtime)
    assert outbox_count(database) == count
    clock.advance(days=2)  # past the resolution date too
    run_due(runtime)
    alerts = dms_with(erp, PM, ":rotating_light:")
    assert len(alerts) == 2
    assert "2 service-level breaches" in texts(alerts[1:])
    # one line each in the blocks, and the worst of them again in the notification's text
    assert texts(alerts[1:]).count("is past its due date") == 3
    assert str(alerts[1]["blocks"]).count("is past its due date") == 2
    assert "is past its due date" in alerts[1]["text"]
    with database.session() as session:
        escalations = session.exec(
            select(IssueHistory).where(IssueHistory.action == "escalated")
        ).all()
    assert sorted(e.detail["breach"] for e in escalations) == [
        "first_response",
        "resolution",
        "resolution",
        "unowned",
    ]
    issue = erp.emulator.messages(PROJECT_CHANNEL)
    assert "was escalated to the project managers" in texts(
        erp.emulator.thread(PROJECT_CHANNEL, issue[-2]["ts"])
    )


def test_acknowledged_in_time_is_not_escalated(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    log_issue(erp, priority="P1")
    erp.slash_command(PM, "/issue", f"ERP-1 assign <@{TOM}|tom>")
    erp.slash_command(TOM, "/issue", "ERP-1 ack")
    clock.advance(hours=3)
    run_due(runtime)
    assert dms_with(erp, PM, ":rotating_light:") == []


def test_unanswered_resolved_issue_closes_itself(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    log_issue(erp)
    log_issue(erp, BEN, title="Rated one")
    for ref in ("ERP-1", "ERP-2"):
        erp.slash_command(PM, "/issue", f"{ref} resolve Done")
    rate = dms_with(erp, BEN, "How well was it solved")[-1]
    erp.click(BEN, f"{IssueId.RATE}_5", message=rate)
    clock.advance(days=6, hours=23)
    run_due(runtime)
    with database.session() as session:
        assert session.get(Issue, 1).status == "resolved"
    clock.advance(hours=1)
    run_due(runtime)
    run_due(runtime)
    with database.session() as session:
        first, second = session.get(Issue, 1), session.get(Issue, 2)
        closes = session.exec(
            select(IssueHistory).where(IssueHistory.action == "auto_closed")
        ).all()
    assert first.status == "closed" and second.status == "resolved"
    assert len(closes) == 1
    assert "closed itself" in texts(erp.emulator.dm_messages(ANNA)[-1:])


def test_auto_close_delay_is_configurable(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    from bot.services import issue_levels
    from bot.services import projects as project_service
    from tests.conftest import TEAM

    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        issue_levels.set_service_levels(ctx=ctx, project=project, auto_close_days=2)
    log_issue(erp)
    erp.slash_command(PM, "/issue", "ERP-1 resolve Done")
    clock.advance(days=2, minutes=1)
    run_due(runtime)
    with database.session() as session:
        assert session.get(Issue, 1).status == "closed"


def test_reruns_at_the_same_instant_send_nothing_new(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    two_overdue_issues_for_tom(erp)
    log_issue(erp, title="Unowned", priority="P4")
    clock.advance(days=10)
    first = run_due(runtime)
    calls = len(erp.emulator.calls)
    second = run_due(runtime)
    assert first["issue_reminders"]["reminded"] == 1
    assert second["issue_reminders"]["reminded"] == 0
    assert second["issue_escalations"]["escalated"] == 0
    assert second["deliver_outbox"]["sent"] == 0
    assert len(erp.emulator.calls) == calls
