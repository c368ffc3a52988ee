"""Scheduled work of the communication plan, engagement and meetings, and the messages it queues.

* ``plan_due``: entries of the communication plan that fell due (and snoozed items whose snooze
  ended) go to their owners, one DM per owner per run listing all of theirs. The occurrences are
  rows written with the DM's outbox row, so a rerun adds nothing.
* ``meeting_invitations``: each later occurrence of a meeting series is invited a week ahead.
* ``meeting_outcomes``: after a meeting, its organizer is asked once for the outcome.
* ``engagement_nudges``: at most one nudge in any seven days to each PM, listing the key users in
  engagement debt across their projects (key ``engagement:nudge:<team>:<pm>:<ISO week>:<locale>``:
  projects in two languages give two lists, sent in the same run). A PM nudged on Friday is not
  nudged again on Monday because a new ISO week began: the outbox rows of the last seven days say
  who was nudged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, or_
from sqlmodel import col, select

from bot.delivery import NOTICE_LIFETIME, RECORD_LIFETIME
from bot.jobs.teams import per_team, teams_where
from bot.runtime import Runtime
from bot.services import commplan, engagement, meetings, notifications, phases
from bot.services import meeting_outcomes as outcomes
from bot.services.keyusers import DEFAULT_CADENCE_DAYS, Quadrant
from bot.shards import in_shard
from bot.views import commplan as plan_views
from bot.views import engagement as engagement_views
from bot.views import meetings as meeting_views
from bot.views import phases as phase_views
from storage.models import (
    CalendarEvent,
    ChecklistItem,
    EventStatus,
    Interaction,
    ItemStatus,
    KeyUser,
    Meeting,
    OccurrenceStatus,
    OutboxMessage,
    PlanEntry,
    PlanOccurrence,
    ProjectMember,
)
from storage.models.core import MemberRole
from storage.types import UTCDateTime

T = TypeVar("T")
NUDGE_HOUR = 9  # PMs are nudged from 09:00 in the workspace's timezone
NUDGE_EVERY = timedelta(days=7)  # at most one nudge per PM in any seven days


def _teams_with_plan_due(runtime: Runtime) -> list[str]:
    """Workspaces (of the shard being run) with a plan entry due, a snooze ended or an owned
    checklist item due by tomorrow: three statements, whatever the number of workspaces."""
    now = runtime.clock.now()
    entries = teams_where(
        runtime,
        PlanEntry.team_id,
        col(PlanEntry.removed_at).is_(None),
        col(PlanEntry.next_due_at).is_not(None),
        col(PlanEntry.next_due_at) <= now,
    )
    woken = teams_where(
        runtime,
        PlanOccurrence.team_id,
        PlanOccurrence.status == OccurrenceStatus.SNOOZED,
        col(PlanOccurrence.snoozed_until) <= now,
    )
    items = teams_where(
        runtime,
        ChecklistItem.team_id,
        ChecklistItem.status == ItemStatus.OPEN,
        col(ChecklistItem.owner_id).is_not(None),
        col(ChecklistItem.due_on).is_not(None),
        col(ChecklistItem.due_on) <= now.date() + timedelta(days=1),
    )
    return sorted({*entries, *woken, *items})


def _teams_to_nudge(runtime: Runtime) -> list[str]:
    """Workspaces (of the shard being run) where a nudge may be due: a PM not nudged in the last
    seven days, and an active key user who may be in engagement debt (past their quadrant's
    cadence since their last contact or registration; any with a cadence of their own). One
    statement: a run costs what may be due, not the number of workspaces installed."""
    now = runtime.clock.now()
    prefix = literal("engagement:nudge:") + col(ProjectMember.team_id) + literal(":")
    nudged = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.team_id == ProjectMember.team_id,
            col(OutboxMessage.key).like(prefix + col(ProjectMember.user_id) + literal(":%")),
            OutboxMessage.created_at > now - NUDGE_EVERY,
        )
        .exists()
    )
    pms_due = select(ProjectMember.team_id).where(
        ProjectMember.role == MemberRole.PM, ~nudged, in_shard(ProjectMember.team_id)
    )
    latest = (
        select(
            col(Interaction.key_user_id).label("key_user_id"),
            func.max(Interaction.at).label("at"),
        )
        .where(
            col(Interaction.key_user_id).is_not(None),
            col(Interaction.team_id).in_(pms_due),
            engagement.is_contact(),
        )
        .group_by(col(Interaction.key_user_id))
        .subquery()
    )

    def before(days: int) -> Any:
        return literal(now - timedelta(days=days), UTCDateTime)

    high_influence, high_interest = KeyUser.influence == "high", KeyUser.interest == "high"
    cutoff = case(
        (
            and_(high_influence, high_interest),
            before(DEFAULT_CADENCE_DAYS[Quadrant.MANAGE_CLOSELY]),
        ),
        (high_influence, before(DEFAULT_CADENCE_DAYS[Quadrant.KEEP_SATISFIED])),
        (high_interest, before(DEFAULT_CADENCE_DAYS[Quadrant.KEEP_INFORMED])),
        else_=before(DEFAULT_CADENCE_DAYS[Quadrant.MONITOR]),
    )
    since = func.coalesce(latest.c.at, col(KeyUser.created_at))
    query = (
        select(KeyUser.team_id)
        .outerjoin(latest, latest.c.key_user_id == col(KeyUser.id))
        .where(
            col(KeyUser.removed_at).is_(None),
            col(KeyUser.team_id).in_(pms_due),
            or_(col(KeyUser.cadence_days).is_not(None), since < cutoff),
        )
        .distinct()
    )
    with runtime.database.session() as session:
        return sorted(session.exec(query).all())


def _teams_with_meetings_ended(runtime: Runtime) -> list[str]:
    now = runtime.clock.now()
    ended = select(CalendarEvent.id).where(
        CalendarEvent.status == EventStatus.SCHEDULED,
        CalendarEvent.ends_at <= now,
        CalendarEvent.ends_at > now - outcomes.OUTCOME_WINDOW,
    )
    return teams_where(
        runtime,
        Meeting.team_id,
        col(Meeting.outcome_asked_at).is_(None),
        col(Meeting.event_id).in_(ended),
    )


def _by_locale(items: list[T], locale_of: Callable[[T], str]) -> list[tuple[str, list[T]]]:
    """Items split by their project's language: a PM of an English and a Chinese project gets
    each list in the project's own language."""
    grouped: dict[str, list[T]] = {}
    for item in items:
        grouped.setdefault(locale_of(item), []).append(item)
    return list(grouped.items())


