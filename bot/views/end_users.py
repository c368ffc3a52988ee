"""End users: the add and edit form, the paged list, the CSV import form and their readiness per
module and department (pure builders)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot.i18n import percent, plain, t
from bot.ids import TrainingId
from bot.services.end_user_readiness import Cell
from bot.services.end_users import DEPARTMENT_LIMIT, NAME_LIMIT, EndUserPage
from bot.services.keyusers import ImportReport
from bot.views import common as ui
from storage.models import EndUser, KeyUser, Project, TrainingModule

_ADD_MODAL = ui.Modal(TrainingId.END_USER_MODAL, "enduser.modal.add_title", "common.add")
_EDIT_MODAL = ui.Modal(TrainingId.END_USER_EDIT_MODAL, "enduser.modal.edit_title", "common.save")
_IMPORT_MODAL = ui.Modal(
    TrainingId.END_USER_IMPORT_MODAL, "enduser.modal.import_title", "common.import"
)
READINESS_LINES = 30  # module × department lines on one page


def key_user_choices(key_users: Sequence[KeyUser]) -> list[tuple[str, str]]:
    return [(k.user_id, k.display_name or k.user_id) for k in key_users[:100]]


def end_user_modal(
    locale: str,
    project: Project,
    modules: Sequence[TrainingModule],
    key_users: Sequence[KeyUser],
    end_user: EndUser | None = None,
) -> dict[str, Any]:
    """Name or Slack user, department, module and the key user responsible."""
    field = ui.Fields(locale, "enduser")
    responsible = next(
        (k.user_id for k in key_users if end_user and k.id == end_user.key_user_id), None
    )
    blocks = [
        ui.context(t(locale, "enduser.form_intro", code=project.code)),
        field.text(
            "name",
            optional=True,
            max_length=NAME_LIMIT,
            initial=end_user.name if end_user else None,
        ),
        field.user("user_id", initial=end_user.user_id if end_user else None, optional=True),
        field.text(
            "department",
            max_length=DEPARTMENT_LIMIT,
            initial=end_user.department if end_user else None,
        ),
        field.select(
            "module",
            [(str(m.id), m.name) for m in modules],
            initial=str(end_user.module_id) if end_user else None,
        ),
        field.select(
            "key_user",
            key_user_choices(key_users),
            initial=responsible or (key_users[0].user_id if len(key_users) == 1 else None),
        ),
    ]
    if end_user is None:
        return _ADD_MODAL(locale, blocks, {"project_id": project.id})
    return _EDIT_MODAL(locale, blocks, {"project_id": project.id, "end_user_id": end_user.id})


def import_modal(locale: str, project: Project) -> dict[str, Any]:
    field = ui.Fields(locale, "enduser")
    columns = "name,slack_user,department,module,key_user"
    blocks = [
        ui.section(t(locale, "enduser.import_intro", code=project.code)),
        ui.file_input("csv_file", field.label("csv_file"), filetypes=["csv"], optional=True),
        field.paragraph("csv", label="csv_text", max_length=3000, placeholder=columns),
    ]
    return _IMPORT_MODAL(locale, blocks, {"project_id": project.id})


def import_report(locale: str, project: Project, report: ImportReport) -> dict[str, Any]:
    return ui.import_report(locale, "enduser", project.code, report)


def end_user_list(locale: str, project: Project, found: EndUserPage) -> dict[str, Any]:
    title = plain(locale, "enduser.list_title", code=project.code)
    blocks: list[Block] = [ui.header(title)]
    if not found.total:
        blocks.append(ui.section(t(locale, "enduser.list_empty", code=project.code)))
        return ui.message(title, blocks)
    lines = [
        t(
            locale,
            "enduser.list_line",
            number=row.end_user.number,
            name=row.end_user.name,
            slack=row.end_user.user_id or "",
            department=row.end_user.department,
            module=row.module,
            key_user=row.key_user,
        )
        for row in found.rows
    ]
    blocks.append(ui.section("\n".join(lines)))
    first = (found.page - 1) * 20 + 1
    blocks.append(
        ui.context(
            t(
                locale,
                "enduser.list_page",
                first=first,
                last=first + len(found.rows) - 1,
                total=found.total,
            )
        )
    )
    buttons = []
    if found.page > 1:
        buttons.append(
            ui.button(
                plain(locale, "training.previous"),
                TrainingId.END_USERS_PAGE,
                f"{project.id}:{found.page - 1}",
            )
        )
    if found.page < found.pages:
        buttons.append(
            ui.button(
                plain(locale, "training.next"),
                TrainingId.END_USERS_PAGE,
                f"{project.id}:{found.page + 1}",
            )
        )
    if buttons:
        blocks.append(ui.actions(*buttons, block_id="end_users_pages"))
    return ui.message(title, blocks)


def readiness_lines(locale: str, cells: Sequence[Cell]) -> list[str]:
    return [
        t(
            locale,
            "enduser.readiness_line",
            module=cell.module,
            department=cell.department,
            ready=cell.ready,
            total=cell.end_users,
            percent=percent(None if cell.share is None else cell.share * 100),
        )
        for cell in cells
    ]


def readiness_pages(cells: Sequence[Cell]) -> int:
    return max(1, -(-len(cells) // READINESS_LINES))


def readiness_blocks(
    locale: str, project: Project, cells: Sequence[Cell], page: int = 1
) -> list[Block]:
    """The end users' part of ``/training readiness``: ready / registered per module and
    department, ``READINESS_LINES`` lines a page, 10 a section (within Block Kit's limits)."""
    blocks: list[Block] = [
        ui.section(t(locale, "enduser.readiness_title", code=project.code)),
    ]
    if not cells:
        blocks.append(ui.context(t(locale, "enduser.readiness_empty", code=project.code)))
        return blocks
    page = min(max(page, 1), readiness_pages(cells))
    first = (page - 1) * READINESS_LINES
    shown = cells[first : first + READINESS_LINES]
    lines = readiness_lines(locale, shown)
    for start in range(0, len(lines), 10):
        blocks.append(ui.section("\n".join(lines[start : start + 10])))
    total_users = sum(cell.end_users for cell in cells)
    total_ready = sum(cell.ready for cell in cells)
    blocks.append(
        ui.context(
            t(
                locale,
                "enduser.readiness_page",
                first=first + 1,
                last=first + len(shown),
                total=len(cells),
                ready=total_ready,
                end_users=total_users,
            )
        )
    )
    return blocks
