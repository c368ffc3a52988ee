"""Hostile text through the newer capabilities pings nobody and forges no link.

`tests/test_forged_requests.py` types hostile text into the forms of projects, key users, issues
and polls. Here the same text goes into every form and command argument of trainings, meetings,
the communication plan and engagement, through the driver as Slack would deliver it; the jobs run
at the moments they send reminders, prompts, nudges and digests; the Home tabs are opened. Then
every Web API call the app made and every response_url answer is scanned for raw markup where
Slack would parse it (`unescaped`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import CalendarId, DigestId, EngagementId, MeetingId, PlanId, TrainingId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import projects as project_service
from storage.db import Database
from storage.models import CalendarEvent, PlanEntry, PlanOccurrence, QuizRound, TrainingSession
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL, TEAM
from tests.digest_helpers import add_event, add_issue, add_round
from tests.flows import add_key_user, create_project, texts, told
from tests.test_flows_meetings import latest_with
from tests.test_flows_trainings import (
    SESSION_START,
    click_in_response,
    epoch,
    invitation_dm,
    module_id,
    schedule,
    training,
)
from tests.test_forged_requests import HOSTILE, TOM, unescaped

ANNA, BEN, CARL = KEY_USERS[0], KEY_USERS[1], KEY_USERS[2]
BERLIN = ZoneInfo("Europe/Berlin")
ESCAPED = "&lt;!channel&gt;"
PROJECT_NAME = f"Rollout {HOSTILE}"


def raw_markup(emulator: SlackEmulator) -> list[str]:
    """Every place in the app's Web API calls and response_url answers where Slack would parse
    raw markup."""
    problems = [
        f"{call.method}{where}"
        for call in emulator.calls
        for where in unescaped({k: v for k, v in call.args.items() if k != "token"})
    ]
    problems += [f"response_url{where}" for where in unescaped(emulator.responses)]
    return problems


def assert_nothing_raw(emulator: SlackEmulator) -> None:
    problems = raw_markup(emulator)
    assert problems == [], "\n".join(problems)
    # The hostile text did reach Slack, escaped: the scan looked at something.
    assert any(ESCAPED in json.dumps(call.args) for call in emulator.calls)
    assert emulator.violations == []


def open_homes(slack: SlackDriver, *users: str) -> None:
    for user in users:
        slack.open_home(user)
        assert slack.emulator.home(user) is not None


def seen_by(emulator: SlackEmulator, user: str) -> str:
    return texts(emulator.dm_messages(user))


# ------------------------------------------------------------------------------ trainings


def test_hostile_text_through_trainings_pings_nobody(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    database: Database,
    clock: MovableClock,
) -> None:
    create_project(slack, name=PROJECT_NAME)
    for user_id in (ANNA, BEN, CARL):
        add_key_user(slack, user_id, role="key_user", department=HOSTILE)
    training(slack, "curriculum")
    click_in_response(slack, PM, TrainingId.USE_STANDARD)
    # A module of its own, named and described with hostile text, then edited.
    training(slack, "curriculum")
    click_in_response(slack, PM, TrainingId.ADD_MODULE)
    slack.submit_view(
        PM,
        {
            "name": f"Module {HOSTILE}",
            "description": HOSTILE,
            "planned_hours": "4",
            "has_practical": "yes",
            "audience_roles": ["key_user"],
        },
    )
    hostile = module_id(database, f"Module {HOSTILE}")
    training(slack, "curriculum")
    click_in_response(slack, PM, TrainingId.EDIT_MODULE, value=str(hostile))
    slack.submit_view(PM, {"description": f"Edited {HOSTILE}"})
    assert f"Module *Module {ESCAPED}" in seen_by(emulator, PM)

    # A session of that module, its title and place hostile; RSVPs, roster, list.
    event_id = schedule(
        slack,
        database,
        module=f"Module {HOSTILE}",
        title=f"Session {HOSTILE}",
        location=f"Room {HOSTILE}",
        video_url=f"https://meet.example/x?{HOSTILE}",
        capacity="2",
    )
    for user_id in (ANNA, BEN, CARL):
        message = invitation_dm(emulator, user_id, "Session")
        slack.click(user_id, f"{CalendarId.RSVP_PREFIX}accepted", message=message)
    slack.click(
        ANNA, f"{CalendarId.RSVP_PREFIX}declined", message=invitation_dm(emulator, ANNA, "Session")
    )  # Carl moves up from the waitlist
    training(slack, f"roster {event_id}")
    training(slack, "list")
    training(slack, "list all")

    # Questions and options, typed and imported; a quiz sent, taken, reminded and closed.
    module_value = str(hostile)
    training(slack, "question")
    slack.submit_view(
        PM,
        {
            "module": module_value,
            "kind": "single",
            "text": f"Q {HOSTILE}",
            "options": f"*Right {HOSTILE}\nWrong <!here>",
        },
    )
    training(slack, "question")
    slack.submit_view(
        PM,
        {
            "module": module_value,
            "kind": "multiple",
            "text": f"Which {HOSTILE}?",
            "options": "*<@UOUT0001>\n<!everyone>\n*<#C0GENERAL>",
        },
    )
    training(slack, "import questions")
    slack.submit_view(
        PM,
        {
            "csv": "module,kind,question,options,correct\n"
            f'"Module {HOSTILE}",single,"Imported <!channel> & <!here>?",<!here>|b,1\n'
            f'"Module {HOSTILE}",single,"{HOSTILE}",a|b,\n'
            f'"No such <!channel>",single,"Q?",a|b,1\n'
        },
    )
    assert "1 added" in seen_by(emulator, PM)
    training(slack, "quiz")
    slack.submit_view(
        PM,
        {"module": module_value, "deadline": epoch(clock.now() + timedelta(days=3))},
    )
    for user_id in (ANNA, BEN):
        invite = next(
            m for m in emulator.dm_messages(user_id) if TrainingId.TAKE_QUIZ in str(m.get("blocks"))
        )
        slack.click(user_id, TrainingId.TAKE_QUIZ, message=invite)
        view = emulator.top_view(user_id)
        assert view is not None
        inputs = [b for b in view["blocks"] if b["type"] == "input"]
        answers: dict[str, Any] = {}
        for block in inputs:
            multiple = block["element"]["type"] == "checkboxes"
            answers[block["block_id"]] = ["1"] if multiple else "1"
        slack.submit_view(user_id, answers)
    with database.session() as session:
        quiz = session.exec(select(QuizRound)).one()
    training(slack, f"quiz results {quiz.id}")
    clock.advance(timedelta(days=2, hours=1))
    run_due(runtime)  # the quiz reminder to Carl
    assert "you have not taken it yet" in seen_by(emulator, CARL)

    # A practical assessment with a hostile comment, typed and imported.
    training(slack, "practical")
    slack.submit_view(
        PM, {"module": module_value, "user_id": ANNA, "score": "85", "comment": HOSTILE}
    )
    training(slack, "import practical")
    slack.submit_view(
        PM,
        {
            "csv": "slack_user,module,score,comment\n"
            f'{BEN},"Module {HOSTILE}",70,"{HOSTILE}"\n'
            f'<!channel>,"Module {HOSTILE}",70,x\n'
        },
    )
    # A curriculum import with a hostile name, description and a bad row.
    training(slack, "import curriculum")
    slack.submit_view(
        PM,
        {
            "csv": "name,description,planned_hours\n"
            f'"Imported {HOSTILE}","{HOSTILE}",3\n'
            f'"Bad <!here>",x,lots\n'
        },
    )
    reports = seen_by(emulator, PM)
    # Each rejected line is escaped once: the PM reads the cell as typed, not as entities.
    assert f"Line 3 (slack_user): {ESCAPED} is not a person" in reports
    assert "&amp;lt;" not in reports
    training(slack, "curriculum")
    training(slack, "readiness")
    training(slack, "export readiness")
    training(slack, "export curriculum")

    # The week's digest and the session's reminders, roster, roll call and feedback poll.
    clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))  # Monday 09:00 in Berlin
    run_due(runtime)
    digest = texts(emulator.messages(PROJECT_CHANNEL))
    assert f"Module {ESCAPED}" in digest
    # The coming sessions are listed in the PMs' copy only.
    assert f"Session {ESCAPED}" in texts(emulator.dm_messages(PM))
    clock.set(SESSION_START - timedelta(hours=23))
    run_due(runtime)
    assert "starts in 24 hours" in seen_by(emulator, BEN)
    clock.set(SESSION_START + timedelta(minutes=5))
    slack.click(BEN, CalendarId.CHECK_IN, message=invitation_dm(emulator, BEN, "Session"))
    training(slack, f"roster {event_id}")
    click_in_response(slack, PM, TrainingId.ROLL_CALL)
    slack.submit_view(PM, {f"att:{CARL}": "late"})
    clock.set(SESSION_START + timedelta(hours=3))
    run_due(runtime)  # the feedback poll to those who came
    with database.session() as session:
        assert session.exec(select(TrainingSession)).one().feedback_poll_id is not None
    # A second session, moved and then cancelled; the Home tabs in between.
    second = schedule(
        slack,
        database,
        module=f"Module {HOSTILE}",
        title=f"Again {HOSTILE}",
        starts_at=epoch(SESSION_START + timedelta(days=7)),
        capacity="",
    )
    training(slack, f"reschedule {second}")
    slack.submit_view(PM, {"starts_at": epoch(SESSION_START + timedelta(days=8))})
    assert "has moved" in seen_by(emulator, ANNA)
    open_homes(slack, PM, ANNA, BEN, CARL)
    assert f"Again {ESCAPED}" in texts([emulator.home(BEN) or {}])
    training(slack, f"cancel {second}")
    assert f"*Again {ESCAPED}" in seen_by(emulator, ANNA)
    assert_nothing_raw(emulator)


def test_a_hostile_cell_in_a_key_user_import_is_escaped_once(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    create_project(slack, name=PROJECT_NAME)
    slack.slash_command(PM, "/keyuser", "import ERP")
    slack.submit_view(
        PM,
        {
            "csv": "slack_user,role,department\n"
            f"{ANNA},key_user,{HOSTILE}\n"
            "<!channel>,key_user,x\n"
            f"{BEN},<!here>,x\n"
        },
    )
    report = texts(emulator.dm_messages(PM)[-1:])
    assert f"line 3 (slack_user): {ESCAPED} is not a person" in report
    assert "&amp;lt;" not in report
    slack.slash_command(PM, "/keyuser", "list ERP")
    assert_nothing_raw(emulator)


# ------------------------------------------------------------------------------- meetings

TUESDAY_1000 = datetime(2027, 3, 16, 10, 0, tzinfo=BERLIN)


def test_hostile_text_through_meetings_pings_nobody(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    database: Database,
    clock: MovableClock,
) -> None:
    clock.set(datetime(2027, 3, 10, 8, 0, tzinfo=UTC))
    create_project(slack, name=PROJECT_NAME)
    add_key_user(slack, ANNA, role="decision_maker")
    add_key_user(slack, BEN, role="business_representative")
    add_key_user(slack, CARL, role="business_representative")
    slack.slash_command(PM, "/meeting", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(
        PM,
        {
            "title": f"Meeting {HOSTILE}",
            "kind": "working_meeting",
            "starts_at": int(TUESDAY_1000.timestamp()),
            "duration": "60",
            "location": f"Room {HOSTILE}",
            "video_url": f"https://meet.example/{HOSTILE}",
            "audience_kind": "role",
            "audience_roles": ["business_representative"],
            "people": [ANNA],
            "agenda": f"Agenda {HOSTILE}\n* <!subteam^S0ADMINS>",
            "repeat": "weekly",
            "count": "3",
            "options": ["maybe", "announce"],
        },
    )
    events = sorted(
        (e for e in events_in(database)), key=lambda e: e.starts_at
    )  # the series, oldest first
    assert len(events) == 3
    assert f"Meeting {ESCAPED}" in texts(emulator.messages(PROJECT_CHANNEL))
    rsvp = f"{CalendarId.RSVP_PREFIX}"
    slack.click(
        ANNA, f"{rsvp}accepted", message=latest_with(emulator.dm_messages(ANNA), rsvp + "accepted")
    )
    slack.click(BEN, f"{rsvp}maybe", message=latest_with(emulator.dm_messages(BEN), rsvp + "maybe"))
    slack.click(
        CARL, f"{rsvp}declined", message=latest_with(emulator.dm_messages(CARL), rsvp + "declined")
    )
    slack.slash_command(PM, "/meeting", "list ERP")
    slack.slash_command(PM, "/meeting", "list ERP all")
    slack.slash_command(PM, "/meeting", str(events[0].id))
    slack.slash_command(ANNA, "/meeting", str(events[0].id))

    # The digest of the week, reminders, the tally and the prompt for the outcome.
    clock.set(datetime(2027, 3, 15, 8, 0, tzinfo=UTC))  # Monday 09:00 in Berlin
    run_due(runtime)
    assert f"Meeting {ESCAPED}" in texts(
        [m for m in emulator.messages(PROJECT_CHANNEL) if "Weekly digest" in str(m.get("text"))]
    )
    clock.set(events[0].starts_at - timedelta(hours=24))
    run_due(runtime)
    clock.set(events[0].starts_at - timedelta(minutes=15))
    run_due(runtime)
    assert "starts in 15 minutes" in seen_by(emulator, ANNA)
    clock.set(events[0].ends_at + timedelta(minutes=5))
    run_due(runtime)
    prompt = latest_with(emulator.dm_messages(PM), MeetingId.OUTCOME)
    slack.click(PM, MeetingId.OUTCOME, message=prompt)
    slack.submit_view(
        PM,
        {
            "attended": [ANNA],
            "minutes": f"Minutes {HOSTILE}",
            "decisions": f"Decision {HOSTILE}\n<!here> second",
            "action_1_text": f"Action {HOSTILE}",
            "action_1_owner": PM,
            "action_1_due": "2027-03-26",
            "action_2_text": "<@UOUT0001> & <!channel>",
            "action_2_owner": BEN,
        },
    )
    summary = latest_with(emulator.dm_messages(PM), MeetingId.ACTION_TO_ISSUE)
    slack.click(PM, MeetingId.ACTION_TO_ISSUE, message=summary)
    slack.slash_command(PM, "/meeting", str(events[0].id))
    slack.slash_command(PM, "/issue", "list ERP")

    # The second meeting moves, the third is cancelled; the Home tabs show what is left.
    slack.slash_command(PM, "/meeting", f"reschedule {events[1].id}")
    slack.submit_view(
        PM, {"starts_at": int((events[1].starts_at + timedelta(hours=2)).timestamp())}
    )
    slack.slash_command(PM, "/meeting", f"cancel {events[2].id}")
    slack.submit_view(PM, {"scope": "one"})
    open_homes(slack, PM, ANNA, BEN)
    assert f"Meeting {ESCAPED}" in texts([emulator.home(ANNA) or {}])
    # The next week's digest tells of the missed meeting and the coming one.
    clock.set(datetime(2027, 3, 22, 8, 0, tzinfo=UTC))
    run_due(runtime)
    slack.slash_command(PM, "/digest", "preview ERP")
    slack.slash_command(PM, "/meeting", f"cancel {events[1].id}")
    slack.submit_view(PM, {"scope": "series"})
    assert_nothing_raw(emulator)


def events_in(database: Database) -> list[CalendarEvent]:
    with database.session() as session:
        return list(session.exec(select(CalendarEvent)).all())


# ------------------------------------------------------- communication plan and engagement


def test_hostile_text_through_the_plan_and_engagement_pings_nobody(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    database: Database,
    clock: MovableClock,
) -> None:
    create_project(slack, name=PROJECT_NAME)
    add_key_user(slack, ANNA, role="decision_maker", influence="high", interest="high")
    add_key_user(slack, BEN, role="business_representative")
    add_key_user(slack, CARL, role="key_user")
    add_key_user(slack, KEY_USERS[3], role="sponsor")
    # Issues with hostile titles feed the drafted report's live figures.
    slack.slash_command(ANNA, "/issue", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(ANNA, {"title": f"Issue {HOSTILE}", "description": HOSTILE})

    slack.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    slack.click(PM, PlanId.USE_TEMPLATE, view=emulator.top_view(PM))
    first_due = min(e.next_due_at for e in plan_entries(database))  # the ready-made items
    slack.click(PM, PlanId.ADD, view=emulator.top_view(PM))
    slack.submit_view(
        PM,
        {
            "audience_kind": "person",
            "person": BEN,
            "kind": "one_to_one",
            "cadence": "weekly",
            "channel": "phone",
            "first_date": first_due.astimezone(BERLIN).date().isoformat(),
            "note": f"Note {HOSTILE}",
        },
    )
    assert f"Note {ESCAPED}" in texts([emulator.top_view(PM) or {}])
    with database.session() as session:
        ben_entry = session.exec(select(PlanEntry).where(PlanEntry.audience_value == BEN)).one()
    slack.click(PM, PlanId.EDIT, value=str(ben_entry.id), view=emulator.top_view(PM))
    slack.submit_view(PM, {"note": f"Edited {HOSTILE}"})
    emulator.close_view(PM)

    # `/keyuser touch` with a hostile note, and the contact form.
    slack.slash_command(PM, "/keyuser", f"touch ERP <@{BEN}|ben> f2f Talked {HOSTILE}")
    slack.slash_command(PM, "/keyuser", f"touch ERP <@{CARL}|carl> call {HOSTILE}")

    # Everything falls due: one DM; done with a hostile note, snoozed, a report drafted and sent.
    clock.set(first_due + timedelta(hours=12))
    run_due(runtime)
    due = latest_with(emulator.dm_messages(PM), PlanId.DUE_DONE)
    with database.session() as session:
        occurrences = {o.entry_id: o.id for o in session.exec(select(PlanOccurrence)).all()}
        entries = {e.id: e for e in session.exec(select(PlanEntry)).all()}
    ben_due = occurrences[ben_entry.id]
    slack.click(PM, PlanId.DUE_DONE, message=due, value=str(ben_due))
    slack.submit_view(PM, {"note": f"Done {HOSTILE}"})
    steering = next(i for e, i in occurrences.items() if entries[e].kind == "steering_review")
    slack.click(
        PM,
        PlanId.DUE_SNOOZE,
        message=emulator.message(due["channel"], due["ts"]),
        value=str(steering),
    )
    working = next(i for e, i in occurrences.items() if entries[e].kind == "working_meeting")
    slack.click(
        PM,
        PlanId.DUE_SCHEDULE,
        message=emulator.message(due["channel"], due["ts"]),
        value=str(working),
    )
    slack.submit_view(
        PM,
        {
            "title": f"Planned {HOSTILE}",
            "agenda": f"Plan {HOSTILE}",
            "starts_at": int((clock.now() + timedelta(days=2)).timestamp()),
        },
    )
    assert f"Planned {ESCAPED}" in seen_by(emulator, BEN)
    assert "Meeting scheduled" in texts([emulator.message(due["channel"], due["ts"]) or {}])
    report = next(
        i for e, i in occurrences.items() if entries[e].audience_value == "decision_maker"
    )
    slack.click(
        PM, PlanId.DUE_DRAFT, message=emulator.message(due["channel"], due["ts"]), value=str(report)
    )
    draft_view = emulator.top_view(PM)
    assert draft_view is not None
    [draft] = [b for b in draft_view["blocks"] if b.get("block_id") == "report"]
    slack.submit_view(PM, {"report": draft["element"]["initial_value"] + f"\nAsk: {HOSTILE}"})
    assert "Progress report from" in seen_by(emulator, ANNA)

    # A month later: the engagement nudge, a contact logged from it, the Home tabs.
    clock.advance(timedelta(days=31))
    run_due(runtime)
    nudge = latest_with(emulator.dm_messages(PM), EngagementId.LOG_CONTACT)
    slack.click(PM, EngagementId.LOG_CONTACT, message=nudge)
    slack.submit_view(PM, {"kind": "email", "note": f"Mail {HOSTILE}"})
    slack.click(PM, EngagementId.SCHEDULE, message=nudge)
    slack.submit_view(
        PM,
        {
            "title": f"Catch-up {HOSTILE}",
            "agenda": HOSTILE,
            "starts_at": int((clock.now() + timedelta(days=2)).timestamp()),
            "repeat": "none",
        },
    )
    open_homes(slack, PM, ANNA, BEN)
    slack.slash_command(PM, "/project", "plan ERP", channel_id=PROJECT_CHANNEL)
    assert_nothing_raw(emulator)


def plan_entries(database: Database) -> list[PlanEntry]:
    with database.session() as session:
        return list(session.exec(select(PlanEntry).where(PlanEntry.removed_at == None)).all())  # noqa: E711


# -------------------------------------------------------------------- digest and dashboards


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_hostile_titles_from_the_data_reach_the_digest_and_dashboards_escaped(
    slack: SlackDriver,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
    locale: str,
) -> None:
    emulator.add_user(TOM, "tom", real_name="Tom Consultant")
    create_project(slack, name=PROJECT_NAME, locale=locale)
    for user in KEY_USERS[:3]:
        add_key_user(slack, user)
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
        for number in (1, 2):
            add_issue(
                ctx,
                project,
                number,
                created=clock.now() - timedelta(days=9),
                owner=TOM,
                due=clock.now() - timedelta(days=2),
                title=f"Issue {number} {HOSTILE}",
            )
        rounds = [
            add_round(
                ctx,
                project,
                series="pulse",
                number=number,
                opens=clock.now() - timedelta(days=40 - 20 * number),
                answers={KEY_USERS[0]: {"rating": rating, "nps": 9}},
                title=f"Pulse {HOSTILE}",
            )
            for number, rating in ((1, 5), (2, 2))
        ]
        rounds[0].next_round_id = rounds[1].id  # as the poll job would have linked them
        for kind in ("meeting", "training"):
            add_event(
                ctx,
                project,
                kind=kind,
                title=f"{kind} {HOSTILE}",
                starts=clock.now() + timedelta(days=2),
                answers={KEY_USERS[0]: "accepted", KEY_USERS[1]: "pending"},
            )
        add_event(
            ctx,
            project,
            kind="meeting",
            title=f"Missed {HOSTILE}",
            starts=clock.now() - timedelta(days=3),
            answers={KEY_USERS[2]: "accepted"},
            attendance={KEY_USERS[2]: "absent"},
        )
    slack.slash_command(PM, "/digest", "preview", channel_id=PROJECT_CHANNEL)
    preview = told(slack)
    for title in ("Issue 1 ", "Pulse ", "meeting ", "training "):
        assert f"{title}{ESCAPED}" in preview, title
    slack.slash_command(PM, "/digest", "send ERP")
    digest = latest_with(emulator.messages(PROJECT_CHANNEL), DigestId.MORE)
    slack.click(PM, DigestId.REMIND_OWNERS, message=digest)  # the channel copy's menu: it asks
    slack.submit_view(PM, {})
    assert f"Issue 1 {ESCAPED}" in seen_by(emulator, TOM)
    slack.click(PM, DigestId.OPEN_DASHBOARD, message=digest)
    dashboard = texts([emulator.top_view(PM) or {}])
    assert f"meeting {ESCAPED}" in dashboard and f"training {ESCAPED}" in dashboard
    # The Home tabs of everyone involved, now and after the scheduled digest of the next week.
    open_homes(slack, PM, TOM, *KEY_USERS[:3])
    assert f"meeting {ESCAPED}" in texts([emulator.home(PM) or {}])
    assert f"Issue 1 {ESCAPED}" in texts([emulator.home(TOM) or {}])
    clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    run_due(runtime)
    assert f"Pulse {ESCAPED}" in texts(
        [m for m in emulator.messages(PROJECT_CHANNEL) if m is not digest]
    )
    open_homes(slack, PM, TOM, *KEY_USERS[:3])
    assert_nothing_raw(emulator)
