"""`/change`, the change-request forms, the buttons of a request's card and the "Open a change
request" button of an issue of kind change request. The decision makers' buttons are the shared
approvals' (``handlers/approvals.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.errors import Msg, NotFound, ValidationError
from bot.ids import ChangeId
from bot.jobs import changes as notices
from bot.jobs import issues as issue_notices
from bot.runtime import Runtime
from bot.services import changes as service
from bot.services import fields
from bot.services import issues as issue_service
from bot.services.context import Ctx
from bot.views import changes as views
from bot.views import common as ui
from handlers import listeners
from handlers.common import dm, request_id
from handlers.listeners import (
    CODE,
    NUMBER,
    PM,
    Click,
    Command,
    CommandCall,
    Form,
    FormCall,
    Right,
    Subcommand,
    choice,
    clicks,
)
from storage.models import ChangeRequest, Project

SPAWN_ISSUE_ACTION = re.compile("^" + re.escape(ChangeId.SPAWN_ISSUE) + r"_\d{1,2}$")
PAGE_ACTION = listeners.page_action(ChangeId.LIST_PAGE)
CHANGE_TEAM = Right("team", service.is_team, "change.errors.not_team")
PROPOSERS = Right(
    "raisers", service.can_propose, "change.errors.cannot_propose", "change.errors.no_projects"
)


def card(ctx: Ctx, change: ChangeRequest, project: Project) -> dict[str, Any]:
    return views.change_card(project.locale, service.detail(ctx, change, project))


def located(call: CommandCall, ctx: Ctx) -> tuple[ChangeRequest, Project]:
    return call.numbered(ctx, service.find_change)


# ---------------------------------------------------------------------------- the form


def form_view(
    ctx: Ctx,
    project: Project,
    defaults: service.ChangeInput | None = None,
    editing: ChangeRequest | None = None,
) -> dict[str, Any]:
    """The change form: a new request, or ``editing`` one (filled in with it as it stands)."""
    PROPOSERS.check(ctx, project)
    team = service.is_team(ctx, project)
    own = service.key_user_of(ctx, project, ctx.actor_id)
    defaults = defaults or service.ChangeInput()
    if not defaults.deciders:
        defaults.deciders = service.default_deciders(ctx, project)
    if team and not defaults.requested_by:
        defaults.requested_by = ctx.actor_id
    form = NEW_FORM if editing is None else EDIT_FORM
    assert form.build is not None
    return form.build(
        project.locale,
        project=project,
        defaults=defaults,
        team=team,
        modules=service.training_modules(ctx, project),
        own_module=(own.module if own is not None else None),
        editing=editing,
    )


def new_change(call: CommandCall) -> None:
    with call.unit() as ctx:
        project, projects = call.project_choice(ctx)
        if project is None:
            raise NotFound(Msg("change.errors.name_project", command=call.command))
        view = form_view(ctx, project)
    call.open(view)


def change_input(values: dict[str, Any]) -> service.ChangeInput:
    texts = ("title", "reason", "modules", "processes", *views.ESTIMATES)
    return service.ChangeInput(
        **{name: values.get(name) or "" for name in texts},
        training_hours=values.get("training_hours"),
        training_module=values.get("training_module"),
        requested_by=values.get("requested_by"),
        deciders=list(values.get("deciders") or []),
    )


Told = tuple[str, list[str]]


def save_new(call: FormCall, ctx: Ctx) -> Told:
    project = call.project(ctx)
    data: service.ChangeInput = call.data
    data.issue_id = fields.record_id(call.metadata.get("issue_id"))
    done = notices.create(ctx, project, data)
    what = "submitted" if done.change.status == "under_review" else "proposed"
    return views.done_text(project.locale, project, done.change, what), done.keys


def open_edit(call: CommandCall) -> None:
    """`/change edit 3`: the form filled in with the request as it stands."""
    with call.unit() as ctx:
        change, project = located(call, ctx)
        service.require_editable(ctx, project, change)
        view = form_view(ctx, project, service.edit_defaults(change), editing=change)
    call.open(view)


def save_edit(call: FormCall, ctx: Ctx) -> Told:
    """A new version of the request (the form's change id and version may be forged: the
    request is found again, in the form's project, and the rights checked again)."""
    project = call.project(ctx)
    change, _ = service.get_change(ctx, request_id(call.metadata.get("change_id")))
    if change.project_id != project.id:
        raise NotFound(Msg("change.errors.not_found", id=str(change.id)))
    version = fields.whole_number(call.metadata.get("version"))
    done = notices.edit(ctx, change, project, call.data, expected_version=version or -1)
    what = "edited_review" if change.status == "under_review" else "edited"
    return views.done_text(project.locale, project, change, what), done.keys


def tell_and_deliver(call: FormCall, told: Told) -> None:
    text, keys = told
    call.deliver(keys)
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.refresh_home()


def open_settings(call: CommandCall) -> None:
    with call.unit() as ctx:
        project = call.project(ctx)
        view = SETTINGS_FORM.build(project.locale, project, service.rule_of(ctx, project))
    call.open(view)


def save_settings(call: FormCall, ctx: Ctx) -> str:
    project = call.project(ctx)
    row = service.save_settings(ctx=ctx, project=project, rule=call.values.get("rule") or "")
    return views.settings_text(project.locale, project, row.rule)


def tell(call: FormCall, text: str) -> None:
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))


