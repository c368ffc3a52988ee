"""What each person receives, and when: their notification preferences and the grouping step.

Jobs queue a person's notices (reminders, escalations, the plan's due items, digest copies…) in
the outbox as usual, then ``hold`` them: the rows wait (status ``held``) until the moment the
person's preferences allow (``release_at``: at once; or at their morning summary's hour; never on
a quiet day, but the next allowed morning), computed for all of a run's notices from one query
of the preferences and written back in one ``UPDATE`` per distinct moment.

``group_due`` (the ``notices`` job, before the outbox is delivered) then takes every held row
whose moment came, per person: a notice alone goes out as it is (its own key, so a click on it
still updates it in place); several become one DM with a section each, the urgent ones first,
keyed by the notices it carries (``notices:<team>:<person>:<hash>``), so a rerun sends nothing
twice. A notice whose buttons redraw it in place (the plan's due items) is held the same way
but goes out on its own. Of a person's daily lists about the same thing (yesterday's reminders
deferred by a quiet day, today's) only the newest is sent.

Urgent notices (escalations) are never deferred; messages that answer a click or announce
something starting within the hour are never held at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, update
from sqlmodel import Session, col, select

from bot.batches import chunked
from bot.delivery import NOTICE_LIFETIME, Outgoing, enqueue_many
from bot.errors import Msg, PermissionDenied, ValidationError
from bot.services.context import Ctx
from storage.models import (
    DigestCopy,
    NotificationPreference,
    OutboxMessage,
    OutboxStatus,
    Project,
    ReminderPace,
)

# Kinds (an outbox key's first part) whose notices are urgent: sent in the run that finds them,
# first in a grouped DM, whatever the person's preferences.
URGENT_KINDS = frozenset({"escalations"})
# Daily lists: a newer list about the same thing (same subject) replaces an older one not yet sent.
LIST_KINDS = frozenset({"reminder", "approval-reminder", "risk-review", "digest-remind"})
# Notices whose buttons redraw the whole message in place (the plan's due items, a meeting's
# outcome prompt): held like the others, but sent as messages of their own.
KEEP_WHOLE = frozenset({"plan", "meeting"})
DEFAULT_MORNING_HOUR = 9
HOURS = range(8, 13)  # a morning summary comes between 08:00 and 12:00, in working hours
WEEKDAYS = range(1, 8)  # ISO weekdays: 1 is Monday
GROUPED_KIND = "notices"


@dataclass(frozen=True)
class Notice:
    """An outbox row just queued for ``person`` about something of a project in ``timezone``."""

    key: str
    person: str
    timezone: str
    urgent: bool = False


# ------------------------------------------------------------------------------ preferences


def default_preference(team_id: str, person_id: str, now: datetime) -> NotificationPreference:
    return NotificationPreference(
        team_id=team_id,
        person_id=person_id,
        reminders=ReminderPace.DAILY,
        morning_hour=DEFAULT_MORNING_HOUR,
        digest=DigestCopy.PROJECT,
        quiet_days="",
        updated_at=now,
    )


def preferences_of(
    session: Session, team_id: str, persons: Iterable[str], now: datetime
) -> dict[str, NotificationPreference]:
    """Everyone's preferences in one query (the defaults for who has chosen nothing)."""
    wanted = sorted(set(persons))
    found: dict[str, NotificationPreference] = {}
    for batch in chunked(wanted):
        for row in session.exec(
            select(NotificationPreference).where(
                NotificationPreference.team_id == team_id,
                col(NotificationPreference.person_id).in_(list(batch)),
            )
        ).all():
            found[row.person_id] = row
    return {
        person: found.get(person) or default_preference(team_id, person, now) for person in wanted
    }


def preference(ctx: Ctx, person_id: str) -> NotificationPreference:
    return preferences_of(ctx.session, ctx.team_id, [person_id], ctx.now())[person_id]


def project_timezones(ctx: Ctx, limit: int = 5) -> str:
    """The timezones of the workspace's projects, which a morning summary's hour is read in
    (named in the form's hint; one statement)."""
    zones = ctx.session.exec(
        select(Project.timezone)
        .where(Project.team_id == ctx.team_id)
        .distinct()
        .order_by(col(Project.timezone))
        .limit(limit)
    ).all()
    return ", ".join(zones)


def quiet_days(pref: NotificationPreference) -> set[int]:
    return {int(day) for day in pref.quiet_days.split(",") if day.strip().isdigit()}


