"""Project modal, project list and confirmations (pure: data in, Block Kit out)."""

from __future__ import annotations

from typing import Any

from bot.i18n import plain, t
from bot.ids import Callback
from bot.services.projects import DEFAULT_PHASES, LOCALES, NAME_LIMIT
from bot.views import common as ui
from storage.models import DigestTarget, Project

WEEKDAYS = range(7)
COMMON_TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Australia/Sydney",
)


def phase_label(locale: str, phase: str) -> str:
    key = f"phases.{phase}"
    try:
        return plain(locale, key)
    except KeyError:
        return phase.replace("_", " ").capitalize()


_NEW_MODAL = ui.Modal(Callback.PROJECT_NEW, "project.modal.new_title", "common.create")
_EDIT_MODAL = ui.Modal(Callback.PROJECT_EDIT, "project.modal.edit_title", "common.save")


def project_modal(
    locale: str,
    *,
    project: Project | None = None,
    pm_ids: list[str] | None = None,
    team_ids: list[str] | None = None,
    default_timezone: str = "UTC",
    default_locale: str = "en",
    digest_target: str = DigestTarget.BOTH,
) -> dict[str, Any]:
    phases = list(project.phases) if project else list(DEFAULT_PHASES)
    custom = ", ".join(project.phases) if project and project.phases != list(DEFAULT_PHASES) else ""
    timezones = list(COMMON_TIMEZONES)
    current_tz = project.timezone if project else default_timezone
    if current_tz not in timezones:
        timezones.insert(0, current_tz)
    field = ui.Fields(locale, "project")
    weekdays = [(str(day), plain(locale, f"weekdays.d{day}")) for day in WEEKDAYS]
    blocks = [
        field.text(
            "name",
            initial=project.name if project else None,
            max_length=NAME_LIMIT,
            placeholder=plain(locale, "project.placeholder.name"),
        ),
        field.text(
            "code",
            initial=project.code if project else None,
            max_length=10,
            placeholder="ERP",
            hint=field.hint("code"),
        ),
        field.select(
            "phase",
            [(p, phase_label(locale, p)) for p in phases],
            initial=project.phase if project else phases[0],
        ),
        field.text(
            "custom_phases",
            initial=custom,
            optional=True,
            max_length=1000,
            hint=field.hint("custom_phases"),
        ),
        field.channel(
            "channel_id",
            label="channel",
            initial=project.channel_id if project else None,
            optional=True,
        ),
        field.users("pm_ids", label="pms", initial=pm_ids or []),
        field.users("team_ids", label="team", initial=team_ids or [], optional=True),
        field.select("timezone", [(tz, tz) for tz in timezones], initial=current_tz),
        field.choice(
            "locale", "locales", LOCALES, initial=project.locale if project else default_locale
        ),
        field.select(
            "digest_weekday",
            weekdays,
            label="digest_day",
            initial=str(project.digest_weekday if project else 0),
        ),
        field.time(
            "digest_time",
            initial=project.digest_time if project else "09:00",
            hint=field.hint("digest_time"),
            timezone=project.timezone if project else None,
        ),
        field.radio(
            "digest_target",
            "project.digest_target",
            [DigestTarget.CHANNEL, DigestTarget.BOTH, DigestTarget.PMS],
            initial=digest_target,
        ),
    ]
    if project is None:
        return _NEW_MODAL(locale, blocks)
    return _EDIT_MODAL(locale, blocks, {"project_id": project.id})


def project_line(locale: str, project: Project, pms: list[str], key_users: int) -> str:
    return t(
        locale,
        "project.line",
        code=project.code,
        name=project.name,
        phase=phase_label(locale, project.phase),
        channel=project.channel_id,
        pms=pms,
        key_users=key_users,
    )


def project_list(locale: str, rows: list[tuple[Project, list[str], int]]) -> dict[str, Any]:
    if not rows:
        return ui.message(t(locale, "project.none"), [ui.section(t(locale, "project.none"))])
    blocks = [ui.header(plain(locale, "project.list_title", count=len(rows)))]
    for project, pms, key_users in rows[:45]:
        blocks.append(ui.section(project_line(locale, project, pms, key_users)))
    if len(rows) > 45:
        blocks.append(ui.context(t(locale, "common.more", count=len(rows) - 45)))
    return ui.message(plain(locale, "project.list_title", count=len(rows)), blocks)


def project_saved(
    locale: str, project: Project, pms: list[str], *, created: bool
) -> dict[str, Any]:
    text = t(
        locale,
        "project.created" if created else "project.updated",
        code=project.code,
        name=project.name,
        phase=phase_label(locale, project.phase),
        channel=project.channel_id,
        pms=pms,
    )
    blocks = [ui.section(text)]
    if created:  # what comes next, once: an edit is made to a project that is set up
        blocks.append(ui.context(t(locale, "project.next_steps", code=project.code)))
    return ui.message(text, blocks)
