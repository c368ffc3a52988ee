"""`/signoff`, its forms (a new sign-off, a new version) and the buttons of a sign-off's view and
list. The signers' buttons are the shared approvals' (``handlers/approvals.py``)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.errors import Msg, NotFound, ValidationError
from bot.ids import SignOffId
from bot.jobs import signoffs as notices
from bot.runtime import Runtime
from bot.services import fields
from bot.services import signoffs as service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import signoffs as views
from handlers import listeners
from handlers.common import dm, request_id
from handlers.listeners import (
    CODE,
    NUMBER,
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
from storage.models import Project, SignOff

PAGE_ACTION = listeners.page_action(SignOffId.LIST_PAGE)
SIGNOFF_TEAM = Right(
    "team", service.is_team, "signoff.errors.not_team", "signoff.errors.no_projects"
)
LISTERS = Right(
    "raisers", service.can_list, "signoff.errors.cannot_list", "signoff.errors.no_projects"
)


def card(ctx: Ctx, signoff: SignOff, project: Project) -> dict[str, Any]:
    return views.card(project.locale, service.detail(ctx, signoff, project))


def located(call: CommandCall, ctx: Ctx) -> tuple[SignOff, Project]:
    return call.numbered(ctx, service.find)


# ---------------------------------------------------------------------------- the forms


def new_signoff(call: CommandCall) -> None:
    with call.unit() as ctx:
        project = call.project(ctx)
        view = NEW_FORM.build(project.locale, project=project)
    call.open(view)


def signoff_input(values: dict[str, Any]) -> service.SignOffInput:
    return service.SignOffInput(
        kind=values.get("kind") or "",
        title=values.get("title") or "",
        text=values.get("text") or "",
        link=values.get("link") or "",
        module=values.get("module") or "",
        people=list(values.get("people") or []),
        roles=list(values.get("roles") or []),
        module_key_users="yes" in (values.get("module_key_users") or []),
        rule=values.get("rule") or "all",
        named=values.get("named") or None,
        due_on=values.get("due_on") or None,
    )


Told = tuple[str, list[str]]


def save_new(call: FormCall, ctx: Ctx) -> Told:
    project = call.project(ctx)
    done = notices.create(ctx, project, call.data)
    return views.done_text(project.locale, project, done.signoff, "created"), done.keys


def tell_and_deliver(call: FormCall, told: Told) -> None:
    text, keys = told
    call.deliver(keys)
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.refresh_home()


def version_view(ctx: Ctx, signoff: SignOff, project: Project) -> dict[str, Any]:
    SIGNOFF_TEAM.check(ctx, project)
    if signoff.status == "approved":
        raise ValidationError({"text": Msg("signoff.errors.signed", ref=service.ref(signoff))})
    current = service.versions_of(ctx, [signoff.id or 0]).get((signoff.id or 0, signoff.version))
    return VERSION_FORM.build(project.locale, project=project, signoff=signoff, current=current)


def edit(call: CommandCall) -> None:
    with call.unit() as ctx:
        signoff, project = located(call, ctx)
        view = version_view(ctx, signoff, project)
    call.open(view)


def save_version(call: FormCall, ctx: Ctx) -> Told:
    project = call.project(ctx)
    signoff, found = service.get_signoff(ctx, call.metadata.get("signoff_id"))
    if found.id != project.id:
        raise NotFound(Msg("signoff.errors.not_found", id="?"))
    if fields.whole_number(call.metadata.get("version")) != signoff.version:
        raise ValidationError({"text": Msg("signoff.errors.stale", ref=service.ref(signoff))})
    done = notices.new_version(
        ctx, signoff, project, call.values.get("text") or "", call.values.get("link") or ""
    )
    return views.done_text(project.locale, project, done.signoff, "new_version"), done.keys


NEW_FORM = Form(
    SignOffId.NEW_MODAL,
    build=views.new_modal,
    read=signoff_input,
    who=SIGNOFF_TEAM,
    submit=save_new,
    after=tell_and_deliver,
)
VERSION_FORM = Form(
    SignOffId.VERSION_MODAL,
    build=views.version_modal,
    who=SIGNOFF_TEAM,
    submit=save_version,
    after=tell_and_deliver,
)
FORMS = (NEW_FORM, VERSION_FORM)


# ------------------------------------------------------------------------------- commands


list_signoffs = listeners.scoped_list(
    service.list_signoffs, views.LIST_PAGE_SIZE, views.list_message
)


def show(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        signoff, project = located(call, ctx)
        return card(ctx, signoff, project)


def export(call: CommandCall) -> str:
    return call.export("signoff", "signoffs", service.export_csv)


FILTER = choice("filter", *service.LIST_FILTERS)
COMMAND = Command(
    name="signoff",
    catalog="signoff",
    subcommands=(
        Subcommand("new", new_signoff, args=(CODE,), who=SIGNOFF_TEAM),
        Subcommand("list", list_signoffs, args=(CODE, FILTER), who=LISTERS, tool=True),
        Subcommand("show", show, args=(CODE, NUMBER)),
        Subcommand("edit", edit, args=(CODE, NUMBER), who=SIGNOFF_TEAM),
        Subcommand("export", export, args=(CODE,), who=SIGNOFF_TEAM),
    ),
    other=show,
    other_args=(CODE, NUMBER),
)


# --------------------------------------------------------------------------------- clicks


def open_version_form(click: Click) -> None:
    """The view's New version: the form, if the sign-off is the clicker's to change and the
    view shows its current version."""
    ident, _, version = str(click.value or "").partition(":")
    with click.unit() as ctx:
        signoff, project = service.get_signoff(ctx, request_id(ident))
        click.locale = project.locale
        if fields.whole_number(version) != signoff.version:
            raise ValidationError({"text": Msg("signoff.errors.stale", ref=service.ref(signoff))})
        view = version_view(ctx, signoff, project)
    click.open(view)


open_from_message = listeners.opens_by_dm(service.get_signoff, card, "signoff.tool.card")


turn_list_page = listeners.list_pages(
    LISTERS,
    service.list_signoffs,
    service.LIST_FILTERS,
    views.LIST_PAGE_SIZE,
    views.list_message,
    "signoff",
)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)
    clicks(app.action(SignOffId.NEW_VERSION), runtime)(open_version_form)
    clicks(app.action(SignOffId.OPEN), runtime)(open_from_message)
    clicks(app.action(PAGE_ACTION), runtime)(turn_list_page)


__all__ = ["COMMAND", "FORMS", "register"]
