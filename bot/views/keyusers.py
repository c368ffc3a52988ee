"""Key-user modals, the register grouped by quadrant, import reports (pure builders)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from bot.i18n import plain, say, t
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
    Quadrant,
    RegisterEntry,
)
from bot.views import common as ui
from storage.models import KeyUser, Project


def role_label(locale: str, role: str) -> str:
    return plain(locale, f"roles.{role}")


def _choices(locale: str, prefix: str, values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(value, plain(locale, f"{prefix}.{value}")) for value in values]


def keyuser_modal(
    locale: str,
    *,
    projects: list[Project],
    project: Project | None = None,
    key_user: KeyUser | None = None,
) -> dict[str, Any]:
    """Add (``key_user`` None) or edit one key user. The project is asked only when not known."""
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
        blocks.append(
            ui.select_input(
                "project",
                plain(locale, "keyuser.field.project"),
                [(str(p.id), f"{p.code} · {p.name}") for p in projects],
            )
        )
    if key_user is None:
        blocks.append(ui.user_input("user_id", plain(locale, "keyuser.field.user")))
    current = key_user
    blocks += [
        ui.select_input(
            "role",
            plain(locale, "keyuser.field.role"),
            _choices(locale, "roles", ROLES),
            initial=current.role if current else "key_user",
        ),
        ui.text_input(
            "department",
            plain(locale, "keyuser.field.department"),
            initial=current.department if current else None,
            optional=True,
            max_length=DEPARTMENT_LIMIT,
        ),
        ui.text_input(
            "module",
            plain(locale, "keyuser.field.module"),
            initial=current.module if current else None,
            optional=True,
            max_length=MODULE_LIMIT,
            placeholder=plain(locale, "keyuser.placeholder.module"),
        ),
        ui.select_input(
            "influence",
            plain(locale, "keyuser.field.influence"),
            _choices(locale, "levels", LEVELS),
            initial=current.influence if current else "medium",
        ),
        ui.select_input(
            "interest",
            plain(locale, "keyuser.field.interest"),
            _choices(locale, "levels", LEVELS),
            initial=current.interest if current else "medium",
        ),
        ui.select_input(
            "preferred_channel",
            plain(locale, "keyuser.field.channel"),
            _choices(locale, "channels", CHANNELS),
            initial=current.preferred_channel if current else "dm",
        ),
        ui.text_input(
            "cadence_days",
            plain(locale, "keyuser.field.cadence"),
            initial=str(current.cadence_days) if current and current.cadence_days else None,
            optional=True,
            max_length=3,
            hint=plain(
                locale,
                "keyuser.hint.cadence",
                closely=DEFAULT_CADENCE_DAYS[Quadrant.MANAGE_CLOSELY],
                satisfied=DEFAULT_CADENCE_DAYS[Quadrant.KEEP_SATISFIED],
                informed=DEFAULT_CADENCE_DAYS[Quadrant.KEEP_INFORMED],
                monitor=DEFAULT_CADENCE_DAYS[Quadrant.MONITOR],
            ),
        ),
        ui.text_input(
            "notes",
            plain(locale, "keyuser.field.notes"),
            initial=current.notes if current else None,
            optional=True,
            multiline=True,
            max_length=NOTES_LIMIT,
        ),
    ]
    editing = key_user is not None
    return ui.modal(
        callback_id=Callback.KEYUSER_EDIT if editing else Callback.KEYUSER_ADD,
        title=plain(locale, "keyuser.modal.edit_title" if editing else "keyuser.modal.add_title"),
        submit=plain(locale, "common.save" if editing else "common.add"),
        close=plain(locale, "common.cancel"),
        blocks=blocks,
        private_metadata=metadata or None,
    )


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
    budget = ui.MESSAGE_BLOCK_LIMIT - 2
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
    return ui.message(title, blocks)


def import_modal(locale: str, project: Project) -> dict[str, Any]:
    return ui.modal(
        callback_id=Callback.KEYUSER_IMPORT,
        title=plain(locale, "keyuser.modal.import_title"),
        submit=plain(locale, "common.import"),
        close=plain(locale, "common.cancel"),
        private_metadata={"project_id": project.id},
        blocks=[
            ui.section(t(locale, "keyuser.import_intro", code=project.code)),
            ui.file_input(
                "csv_file",
                plain(locale, "keyuser.field.csv_file"),
                filetypes=["csv"],
                optional=True,
            ),
            ui.text_input(
                "csv",
                plain(locale, "keyuser.field.csv_text"),
                multiline=True,
                optional=True,
                max_length=3000,
                placeholder="slack_user,role,department,module,influence,interest",
            ),
        ],
    )


def import_report(locale: str, project: Project, report: ImportReport) -> dict[str, Any]:
    summary = t(
        locale,
        "keyuser.import_summary",
        code=project.code,
        added=len(report.added),
        updated=len(report.updated),
        rejected=len(report.errors),
    )
    blocks: list[Any] = [ui.section(summary)]
    if report.errors:
        lines = [
            t(
                locale,
                "keyuser.import_error_line",
                line=line,
                field=field or "",
                message=Markup(say(locale, msg)),  # a Msg, rendered and escaped once
            )
            for line, field, msg in report.errors[:40]
        ]
        blocks.append(ui.section("\n".join(lines)))
        if len(report.errors) > 40:
            blocks.append(ui.context(t(locale, "common.more", count=len(report.errors) - 40)))
    return ui.message(summary, blocks)
