"""Trainings services: the standard curriculum in both languages, module and question rules, CSV
import by line, quizzes scored at once with one reminder, practical assessments, sessions and
series on the calendar core, the feedback poll after a session, and the readiness rule."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import event
from sqlmodel import col, select

from bot.calendar import attendance
from bot.calendar import service as calendar
from bot.clock import MovableClock
from bot.errors import NotFound, PermissionDenied, ValidationError
from bot.services import keyusers, projects, training_quizzes
from bot.services import training_readiness as readiness
from bot.services import training_sessions as sessions
from bot.services import trainings as service
from bot.services.context import Ctx
from bot.services.home import viewer_of
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.views.calendar import MESSAGES as CALENDAR_MESSAGES
from bot.views.polls import MESSAGES as POLL_MESSAGES
from bot.views.trainings import MESSAGES
from storage.models import (
    CalendarEvent,
    Interaction,
    OutboxMessage,
    Poll,
    PollParticipant,
    PracticalAssessment,
    Project,
    QuizAttempt,
    QuizRound,
    TrainingModule,
    TrainingSession,
)
from tests.conftest import KEY_USERS, OUTSIDER, PM, START

ANNA, BEN, CARL = KEY_USERS[0], KEY_USERS[1], KEY_USERS[2]
ADMIN_KEY_USER = KEY_USERS[3]
TRAINER = "UTOM00001"


def as_user(ctx: Ctx, user_id: str) -> Ctx:
    return Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=user_id, clock=ctx.clock)


def make_project(ctx: Ctx, locale: str = "en") -> Project:
    project = projects.create_project(
        ctx=ctx,
        data=ProjectInput(
            name="Rollout", code="ERP", pm_ids=[PM], timezone="Europe/Berlin", locale=locale
        ),
    )
    for user in (ANNA, BEN, CARL):
        keyusers.add_key_user(
            ctx=ctx, project=project, data=KeyUserInput(user_id=user, role="key_user")
        )
    keyusers.add_key_user(
        ctx=ctx,
        project=project,
        data=KeyUserInput(user_id=ADMIN_KEY_USER, role="system_administrator"),
    )
    projects.set_team_members(ctx=ctx, project=project, user_ids=[TRAINER])
    return project


def module_named(ctx: Ctx, name: str) -> TrainingModule:
    return ctx.session.exec(select(TrainingModule).where(TrainingModule.name == name)).one()


def add_questions(ctx: Ctx, project: Project, module: TrainingModule, count: int = 2) -> None:
    for index in range(count):
        training_quizzes.add_question(
            ctx=ctx,
            project=project,
            data=training_quizzes.QuestionInput(
                module_id=module.id,
                kind="single" if index % 2 == 0 else "multiple",
                text=f"Question {index + 1}",
                options=["right", "wrong", "also right"],
                correct=[0] if index % 2 == 0 else [0, 2],
            ),
        )


# ------------------------------------------------------------------------------- curriculum


def test_standard_curriculum_in_english_with_hours_formats_and_audience(ctx: Ctx) -> None:
    project = make_project(ctx)
    modules = service.adopt_standard_curriculum(ctx=ctx, project=project)
    assert [(m.name, m.planned_hours, m.formats) for m in modules] == [
        ("System overview", 8, ["lecture"]),
        ("Basic operation", 16, ["lecture", "hands_on"]),
        ("Administration", 24, ["lecture", "case_study"]),
        ("Maintenance and troubleshooting", 16, ["lecture", "hands_on"]),
    ]
    assert modules[2].audience_roles == ["system_administrator", "key_user"]
    assert [m.position for m in modules] == [1, 2, 3, 4]
    with pytest.raises(ValidationError):
        service.adopt_standard_curriculum(ctx=ctx, project=project)
    assert len(service.modules_of(ctx, project.id or 0)) == 4


def test_standard_curriculum_in_chinese(ctx: Ctx) -> None:
    project = make_project(ctx, locale="zh-CN")
    names = [m.name for m in service.adopt_standard_curriculum(ctx=ctx, project=project)]
    assert names == ["系统概述", "基本操作", "系统管理", "维护与故障排除"]


def test_only_pms_edit_the_curriculum(ctx: Ctx) -> None:
    project = make_project(ctx)
    for user in (TRAINER, ANNA, OUTSIDER):
        with pytest.raises(PermissionDenied):
            service.adopt_standard_curriculum(ctx=as_user(ctx, user), project=project)
    assert service.modules_of(ctx, project.id or 0) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": " "}, "name"),
        ({"planned_hours": "many"}, "planned_hours"),
        ({"planned_hours": "0"}, "planned_hours"),
        ({"formats": []}, "formats"),
        ({"pass_mark": "120"}, "pass_mark"),
        ({"audience_roles": ["wizard"]}, "audience_roles"),
    ],
)
def test_bad_module_input_is_refused_by_field(
    ctx: Ctx, overrides: dict[str, Any], field: str
) -> None:
    project = make_project(ctx)
    values: dict[str, Any] = {"name": "Reporting", "planned_hours": "8", "formats": ["lecture"]}
    values.update(overrides)
    with pytest.raises(ValidationError) as refused:
        service.save_module(ctx=ctx, project=project, data=service.ModuleInput(**values))
    assert field in refused.value.errors
    assert service.modules_of(ctx, project.id or 0) == []


def test_module_names_are_unique_per_project_and_edits_keep_the_position(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    basic = module_named(ctx, "Basic operation")
    with pytest.raises(ValidationError) as refused:
        service.save_module(
            ctx=ctx,
            project=project,
            data=service.ModuleInput(name="system OVERVIEW", planned_hours=4, formats=["lecture"]),
        )
    assert "name" in refused.value.errors
    changed = service.save_module(
        ctx=ctx,
        project=project,
        module_id=basic.id,
        data=service.ModuleInput(
            name="Basic operation", planned_hours="20", formats=["hands_on"], has_practical=True
        ),
    )
    assert (changed.position, changed.planned_hours, changed.formats) == (2, 20, ["hands_on"])


def test_curriculum_csv_round_trip_and_bad_rows_reported_by_line(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    exported = service.export_curriculum_csv(ctx, project)
    assert exported.splitlines()[0] == ",".join(service.CURRICULUM_COLUMNS)
    assert "Basic operation" in exported and "lecture|hands_on" in exported
    text = (
        "name,planned_hours,formats,practical\n"
        "Basic operation,12,hands_on,yes\n"
        "Reporting,6,lecture|discussion,no\n"
        "Broken,lots,lecture,no\n"
        ",4,lecture,no\n"
    )
    report = service.import_curriculum_csv(ctx=ctx, project=project, text=text)
    assert report.updated == ["Basic operation"]
    assert report.added == ["Reporting"]
    assert [(line, field) for line, field, _msg in report.errors] == [
        (4, "planned_hours"),
        (5, "name"),
    ]
    assert module_named(ctx, "Basic operation").planned_hours == 12
    assert module_named(ctx, "Reporting").position == 5


# ---------------------------------------------------------------------------- question bank


def test_a_question_without_a_right_answer_is_refused(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    module = module_named(ctx, "Basic operation")
    options, correct = training_quizzes.parse_marked_options("Debit\nCredit")
    with pytest.raises(ValidationError) as refused:
        training_quizzes.add_question(
            ctx=ctx,
            project=project,
            data=training_quizzes.QuestionInput(module.id, "single", "Key 40?", options, correct),
        )
    assert "options" in refused.value.errors
    options, correct = training_quizzes.parse_marked_options("*Debit\n*Credit")
    with pytest.raises(ValidationError):  # single choice with two right answers
        training_quizzes.add_question(
            ctx=ctx,
            project=project,
            data=training_quizzes.QuestionInput(module.id, "single", "Key 40?", options, correct),
        )
    options, correct = training_quizzes.parse_marked_options("*Debit\nCredit\n")
    assert (options, correct) == (["Debit", "Credit"], [0])
    training_quizzes.add_question(
        ctx=ctx,
        project=project,
        data=training_quizzes.QuestionInput(module.id, "single", "Key 40?", options, correct),
    )
    assert len(training_quizzes.questions_of(ctx, module.id or 0)) == 1
    with pytest.raises(PermissionDenied):
        training_quizzes.add_question(
            ctx=as_user(ctx, ANNA),
            project=project,
            data=training_quizzes.QuestionInput(module.id, "single", "Key 40?", options, correct),
        )


def test_question_csv_import_keeps_good_rows(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    text = (
        "module,kind,question,options,correct\n"
        "Basic operation,single,What is F4?,Value help|Save|Exit,1\n"
        "Basic operation,multiple,Which are reports?,FBL1N|FB01|FBL3N,1|3\n"
        "Nope,single,Lost?,a|b,1\n"
        "Basic operation,single,No right one?,a|b,\n"
    )
    report = training_quizzes.import_questions_csv(
        ctx=as_user(ctx, TRAINER), project=project, text=text
    )
    assert len(report.added) == 2
    assert [(line, field) for line, field, _m in report.errors] == [(4, "module"), (5, "options")]
    bank = training_quizzes.questions_of(ctx, module_named(ctx, "Basic operation").id or 0)
    assert [(q.kind, q.correct) for q in bank] == [("single", [0]), ("multiple", [0, 2])]


# ------------------------------------------------------------------------------------ quizzes


def start_quiz(ctx: Ctx, project: Project, module: TrainingModule) -> Any:
    return training_quizzes.start_quiz(
        ctx=ctx,
        project=project,
        module_id=module.id,
        deadline=START + timedelta(days=3),
        remind_hours=24,
        messages=MESSAGES,
    )


def test_a_quiz_goes_to_the_modules_trainees_and_is_scored_at_once(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    admin = module_named(ctx, "Administration")  # for system administrators and key users
    add_questions(ctx, project, admin, count=2)
    quiz, keys = start_quiz(ctx, project, admin)
    assert len(keys) == 4
    assert {k.split(":")[-1] for k in keys} == {ANNA, BEN, CARL, ADMIN_KEY_USER}
    questions = training_quizzes.quiz_questions(ctx, quiz)
    single, multiple = questions
    _quiz, attempt, _ = training_quizzes.submit_quiz(
        ctx=as_user(ctx, ANNA),
        quiz_id=quiz.id,
        user_id=ANNA,
        raw={f"q{single.id}": "0", f"q{multiple.id}": ["0"]},  # second is incomplete: wrong
    )
    assert (attempt.score, attempt.passed, attempt.missed) == (50, False, [multiple.id])
    _quiz, attempt, _ = training_quizzes.submit_quiz(
        ctx=as_user(ctx, BEN),
        quiz_id=quiz.id,
        user_id=BEN,
        raw={f"q{single.id}": "0", f"q{multiple.id}": ["0", "2"]},
    )
    assert (attempt.score, attempt.passed, attempt.missed) == (100, True, [])
    with pytest.raises(PermissionDenied):  # one attempt
        training_quizzes.submit_quiz(
            ctx=as_user(ctx, BEN),
            quiz_id=quiz.id,
            user_id=BEN,
            raw={f"q{single.id}": "1", f"q{multiple.id}": ["1"]},
        )
    with pytest.raises(PermissionDenied):  # not sent to them
        training_quizzes.quiz_for_taker(as_user(ctx, OUTSIDER), quiz.id, OUTSIDER)
    with pytest.raises(ValidationError) as unanswered:
        training_quizzes.submit_quiz(ctx=as_user(ctx, CARL), quiz_id=quiz.id, user_id=CARL, raw={})
    assert set(unanswered.value.errors) == {f"q{single.id}", f"q{multiple.id}"}
    taken = ctx.session.exec(select(Interaction).where(Interaction.kind == "training.quiz_taken"))
    assert len(taken.all()) == 2


def test_a_quiz_needs_questions_and_a_later_deadline(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    module = module_named(ctx, "System overview")
    with pytest.raises(ValidationError) as refused:
        training_quizzes.start_quiz(
            ctx=ctx,
            project=project,
            module_id=module.id,
            deadline=START + timedelta(minutes=30),
            remind_hours=None,
            messages=MESSAGES,
        )
    assert set(refused.value.errors) == {"module", "deadline"}


def test_quiz_reminder_once_then_closed_results_to_the_sender(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    module = module_named(ctx, "System overview")
    add_questions(ctx, project, module, count=1)
    quiz, _keys = start_quiz(as_user(ctx, TRAINER), project, module)
    for row in ctx.session.exec(select(OutboxMessage)).all():  # as if delivered
        row.ts, row.channel, row.status = "1.000", "D" + row.payload["channel"][1:], "sent"
        ctx.session.add(row)
    question = training_quizzes.quiz_questions(ctx, quiz)[0]
    training_quizzes.submit_quiz(
        ctx=as_user(ctx, ANNA), quiz_id=quiz.id, user_id=ANNA, raw={f"q{question.id}": "0"}
    )
    clock.set(START + timedelta(days=2, hours=1))
    reminded = training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES)
    assert sorted(k.split(":")[-1] for k in reminded) == sorted([BEN, CARL, ADMIN_KEY_USER])
    assert training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES) == []
    clock.set(START + timedelta(days=3))
    with pytest.raises(PermissionDenied):
        training_quizzes.quiz_for_taker(as_user(ctx, BEN), quiz.id, BEN)
    [results_key] = training_quizzes.close_quizzes(ctx=ctx, messages=MESSAGES)
    row = ctx.session.exec(select(OutboxMessage).where(OutboxMessage.key == results_key)).one()
    assert row.payload["channel"] == TRAINER
    assert training_quizzes.close_quizzes(ctx=ctx, messages=MESSAGES) == []
    with pytest.raises(PermissionDenied):  # results are for the trainer and PMs
        training_quizzes.quiz_results(as_user(ctx, BEN), quiz.id)
    results = training_quizzes.quiz_results(as_user(ctx, TRAINER), quiz.id)
    assert (len(results.taken), results.average, results.passed) == (1, 100, 1)


def test_a_weekly_quiz_sends_its_next_round_a_week_later_once(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    module = module_named(ctx, "System overview")
    add_questions(ctx, project, module, count=3)
    first, _keys = training_quizzes.start_quiz(
        ctx=as_user(ctx, TRAINER),
        project=project,
        module_id=module.id,
        deadline=START + timedelta(days=3),
        remind_hours=24,
        messages=MESSAGES,
        repeat_weekly=True,
    )
    clock.set(START + timedelta(days=6))
    assert training_quizzes.repeat_quizzes(ctx=ctx, messages=MESSAGES) == []
    clock.set(START + timedelta(days=7))
    keys = training_quizzes.repeat_quizzes(ctx=ctx, messages=MESSAGES)
    assert len(keys) == 4  # the module's four trainees
    second = ctx.session.get(QuizRound, first.next_round_id)
    assert second is not None and second.deadline == START + timedelta(days=10)
    assert (second.created_by, second.repeat_weekly) == (TRAINER, True)
    assert training_quizzes.repeat_quizzes(ctx=ctx, messages=MESSAGES) == []
    projects.set_team_members(ctx=ctx, project=project, user_ids=[])  # the trainer left
    clock.set(START + timedelta(days=14))
    [stopped] = training_quizzes.repeat_quizzes(ctx=ctx, messages=MESSAGES)
    assert stopped.endswith(":repeat_stopped")
    assert not second.repeat_weekly and second.next_round_id is None
    assert training_quizzes.repeat_quizzes(ctx=ctx, messages=MESSAGES) == []


# ----------------------------------------------------------------------- practical assessment


def test_practical_assessment_per_month_against_the_pass_mark(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    basic = module_named(ctx, "Basic operation")
    overview = module_named(ctx, "System overview")
    trainer = as_user(ctx, TRAINER)
    row = service.record_practical(
        ctx=trainer, project=project, module_id=basic.id, user_id=ANNA, score="55", comment="slow"
    )
    assert (row.period, row.passed) == ("2026-12", False)
    row = service.record_practical(
        ctx=trainer, project=project, module_id=basic.id, user_id=ANNA, score=75
    )
    assert len(ctx.session.exec(select(PracticalAssessment)).all()) == 1
    assert (row.score, row.passed, row.comment) == (75, True, None)
    clock.set(START + timedelta(days=40))
    service.record_practical(
        ctx=trainer, project=project, module_id=basic.id, user_id=ANNA, score=80
    )
    assert len(ctx.session.exec(select(PracticalAssessment)).all()) == 2
    with pytest.raises(ValidationError) as refused:
        service.record_practical(
            ctx=trainer, project=project, module_id=overview.id, user_id=OUTSIDER, score="101"
        )
    assert set(refused.value.errors) == {"module", "user_id", "score"}
    with pytest.raises(PermissionDenied):
        service.record_practical(
            ctx=as_user(ctx, ANNA), project=project, module_id=basic.id, user_id=ANNA, score=100
        )


def test_practical_csv_import_resolves_people_and_reports_bad_rows(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    text = (
        "slack_user,module,score,comment\n"
        f"{ANNA},Basic operation,90,good\n"
        "ben@acme.test,Basic operation,40,\n"
        f"{OUTSIDER},Basic operation,70,\n"
        f"{CARL},System overview,70,\n"
    )

    def resolve(who: str) -> tuple[str, str | None] | None:
        return (BEN, None) if who == "ben@acme.test" else (who, None)

    report = service.import_practicals_csv(
        ctx=ctx, project=project, text=text, resolve_user=resolve
    )
    assert report.added == [ANNA, BEN]
    assert [(line, field) for line, field, _m in report.errors] == [(4, "user_id"), (5, "module")]


# ---------------------------------------------------------------------------------- sessions


def session_input(module: TrainingModule, **overrides: Any) -> sessions.SessionInput:
    values: dict[str, Any] = {
        "module_id": module.id,
        "trainer_id": TRAINER,
        "starts_at": START + timedelta(days=7),
        "duration_hours": "4",
        "capacity": "2",
        "location": "Room 4.02",
    }
    values.update(overrides)
    return sessions.SessionInput(**values)


def test_a_weekly_series_from_one_form_invites_the_audience_to_each_session(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    basic = module_named(ctx, "Basic operation")
    created, keys = sessions.create_sessions(
        ctx=as_user(ctx, TRAINER),
        project=project,
        data=session_input(basic, sessions="4", audience_kind="role", audience_roles=["key_user"]),
        messages=CALENDAR_MESSAGES,
    )
    starts = [view.event.starts_at for view in created]
    assert starts == [START + timedelta(days=7 * (n + 1)) for n in range(4)]
    assert [view.event.title for view in created][0] == "Basic operation (1/4)"
    assert len({view.event.series_uid for view in created}) == 1
    assert all(view.event.check_in and view.event.kind == "training" for view in created)
    assert all(view.session.hours == 4 for view in created)
    invited = {k.split(":")[3] for k in keys if ":invite:" in k}
    assert invited == {ANNA, BEN, CARL}  # not the system administrator
    assert len([k for k in keys if ":invite:" in k]) == 12
    files = [k for k in keys if ":ics:" in k]
    assert len(files) == 3  # one calendar file per person for the whole series
    row = ctx.session.exec(select(OutboxMessage).where(OutboxMessage.key == files[0])).one()
    entries = Calendar.from_ical(base64.b64decode(row.payload["content_base64"])).walk("VEVENT")
    assert len(entries) == 4 and len({str(e["UID"]) for e in entries}) == 4
    assert [e["DTSTART"].dt.hour for e in entries] == [9, 9, 9, 9]  # Berlin time each week


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"starts_at": START - timedelta(hours=1)}, "starts_at"),
        ({"duration_hours": "0"}, "duration"),
        ({"duration_hours": "soon"}, "duration"),
        ({"capacity": "0"}, "capacity"),
        ({"rsvp_deadline": START + timedelta(days=8)}, "rsvp_deadline"),
        ({"audience_kind": "people", "audience_people": []}, "audience_people"),
        ({"sessions": "40"}, "sessions"),
    ],
)
def test_bad_session_input_stores_nothing(ctx: Ctx, overrides: dict[str, Any], field: str) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    module = module_named(ctx, "System overview")
    with pytest.raises(ValidationError) as refused:
        sessions.create_sessions(
            ctx=ctx,
            project=project,
            data=session_input(module, **overrides),
            messages=CALENDAR_MESSAGES,
        )
    assert field in refused.value.errors


def test_a_double_booked_trainer_is_refused_on_the_trainer_field(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    module = module_named(ctx, "System overview")
    sessions.create_sessions(
        ctx=ctx, project=project, data=session_input(module), messages=CALENDAR_MESSAGES
    )
    clash = session_input(module, starts_at=START + timedelta(days=7, hours=2))
    with pytest.raises(ValidationError) as refused:
        sessions.create_sessions(ctx=ctx, project=project, data=clash, messages=CALENDAR_MESSAGES)
    assert "trainer_id" in refused.value.errors


def test_only_the_project_team_schedules_sessions(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    module = module_named(ctx, "System overview")
    with pytest.raises(PermissionDenied):
        sessions.create_sessions(
            ctx=as_user(ctx, ANNA),
            project=project,
            data=session_input(module),
            messages=CALENDAR_MESSAGES,
        )


def attend(ctx: Ctx, view: sessions.SessionView, statuses: dict[str, str]) -> None:
    attendance.record_attendance(
        ctx=as_user(ctx, TRAINER), event_id=view.event.id, statuses=statuses
    )


def test_feedback_poll_goes_once_to_those_who_attended(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    module = module_named(ctx, "System overview")
    [view], _keys = sessions.create_sessions(
        ctx=ctx,
        project=project,
        data=session_input(module, capacity=""),
        messages=CALENDAR_MESSAGES,
    )
    [empty], _keys = sessions.create_sessions(
        ctx=ctx,
        project=project,
        data=session_input(module, starts_at=START + timedelta(days=7, hours=5)),
        messages=CALENDAR_MESSAGES,
    )
    clock.set(view.event.starts_at)
    attend(ctx, view, {ANNA: "present", BEN: "late", CARL: "absent"})
    assert sessions.send_feedback_polls(ctx=ctx, poll_messages=POLL_MESSAGES) == []  # not over
    clock.set(START + timedelta(days=7, hours=10))
    keys = sessions.send_feedback_polls(ctx=ctx, poll_messages=POLL_MESSAGES)
    [poll] = ctx.session.exec(select(Poll)).all()
    assert poll.template == "training_feedback" and "System overview" in poll.title
    people = ctx.session.exec(select(PollParticipant.user_id)).all()
    assert sorted(people) == sorted([ANNA, BEN])
    assert len(keys) == 2
    assert sessions.send_feedback_polls(ctx=ctx, poll_messages=POLL_MESSAGES) == []
    rows = {s.event_id: s for s in ctx.session.exec(select(TrainingSession)).all()}
    assert rows[view.event.id or 0].feedback_poll_id == poll.id
    assert rows[empty.event.id or 0].feedback_poll_id is None
    assert rows[empty.event.id or 0].feedback_sent_at is not None


def test_cancelled_sessions_count_neither_as_delivered_nor_attended(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)
    module = module_named(ctx, "System overview")
    [first], _k = sessions.create_sessions(
        ctx=ctx,
        project=project,
        data=session_input(module, capacity=""),
        messages=CALENDAR_MESSAGES,
    )
    [second], _k = sessions.create_sessions(
        ctx=ctx,
        project=project,
        data=session_input(module, capacity="", starts_at=START + timedelta(days=8)),
        messages=CALENDAR_MESSAGES,
    )
    calendar.cancel_event(ctx=ctx, event_id=second.event.id, messages=CALENDAR_MESSAGES)
    clock.set(first.event.starts_at)
    attend(ctx, first, {ANNA: "present"})
    clock.set(START + timedelta(days=9))
    assert sessions.delivered_hours(ctx, project.id or 0) == {module.id: 4.0}
    assert sessions.attended_hours(ctx, project.id or 0) == {(module.id, ANNA): 4.0}
    assert [
        s["event_id"]
        for s in sessions.upcoming_sessions(ctx, project.id or 0, START, START + timedelta(days=30))
    ] == [first.event.id]


# --------------------------------------------------------------------------------- readiness


@pytest.mark.parametrize(
    ("hours", "quiz", "practical", "has_practical", "ready"),
    [
        (8, True, False, False, True),  # 8 of 10 h = 80 %: enough
        (7.5, True, False, False, False),  # 75 %: not enough
        (10, False, False, False, False),  # quiz below the pass mark
        (10, True, False, True, False),  # practical not passed
        (10, True, True, True, True),
    ],
)
def test_the_readiness_rule(
    hours: float, quiz: bool, practical: bool, has_practical: bool, ready: bool
) -> None:
    module = TrainingModule(
        name="M",
        planned_hours=10,
        formats=["lecture"],
        has_practical=has_practical,
        team_id="T",
        project_id=1,
        created_at=START,
        updated_at=START,
    )
    cell = readiness.ReadinessCell(
        applicable=True, hours=hours, quiz_passed=quiz, practical_passed=practical
    )
    assert readiness.cell_ready(module, cell) is ready


def test_readiness_matrix_from_attendance_quizzes_and_practicals(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    overview = service.save_module(
        ctx=ctx,
        project=project,
        data=service.ModuleInput(name="Overview", planned_hours=4, formats=["lecture"]),
    )
    admin = service.save_module(
        ctx=ctx,
        project=project,
        data=service.ModuleInput(
            name="Admin",
            planned_hours=4,
            formats=["case_study"],
            has_practical=True,
            audience_roles=["system_administrator"],
        ),
    )
    add_questions(ctx, project, overview, count=1)
    [view], _k = sessions.create_sessions(
        ctx=ctx,
        project=project,
        data=session_input(overview, capacity=""),
        messages=CALENDAR_MESSAGES,
    )
    quiz, _keys = start_quiz(ctx, project, overview)
    question = training_quizzes.quiz_questions(ctx, quiz)[0]
    for user, answer in ((ANNA, "0"), (BEN, "1")):
        training_quizzes.submit_quiz(
            ctx=as_user(ctx, user), quiz_id=quiz.id, user_id=user, raw={f"q{question.id}": answer}
        )
    clock.set(view.event.starts_at)
    attend(ctx, view, {ANNA: "present", BEN: "present", CARL: "excused"})
    service.record_practical(
        ctx=ctx, project=project, module_id=admin.id, user_id=ADMIN_KEY_USER, score=90
    )
    matrix = readiness.readiness_for(as_user(ctx, TRAINER), project)
    by_user = {row.key_user.user_id: row for row in matrix.rows}
    assert by_user[ANNA].cells[0].ready and by_user[ANNA].cells[0].hours == 4
    assert not by_user[BEN].cells[0].ready and by_user[BEN].cells[0].quiz_score == 0
    assert not by_user[CARL].cells[0].ready and by_user[CARL].cells[0].hours == 0
    assert not by_user[ANNA].cells[1].applicable  # Admin is for system administrators
    admin_cell = by_user[ADMIN_KEY_USER].cells[1]
    assert (admin_cell.practical_score, admin_cell.practical_passed, admin_cell.ready) == (
        90,
        True,
        False,
    )
    summary = readiness.readiness_by_module(ctx, project)
    assert [(m["module"], m["trainees"], m["ready"]) for m in summary] == [
        ("Overview", 4, 1),
        ("Admin", 1, 0),
    ]
    csv_text = readiness.export_csv(ctx, project)
    assert csv_text.splitlines()[0].startswith("slack_user,name,role,module")
    assert len(csv_text.splitlines()) == 1 + 4 + 1
    with pytest.raises(PermissionDenied):
        readiness.readiness_for(as_user(ctx, ANNA), project)
    own = readiness.own_readiness(as_user(ctx, ANNA), viewer_of(ctx, ANNA).key_user_projects)
    assert [(module.name, cell.ready) for _p, module, cell in own] == [("Overview", True)]


def test_readiness_statements_do_not_grow_with_key_users(ctx: Ctx) -> None:
    project = make_project(ctx)
    service.adopt_standard_curriculum(ctx=ctx, project=project)

    def statements() -> int:
        seen: list[str] = []

        def count(*_args: Any) -> None:
            seen.append("x")

        engine = ctx.session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            readiness.compute(ctx, project)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    few = statements()
    for index in range(30):
        keyusers.add_key_user(
            ctx=ctx, project=project, data=KeyUserInput(user_id=f"UMANY{index:04d}")
        )
    assert statements() == few


def test_ids_from_another_project_are_not_found(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Other", code="HR", pm_ids=[PM], timezone="UTC")
    )
    service.adopt_standard_curriculum(ctx=ctx, project=other)
    foreign = service.modules_of(ctx, other.id or 0)[0]
    with pytest.raises(NotFound):
        service.get_module(ctx, foreign.id, project)
    with pytest.raises(NotFound):
        sessions.session_for_event(ctx, 999)
    assert ctx.session.exec(select(CalendarEvent)).all() == []
    assert ctx.session.exec(select(QuizAttempt)).all() == []


def test_a_quiz_and_its_reminder_take_the_same_statements_for_4_or_34_people(
    ctx: Ctx, clock: MovableClock
) -> None:
    """Attempts, invitations and reminders are written in one insert each and the invitations'
    messages read in one query: the statements do not grow with the module's trainees."""
    from sqlalchemy import update

    def statements(work) -> tuple[int, Any]:  # type: ignore[no-untyped-def]
        seen: list[str] = []

        def count(*_args: object) -> None:
            seen.append("statement")

        engine = ctx.session.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            result = work()
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen), result

    def quiz_for(project: Project, name: str) -> list[int]:
        clock.set(START)
        module = service.save_module(
            ctx=ctx,
            project=project,
            data=service.ModuleInput(name=name, planned_hours=4, formats=["lecture"]),
        )
        add_questions(ctx, project, module, count=2)
        started, (quiz, keys) = statements(lambda: start_quiz(ctx, project, module))
        ctx.session.execute(  # every invitation delivered, as the sender would mark it
            update(OutboxMessage)
            .where(col(OutboxMessage.key).in_(keys))
            .values(status="sent", channel="D0CHANNEL", ts="1.000")
        )
        clock.set(quiz.deadline - timedelta(hours=23))
        reminded, queued = statements(
            lambda: training_quizzes.remind_quizzes(ctx=ctx, messages=MESSAGES)
        )
        assert len(keys) == len(queued) == len(keyusers.active_key_users(ctx, project))
        return [started, reminded]

    small = make_project(ctx)
    large = projects.create_project(
        ctx=ctx,
        data=ProjectInput(name="Large", code="LARGE", pm_ids=[PM], timezone="Europe/Berlin"),
    )
    for index in range(34):
        keyusers.add_key_user(
            ctx=ctx, project=large, data=KeyUserInput(user_id=f"UMANY{index:04d}")
        )
    assert quiz_for(large, "Large module") == quiz_for(small, "Small module")
