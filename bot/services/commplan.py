"""The communication plan: per project, entries for a role, a quadrant or a named key user (kind,
cadence, channel, owner, content note); the ready-made plan from the standard guidance; entries
falling due to their owners; done, snooze, and the progress report drafted from live data.

Falling due is idempotent: each occurrence is one ``PlanOccurrence`` row (unique per entry and
time), written in the same unit of work as the owner's DM in the outbox, and the entry's
``next_due_at`` moves on; a rerun at the same instant finds nothing new.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import col

from bot import delivery
from bot.calendar.upcoming import events_between
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import engagement, poll_results, recurrence
from bot.services import projects as project_service
from bot.services import risks as risk_service
from bot.services.context import Ctx
from bot.services.fields import limit, too_long
from bot.services.keyusers import ROLES, Quadrant, active_key_user, quadrant
from storage.models import (
    Issue,
    KeyUser,
    Poll,
    PollStatus,
    Project,
)
from storage.models.issues import OPEN_STATUSES
from storage.models.meetings import OccurrenceStatus, PlanEntry, PlanOccurrence

PLAN_KINDS = (
    "progress_report",
    "decision_material",
    "steering_review",
    "working_meeting",
    "workshop",
    "satisfaction_check",
    "one_to_one",
)
PLAN_CHANNELS = ("dm", "project_channel", "meeting", "email", "phone", "face_to_face")
AUDIENCE_KINDS = ("role", "quadrant", "person")
CADENCES = ("weekly", "biweekly", "monthly", "quarterly", "custom")
# Kinds whose natural follow-up is a meeting (the DM offers "Schedule meeting" for every kind).
MEETING_KIND_FOR = {
    "steering_review": "steering_committee",
    "working_meeting": "working_meeting",
    "workshop": "workshop",
    "decision_material": "decision_review",
    "progress_report": "progress_review",
    "one_to_one": "working_meeting",
    "satisfaction_check": "working_meeting",
}
NOTE_LIMIT = limit(PlanEntry.note)
DONE_NOTE_LIMIT = limit(PlanOccurrence.note)
SNOOZE_DAYS = 2
PAGE_SIZE = 8
DEFAULT_HOUR = time(9, 0)
REPORT_PERIOD_DAYS = 14
TIME_FORMAT_LENGTH = 5
log = logging.getLogger(__name__)

# The ready-made plan: (audience kind, value, kind, cadence, channel, catalog key of the note).
TEMPLATE: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("role", "decision_maker", "progress_report", "biweekly", "dm", "plan.template.decision"),
    ("role", "sponsor", "steering_review", "monthly", "meeting", "plan.template.steering"),
    (
        "role",
        "business_representative",
        "working_meeting",
        "weekly",
        "meeting",
        "plan.template.working",
    ),
    ("role", "business_representative", "workshop", "monthly", "meeting", "plan.template.workshop"),
    ("role", "key_user", "progress_report", "weekly", "project_channel", "plan.template.update"),
)


@dataclass
class PlanEntryInput:
    """What a PM picks in the plan entry form, as plain values."""

    audience_kind: str = "role"
    role: str | None = None
    quadrant: str | None = None
    person: str | None = None
    kind: str = "progress_report"
    cadence: str = "biweekly"
    custom_rule: str = ""
    first_date: str | date | None = None
    first_time: str = "09:00"
    channel: str = "dm"
    owner_id: str | None = None
    note: str = ""


def cadence_rule(cadence: str, custom_rule: str, first_day: date) -> str | None:
    if cadence == "custom":
        return custom_rule.strip().removeprefix("RRULE:").strip() or None
    if cadence == "quarterly":
        return "FREQ=MONTHLY;INTERVAL=3;" + recurrence.monthly_same_weekday(first_day).split(";")[1]
    return recurrence.preset_rule(cadence, first_day)


def cadence_of(rule: str) -> str:
    """The form's cadence choice that produced ``rule`` (``custom`` when none did)."""
    text = rule.upper()
    if text == "FREQ=WEEKLY":
        return "weekly"
    if text == "FREQ=WEEKLY;INTERVAL=2":
        return "biweekly"
    if text.startswith("FREQ=MONTHLY;INTERVAL=3;BYDAY="):
        return "quarterly"
    if text.startswith("FREQ=MONTHLY;BYDAY=") and text.count(";") == 1:
        return "monthly"
    return "custom"


