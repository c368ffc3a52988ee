"""Contacts outside Slack (`/keyuser touch` and the "Log contact" buttons) and the buttons of the
PM's weekly engagement nudge."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.errors import LiaisonError, Msg, PermissionDenied, ValidationError
from bot.ids import EngagementId
from bot.runtime import Runtime
from bot.services import engagement as service
from bot.services import projects as project_service
from bot.views import common as ui
from bot.views import engagement as views
from handlers.common import dm, open_modal, refuse_form, request_id, unit, user_ids_in
from handlers.commplan import open_plan_modal
from handlers.home import publish_home


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
    note = " ".join(rest)
    with unit(runtime, context, client) as ctx:
        project = service.find_project_for_touch(ctx, code, channel_id)
        _, entry = service.log_contact(
            ctx=ctx, project=project, user_id=user_id, kind=kind, note=note
        )
        text = views.logged_text(project.locale, project, user_id, kind, entry.detail["note"])
    publish_home(runtime, client, context.team_id or "", context.user_id or "")
    return text


def _split(value: str) -> tuple[int, str | None]:
    project_id, _, user_id = (value or "").partition(":")
    return request_id(project_id), (user_id or None)


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings

    @app.action(EngagementId.LOG_CONTACT)
    def open_contact_form(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        project_id, user_id = _split(action.get("value") or "")
        with unit(runtime, context, client) as ctx:
            project = project_service.get_project_by_id(ctx, project_id)
            if not project_service.is_team_member(ctx, project) and not ctx.actor_is_admin:
                raise PermissionDenied(Msg("engagement.errors.not_team", code=project.code))
            view = views.touch_modal(project.locale, project, user_id)
        open_modal(client, body["trigger_id"], view)

    @app.view(EngagementId.TOUCH_MODAL)
    def save_contact(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        project_id = request_id(ui.read_metadata(view).get("project_id"))
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                project = project_service.get_project_by_id(ctx, project_id)
                locale = project.locale
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                user_id = values.get("user_id") or ""
                kind = values.get("kind") or ""
                _, entry = service.log_contact(
                    ctx=ctx,
                    project=project,
                    user_id=user_id,
                    kind=kind,
                    note=values.get("note") or "",
                )
                text = views.logged_text(locale, project, user_id, kind, entry.detail["note"])
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))
        publish_home(runtime, client, context.team_id or "", context.user_id or "")

    @app.action(EngagementId.HOME_PLAN)
    def open_plan_from_home(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        project_id = request_id(action.get("value"))
        open_plan_modal(runtime, client, body["trigger_id"], context, project_id=project_id)
