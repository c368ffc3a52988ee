"""Recurrence rules (iCalendar RRULE, through python-dateutil) kept in local wall time.

A rule is expanded from the first occurrence's *local* date and time in the project's timezone,
and each occurrence is turned into UTC only afterwards: a meeting at 09:00 Europe/Berlin stays at
09:00 local across daylight-saving changes (its UTC time moves by an hour instead).

Every rule a person can type is bounded: at most one occurrence a day (DAILY, WEEKLY, MONTHLY or
YEARLY, one time of day), at most a year between periods, a COUNT of at most ``MAX_OCCURRENCES``.
The next occurrence of an open-ended rule is found from a period boundary just before the moment
asked about, not from the first occurrence, so it costs the same on day 1 and on day 1,000.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from bot.errors import Msg, ValidationError

MAX_OCCURRENCES = 100
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# The frequencies a rule may have, with the largest INTERVAL of each (a year between periods).
MAX_INTERVAL = {"DAILY": 366, "WEEKLY": 52, "MONTHLY": 12, "YEARLY": 1}
TOO_OFTEN = ("HOURLY", "MINUTELY", "SECONDLY")
TIME_OF_DAY = ("BYHOUR", "BYMINUTE", "BYSECOND")  # one value each: one occurrence a day at most
PARTS = frozenset(
    {"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS"}
    | set(TIME_OF_DAY)
)
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


class RuleRefused(ValueError):
    """A well-formed rule outside the bounds above; ``key`` is the catalog message saying which."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def _parts(text: str) -> dict[str, str]:
    """The rule's NAME=VALUE parts, upper-cased as dateutil reads them; RuleRefused or ValueError
    when the rule is out of bounds or not one this app follows."""
    parts: dict[str, str] = {}
    for pair in text.split(";"):
        name, equals, value = pair.partition("=")
        if not equals or name.upper() in parts:
            raise ValueError("not a single RRULE")
        parts[name.upper()] = value.upper()
    frequency = parts.get("FREQ", "")
    if frequency in TOO_OFTEN or any("," in parts.get(name, "") for name in TIME_OF_DAY):
        raise RuleRefused("meeting.errors.rule_too_often")
    if frequency not in MAX_INTERVAL or not parts.keys() <= PARTS:
        raise ValueError("not a rule this app follows")
    interval = parts.get("INTERVAL", "1")
    if not (interval.isdecimal() and 1 <= int(interval) <= MAX_INTERVAL[frequency]):
        raise RuleRefused("meeting.errors.rule_interval", limit=MAX_INTERVAL[frequency])
    count = parts.get("COUNT", "1")
    if not (count.isdecimal() and 1 <= int(count) <= MAX_OCCURRENCES):
        raise RuleRefused("meeting.errors.rule_count", limit=MAX_OCCURRENCES)
    if frequency in ("DAILY", "WEEKLY") and "BYSETPOS" in parts:
        raise ValueError("a day holds one occurrence, a week its BYDAY: BYSETPOS adds nothing")
    if not _some_day_exists(parts) or not _positions_exist(parts):
        raise ValueError("no period has such a day")
    return parts


def _positions_exist(parts: dict[str, str]) -> bool:
    """Whether the nth weekday of BYDAY and the nth day of BYSETPOS can exist in a month (five
    Mondays at most) or a year (53), so that the rule occurs at all."""
    per_period = {"MONTHLY": 5, "YEARLY": 53}.get(parts["FREQ"])
    if per_period is None:
        return True
    weekdays = parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []
    for weekday in weekdays:
        ordinal = weekday[:-2]
        if ordinal not in ("", "+", "-") and not 1 <= abs(int(ordinal)) <= per_period:
            return False
    if "BYSETPOS" not in parts:
        return True
    days = per_period * len(weekdays) or (31 if parts["FREQ"] == "MONTHLY" else 366)
    if "BYMONTHDAY" in parts:
        days = min(days, len(parts["BYMONTHDAY"].split(",")))
    return all(1 <= abs(int(position)) <= days for position in parts["BYSETPOS"].split(","))


def _some_day_exists(parts: dict[str, str]) -> bool:
    """Whether some month of BYMONTH has some day of BYMONTHDAY (the 29th of February counts).

    dateutil, asked for the first occurrence of a rule that never occurs (``FREQ=DAILY;BYMONTH=2;
    BYMONTHDAY=30``), walks every period up to the year 9999: seconds, past a form's three."""
    if "BYMONTHDAY" not in parts:
        return True
    months = [int(m) for m in parts.get("BYMONTH", "1,2,3,4,5,6,7,8,9,10,11,12").split(",")]
    days = [int(d) for d in parts["BYMONTHDAY"].split(",")]
    lengths = [calendar.monthrange(2024, month)[1] for month in months if 1 <= month <= 12]
    return any(1 <= abs(day) <= length for day in days for length in lengths)