def _clean(ctx: Ctx, project: Project, data: PlanEntryInput) -> dict[str, object]:
    errors: dict[str, Msg] = {}
    kind = data.audience_kind if data.audience_kind in AUDIENCE_KINDS else ""
    value = ""
    if not kind:
        errors["audience_kind"] = Msg("errors.choice", choices=", ".join(AUDIENCE_KINDS))
    elif kind == "role":
        value = data.role or ""
        if value not in ROLES:
            errors["role"] = Msg("plan.errors.role_needed")
    elif kind == "quadrant":
        value = data.quadrant or ""
        if value not in tuple(Quadrant):
            errors["quadrant"] = Msg("plan.errors.quadrant_needed")
    else:
        value = data.person or ""
        if active_key_user(ctx, project, value) is None:
            errors["person"] = Msg("plan.errors.person_not_key_user", code=project.code)
    if data.kind not in PLAN_KINDS:
        errors["kind"] = Msg("errors.choice", choices=", ".join(PLAN_KINDS))
    if data.channel not in PLAN_CHANNELS:
        errors["channel"] = Msg("errors.choice", choices=", ".join(PLAN_CHANNELS))
    owner = data.owner_id or ""
    if not owner:
        errors["owner_id"] = Msg("errors.required")
    elif not project_service.is_team_member(ctx, project, owner):
        errors["owner_id"] = Msg("plan.errors.owner_not_team", code=project.code)
    note = (data.note or "").strip()
    if len(note) > NOTE_LIMIT:
        errors["note"] = Msg("errors.too_long", limit=NOTE_LIMIT)
    zone = ZoneInfo(project.timezone)
    today = ctx.now().astimezone(zone).date()
    first_day: date | None
    try:
        if isinstance(data.first_date, date):
            first_day = data.first_date
        else:
            first_day = date.fromisoformat(data.first_date) if data.first_date else today
    except ValueError:
        first_day = None
        errors["first_date"] = Msg("plan.errors.date_format")
    first_time = DEFAULT_HOUR
    if data.first_time:
        try:
            first_time = time.fromisoformat(data.first_time.strip()[:TIME_FORMAT_LENGTH])
        except ValueError:
            errors["first_time"] = Msg("errors.time_format")
    rule = None
    if data.cadence not in CADENCES:
        errors["cadence"] = Msg("errors.choice", choices=", ".join(CADENCES))
    elif first_day is not None:
        if first_day < today:
            errors["first_date"] = Msg("plan.errors.first_past")
        rule = cadence_rule(data.cadence, data.custom_rule or "", first_day)
        if rule is None:
            errors["custom_rule"] = Msg("plan.errors.rule_needed")
        elif message := too_long(rule, PlanEntry.rrule):
            errors["custom_rule"] = message
            rule = None
    first_at = None
    if first_day is not None:
        first_at = datetime.combine(first_day, first_time, tzinfo=zone).astimezone(UTC)
    if rule is not None and first_at is not None:
        try:
            recurrence.check_rule(
                rule, first_at, project.timezone, field="custom_rule", bounded=False
            )
        except ValidationError as error:
            errors.update(error.errors)  # type: ignore[arg-type]
    if errors:
        raise ValidationError(errors)  # type: ignore[arg-type]
    return {
        "audience_kind": kind,
        "audience_value": value,
        "kind": data.kind,
        "rrule": rule,
        "first_at": first_at,
        "channel": data.channel,
        "owner_id": owner,
        "note": note or None,
    }


def require_planner(ctx: Ctx, project: Project) -> None:
    """PMs and the project team make and change the plan and meetings."""
    if not (project_service.is_team_member(ctx, project) or ctx.actor_is_admin):
        raise PermissionDenied(Msg("plan.errors.not_team", code=project.code))