@dataclass
class PreferenceInput:
    person_id: str  # whose preferences the form says it changes (checked against the actor)
    reminders: str
    morning_hour: int | str | None
    digest: str
    quiet_days: Sequence[int | str]


def save_preference(*, ctx: Ctx, data: PreferenceInput) -> NotificationPreference:
    """A person changes their own preferences (nobody changes someone else's); every bad field
    is named at once."""
    if not ctx.actor_id or data.person_id != ctx.actor_id:
        raise PermissionDenied(Msg("notifications.errors.not_yours"))
    errors: dict[str, Msg] = {}
    if data.reminders not in set(ReminderPace):
        errors["reminders"] = Msg("notifications.errors.unknown_choice")
    try:
        hour = int(data.morning_hour if data.morning_hour not in (None, "") else -1)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        hour = -1
    if hour not in HOURS:
        errors["morning_hour"] = Msg("notifications.errors.hour")
    if data.digest not in set(DigestCopy):
        errors["digest"] = Msg("notifications.errors.unknown_choice")
    try:
        days = sorted({int(day) for day in data.quiet_days})
    except (TypeError, ValueError):
        days = [0]
    if any(day not in WEEKDAYS for day in days):
        errors["quiet_days"] = Msg("notifications.errors.unknown_choice")
    elif len(days) == len(WEEKDAYS):
        errors["quiet_days"] = Msg("notifications.errors.every_day_quiet")
    if errors:
        raise ValidationError(errors)
    row = ctx.session.exec(
        select(NotificationPreference).where(
            NotificationPreference.team_id == ctx.team_id,
            NotificationPreference.person_id == ctx.actor_id,
        )
    ).first() or default_preference(ctx.team_id, ctx.actor_id, ctx.now())
    before = (row.reminders, row.morning_hour, row.digest, row.quiet_days)
    row.reminders, row.morning_hour, row.digest = data.reminders, hour, data.digest
    row.quiet_days = ",".join(str(day) for day in days)
    row.updated_at = ctx.now()
    ctx.session.add(row)
    ctx.log(
        "notifications.preferences_changed",
        before=list(before),
        after=[row.reminders, row.morning_hour, row.digest, row.quiet_days],
    )
    ctx.session.flush()
    return row


def wants_digest_dm(pref: NotificationPreference, project_sends_dm: bool) -> bool:
    """Whether a PM gets the digest by DM: their own choice, else the project's."""
    if pref.digest == DigestCopy.DM:
        return True
    if pref.digest == DigestCopy.CHANNEL:
        return False
    return project_sends_dm


# -------------------------------------------------------------------------------- holding


def _morning(day: Any, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def release_at(
    pref: NotificationPreference, timezone: str, now: datetime, *, urgent: bool = False
) -> datetime:
    """When a notice queued at ``now`` may reach the person: at once (urgent, or daily on an
    allowed day), else the next allowed morning at their hour (a notice queued during that hour
    joins the summary being sent)."""
    if urgent:
        return now
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    quiet = quiet_days(pref)
    allowed_today = local.isoweekday() not in quiet
    if allowed_today and pref.reminders != ReminderPace.MORNING:
        return now
    if allowed_today and local.hour == pref.morning_hour:
        return now
    day = local.date()
    if not allowed_today or local.hour >= pref.morning_hour:
        day += timedelta(days=1)
    for _ in range(len(WEEKDAYS)):
        if day.isoweekday() not in quiet:
            break
        day += timedelta(days=1)
    return _morning(day, pref.morning_hour, zone)


def hold(session: Session, *, team_id: str, notices: Sequence[Notice], now: datetime) -> None:
    """Hold the rows just queued for ``notices`` (not yet tried) until their moment: one query
    of the preferences, one ``UPDATE`` per distinct moment. A deferred notice stays worth sending a
    day after its moment (deferred, not dropped)."""
    if not notices:
        return
    prefs = preferences_of(session, team_id, [n.person for n in notices], now)
    moments: dict[datetime, list[str]] = {}
    for notice in notices:
        moment = release_at(prefs[notice.person], notice.timezone, now, urgent=notice.urgent)
        moments.setdefault(moment, []).append(notice.key)
    for moment, keys in moments.items():
        floor = moment + NOTICE_LIFETIME
        for batch in chunked(keys):
            values: dict[str, Any] = {"status": OutboxStatus.HELD, "next_attempt_at": moment}
            if moment > now:
                values["expires_at"] = case(
                    (col(OutboxMessage.expires_at) < floor, floor),
                    else_=col(OutboxMessage.expires_at),
                )
            session.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.team_id) == team_id,
                    col(OutboxMessage.key).in_(list(batch)),
                    col(OutboxMessage.status) == OutboxStatus.PENDING,
                    col(OutboxMessage.attempts) == 0,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )


