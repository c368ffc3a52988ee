"""`/project decisions`: the project's decision log, paged, its form and its CSV export; the
list's buttons."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.ids import DecisionId
from bot.runtime import Runtime
from bot.services import decisions as service
from bot.services import fields
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import decisions as views
from handlers import listeners
from handlers.common import dm
from handlers.listeners import (
    Click,
    CommandCall,
    Form,
    FormCall,
    Right,
    choice,
    clicks,
)
from storage.models import Project

PAGE_ACTION = listeners.page_action(DecisionId.LIST_PAGE)
READERS = Right(
    "decision_readers",
    service.can_read,
    "decision.errors.not_reader",
    "decision.errors.no_projects",
)
WRITERS = Right("team", service.can_add, "decision.errors.not_team", "decision.errors.no_projects")
WHAT = choice("what", "add", "export")


def decision_input(values: dict[str, Any]) -> service.DecisionInput:
    return service.DecisionInput(
        text=values.get("text") or "",
        decided_by=list(values.get("decided_by") or []),
        decided_by_names=values.get("decided_by_names") or "",
        decided_on=values.get("decided_on"),
        risk=values.get("risk") or "",
        issue=values.get("issue") or "",
        supersedes=values.get("supersedes") or "",
    )


def form_for(ctx: Ctx, project: Project) -> dict[str, Any]:
    return ADD_FORM.build(
        project.locale,
        projects=[project],
        project=project,
        today=service.local_today(project, ctx.now()),
    )


def decisions(call: CommandCall) -> dict[str, Any] | str | None:
    """`/project decisions [CODE] [add|export]`: the log (PMs, team, key users), the form (PMs
    and team), the CSV."""
    what = call.args.get("what")
    if what == "export":
        return call.export("decision", "decisions", service.export_csv)
    with call.unit() as ctx:
        project = call.project(ctx)
        if what == "add":
            view = form_for(ctx, WRITERS.check(ctx, project))
        else:
            found = service.list_decisions(ctx, project, page_size=service.PAGE_SIZE)
            return views.list_message(project.locale, found, f"{call.command} decisions")
    call.open(view)
    return None


def save(call: FormCall, ctx: Ctx) -> tuple[Project, int]:
    project = call.project(ctx)
    decision = service.add(ctx=ctx, project=project, data=call.data)
    return project, decision.number


def confirm(call: FormCall, saved: tuple[Project, int]) -> None:
    project, number = saved
    text = views.recorded_text(project.locale, project, number)
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))


ADD_FORM = Form(
    DecisionId.ADD_MODAL,
    build=views.add_modal,
    read=decision_input,
    who=WRITERS,
    submit=save,
    after=confirm,
)
FORMS = (ADD_FORM,)


def turn_page(click: Click) -> dict[str, Any]:
    project_id, page = (str(click.value or "") + "|").split("|")[:2]
    with click.unit() as ctx:
        project = READERS.check(ctx, click.project(ctx, project_id))
        found = service.list_decisions(
            ctx, project, page=fields.whole_number(page) or 1, page_size=service.PAGE_SIZE
        )
        command = f"{click.runtime.settings.command('project')} decisions"
        return views.list_message(project.locale, found, command)


def open_add(click: Click) -> None:
    with click.unit() as ctx:
        view = form_for(ctx, WRITERS.check(ctx, click.project(ctx)))
    click.open(view)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, forms=FORMS)
    clicks(app.action(PAGE_ACTION), runtime)(turn_page)
    clicks(app.action(DecisionId.ADD), runtime)(open_add)