def add_entry(*, ctx: Ctx, project: Project, data: PlanEntryInput) -> PlanEntry:
    require_planner(ctx, project)
    values = _clean(ctx, project, data)
    now = ctx.now()
    entry = PlanEntry(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        created_by=ctx.actor_id or "",
        created_at=now,
        updated_at=now,
        next_due_at=values["first_at"],  # type: ignore[arg-type]
        **values,  # type: ignore[arg-type]
    )
    ctx.session.add(entry)
    ctx.session.flush()
    ctx.log("plan.entry_added", project_id=project.id, entry_id=entry.id, **_loggable(values))
    return entry


def _loggable(values: dict[str, object]) -> dict[str, object]:
    """The entry's values for the log (``kind`` renamed: it is the log entry's own field)."""
    return {
        ("entry_kind" if k == "kind" else k): (v.isoformat() if isinstance(v, datetime) else v)
        for k, v in values.items()
    }


def update_entry(*, ctx: Ctx, entry: PlanEntry, data: PlanEntryInput) -> PlanEntry:
    project = project_service.get_project_by_id(ctx, entry.project_id)
    require_planner(ctx, project)
    values = _clean(ctx, project, data)
    for name, value in values.items():
        setattr(entry, name, value)
    entry.next_due_at = values["first_at"]  # type: ignore[assignment]
    entry.updated_at = ctx.now()
    ctx.session.add(entry)
    ctx.log("plan.entry_updated", project_id=project.id, entry_id=entry.id, **_loggable(values))
    return entry


def remove_entry(*, ctx: Ctx, entry: PlanEntry) -> PlanEntry:
    project = project_service.get_project_by_id(ctx, entry.project_id)
    require_planner(ctx, project)
    if entry.removed_at is None:
        entry.removed_at = ctx.now()
        entry.next_due_at = None
        ctx.session.add(entry)
        ctx.log("plan.entry_removed", project_id=project.id, entry_id=entry.id)
    return entry


def get_entry(ctx: Ctx, entry_id: int) -> tuple[PlanEntry, Project]:
    entry = ctx.get(PlanEntry, entry_id)
    if entry is None or entry.removed_at is not None:
        raise NotFound(Msg("plan.errors.entry_gone"))
    return entry, project_service.get_project_by_id(ctx, entry.project_id)


def entry_input(entry: PlanEntry, project: Project) -> PlanEntryInput:
    """The form's values for an existing entry (to edit it)."""
    local = entry.first_at.astimezone(ZoneInfo(project.timezone))
    cadence = cadence_of(entry.rrule)
    return PlanEntryInput(
        audience_kind=entry.audience_kind,
        role=entry.audience_value if entry.audience_kind == "role" else None,
        quadrant=entry.audience_value if entry.audience_kind == "quadrant" else None,
        person=entry.audience_value if entry.audience_kind == "person" else None,
        kind=entry.kind,
        cadence=cadence,
        custom_rule=entry.rrule if cadence == "custom" else "",
        first_date=local.date(),
        first_time=local.strftime("%H:%M"),
        channel=entry.channel,
        owner_id=entry.owner_id,
        note=entry.note or "",
    )


