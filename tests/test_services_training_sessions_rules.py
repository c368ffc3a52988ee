"""Training sessions in detail: what a session's event holds, the lists by span, the digest's plain
data, hours planned, delivered and attended, a new time, and the feedback poll's settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.calendar import service as calendar
from bot.clock import MovableClock
from bot.errors import Msg, NotFound, ValidationError
from bot.services import keyusers, projects
from bot.services import training_sessions as sessions
from bot.services import trainings as service
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.views.calendar import MESSAGES as CALENDAR_MESSAGES
from bot.views.polls import MESSAGES as POLL_MESSAGES
from storage.models import CalendarEvent, Interaction, OutboxMessage, Poll, Project, TrainingModule
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
        duration_hours="1,5",
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
        START + timedelta(days=7, minutes=90),
    )
    assert event.rsvp_deadline == START + timedelta(days=6)
    assert list(event.reminder_minutes) == [60]
    assert (view.session.hours, view.session.trainer_id, view.session.audience_kind) == (
        1.5,
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
    assert missing.value.message == Msg("training.errors.session_not_found", id=meeting.id)


def test_lists_by_span_and_the_digests_plain_data(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    [past], _k = schedule(ctx, project, module, starts_at=START + timedelta(hours=2), capacity="")
    [soon], _k = schedule(ctx, project, module, starts_at=START + timedelta(days=2))
    [cancelled], _k = schedule(ctx, project, module, starts_at=START + timedelta(days=3))
    [later], _k = schedule(ctx, project, module, starts_at=START + timedelta(days=10))
    calendar.cancel_event(ctx=ctx, event_id=cancelled.event.id, messages=CALENDAR_MESSAGES)
    answer(ctx, soon.event.id, ANNA, "accepted")
    answer(ctx, soon.event.id, BEN, "accepted")
    answer(ctx, soon.event.id, CARL, "accepted")  # the third: waitlisted
    answer(ctx, soon.event.id, ADMIN_KEY_USER, "declined")
    clock.set(START + timedelta(hours=7))  # the first one is over

    def ids(views: list[sessions.SessionView]) -> list[int | None]:
        return [v.event.id for v in views]

    assert ids(sessions.list_sessions(ctx, project, "week")) == [soon.event.id]
    assert ids(sessions.list_sessions(ctx, project, "upcoming")) == [soon.event.id, later.event.id]
    assert ids(sessions.list_sessions(ctx, project, "all")) == [
        past.event.id,
        soon.event.id,
        cancelled.event.id,
        later.event.id,
    ]
    [listed] = [v for v in sessions.list_sessions(ctx, project, "week")]
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
    clock.set(first.event.starts_at)
    attend(ctx, first, {ANNA: "present", BEN: "late", CARL: "absent"})
    clock.set(second.event.starts_at)
    attend(ctx, second, {ANNA: "present"})
    clock.set(third.event.starts_at)
    attend(ctx, third, {BEN: "present"})
    clock.set(second.event.ends_at)  # the second has just ended
    assert sessions.delivered_hours(ctx, project.id or 0) == {module.id: 6.0}
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


def test_the_feedback_poll_belongs_to_the_pm_and_closes_a_week_later(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    module = overview(ctx, project)
    [view], _k = schedule(ctx, project, module, capacity="")
    clock.set(view.event.starts_at)
    attend(ctx, view, {ANNA: "present"})
    clock.set(view.event.ends_at + timedelta(minutes=1))
    assert sessions.teams_with_ended_sessions(ctx.session, ctx.now()) == [ctx.team_id]
    sessions.send_feedback_polls(ctx=as_user(ctx, TRAINER), poll_messages=POLL_MESSAGES)
    [poll] = ctx.session.exec(select(Poll)).all()
    assert (poll.created_by, poll.closes_at, poll.remind_hours, poll.project_id) == (
        PM,
        ctx.now() + timedelta(days=7),
        24,
        project.id,
    )
    assert "Overview" in (poll.intro or "")
    [logged] = ctx.session.exec(
        select(Interaction).where(Interaction.kind == "training.feedback_sent")
    ).all()
    assert (logged.project_id, logged.detail) == (
        project.id,
        {"event_id": view.event.id, "poll_id": poll.id},
    )
    assert sessions.teams_with_ended_sessions(ctx.session, ctx.now()) == []
    assert ctx.session.exec(select(CalendarEvent)).all()
