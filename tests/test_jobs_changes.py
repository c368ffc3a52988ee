# ruff: noqa: F811 - the change fixtures are imported from tests.test_flows_changes
"""The decision makers' reminder at moved clock times: after two working days without a decision,
one grouped DM per decider and local day from 09:00, nothing new when a run is repeated, nothing
for a decision given, and the reminder's Open brings the asking DM back."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.ids import ApprovalId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import approvals
from storage.db import Database
from storage.models import Approval, ApprovalAnswer, ApprovalDecider, OutboxMessage
from tests.flows import texts
from tests.test_flows_changes import (  # noqa: F401 - fixtures
    ASKED,
    DORA,
    SAM,
    answer,
    erp,
    new_change,
    rows,
)


def reminders(slack: SlackDriver, user: str) -> list[dict]:
    return [m for m in slack.emulator.dm_messages(user) if " for you · " in str(m.get("text"))]


def outbox_keys(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(row.key for row in session.exec(select(OutboxMessage)).all())


def undecided_count(database: Database, user: str) -> int:
    """Recomputed from the tables: pending approvals asked of ``user`` without their decision."""
    pending = {a.id for a in rows(database, Approval) if a.status == "pending"}
    decided = {
        (a.approval_id, a.user_id)
        for a in rows(database, ApprovalAnswer)
        if a.answer in ("approve", "reject")
    }
    return len(
        [
            d
            for d in rows(database, ApprovalDecider)
            if d.user_id == user
            and d.approval_id in pending
            and (d.approval_id, user) not in decided
        ]
    )


def test_deciders_are_reminded_after_two_working_days_once_a_day(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    # Tuesday 09:00 Berlin: two requests asked of Sam and Dora.
    new_change(erp)
    new_change(erp, title="Second change")
    run_due(runtime)
    clock.advance(days=1)  # Wednesday: one working day only
    run_due(runtime)
    assert reminders(erp, SAM) == [] and reminders(erp, DORA) == []
    clock.advance(days=1, minutes=-1)  # Thursday 08:59: not yet two working days
    run_due(runtime)
    assert reminders(erp, SAM) == []
    clock.advance(minutes=1)  # Thursday 09:00
    run_due(runtime)
    for person in (SAM, DORA):
        [reminder] = reminders(erp, person)
        count = undecided_count(database, person)
        assert count == 2
        said = texts([reminder])
        assert f"{count} decisions wait for you" in said
        assert "Two approval levels" in said and "Second change" in said
        assert "(2 days ago)" in said
    keys = outbox_keys(database)
    run_due(runtime)
    clock.advance(hours=5)
    run_due(runtime)  # the same day, after a "restart"
    assert outbox_keys(database) == keys and len(reminders(erp, SAM)) == 1
    # Sam decides the first; Friday brings a fresh list, Sam's shorter.
    answer(erp, SAM, ApprovalId.APPROVE)  # his latest DM: the second request
    clock.advance(hours=19)
    run_due(runtime)
    sam, dora = reminders(erp, SAM)[-1], reminders(erp, DORA)[-1]
    assert len(reminders(erp, SAM)) == 2
    assert undecided_count(database, SAM) == 1 and "1 decision waits for you" in texts([sam])
    assert undecided_count(database, DORA) == 2 and "2 decisions wait for you" in texts([dora])
    # The reminder's Open brings back the DM with the decision buttons.
    before = len([m for m in erp.emulator.dm_messages(SAM) if ASKED in str(m.get("text"))])
    erp.block_action(SAM, ApprovalId.OPEN, message=sam, channel_id=sam.get("channel"))
    after = [m for m in erp.emulator.dm_messages(SAM) if ASKED in str(m.get("text"))]
    assert len(after) == before + 1


def test_no_reminder_once_decided_or_at_the_weekend_count(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    clock.advance(days=3)  # Friday 09:00 Berlin
    new_change(erp)
    answer(erp, SAM, ApprovalId.APPROVE)
    clock.advance(days=3)  # Monday: Friday + one working day
    run_due(runtime)
    assert reminders(erp, DORA) == []
    clock.advance(days=1)  # Tuesday 09:00: two working days
    run_due(runtime)
    assert len(reminders(erp, DORA)) == 1 and reminders(erp, SAM) == []
    assert not [k for k in outbox_keys(database) if k.startswith("approval-reminder:") and SAM in k]


def test_working_days_skip_the_weekend() -> None:
    def at(text: str) -> datetime:
        return datetime.fromisoformat(text)

    berlin = "Europe/Berlin"
    cases = [
        ("2026-12-03T10:00+01:00", "2026-12-07T10:00+01:00"),  # Thursday → Monday
        ("2026-12-04T17:00+01:00", "2026-12-08T17:00+01:00"),  # Friday → Tuesday
        ("2026-12-05T11:00+01:00", "2026-12-09T00:00+01:00"),  # Saturday → Tuesday's end
        ("2026-12-01T09:00+01:00", "2026-12-03T09:00+01:00"),  # Tuesday → Thursday
    ]
    for asked, due in cases:
        assert approvals.working_days_after(at(asked), 2, berlin) == at(due), asked