NEW_FORM = Form(
    ChangeId.NEW_MODAL,
    build=views.new_change_modal,
    read=change_input,
    who=PROPOSERS,
    submit=save_new,
    after=tell_and_deliver,
)
SETTINGS_FORM = Form(
    ChangeId.SETTINGS_MODAL, build=views.settings_modal, who=PM, submit=save_settings, after=tell
)
EDIT_FORM = Form(
    ChangeId.EDIT_MODAL,
    build=views.new_change_modal,
    read=change_input,
    who=PROPOSERS,
    submit=save_edit,
    after=tell_and_deliver,
)
FORMS = (NEW_FORM, EDIT_FORM, SETTINGS_FORM)


# ------------------------------------------------------------------------------- commands


list_changes = listeners.scoped_list(service.list_changes, views.LIST_PAGE_SIZE, views.list_message)


def show_or_move(call: CommandCall) -> dict[str, Any] | str:
    """`/change 3` shows it; `/change 3 implemented|verified` moves it on."""
    verb = call.args.get("verb")
    with call.unit() as ctx:
        change, project = located(call, ctx)
        if not verb:
            return card(ctx, change, project)
        done = service.move(ctx=ctx, change=change, project=project, to=verb)
        keys = notices.step(ctx, done)
        text = views.done_text(project.locale, project, change, verb)
    call.deliver(keys)
    return text


def send(call: CommandCall) -> str:
    with call.unit() as ctx:
        change, project = located(call, ctx)
        done = notices.send_for_review(ctx, change, project)
        text = views.done_text(project.locale, project, change, "submitted")
    call.deliver(done.keys)
    return text


def export(call: CommandCall) -> str:
    return call.export("change", "changes", service.export_csv)


FILTER = choice("filter", *service.LIST_FILTERS)
VERB = choice("verb", *service.MOVES)
COMMAND = Command(
    name="change",
    catalog="change",
    subcommands=(
        Subcommand("new", new_change, args=(CODE,), who=PROPOSERS),
        Subcommand("list", list_changes, args=(CODE, FILTER), who=PROPOSERS, tool=True),
        Subcommand("show", show_or_move, args=(CODE, NUMBER)),
        Subcommand("send", send, args=(CODE, NUMBER), who=CHANGE_TEAM),
        Subcommand("edit", open_edit, args=(CODE, NUMBER), who=PROPOSERS),
        Subcommand("export", export, args=(CODE,), who=CHANGE_TEAM),
        Subcommand("settings", open_settings, args=(CODE,), who=PM),
    ),
    other=show_or_move,
    other_args=(CODE, NUMBER, VERB),
)


# --------------------------------------------------------------------------------- clicks


