"""A meeting's outcome: the organizer asked for it after the meeting, what they record
(attendance, minutes, decisions, action items), its summary sent to those invited, and action
items becoming key-user issues. Meetings themselves are in ``bot.services.meetings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import col

from bot import delivery
from bot.calendar import attendance
from bot.calendar import service as calendar
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import decisions as decision_log
from bot.services import fields
from bot.services import issues as issue_service
from bot.services import risks as risk_service
from bot.services.context import Ctx
from bot.services.meetings import _zone, get_meeting, with_events
from storage.models import (
    Attendance,
    CalendarEvent,
    EventStatus,
    Meeting,
    MeetingActionItem,
    MeetingOutcome,
    Project,
    Rsvp,
)

MAX_ACTION_ITEMS = 5
MINUTES_LIMIT = fields.limit(MeetingOutcome.minutes)
ACTION_LIMIT = fields.limit(MeetingActionItem.text)
OUTCOME_WINDOW = timedelta(days=7)  # the organizer is asked for the outcome within a week


@dataclass
class ActionInput:
    text: str = ""
    owner_id: str | None = None
    due_date: str | date | None = None


# ---------------------------------------------------------------------------------- outcome


def outcome_due(ctx: Ctx) -> list[tuple[Meeting, CalendarEvent]]:
    """Meetings that ended (within the last week) whose organizer was not yet asked for the
    outcome."""
    now = ctx.now()
    rows = ctx.session.exec(
        with_events(
            ctx,
            col(Meeting.outcome_asked_at).is_(None),
            CalendarEvent.status == EventStatus.SCHEDULED,
            CalendarEvent.ends_at <= now,
            CalendarEvent.ends_at > now - OUTCOME_WINDOW,
        ).order_by(col(CalendarEvent.ends_at))
    ).all()
    for meeting, _ in rows:
        meeting.outcome_asked_at = now
        ctx.session.add(meeting)
    return [(m, e) for m, e in rows]


def outcome_of(ctx: Ctx, event_id: int) -> tuple[MeetingOutcome | None, list[MeetingActionItem]]:
    outcome = ctx.session.exec(
        ctx.select(MeetingOutcome).where(MeetingOutcome.event_id == event_id)
    ).first()
    items = list(
        ctx.session.exec(
            ctx.select(MeetingActionItem)
            .where(MeetingActionItem.event_id == event_id)
            .order_by(col(MeetingActionItem.position))
        ).all()
    )
    return outcome, items


def outcome_key(event_id: int, user_id: str, version: str = "") -> str:
    """The outbox key of a meeting's outcome summary DM to ``user_id`` (without ``version``: of
    any of them; each recording sends one)."""
    return f"meeting:{event_id}:outcome:{user_id}:{version}"


def send_outcome_summary(
    ctx: Ctx, event: CalendarEvent, payload: dict[str, Any], *, version: str
) -> str:
    """The outcome summary, to the person who recorded it, through the outbox: its record is
    what lets the summary's "Create issue" buttons update it afterwards."""
    user_id = ctx.actor_id or ""
    return ctx.enqueue(
        outcome_key(event.id or 0, user_id, version),
        {"channel": user_id, **payload},
        subject=_summary_subject(event.id or 0),
        expires_at=ctx.now() + delivery.RECORD_LIFETIME,  # a record: its buttons act for days
    )


def _summary_subject(event_id: int) -> str:
    return f"calendar:{event_id}"  # the event's, as for every message about it


def outcome_summary(ctx: Ctx, event_id: int, ts: str | None) -> delivery.SentMessage | None:
    """The outcome summary of this meeting the app sent the acting person at ``ts`` (a request
    may name it; the outbox confirms it)."""
    user_id = ctx.actor_id or ""
    return delivery.sent_message(
        ctx.session,
        team_id=ctx.team_id,
        to=user_id,
        key=outcome_key(event_id, user_id),
        subject=_summary_subject(event_id),
        ts=ts,
    )


def _date(raw: str | date | None) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    return date.fromisoformat(str(raw))


