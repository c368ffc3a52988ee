"""Recurrence rules (iCalendar RRULE, through python-dateutil) kept in local wall time.

A rule is expanded from the first occurrence's *local* date and time in the project's timezone,
and each occurrence is turned into UTC only afterwards: a meeting at 09:00 Europe/Berlin stays at
09:00 local across daylight-saving changes (its UTC time moves by an hour instead).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from bot.errors import Msg, ValidationError

MAX_OCCURRENCES = 100
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# The repeats a form offers; "monthly" is on the same weekday (the 2nd Tuesday, the last Friday).
PRESETS = ("none", "weekly", "biweekly", "monthly")


def monthly_same_weekday(day: date) -> str:
    """The nth weekday of each month (a 5th one, which most months lack, becomes the last)."""
    nth = (day.day - 1) // 7 + 1
    return f"FREQ=MONTHLY;BYDAY={-1 if nth == 5 else nth:+d}{WEEKDAY_CODES[day.weekday()]}"


def preset_rule(preset: str, first_day: date) -> str | None:
    """The RRULE (without DTSTART) for a form's repeat choice; None for a one-off."""
    if preset == "weekly":
        return "FREQ=WEEKLY"
    if preset == "biweekly":
        return "FREQ=WEEKLY;INTERVAL=2"
    if preset == "monthly":
        return monthly_same_weekday(first_day)
    return None


def _local_naive(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def _to_utc(local: datetime, timezone: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def build(rule: str, first_at: datetime, timezone: str) -> rrule:
    """The dateutil rule anchored at ``first_at``'s local wall time; ValueError when malformed."""
    text = rule.strip().removeprefix("RRULE:")
    if not text or "DTSTART" in text.upper() or "\n" in text:
        raise ValueError("not a single RRULE")
    parsed = rrulestr(f"RRULE:{text}", dtstart=_local_naive(first_at, timezone))
    if not isinstance(parsed, rrule):
        raise ValueError("not a single RRULE")
    return parsed


def check_rule(
    rule: str, first_at: datetime, timezone: str, *, field: str, bounded: bool
) -> list[datetime]:
    """Validate a rule; for a bounded one (a meeting series) return every occurrence in UTC.

    A series must end (COUNT or UNTIL) within ``MAX_OCCURRENCES``; a plan cadence may run on."""
    try:
        parsed = build(rule, first_at, timezone)
        upcoming = parsed.xafter(_local_naive(first_at, timezone), count=2, inc=True)
        if len(list(upcoming)) < 1:
            raise ValueError("no occurrence")
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise ValidationError({field: Msg("meeting.errors.bad_rule")}) from error
    if not bounded:
        return []
    text = rule.upper()
    if "COUNT=" not in text and "UNTIL=" not in text:
        raise ValidationError({field: Msg("meeting.errors.series_endless")})
    occurrences = []
    for local in parsed:
        occurrences.append(_to_utc(local, timezone))
        if len(occurrences) > MAX_OCCURRENCES:
            raise ValidationError(
                {field: Msg("meeting.errors.series_too_long", limit=MAX_OCCURRENCES)}
            )
    return occurrences


def next_after(rule: str, first_at: datetime, timezone: str, after: datetime) -> datetime | None:
    """The first occurrence strictly after ``after`` (UTC), or None when the rule has ended."""
    parsed = build(rule, first_at, timezone)
    local = parsed.after(_local_naive(after, timezone), inc=False)
    while local is not None:
        moment = _to_utc(local, timezone)
        if moment > after:
            return moment
        local = parsed.after(local, inc=False)
    return None


def series(rule: str, first_at: datetime, timezone: str) -> list[datetime]:
    """Every occurrence of a bounded rule in UTC (at most ``MAX_OCCURRENCES`` + 1)."""
    parsed = build(rule, first_at, timezone)
    found = []
    for local in parsed:
        found.append(_to_utc(local, timezone))
        if len(found) > MAX_OCCURRENCES:
            break
    return found