def clicked(ctx: Ctx, click: Click) -> tuple[ChangeRequest, Project, int | None, str]:
    """A card button's `<change id>:<version>[:<module>]`: the request, if the clicker may see
    it (the service checks what they may do with it)."""
    ident, _, rest = str(click.value or "").partition(":")
    version, _, module = rest.partition(":")
    change, project = service.get_change(ctx, request_id(ident))
    click.locale = project.locale
    return change, project, fields.whole_number(version), module


def _fresh(change: ChangeRequest, version: int | None) -> None:
    if version != change.version:
        raise ValidationError(
            {"change": Msg("change.errors.stale", ref=service.change_ref(change))}
        )


Act = Callable[[Ctx, ChangeRequest, Project, int | None, str], list[str]]


def acting(act: Act) -> Callable[[Click], dict[str, Any]]:
    """A card button: the act (refused on a card older than the request), then the card again."""

    def run(click: Click) -> dict[str, Any]:
        with click.unit() as ctx:
            change, project, version, module = clicked(ctx, click)
            _fresh(change, version)
            keys = act(ctx, change, project, version, module)
            answer = card(ctx, change, project)
        click.deliver(keys)
        click.refresh_home()
        return answer

    return run


def _send(
    ctx: Ctx, change: ChangeRequest, project: Project, version: int | None, _: str
) -> list[str]:
    return notices.send_for_review(ctx, change, project, version).keys


def _mover(to: str) -> Act:
    def act(
        ctx: Ctx, change: ChangeRequest, project: Project, version: int | None, _: str
    ) -> list[str]:
        done = service.move(
            ctx=ctx, change=change, project=project, to=to, expected_version=version
        )
        return notices.step(ctx, done)

    return act


def _issue(
    ctx: Ctx, change: ChangeRequest, project: Project, version: int | None, module: str
) -> list[str]:
    done = service.spawn_issue(ctx=ctx, change=change, project=project, module=module)
    return issue_notices.announce_created(ctx, done.made) + notices.step(ctx, done)


def _training(
    ctx: Ctx, change: ChangeRequest, project: Project, version: int | None, _: str
) -> list[str]:
    return notices.step(ctx, service.spawn_training(ctx=ctx, change=change, project=project))


def _plan(
    ctx: Ctx, change: ChangeRequest, project: Project, version: int | None, _: str
) -> list[str]:
    return notices.step(ctx, service.spawn_plan(ctx=ctx, change=change, project=project))


open_from_dm = listeners.opens_by_dm(service.get_change, card, "change.tool.card")


def from_issue(click: Click) -> None:
    """An issue of kind change request: the change form, filled in from it and linked to it."""
    with click.unit() as ctx:
        issue, project = issue_service.get_issue(ctx, request_id(click.value))
        click.locale = project.locale
        if not issue_service.can_see(ctx, project, issue):
            raise NotFound(Msg("issues.errors.not_found", ref=str(click.value)[:20]))
        defaults = service.ChangeInput(
            title=ui.clip(issue.title, service.TITLE_LIMIT),
            reason=ui.clip(issue.description or issue.title, service.REASON_LIMIT),
            modules=issue.module or "",
            requested_by=issue.reporter_id,
            issue_id=issue.id,
        )
        view = form_view(ctx, project, defaults)
    click.open(view)


turn_list_page = listeners.list_pages(
    PROPOSERS,
    service.list_changes,
    service.LIST_FILTERS,
    views.LIST_PAGE_SIZE,
    views.list_message,
    "change",
)


BUTTONS: dict[str | re.Pattern[str], Act] = {
    ChangeId.SEND: _send,
    ChangeId.IMPLEMENTED: _mover("implemented"),
    ChangeId.VERIFIED: _mover("verified"),
    SPAWN_ISSUE_ACTION: _issue,
    ChangeId.SPAWN_TRAINING: _training,
    ChangeId.SPAWN_PLAN: _plan,
}


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)
    for action_id, act in BUTTONS.items():
        clicks(app.action(action_id), runtime)(acting(act))
    clicks(app.action(ChangeId.OPEN), runtime)(open_from_dm)
    clicks(app.action(ChangeId.FROM_ISSUE), runtime)(from_issue)
    clicks(app.action(PAGE_ACTION), runtime)(turn_list_page)


__all__ = ["COMMAND", "FORMS", "register"]
