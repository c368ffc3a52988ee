"""The communication plan and engagement through the emulator: `/project plan`, the ready-made
plan, entries falling due to their owner (done, snooze, a drafted report), `/keyuser touch`, the
weekly nudge and the Home tab's last contacts, with the clock moved over weeks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import EngagementId, PlanId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import commplan
from bot.services import projects as project_service
from storage.db import Database
from storage.models import Interaction, OccurrenceStatus, OutboxMessage, PlanEntry, PlanOccurrence
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL, TEAM
from tests.flows import add_key_user, create_project, last_response_text, texts

MARIA, ANNA, BEN, SOFIA = KEY_USERS[:4]


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator) -> SlackDriver:
    """ERP with a decision maker (Maria), a business representative (Anna), a key user (Ben) and
    a sponsor (Sofia)."""
    create_project(slack)
    add_key_user(slack, MARIA, role="decision_maker", influence="high", interest="high")
    add_key_user(slack, ANNA, role="business_representative")
    add_key_user(slack, BEN, role="key_user")
    add_key_user(slack, SOFIA, role="sponsor")
    emulator.reset_calls()
    return slack


def entries(database: Database) -> list[PlanEntry]:
    with database.session() as session:
        return list(session.exec(select(PlanEntry).where(PlanEntry.removed_at == None)).all())  # noqa: E711


def button_value(message: dict[str, Any], action_id: str, nth: int = 0) -> str:
    found = [
        element["value"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
        if element.get("action_id") == action_id
    ]
    return found[nth]


def test_plan_starts_from_the_ready_made_plan_and_grows_in_the_modal(
    erp: SlackDriver, database: Database
) -> None:
    emulator = erp.emulator
    erp.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    view = emulator.top_view(PM)
    assert "has no communication plan yet" in texts([view])
    erp.click(PM, PlanId.USE_TEMPLATE, view=view)
    view = emulator.top_view(PM)
    assert len(entries(database)) == 5
    shown = texts([view])
    assert "Progress report* for Decision makers · Every 2 weeks · Direct message" in shown
    assert "Steering review* for Sponsors · Every month (same weekday) · Meeting" in shown

    erp.click(PM, PlanId.ADD, view=view)
    form = emulator.top_view(PM)
    response = erp.submit_view(
        PM,
        {
            "audience_kind": "person",
            "kind": "one_to_one",
            "cadence": "custom",
            "custom_rule": "FREQ=FORTNIGHTLY",
            "channel": "phone",
            "first_date": "2026-12-07",
        },
        view=form,
    )
    errors = response.json["errors"]
    assert set(errors) == {"person", "custom_rule"}
    assert len(entries(database)) == 5  # nothing stored
    erp.submit_view(
        PM,
        {
            "audience_kind": "person",
            "person": ANNA,
            "kind": "one_to_one",
            "cadence": "custom",
            "custom_rule": "FREQ=WEEKLY;INTERVAL=3;BYDAY=TH",
            "channel": "phone",
            "first_date": "2026-12-03",
            "note": "Her <process> questions & worries",
        },
        view=form,
    )
    assert len(entries(database)) == 6
    root = emulator.top_view(PM)
    assert "One-to-one* for <@" + ANNA + ">" in texts([root])
    assert "Her &lt;process&gt; questions &amp; worries" in texts([root])
    assert emulator.violations == []


def test_only_pms_and_team_see_and_change_the_plan(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(OUTSIDER, "/project", "plan ERP")
    assert "Only the PMs and team of *ERP*" in last_response_text(erp)
    erp.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    view = erp.emulator.top_view(PM)
    erp.click(PM, PlanId.USE_TEMPLATE, view=view)
    forged = erp.emulator.top_view(PM)
    # An outsider who forges a click on "Remove" changes nothing.
    erp.block_action(OUTSIDER, PlanId.REMOVE, button_value(forged, PlanId.REMOVE), view=forged)
    assert len(entries(database)) == 5


def test_due_items_reach_their_owner_in_one_dm_then_done_snooze_and_report(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    emulator = erp.emulator
    erp.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    erp.click(PM, PlanId.USE_TEMPLATE, view=emulator.top_view(PM))
    first_due = min(e.next_due_at for e in entries(database))
    clock.set(first_due - timedelta(minutes=1))
    run_due(runtime)
    assert "Due from the communication plan" not in texts(emulator.dm_messages(PM))
    clock.set(first_due + timedelta(minutes=2))
    before = len(emulator.dm_messages(PM))
    run_due(runtime)
    run_due(runtime)  # a rerun sends nothing more
    # The week's digest may go out at the same run: count the plan's DMs only.
    dms = [m for m in emulator.dm_messages(PM)[before:] if "Weekly digest" not in str(m["text"])]
    assert len(dms) == 1
    due = dms[0]
    assert "5 items of the communication plan are due" in texts([due])
    assert f"<@{SOFIA}>" in texts([due])
    assert f"<@{MARIA}>" in texts([due])

    # Snooze the steering review: the DM shows it, and it comes back two days later.
    steering = [e for e in entries(database) if e.kind == "steering_review"][0]
    with database.session() as session:
        occurrence = session.exec(
            select(PlanOccurrence).where(PlanOccurrence.entry_id == steering.id)
        ).one()
    erp.block_action(PM, PlanId.DUE_MORE, f"{PlanId.DUE_SNOOZE}|{occurrence.id}", message=due)
    due = emulator.message(due["channel"], due["ts"])
    assert "Snoozed: Steering review" in texts([due])

    # Done, with a one-line note asked in a modal.
    workshop = [e for e in entries(database) if e.kind == "workshop"][0]
    with database.session() as session:
        workshop_due = session.exec(
            select(PlanOccurrence).where(PlanOccurrence.entry_id == workshop.id)
        ).one()
    erp.click(PM, PlanId.DUE_DONE, message=due, value=str(workshop_due.id))
    response = erp.submit_view(PM, {"note": " "})
    assert response.json["response_action"] == "errors"
    erp.submit_view(PM, {"note": "Held the MM workshop with Anna"})
    due = emulator.message(due["channel"], due["ts"])
    assert "Done: Workshop" in texts([due]) and "Held the MM workshop" in texts([due])

    # Draft report for the decision makers: live figures, reviewed, sent by DM.
    report = [e for e in entries(database) if e.audience_value == "decision_maker"][0]
    with database.session() as session:
        report_due = session.exec(
            select(PlanOccurrence).where(PlanOccurrence.entry_id == report.id)
        ).one()
    erp.click(PM, PlanId.DUE_DRAFT, message=due, value=str(report_due.id))
    draft_view = emulator.top_view(PM)
    draft = [b for b in draft_view["blocks"] if b.get("block_id") == "report"][0]
    draft_text = draft["element"]["initial_value"]
    assert "Issues: 0 opened, 0 resolved, 0 open, 0 overdue." in draft_text
    erp.submit_view(PM, {"report": draft_text + "\nDecision needed: <!channel> go-live date."})
    received = texts(emulator.dm_messages(MARIA))
    assert "Progress report from" in received and "&lt;!channel&gt;" in received
    assert texts(emulator.dm_messages(ANNA)).count("Progress report from") == 0
    with database.session() as session:
        assert session.get(PlanOccurrence, report_due.id).status == OccurrenceStatus.DONE
        kinds = [i.kind for i in session.exec(select(Interaction)).all()]
    assert "report.received" in kinds and "plan.report_sent" in kinds

    # Forged: an outsider clicking an item's button changes nothing.
    erp.block_action(OUTSIDER, PlanId.DUE_MORE, f"{PlanId.DUE_SNOOZE}|{report_due.id}", message=due)
    with database.session() as session:
        assert session.get(PlanOccurrence, report_due.id).status == OccurrenceStatus.DONE

    before = len(emulator.dm_messages(PM))
    clock.advance(timedelta(days=2, minutes=5))
    run_due(runtime)
    again = emulator.dm_messages(PM)[before:]
    assert any("Steering review" in texts([m]) and "reminder" in texts([m]) for m in again)
    assert emulator.violations == []


def test_keyuser_touch_logs_a_contact(erp: SlackDriver, database: Database) -> None:
    erp.slash_command(
        PM, "/keyuser", f"touch ERP <@{ANNA}|anna> f2f Walked through <b>cut-over</b>"
    )
    answer = last_response_text(erp)
    assert "Contact with <@" + ANNA + "> logged in *ERP* (Face to face)" in answer
    assert "&lt;b&gt;cut-over&lt;/b&gt;" in answer
    with database.session() as session:
        contact = session.exec(
            select(Interaction).where(Interaction.kind == "contact.face_to_face")
        ).one()
    assert contact.touchpoint and contact.detail["note"] == "Walked through <b>cut-over</b>"
    erp.slash_command(OUTSIDER, "/keyuser", f"touch ERP <@{ANNA}|anna> call hi")
    assert "Only the PMs and team of *ERP* log contacts" in last_response_text(erp)
    erp.slash_command(PM, "/keyuser", f"touch ERP <@{OUTSIDER}|olaf> call hi")
    assert "active key user of ERP" in last_response_text(erp)
    erp.slash_command(PM, "/keyuser", "touch ERP")
    assert "/keyuser touch [CODE] @person" in last_response_text(erp)


def test_pm_is_nudged_once_a_week_about_engagement_debt(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    emulator = erp.emulator
    erp.slash_command(PM, "/keyuser", f"touch ERP <@{ANNA}|anna> call Checked in")
    clock.advance(timedelta(days=8, hours=2))  # Maria: every 7 days; the others every 30
    run_due(runtime)
    run_due(runtime)
    nudges = [m for m in emulator.dm_messages(PM) if "engagement debt" in texts([m])]
    assert len(nudges) == 1
    nudge = nudges[0]
    assert f"<@{MARIA}>" in texts([nudge]) and f"<@{ANNA}>" not in texts([nudge])
    assert "in debt since" in texts([nudge])

    erp.click(PM, EngagementId.LOG_CONTACT, message=nudge)
    form = emulator.top_view(PM)
    assert [b for b in form["blocks"] if b.get("block_id") == "user_id"][0]["element"][
        "initial_user"
    ] == MARIA
    erp.submit_view(PM, {"kind": "email", "note": "Sent the blueprint sign-off"})
    with database.session() as session:
        assert session.exec(select(Interaction).where(Interaction.kind == "contact.email")).one()

    clock.advance(timedelta(days=1))
    run_due(runtime)
    assert len([m for m in emulator.dm_messages(PM) if "engagement debt" in texts([m])]) == 1
    clock.advance(timedelta(days=30))
    run_due(runtime)
    assert len([m for m in emulator.dm_messages(PM) if "engagement debt" in texts([m])]) == 2
    with database.session() as session:
        keys = [r.key for r in session.exec(select(OutboxMessage)).all() if "nudge" in r.key]
    assert len(keys) == len(set(keys)) == 2

    erp.open_home(PM)
    home = texts([emulator.home(PM)])
    assert "Last contact · ERP" in home and f"<@{MARIA}>" in home
    assert emulator.violations == []


def test_schedule_meeting_from_a_due_item_is_prefilled_and_closes_the_item(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    emulator = erp.emulator
    erp.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    erp.click(PM, PlanId.USE_TEMPLATE, view=emulator.top_view(PM))
    emulator.close_view(PM)
    working = [e for e in entries(database) if e.kind == "working_meeting"][0]
    clock.set(working.next_due_at + timedelta(minutes=1))
    run_due(runtime)
    due = [m for m in emulator.dm_messages(PM) if "Due from the communication plan" in texts([m])][
        0
    ]
    with database.session() as session:
        occurrence = session.exec(
            select(PlanOccurrence).where(PlanOccurrence.entry_id == working.id)
        ).one()
    erp.block_action(PM, PlanId.DUE_MORE, f"{PlanId.DUE_SCHEDULE}|{occurrence.id}", message=due)
    form = emulator.top_view(PM)
    roles = [b for b in form["blocks"] if b.get("block_id") == "audience_roles"][0]
    assert [o["value"] for o in roles["element"]["initial_options"]] == ["business_representative"]
    erp.submit_view(
        PM,
        {
            "title": "Order-to-cash working meeting",
            "starts_at": int((clock.now() + timedelta(days=2)).timestamp()),
        },
    )
    with database.session() as session:
        assert session.get(PlanOccurrence, occurrence.id).outcome == "meeting"
    due = emulator.message(due["channel"], due["ts"])
    assert "Meeting scheduled: Working meeting" in texts([due])
    assert "Order-to-cash working meeting" in texts(emulator.dm_messages(ANNA))


def test_a_long_plan_is_paged(erp: SlackDriver, runtime: Runtime, database: Database) -> None:
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for number in range(commplan.PAGE_SIZE + 2):
            commplan.add_entry(
                ctx=ctx,
                project=project,
                data=commplan.PlanEntryInput(
                    role="key_user", owner_id=PM, note=f"Entry number {number}"
                ),
            )
        ctx.session.commit()
    erp.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    first = erp.emulator.top_view(PM)
    assert "Entry number 0" in texts([first]) and "Entry number 9" not in texts([first])
    assert "Page 1 of 2" in texts([first])
    erp.click(PM, PlanId.PAGE, view=first)
    second = erp.emulator.top_view(PM)
    assert "Entry number 9" in texts([second]) and "Page 2 of 2" in texts([second])
    assert erp.emulator.violations == []


TOO_OFTEN = "A rule repeats at most once a day"


@pytest.mark.parametrize(
    ("rule", "shown"),
    [
        ("FREQ=SECONDLY", TOO_OFTEN),
        ("FREQ=MINUTELY;INTERVAL=30", TOO_OFTEN),
        ("RRULE:FREQ=HOURLY", TOO_OFTEN),
        ("FREQ=DAILY;BYHOUR=9,17", TOO_OFTEN),
        ("FREQ=WEEKLY;BYMINUTE=0,30", TOO_OFTEN),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL is a whole number from 1 to 366"),
        ("FREQ=MONTHLY;INTERVAL=120", "INTERVAL is a whole number from 1 to 12"),
        ("FREQ=WEEKLY;COUNT=5000", "COUNT is a whole number from 1 to 100"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT is a whole number from 1 to 100"),
    ],
)
def test_a_custom_cadence_more_than_daily_or_out_of_bounds_is_refused_in_the_form(
    erp: SlackDriver, database: Database, rule: str, shown: str
) -> None:
    erp.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    erp.click(PM, PlanId.ADD, view=erp.emulator.top_view(PM))
    response = erp.submit_view(
        PM,
        {"role": "key_user", "cadence": "custom", "custom_rule": rule, "first_date": "2026-12-07"},
    )
    assert response.json["response_action"] == "errors"
    assert list(response.json["errors"]) == ["custom_rule"]
    assert shown in response.json["errors"]["custom_rule"]
    assert entries(database) == []
    assert erp.emulator.violations == []


def test_a_cadence_of_every_second_is_refused_in_the_projects_language(
    slack: SlackDriver, database: Database
) -> None:
    create_project(slack, locale="zh-CN")
    slack.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    slack.click(PM, PlanId.ADD, view=slack.emulator.top_view(PM))
    response = slack.submit_view(
        PM,
        {"cadence": "custom", "custom_rule": "FREQ=SECONDLY", "first_date": "2026-12-07"},
    )
    assert response.json["errors"]["custom_rule"] == (
        "重复规则每天最多一次：FREQ 只能是 DAILY、WEEKLY、MONTHLY 或 YEARLY，"
        "BYHOUR 和 BYMINUTE 各最多一个值。"
    )
    assert entries(database) == []


def test_a_stored_rule_finer_than_daily_is_told_once_then_stops_and_holds_up_nothing(
    erp: SlackDriver, runtime: Runtime, database: Database, clock: Any
) -> None:
    """Rules stored before cadences were bounded: the job tells each once more, stops it (with
    the reason in the log) and goes on; a year-old weekly entry is told its latest occurrence."""
    now = clock.now()
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        made = [
            commplan.add_entry(
                ctx=ctx,
                project=project,
                data=commplan.PlanEntryInput(role="decision_maker", owner_id=PM, note=note),
            )
            for note in ("Every second", "Every minute", "Every week")
        ]
        ctx.session.commit()
        ids = [entry.id for entry in made]
    stored = zip(
        ids,
        ("FREQ=SECONDLY", "FREQ=MINUTELY", "FREQ=WEEKLY"),
        (timedelta(minutes=10), timedelta(days=1), timedelta(days=365)),
        strict=True,
    )
    with database.session() as session:
        for entry_id, rule, age in stored:
            entry = session.get(PlanEntry, entry_id)
            entry.rrule, entry.first_at, entry.next_due_at = rule, now - age, now - age
            session.add(entry)
        session.commit()

    def plan_dms() -> list[dict[str, Any]]:
        return [
            m for m in erp.emulator.dm_messages(PM) if "of the communication plan" in texts([m])
        ]

    run_due(runtime)
    [due] = plan_dms()
    assert "3 items of the communication plan are due" in texts([due])
    with database.session() as session:
        second, minute, week = (session.get(PlanEntry, entry_id) for entry_id in ids)
        assert (second.next_due_at, minute.next_due_at) == (None, None)
        assert week.next_due_at is not None
        assert now < week.next_due_at <= now + timedelta(weeks=1)
        told = {o.entry_id: o.due_at for o in session.exec(select(PlanOccurrence)).all()}
        stopped = session.exec(
            select(Interaction).where(Interaction.kind == "plan.entry_stopped")
        ).all()
    assert told == {
        second.id: now - timedelta(minutes=10),
        minute.id: now - timedelta(days=1),
        week.id: week.next_due_at - timedelta(weeks=1),
    }
    assert sorted((s.detail["entry_id"], s.detail["reason"]) for s in stopped) == [
        (second.id, "meeting.errors.rule_too_often"),
        (minute.id, "meeting.errors.rule_too_often"),
    ]
    clock.advance(timedelta(minutes=5))
    run_due(runtime)
    assert len(plan_dms()) == 1
    assert erp.emulator.violations == []
