"""Block Kit of the weekly digest and its settings form.

Text comes from the templates (``bot/templates/<locale>/digest/<section>.j2``, one per section);
this module assembles them into blocks, so escaping and Slack's limits are checked in one place.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.i18n import plain, render, t
from bot.ids import DigestId, IssueId
from bot.services.digest import Digest
from bot.views import common as ui
from bot.views import phases as phase_views
from bot.views.projects import phase_label
from storage.models import DigestTarget, Project

# Sections that render as one text block from their template (the others are built below).
MESSAGE_BLOCK_LIMIT = 50


def _section_text(locale: str, name: str, **params: Any) -> str:
    return render(locale, f"digest/{name}.j2", **params)


def digest_blocks(
    digest: Digest, *, preview_command: str | None = None, in_channel: bool = False
) -> list[Block]:
    """The digest's blocks. With ``preview_command``, a note that only the asker sees it.
    ``in_channel``: the project channel's copy, which the key users read too, counts the key users
    at risk without naming them or their reasons (the PMs' copy names them)."""
    project = digest.project
    locale = project.locale
    zone = ZoneInfo(project.timezone)
    blocks: list[Block] = [
        ui.header(plain(locale, "digest.title", code=project.code, name=project.name))
    ]
    if preview_command:
        blocks.append(
            ui.context(t(locale, "digest.preview_note", command=preview_command, code=project.code))
        )
    blocks.append(
        ui.context(
            _section_text(
                locale,
                "intro",
                week=digest.week,
                start=digest.period.start.astimezone(zone),
                # The week's last day: the range shows Monday to Sunday.
                end=(digest.period.end.astimezone(zone) - timedelta(days=1)),
                now=digest.now.astimezone(zone),
                due=(digest.due_at or digest.now).astimezone(zone),
                timezone=project.timezone,
                late=digest.late,
            )
        )
    )
    sections = digest.sections
    for name, data in sections.items():
        if name == "phase":
            label = phase_label(locale, data["phase"])
            blocks.append(
                ui.section(_section_text(locale, "phase", label=label, **_no_phase(data)))
            )
            continue
        if name == "checklist":
            progress = Markup(phase_views.progress_text(locale, data))
            blocks.append(ui.section(t(locale, "checklist.digest", progress=progress)))
            continue
        blocks.append(
            ui.section(
                _section_text(
                    locale,
                    name,
                    data=data,
                    timezone=project.timezone,
                    week=digest.week,
                    names=not in_channel,
                )
            )
        )
        if name == "issues":
            for item in data.oldest_overdue:
                blocks.append(
                    ui.section(
                        _section_text(locale, "overdue_item", item=item),
                        # in the channel, whose readers may not open it, the issue's card is there
                        accessory=None
                        if in_channel
                        else ui.button(
                            plain(locale, "digest.open_issue"),
                            IssueId.HOME_OPEN,
                            str(item.issue_id),
                        ),
                    )
                )
    if set(sections) <= {"phase", "checklist"}:
        blocks.append(ui.section(t(locale, "digest.empty")))
    buttons = [
        ui.button(
            plain(locale, "digest.open_dashboard"),
            DigestId.OPEN_DASHBOARD,
            str(project.id),
            style="primary",
        )
    ]
    issues = sections.get("issues")
    if issues is not None and issues.overdue_now:
        buttons.append(
            ui.button(
                plain(locale, "digest.remind_owners"),
                DigestId.REMIND_OWNERS,
                str(project.id),
                confirm=ui.confirmed(
                    locale,
                    "digest.confirm_remind",
                    count=issues.overdue_now,
                    code=project.code,
                ),
            )
        )
    menu = None
    if in_channel:  # everyone reads it: the PMs' actions in a menu (a form asks before reminding)
        menu = ui.more_menu(DigestId.MORE, [(b.text.text, b.action_id, b.value) for b in buttons])
    blocks.append(ui.actions(*([menu] if menu else buttons), block_id=f"digest_{project.id}"))
    return blocks[:MESSAGE_BLOCK_LIMIT]


_REMIND_MODAL = ui.Modal(
    DigestId.REMIND_MODAL, "digest.confirm_remind.title", "common.send"
)


def remind_modal(locale: str, project: Project, count: int) -> dict[str, Any]:
    """Reminding overdue owners chosen in the channel digest's menu (which asks nothing)."""
    text = t(locale, "digest.confirm_remind.text", count=count, code=project.code)
    return _REMIND_MODAL(locale, [ui.section(text)], {"project_id": project.id})


def _no_phase(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key != "phase"}


def digest_message(
    digest: Digest, *, preview_command: str | None = None, in_channel: bool = False
) -> dict[str, Any]:
    project = digest.project
    # The fallback ``text`` is mrkdwn too: the project's name is escaped like any user's text.
    text = t(
        project.locale, "digest.fallback", code=project.code, name=project.name, week=digest.week
    )
    return ui.message(
        text, digest_blocks(digest, preview_command=preview_command, in_channel=in_channel)
    )


def where_label(locale: str, target: str) -> str:
    return t(locale, f"digest.where_{target}")


def weekday_label(locale: str, weekday: int) -> str:
    return plain(locale, f"weekdays.d{weekday}")


_SETTINGS_MODAL = ui.Modal(DigestId.SETTINGS_MODAL, "digest.settings.title", "common.save")


def settings_modal(locale: str, project: Project, target: str) -> dict[str, Any]:
    days = [(str(day), weekday_label(locale, day)) for day in range(7)]
    targets = [
        (str(value), plain(locale, f"digest.settings.target_{value}")) for value in DigestTarget
    ]
    blocks = [
        ui.section(t(locale, "digest.settings.intro", code=project.code, name=project.name)),
        ui.select_input(
            "digest_weekday",
            plain(locale, "digest.settings.weekday"),
            days,
            initial=str(project.digest_weekday),
        ),
        ui.time_input(
            "digest_time",
            plain(locale, "digest.settings.time"),
            initial=project.digest_time,
            hint=plain(locale, "digest.settings.time_hint", timezone=project.timezone),
            timezone=project.timezone,
        ),
        ui.radio_input(
            "digest_target", plain(locale, "digest.settings.target"), targets, initial=target
        ),
    ]
    return _SETTINGS_MODAL(locale, blocks, {"project_id": project.id})


def settings_saved(locale: str, project: Project, target: str) -> str:
    return t(
        locale,
        "digest.settings_saved",
        code=project.code,
        day=weekday_label(locale, project.digest_weekday),
        time=project.digest_time,
        timezone=project.timezone,
        where=Markup(where_label(locale, target)),
    )


def chart_payload(
    locale: str, project: Project, title: str, png: bytes, channel: str, week: str
) -> dict[str, Any]:
    """A ``files.upload_v2`` outbox payload of the trend chart."""
    import base64

    return {
        "channel": channel,
        "content_base64": base64.b64encode(png).decode("ascii"),
        "filename": f"digest-{project.code}-{week}.png",
        "title": plain(locale, "digest.chart_title", code=project.code),
        "alt_txt": plain(locale, "digest.chart_alt", title=title),
        "initial_comment": t(locale, "digest.chart_comment", code=project.code),
    }
