"""What a person receives, as they see it: the grouped DM of their notices, the "Notifications"
part of their Home tab and the form where they choose."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.i18n import plain, t
from bot.ids import NotificationId
from bot.services.notifications import HOURS, WEEKDAYS, Part, quiet_days
from bot.views import common as ui
from bot.views.digest import weekday_label
from storage.models import DigestCopy, NotificationPreference, ReminderPace

TEXT_LIMIT = 2900  # the grouped DM's notification text, well within Slack's limit


def _day(locale: str, iso_weekday: int) -> str:
    return weekday_label(locale, iso_weekday - 1)


def hour_label(hour: int) -> str:
    return f"{hour:02d}:00"


# ------------------------------------------------------------------------------ grouped DM


def _unique_block_ids(blocks: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    """Two notices may use the same block id; Slack wants each once in a message."""
    out = []
    for block in blocks:
        block_id = block.get("block_id")
        if block_id:
            unique, number = block_id, 1
            while unique in seen:
                number += 1
                unique = f"{block_id}-{number}"
            seen.add(unique)
            block = {**block, "block_id": unique}
        out.append(block)
    return out


def _blocks_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = payload.get("blocks")
    if blocks:
        return list(blocks)
    return [ui.section(ui.clip(str(payload.get("text") or ""), ui.SECTION_TEXT_LIMIT)).to_dict()]


def grouped_dm(locale: str, parts: Sequence[Part]) -> list[dict[str, Any]]:
    """One DM with a section per notice, the urgent ones first under their own heading (several
    DMs only when the sections need more blocks than one message holds). The notification text
    says how many there are and carries each notice's own text."""
    urgent = sum(part.urgent for part in parts)
    count = len(parts)
    # Each notice's own text as it was written (escaped mrkdwn): it pings nobody here either.
    texts = " · ".join(str(part.payload.get("text") or "").replace("\n", " ") for part in parts)
    text = ui.clip(
        t(locale, "notifications.grouped.text", count=count, urgent=urgent, items=Markup(texts)),
        TEXT_LIMIT,
    )
    intro = ui.section(t(locale, "notifications.grouped.title", count=count, urgent=urgent))
    pages: list[list[dict[str, Any]]] = [[intro.to_dict()]]
    seen: set[str] = set()
    heading_done: set[bool] = set()
    for part in parts:
        section: list[dict[str, Any]] = []
        if part.urgent not in heading_done and urgent and urgent < count:
            heading_done.add(part.urgent)
            key = "notifications.grouped.urgent" if part.urgent else "notifications.grouped.other"
            section.append(ui.header(plain(locale, key)).to_dict())
        else:
            section.append(ui.divider().to_dict())
        section += _unique_block_ids(_blocks_of(part.payload), seen)
        if len(pages[-1]) + len(section) > ui.MESSAGE_BLOCK_LIMIT:
            if section[0].get("type") == "divider":
                section = section[1:]
            pages.append([])
        pages[-1].extend(section[: ui.MESSAGE_BLOCK_LIMIT])
    return [{"text": text, "blocks": blocks} for blocks in pages if blocks]


# ------------------------------------------------------------------------------ Home part


def summary_lines(locale: str, pref: NotificationPreference) -> list[str]:
    quiet = sorted(quiet_days(pref))
    days = "、".join if locale.startswith("zh") else ", ".join
    return [
        t(
            locale,
            f"notifications.home.reminders_{pref.reminders}",
            hour=hour_label(pref.morning_hour),
        ),
        t(locale, f"notifications.home.digest_{pref.digest}"),
        t(
            locale,
            "notifications.home.quiet_days" if quiet else "notifications.home.no_quiet_days",
            days=days(_day(locale, day) for day in quiet),
        ),
    ]


def home_part(locale: str, pref: NotificationPreference) -> list[Block]:
    """The "Notifications" part: what they chose, in words, and the button to change it."""
    return ui.titled(
        plain(locale, "notifications.home.title"),
        [
            ui.section(
                "\n".join(summary_lines(locale, pref)),
                accessory=ui.button(
                    plain(locale, "notifications.home.change"),
                    NotificationId.OPEN_SETTINGS,
                    pref.person_id,
                ),
                block_id="notification_settings",
            ),
            ui.context(t(locale, "notifications.home.note")),
        ],
    )


# ----------------------------------------------------------------------------------- form

_SETTINGS_MODAL = ui.Modal(
    NotificationId.SETTINGS_MODAL, "notifications.form.title", "common.save"
)


def settings_modal(locale: str, pref: NotificationPreference, timezones: str) -> dict[str, Any]:
    form = ui.Fields(locale, "notifications.form")
    hours = [(str(hour), hour_label(hour)) for hour in HOURS]
    days = [(str(day), _day(locale, day)) for day in WEEKDAYS]
    blocks = [
        ui.section(t(locale, "notifications.form.intro")),
        form.radio(
            "reminders", "notifications.form.reminders", list(ReminderPace), initial=pref.reminders
        ),
        form.select(
            "morning_hour",
            hours,
            initial=str(pref.morning_hour),
            hint=plain(locale, "notifications.form.hint.morning_hour", timezones=timezones),
        ),
        form.radio("digest", "notifications.form.digest", list(DigestCopy), initial=pref.digest),
        form.checkboxes(
            "quiet_days",
            days,
            [str(day) for day in sorted(quiet_days(pref))],
        ),
        ui.context(t(locale, "notifications.form.quiet_note")),
    ]
    return _SETTINGS_MODAL(locale, blocks, {"person_id": pref.person_id})


def saved(locale: str, pref: NotificationPreference) -> str:
    return "\n".join([t(locale, "notifications.saved"), *summary_lines(locale, pref)])