# ------------------------------------------------------------------------------- grouping


@dataclass(frozen=True)
class Part:
    """One notice in a grouped DM."""

    urgent: bool
    payload: dict[str, Any]


def recipient(row: OutboxMessage) -> str:
    return str(row.payload.get("channel") or row.payload.get("channel_id") or "")


def grouped_key(team_id: str, person: str, keys: Iterable[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:24]
    return f"{GROUPED_KIND}:{team_id}:{person}:{digest}"


def _set_status(session: Session, ids: list[int], values: dict[str, Any]) -> None:
    for batch in chunked(ids):
        session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(list(batch)),
                col(OutboxMessage.status) == OutboxStatus.HELD,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def group_due(
    session: Session,
    *,
    team_id: str,
    now: datetime,
    render: Any,
    limit: int = 50_000,
    people: Iterable[str] | None = None,
) -> list[str]:
    """Send what people's held notices have come to (see the module's notes): one query for the
    rows, one insert for the grouped DMs, one update per outcome. ``render(parts)`` gives the
    grouped DM's payloads (several when the blocks exceed one message's). Returns the keys of
    what it queued or released. ``people``: only theirs (what a request sends them now, as
    their preferences allow)."""
    rows = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.team_id == team_id,
            OutboxMessage.status == OutboxStatus.HELD,
            col(OutboxMessage.next_attempt_at) <= now,
        )
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
        .limit(limit)
    ).all()
    only = set(people) if people is not None else None
    per_person: dict[str, list[OutboxMessage]] = {}
    for row in rows:
        if only is not None and recipient(row) not in only:
            continue
        per_person.setdefault(recipient(row), []).append(row)
    released: list[int] = []
    superseded: list[int] = []
    grouped: dict[str, list[int]] = {}
    messages: list[Outgoing] = []
    keys: list[str] = []
    for person, theirs in per_person.items():
        newest: dict[str, OutboxMessage] = {}
        for row in theirs:  # oldest first: the last one of a subject is the newest
            if row.kind in LIST_KINDS and row.subject and row.method == "chat.postMessage":
                older = newest.get(row.subject)
                if older is not None:
                    superseded.append(older.id or 0)
                newest[row.subject] = row
        gone = set(superseded)
        alive = [row for row in theirs if row.id not in gone]
        posts = [
            row
            for row in alive
            if row.method == "chat.postMessage"
            and row.expires_at > now
            and row.kind not in KEEP_WHOLE
            and person
        ]
        if len(posts) <= 1:
            released += [row.id or 0 for row in alive]
            keys += [row.key for row in alive]
            continue
        posts.sort(key=lambda row: (row.kind not in URGENT_KINDS, row.created_at, row.id or 0))
        others = [row for row in alive if row not in posts]
        released += [row.id or 0 for row in others]
        keys += [row.key for row in others]
        base = grouped_key(team_id, person, [row.key for row in posts])
        payloads = render([Part(row.kind in URGENT_KINDS, row.payload) for row in posts])
        expires_at = max(row.expires_at for row in posts)
        for number, payload in enumerate(payloads, start=1):
            key = base if len(payloads) == 1 else f"{base}:{number}"
            messages.append(
                Outgoing(
                    key=key,
                    payload={**payload, "channel": person},
                    subject=f"{GROUPED_KIND}:{person}",
                    expires_at=expires_at,
                )
            )
        grouped[base] = [row.id or 0 for row in posts]
    keys += enqueue_many(session, team_id=team_id, messages=messages, now=now)
    _set_status(session, released, {"status": OutboxStatus.PENDING, "next_attempt_at": now})
    _set_status(
        session,
        superseded,
        {"status": OutboxStatus.CANCELLED, "error": "superseded by a newer list"},
    )
    into = {row_id: base for base, ids in grouped.items() for row_id in ids}
    if into:  # one update for every grouped row, each noting the DM that carried it
        _set_status(
            session,
            list(into),
            {"status": OutboxStatus.GROUPED, "error": case(into, value=col(OutboxMessage.id))},
        )
    return keys
