"""The calendar-event core shared by trainings and meetings: validation, RSVP with a waitlist,
promotion, reschedule and cancel with calendar files, check-in, attendance and reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot.calendar import attendance, ics, reminders, upcoming
from bot.calendar import service as calendar
from bot.calendar.service import EventInput
from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.errors import NotFound, PermissionDenied, ValidationError
from bot.ids import CalendarId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.services import keyusers, projects
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.views.calendar import MESSAGES
from storage.models import CalendarEvent, Interaction, Invitation, OutboxMessage, Project, Rsvp
from tests.conftest import KEY_USERS, OUTSIDER, PM, START, TEAM
from tests.flows import last_response_text, texts

ANNA, BEN, CARL = KEY_USERS[0], KEY_USERS[1], KEY_USERS[2]
TRAINER = "UTOM00001"
SESSION_START = START + timedelta(days=7)  # Tuesday 8 December 2026, 09:00 in Berlin


def as_user(ctx: Ctx, user_id: str) -> Ctx:
    return Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=user_id, clock=ctx.clock)


def make_project(ctx: Ctx) -> Project:
    project = projects.create_project(
        ctx=ctx,
        data=ProjectInput(name="Rollout", code="ERP", pm_ids=[PM], timezone="Europe/Berlin"),
    )
    for user in (ANNA, BEN, CARL):
        keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=user))
    projects.set_team_members(ctx=ctx, project=project, user_ids=[TRAINER])
    return project


def event_input(**overrides: Any) -> EventInput:
    values: dict[str, Any] = {
        "kind": "training",
        "title": "Basic operation 1/4",
        "starts_at": SESSION_START,
        "duration_minutes": 240,
        "organizer_id": TRAINER,
        "location": "Room 4.02",
        "capacity": 2,
        "check_in": True,
    }
    values.update(overrides)
    return EventInput(**values)


def new_event(ctx: Ctx, project: Project, **overrides: Any) -> CalendarEvent:
    event = calendar.create_event(ctx=ctx, project=project, data=event_input(**overrides))
    calendar.invite(
        ctx=ctx, project=project, event=event, user_ids=[ANNA, BEN, CARL], messages=MESSAGES
    )
    return event


def answer(ctx: Ctx, event: CalendarEvent, user: str, response: str) -> calendar.RsvpOutcome:
    return calendar.respond(
        ctx=as_user(ctx, user),
        event_id=event.id,
        user_id=user,
        response=response,
        messages=MESSAGES,
    )


# ------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"starts_at": START - timedelta(hours=1)}, "starts_at"),
        ({"duration_minutes": 0}, "duration"),
        ({"capacity": 0}, "capacity"),
        ({"rsvp_deadline": SESSION_START + timedelta(hours=1)}, "rsvp_deadline"),
        ({"title": "  "}, "title"),
        ({"video_url": "javascript:alert(1)"}, "video_url"),
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_stored(
    ctx: Ctx, overrides: dict[str, Any], field: str
) -> None:
    project = make_project(ctx)
    with pytest.raises(ValidationError) as refused:
        calendar.create_event(ctx=ctx, project=project, data=event_input(**overrides))
    assert field in refused.value.errors
    assert ctx.session.exec(select(CalendarEvent)).all() == []


def test_an_organizer_cannot_be_double_booked(ctx: Ctx) -> None:
    project = make_project(ctx)
    calendar.create_event(ctx=ctx, project=project, data=event_input())
    overlapping = event_input(starts_at=SESSION_START + timedelta(hours=2))
    with pytest.raises(ValidationError) as refused:
        calendar.create_event(ctx=ctx, project=project, data=overlapping)
    assert "organizer_id" in refused.value.errors
    later = event_input(starts_at=SESSION_START + timedelta(hours=4))  # right after: fine
    assert calendar.create_event(ctx=ctx, project=project, data=later).id


def test_only_the_project_team_creates_events(ctx: Ctx) -> None:
    project = make_project(ctx)
    with pytest.raises(PermissionDenied):
        calendar.create_event(ctx=as_user(ctx, ANNA), project=project, data=event_input())
    assert calendar.create_event(ctx=as_user(ctx, TRAINER), project=project, data=event_input())


# ------------------------------------------------------------------------------------ RSVP


def test_full_event_waitlists_and_a_decline_promotes_the_first_waiting(ctx: Ctx) -> None:
    project = make_project(ctx)
    event = new_event(ctx, project)
    assert answer(ctx, event, ANNA, Rsvp.ACCEPTED).invitation.response == Rsvp.ACCEPTED
    assert answer(ctx, event, BEN, Rsvp.ACCEPTED).invitation.response == Rsvp.ACCEPTED
    third = answer(ctx, event, CARL, Rsvp.ACCEPTED)
    assert third.invitation.response == Rsvp.WAITLISTED
    assert third.position == 1

    declined = answer(ctx, event, ANNA, Rsvp.DECLINED)
    assert declined.promoted == [CARL]
    carl = calendar.invitation_of(ctx, event, CARL)
    assert carl is not None and carl.response == Rsvp.ACCEPTED
    promoted = ctx.session.exec(
        select(OutboxMessage).where(OutboxMessage.key.startswith(f"calendar:{event.id}:promoted:"))
    ).all()
    assert len(promoted) == 1 and promoted[0].payload["channel"] == CARL


def test_the_same_answer_twice_changes_nothing(ctx: Ctx) -> None:
    project = make_project(ctx)
    event = new_event(ctx, project)
    assert answer(ctx, event, ANNA, Rsvp.ACCEPTED).changed
    again = answer(ctx, event, ANNA, Rsvp.ACCEPTED)
    assert not again.changed
    logged = ctx.session.exec(select(Interaction).where(Interaction.kind == "training_rsvp")).all()
    assert len(logged) == 1


def test_only_the_invited_person_answers_their_invitation(ctx: Ctx) -> None:
    project = make_project(ctx)
    event = new_event(ctx, project)
    with pytest.raises(PermissionDenied):  # someone answering for Anna
        calendar.respond(
            ctx=as_user(ctx, OUTSIDER),
            event_id=event.id,
            user_id=ANNA,
            response=Rsvp.ACCEPTED,
            messages=MESSAGES,
        )
    with pytest.raises(PermissionDenied):  # not invited at all
        answer(ctx, event, OUTSIDER, Rsvp.ACCEPTED)
    with pytest.raises(NotFound):
        calendar.respond(
            ctx=as_user(ctx, ANNA),
            event_id="9999",
            user_id=ANNA,
            response=Rsvp.ACCEPTED,
            messages=MESSAGES,
        )


def test_accepting_after_the_deadline_or_a_cancellation_is_refused(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    event = new_event(ctx, project, rsvp_deadline=SESSION_START - timedelta(days=2))
    clock.set(SESSION_START - timedelta(days=1))
    with pytest.raises(PermissionDenied) as late:
        answer(ctx, event, ANNA, Rsvp.ACCEPTED)
    assert late.value.reason.key == "calendar.errors.deadline_passed"
    assert answer(ctx, event, BEN, Rsvp.DECLINED).changed  # declining is still welcome
    calendar.cancel_event(ctx=ctx, event_id=event.id, messages=MESSAGES)
    with pytest.raises(PermissionDenied) as cancelled:
        answer(ctx, event, CARL, Rsvp.DECLINED)
    assert cancelled.value.reason.key == "calendar.errors.cancelled"


# ------------------------------------------------------------------- calendar file, changes


def parse(content: bytes) -> Calendar:
    return Calendar.from_ical(content)


def test_calendar_file_has_a_stable_uid_a_raised_sequence_and_cancel(ctx: Ctx) -> None:
    project = make_project(ctx)
    event = new_event(ctx, project)
    first = parse(ics.build([event], method=ics.REQUEST, stamp=START))
    entry = first.walk("VEVENT")[0]
    assert str(entry["UID"]) == event.uid
    assert int(entry["SEQUENCE"]) == 0
    assert entry["DTSTART"].dt == SESSION_START
    assert str(entry["DTSTART"].dt.tzinfo) == "Europe/Berlin"  # TZID of the project
    assert first.walk("VTIMEZONE")  # the zone travels with the file

    calendar.reschedule_event(
        ctx=ctx,
        event_id=event.id,
        starts_at=SESSION_START + timedelta(days=1),
        duration_minutes=240,
        messages=MESSAGES,
    )
    moved = parse(ics.build([event], method=ics.REQUEST, stamp=START)).walk("VEVENT")[0]
    assert str(moved["UID"]) == event.uid and int(moved["SEQUENCE"]) == 1

    calendar.cancel_event(ctx=ctx, event_id=event.id, messages=MESSAGES)
    cancelled = parse(ics.build([event], method=ics.CANCEL, stamp=START))
    assert str(cancelled["METHOD"]) == "CANCEL"
    assert str(cancelled.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    assert int(cancelled.walk("VEVENT")[0]["SEQUENCE"]) == 2


def test_a_series_file_carries_its_rule_and_keeps_local_time_over_dst(ctx: Ctx) -> None:
    project = make_project(ctx)
    start = datetime(2027, 3, 22, 8, 0, tzinfo=UTC)  # 09:00 in Berlin, before the change
    event = calendar.create_event(
        ctx=ctx,
        project=project,
        data=event_input(
            kind="meeting",
            starts_at=start,
            duration_minutes=60,
            series_uid="series-1@liaison",
            rrule="FREQ=WEEKLY;COUNT=3",
        ),
    )
    entry = parse(ics.build([event], method=ics.REQUEST, stamp=START)).walk("VEVENT")[0]
    assert str(entry["UID"]) == "series-1@liaison"
    assert entry["RRULE"]["FREQ"] == ["WEEKLY"]
    local = entry["DTSTART"].dt
    assert (local.hour, str(local.tzinfo)) == (9, "Europe/Berlin")


# ------------------------------------------------------------------- check-in, attendance


def test_check_in_is_open_from_15_minutes_before_to_the_end(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    event = new_event(ctx, project)
    clock.set(SESSION_START - timedelta(minutes=20))
    with pytest.raises(PermissionDenied):
        attendance.check_in(ctx=as_user(ctx, ANNA), event_id=event.id, user_id=ANNA)
    clock.set(SESSION_START - timedelta(minutes=10))
    assert attendance.check_in(ctx=as_user(ctx, ANNA), event_id=event.id, user_id=ANNA).attendance
    clock.set(SESSION_START + timedelta(minutes=30))
    late = attendance.check_in(ctx=as_user(ctx, BEN), event_id=event.id, user_id=BEN)
    assert late.attendance == "late"
    with pytest.raises(PermissionDenied):
        attendance.check_in(ctx=as_user(ctx, OUTSIDER), event_id=event.id, user_id=OUTSIDER)
    clock.set(SESSION_START + timedelta(hours=5))
    with pytest.raises(PermissionDenied):
        attendance.check_in(ctx=as_user(ctx, CARL), event_id=event.id, user_id=CARL)
    attended = ctx.session.exec(
        select(Interaction).where(Interaction.kind == "training_attended")
    ).all()
    assert len(attended) == 2 and all(entry.touchpoint for entry in attended)


def test_the_organizer_takes_attendance_and_may_correct_it(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx)
    event = new_event(ctx, project)
    clock.set(SESSION_START + timedelta(hours=1))
    with pytest.raises(PermissionDenied):
        attendance.record_attendance(ctx=as_user(ctx, ANNA), event_id=event.id, statuses={})
    trainer = as_user(ctx, TRAINER)
    changed = attendance.record_attendance(
        ctx=trainer, event_id=event.id, statuses={ANNA: "present", BEN: "absent", CARL: "excused"}
    )
    assert changed == 3
    assert attendance.record_attendance(ctx=trainer, event_id=event.id, statuses={BEN: "late"}) == 1
    with pytest.raises(ValidationError):
        attendance.record_attendance(ctx=trainer, event_id=event.id, statuses={OUTSIDER: "present"})
    rows = {row.user_id: row.attendance for row in attendance.roster(ctx, event)}
    assert rows == {ANNA: "present", BEN: "late", CARL: "excused"}


# ----------------------------------------------------------------- flows through the emulator


def _project_in_slack(runtime: Runtime, slack: SlackDriver) -> tuple[Project, CalendarEvent]:
    slack.emulator.add_user(TRAINER, "tom.trainer", real_name="Tom Trainer")
    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx)
        event = new_event(ctx, project)
        return project, event


def invitation_dm(slack: SlackDriver, user: str) -> dict[str, Any]:
    for message in reversed(slack.emulator.dm_messages(user)):
        if CalendarId.RSVP_PREFIX in str(message.get("blocks")):
            return message
    raise AssertionError(f"no invitation for {user}")


def test_invitations_rsvp_waitlist_and_promotion_through_slack(
    slack: SlackDriver, runtime: Runtime, database: Any
) -> None:
    _project, event = _project_in_slack(runtime, slack)
    runtime.sender().deliver_due()
    files = [f for f in slack.emulator.files if f["name"].endswith(".ics")]
    assert len(files) == 3
    entry = parse(files[0]["content"]).walk("VEVENT")[0]
    assert str(entry["UID"]) == event.uid

    for user in (ANNA, BEN, CARL):
        slack.click(user, f"{CalendarId.RSVP_PREFIX}accepted", message=invitation_dm(slack, user))
    assert "You accepted" in texts([invitation_dm(slack, ANNA)])
    assert "number 1 on the waitlist" in texts([invitation_dm(slack, CARL)])

    slack.click(ANNA, f"{CalendarId.RSVP_PREFIX}declined", message=invitation_dm(slack, ANNA))
    carl_dm = invitation_dm(slack, CARL)
    assert "You accepted" in texts([carl_dm])
    replies = slack.emulator.thread(carl_dm["channel"], carl_dm["ts"])
    assert any("A seat has become free" in texts([reply]) for reply in replies)
    assert slack.emulator.violations == []


def test_a_forged_event_id_changes_nothing_and_is_refused(
    slack: SlackDriver, runtime: Runtime
) -> None:
    _project, event = _project_in_slack(runtime, slack)
    runtime.sender().deliver_due()
    dm = invitation_dm(slack, ANNA)
    slack.block_action(
        OUTSIDER, f"{CalendarId.RSVP_PREFIX}accepted", f'{{"e": {event.id}}}', message=dm
    )
    assert "not invited" in last_response_text(slack)
    with runtime.database.session() as session:
        answers = {row.response for row in session.exec(select(Invitation)).all()}
    assert answers == {Rsvp.PENDING}


def test_reminders_go_once_in_the_thread_and_the_organizer_gets_the_roster(
    slack: SlackDriver, runtime: Runtime, clock: MovableClock
) -> None:
    _project, event = _project_in_slack(runtime, slack)
    run_due(runtime)
    slack.click(ANNA, f"{CalendarId.RSVP_PREFIX}accepted", message=invitation_dm(slack, ANNA))
    slack.click(BEN, f"{CalendarId.RSVP_PREFIX}declined", message=invitation_dm(slack, BEN))

    clock.set(SESSION_START - timedelta(hours=23))
    run_due(runtime)
    run_due(runtime)  # a second run at the same instant sends nothing more
    dm = invitation_dm(slack, ANNA)
    reminders = [
        r for r in slack.emulator.thread(dm["channel"], dm["ts"]) if "Reminder" in texts([r])
    ]
    assert len(reminders) == 1 and "24 hours" in texts(reminders)
    assert not any("Reminder" in texts([m]) for m in slack.emulator.dm_messages(BEN))
    roster = [m for m in slack.emulator.dm_messages(TRAINER) if "Roster" in texts([m])]
    assert len(roster) == 1 and "Coming (1)" in texts(roster)

    clock.set(SESSION_START - timedelta(minutes=59))
    run_due(runtime)
    run_due(runtime)
    reminders = [
        r for r in slack.emulator.thread(dm["channel"], dm["ts"]) if "Reminder" in texts([r])
    ]
    assert len(reminders) == 2 and "1 hour" in texts(reminders[-1:])
    assert slack.emulator.violations == []


def test_reschedule_and_cancel_tell_everyone_once_with_a_new_calendar_file(
    slack: SlackDriver, runtime: Runtime
) -> None:
    _project, event = _project_in_slack(runtime, slack)
    run_due(runtime)
    with runtime.unit(TEAM, PM) as ctx:
        calendar.reschedule_event(
            ctx=ctx,
            event_id=event.id,
            starts_at=SESSION_START + timedelta(days=1),
            duration_minutes=240,
            messages=MESSAGES,
        )
    run_due(runtime)
    run_due(runtime)
    dm = invitation_dm(slack, ANNA)
    notes = [r for r in slack.emulator.thread(dm["channel"], dm["ts"]) if "has moved" in texts([r])]
    assert len(notes) == 1
    files = [f for f in slack.emulator.files if f["name"].endswith(".ics")]
    assert len(files) == 6  # one per person, then one updated entry per person
    assert int(parse(files[-1]["content"]).walk("VEVENT")[0]["SEQUENCE"]) == 1

    with runtime.unit(TEAM, PM) as ctx:
        calendar.cancel_event(ctx=ctx, event_id=event.id, messages=MESSAGES)
    run_due(runtime)
    assert "This was cancelled" in texts([slack.emulator.dm_messages(ANNA)[0]])
    cancels = [f for f in slack.emulator.files if b"METHOD:CANCEL" in f["content"]]
    assert len(cancels) == 3
    assert slack.emulator.violations == []


def test_reminders_take_the_same_statements_for_three_people_or_thirty(ctx: Ctx) -> None:
    """Reminders are queued in one insert: the job's statements do not grow with the people it
    reminds, and a rerun at the same instant queues nothing."""
    from sqlalchemy import event as sql_event

    project = make_project(ctx)
    crowd = [f"UCROWD{index:04d}" for index in range(27)]
    for user in crowd:
        keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=user))

    def reminded(people: list[str], starts_at: datetime) -> tuple[int, int]:
        event = calendar.create_event(
            ctx=ctx,
            project=project,
            data=event_input(starts_at=starts_at, capacity=None, title=f"For {len(people)}"),
        )
        calendar.invite(ctx=ctx, project=project, event=event, user_ids=people, messages=MESSAGES)
        for user in people:
            answer(ctx, event, user, Rsvp.ACCEPTED)
        ctx.clock.set(starts_at - timedelta(hours=23))  # type: ignore[attr-defined]
        seen: list[str] = []

        def count(*_args: Any) -> None:
            seen.append("statement")

        engine = ctx.session.get_bind()
        sql_event.listen(engine, "before_cursor_execute", count)
        try:
            queued = upcoming.remind_due(ctx=ctx, messages=MESSAGES)
            assert upcoming.remind_due(ctx=ctx, messages=MESSAGES) == []  # a rerun: nothing new
        finally:
            sql_event.remove(engine, "before_cursor_execute", count)
        assert len([k for k in queued if ":remind:" in k]) == len(people)
        return len(seen), len(queued)

    few, _queued = reminded([ANNA, BEN, CARL], SESSION_START)
    many, _queued = reminded([ANNA, BEN, CARL, *crowd], SESSION_START + timedelta(days=3))
    assert many == few


def test_a_reminder_is_queued_ahead_sent_at_its_moment_and_withdrawn_when_it_no_longer_holds(
    ctx: Ctx, runtime: Runtime, clock: MovableClock
) -> None:
    from bot.delivery import Sender
    from storage.models import OutboxStatus, Urgency

    project = make_project(ctx)
    event = new_event(ctx, project, reminder_minutes=[15], capacity=None)
    for user in (ANNA, BEN):
        answer(ctx, event, user, Rsvp.ACCEPTED)
    ctx.session.commit()
    due = SESSION_START - timedelta(minutes=15)
    clock.set(due - timedelta(minutes=4))  # within the look-ahead: queued now, due at its moment
    upcoming.remind_due(ctx=ctx, messages=MESSAGES)
    ctx.session.commit()
    start = int(SESSION_START.timestamp())
    keys = {user: f"calendar:{event.id}:remind:{user}:15:{start}" for user in (ANNA, BEN)}
    rows = {row.key: row for row in ctx.session.exec(select(OutboxMessage)).all()}
    assert {rows[key].next_attempt_at for key in keys.values()} == {due}
    assert {rows[key].urgency for key in keys.values()} == {Urgency.URGENT}  # within the hour
    sent: list[tuple[str, datetime]] = []

    def transport(row: OutboxMessage) -> dict[str, Any]:
        sent.append((row.key, clock.now()))
        return {"channel": "D1", "ts": f"{len(sent)}.000100"}

    sender = Sender(runtime.database, clock, lambda _team: transport, pacer=runtime.pacer)
    ctx.session.commit()  # the sender writes in its own transactions
    sender.deliver_due(team_id=TEAM)
    assert not [key for key, _moment in sent if ":remind:" in key]  # not before its moment

    # Ben is taken off the event after his reminder was queued; the change goes around the
    # service (as a data fix would), so the job's sweep withdraws it at its next run.
    ctx.session.exec(
        select(Invitation).where(Invitation.user_id == BEN)
    ).one().response = Rsvp.REMOVED
    ctx.session.commit()
    clock.set(due - timedelta(minutes=1))
    upcoming.remind_due(ctx=ctx, messages=MESSAGES)
    ctx.session.commit()
    clock.set(due)
    ctx.session.commit()  # the sender writes in its own transactions
    sender.deliver_due(team_id=TEAM)
    assert [(key, moment) for key, moment in sent if ":remind:" in key] == [(keys[ANNA], due)]
    ctx.session.expire_all()
    ben = ctx.session.exec(select(OutboxMessage).where(OutboxMessage.key == keys[BEN])).one()
    assert (ben.status, ben.error) == (OutboxStatus.CANCELLED, reminders.WITHDRAWN)

    # Ben is back before the event: his reminder is queued afresh and goes at once.
    invitation = ctx.session.exec(select(Invitation).where(Invitation.user_id == BEN)).one()
    invitation.response = Rsvp.PENDING
    ctx.session.commit()
    answer(ctx, event, BEN, Rsvp.ACCEPTED)
    ctx.session.commit()
    ctx.session.commit()  # the sender writes in its own transactions
    sender.deliver_due(team_id=TEAM)
    assert [key for key, _moment in sent if ":remind:" in key] == [keys[ANNA], keys[BEN]]
