"""`/project checklist` and `/project phase` (rows of the `/project` table in
`handlers/projects.py`), the checklist's forms and buttons, and the confirmation of a move."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import App

from bot.errors import NotFound
from bot.i18n import t
from bot.ids import ChecklistId
from bot.jobs import phases as notices
from bot.runtime import Runtime
from bot.services import fields
from bot.services import phases as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import phases as views
from handlers import listeners
from handlers.common import dm, request_id
from handlers.listeners import (
    ANYONE,
    PM,
    Arg,
    Click,
    CommandCall,
    Form,
    FormCall,
    Right,
    clicks,
)
from storage.models import ChecklistItem, Project

PHASE = Arg("phase", "project.arg.phase", rest=True)
PHASE_OR_NEXT = Arg("phase", "project.arg.phase_or_next", rest=True)
OPTIONAL_PHASE = Arg("phase", "project.arg.phase", rest=True, optional=True)
READERS = Right("raisers", service.can_read, "checklist.errors.not_member")
PAGE_ACTION = re.compile("^" + re.escape(ChecklistId.PAGE) + r"_(previous|next)$")


def phase_words(call: CommandCall, ctx: Ctx) -> None:
    """A first word read as a project code is the phase's first word when it names no project
    and, with the words after it, names a phase (or `next`) of the project the command then
    means (`/project checklist final preparation`, `/project phase next`)."""
    code = call.args.get("code")
    if not code or project_service.code_exists(ctx, code):
        return
    words = f"{code} {call.args.get('phase') or ''}".strip()
    try:
        project = project_service.resolve_project(ctx, None, call.channel_id)
    except NotFound:
        return
    if words.lower() == "next" or service.phase_named(project, words) is not None:
        call.args = {"phase": words}


def page_message(
    ctx: Ctx, project: Project, phase: str | None, page: int, command: str
) -> dict[str, Any]:
    found = service.checklist_page(ctx, project, phase, page=page, page_size=views.PAGE_SIZE)
    moves = service.recent_moves(ctx, project, limit=3)
    return views.checklist_message(project.locale, found, moves, command)


# ---------------------------------------------------------------------------------- commands


def show_checklist(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        phase_words(call, ctx)
        project = call.project(ctx)
        return page_message(ctx, project, call.args.get("phase"), 1, call.command)


def change_phase(call: CommandCall) -> dict[str, Any]:
    """`next` or a phase's name: the PM confirms the move, told what is still open."""
    with call.unit() as ctx:
        phase_words(call, ctx)
        project = call.project(ctx)
        plan = service.plan_move(ctx, project, call.args.get("phase") or "")
        return views.move_prompt(project.locale, plan)


# ------------------------------------------------------------------------------------- forms


def item_input(values: dict[str, Any]) -> service.ItemInput:
    return service.ItemInput(
        text=values.get("text") or "",
        owner_id=values.get("owner_id") or None,
        due_on=values.get("due_on") or None,
    )


def save_item(call: FormCall, ctx: Ctx) -> str:
    raw_item = call.metadata.get("item_id")
    if raw_item:
        item, project = service.get_item(ctx, request_id(raw_item))
        call.locale = project.locale
        service.edit_item(ctx=ctx, item=item, project=project, data=call.data)
        return views.item_saved(project.locale, project, item, "edited")
    project = call.project(ctx)
    item = service.add_item(
        ctx=ctx, project=project, phase=str(call.metadata.get("phase") or ""), data=call.data
    )
    return views.item_saved(project.locale, project, item, "added")


def save_mark(call: FormCall, ctx: Ctx) -> str:
    item, project = service.get_item(ctx, request_id(call.metadata.get("item_id")))
    call.locale = project.locale
    service.mark(
        ctx=ctx,
        item=item,
        project=project,
        status=str(call.values.get("status") or ""),
        evidence=call.values.get("evidence") or "",
    )
    return views.item_saved(project.locale, project, item, "marked")


def tell(call: FormCall, text: str) -> None:
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.refresh_home()


# The project of ITEM_FORM's metadata is checked by the service (the PMs and team add items).
ITEM_FORM = Form(
    ChecklistId.ITEM_MODAL,
    build=views.item_modal,
    read=item_input,
    submit=save_item,
    after=tell,
    who=ANYONE,
)
MARK_FORM = Form(ChecklistId.MARK_MODAL, build=views.mark_modal, submit=save_mark, after=tell)
FORMS = (ITEM_FORM, MARK_FORM)


