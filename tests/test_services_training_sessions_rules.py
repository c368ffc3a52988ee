"""Training sessions in detail: what a session's event holds, the lists by span, the digest's plain
data, hours planned, delivered and attended, a new time, and the feedback poll's settings."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.calendar import service as calendar
from bot.clock import MovableClock
from bot.errors import Msg, NotFound, ValidationError
from bot.i18n import plain
from bot.services import keyusers, projects
from bot.services import polls as poll_service
from bot.services import training_sessions as sessions
from bot.services import trainings as service
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.views.calendar import MESSAGES as CALENDAR_MESSAGES
from bot.views.polls import MESSAGES as POLL_MESSAGES
from storage.models import Interaction, OutboxMessage, Poll, PollQuestion, Project, TrainingModule
from tests.conftest import PM, START
from tests.test_services_trainings import (
    ADMIN_KEY_USER,
    ANNA,
    BEN,
    CARL,
    TRAINER,
    as_user,
    attend,
    make_project,
    session_input,
)


def overview(ctx: Ctx, project: Project) -> TrainingModule:
    return service.save_module(
        ctx=ctx,
        project=project,
        data=service.ModuleInput(
            name="Overview", planned_hours=8, formats=["lecture"], description="The big picture"
        ),
    )


def schedule(ctx: Ctx, project: Project, module: TrainingModule, **overrides: object):  # type: ignore[no-untyped-def]
    views, keys = sessions.create_sessions(
        ctx=as_user(ctx, TRAINER),
        project=project,
        data=session_input(module, **overrides),
        messages=CALENDAR_MESSAGES,
    )
    return views, keys


def answer(ctx: Ctx, event_id: int | None, user: str, response: str) -> None:
    calendar.respond(
        ctx=as_user(ctx, user),
        event_id=event_id,
        user_id=user,
        response=response,
        messages=CALENDAR_MESSAGES,
    )


def test_a_sessions_event_holds_the_forms_values(ctx: Ctx) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    [view], keys = schedule(
        ctx,
        project,
        module,
        title="  Kick-off  ",
        duration_hours="1,6666",
        video_url="https://meet.example/abc",
        rsvp_deadline=START + timedelta(days=6),
        reminders=[60],
    )
    event = view.event
    assert (event.title, event.kind, event.description, event.location, event.video_url) == (
        "Kick-off",
        "training",
        "The big picture",
        "Room 4.02",
        "https://meet.example/abc",
    )
    assert (event.capacity, event.organizer_id, event.series_uid) == (2, TRAINER, None)
    assert (event.starts_at, event.ends_at) == (
        START + timedelta(days=7),
        START + timedelta(days=7, minutes=100),
    )
    assert event.rsvp_deadline == START + timedelta(days=6)
    assert list(event.reminder_minutes) == [60]
    assert (view.session.hours, view.session.trainer_id, view.session.audience_kind) == (
        1.67,
        TRAINER,
        "all",
    )
    assert (view.module.id, view.pending) == (module.id, 4)
    assert len([k for k in keys if ":ics:" in k]) == 4  # a single session: a file with each invite
    [logged] = ctx.session.exec(
        select(Interaction).where(Interaction.kind == "training.sessions_created")
    ).all()
    assert (logged.project_id, logged.detail) == (
        project.id,
        {"module_id": module.id, "events": [event.id], "invited": 4},
    )


def test_a_series_shifts_each_deadline_and_sends_one_file_titled_for_the_series(
    ctx: Ctx,
) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    views, keys = schedule(
        ctx,
        project,
        module,
        sessions=2,
        title="x" * 160,
        rsvp_deadline=START + timedelta(days=6),
    )
    assert [v.event.rsvp_deadline for v in views] == [
        START + timedelta(days=6),
        START + timedelta(days=13),
    ]
    assert [v.event.title for v in views] == ["x" * 150, "x" * 150]
    files = [k for k in keys if ":ics:" in k]
    assert sorted(files) == sorted(
        f"training:series:{views[0].event.series_uid}:ics:{user}"
        for user in (ANNA, BEN, CARL, ADMIN_KEY_USER)
    )
    row = ctx.session.exec(select(OutboxMessage).where(OutboxMessage.key == files[0])).one()
    assert row.method == "files.upload_v2"
    assert row.subject == f"calendar:{views[0].event.id}"
    assert row.payload["title"] == f"Calendar entries: 2 sessions, from {'x' * 150}"
    assert row.payload["channel"] in (ANNA, BEN, CARL, ADMIN_KEY_USER)
    assert b"METHOD:REQUEST" in base64.b64decode(row.payload["content_base64"])
    assert all(
        v.event.series_uid and v.event.series_uid == views[0].event.series_uid for v in views
    )


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_the_series_file_is_titled_after_the_first_session_in_the_projects_language(
    ctx: Ctx, locale: str
) -> None:
    project = make_project(ctx, locale=locale)
    module = overview(ctx, project)
    views, keys = schedule(ctx, project, module, sessions="2", title="Basics")
    assert [v.event.title for v in views] == ["Basics (1/2)", "Basics (2/2)"]
    assert views[0].event.series_uid is not None
    file = next(k for k in keys if ":ics:" in k)
    row = ctx.session.exec(select(OutboxMessage).where(OutboxMessage.key == file)).one()
    title = plain(locale, "training.series_file_title", title="Basics (1/2)", count=2)
    assert row.payload["title"] == title
    if locale == "en":
        assert title == "Calendar entries: 2 sessions, from Basics (1/2)"
    else:
        assert "Calendar entries" not in title


def test_an_empty_count_is_one_session_with_its_own_file(ctx: Ctx) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    views, keys = schedule(ctx, project, module, sessions="")
    assert [v.event.series_uid for v in views] == [None]
    files = sorted(k for k in keys if ":ics:" in k)
    assert len(files) == 4 and not any(":series:" in k for k in files)


def test_a_quadrant_audience(ctx: Ctx) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    [view], _keys = schedule(
        ctx, project, module, audience_kind="quadrant", audience_quadrants=["monitor"]
    )
    assert (view.session.audience_kind, view.session.audience_values, view.pending) == (
        "quadrant",
        ["monitor"],
        4,
    )


def test_every_fields_error_at_once_and_each_in_its_words(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Other", code="HR", pm_ids=[PM], timezone="UTC")
    )
    foreign = overview(ctx, other)
    module = overview(ctx, project)
    with pytest.raises(ValidationError) as refused:
        schedule(ctx, project, foreign)
    assert set(refused.value.errors) == {"module", "title"}  # no module, so no title either
    assert refused.value.errors["module"] == Msg("training.errors.module_not_found")
    with pytest.raises(ValidationError) as refused:
        schedule(ctx, project, module, starts_at=START - timedelta(hours=1), capacity="many")
    assert set(refused.value.errors) == {"starts_at", "capacity"}
    assert refused.value.errors["capacity"] == Msg("calendar.errors.capacity", limit=9999)
    with pytest.raises(ValidationError) as refused:
        schedule(ctx, project, module, starts_at=None)
    assert set(refused.value.errors) == {"starts_at"}
    with pytest.raises(ValidationError) as refused:
        schedule(ctx, project, module, duration_hours="soon")
    assert refused.value.errors == {"duration": Msg("training.errors.duration")}


def test_a_session_for_nobody_is_refused_on_the_audience(ctx: Ctx) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    with pytest.raises(ValidationError) as refused:
        schedule(ctx, project, module, audience_kind="role", audience_roles=["decision_maker"])
    assert refused.value.errors == {"audience_kind": Msg("poll.errors.audience_empty")}


def test_only_training_events_are_sessions(ctx: Ctx) -> None:
    project = make_project(ctx)
    meeting = calendar.create_event(
        ctx=ctx,
        project=project,
        data=calendar.EventInput(
            kind="meeting",
            title="Steering",
            starts_at=START + timedelta(days=3),
            duration_minutes=60,
            organizer_id=PM,
        ),
    )
    with pytest.raises(NotFound) as missing:
        sessions.session_for_event(ctx, meeting.id)
    assert missing.value.message == Msg("training.errors.no_such_session")  # no id repeated


def test_lists_by_span_and_the_digests_plain_data(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    [later], _k = schedule(ctx, project, module, starts_at=START + timedelta(days=10))
    [past], _k = schedule(ctx, project, module, starts_at=START + timedelta(hours=2), capacity="")
    [soon], _k = schedule(ctx, project, module, starts_at=START + timedelta(days=2))
    [cancelled], _k = schedule(ctx, project, module, starts_at=START + timedelta(days=3))
    now = START + timedelta(hours=6)  # the first one has just ended
    [edge], _k = schedule(ctx, project, module, starts_at=now + timedelta(days=7))
    calendar.cancel_event(ctx=ctx, event_id=cancelled.event.id, messages=CALENDAR_MESSAGES)
    answer(ctx, soon.event.id, ANNA, "accepted")
    answer(ctx, soon.event.id, BEN, "accepted")
    answer(ctx, soon.event.id, CARL, "accepted")  # the third: waitlisted
    answer(ctx, soon.event.id, ADMIN_KEY_USER, "declined")
    clock.set(now)

    def ids(found: sessions.SessionList | list[sessions.SessionView]) -> list[int | None]:
        views = found.views if isinstance(found, sessions.SessionList) else found
        return [v.event.id for v in views]

    week = sessions.list_sessions(ctx, project, "week")
    assert ids(week) == [soon.event.id] and (week.total, week.later) == (1, 2)
    upcoming = sessions.list_sessions(ctx, project, "upcoming").views
    assert ids(upcoming) == [soon.event.id, edge.event.id, later.event.id]
    assert (upcoming[-1].accepted, upcoming[-1].waitlisted, upcoming[-1].declined) == (0, 0, 0)
    assert upcoming[-1].pending == 4
    assert ids(sessions.list_sessions(ctx, project, "all")) == [
        past.event.id,
        soon.event.id,
        cancelled.event.id,
        edge.event.id,
        later.event.id,
    ]
    [listed] = sessions.list_sessions(ctx, project, "week").views
    assert (listed.accepted, listed.waitlisted, listed.declined, listed.pending) == (2, 1, 1, 0)
    assert listed.module.name == "Overview"
    assert ids(sessions.sessions_between(ctx, project.id or 0, None, None, limit=2)) == [
        past.event.id,
        soon.event.id,
    ]
    assert sessions.upcoming_sessions(
        ctx, project.id or 0, START + timedelta(hours=3), START + timedelta(days=3)
    ) == [
        {
            "event_id": soon.event.id,
            "title": "Overview",
            "module": "Overview",
            "starts_at": soon.event.starts_at,
            "ends_at": soon.event.ends_at,
            "trainer_id": TRAINER,
            "capacity": 2,
            "accepted": 2,
            "waitlisted": 1,
            "declined": 1,
            "pending": 0,
        }
    ]
    assert [
        row["event_id"]
        for row in sessions.upcoming_sessions(
            ctx, project.id or 0, soon.event.starts_at, soon.event.ends_at
        )
    ] == [soon.event.id]  # starting at the window's start
    # A session under way at the window's start is not "upcoming" in it.
    assert (
        sessions.upcoming_sessions(
            ctx, project.id or 0, START + timedelta(hours=3), START + timedelta(days=1)
        )
        == []
    )


def test_hours_delivered_once_ended_and_attended_per_person_and_project(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    [first], _k = schedule(ctx, project, module, capacity="")
    [second], _k = schedule(
        ctx, project, module, capacity="", starts_at=START + timedelta(days=8), duration_hours="2"
    )
    other = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Other", code="HR", pm_ids=[PM], timezone="UTC")
    )
    for user in (ANNA, BEN):
        keyusers.add_key_user(ctx=ctx, project=other, data=KeyUserInput(user_id=user))
    projects.set_team_members(ctx=ctx, project=other, user_ids=[TRAINER])
    elsewhere = overview(ctx, other)
    [third], _k = schedule(ctx, other, elsewhere, capacity="", starts_at=START + timedelta(days=9))
    basics = service.save_module(
        ctx=ctx,
        project=project,
        data=service.ModuleInput(name="Basics", planned_hours=2, formats=["lecture"]),
    )
    schedule(ctx, project, basics, starts_at=START + timedelta(days=8, hours=5), duration_hours="1")
    [dropped], _k = schedule(
        ctx, project, basics, starts_at=START + timedelta(days=8, hours=7), duration_hours="1"
    )
    schedule(ctx, project, module, starts_at=START + timedelta(days=20), duration_hours="3")
    clock.set(dropped.event.starts_at)
    attend(ctx, dropped, {CARL: "present"})
    calendar.cancel_event(ctx=ctx, event_id=dropped.event.id, messages=CALENDAR_MESSAGES)
    clock.set(first.event.starts_at)
    attend(ctx, first, {ANNA: "present", BEN: "late", CARL: "absent"})
    clock.set(second.event.starts_at)
    attend(ctx, second, {ANNA: "present"})
    clock.set(third.event.starts_at)
    attend(ctx, third, {BEN: "present"})
    clock.set(second.event.ends_at)  # the second has just ended
    assert sessions.delivered_hours(ctx, project.id or 0) == {module.id: 6.0}
    clock.set(third.event.ends_at)  # the other project's has just ended; one is still to come
    assert sessions.delivered_hours(ctx, project.id or 0) == {module.id: 6.0, basics.id: 1.0}
    assert [v.event.id for v in sessions.list_sessions(ctx, other, "all").views] == [third.event.id]
    assert sessions.attended_hours(ctx, project.id or 0) == {
        (module.id, ANNA): 6.0,
        (module.id, BEN): 4.0,
    }
    assert sessions.attended_hours(ctx, None, [BEN]) == {
        (module.id, BEN): 4.0,
        (elsewhere.id, BEN): 4.0,
    }
    assert sessions.attended_hours(ctx, project.id or 0, [ANNA]) == {(module.id, ANNA): 6.0}


def test_a_new_time_changes_the_hours_and_a_bad_duration_is_refused(ctx: Ctx) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    [view], _k = schedule(ctx, project, module)
    moved, keys = sessions.reschedule(
        ctx=as_user(ctx, TRAINER),
        event_id=view.event.id,
        starts_at=START + timedelta(days=8),
        duration_hours=" 2,5 ",
        rsvp_deadline=None,
        messages=CALENDAR_MESSAGES,
    )
    assert (moved.starts_at, moved.ends_at) == (
        START + timedelta(days=8),
        START + timedelta(days=8, hours=2, minutes=30),
    )
    assert view.session.hours == 2.5
    moved, _keys = sessions.reschedule(
        ctx=as_user(ctx, TRAINER),
        event_id=view.event.id,
        starts_at=START + timedelta(days=8),
        duration_hours="1.6666",  # 100 minutes
        rsvp_deadline=START + timedelta(days=7),
        messages=CALENDAR_MESSAGES,
    )
    assert (view.session.hours, moved.rsvp_deadline) == (1.67, START + timedelta(days=7))
    sessions.reschedule(
        ctx=as_user(ctx, TRAINER),
        event_id=view.event.id,
        starts_at=START + timedelta(days=8),
        duration_hours="24",  # the longest an event may last
        rsvp_deadline=None,
        messages=CALENDAR_MESSAGES,
    )
    assert view.session.hours == 24
    [whole_day], _k = schedule(
        ctx, project, module, starts_at=START + timedelta(days=30), duration_hours="24"
    )
    assert whole_day.session.hours == 24
    for bad in ("long", None):
        with pytest.raises(ValidationError) as refused:
            sessions.reschedule(
                ctx=as_user(ctx, TRAINER),
                event_id=view.event.id,
                starts_at=START + timedelta(days=8),
                duration_hours=bad,
                rsvp_deadline=None,
                messages=CALENDAR_MESSAGES,
            )
        assert refused.value.errors == {"duration": Msg("training.errors.duration")}


def test_the_feedback_polls_of_sessions_that_ended_and_were_attended(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    at = START + timedelta(days=7)
    [cancelled], _k = schedule(ctx, project, module, starts_at=START + timedelta(hours=2))
    calendar.cancel_event(ctx=ctx, event_id=cancelled.event.id, messages=CALENDAR_MESSAGES)
    [empty], _k = schedule(ctx, project, module, starts_at=at, duration_hours="1")
    [first], _k = schedule(
        ctx, project, module, starts_at=at + timedelta(hours=2), title="y" * 150, capacity=""
    )
    [second], _k = schedule(ctx, project, module, starts_at=at + timedelta(hours=6), capacity="")
    clock.set(START + timedelta(hours=7))
    assert sessions.teams_with_ended_sessions(ctx.session, ctx.now()) == []  # only cancelled
    clock.set(first.event.starts_at)
    attend(ctx, first, {ANNA: "present"})
    clock.set(second.event.starts_at)
    attend(ctx, second, {BEN: "late"})
    assert sessions.teams_with_ended_sessions(ctx.session, empty.event.ends_at) == [ctx.team_id]
    clock.set(second.event.ends_at)
    keys = sessions.send_feedback_polls(ctx=as_user(ctx, TRAINER), poll_messages=POLL_MESSAGES)
    polls = ctx.session.exec(select(Poll).order_by(Poll.id)).all()  # type: ignore[arg-type]
    assert len(polls) == 2 and len(keys) == 2
    for poll in polls:
        assert (poll.created_by, poll.closes_at, poll.remind_hours, poll.project_id) == (
            PM,
            ctx.now() + timedelta(days=7),
            24,
            project.id,
        )
    assert len(polls[0].title) == 150 and polls[0].title.startswith("Training feedback: yyy")
    assert "Overview" in (polls[1].intro or "")
    logged = ctx.session.exec(
        select(Interaction).where(Interaction.kind == "training.feedback_sent")
    ).all()
    assert [(e.project_id, e.detail) for e in logged] == [
        (project.id, {"event_id": first.event.id, "poll_id": polls[0].id}),
        (project.id, {"event_id": second.event.id, "poll_id": polls[1].id}),
    ]
    assert sessions.teams_with_ended_sessions(ctx.session, ctx.now()) == []
    assert cancelled.session.feedback_sent_at is None


def test_the_feedback_poll_speaks_the_projects_language(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx, locale="zh-CN")
    module = overview(ctx, project)
    [view], _k = schedule(ctx, project, module, capacity="")
    clock.set(view.event.starts_at)
    attend(ctx, view, {ANNA: "present"})
    clock.set(view.event.ends_at)
    sessions.send_feedback_polls(ctx=ctx, poll_messages=POLL_MESSAGES)
    [poll] = ctx.session.exec(select(Poll)).all()
    assert poll.title == plain("zh-CN", "training.feedback_title", title="Overview")
    assert poll.intro == plain("zh-CN", "training.feedback_intro", title="Overview")
    texts = ctx.session.exec(select(PollQuestion.text).where(PollQuestion.poll_id == poll.id))
    expected = poll_service.template_questions("zh-CN", "training_feedback")
    assert sorted(texts.all()) == sorted(q.text for q in expected)


def test_lists_stop_at_forty_sessions_and_the_digest_reads_up_to_two_hundred(ctx: Ctx) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    for hour in (0, 5):
        for day in (1, 2):
            schedule(
                ctx,
                project,
                module,
                sessions="12",
                starts_at=START + timedelta(days=day, hours=hour),
                duration_hours="1",
            )
    listed = sessions.list_sessions(ctx, project, "all")
    assert len(listed.views) == 40 and listed.total == 48
    window = sessions.upcoming_sessions(ctx, project.id or 0, START, START + timedelta(days=100))
    assert len(window) == 48
