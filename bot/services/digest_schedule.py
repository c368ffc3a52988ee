"""When a project's weekly digest goes out, where, and that it goes out once per week.

When: a project's digest is due at its digest weekday and time in its own timezone, once per ISO
week of that timezone. ``claim_week`` inserts a ``DigestRun`` row under a unique constraint in the
same unit of work as the digest's outbox rows, so however many scheduler processes run the job,
one commits the digest and the others find the claim. A digest whose time passed while no
scheduler ran goes out when one is back, within the same week, marked late; a week that ended
without its digest is not sent afterwards.

Which week: a digest covers the ISO week of the project's timezone that ended last before it is
built (Monday 00:00 to Monday 00:00, local), compared with the week before (``Period``); it is
labelled with that week's number, and its claim is keyed on it. What a digest contains is in
``bot.services.digest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.errors import Msg, ValidationError
from bot.services import notifications
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.shards import in_shard
from storage.models import DigestRun, DigestSettings, DigestTarget, Project

WEEK = timedelta(days=7)
# A digest sent this long after its time is marked late (the job runs every few minutes).
LATE_AFTER = timedelta(minutes=30)
TARGETS = tuple(DigestTarget)


# ------------------------------------------------------------------------------ the calendar


@dataclass(frozen=True)
class Period:
    """The seven days a digest reports on (``start`` to ``end``) and the seven before them
    (from ``previous_start``: a local week is not always 168 hours long)."""

    start: datetime
    end: datetime
    previous_start: datetime

    @property
    def coming_end(self) -> datetime:
        return self.end + WEEK


def period_ending(end: datetime) -> Period:
    """The seven days up to ``end`` (the dashboards' "last seven days")."""
    return Period(start=end - WEEK, end=end, previous_start=end - 2 * WEEK)


def covered_week(project: Project, moment: datetime) -> Period:
    """The ISO week of the project's timezone that ended last before ``moment``: from its Monday
    00:00 to the next Monday 00:00, local time, compared with the week before it."""
    zone = ZoneInfo(project.timezone)
    local = moment.astimezone(zone).date()
    this_monday = local - timedelta(days=local.weekday())

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    return Period(
        start=midnight(this_monday - WEEK),
        end=midnight(this_monday),
        previous_start=midnight(this_monday - 2 * WEEK),
    )


def iso_week(project: Project, moment: datetime) -> str:
    year, week, _ = moment.astimezone(ZoneInfo(project.timezone)).isocalendar()
    return f"{year}-W{week:02d}"


def end_of_week(project: Project, moment: datetime) -> datetime:
    """The instant the ISO week (in the project's timezone) that ``moment`` falls in ends."""
    zone = ZoneInfo(project.timezone)
    local = moment.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    return datetime.combine(monday + timedelta(days=7), time(0, 0), tzinfo=zone).astimezone(UTC)


def covered_week_label(project: Project, moment: datetime) -> str:
    """The label (``2026-W48``) of the week a digest built at ``moment`` covers: its claim key."""
    return iso_week(project, covered_week(project, moment).start)


def due_in_week(project: Project, moment: datetime) -> datetime:
    """The digest time of the ISO week (in the project's timezone) that ``moment`` falls in."""
    zone = ZoneInfo(project.timezone)
    local = moment.astimezone(zone)
    monday = local.date() - timedelta(days=local.weekday())
    hours, minutes = (int(part) for part in project.digest_time.split(":"))
    day = monday + timedelta(days=project.digest_weekday)
    return datetime.combine(day, time(hours, minutes), tzinfo=zone).astimezone(UTC)


# ------------------------------------------------------------------------ settings and runs


def settings_of(ctx: Ctx, project: Project) -> DigestSettings:
    row = ctx.session.exec(
        ctx.select(DigestSettings).where(DigestSettings.project_id == project.id)
    ).first()
    if row is None:
        row = DigestSettings(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            target=DigestTarget.BOTH,
            updated_at=ctx.now(),
        )
    return row


def recipients(ctx: Ctx, project: Project, target: str) -> list[str]:
    """Where the digest goes: the project channel and/or each PM's DM (user id as channel)."""
    wanted: list[str] = []
    in_channel = target in (DigestTarget.CHANNEL, DigestTarget.BOTH) and bool(project.channel_id)
    if in_channel:
        wanted.append(project.channel_id or "")
    pms = project_service.pm_ids(ctx, project)
    # Each PM's own choice (one query for all of them): a DM copy or the channel only. Where the
    # channel does not get it, a DM is the only way it reaches them.
    prefs = notifications.preferences_of(ctx.session, ctx.team_id, pms, ctx.now())
    project_sends_dm = target in (DigestTarget.PMS, DigestTarget.BOTH)
    wanted += [
        pm
        for pm in pms
        if not in_channel or notifications.wants_digest_dm(prefs[pm], project_sends_dm)
    ]
    return list(dict.fromkeys(wanted))


@dataclass
class SettingsInput:
    weekday: int | str
    time: str
    target: str


def update_settings(*, ctx: Ctx, project: Project, data: SettingsInput) -> DigestSettings:
    """A PM changes the digest's day, time and target; every bad field is named at once."""
    project_service.require_pm(ctx, project)
    errors: dict[str, Msg] = {}
    try:
        weekday = int(data.weekday)
        if not 0 <= weekday <= 6:
            raise ValueError(weekday)
    except (TypeError, ValueError):
        errors["digest_weekday"] = Msg("errors.weekday_unknown")
        weekday = project.digest_weekday
    clock = (data.time or "").strip()
    if not project_service.TIME_RE.match(clock):
        errors["digest_time"] = Msg("errors.time_format")
    if data.target not in TARGETS:
        errors["digest_target"] = Msg("digest.errors.target_unknown")
    elif data.target == DigestTarget.CHANNEL and not project.channel_id:
        errors["digest_target"] = Msg("digest.errors.no_channel", code=project.code)
    if errors:
        raise ValidationError(errors)
    row = settings_of(ctx, project)
    before = (project.digest_weekday, project.digest_time, row.target)
    project.digest_weekday, project.digest_time = weekday, clock
    project.updated_at = ctx.now()
    row.target, row.updated_by, row.updated_at = data.target, ctx.actor_id, ctx.now()
    ctx.session.add(project)
    ctx.session.add(row)
    ctx.log(
        "digest.settings_changed",
        project_id=project.id,
        before=list(before),
        after=[weekday, clock, data.target],
    )
    ctx.session.flush()
    return row


def claim_week(
    ctx: Ctx, project: Project, *, week: str, due_at: datetime, late: bool, trigger: str
) -> DigestRun | None:
    """Claim the project's digest of ``week``; None when it was claimed already (by anyone)."""
    existing = ctx.session.exec(
        ctx.select(DigestRun).where(DigestRun.project_id == project.id, DigestRun.week == week)
    ).first()
    if existing is not None:
        return None
    run = DigestRun(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        week=week,
        due_at=due_at,
        claimed_at=ctx.now(),
        late=late,
        trigger=trigger,
        actor_id=ctx.actor_id,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(run)
    except IntegrityError:
        return None
    return run


@dataclass
class DueDigest:
    project: Project
    week: str
    due_at: datetime
    late: bool


def due_digests(session: Any, now: datetime) -> list[DueDigest]:
    """Every project, of every workspace, whose digest of the current week is due and unclaimed.

    Two statements in all: the projects, and the claims of the weeks in question."""
    projects = list(
        session.exec(
            select(Project).where(in_shard(Project.team_id)).order_by(col(Project.id))
        ).all()
    )
    candidates: list[DueDigest] = []
    for project in projects:
        due = due_in_week(project, now)
        # A week the project did not exist in has nothing to say: its first digest is the one
        # covering the week it was created in.
        if due <= now and project.created_at < covered_week(project, now).end:
            late = now - due > LATE_AFTER
            candidates.append(DueDigest(project, covered_week_label(project, now), due, late))
    if not candidates:
        return []
    weeks = {candidate.week for candidate in candidates}
    claimed = set(
        session.exec(
            select(col(DigestRun.project_id), col(DigestRun.week)).where(
                col(DigestRun.week).in_(weeks),
                col(DigestRun.project_id).in_([c.project.id for c in candidates]),
            )
        ).all()
    )
    return [c for c in candidates if (c.project.id, c.week) not in claimed]
