"""Key-user modals, the register grouped by quadrant, import reports (pure builders)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import InputBlock

from bot.i18n import plain, t
from bot.ids import Callback
from bot.services.keyusers import (
    CHANNELS,
    DEFAULT_CADENCE_DAYS,
    DEPARTMENT_LIMIT,
    LEVELS,
    MODULE_LIMIT,
    NOTES_LIMIT,
    ROLES,
    ImportReport,
    KeyUserInput,
    Quadrant,
    RegisterEntry,
)
from bot.views import common as ui
from bot.views.keyuser_card import card_select
from storage.models import KeyUser, Project


def role_label(locale: str, role: str) -> str:
    return plain(locale, f"roles.{role}")


def module_input(field: ui.Fields, initial: str | None, max_length: int) -> InputBlock:
    """The optional ERP module, with the same example in every form that asks it."""
    placeholder = plain(field.locale, "keyuser.placeholder.module")
    return field.text(
        "module", initial=initial, optional=True, max_length=max_length, placeholder=placeholder
    )


_ADD_MODAL = ui.Modal(Callback.KEYUSER_ADD, "keyuser.modal.add_title", "common.add")
_EDIT_MODAL = ui.Modal(Callback.KEYUSER_EDIT, "keyuser.modal.edit_title", "common.save")


def keyuser_modal(
    locale: str,
    *,
    projects: list[Project],
    project: Project | None = None,
    key_user: KeyUser | None = None,
) -> dict[str, Any]:
    """Add (``key_user`` None) or edit one key user. The project is asked only when not known."""
    field = ui.Fields(locale, "keyuser")
    blocks: list[Any] = []
    metadata: dict[str, Any] = {}
    if key_user is not None:
        metadata = {"key_user_id": key_user.id}
        blocks.append(
            ui.section(
                t(
                    locale,
                    "keyuser.editing",
                    user=key_user.user_id,
                    code=project.code if project else "",
                )
            )
        )
    elif project is not None:
        metadata = {"project_id": project.id}
        blocks.append(
            ui.context(t(locale, "keyuser.adding_to", code=project.code, name=project.name))
        )
    else:
        blocks.append(field.project(projects))
    if key_user is None:
        blocks.append(field.user("user_id", label="user"))
    current: KeyUser | KeyUserInput = key_user or KeyUserInput()  # a blank form's defaults
    blocks += [
        field.choice("role", "roles", ROLES, initial=current.role),
        field.text(
            "department", initial=current.department, optional=True, max_length=DEPARTMENT_LIMIT
        ),
        module_input(field, current.module, MODULE_LIMIT),
        field.choice("influence", "levels", LEVELS, initial=current.influence),
        field.choice("interest", "levels", LEVELS, initial=current.interest),
        field.choice(
            "preferred_channel",
            "channels",
            CHANNELS,
            initial=current.preferred_channel,
            label="channel",
        ),
        field.number(
            "cadence_days",
            label="cadence",
            initial=current.cadence_days or None,
            optional=True,
            low=1,
            high=365,
            hint=field.hint(
                "cadence",
                closely=DEFAULT_CADENCE_DAYS[Quadrant.MANAGE_CLOSELY],
                satisfied=DEFAULT_CADENCE_DAYS[Quadrant.KEEP_SATISFIED],
                informed=DEFAULT_CADENCE_DAYS[Quadrant.KEEP_INFORMED],
                monitor=DEFAULT_CADENCE_DAYS[Quadrant.MONITOR],
            ),
        ),
        field.paragraph("notes", initial=current.notes, max_length=NOTES_LIMIT),
    ]
    form = _ADD_MODAL if key_user is None else _EDIT_MODAL
    return form(locale, blocks, metadata or None)


def _entry_line(locale: str, entry: RegisterEntry) -> str:
    key_user = entry.key_user
    return t(
        locale,
        "keyuser.register_line",
        user=key_user.user_id,
        role=role_label(locale, key_user.role),
        department=key_user.department or "",
        module=key_user.module or "",
        influence=plain(locale, f"levels.{key_user.influence}"),
        interest=plain(locale, f"levels.{key_user.interest}"),
        channel=plain(locale, f"channels.{key_user.preferred_channel}"),
        cadence=entry.cadence_days,
        overridden=entry.cadence_overridden,
    )


def register_message(
    locale: str, project: Project, grouped: dict[Quadrant, list[RegisterEntry]], *, manage: bool
) -> dict[str, Any]:
    total = sum(len(entries) for entries in grouped.values())
    title = plain(locale, "keyuser.register_title", code=project.code, count=total)
    blocks: list[Any] = [ui.header(title)]
    if total == 0:
        blocks.append(ui.section(t(locale, "keyuser.register_empty", code=project.code)))
        return ui.message(title, blocks)
    budget = ui.MESSAGE_BLOCK_LIMIT - 3
    for q, entries in grouped.items():
        if not entries:
            continue
        blocks.append(
            ui.section(
                t(
                    locale,
                    "keyuser.quadrant_heading",
                    quadrant=plain(locale, f"quadrants.{q.value}"),
                    count=len(entries),
                    cadence=DEFAULT_CADENCE_DAYS[q],
                )
            )
        )
        lines = [_entry_line(locale, entry) for entry in entries]
        # Several people per section keeps a 100-person register within the 50-block limit.
        blocks += ui.line_sections(lines)
    if len(blocks) > budget:
        blocks = blocks[:budget] + [
            ui.context(t(locale, "keyuser.register_cut", code=project.code))
        ]
    if manage:
        blocks.append(ui.context(t(locale, "keyuser.register_manage_hint", code=project.code)))
    people = [
        (entry.key_user.user_id, entry.key_user.display_name or entry.key_user.user_id)
        for entries in grouped.values()
        for entry in entries
    ]
    blocks.append(
        ui.section(
            t(locale, "card.register_hint"),
            accessory=card_select(locale, project.id or 0, people),
            block_id="keyuser_card_menu",
        )
    )
    return ui.message(title, blocks)


_IMPORT_MODAL = ui.Modal(Callback.KEYUSER_IMPORT, "keyuser.modal.import_title", "common.import")


def import_modal(locale: str, project: Project) -> dict[str, Any]:
    field = ui.Fields(locale, "keyuser")
    columns = "slack_user,role,department,module,influence,interest"
    blocks = [
        ui.section(t(locale, "keyuser.import_intro", code=project.code)),
        ui.file_input("csv_file", field.label("csv_file"), filetypes=["csv"], optional=True),
        field.paragraph("csv", label="csv_text", max_length=3000, placeholder=columns),
    ]
    return _IMPORT_MODAL(locale, blocks, {"project_id": project.id})


def import_report(locale: str, project: Project, report: ImportReport) -> dict[str, Any]:
    return ui.import_report(locale, "keyuser", project.code, report)