def record_outcome(
    *,
    ctx: Ctx,
    event_id: Any,
    attended: list[str],
    minutes: str,
    decisions: str,
    actions: list[ActionInput],
) -> tuple[MeetingOutcome, list[MeetingActionItem]]:
    """The organizer (or a PM) records who came, minutes, decisions and action items. Invitees
    not marked as attending are recorded absent (unless they declined); recording again replaces
    the minutes, decisions and the action items not yet turned into issues. The decisions
    become entries of the project's decision log (``bot.services.decisions.from_meeting``)."""
    meeting, event, project = get_meeting(ctx, event_id)
    if not attendance.can_take_attendance(ctx, project, event):
        raise PermissionDenied(Msg("calendar.errors.not_organizer"))
    errors: dict[str, Msg] = {}
    if event.status == EventStatus.CANCELLED:
        raise PermissionDenied(Msg("calendar.errors.cancelled", title=event.title))
    if ctx.now() < event.starts_at:
        errors["attended"] = Msg("meeting.errors.not_started")
    roster = {row.user_id: row for row in attendance.roster(ctx, event)}
    strangers = [u for u in attended if u not in roster]
    if strangers:
        errors["attended"] = Msg("meeting.errors.not_invited", user=strangers[0])
    if message := fields.too_long(minutes, MeetingOutcome.minutes):
        errors["minutes"] = message
    lines = [" ".join(line.split()) for line in (decisions or "").splitlines()]
    decided = [line.lstrip("-•* ").strip() for line in lines if line.strip("-•* ")]
    if len("\n".join(decided)) > 3000:
        errors["decisions"] = Msg("errors.too_long", limit=3000)
    cleaned: list[tuple[int, str, str | None, date | None]] = []
    local_today = ctx.now().astimezone(_zone(project)).date()
    for position, item in enumerate(actions[:MAX_ACTION_ITEMS], start=1):
        text = " ".join((item.text or "").split())
        if not text:
            if item.owner_id or item.due_date:
                errors[f"action_{position}_text"] = Msg("errors.required")
            continue
        if message := fields.too_long(text, MeetingActionItem.text):
            errors[f"action_{position}_text"] = message
        try:
            due = _date(item.due_date)
        except ValueError:
            due = None
            errors[f"action_{position}_due"] = Msg("plan.errors.date_format")
        if due is not None and due < local_today:
            errors[f"action_{position}_due"] = Msg("issues.errors.due_past")
        cleaned.append((position, text, item.owner_id or None, due))
    if errors:
        raise ValidationError(errors)  # type: ignore[arg-type]
    came = set(attended)
    statuses = {
        user_id: (Attendance.PRESENT if user_id in came else Attendance.ABSENT)
        for user_id, row in roster.items()
        if user_id in came or row.response != Rsvp.DECLINED
    }
    # Someone who checked in late stays "late".
    for user_id, row in roster.items():
        if user_id in came and row.attendance == Attendance.LATE:
            statuses[user_id] = Attendance.LATE
    attendance.record_attendance(ctx=ctx, event_id=event.id, statuses=statuses)
    outcome, items = outcome_of(ctx, event.id or 0)
    now = ctx.now()
    if outcome is None:
        outcome = MeetingOutcome(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            event_id=event.id or 0,
            recorded_by=ctx.actor_id or "",
            recorded_at=now,
        )
    outcome.attended = sorted(came)
    outcome.minutes = (minutes or "").strip() or None
    outcome.decisions = decided
    outcome.recorded_by = ctx.actor_id or ""
    outcome.recorded_at = now
    ctx.session.add(outcome)
    for item in items:
        if item.issue_id is None:
            ctx.session.delete(item)
    kept = [item for item in items if item.issue_id is not None]
    taken = {item.position for item in kept}
    for position, text, owner, due in cleaned:
        while position in taken:
            position += MAX_ACTION_ITEMS
        kept.append(
            MeetingActionItem(
                team_id=ctx.team_id,
                project_id=project.id or 0,
                event_id=event.id or 0,
                position=position,
                text=text,
                owner_id=owner,
                due_date=due,
                created_by=ctx.actor_id or "",
                created_at=now,
            )
        )
        ctx.session.add(kept[-1])
    meeting.outcome_asked_at = meeting.outcome_asked_at or now
    ctx.session.add(meeting)
    ctx.session.flush()
    # The decision log follows the outcome: new decisions logged, dropped ones withdrawn.
    decision_log.from_meeting(ctx=ctx, project=project, event=event, outcome=outcome)
    ctx.log(
        "meeting.outcome_recorded",
        project_id=project.id,
        event_id=event.id,
        attended=len(came),
        decisions=len(decided),
        actions=len(cleaned),
    )
    return outcome, sorted(kept, key=lambda item: item.position)


