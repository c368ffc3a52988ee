"""Phase checklists and phase moves: the checklist message with its buttons, the item and mark
forms, the confirmation of a move, the channel's notice, the owners' lines in the due DM and the
PM's Home tab part (pure builders: data in, Block Kit out)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.i18n import joined, mention, plain, slack_date, t
from bot.ids import ChecklistId
from bot.services.phase_exit import Blocker
from bot.services.phases import (
    EVIDENCE_LIMIT,
    STATUSES,
    TEMPLATE,
    TEXT_LIMIT,
    ChecklistPage,
    DueItem,
    MovePlan,
    Progress,
    item_ref,
)
from bot.views import common as ui
from bot.views.projects import phase_label
from storage.models import ChecklistItem, ItemStatus, PhaseMove, Project

PAGE_SIZE = 10
HOME_PROJECTS = 10  # projects whose progress a PM's Home tab lists
DUE_SHOWN = 15
BLOCKERS_SHOWN = 10
STATUS_EMOJI = {
    ItemStatus.OPEN: ":white_circle:",
    ItemStatus.DONE: ":white_check_mark:",
    ItemStatus.NOT_APPLICABLE: ":heavy_minus_sign:",
}
ITEM_MODAL = ui.Modal(ChecklistId.ITEM_MODAL, "checklist.modal.add_title", "common.add")
EDIT_MODAL = ui.Modal(ChecklistId.ITEM_MODAL, "checklist.modal.edit_title", "common.save")
MARK_MODAL = ui.Modal(ChecklistId.MARK_MODAL, "checklist.modal.mark_title", "common.save")


def progress_text(locale: str, progress: Progress) -> str:
    """The figure people read: "Realization: 7 of 12 done, 2 overdue"."""
    return t(
        locale,
        "checklist.progress",
        phase=phase_label(locale, progress.phase),
        done=progress.done,
        total=progress.total,
        overdue=progress.overdue,
        na=progress.not_applicable,
    )


def status_label(locale: str, status: str) -> str:
    return (
        STATUS_EMOJI.get(ItemStatus(status), "") + " " + plain(locale, f"checklist.status.{status}")
    )


def item_line(locale: str, item: ChecklistItem, today: date) -> str:
    return t(
        locale,
        "checklist.line",
        ref=item_ref(item),
        text=item.text,
        owner=item.owner_id,
        due=item.due_on.isoformat() if item.due_on else "",
        overdue=item.status == ItemStatus.OPEN and item.due_on is not None and item.due_on < today,
        status=Markup(status_label(locale, item.status)),
        evidence=item.evidence or "",
    )


# -------------------------------------------------------------------------- the checklist


def page_value(found: ChecklistPage, page: int | None = None) -> str:
    return f"{found.project.id}|{found.phase}|{page or found.page}"


def checklist_message(
    locale: str, found: ChecklistPage, moves: list[PhaseMove], command: str
) -> dict[str, Any]:
    project = found.project
    title = plain(
        locale, "checklist.title", code=project.code, phase=phase_label(locale, found.phase)
    )
    blocks: list[Block] = [ui.header(title)]
    current = found.phase == project.phase
    summary = progress_text(locale, found.progress)
    blocks.append(
        ui.context(summary + ("" if current else " · " + plain(locale, "checklist.not_current")))
    )
    if not found.items:
        blocks.append(ui.section(t(locale, "checklist.empty", command=command, code=project.code)))
    for item in found.items:
        blocks.append(ui.section(item_line(locale, item, found.today), block_id=f"item_{item.id}"))
        buttons = []
        if found.is_pm or (item.owner_id and item.owner_id == found.actor_id):
            buttons.append(
                ui.button(plain(locale, "checklist.verb.mark"), ChecklistId.MARK, str(item.id))
            )
        if found.can_edit:
            buttons.append(
                ui.button(plain(locale, "checklist.verb.edit"), ChecklistId.EDIT, str(item.id))
            )
            buttons.append(
                ui.button(
                    plain(locale, "checklist.verb.remove"),
                    ChecklistId.REMOVE,
                    str(item.id),
                    confirm=ui.confirm_dialog(
                        plain(locale, "checklist.remove_confirm.title"),
                        t(
                            locale,
                            "checklist.remove_confirm.text",
                            ref=item_ref(item),
                            text=item.text,
                        ),
                        plain(locale, "checklist.verb.remove"),
                        plain(locale, "common.cancel"),
                        danger=True,
                    ),
                )
            )
        if buttons:
            blocks.append(ui.actions(*buttons, block_id=f"item_actions_{item.id}"))
    footer = []
    if found.can_edit:
        footer.append(
            ui.button(
                plain(locale, "checklist.verb.add"),
                ChecklistId.ADD,
                page_value(found),
                style="primary",
            )
        )
        if found.progress.empty and found.phase in TEMPLATE:
            footer.append(
                ui.button(
                    plain(locale, "checklist.verb.template"),
                    ChecklistId.TEMPLATE,
                    page_value(found),
                )
            )
    for step, label in ((-1, "previous"), (1, "next")):
        target = found.page + step
        if found.pages > 1 and 1 <= target <= found.pages:
            footer.append(
                ui.button(
                    plain(locale, f"checklist.page_{label}"),
                    f"{ChecklistId.PAGE}_{label}",
                    page_value(found, target),
                )
            )
    if found.pages > 1:
        blocks.append(ui.context(t(locale, "checklist.page", page=found.page, pages=found.pages)))
    if footer:
        blocks.append(ui.actions(*footer, block_id="checklist_actions"))
    if moves:
        lines = [move_line(locale, project, move) for move in moves]
        blocks.append(ui.context(t(locale, "checklist.history_title") + "\n" + "\n".join(lines)))
    return ui.message(title, blocks)


def move_line(locale: str, project: Project, move: PhaseMove) -> str:
    return t(
        locale,
        "checklist.history_line",
        at=slack_date(move.at, project.timezone),
        by=move.actor_id,
        from_phase=phase_label(locale, move.from_phase),
        to_phase=phase_label(locale, move.to_phase),
        open=len(move.blockers),
    )


# -------------------------------------------------------------------------------- the forms


def item_modal(
    locale: str, project: Project, phase: str, item: ChecklistItem | None = None
) -> dict[str, Any]:
    form = ui.Fields(locale, "checklist")
    blocks = [
        ui.context(
            t(locale, "checklist.modal.intro", code=project.code, phase=phase_label(locale, phase))
        ),
        form.text("text", initial=item.text if item else None, max_length=TEXT_LIMIT),
        form.user(
            "owner_id", label="owner", initial=item.owner_id if item else None, optional=True
        ),
        form.date("due_on", initial=item.due_on if item else None, optional=True),
    ]
    metadata: dict[str, Any] = {"project_id": project.id, "phase": phase}
    if item is not None:
        metadata["item_id"] = item.id
        return EDIT_MODAL(locale, blocks, metadata)
    return ITEM_MODAL(locale, blocks, metadata)


def mark_modal(locale: str, project: Project, item: ChecklistItem) -> dict[str, Any]:
    form = ui.Fields(locale, "checklist")
    initial = ItemStatus.DONE if item.status == ItemStatus.OPEN else ItemStatus.OPEN
    blocks = [
        ui.section(
            t(
                locale,
                "checklist.modal.mark_intro",
                ref=item_ref(item),
                code=project.code,
                text=item.text,
            )
        ),
        form.radio("status", "checklist.status", STATUSES, initial=str(initial)),
        form.text(
            "evidence",
            initial=item.evidence,
            max_length=EVIDENCE_LIMIT,
            multiline=True,
            optional=True,
            hint=form.hint("evidence"),
        ),
    ]
    return MARK_MODAL(locale, blocks, {"item_id": item.id})


def item_saved(locale: str, project: Project, item: ChecklistItem, what: str) -> str:
    return t(
        locale,
        f"checklist.done.{what}",
        ref=item_ref(item),
        code=project.code,
        text=item.text,
        phase=phase_label(locale, item.phase),
        status=plain(locale, f"checklist.status.{item.status}"),
    )


# ------------------------------------------------------------------------------- the moves


def blocker_lines(locale: str, blockers: list[Blocker] | list[dict[str, Any]]) -> list[str]:
    records = [b.record() if isinstance(b, Blocker) else b for b in blockers]
    lines = [
        t(
            locale,
            f"checklist.blocker.{r.get('kind', 'item')}",
            ref=r.get("ref", ""),
            text=r.get("text", ""),
        )
        for r in records[:BLOCKERS_SHOWN]
    ]
    if len(records) > BLOCKERS_SHOWN:
        lines.append(t(locale, "common.more", count=len(records) - BLOCKERS_SHOWN))
    return lines


def move_prompt(locale: str, plan: MovePlan) -> dict[str, Any]:
    project = plan.project
    target = phase_label(locale, plan.to_phase)
    if plan.blockers:
        text = t(
            locale,
            "checklist.move.blocked",
            count=len(plan.blockers),
            code=project.code,
            phase=target,
        )
        body = text + "\n" + "\n".join(blocker_lines(locale, plan.blockers))
        question = t(locale, "checklist.move.anyway", phase=target)
    else:
        text = t(
            locale,
            "checklist.move.clear",
            code=project.code,
            current=phase_label(locale, plan.from_phase),
            phase=target,
        )
        body, question = text, ""
    value = f"{project.id}|{plan.moves}|{plan.to_phase}"
    blocks: list[Block] = [ui.section(body)]
    if question:
        blocks.append(ui.section(question))
    blocks.append(
        ui.actions(
            ui.button(
                plain(locale, "checklist.move.confirm", phase=target),
                ChecklistId.MOVE,
                value,
                style="danger" if plan.blockers else "primary",
                confirm=ui.confirmed(
                    locale,
                    "checklist.move_confirm",
                    danger=True,
                    phase=target,
                    count=len(plan.blockers),
                    code=project.code,
                )
                if plan.blockers
                else None,
            ),
            ui.button(plain(locale, "common.cancel"), ChecklistId.MOVE_CANCEL, str(project.id)),
            block_id="phase_move",
        )
    )
    return ui.message(text, blocks)


def moved_notice(locale: str, project: Project, move: PhaseMove, pms: list[str]) -> dict[str, Any]:
    text = t(
        locale,
        "checklist.move.notice",
        pms=joined(locale, (mention(pm) for pm in pms)),
        code=project.code,
        by=move.actor_id,
        from_phase=phase_label(locale, move.from_phase),
        to_phase=phase_label(locale, move.to_phase),
        count=len(move.blockers),
    )
    blocks: list[Block] = [ui.section(text)]
    if move.blockers:
        blocks.extend(ui.line_sections(blocker_lines(locale, move.blockers)))
    return ui.message(text, blocks)


def moved_text(locale: str, project: Project, move: PhaseMove) -> str:
    return t(
        locale,
        "project.phase_changed",
        code=project.code,
        phase=phase_label(locale, move.to_phase),
    )


# ----------------------------------------------------------------------- the owners' DM


def due_blocks(locale: str, items: list[DueItem], command: str) -> list[Block]:
    """The checklist part of an owner's due DM: every block id starts ``checklist_due`` (a
    redrawn DM keeps them as they were sent)."""
    if not items:
        return []
    lines = [
        t(
            locale,
            "checklist.due.line",
            ref=item_ref(due.item),
            code=due.project.code,
            phase=phase_label(locale, due.item.phase),
            text=due.item.text,
            due=due.item.due_on.isoformat() if due.item.due_on else "",
            overdue=due.overdue,
        )
        for due in items[:DUE_SHOWN]
    ]
    if len(items) > DUE_SHOWN:
        lines.append(t(locale, "common.more", count=len(items) - DUE_SHOWN))
    codes = list(dict.fromkeys(due.project.code for due in items))
    blocks: list[Block] = [
        ui.section(
            t(locale, "checklist.due.intro", count=len(items)), block_id="checklist_due_intro"
        )
    ]
    for index, block in enumerate(ui.line_sections(lines)):
        block.block_id = f"checklist_due_{index}"
        blocks.append(block)
    blocks.append(ui.context(t(locale, "checklist.due.hint", command=command, codes=codes)))
    blocks[-1].block_id = "checklist_due_hint"
    return blocks


# ---------------------------------------------------------------------- the PM's Home tab


def kept_due_blocks(blocks: list[dict[str, Any]]) -> list[Block]:
    """The checklist part of a due DM as it was sent (the DM is redrawn when a plan item of it
    is acted on; the checklist lines stay as they were)."""
    kept = [b for b in blocks if str(b.get("block_id") or "").startswith("checklist_due")]
    return [block for block in (Block.parse(b) for b in kept) if block is not None]


def home_part(locale: str, rows: list[tuple[Project, Progress]]) -> list[Block]:
    """Each project's current phase and its checklist's progress, with the checklist beside it
    (where an empty one is loaded or started)."""
    if not rows:
        return []
    blocks: list[Block] = [
        ui.section(
            t(
                locale,
                "checklist.home.line",
                code=project.code,
                progress=Markup(
                    progress_text(locale, progress)
                    if not progress.empty
                    else t(
                        locale,
                        "checklist.home.empty",
                        phase=phase_label(locale, progress.phase),
                        code=project.code,
                    )
                ),
            ),
            accessory=ui.button(
                plain(locale, "checklist.home.open"), ChecklistId.HOME_OPEN, str(project.id)
            ),
            block_id=f"checklist_home_{project.id}",
        )
        for project, progress in rows
    ]
    return ui.titled(plain(locale, "checklist.home.title"), blocks)


def home_owned(
    locale: str, rows: list[tuple[ChecklistItem, Project]], total: int, now: datetime
) -> list[Block]:
    """The checklist items someone owns in their projects' current phases, each with Mark."""
    blocks: list[Block] = [
        ui.section(
            t(
                locale,
                "checklist.home.owned_line",
                code=project.code,
                line=Markup(
                    item_line(locale, item, now.astimezone(ZoneInfo(project.timezone)).date())
                ),
            ),
            accessory=ui.button(
                plain(locale, "checklist.verb.mark"), ChecklistId.MARK, str(item.id)
            ),
            block_id=f"checklist_owned_{item.id}",
        )
        for item, project in rows
    ]
    if total > len(rows):
        blocks.append(ui.context(t(locale, "common.more", count=total - len(rows))))
    return ui.titled(plain(locale, "checklist.home.owned_title", count=total), blocks)
