"""Trainings through the emulator: the standard curriculum, a session of capacity 2 with three
invitees (waitlist, a decline promotes), the calendar file, reminders, check-in and roll call, a
quiz scored at once, a practical score, readiness (paged, CSV, heatmap), the feedback poll,
reschedule and cancel, the Home tab, refusals of forged ids, and a project in Chinese."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import responses
from icalendar import Calendar
from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import CalendarId, TrainingId
from bot.jobs import run_due
from bot.runtime import Runtime
from storage.db import Database
from storage.models import (
    CalendarEvent,
    Invitation,
    Poll,
    PracticalAssessment,
    QuizAttempt,
    QuizQuestion,
    QuizRound,
    TrainingModule,
    TrainingSession,
)
from tests.conftest import KEY_USERS, OTHER_TEAM, OUTSIDER, PM, PROJECT_CHANNEL, START
from tests.flows import add_key_user, create_project, say_yes, texts, told

ANNA, BEN, CARL = KEY_USERS[0], KEY_USERS[1], KEY_USERS[2]
SESSION_START = START + timedelta(days=7)  # Tuesday 8 December 2026, 09:00 in Berlin


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def last_response(slack: SlackDriver) -> dict[str, Any]:
    """The answer to the last request (a tool's modal, or an ephemeral message), else the latest
    ephemeral answer."""
    fresh = slack.new_responses or slack.new_views
    if fresh:
        return {**fresh[-1], "ts": "1.0"}
    assert slack.emulator.responses, "nothing was answered"
    return {**slack.emulator.responses[-1], "ts": "1.0"}


def training(slack: SlackDriver, text: str, user: str = PM) -> Any:
    return slack.slash_command(user, "/training", text, channel_id=PROJECT_CHANNEL)


def click_in_response(slack: SlackDriver, user: str, action_id: str, **kwargs: Any) -> Any:
    return slack.block_action(
        user, action_id, message=last_response(slack), channel_id=PROJECT_CHANNEL, **kwargs
    )


def project_with_curriculum(slack: SlackDriver, locale: str = "en") -> None:
    create_project(slack, locale=locale)
    for user_id in (ANNA, BEN, CARL):
        add_key_user(slack, user_id, role="key_user")
    training(slack, "curriculum")
    click_in_response(slack, PM, TrainingId.USE_STANDARD)


def module_id(database: Database, name: str) -> int:
    with database.session() as session:
        return session.exec(select(TrainingModule.id).where(TrainingModule.name == name)).one()


def invitation_dm(emulator: SlackEmulator, user_id: str, title: str) -> dict[str, Any]:
    for message in reversed(emulator.dm_messages(user_id)):
        if CalendarId.RSVP_PREFIX in str(message.get("blocks")) and title in texts([message]):
            return message
    raise LookupError(f"no invitation for {user_id}")


def schedule(
    slack: SlackDriver, database: Database, module: str = "System overview", **overrides: Any
) -> int:
    training(slack, "new")
    values: dict[str, Any] = {
        "module": str(module_id(database, module)),
        "trainer_id": PM,
        "starts_at": epoch(SESSION_START),
        "duration": "2",
        "capacity": "2",
        "location": "Room 4.02",
        "audience_kind": "people",
        "audience_people": [ANNA, BEN, CARL],
        "reminders": ["1440", "60"],
    }
    values.update(overrides)
    response = slack.submit_view(PM, values)
    assert response.json is None or "errors" not in response.json, response.json
    with database.session() as session:
        return max(session.exec(select(CalendarEvent.id)).all() or [0]) or 0


def test_curriculum_from_the_standard_plan_edited_in_a_modal(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    create_project(slack)
    training(slack, "curriculum")
    assert "no training curriculum yet" in texts([last_response(slack)])
    click_in_response(slack, OUTSIDER, TrainingId.USE_STANDARD)  # forged: not a PM
    assert "Only the project managers" in told(slack)
    with database.session() as session:
        assert session.exec(select(TrainingModule)).all() == []
    training(slack, "curriculum")
    click_in_response(slack, PM, TrainingId.USE_STANDARD)
    shown = told(slack)
    assert "System overview" in shown and "0 of 16 h delivered" in shown
    assert "now has the standard curriculum (4 modules)" in shown
    basic = module_id(database, "Basic operation")
    training(slack, "curriculum")
    click_in_response(slack, PM, TrainingId.EDIT_MODULE, value=str(basic))
    response = slack.submit_view(PM, {"planned_hours": "lots"}, forged=True)  # no number input
    assert "Give a number from 0.5 to 500" in response.json["errors"]["planned_hours"]
    slack.submit_view(PM, {"planned_hours": "20", "has_practical": "no"})
    with database.session() as session:
        module = session.get(TrainingModule, basic)
        assert module is not None and module.planned_hours == 20 and not module.has_practical
    assert "Module *Basic operation* saved" in texts(emulator.dm_messages(PM))
    training(slack, "export curriculum")
    [csv_file] = [f for f in emulator.files if f["name"].endswith(".csv")]
    assert b'2,Basic operation,"Screens, everyday operations' in csv_file["content"]
    assert emulator.violations == []


def test_a_full_session_waitlists_and_a_decline_promotes(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    event_id = schedule(slack, database)
    assert f"Session *#{event_id}* System overview is scheduled" in texts(emulator.dm_messages(PM))
    for user_id in (ANNA, BEN, CARL):
        assert "Room 4.02" in texts([invitation_dm(emulator, user_id, "System overview")])
    ics_files = [f for f in emulator.files if f["name"].endswith(".ics")]
    assert len(ics_files) == 3
    entry = Calendar.from_ical(ics_files[0]["content"]).walk("VEVENT")[0]
    assert str(entry["SUMMARY"]) == "System overview"
    assert entry["DTSTART"].dt.tzinfo is not None and int(entry["SEQUENCE"]) == 0
    accept = f"{CalendarId.RSVP_PREFIX}accepted"
    for user_id in (ANNA, BEN, CARL):
        slack.click(user_id, accept, message=invitation_dm(emulator, user_id, "System overview"))
    assert "number 1 on the waitlist" in texts([invitation_dm(emulator, CARL, "System")])
    slack.click(
        ANNA,
        f"{CalendarId.RSVP_PREFIX}declined",
        message=invitation_dm(emulator, ANNA, "System overview"),
    )
    assert "A seat has become free" in texts(emulator.dm_messages(CARL))
    training(slack, f"roster {event_id}")
    roster = told(slack)
    assert "Coming (2)" in roster and "Declined (1)" in roster and "Roll call" in roster
    training(slack, "list")
    assert "2/2 seats taken" in told(slack)
    training(slack, f"roster {event_id}", user=ANNA)
    assert "Only the PMs and the project team" in told(slack)
    assert emulator.violations == []


def test_a_session_answers_accept_maybe_decline_and_a_maybe_takes_no_seat(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    """The RSVP set of meetings: Accept, Maybe, Decline. Only Accept takes a seat; a Maybe on a
    full session stays a Maybe (no waitlist); someone with a seat who says Maybe frees it."""
    project_with_curriculum(slack)
    event_id = schedule(slack, database, capacity="1")
    answer = {a: f"{CalendarId.RSVP_PREFIX}{a}" for a in ("accepted", "maybe", "declined")}
    invitation = invitation_dm(emulator, ANNA, "System overview")
    shown = [e.get("action_id") for b in invitation["blocks"] for e in b.get("elements") or []]
    assert [answer["accepted"], answer["maybe"], answer["declined"]] == [
        a for a in shown if a in answer.values()
    ]
    slack.click(ANNA, answer["maybe"], message=invitation_dm(emulator, ANNA, "System"))
    slack.click(BEN, answer["accepted"], message=invitation_dm(emulator, BEN, "System"))
    slack.click(CARL, answer["maybe"], message=invitation_dm(emulator, CARL, "System"))
    with database.session() as session:
        states = dict(
            session.exec(
                select(Invitation.user_id, Invitation.response).where(
                    Invitation.event_id == event_id
                )
            ).all()
        )
    assert states == {ANNA: "maybe", BEN: "accepted", CARL: "maybe"}  # BEN took the one seat
    slack.click(ANNA, answer["accepted"], message=invitation_dm(emulator, ANNA, "System"))
    assert "number 1 on the waitlist" in texts([invitation_dm(emulator, ANNA, "System")])
    slack.click(BEN, answer["maybe"], message=invitation_dm(emulator, BEN, "System"))
    assert "A seat has become free" in texts(emulator.dm_messages(ANNA))
    with database.session() as session:
        states = dict(
            session.exec(
                select(Invitation.user_id, Invitation.response).where(
                    Invitation.event_id == event_id
                )
            ).all()
        )
    assert states == {ANNA: "accepted", BEN: "maybe", CARL: "maybe"}
    assert emulator.violations == []


def test_reminders_check_in_roll_call_and_the_feedback_poll(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    project_with_curriculum(slack)
    event_id = schedule(slack, database, capacity="")
    for user_id in (ANNA, BEN):
        message = invitation_dm(emulator, user_id, "System overview")
        slack.click(user_id, f"{CalendarId.RSVP_PREFIX}accepted", message=message)
    slack.click(ANNA, CalendarId.CHECK_IN, message=invitation_dm(emulator, ANNA, "System"))
    assert "Check-in opens 15 minutes before the start" in told(slack)
    clock.set(SESSION_START - timedelta(hours=23))
    run_due(runtime)
    assert "starts in 24 hours" in texts(emulator.dm_messages(ANNA))
    assert "Roster: System overview" in texts(emulator.dm_messages(PM))
    run_due(runtime)
    reminders = [m for m in emulator.dm_messages(ANNA) if "starts in 24 hours" in texts([m])]
    assert len(reminders) == 1
    clock.set(SESSION_START + timedelta(minutes=5))
    slack.click(ANNA, CalendarId.CHECK_IN, message=invitation_dm(emulator, ANNA, "System"))
    slack.click(CARL, CalendarId.CHECK_IN, value=f'{{"e": {event_id}}}')  # not from his DM
    training(slack, f"attendance {event_id}", user=ANNA)  # a key user cannot take the roll
    assert "Only the trainer" in told(slack)
    training(slack, f"roster {event_id}")
    click_in_response(slack, PM, TrainingId.ROLL_CALL)
    view = emulator.top_view(PM)
    assert view is not None and view["callback_id"] == TrainingId.ROLL_CALL_MODAL
    slack.submit_view(PM, {f"att:{BEN}": "late", f"att:{CARL}": "absent"})
    with database.session() as session:
        marks = {
            i.user_id: i.attendance
            for i in session.exec(select(Invitation).where(Invitation.event_id == event_id))
        }
    assert marks == {ANNA: "present", BEN: "late", CARL: "absent"}
    clock.set(SESSION_START + timedelta(hours=3))
    run_due(runtime)
    with database.session() as session:
        [poll] = session.exec(select(Poll)).all()
        session_row = session.exec(select(TrainingSession)).one()
    assert session_row.feedback_poll_id == poll.id
    assert "How useful" in texts(emulator.dm_messages(ANNA)) or poll.title in texts(
        emulator.dm_messages(ANNA)
    )
    assert poll.title not in texts(emulator.dm_messages(CARL))
    run_due(runtime)
    with database.session() as session:
        assert len(session.exec(select(Poll)).all()) == 1
    training(slack, f"roster {event_id}")
    assert "`/poll results ERP 1`" in told(slack)
    training(slack, "curriculum")
    assert "2 of 8 h delivered" in told(slack)
    assert emulator.violations == []


def test_reschedule_tells_everyone_once_and_cancel_removes_the_entry(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    event_id = schedule(slack, database)
    training(slack, f"reschedule {event_id}")
    response = slack.submit_view(PM, {"starts_at": epoch(START - timedelta(days=1))})
    assert "in the future" in response.json["errors"]["starts_at"]
    slack.submit_view(PM, {"starts_at": epoch(SESSION_START + timedelta(days=1))})
    for user_id in (ANNA, BEN, CARL):
        assert len([m for m in emulator.dm_messages(user_id) if "has moved" in texts([m])]) == 1
    updated = [f for f in emulator.files if f["name"].endswith(".ics")][-1]
    assert int(Calendar.from_ical(updated["content"]).walk("VEVENT")[0]["SEQUENCE"]) == 1
    training(slack, f"cancel {event_id}", user=ANNA)
    say_yes(slack, ANNA)  # it asks first: it cannot be undone and tells everyone invited
    assert "Only the PMs and the project team" in texts(emulator.responses[-1:])
    training(slack, f"cancel {event_id}")
    assert "Everyone invited is told once" in texts(emulator.responses[-1:])
    say_yes(slack, PM)
    assert "is cancelled" in texts(emulator.responses[-1:])
    assert [f for f in emulator.files if b"METHOD:CANCEL" in f["content"]]
    assert "*System overview* is cancelled" in texts(emulator.dm_messages(ANNA))
    assert emulator.violations == []


def test_bad_session_input_gets_inline_errors_and_a_double_submit_makes_one_series(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    training(slack, "new")
    response = slack.submit_view(
        PM,
        {
            "module": str(module_id(database, "Basic operation")),
            "starts_at": epoch(SESSION_START),
            "duration": "4",
            "capacity": "0",
            "rsvp_deadline": epoch(SESSION_START + timedelta(hours=1)),
            "audience_kind": "role",
        },
        forged=True,  # 0 seats gets past no number input
    )
    errors = response.json["errors"]
    assert set(errors) >= {"capacity", "audience_roles"}
    with database.session() as session:
        assert session.exec(select(CalendarEvent)).all() == []
    view = emulator.top_view(PM)
    values = {
        "module": str(module_id(database, "Basic operation")),
        "starts_at": epoch(SESSION_START),
        "duration": "4",
        "sessions": "4",
        "capacity": "",
        "rsvp_deadline": None,  # the form kept the one typed before; cleared
        "audience_kind": "all",
    }
    slack.submit_view(PM, values, view=view)
    slack.submit_view(PM, values, view=view)  # Slack retried the submission
    with database.session() as session:
        assert len(session.exec(select(CalendarEvent)).all()) == 4
    assert "A series of 4 weekly sessions" in texts(emulator.dm_messages(PM))
    assert len([m for m in emulator.dm_messages(ANNA) if "Basic operation" in texts([m])]) >= 4
    training(slack, "new")
    response = slack.submit_view(PM, {**values, "sessions": "1"})
    assert "busy at that time" in response.json["errors"]["trainer_id"]  # the trainer is booked
    assert emulator.violations == []


def test_quiz_written_in_a_modal_taken_by_dm_and_scored_at_once(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    project_with_curriculum(slack)
    overview = str(module_id(database, "System overview"))
    training(slack, "question")
    response = slack.submit_view(
        PM, {"module": overview, "kind": "single", "text": "What is F4?", "options": "Help\nSave"}
    )
    assert "Mark at least one right answer" in response.json["errors"]["options"]
    slack.submit_view(
        PM, {"module": overview, "kind": "single", "text": "What is F4?", "options": "*Help\nSave"}
    )
    training(slack, "question")
    slack.submit_view(
        PM,
        {
            "module": overview,
            "kind": "multiple",
            "text": "Which are <reports>?",
            "options": "*FBL1N\nFB01\n*FBL3N",
        },
    )
    assert "(2 in its bank)" in texts(emulator.dm_messages(PM))
    training(slack, "quiz")
    slack.submit_view(
        PM,
        {"module": overview, "deadline": epoch(START + timedelta(days=3)), "remind_hours": "24"},
    )
    assert "sent to 3 trainees" in texts(emulator.dm_messages(PM))
    invite = next(
        m for m in emulator.dm_messages(ANNA) if TrainingId.TAKE_QUIZ in str(m.get("blocks"))
    )
    assert "Weekly quiz: System overview" in texts([invite])
    slack.click(OUTSIDER, TrainingId.TAKE_QUIZ, message=invite)  # forged: not sent to him
    assert "not sent to you" in told(slack)
    slack.click(ANNA, TrainingId.TAKE_QUIZ, message=invite)
    view = emulator.top_view(ANNA)
    assert view is not None
    blocks = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    assert "&lt;reports&gt;" not in str(view)  # plain text labels, not mrkdwn
    slack.submit_view(ANNA, {blocks[0]: "0", blocks[1]: ["0"]})
    scored = texts(emulator.thread(ANNA, invite["ts"]))
    assert "Your score on System overview: 50%" in scored and "not passed" in scored
    assert "Which are &lt;reports&gt;? (right answer: FBL1N, FBL3N)" in scored
    slack.click(ANNA, TrainingId.TAKE_QUIZ, message=invite)
    assert "already took this quiz: your score is 50%" in told(slack)
    clock.set(START + timedelta(days=2, hours=1))
    run_due(runtime)
    assert "you have not taken it yet" in texts(emulator.dm_messages(BEN))
    assert "you have not taken it yet" not in texts(emulator.dm_messages(ANNA))
    clock.set(START + timedelta(days=3, minutes=1))
    run_due(runtime)
    results = texts(emulator.dm_messages(PM))
    assert "*1 of 3* took it" in results
    with database.session() as session:
        assert len(session.exec(select(QuizAttempt)).all()) == 3
    assert emulator.violations == []


def test_practical_readiness_pages_csv_and_heatmap(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    for index in range(11):
        user_id = f"UMORE{index:04d}"
        emulator.add_user(user_id, f"more{index}", real_name=f"More {index:02d}")
        add_key_user(slack, user_id, role="key_user")
    training(slack, "practical")
    response = slack.submit_view(
        PM,
        {"module": str(module_id(database, "Basic operation")), "user_id": ANNA, "score": "abc"},
        forged=True,  # a word gets past no number input
    )
    assert "score" in response.json["errors"]
    slack.submit_view(
        PM,
        {"module": str(module_id(database, "Basic operation")), "user_id": ANNA, "score": "85"},
    )
    assert "85% (passed)" in texts(emulator.dm_messages(PM))
    with database.session() as session:
        assert len(session.exec(select(PracticalAssessment)).all()) == 1
    training(slack, "readiness")
    first_page = told(slack)
    assert "Key users 1–10 of 14" in first_page and "practical 85% (passed)" in first_page
    click_in_response(slack, PM, TrainingId.READINESS_PAGE)
    assert "Key users 11–14 of 14" in told(slack)
    click_in_response(slack, OUTSIDER, TrainingId.READINESS_PAGE)  # not a key user: refused
    assert "Only the PMs, the team and the key users" in told(slack)
    # A key user sees their own end users' readiness only, never the key users' matrix.
    training(slack, "readiness")
    click_in_response(slack, ANNA, TrainingId.READINESS_PAGE)
    shown = told(slack)
    assert "End users of ERP" in shown and "Key users" not in shown and "85%" not in shown
    training(slack, "export readiness")
    [csv_file] = [f for f in emulator.files if f["name"].endswith(".csv")]
    assert csv_file["content"].decode().count("\n") == 1 + 14 * 4
    training(slack, "heatmap")
    [png] = [f for f in emulator.files if f["name"].endswith(".png")]
    assert png["content"].startswith(b"\x89PNG")
    training(slack, "readiness", user=ANNA)  # her end users' readiness, not the matrix
    assert "Key users" not in told(slack)
    assert emulator.violations == []


def test_home_tab_shows_sessions_quizzes_and_readiness(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    schedule(slack, database)
    slack.click(
        ANNA,
        f"{CalendarId.RSVP_PREFIX}accepted",
        message=invitation_dm(emulator, ANNA, "System overview"),
    )
    slack.open_home(ANNA)
    home = texts([emulator.home(ANNA) or {}])
    assert "Your upcoming training sessions" in home and "you accepted" in home
    assert "Your training readiness" in home and "0/8 h" in home
    slack.open_home(PM)
    pm_home = texts([emulator.home(PM) or {}])
    assert "*Training readiness*" in pm_home and "*0%* ready (0 of 3)" in pm_home
    assert emulator.violations == []


def test_a_chinese_project_gets_the_curriculum_and_help_in_chinese(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack, locale="zh-CN")
    shown = told(slack)
    assert "系统概述" in shown and "维护与故障排除" in shown and "已采用标准课程体系" in shown
    training(slack, "help")
    assert "`/training curriculum [项目代码]`" in told(slack)
    schedule(slack, database, module="系统概述")
    invitation = texts([invitation_dm(emulator, ANNA, "系统概述")])
    assert "系统概述" in invitation
    assert emulator.violations == []


def test_question_import_from_pasted_rows_reports_bad_lines(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    training(slack, "import questions", user=ANNA)
    assert "Only the project managers and project team" in told(slack)
    training(slack, "import questions")
    view = emulator.top_view(PM)
    assert view is not None
    slack.submit_view(
        ANNA,  # a key user submitting a copy of the PM's form changes nothing
        {"csv": "module,kind,question,options,correct\nSystem overview,single,Q?,a|b,1"},
        view=view,
    )
    slack.submit_view(
        PM,
        {
            "csv": "module,kind,question,options,correct\n"
            "System overview,single,What is F4?,Value help|Save,1\n"
            "System overview,single,No right answer?,a|b,\n"
        },
    )
    report = texts(emulator.dm_messages(PM))
    assert "1 added, 0 updated, 1 rows rejected" in report and "Line 3 (options)" in report
    with database.session() as session:
        assert [q.text for q in session.exec(select(QuizQuestion))] == ["What is F4?"]
    assert emulator.violations == []


def test_forged_roll_call_and_a_late_quiz_answer_change_nothing(
    slack: SlackDriver, database: Database, emulator: SlackEmulator, clock: MovableClock
) -> None:
    project_with_curriculum(slack)
    event_id = schedule(slack, database, capacity="")
    clock.set(SESSION_START + timedelta(minutes=5))
    training(slack, f"roster {event_id}")
    click_in_response(slack, PM, TrainingId.ROLL_CALL)
    view = emulator.top_view(PM)
    assert view is not None
    response = slack.submit_view(ANNA, {f"att:{ANNA}": "present"}, view=view)  # not the trainer
    assert "Only the trainer" in str(response.json["errors"])
    with database.session() as session:
        assert all(i.attendance is None for i in session.exec(select(Invitation)))
    overview = str(module_id(database, "System overview"))
    training(slack, "question")
    slack.submit_view(
        PM, {"module": overview, "kind": "single", "text": "F4?", "options": "*Help\nSave"}
    )
    training(slack, "quiz")
    slack.submit_view(
        PM,
        {"module": overview, "deadline": epoch(clock.now() + timedelta(hours=3)), "repeat": "once"},
    )
    invite = next(
        m for m in emulator.dm_messages(BEN) if TrainingId.TAKE_QUIZ in str(m.get("blocks"))
    )
    slack.click(BEN, TrainingId.TAKE_QUIZ, message=invite)
    view = emulator.top_view(BEN)
    assert view is not None
    clock.set(clock.now() + timedelta(hours=4))  # the deadline passes while the form is open
    [block] = [b["block_id"] for b in view["blocks"] if b["type"] == "input"]
    response = slack.submit_view(BEN, {block: "0"})
    assert "deadline has passed" in str(response.json["errors"])
    with database.session() as session:
        assert all(a.submitted_at is None for a in session.exec(select(QuizAttempt)))
    assert emulator.violations == []


@responses.activate
def test_a_forged_file_in_an_import_form_fetches_nothing(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    stolen = responses.get("https://attacker.example/steal", body="name,planned_hours\nX,1\n")
    project_with_curriculum(slack)
    training(slack, "import curriculum")
    modal = emulator.top_view(PM)
    assert modal is not None
    forged = [{"id": "F0FORGED", "url_private_download": "https://attacker.example/steal"}]
    slack.submit_view(PM, {"csv_file": forged}, view=modal)
    theirs = emulator.add_file(OUTSIDER, "theirs.csv", b"name,planned_hours\nY,1\n")
    slack.submit_view(PM, {"csv_file": [theirs]}, view=modal)
    assert stolen.call_count == 0
    dms = texts(emulator.dm_messages(PM))
    assert "could not be found in Slack" in dms and "not yours" in dms
    with database.session() as session:
        assert len(session.exec(select(TrainingModule)).all()) == 4
    assert emulator.violations == []


def mrkdwn_texts(node: Any) -> list[str]:
    """Every text Slack parses as mrkdwn: fallback texts and mrkdwn objects (not plain_text)."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn" or (
            "text" in node
            and isinstance(node["text"], str)
            and node.get("type") in (None, "message")
        ):
            found.append(str(node.get("text", "")))
        for value in node.values():
            found += mrkdwn_texts(value)
    elif isinstance(node, list):
        for item in node:
            found += mrkdwn_texts(item)
    return found


def test_hostile_titles_are_escaped_in_every_text(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    event_id = schedule(slack, database, title="<!channel> & <https://evil.example|click>")
    training(slack, f"roster {event_id}")
    training(slack, "list")
    sent = emulator.dm_messages(ANNA) + emulator.dm_messages(PM) + emulator.responses[-2:]
    raw = "\n".join(mrkdwn_texts(sent))
    assert "<!channel>" not in raw and "<https://evil.example" not in raw
    assert "&lt;!channel&gt; &amp;" in raw
    assert emulator.violations == []


def test_sessions_go_by_their_number_in_the_project_never_the_database_id(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    from tests.test_flows_meetings import plan_series

    project_with_curriculum(slack)
    # three events first
    response = plan_series(slack, people=[ANNA], audience_kind="none", count="3")
    assert response.json is None or "errors" not in response.json, response.json
    event_id = schedule(slack, database)
    assert event_id == 4  # the project's first session, after its three meetings
    said = texts(emulator.dm_messages(PM)) + texts(emulator.responses)
    assert "Session *#1* System overview is scheduled" in said
    assert "See who answered with `/training roster 1`" in said
    assert "#4" not in said
    training(slack, "list")
    listed = told(slack)
    assert "*#1 System overview*" in listed and "#4" not in listed
    training(slack, "roster 1")
    assert "Session #1 · module *System overview*" in told(slack)
    training(slack, "roster ERP #1")
    assert "Session #1 · module" in told(slack)
    training(slack, f"roster {event_id}")
    assert "There is no training session 4 in this project" in told(slack)
    training(slack, "cancel 1")
    say_yes(slack, PM)
    assert "Session #1 *System overview* is cancelled" in texts(emulator.responses[-1:])
    with database.session() as session:
        assert session.get(CalendarEvent, event_id).status == "cancelled"  # type: ignore[union-attr]


def test_quizzes_go_by_their_number_in_the_project_never_the_database_id(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    overview = module_id(database, "System overview")
    training(slack, "question")
    slack.submit_view(
        PM, {"module": str(overview), "kind": "single", "text": "F4?", "options": "*Help\nSave"}
    )
    with database.session() as session:  # another workspace's quiz takes the first row
        project = session.exec(select(TrainingModule)).first()
        session.add(
            QuizRound(
                team_id=OTHER_TEAM,
                project_id=project.project_id,  # type: ignore[union-attr]
                module_id=overview,
                opens_at=START,
                deadline=START,
                closed_at=START,
                created_by=PM,
                created_at=START,
            )
        )
        session.commit()
    training(slack, "quiz")
    slack.submit_view(PM, {"module": str(overview), "deadline": epoch(START + timedelta(days=3))})
    assert "Quiz #1 on *System overview* sent to 3 trainees" in texts(emulator.dm_messages(PM))
    with database.session() as session:
        assert [q.id for q in session.exec(select(QuizRound)).all()] == [1, 2]
    training(slack, "quiz results 1")
    assert "Quiz #1 · System overview" in told(slack)
    training(slack, "quiz results ERP #1")
    assert "Quiz #1 · System overview" in told(slack)
    training(slack, "quiz results 2")
    assert "There is no quiz 2 in this project" in told(slack)
    training(slack, "help")
    assert "`/training quiz results [CODE] 1`" in texts(emulator.responses[-1:])
    assert "ID" not in texts(emulator.responses[-1:])


def test_the_session_form_asks_what_the_audience_needs_and_a_forged_one_is_not_redrawn(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    training(slack, "new")
    form = emulator.top_view(PM)
    assert form is not None
    assert {"audience_roles", "audience_quadrants", "audience_people"}.isdisjoint(
        b.get("block_id") for b in form["blocks"]
    )
    for metadata in ('{"p": 999999}', '{"p": "x"}', "[]"):
        forged = {**form, "private_metadata": metadata}
        slack.block_action(PM, "value", "people", "audience_kind", view=forged)
        shown = emulator.top_view(PM)
        assert shown is not None and "audience_people" not in str(shown["blocks"])
    slack.block_action(OUTSIDER, "value", "people", "audience_kind", view=form)  # not the team
    shown = emulator.top_view(PM)
    assert shown is not None and "audience_people" not in str(shown["blocks"])
    slack.block_action(
        PM, "value", "people", "audience_kind", view=form, typed={"location": "Room 4.02"}
    )
    shown = emulator.top_view(PM)
    assert shown is not None
    by_id = {b.get("block_id"): b for b in shown["blocks"]}
    assert "audience_people" in by_id
    assert by_id["location"]["element"]["initial_value"] == "Room 4.02"
    assert emulator.violations == []