def action_to_issue(*, ctx: Ctx, item_id: Any) -> tuple[MeetingActionItem, issue_service.Change]:
    """An action item becomes a key-user issue (owner and due date kept), followed like any
    other issue. Only once: a second click finds the issue."""
    ident = fields.record_id(item_id)
    item = ctx.get(MeetingActionItem, ident) if ident else None
    if item is None:
        raise NotFound(Msg("meeting.errors.action_gone"))
    meeting, event, project = get_meeting(ctx, item.event_id)
    if not calendar.can_change(ctx, project, event):
        raise PermissionDenied(Msg("calendar.errors.not_organizer"))
    if item.issue_id is not None:
        issue, _ = issue_service.get_issue(ctx, item.issue_id)
        raise ValidationError(
            {
                "action": Msg(
                    "meeting.errors.already_issue", ref=issue_service.issue_key(project, issue)
                )
            }
        )
    local = event.starts_at.astimezone(_zone(project)).strftime("%Y-%m-%d")
    description = plain(
        project.locale, "meeting.action_issue_description", title=event.title, date=local
    )
    change = issue_service.create_issue(
        ctx=ctx,
        project=project,
        data=issue_service.IssueInput(
            title=item.text,
            description=description,
            kind="request",
            owner_id=item.owner_id,
            due_date=item.due_date,
        ),
    )
    item.issue_id = change.issue.id
    ctx.session.add(item)
    ctx.log(
        "meeting.action_to_issue",
        project_id=project.id,
        event_id=event.id,
        item_id=item.id,
        issue=issue_service.issue_key(project, change.issue),
    )
    return item, change


# ---------------------------------------------------------------- risks raised from an outcome


@dataclass
class RiskSource:
    """What a risk raised from a meeting's outcome starts with: the project, the text of the
    decision or action item, and the meeting (its calendar event)."""

    project: Project
    text: str
    event_id: int


def risk_source(ctx: Ctx, value: Any) -> RiskSource:
    """A summary's "Risk: …" button: ``d:<outcome id>:<decision index>`` or ``a:<action item
    id>``. The ids may be forged: the record is read in the person's workspace, the meeting must
    be one they may see, and they must be allowed to raise risks in its project."""
    kind, _, rest = str(value or "").partition(":")
    ident, _, index = rest.partition(":")
    record_id = fields.record_id(ident)
    text, event_id = "", 0
    if kind == "d" and record_id:
        outcome = ctx.get(MeetingOutcome, record_id)
        position = fields.whole_number(index)
        if outcome is not None and position is not None and position < len(outcome.decisions):
            text, event_id = outcome.decisions[position], outcome.event_id
    elif kind == "a" and record_id:
        item = ctx.get(MeetingActionItem, record_id)
        if item is not None:
            text, event_id = item.text, item.event_id
    if not text:
        raise NotFound(Msg("risk.errors.meeting_gone"))
    try:
        _, _, project = get_meeting(ctx, event_id)
    except NotFound as error:
        raise NotFound(Msg("risk.errors.meeting_gone")) from error
    if not risk_service.can_raise(ctx, project):
        raise PermissionDenied(Msg("risk.errors.cannot_raise", code=project.code))
    return RiskSource(project, text, event_id)


def risk_origin(ctx: Ctx, project: Project, event_id: Any) -> dict[str, str]:
    """What a risk's history keeps of the meeting it came from: its title and local date (never
    its id). The id comes from a form's metadata: the meeting must be one of this project's that
    the person may see, else the form is refused."""
    try:
        _, event, of_project = get_meeting(ctx, event_id)
    except NotFound as error:
        raise ValidationError({"title": Msg("risk.errors.meeting_gone")}) from error
    if of_project.id != project.id:
        raise ValidationError({"title": Msg("risk.errors.meeting_gone")})
    day = event.starts_at.astimezone(_zone(project)).date().isoformat()
    return {"meeting": event.title, "meeting_on": day}
