"""Contacts outside Slack (`/keyuser touch` and the "Log contact" buttons) and the buttons of the
PM's weekly engagement nudge."""

from __future__ import annotations

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.errors import Msg, ValidationError
from bot.ids import EngagementId
from bot.runtime import Runtime
from bot.services import engagement as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import engagement as views
from handlers import listeners
from handlers.common import dm, request_id, unit, user_ids_in
from handlers.commplan import open_plan_modal
from handlers.home import publish_home
from handlers.listeners import Click, Form, FormCall, Right, clicks
from storage.models import Project

# Who logs a contact: the project's team (its PMs among them) and workspace admins.
CONTACTS = Right(
    "team",
    lambda ctx, project: project_service.is_team_member(ctx, project) or ctx.actor_is_admin,
    "engagement.errors.not_team",
)


def log_contact(ctx: Ctx, project: Project, user_id: str, kind: str, note: str) -> str:
    """Log a contact with a key user; the sentence that confirms it."""
    _, entry = service.log_contact(ctx=ctx, project=project, user_id=user_id, kind=kind, note=note)
    return views.logged_text(project.locale, project, user_id, kind, entry.detail["note"])


def touch_by_command(
    runtime: Runtime,
    client: WebClient,
    context: BoltContext,
    words: list[str],
    channel_id: str | None,
) -> str:
    """``/keyuser touch [CODE] @person [call|email|face_to_face] <note>``: log a contact."""
    mentions = [i for i, word in enumerate(words) if user_ids_in(word)]
    if len(mentions) != 1 or mentions[0] > 1:
        raise ValidationError({"text": Msg("engagement.errors.touch_usage")})
    position = mentions[0]
    code = words[0] if position == 1 else None
    user_id = user_ids_in(words[position])[0]
    rest = words[position + 1 :]
    kind = "call"
    if rest and service.normalize_kind(rest[0]):
        kind = service.normalize_kind(rest[0]) or kind
        rest = rest[1:]
    with unit(runtime, context, client) as ctx:
        project = service.find_project_for_touch(ctx, code, channel_id)
        text = log_contact(ctx, project, user_id, kind, " ".join(rest))
    publish_home(runtime, client, context.team_id or "", context.user_id or "")
    return text


def save_contact(call: FormCall, ctx: Ctx) -> str:
    person, kind, note = (call.values.get(name) or "" for name in ("user_id", "kind", "note"))
    return log_contact(ctx, call.project(ctx), person, kind, note)


def confirm_contact(call: FormCall, text: str) -> None:
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.refresh_home()


TOUCH_FORM = Form(
    EngagementId.TOUCH_MODAL,
    build=views.touch_modal,
    who=CONTACTS,
    submit=save_contact,
    after=confirm_contact,
)


FORMS = (TOUCH_FORM,)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, forms=FORMS)

    @clicks(app.action(EngagementId.LOG_CONTACT), runtime)
    def open_contact_form(call: Click) -> None:
        project_id, _, user_id = (call.action.get("value") or "").partition(":")
        with call.unit() as ctx:
            project = project_service.get_project_by_id(ctx, request_id(project_id))
            view = TOUCH_FORM.build(project.locale, CONTACTS.check(ctx, project), user_id or None)
        call.open(view)

    @clicks(app.action(EngagementId.HOME_PLAN), runtime)
    def open_plan_from_home(call: Click) -> None:
        project_id = request_id(call.action.get("value"))
        open_plan_modal(
            runtime, call.client, call.body["trigger_id"], call.context, project_id=project_id
        )
