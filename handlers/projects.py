"""`/project` and the project modal: create, list, edit, change phase."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import LiaisonError, ValidationError
from bot.i18n import t
from bot.ids import Action, Callback
from bot.runtime import Runtime
from bot.services import fields
from bot.services import keyusers as keyuser_service
from bot.services import projects as service
from bot.slack_io import slack_error_code
from bot.views import common as ui
from bot.views import projects as views
from handlers.common import (
    error_text,
    open_modal,
    person_locale,
    refuse_form,
    request_id,
    slack_error_text,
    unit,
)
from handlers.commplan import open_plan_modal
from handlers.home import publish_home
from storage.models.core import MemberRole


def usage(locale: str, command: str) -> str:
    return t(locale, "project.usage", command=command)


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
    )


def announce_in_channel(
    client: WebClient, runtime: Runtime, project_locale: str, channel_id: str, text: str
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


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings
    command_name = settings.command("project")

    @app.command(command_name)
    def handle_project_command(
        ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        words = (command.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        locale = person_locale(runtime, context, client)
        try:
            if verb == "new":
                open_new_project_modal(client, command["trigger_id"], context)
            elif verb == "list":
                respond(**list_projects(context, client), response_type="ephemeral")
            elif verb == "edit" and len(words) == 2:
                open_edit_project_modal(client, command["trigger_id"], context, code=words[1])
            elif verb == "plan" and len(words) <= 2:
                open_plan_modal(
                    runtime,
                    client,
                    command["trigger_id"],
                    context,
                    code=words[1] if len(words) == 2 else None,
                    channel_id=command.get("channel_id"),
                )
            elif verb == "phase" and len(words) >= 3:
                with unit(runtime, context, client) as ctx:
                    project = service.get_project(ctx, words[1])
                    service.set_phase(ctx=ctx, project=project, phase="_".join(words[2:]))
                    text = t(
                        project.locale,
                        "project.phase_changed",
                        code=project.code,
                        phase=views.phase_label(project.locale, project.phase),
                    )
                respond(text=text, response_type="ephemeral")
            else:
                respond(text=usage(locale, command_name), response_type="ephemeral")
        except LiaisonError as error:
            text = error_text(locale, error)
            if isinstance(error, ValidationError) and verb == "phase":
                text += "\n" + usage(locale, command_name)
            respond(text=text, response_type="ephemeral")

    def list_projects(context: BoltContext, client: WebClient) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            rows = []
            for project in service.list_projects(ctx):
                rows.append(
                    (
                        project,
                        service.pm_ids(ctx, project),
                        len(keyuser_service.active_key_users(ctx, project)),
                    )
                )
            return views.project_list(person_locale(runtime, context, client, ctx), rows)

    def open_new_project_modal(client: WebClient, trigger_id: str, context: BoltContext) -> None:
        view = views.project_modal(
            person_locale(runtime, context, client),
            pm_ids=[context.user_id] if context.user_id else [],
            default_timezone=settings.timezone,
            default_locale=settings.locale,
        )
        open_modal(client, trigger_id, view)

    def open_edit_project_modal(
        client: WebClient,
        trigger_id: str,
        context: BoltContext,
        *,
        code: str | None = None,
        project_id: int | None = None,
    ) -> None:
        with unit(runtime, context, client) as ctx:
            project = (
                service.get_project(ctx, code or "")
                if project_id is None
                else service.get_project_by_id(ctx, project_id)
            )
            service.require_pm(ctx, project)
            view = views.project_modal(
                project.locale,
                project=project,
                pm_ids=service.pm_ids(ctx, project),
                team_ids=service.member_ids(ctx, project, MemberRole.TEAM),
            )
        open_modal(client, trigger_id, view)

    @app.action(Action.HOME_NEW_PROJECT)
    def open_project_modal_from_home(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        ack()
        open_new_project_modal(client, body["trigger_id"], context)

    @app.action(Action.HOME_EDIT_PROJECT)
    def open_edit_modal_from_home(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        project_id = request_id(action.get("value"))
        open_edit_project_modal(client, body["trigger_id"], context, project_id=project_id)

    @app.view(Callback.PROJECT_NEW)
    def save_new_project(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        save_project(ack, view, client, context, project_id=None)

    @app.view(Callback.PROJECT_EDIT)
    def save_edited_project(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        project_id = ui.read_metadata(view).get("project_id")
        save_project(ack, view, client, context, project_id=project_id)

    def save_project(
        ack: Ack,
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        *,
        project_id: int | None,
    ) -> None:
        data = project_input(ui.read_values(view))
        locale = (
            data.locale
            if data.locale in ("en", "zh-CN")
            else person_locale(runtime, context, client)
        )
        try:
            with unit(runtime, context, client) as ctx:
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                if project_id is None:
                    project = service.create_project(ctx=ctx, data=data)
                    old_channel = None
                else:
                    project = service.get_project_by_id(ctx, project_id)
                    old_channel = project.channel_id
                    service.update_project(ctx=ctx, project=project, data=data)
                pms = service.pm_ids(ctx, project)
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        created = project_id is None
        confirmation = views.project_saved(project.locale, project, pms, created=created)
        if project.channel_id and project.channel_id != old_channel:
            problem = announce_in_channel(
                client,
                runtime,
                project.locale,
                project.channel_id,
                t(
                    project.locale,
                    "project.channel_hello",
                    code=project.code,
                    name=project.name,
                    posts=ui.channel_posts(project.locale),
                ),
            )
            if problem:
                confirmation = ui.message(
                    confirmation["text"],
                    [
                        ui.section(confirmation["text"]),
                        ui.section(
                            t(project.locale, "project.channel_problem", channel=project.channel_id)
                            + "\n"
                            + problem
                        ),
                    ],
                )
        client.chat_postMessage(channel=context.user_id, **confirmation)
        for pm in pms:
            publish_home(runtime, client, context.team_id or "", pm)