def plan_page(ctx: Ctx, project: Project, page: int) -> tuple[list[PlanEntry], int]:
    """One page of a project's plan (PMs and team only) and the number of pages."""
    require_planner(ctx, project)
    entries = active_entries(ctx, project)
    pages = max(1, -(-len(entries) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    return entries[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], pages


def active_entries(ctx: Ctx, project: Project) -> list[PlanEntry]:
    return list(
        ctx.session.exec(
            ctx.select(PlanEntry)
            .where(PlanEntry.project_id == project.id, col(PlanEntry.removed_at).is_(None))
            .order_by(col(PlanEntry.id))
        ).all()
    )


def apply_template(*, ctx: Ctx, project: Project, locale: str) -> list[PlanEntry]:
    """Fill an empty plan with the standard guidance; the acting PM owns every entry."""
    require_planner(ctx, project)
    if active_entries(ctx, project):
        raise ValidationError({"plan": Msg("plan.errors.template_not_empty", code=project.code)})
    zone = ZoneInfo(project.timezone)
    local_now = ctx.now().astimezone(zone)
    # Start on the next Monday at 09:00 local, so the first due dates line up in one week.
    start = (local_now + timedelta(days=7 - local_now.weekday())).date()
    created = []
    for audience_kind, value, kind, cadence, channel, note_key in TEMPLATE:
        data = PlanEntryInput(
            audience_kind=audience_kind,
            role=value,
            kind=kind,
            cadence=cadence,
            first_date=start,
            channel=channel,
            owner_id=ctx.actor_id,
            note=plain(locale, note_key),
        )
        created.append(add_entry(ctx=ctx, project=project, data=data))
    ctx.log("plan.template_applied", project_id=project.id, entries=len(created))
    return created


# ------------------------------------------------------------------------------- recipients


def recipients_by_entry(ctx: Ctx, entries: list[PlanEntry]) -> dict[int, list[KeyUser]]:
    """The active key users each entry is for, with one query for all entries' projects."""
    project_ids = sorted({entry.project_id for entry in entries})
    if not project_ids:
        return {}
    key_users = ctx.session.exec(
        ctx.select(KeyUser)
        .where(col(KeyUser.project_id).in_(project_ids), col(KeyUser.removed_at).is_(None))
        .order_by(col(KeyUser.display_name).nulls_first(), col(KeyUser.user_id))
    ).all()
    by_project: dict[int, list[KeyUser]] = defaultdict(list)
    for key_user in key_users:
        by_project[key_user.project_id].append(key_user)
    result = {}
    for entry in entries:
        people = by_project.get(entry.project_id, [])
        if entry.audience_kind == "role":
            chosen = [k for k in people if k.role == entry.audience_value]
        elif entry.audience_kind == "quadrant":
            chosen = [
                k for k in people if quadrant(k.influence, k.interest) == entry.audience_value
            ]
        elif entry.audience_kind == "module":  # items made for a change request's modules
            wanted = entry.audience_value.strip().lower()
            chosen = [k for k in people if (k.module or "").strip().lower() == wanted]
        else:
            chosen = [k for k in people if k.user_id == entry.audience_value]
        result[entry.id or 0] = chosen
    return result


# ------------------------------------------------------------------------------ falling due


@dataclass
class DueItem:
    occurrence: PlanOccurrence
    entry: PlanEntry
    project: Project
    recipients: list[KeyUser] = field(default_factory=list)


def fall_due(ctx: Ctx) -> dict[str, list[DueItem]]:
    """Occurrences that are due now and not yet told to their owner, grouped by owner.

    New occurrences are created (one per entry: an entry whose owner missed several periods gets
    its latest one, not a backlog; none while its audience is empty), entries move to their next
    time, and snoozed occurrences whose snooze ended come back. Each returned occurrence has had
    ``times_told`` raised."""
    now = ctx.now()
    entries = list(
        ctx.session.exec(
            ctx.select(PlanEntry).where(
                col(PlanEntry.removed_at).is_(None),
                col(PlanEntry.next_due_at).is_not(None),
                col(PlanEntry.next_due_at) <= now,
            )
        ).all()
    )
    projects = {
        p.id: p
        for p in ctx.session.exec(
            ctx.select(Project).where(col(Project.id).in_({e.project_id for e in entries} or {0}))
        ).all()
    }
    audiences = recipients_by_entry(ctx, entries)
    fresh: list[PlanOccurrence] = []
    for entry in entries:
        project = projects[entry.project_id]
        due_at = entry.next_due_at
        assert due_at is not None
        try:
            latest, following = recurrence.around(
                entry.rrule, entry.first_at, project.timezone, now
            )
        except ValueError as error:
            # A rule stored before rules were bounded (every minute, say): told this once, then
            # the entry stops until someone gives it a rule the form accepts.
            reason = error.key if isinstance(error, recurrence.RuleRefused) else "bad_rule"
            log.warning("plan entry %s stops: its rule is refused (%s)", entry.id, reason)
            ctx.log("plan.entry_stopped", project_id=project.id, entry_id=entry.id, reason=reason)
            latest, following = None, None
        if latest is not None and latest > due_at:
            due_at = latest  # a late run tells the latest occurrence, not each one it missed
        entry.next_due_at = following
        ctx.session.add(entry)
        if not audiences.get(entry.id or 0):
            continue  # nobody in its audience yet (no sponsor registered): nothing to do
        occurrence = PlanOccurrence(
            team_id=ctx.team_id,
            project_id=entry.project_id,
            entry_id=entry.id or 0,
            owner_id=entry.owner_id,
            due_at=due_at,
        )
        ctx.session.add(occurrence)
        fresh.append(occurrence)
    woken = list(
        ctx.session.exec(
            ctx.select(PlanOccurrence).where(
                PlanOccurrence.status == OccurrenceStatus.SNOOZED,
                col(PlanOccurrence.snoozed_until) <= now,
            )
        ).all()
    )
    for occurrence in woken:
        occurrence.status = OccurrenceStatus.DUE
        occurrence.snoozed_until = None
    items = fresh + woken
    for occurrence in items:
        occurrence.times_told += 1
        ctx.session.add(occurrence)
    ctx.session.flush()
    return _group(ctx, items)


def _group(ctx: Ctx, occurrences: list[PlanOccurrence]) -> dict[str, list[DueItem]]:
    if not occurrences:
        return {}
    entry_ids = {o.entry_id for o in occurrences}
    entries = {
        e.id: e
        for e in ctx.session.exec(
            ctx.select(PlanEntry).where(col(PlanEntry.id).in_(entry_ids))
        ).all()
    }
    project_ids = {e.project_id for e in entries.values()}
    projects = {
        p.id: p
        for p in ctx.session.exec(ctx.select(Project).where(col(Project.id).in_(project_ids))).all()
    }
    recipients = recipients_by_entry(ctx, list(entries.values()))
    grouped: dict[str, list[DueItem]] = defaultdict(list)
    for occurrence in sorted(occurrences, key=lambda o: (o.due_at, o.id or 0)):
        entry = entries[occurrence.entry_id]
        grouped[occurrence.owner_id].append(
            DueItem(occurrence, entry, projects[entry.project_id], recipients[entry.id or 0])
        )
    return dict(grouped)


def due_items_of(ctx: Ctx, owner_id: str) -> list[DueItem]:
    """An owner's occurrences still waiting (due or snoozed)."""
    rows = ctx.session.exec(
        ctx.select(PlanOccurrence).where(
            PlanOccurrence.owner_id == owner_id,
            col(PlanOccurrence.status).in_((OccurrenceStatus.DUE, OccurrenceStatus.SNOOZED)),
        )
    ).all()
    return _group(ctx, list(rows)).get(owner_id, [])


def items_for_owner(ctx: Ctx, occurrence_ids: list[int]) -> list[DueItem]:
    """The listed occurrences the acting person may see (as owner, or PM of their project), in
    a handful of queries whatever their number (to redraw a due DM)."""
    rows = ctx.session.exec(
        ctx.select(PlanOccurrence).where(col(PlanOccurrence.id).in_(occurrence_ids or [0]))
    ).all()
    grouped = _group(ctx, list(rows))
    managed = {p.id for p in project_service.projects_managed_by(ctx, ctx.actor_id or "")}
    return sorted(
        (
            item
            for items in grouped.values()
            for item in items
            if item.occurrence.owner_id == ctx.actor_id or item.project.id in managed
        ),
        key=lambda item: occurrence_ids.index(item.occurrence.id or 0),
    )


def due_key(owner_id: str, digest: str = "") -> str:
    """The outbox key of a due-items DM to ``owner_id`` (without ``digest``: of any of them)."""
    return f"plan:due:{owner_id}:{digest}"


def due_subject(owner_id: str) -> str:
    return f"plan:owner:{owner_id}"


def due_message(ctx: Ctx, ts: str | None) -> delivery.SentMessage | None:
    """The due-items DM the app sent the acting person at ``ts``: a request may name the DM it
    came from, but only the outbox confirms it was one of the app's DMs to them."""
    owner_id = ctx.actor_id or ""
    return delivery.sent_message(
        ctx.session,
        team_id=ctx.team_id,
        to=owner_id,
        key=due_key(owner_id),
        subject=due_subject(owner_id),
        ts=ts,
    )


def occurrence_for_owner(ctx: Ctx, occurrence_id: int) -> DueItem:
    """An occurrence the acting person may act on: its owner, or a PM of its project."""
    occurrence = ctx.get(PlanOccurrence, occurrence_id)
    if occurrence is None:
        raise NotFound(Msg("plan.errors.entry_gone"))
    project = project_service.get_project_by_id(ctx, occurrence.project_id)
    if occurrence.owner_id != ctx.actor_id and not project_service.can_manage(ctx, project):
        raise PermissionDenied(Msg("plan.errors.not_owner"))
    [item] = _group(ctx, [occurrence])[occurrence.owner_id]
    return item


def _require_open(item: DueItem) -> None:
    if item.occurrence.status == OccurrenceStatus.DONE:
        raise ValidationError({"note": Msg("plan.errors.already_done")})


def mark_done(
    *, ctx: Ctx, occurrence_id: int, note: str, outcome: str = "done", meeting_id: int | None = None
) -> DueItem:
    item = occurrence_for_owner(ctx, occurrence_id)
    _require_open(item)
    text = " ".join((note or "").split())
    if outcome == "done" and not text:
        raise ValidationError({"note": Msg("errors.required")})
    if len(text) > DONE_NOTE_LIMIT:
        raise ValidationError({"note": Msg("errors.too_long", limit=DONE_NOTE_LIMIT)})
    occurrence = item.occurrence
    occurrence.status = OccurrenceStatus.DONE
    occurrence.outcome = outcome
    occurrence.note = text or None
    occurrence.done_at = ctx.now()
    occurrence.done_by = ctx.actor_id
    occurrence.snoozed_until = None
    occurrence.meeting_event_id = meeting_id
    ctx.session.add(occurrence)
    ctx.log(
        f"plan.{outcome}",
        project_id=item.project.id,
        entry_id=item.entry.id,
        occurrence_id=occurrence.id,
        note=text,
    )
    if outcome == "done" and item.entry.channel in ("phone", "face_to_face", "email"):
        # A plan entry carried out outside Slack is a contact with each of its recipients.
        engagement.log_touchpoints(
            ctx,
            item.project.id or 0,
            [k.user_id for k in item.recipients],
            f"contact.{'call' if item.entry.channel == 'phone' else item.entry.channel}",
            note=text,
            plan_entry=item.entry.id,
        )
    return item


def snooze(*, ctx: Ctx, occurrence_id: int, days: int = SNOOZE_DAYS) -> DueItem:
    item = occurrence_for_owner(ctx, occurrence_id)
    _require_open(item)
    occurrence = item.occurrence
    occurrence.status = OccurrenceStatus.SNOOZED
    occurrence.snoozed_until = ctx.now() + timedelta(days=days)
    ctx.session.add(occurrence)
    ctx.log(
        "plan.snoozed",
        project_id=item.project.id,
        entry_id=item.entry.id,
        occurrence_id=occurrence.id,
        until=occurrence.snoozed_until.isoformat(),
    )
    return item


# --------------------------------------------------------------------------- progress report


@dataclass
class ReportFigures:
    """Live data for a progress report, over the period since ``since``."""

    project: Project
    since: datetime
    opened: int
    resolved: int
    open_now: int
    overdue: int
    top_overdue: list[tuple[str, str]]  # (short id, title)
    last_poll_title: str | None = None
    last_poll_rate: float | None = None
    last_poll_csat: float | None = None
    upcoming: list[tuple[str, datetime]] = field(default_factory=list)  # (title, start)
    # The open risks that may be shown to the project (its channel, its key users): a report
    # goes there or to key users, who see no other risk.
    risks: risk_service.RiskOverview | None = None


def report_figures(ctx: Ctx, project: Project, since: datetime) -> ReportFigures:
    """Issues opened and resolved since ``since``, open and overdue now, the last closed poll."""
    now = ctx.now()
    open_statuses = [str(s) for s in OPEN_STATUSES]
    base = (Issue.team_id == ctx.team_id, Issue.project_id == project.id)
    alive = col(Issue.deleted_at).is_(None)
    opened = ctx.session.execute(
        select(func.count()).where(*base, alive, col(Issue.created_at) >= since)
    ).scalar_one()
    resolved = ctx.session.execute(
        select(func.count()).where(*base, alive, col(Issue.resolved_at) >= since)
    ).scalar_one()
    open_now = ctx.session.execute(
        select(func.count()).where(*base, alive, col(Issue.status).in_(open_statuses))
    ).scalar_one()
    overdue_rows = ctx.session.exec(
        ctx.select(Issue)
        .where(
            Issue.project_id == project.id,
            alive,
            col(Issue.status).in_(open_statuses),
            col(Issue.due_at) <= now,
        )
        .order_by(col(Issue.due_at))
    ).all()
    figures = ReportFigures(
        project=project,
        since=since,
        opened=int(opened),
        resolved=int(resolved),
        open_now=int(open_now),
        overdue=len(overdue_rows),
        top_overdue=[(f"{project.code}-{i.number}", i.title) for i in overdue_rows[:3]],
    )
    poll = ctx.session.exec(
        ctx.select(Poll)
        .where(Poll.project_id == project.id, Poll.status == PollStatus.CLOSED)
        .order_by(col(Poll.closes_at).desc())
    ).first()
    if poll is not None:
        round_figures = poll_results.round_figures(ctx, poll)
        figures.last_poll_title = poll.title
        figures.last_poll_rate = round_figures.response_rate
        figures.last_poll_csat = round_figures.csat
    figures.upcoming = upcoming_events(ctx, project, now, now + timedelta(days=REPORT_PERIOD_DAYS))
    figures.risks = risk_service.overview(ctx, project).for_channel()
    return figures


def upcoming_events(
    ctx: Ctx, project: Project, start: datetime, end: datetime
) -> list[tuple[str, datetime]]:
    """Trainings and meetings of the project starting in [start, end): (title, start)."""
    events = events_between(ctx, project.id or 0, start, end, limit=10)
    return [(event.title, event.starts_at) for event in events]


def report_since(ctx: Ctx, item: DueItem) -> datetime:
    """The period a report covers: since the entry's previous report, else two weeks."""
    previous = ctx.session.exec(
        ctx.select(PlanOccurrence)
        .where(
            PlanOccurrence.entry_id == item.entry.id,
            PlanOccurrence.outcome == "report_sent",
            col(PlanOccurrence.id) != item.occurrence.id,
        )
        .order_by(col(PlanOccurrence.done_at).desc())
    ).first()
    if previous is not None and previous.done_at is not None:
        return previous.done_at
    return ctx.now() - timedelta(days=REPORT_PERIOD_DAYS)


def report_targets(item: DueItem) -> tuple[str | None, list[str]]:
    """Where a report goes: the project channel (for a channel entry with a channel set) and/or
    the recipients' DMs."""
    if item.entry.channel == "project_channel" and item.project.channel_id:
        return item.project.channel_id, []
    return None, [k.user_id for k in item.recipients]


def queue_report(ctx: Ctx, item: DueItem, payload: dict[str, Any]) -> list[str]:
    """The reviewed report, in the outbox to the entry's channel or each recipient's DM."""
    channel, people = report_targets(item)
    occurrence_id = item.occurrence.id or 0
    return [
        ctx.enqueue(
            f"plan:report:{occurrence_id}:{target}",
            {"channel": target, **payload},
            subject=f"plan:{occurrence_id}",
            expires_at=ctx.now() + delivery.RECORD_LIFETIME,  # a report, read any time
        )
        for target in ([channel] if channel else people)
    ]


def record_report_sent(*, ctx: Ctx, item: DueItem, text: str) -> DueItem:
    """The owner sent the reviewed report: the occurrence is done and each recipient received a
    report (a touchpoint)."""
    body = (text or "").strip()
    if not body:
        raise ValidationError({"report": Msg("errors.required")})
    if len(body) > 2900:
        raise ValidationError({"report": Msg("errors.too_long", limit=2900)})
    channel, people = report_targets(item)
    if channel is None and not people:
        raise ValidationError({"report": Msg("plan.errors.no_recipients")})
    mark_done(ctx=ctx, occurrence_id=item.occurrence.id or 0, note="", outcome="report_sent")
    audience = [k.user_id for k in item.recipients]
    engagement.log_touchpoints(
        ctx,
        item.project.id or 0,
        audience,
        "report.received",
        occurrence_id=item.occurrence.id,
        via="channel" if channel else "dm",
    )
    return item