def plan_due(runtime: Runtime) -> dict[str, Any]:
    """Tell each owner, in one DM, what of the communication plan is due, with their phase
    checklist items due or overdue: each item at most once per local day (the day is kept on
    the item), and no second DM in a day for checklist items alone."""
    told = checklist_told = 0
    command = runtime.settings.command("project")
    for team_id in _teams_with_plan_due(runtime):
        with runtime.unit(team_id) as ctx:
            plan = commplan.fall_due(ctx)
            checklist, told_today = phases.due_for_owners(ctx)
            held: list[notifications.Notice] = []
            for owner_id in dict.fromkeys([*plan, *checklist]):
                owned, listed = plan.get(owner_id, []), checklist.get(owner_id, [])
                if not owned and owner_id in told_today:
                    listed = []  # told today already: the next DM they get lists these
                both: list[Any] = [*owned, *listed]
                if not both:
                    continue
                for locale, items in _by_locale(both, lambda item: item.project.locale):
                    due = [i for i in items if isinstance(i, commplan.DueItem)]
                    ticked = [i for i in items if isinstance(i, phases.DueItem)]
                    marks = ",".join(
                        [f"{i.occurrence.id}.{i.occurrence.times_told}" for i in due]
                        + [f"c{i.item.id}.{i.item.due_on}" for i in ticked]
                    )
                    digest = hashlib.sha256(marks.encode()).hexdigest()[:24]
                    extra = phase_views.due_blocks(locale, ticked, command)
                    key = ctx.enqueue(
                        commplan.due_key(owner_id, digest),
                        {"channel": owner_id, **plan_views.due_dm(locale, due, extra)},
                        subject=commplan.due_subject(owner_id),
                        expires_at=ctx.now() + NOTICE_LIFETIME,
                    )
                    held.append(notifications.Notice(key, owner_id, items[0].project.timezone))
                    told += len(due)
                    checklist_told += len(ticked)
                phases.mark_reminded(ctx, listed)
            notifications.hold(ctx.session, team_id=team_id, notices=held, now=ctx.now())
            ctx.session.commit()
    return {"plan_items": told, "checklist_items": checklist_told}


