"""Who came to a calendar event: the roster with answers and attendance, self check-in from
shortly before the start, and the organizer's roll call (a PM may correct it). Coming to an event
is a touchpoint of the key user, logged once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from bot.calendar.service import (
    INVITED,
    RosterRow,
    _invitations,
    _key_user_ids,
    get_event,
    invitation_of,
    project_of,
)
from bot.errors import Msg, PermissionDenied, ValidationError
from bot.services import projects as project_service
from bot.services.context import Ctx
from storage.models import (
    ATTENDED,
    Attendance,
    CalendarEvent,
    EventStatus,
    Interaction,
    Invitation,
    KeyUser,
    Project,
    Rsvp,
)

CHECK_IN_OPENS = timedelta(minutes=15)  # before the start
LATE_AFTER = timedelta(minutes=10)  # a check-in this long after the start counts as late


def roster(ctx: Ctx, event: CalendarEvent) -> list[RosterRow]:
    """Everyone invited (not removed), with their answer, attendance and waitlist place."""
    rows = ctx.session.exec(
        select(Invitation, KeyUser.display_name)
        .join(
            KeyUser,
            (KeyUser.project_id == event.project_id) & (KeyUser.user_id == Invitation.user_id),
            isouter=True,
        )
        .where(
            Invitation.team_id == ctx.team_id,
            Invitation.event_id == event.id,
            Invitation.response != Rsvp.REMOVED,
        )
        .order_by(col(Invitation.id))
    ).all()
    waiting = sorted(
        (inv for inv, _name in rows if inv.response == Rsvp.WAITLISTED),
        key=lambda inv: (inv.waitlisted_at or event.created_at, inv.id or 0),
    )
    positions = {inv.user_id: place for place, inv in enumerate(waiting, start=1)}
    return [
        RosterRow(
            user_id=inv.user_id,
            name=name,
            response=inv.response,
            attendance=inv.attendance,
            checked_in_at=inv.checked_in_at,
            position=positions.get(inv.user_id),
        )
        for inv, name in rows
    ]


# -------------------------------------------------------------------------------- attendance


def check_in(*, ctx: Ctx, event_id: Any, user_id: str) -> Invitation:
    """Self check-in, from 15 minutes before the start to the end, by an invited person."""
    event = get_event(ctx, event_id)
    invitation = invitation_of(ctx, event, user_id)
    if invitation is None or invitation.response == Rsvp.REMOVED or ctx.actor_id != user_id:
        raise PermissionDenied(Msg("calendar.errors.not_invited"))
    if not event.check_in:
        raise PermissionDenied(Msg("calendar.errors.no_check_in"))
    if event.status == EventStatus.CANCELLED:
        raise PermissionDenied(Msg("calendar.errors.cancelled", title=event.title))
    now = ctx.now()
    if now < event.starts_at - CHECK_IN_OPENS:
        raise PermissionDenied(Msg("calendar.errors.check_in_early"))
    if now > event.ends_at:
        raise PermissionDenied(Msg("calendar.errors.check_in_over", title=event.title))
    if invitation.checked_in_at is not None:
        return invitation
    status = Attendance.LATE if now > event.starts_at + LATE_AFTER else Attendance.PRESENT
    _set_attendance(ctx, event, invitation, status)
    invitation.checked_in_at = now
    ctx.session.add(invitation)
    ctx.session.flush()
    return invitation


def _set_attendance(ctx: Ctx, event: CalendarEvent, invitation: Invitation, status: str) -> bool:
    """Record ``status``; coming to the event is logged once as a touchpoint, at the event's
    start or at the check-in before it (the contact was then, not when the roll was taken), and a
    roll call corrected to "did not come" takes that touchpoint back."""
    if invitation.attendance == status:
        return False
    came_before = invitation.attendance in ATTENDED
    invitation.attendance = status
    invitation.attendance_by = ctx.actor_id
    ctx.session.add(invitation)
    if (status in ATTENDED) == came_before:
        return True
    key_user = _key_user_ids(ctx, event.project_id, [invitation.user_id]).get(invitation.user_id)
    kind = f"{event.kind}_attended"
    if came_before:
        logged = ctx.session.exec(
            ctx.select(Interaction).where(
                Interaction.project_id == event.project_id,
                Interaction.key_user_id == key_user,
                Interaction.kind == kind,
                col(Interaction.touchpoint).is_(True),
            )
        ).all()
        for entry in logged:
            if entry.detail.get("event_id") == event.id:
                entry.touchpoint = False
                ctx.session.add(entry)
        return True
    entry = ctx.log(
        kind,
        project_id=event.project_id,
        key_user_id=key_user,
        touchpoint=True,
        event_id=event.id,
        status=status,
    )
    entry.at = min(entry.at, event.starts_at)
    return True


def can_take_attendance(ctx: Ctx, project: Project, event: CalendarEvent) -> bool:
    return (
        ctx.actor_id == event.organizer_id
        or project_service.is_pm(ctx, project)
        or ctx.actor_is_admin
    )


def record_attendance(*, ctx: Ctx, event_id: Any, statuses: dict[str, str]) -> int:
    """The organizer's roll call (a PM may correct it): a status per person on the roster.
    People not on the roster are refused; returns how many entries changed."""
    event = get_event(ctx, event_id)
    project = project_of(ctx, event)
    if not can_take_attendance(ctx, project, event):
        raise PermissionDenied(Msg("calendar.errors.not_organizer"))
    if event.status == EventStatus.CANCELLED:
        raise PermissionDenied(Msg("calendar.errors.cancelled", title=event.title))
    if ctx.now() < event.starts_at - CHECK_IN_OPENS:
        raise ValidationError({"attendance": Msg("calendar.errors.roll_call_early")})
    allowed = {status.value for status in Attendance}
    invitations = {
        inv.user_id: inv
        for inv in _invitations(ctx, event, [r for r in INVITED if r != Rsvp.REMOVED])
    }
    unknown = [user for user in statuses if user not in invitations]
    bad = [user for user, status in statuses.items() if status and status not in allowed]
    if unknown or bad:
        raise ValidationError({"attendance": Msg("calendar.errors.not_on_roster")})
    changed = 0
    for user_id, status in statuses.items():
        if status and _set_attendance(ctx, event, invitations[user_id], status):
            changed += 1
    ctx.session.flush()
    return changed
