"""Block Kit of engagement: the contact form, the PM's weekly nudge and the Home tab's last
contacts (pure builders)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from bot.i18n import plain, slack_date, t
from bot.ids import EngagementId
from bot.services import engagement as service
from bot.services.engagement import Contact, Nudge
from bot.views import common as ui
from bot.views.keyuser_card import card_select
from bot.views.keyusers import role_label
from storage.models import Project

NUDGE_PEOPLE_PER_MESSAGE = 20
HOME_PEOPLE_PER_PROJECT = 15


def contact_value(project_id: int, user_id: str = "") -> str:
    return f"{project_id}:{user_id}"


_TOUCH_MODAL = ui.Modal(EngagementId.TOUCH_MODAL, "engagement.modal_title", "common.add")


def touch_modal(locale: str, project: Project, user_id: str | None) -> dict[str, Any]:
    field = ui.Fields(locale, "engagement")
    blocks = [
        ui.section(t(locale, "engagement.modal_intro", code=project.code)),
        field.user("user_id", initial=user_id),
        field.radio("kind", "engagement.kinds", service.CONTACT_KINDS, initial="call"),
        field.text("note", multiline=True, max_length=service.NOTE_LIMIT),
    ]
    return _TOUCH_MODAL(locale, blocks, {"project_id": project.id})


def logged_text(locale: str, project: Project, user_id: str, kind: str, note: str) -> str:
    return t(
        locale,
        "engagement.logged",
        user=user_id,
        code=project.code,
        kind=plain(locale, f"engagement.kinds.{kind}"),
        note=note,
    )


def _contact_line(locale: str, project: Project, contact: Contact) -> str:
    return t(
        locale,
        "engagement.nudge_line",
        user=contact.user_id,
        role=role_label(locale, contact.role),
        cadence=contact.cadence_days,
        last=slack_date(contact.last_contact_at, project.timezone, "{date_short_pretty}")
        if contact.last_contact_at
        else None,
        registered=slack_date(contact.registered_at, project.timezone, "{date_short_pretty}"),
        since=slack_date(contact.in_debt_since, project.timezone, "{date_short_pretty}")
        if contact.in_debt_since
        else None,
    )


def nudge_dm(locale: str, nudge: Nudge) -> dict[str, Any]:
    """The PM's weekly list of key users in debt, with a button to log a contact and one to
    schedule a meeting for each (the first twenty; then a pointer to the register)."""
    intro = t(locale, "engagement.nudge_intro", count=nudge.count)
    blocks: list[Block] = [ui.header(plain(locale, "engagement.nudge_title")), ui.section(intro)]
    room = NUDGE_PEOPLE_PER_MESSAGE
    for project, contacts in nudge.items:
        blocks.append(
            ui.section(t(locale, "engagement.nudge_project", code=project.code, name=project.name))
        )
        shown = contacts[: max(room, 0)]
        for contact in shown:
            value = contact_value(project.id or 0, contact.user_id)
            blocks.append(ui.section(_contact_line(locale, project, contact)))
            blocks.append(
                ui.actions(
                    ui.button(
                        plain(locale, "engagement.log_contact"), EngagementId.LOG_CONTACT, value
                    ),
                    ui.button(
                        plain(locale, "engagement.schedule_meeting"), EngagementId.SCHEDULE, value
                    ),
                    block_id=f"nudge_{project.id}_{contact.user_id}",
                )
            )
        room -= len(shown)
        if len(contacts) > len(shown):
            blocks.append(
                ui.context(
                    t(
                        locale,
                        "engagement.nudge_more",
                        count=len(contacts) - len(shown),
                        code=project.code,
                    )
                )
            )
    first = next(((p, c[0]) for p, c in nudge.items if c), None)
    text = ui.list_text(
        locale,
        intro,
        _contact_line(locale, *first) if first else None,
        code=first[0].code if first else None,
    )
    return ui.message(text, blocks)


def home_part(locale: str, rows: list[tuple[Project, list[Contact]]]) -> list[Block]:
    """For a PM: each project's key users with their last contact, longest without first."""
    blocks: list[Block] = []
    for project, contacts in rows:
        if not contacts:
            continue
        blocks.append(ui.header(plain(locale, "engagement.home_title", code=project.code)))
        lines = [
            t(
                locale,
                "engagement.home_line",
                debt=contact.in_debt,
                user=contact.user_id,
                last=slack_date(contact.last_contact_at, project.timezone, "{date_short_pretty}")
                if contact.last_contact_at
                else None,
                registered=slack_date(
                    contact.registered_at, project.timezone, "{date_short_pretty}"
                ),
                cadence=contact.cadence_days,
            )
            for contact in contacts[:HOME_PEOPLE_PER_PROJECT]
        ]
        if len(contacts) > HOME_PEOPLE_PER_PROJECT:
            lines.append(
                t(locale, "engagement.home_more", count=len(contacts) - HOME_PEOPLE_PER_PROJECT)
            )
        blocks.append(ui.section("\n".join(lines)))
        blocks.append(
            ui.actions(
                ui.button(
                    plain(locale, "engagement.home_log"),
                    EngagementId.LOG_CONTACT,
                    contact_value(project.id or 0),
                ),
                ui.button(
                    plain(locale, "engagement.home_plan"), EngagementId.HOME_PLAN, str(project.id)
                ),
                # Each listed key user's card.
                card_select(
                    locale,
                    project.id or 0,
                    [(c.user_id, c.display_name or c.user_id) for c in contacts],
                ),
                block_id=f"contacts_{project.id}",
            )
        )
    return blocks
