"""Issue priorities and their service levels: each project's targets (first response, resolution,
auto-close delay), a PM's overrides, and the local days they are counted in.

First response is counted in elapsed hours from logging. Resolution is counted in calendar days in
the project's timezone: an issue is due by the end of the local day N days after the day it was
logged (a P1 logged Tuesday 16:00 in Berlin is due by Wednesday 24:00 Berlin), so a day-based
target never lands on the wrong local day whatever the UTC offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import Msg, ValidationError
from bot.services import projects as project_service
from bot.services.context import Ctx
from storage.models import (
    IssueSettings,
    Project,
)

PRIORITIES = ("P1", "P2", "P3", "P4")
DEFAULT_FIRST_RESPONSE_HOURS = {"P1": 2, "P2": 8, "P3": 24, "P4": 72}
DEFAULT_RESOLUTION_DAYS = {"P1": 1, "P2": 3, "P3": 10, "P4": 30}
DEFAULT_AUTO_CLOSE_DAYS = 7


# ------------------------------------------------------------------------------ service levels


@dataclass(frozen=True)
class ServiceLevels:
    first_response_hours: dict[str, int]
    resolution_days: dict[str, int]
    auto_close_days: int


def service_levels(ctx: Ctx, project: Project) -> ServiceLevels:
    row = ctx.session.exec(
        ctx.select(IssueSettings).where(IssueSettings.project_id == project.id)
    ).first()
    first = dict(DEFAULT_FIRST_RESPONSE_HOURS)
    days = dict(DEFAULT_RESOLUTION_DAYS)
    auto_close = DEFAULT_AUTO_CLOSE_DAYS
    if row is not None:
        first.update({k: int(v) for k, v in row.first_response_hours.items() if k in first})
        days.update({k: int(v) for k, v in row.resolution_days.items() if k in days})
        auto_close = row.auto_close_days
    return ServiceLevels(first, days, auto_close)


def set_service_levels(
    *,
    ctx: Ctx,
    project: Project,
    first_response_hours: dict[str, int] | None = None,
    resolution_days: dict[str, int] | None = None,
    auto_close_days: int | None = None,
) -> ServiceLevels:
    """A PM overrides some priorities' targets or the auto-close delay for one project."""
    project_service.require_pm(ctx, project)
    errors: dict[str, Msg] = {}
    for name, values, limit in (
        ("first_response_hours", first_response_hours or {}, 24 * 30),
        ("resolution_days", resolution_days or {}, 365),
    ):
        for priority, value in values.items():
            if priority not in PRIORITIES or not 1 <= int(value) <= limit:
                errors[name] = Msg("issues.errors.sla_range", limit=limit)
    if auto_close_days is not None and not 1 <= auto_close_days <= 90:
        errors["auto_close_days"] = Msg("issues.errors.auto_close_range")
    if errors:
        raise ValidationError(errors)
    row = project_service.settings_row(ctx, IssueSettings, project)
    if first_response_hours:
        row.first_response_hours = {**row.first_response_hours, **first_response_hours}
    if resolution_days:
        row.resolution_days = {**row.resolution_days, **resolution_days}
    if auto_close_days is not None:
        row.auto_close_days = auto_close_days
    ctx.session.add(row)
    levels = service_levels(ctx, project)
    ctx.log(
        "issue.service_levels_changed",
        project_id=project.id,
        first_response_hours=levels.first_response_hours,
        resolution_days=levels.resolution_days,
        auto_close_days=levels.auto_close_days,
    )
    return levels


SLA_WORD_RE = re.compile(r"^(P[1-4])=(?:(\d{1,4})h)?(?:/?(\d{1,3})d)?$", re.IGNORECASE)
AUTO_CLOSE_WORD_RE = re.compile(r"^autoclose=(\d{1,3})$", re.IGNORECASE)


def parse_service_level_words(
    words: list[str],
) -> tuple[dict[str, int], dict[str, int], int | None]:
    """``P1=4h/2d`` (first response in hours / resolution in days, either part optional) and
    ``autoclose=10``, as typed after ``/issue sla CODE``."""
    first: dict[str, int] = {}
    days: dict[str, int] = {}
    auto_close: int | None = None
    for word in words:
        level = SLA_WORD_RE.match(word)
        closing = AUTO_CLOSE_WORD_RE.match(word)
        if level and (level.group(2) or level.group(3)):
            priority = level.group(1).upper()
            if level.group(2):
                first[priority] = int(level.group(2))
            if level.group(3):
                days[priority] = int(level.group(3))
        elif closing:
            auto_close = int(closing.group(1))
        else:
            raise ValidationError({"sla": Msg("issues.errors.sla_word", word=word)})
    return first, days, auto_close


def local_today(project: Project, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(project.timezone)).date()


def end_of_local_day(project: Project, day: date) -> datetime:
    """The instant a local day ends (midnight before the next), in UTC."""
    zone = ZoneInfo(project.timezone)
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zone).astimezone(UTC)
