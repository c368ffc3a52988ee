"""`/project` and the project forms: create, list, edit, open the plan, the phase checklist and
the move to another phase (`handlers/phases.py`); the Home
tab's project buttons."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.i18n import LOCALES, t
from bot.ids import Action, Callback
from bot.jobs import phases as phase_notices
from bot.runtime import Runtime
from bot.services import fields
from bot.services import keyusers as keyuser_service
from bot.services import projects as service
from bot.services.context import Ctx
from bot.slack_io import slack_error_code
from bot.views import common as ui
from bot.views import projects as views
from handlers import listeners
from handlers.common import person_locale, slack_error_text
from handlers.commplan import PLANNER, open_plan
from handlers.decisions import READERS as DECISION_READERS
from handlers.decisions import WHAT
from handlers.decisions import decisions as show_decisions
from handlers.golive import READERS as GATE_READERS
from handlers.golive import WHAT as GATE_WHAT
from handlers.golive import show_gate
from handlers.listeners import (
    CODE,
    PM,
    Click,
    Command,
    CommandCall,
    Form,
    FormCall,
    Subcommand,
    clicks,
)
from handlers.phases import OPTIONAL_PHASE, PHASE_OR_NEXT, READERS, change_phase, show_checklist
from storage.models import Project
from storage.models.core import MemberRole


def project_input(values: dict[str, Any]) -> service.ProjectInput:
    weekday = values.get("digest_weekday")
    return service.ProjectInput(
        name=values.get("name") or "",
        code=values.get("code") or "",
        phase=values.get("phase") or "",
        custom_phases=values.get("custom_phases") or "",
        channel_id=values.get("channel_id"),
        pm_ids=list(values.get("pm_ids") or []),
        team_ids=list(values.get("team_ids") or []),
        timezone=values.get("timezone") or "UTC",
        locale=values.get("locale") or "en",
        digest_weekday=fields.whole_number(weekday) if weekday not in (None, "") else 0,
        digest_time=(values.get("digest_time") or "").strip(),
        digest_target=values.get("digest_target") or None,
    )


def announce_in_channel(
    client: WebClient, project_locale: str, channel_id: str, text: str
) -> str | None:
    """Post to the project channel, joining it if need be; returns an error text if it can't."""
    try:
        client.chat_postMessage(channel=channel_id, text=text)
        return None
    except SlackApiError as error:
        code = slack_error_code(error)
        if code != "not_in_channel":
            return slack_error_text(project_locale, code)
    try:
        client.conversations_join(channel=channel_id)
        client.chat_postMessage(channel=channel_id, text=text)
        return None
    except SlackApiError as error:
        return slack_error_text(project_locale, slack_error_code(error))


# ---------------------------------------------------------------------------------- /project


def new_project_view(runtime: Runtime, locale: str, user_id: str) -> dict[str, Any]:
    settings = runtime.settings
    return NEW_FORM.build(
        locale,
        pm_ids=[user_id] if user_id else [],
        default_timezone=settings.timezone,
        default_locale=settings.locale,
    )


def edit_project_view(ctx: Ctx, project: Project) -> dict[str, Any]:
    return EDIT_FORM.build(
        project.locale,
        project=project,
        pm_ids=service.pm_ids(ctx, project),
        team_ids=service.member_ids(ctx, project, MemberRole.TEAM),
        digest_target=service.digest_target(ctx, project),
    )


def open_new(call: CommandCall) -> None:
    call.open(new_project_view(call.runtime, call.locale, call.user_id))