# ------------------------------------------------------------------------------------ clicks


def _page_of(click: Click, ctx: Ctx) -> tuple[Project, str, int]:
    """A checklist button's `<project id>|<phase>|<page>`: the project, if the clicker may read
    its checklists."""
    project_id, phase, page = (str(click.value or "") + "||").split("|")[:3]
    project = READERS.check(ctx, click.project(ctx, project_id))
    return project, phase, fields.whole_number(page) or 1


def turn_page(click: Click) -> dict[str, Any]:
    with click.unit() as ctx:
        project, phase, page = _page_of(click, ctx)
        return page_message(ctx, project, phase, page, click.runtime.settings.command("project"))


def open_add_form(click: Click) -> None:
    with click.unit() as ctx:
        project, phase, _ = _page_of(click, ctx)
        service.require_edit(ctx, project)
        view = views.item_modal(project.locale, project, service.phase_of(project, phase))
    click.open(view)


def use_template(click: Click) -> dict[str, Any]:
    with click.unit() as ctx:
        project, phase, _ = _page_of(click, ctx)
        service.use_template(ctx=ctx, project=project)
        return page_message(ctx, project, phase, 1, click.runtime.settings.command("project"))


def _clicked_item(click: Click, ctx: Ctx) -> tuple[ChecklistItem, Project]:
    item, project = service.get_item(ctx, request_id(click.value))
    click.locale = project.locale
    return item, project


def open_edit_form(click: Click) -> None:
    with click.unit() as ctx:
        item, project = _clicked_item(click, ctx)
        service.require_edit(ctx, project)
        view = views.item_modal(project.locale, project, item.phase, item)
    click.open(view)


def open_mark_form(click: Click) -> None:
    with click.unit() as ctx:
        item, project = _clicked_item(click, ctx)
        service.require_mark(ctx, project, item)
        view = views.mark_modal(project.locale, project, item)
    click.open(view)


def remove_item(click: Click) -> dict[str, Any]:
    with click.unit() as ctx:
        item, project = _clicked_item(click, ctx)
        phase = item.phase
        service.remove_item(ctx=ctx, item=item, project=project)
        return page_message(ctx, project, phase, 1, click.runtime.settings.command("project"))


def confirm_move(click: Click) -> dict[str, Any]:
    """The PM's confirmation `<project id>|<moves>|<phase>`: the move, if the project is as it
    was when they were asked; the PMs told in the project channel."""
    project_id, moves, phase = (str(click.value or "") + "||").split("|")[:3]
    with click.unit() as ctx:
        project = PM.check(ctx, click.project(ctx, project_id))
        move = service.confirm_move(ctx, project, phase, fields.whole_number(moves))
        keys = notices.announce_move(ctx, project, move)
        text = views.moved_text(project.locale, project, move)
        pms = project_service.pm_ids(ctx, project)
    click.deliver(keys)
    click.refresh_home(*pms)
    return ui.message(text, [ui.section(text)])


def cancel_move(click: Click) -> dict[str, Any]:
    with click.unit() as ctx:
        project = click.project(ctx)
        text = t(project.locale, "checklist.move.cancelled", code=project.code)
    return ui.message(text, [ui.section(text)])


open_from_home = listeners.opens_tool(
    READERS,
    "project.tool.checklist",
    lambda ctx, project, click: page_message(
        ctx, project, None, 1, click.runtime.settings.command("project")
    ),
)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, forms=FORMS)
    clicks(app.action(PAGE_ACTION), runtime)(turn_page)
    clicks(app.action(ChecklistId.ADD), runtime)(open_add_form)
    clicks(app.action(ChecklistId.HOME_OPEN), runtime)(open_from_home)
    clicks(app.action(ChecklistId.TEMPLATE), runtime)(use_template)
    clicks(app.action(ChecklistId.EDIT), runtime)(open_edit_form)
    clicks(app.action(ChecklistId.MARK), runtime)(open_mark_form)
    clicks(app.action(ChecklistId.REMOVE), runtime)(remove_item)
    clicks(app.action(ChecklistId.MOVE), runtime)(confirm_move)
    clicks(app.action(ChecklistId.MOVE_CANCEL), runtime)(cancel_move)


__all__ = ["FORMS", "register"]