def _parsed(rule: str, first: datetime) -> tuple[rrule, dict[str, str]]:
    text = rule.strip().removeprefix("RRULE:")
    if not text or "DTSTART" in text.upper() or "\n" in text:
        raise ValueError("not a single RRULE")
    parts = _parts(text)
    if parts["FREQ"] == "DAILY" and int(parts.get("INTERVAL", "1")) % 7 == 0 and "BYDAY" in parts:
        if WEEKDAY_CODES[first.weekday()] not in parts["BYDAY"].split(","):
            raise ValueError("every 7th day falls on the first one's weekday, not on BYDAY's")
    parsed = rrulestr(f"RRULE:{text}", dtstart=first)
    if not isinstance(parsed, rrule):
        raise ValueError("not a single RRULE")
    return parsed, parts


def build(rule: str, first_at: datetime, timezone: str) -> rrule:
    """The dateutil rule anchored at ``first_at``'s local wall time; ValueError when malformed,
    RuleRefused when out of bounds."""
    return _parsed(rule, _local_naive(first_at, timezone))[0]


def _period_start(parts: dict[str, str], first: datetime, near: datetime) -> datetime | None:
    """The start of the rule's period a whole number of periods (FREQ times INTERVAL) after the
    first one and one period before the one holding ``near`` (local times); None when that is
    the first period itself. dateutil counts INTERVAL from the period of its start, so a start
    moved by whole periods keeps the rule's phase."""
    frequency, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    if frequency == "DAILY":
        periods = (near.date() - first.date()).days // interval - 1
        start = first.date() + timedelta(days=periods * interval)
    elif frequency == "WEEKLY":
        # dateutil's default week start is the calendar module's
        week_start = (
            WEEKDAY_CODES.index(parts["WKST"]) if "WKST" in parts else calendar.firstweekday()
        )
        origin = first.date() - timedelta(days=(first.weekday() - week_start) % 7)
        periods = (near.date() - origin).days // (7 * interval) - 1
        start = origin + timedelta(weeks=periods * interval)
    elif frequency == "MONTHLY":
        periods = ((near.year - first.year) * 12 + near.month - first.month) // interval - 1
        month = first.month - 1 + periods * interval
        start = date(first.year + month // 12, month % 12 + 1, 1)
    else:
        periods = (near.year - first.year) // interval - 1
        start = date(first.year + periods * interval, 1, 1)
    return datetime.combine(start, time()) if periods >= 1 else None


def _implied(parts: dict[str, str], first: datetime) -> dict[str, int]:
    """What dateutil takes from the start when the rule does not say it (the weekday of a weekly
    rule, the day of a monthly one, the time of day), fixed to the first occurrence's."""
    implied = {}
    if "BYDAY" not in parts and "BYMONTHDAY" not in parts:
        if parts["FREQ"] in ("MONTHLY", "YEARLY"):
            implied["bymonthday"] = first.day
        if parts["FREQ"] == "YEARLY" and "BYMONTH" not in parts:
            implied["bymonth"] = first.month
        if parts["FREQ"] == "WEEKLY":
            implied["byweekday"] = first.weekday()
    for name, value in zip(TIME_OF_DAY, (first.hour, first.minute, first.second), strict=True):
        if name not in parts:
            implied[name.lower()] = value
    return implied


def _expansion(rule: str, first_at: datetime, timezone: str, near: datetime) -> rrule:
    """The rule's occurrences from shortly before ``near`` on (or from the first, for a rule with
    a COUNT, which counts from the first and ends within ``MAX_OCCURRENCES``)."""
    first = _local_naive(first_at, timezone)
    parsed, parts = _parsed(rule, first)
    start = _period_start(parts, first, _local_naive(near, timezone))
    if start is None or "COUNT" in parts:
        return parsed
    return parsed.replace(dtstart=start, **_implied(parts, first))


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
    except RuleRefused as refused:
        key = refused.key
        if bounded and key == "meeting.errors.rule_count":
            key = "meeting.errors.series_too_long"
        raise ValidationError({field: Msg(key, **refused.params)}) from refused
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as error:
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


def around(
    rule: str, first_at: datetime, timezone: str, moment: datetime
) -> tuple[datetime | None, datetime | None]:
    """The latest occurrence at or before ``moment`` within the last period or two (None when
    there is none that recent) and the first one strictly after it (None once the rule ended),
    in UTC. One time of day at most, so occurrences in UTC keep their local order."""
    latest = None
    for local in _expansion(rule, first_at, timezone, moment):
        at = _to_utc(local, timezone)
        if at > moment:
            return latest, at
        latest = at
    return latest, None


def next_after(rule: str, first_at: datetime, timezone: str, after: datetime) -> datetime | None:
    """The first occurrence strictly after ``after`` (UTC), or None when the rule has ended."""
    return around(rule, first_at, timezone, after)[1]


def series(rule: str, first_at: datetime, timezone: str) -> list[datetime]:
    """Every occurrence of a bounded rule in UTC (at most ``MAX_OCCURRENCES`` + 1)."""
    parsed = build(rule, first_at, timezone)
    found = []
    for local in parsed:
        found.append(_to_utc(local, timezone))
        if len(found) > MAX_OCCURRENCES:
            break
    return found
