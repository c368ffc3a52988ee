# ruff: noqa: F811 - the risk fixtures are imported from tests.test_flows_risks
"""The risk review reminder at moved clock times: one grouped DM a day per owner from 09:00 in the
project's timezone, nothing new when a run is repeated, and the PMs' DM about a risk that becomes
high sent once."""

from __future__ import annotations

from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.jobs import run_due
from bot.runtime import Runtime
from storage.db import Database
from storage.models import OutboxMessage
from tests.conftest import PM, PM2, PROJECT_CHANNEL
from tests.flows import texts
from tests.test_flows_risks import TOM, erp, raise_risk  # noqa: F401 - fixtures

REMINDER = "due for review"


def outbox_keys(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(row.key for row in session.exec(select(OutboxMessage)).all())


def dms_with(slack: SlackDriver, user: str, needle: str) -> list[dict]:
    return [m for m in slack.emulator.dm_messages(user) if needle in str(m.get("text"))]


def two_reviews_for_tom(slack: SlackDriver) -> None:
    raise_risk(slack, title="Open items migrate late", owner_id=TOM, review_on="2026-12-03")
    raise_risk(
        slack, title="Cut-over too short", owner_id=TOM, review_on="2026-12-04", probability="5"
    )
    raise_risk(slack, title="Not due yet", owner_id=TOM, review_on="2026-12-24")
    raise_risk(slack, title="Pia's", review_on="2026-12-01")


def test_owners_get_one_grouped_dm_a_day(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    two_reviews_for_tom(erp)
    run_due(runtime)  # Tuesday 09:00 Berlin: only Pia's is due
    assert dms_with(erp, TOM, REMINDER) == []
    assert len(dms_with(erp, PM, REMINDER)) == 1
    clock.advance(days=3)  # Friday 09:00 Berlin: both of Tom's
    run_due(runtime)
    [reminder] = dms_with(erp, TOM, REMINDER)
    text = texts([reminder])
    assert "2 risks of yours are due for review" in text
    assert "Open items migrate late" in text and "Cut-over too short" in text
    assert "Not due yet" not in text
    assert text.index("Open items") < text.index("Cut-over")  # the oldest review first
    keys = outbox_keys(database)
    run_due(runtime)
    clock.advance(hours=5)
    run_due(runtime)  # the same day, after a "restart"
    assert outbox_keys(database) == keys
    assert len(dms_with(erp, TOM, REMINDER)) == 1
    clock.advance(hours=19)  # Saturday 09:00: a fresh list
    run_due(runtime)
    assert len(dms_with(erp, TOM, REMINDER)) == 2


def test_no_reminder_before_nine_and_none_once_reviewed(
    erp: SlackDriver, runtime: Runtime, clock: MovableClock, database: Database
) -> None:
    raise_risk(erp, title="Open items migrate late", owner_id=TOM, review_on="2026-12-03")
    clock.advance(days=1, hours=22)  # Thursday 07:00 Berlin
    run_due(runtime)
    assert dms_with(erp, TOM, REMINDER) == []
    # Tom reviews it before nine and sets the next review: nothing is due any more.
    erp.slash_command(TOM, "/risk", "assess 1", channel_id=PROJECT_CHANNEL)
    erp.submit_view(TOM, {"probability": "2", "impact": "2", "review_on": "2026-12-17"})
    clock.advance(hours=2)
    run_due(runtime)
    assert dms_with(erp, TOM, REMINDER) == []
    assert not [key for key in outbox_keys(database) if key.startswith("risk-review:")]


def test_a_risk_that_becomes_high_again_is_told_again(
    erp: SlackDriver, runtime: Runtime, database: Database
) -> None:
    raise_risk(erp, probability="5", impact="5")
    run_due(runtime)
    run_due(runtime)
    high = [key for key in outbox_keys(database) if key.startswith("risk-high:")]
    assert len(high) == 2  # one per PM, whatever the runs
    for steps in (("1", "1"), ("4", "4")):
        erp.slash_command(PM, "/risk", "assess 1", channel_id=PROJECT_CHANNEL)
        erp.submit_view(PM, {"probability": steps[0], "impact": steps[1]})
    run_due(runtime)
    assert len([k for k in outbox_keys(database) if k.startswith("risk-high:")]) == 4
    assert len(dms_with(erp, PM2, "is now *high*")) == 2