def _nudged_since(runtime: Runtime, team_id: str, since: datetime) -> set[str]:
    """The PMs of the workspace who were nudged after ``since`` (one query of the outbox)."""
    prefix = f"engagement:nudge:{team_id}:"
    with runtime.database.session() as session:
        keys = session.exec(
            select(OutboxMessage.key).where(
                OutboxMessage.team_id == team_id,
                col(OutboxMessage.key).startswith(prefix, autoescape=True),
                OutboxMessage.created_at > since,
            )
        ).all()
    return {key[len(prefix) :].split(":", 1)[0] for key in keys}


def engagement_nudges(runtime: Runtime) -> dict[str, Any]:
    """At most once in any seven days per PM: who is in engagement debt, since when, with
    buttons to act."""
    zone = ZoneInfo(runtime.settings.timezone)
    local_now = runtime.clock.now().astimezone(zone)
    if local_now.hour < NUDGE_HOUR:
        return {"nudges": 0}
    year, week, _ = local_now.isocalendar()
    nudged = 0
    for team_id in _teams_to_nudge(runtime):
        recent = _nudged_since(runtime, team_id, runtime.clock.now() - NUDGE_EVERY)
        with runtime.unit(team_id) as ctx:
            held: list[notifications.Notice] = []
            for whole in engagement.nudges_due(ctx, ctx.now()):
                if whole.pm_id in recent:
                    continue
                for locale, items in _by_locale(whole.items, lambda item: item[0].locale):
                    nudge = engagement.Nudge(pm_id=whole.pm_id, items=items)
                    key = f"engagement:nudge:{team_id}:{nudge.pm_id}:{year}-W{week:02d}:{locale}"
                    if ctx.session.exec(
                        select(OutboxMessage).where(OutboxMessage.key == key)
                    ).first():
                        continue
                    ctx.enqueue(
                        key,
                        {"channel": nudge.pm_id, **engagement_views.nudge_dm(locale, nudge)},
                        subject=f"engagement:{nudge.pm_id}",
                        expires_at=ctx.now() + NOTICE_LIFETIME,
                    )
                    held.append(notifications.Notice(key, nudge.pm_id, zone.key))
                    ctx.log("engagement.nudged", pm=nudge.pm_id, key_users=nudge.count)
                    nudged += 1
            notifications.hold(ctx.session, team_id=team_id, notices=held, now=ctx.now())
            ctx.session.commit()
    return {"nudges": nudged}


def meeting_invitations(runtime: Runtime) -> dict[str, Any]:
    """Invitations of the next occurrences of meeting series (a week ahead of each)."""
    now = runtime.clock.now()
    due = select(CalendarEvent.id).where(
        CalendarEvent.status == EventStatus.SCHEDULED,
        CalendarEvent.starts_at > now,
        CalendarEvent.starts_at <= now + meetings.INVITE_AHEAD,
    )
    teams = teams_where(
        runtime, Meeting.team_id, col(Meeting.invited_at).is_(None), col(Meeting.event_id).in_(due)
    )
    queued = per_team(
        runtime, teams, lambda ctx: meetings.invite_due(ctx=ctx, messages=meeting_views.MESSAGES)
    )
    return {"meeting_invitations": queued}


def meeting_outcomes(runtime: Runtime) -> dict[str, Any]:
    """After a meeting, its organizer gets one DM asking to record the outcome."""
    asked = 0
    for team_id in _teams_with_meetings_ended(runtime):
        with runtime.unit(team_id) as ctx:
            due = outcomes.outcome_due(ctx)
            projects = {p.id: p for p in meetings.projects_of(ctx, due)}
            locales = {project_id: p.locale for project_id, p in projects.items()}
            held: list[notifications.Notice] = []
            for meeting, event in due:
                payload = meeting_views.MESSAGES.outcome_prompt(
                    locales[meeting.project_id], event, meeting
                )
                ctx.enqueue(
                    f"meeting:{event.id}:outcome_prompt",
                    {"channel": event.organizer_id, **payload},
                    subject=f"calendar:{event.id}",
                    expires_at=ctx.now() + RECORD_LIFETIME,  # asked once, answered any time
                )
                zone = projects[meeting.project_id].timezone
                held.append(
                    notifications.Notice(
                        f"meeting:{event.id}:outcome_prompt", event.organizer_id, zone
                    )
                )
                asked += 1
            # Not urgent: it comes when the organizer's preferences allow, as a message of its own.
            notifications.hold(ctx.session, team_id=team_id, notices=held, now=ctx.now())
            ctx.session.commit()
    return {"outcome_requests": asked}
