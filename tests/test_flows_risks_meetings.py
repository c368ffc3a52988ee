"""A risk raised from a meeting's outcome, through the emulator: the organizer's summary has a
"Risk: …" button per decision and action item, which opens the risk form in the meeting's project
with the text as its title; the risk's history names the meeting by its title and date. Only
people who may raise the project's risks; forged buttons and forms are refused; both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import MeetingId, RiskId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import projects as project_service
from storage.db import Database
from storage.models import MeetingActionItem, MeetingOutcome, Risk, RiskHistory
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL, TEAM
from tests.flows import add_key_user, create_project, texts
from tests.test_flows_meetings import BERLIN, events_in, latest_with, plan_series

ANNA = KEY_USERS[1]


@pytest.fixture
def met(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: Any) -> Any:
    """Project ERP, a weekly meeting that took place, its outcome recorded by the PM: two
    decisions and one action item. Returns the summary the PM received."""
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    create_project(slack)
    add_key_user(slack, KEY_USERS[0], role="decision_maker")
    add_key_user(slack, ANNA, role="business_representative", module="MM")
    plan_series(slack, count="1", repeat="none")
    return record_outcome(slack, runtime, clock, slack.emulator)


def record_outcome(slack: SlackDriver, runtime: Runtime, clock: Any, emulator: Any) -> Any:
    [event] = events_in(runtime.database)
    clock.set(event.ends_at + timedelta(minutes=5))
    run_due(runtime)
    prompt = latest_with(emulator.dm_messages(PM), MeetingId.OUTCOME)
    slack.click(PM, MeetingId.OUTCOME, message=prompt)
    slack.submit_view(
        PM,
        {
            "attended": [ANNA],
            "decisions": "Go-live moves to May\nNo second data load",
            "action_1_text": "Confirm the vendor's cut-over staff",
            "action_1_owner": PM,
        },
    )
    return latest_with(emulator.dm_messages(PM), f"{RiskId.FROM_MEETING}_0")


def risk_buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks") or []
        for element in block.get("elements") or []
        if str(element.get("action_id", "")).startswith(RiskId.FROM_MEETING)
    ]


def test_a_decision_becomes_a_risk_whose_history_names_the_meeting(
    met: Any, slack: SlackDriver, database: Database
) -> None:
    with database.session() as session:
        outcome = session.exec(select(MeetingOutcome)).one()
        item = session.exec(select(MeetingActionItem)).one()
    buttons = risk_buttons(met)
    # One per decision, then one per action item, labelled with their text.
    assert [b["value"] for b in buttons] == [
        f"d:{outcome.id}:0",
        f"d:{outcome.id}:1",
        f"a:{item.id}",
    ]
    assert buttons[0]["text"]["text"] == "Risk: Go-live moves to May"
    slack.click(PM, f"{RiskId.FROM_MEETING}_1", message=met)
    form = slack.emulator.top_view(PM)
    title = next(b for b in form["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "No second data load"
    assert "From the meeting *MM working meeting* of 2027-03-15." in texts([form])
    response = slack.submit_view(
        PM, {"title": "No second data load", "category": "data", "probability": "3", "impact": "5"}
    )
    assert not (response.json or {}).get("errors")
    with database.session() as session:
        [risk] = session.exec(select(Risk)).all()
        [entry] = session.exec(select(RiskHistory)).all()
    assert (risk.title, risk.project_id, risk.level) == (
        "No second data load",
        outcome.project_id,
        15,
    )
    assert entry.detail["meeting"] == "MM working meeting"
    assert entry.detail["meeting_on"] == "2027-03-15"
    # Named by title and date, never by an id.
    assert set(entry.detail) == {"title", "level", "meeting", "meeting_on"}
    slack.slash_command(PM, "/risk", "1", channel_id=PROJECT_CHANNEL)
    card = texts(slack.new_responses[-1:])
    assert "from the meeting *MM working meeting* of 2027-03-15" in card
    assert slack.emulator.violations == []


def test_an_action_item_becomes_a_risk_too(
    met: Any, slack: SlackDriver, database: Database
) -> None:
    slack.click(PM, f"{RiskId.FROM_MEETING}_2", message=met)
    form = slack.emulator.top_view(PM)
    title = next(b for b in form["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "Confirm the vendor's cut-over staff"
    slack.submit_view(PM, {"category": "schedule", "probability": "2", "impact": "2"})
    with database.session() as session:
        [risk] = session.exec(select(Risk)).all()
    assert risk.title == "Confirm the vendor's cut-over staff"


def test_only_people_who_may_raise_risks_and_forged_ids_are_refused(
    met: Any, slack: SlackDriver, database: Database, runtime: Runtime
) -> None:
    with database.session() as session:
        outcome = session.exec(select(MeetingOutcome)).one()
    button = f"{RiskId.FROM_MEETING}_0"
    # Someone outside the project, with the summary's own button.
    slack.block_action(OUTSIDER, button, f"d:{outcome.id}:0", message=met)
    assert slack.emulator.top_view(OUTSIDER) is None
    # Forged values: no such decision, no such item, a made-up kind.
    for value in (f"d:{outcome.id}:7", "a:99999", "x:1", f"d:{outcome.id}:-1", "d::"):
        slack.block_action(PM, button, value, message=met)
        assert slack.emulator.top_view(PM) is None, value
    # A meeting of another project in the form's metadata: refused inline, nothing stored.
    slack.click(PM, button, message=met)
    view = slack.emulator.top_view(PM)
    values = {"title": "X", "category": "data", "probability": "2", "impact": "2"}
    for meeting in ("99999", "abc"):
        forged = {
            **view,
            "private_metadata": view["private_metadata"].replace(
                f'"meeting": {outcome.event_id}', f'"meeting": "{meeting}"'
            ),
        }
        assert meeting in forged["private_metadata"]
        response = slack.submit_view(PM, values, view=forged)
        assert response.json["response_action"] == "errors", meeting
    with runtime.unit(TEAM, PM) as ctx:
        other = project_service.create_project(
            ctx=ctx, data=project_service.ProjectInput(name="CRM", code="CRM", pm_ids=[PM])
        )
    forged = {
        **view,
        "private_metadata": view["private_metadata"].replace(
            f'"project_id": {outcome.project_id}', f'"project_id": {other.id}'
        ),
    }
    response = slack.submit_view(PM, values, view=forged)
    assert "That meeting" in str(response.json["errors"])
    with database.session() as session:
        assert session.exec(select(Risk)).all() == []


def test_a_key_user_invited_may_raise_a_risk_from_it(
    met: Any, slack: SlackDriver, database: Database
) -> None:
    """Anna is a key user of the project and was invited: she may raise risks there (of her own
    module), so a button she is given works for her."""
    slack.block_action(ANNA, f"{RiskId.FROM_MEETING}_0", message=met)
    form = slack.emulator.top_view(ANNA)
    assert form is not None and "owner_id" not in {b.get("block_id") for b in form["blocks"]}
    slack.submit_view(ANNA, {"category": "business", "probability": "2", "impact": "3"})
    with database.session() as session:
        [risk] = session.exec(select(Risk)).all()
    assert (risk.created_by, risk.module, risk.title) == (ANNA, "MM", "Go-live moves to May")


def test_in_chinese(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: Any, database: Database
) -> None:
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    create_project(slack)
    add_key_user(slack, KEY_USERS[0], role="decision_maker")
    add_key_user(slack, ANNA, role="business_representative")
    with runtime.unit(TEAM, PM) as ctx:
        project_service.get_project(ctx, "ERP").locale = "zh-CN"
    plan_series(slack, count="1", repeat="none")
    summary = record_outcome(slack, runtime, clock, emulator)
    buttons = risk_buttons(summary)
    assert buttons[0]["text"]["text"] == "风险：Go-live moves to May"
    assert "根据决定或待办事项登记项目风险" in texts([summary])
    slack.click(PM, f"{RiskId.FROM_MEETING}_0", message=summary)
    assert "来自 2027-03-15 的会议“MM working meeting”" in texts([emulator.top_view(PM)])
    slack.submit_view(PM, {"category": "data", "probability": "2", "impact": "2"})
    slack.slash_command(PM, "/risk", "1", channel_id=PROJECT_CHANNEL)
    assert "来自 2027-03-15 的会议“MM working meeting”" in texts(slack.new_responses[-1:])
    assert BERLIN  # the meeting's local date is the project's