def list_projects(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        rows = [
            (
                project,
                service.pm_ids(ctx, project),
                len(keyuser_service.active_key_users(ctx, project)),
            )
            for project in service.list_projects(ctx)
        ]
        return views.project_list(call.locale, rows)


def open_edit(call: CommandCall) -> None:
    with call.unit() as ctx:
        view = edit_project_view(ctx, call.project(ctx))
    call.open(view)


# ------------------------------------------------------------------------------------- forms


@dataclass(frozen=True)
class Saved:
    project: Project
    pms: list[str]
    old_channel: str | None
    created: bool
    keys: list[str] = field(default_factory=list)


def answer_in_chosen_language(call: FormCall) -> None:
    """A refusal speaks the language chosen in the form, when it is one Liaison speaks."""
    if call.data.locale in LOCALES:
        call.locale = call.data.locale


def create(call: FormCall, ctx: Ctx) -> Saved:
    answer_in_chosen_language(call)
    project = service.create_project(ctx=ctx, data=call.data)
    return Saved(project, service.pm_ids(ctx, project), None, created=True)


def update(call: FormCall, ctx: Ctx) -> Saved:
    project = call.project(ctx)
    answer_in_chosen_language(call)
    old_channel, old_phase = project.channel_id, project.phase
    service.update_project(ctx=ctx, project=project, data=call.data)
    move = service.last_move(ctx, project) if project.phase != old_phase else None
    keys = phase_notices.announce_move(ctx, project, move) if move is not None else []
    return Saved(project, service.pm_ids(ctx, project), old_channel, created=False, keys=keys)


def confirm(call: FormCall, saved: Saved) -> None:
    """The PM's confirmation (with a word if the new channel could not be posted in), the hello
    in the project's new channel, and the Home tab of every PM."""
    project = saved.project
    locale = project.locale
    confirmation = views.project_saved(locale, project, saved.pms, created=saved.created)
    if project.channel_id and project.channel_id != saved.old_channel:
        hello = t(
            locale,
            "project.channel_hello",
            code=project.code,
            name=project.name,
            posts=ui.channel_posts(locale),
        )
        problem = announce_in_channel(call.client, locale, project.channel_id, hello)
        if problem:
            told = t(locale, "project.channel_problem", channel=project.channel_id)
            confirmation = ui.message(
                confirmation["text"],
                [ui.section(confirmation["text"]), ui.section(told + "\n" + problem)],
            )
    call.client.chat_postMessage(channel=call.user_id, **confirmation)
    call.deliver(saved.keys)
    call.refresh_home(*saved.pms)


NEW_FORM = Form(
    Callback.PROJECT_NEW,
    build=views.project_modal,
    read=project_input,
    submit=create,
    after=confirm,
)
EDIT_FORM = replace(NEW_FORM, callback_id=Callback.PROJECT_EDIT, who=PM, submit=update)
COMMAND = Command(
    name="project",
    catalog="project",
    subcommands=(
        Subcommand("new", open_new),
        Subcommand("list", list_projects),
        Subcommand("edit", open_edit, args=(CODE.required(),), who=PM),
        Subcommand("plan", open_plan, args=(CODE,), who=PLANNER),
        Subcommand(
            "checklist", show_checklist, args=(CODE, OPTIONAL_PHASE), who=READERS, tool=True
        ),
        Subcommand("phase", change_phase, args=(CODE, PHASE_OR_NEXT), who=PM),
        Subcommand("decisions", show_decisions, args=(CODE, WHAT), who=DECISION_READERS, tool=True),
        Subcommand("golive", show_gate, args=(CODE, GATE_WHAT), who=GATE_READERS, tool=True),
    ),
)


FORMS = (NEW_FORM, EDIT_FORM)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)

    clicks(app.action(Action.HOME_NEW_PROJECT), runtime)(open_new_from_home)
    clicks(app.action(Action.HOME_EDIT_PROJECT), runtime)(open_edit_from_home)


def open_new_from_home(click: Click) -> None:
    locale = person_locale(click.runtime, click.context, click.client)
    click.open(new_project_view(click.runtime, locale, click.user_id))


def open_edit_from_home(click: Click) -> None:
    with click.unit() as ctx:
        view = edit_project_view(ctx, PM.check(ctx, click.project(ctx)))
    click.open(view)
