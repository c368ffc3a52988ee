"""`/keyuser` and its modals: add, edit, list the register, remove, export and import CSV."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.errors import LiaisonError, Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import t
from bot.ids import Action, Callback
from bot.runtime import Runtime
from bot.services import keyusers as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.slack_io import display_name, lookup_user, user_profile
from bot.views import common as ui
from bot.views import keyusers as views
from handlers.common import (
    dm,
    error_text,
    open_modal,
    person_locale,
    refuse_form,
    request_id,
    unit,
    user_ids_in,
)
from handlers.engagement import touch_by_command
from handlers.home import publish_home

log = logging.getLogger(__name__)
MAX_CSV_BYTES = 2_000_000


def keyuser_input(values: dict[str, Any]) -> service.KeyUserInput:
    return service.KeyUserInput(
        user_id=values.get("user_id") or "",
        role=values.get("role") or "",
        department=values.get("department") or "",
        module=values.get("module") or "",
        influence=values.get("influence") or "",
        interest=values.get("interest") or "",
        preferred_channel=values.get("preferred_channel") or "dm",
        cadence_days=values.get("cadence_days"),
        notes=values.get("notes") or "",
    )


class UserResolver:
    """Slack ids or emails to people, with one users.list for a whole file when emails are used."""

    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._by_email: dict[str, tuple[str, str | None]] | None = None

    def _load_directory(self) -> dict[str, tuple[str, str | None]]:
        directory: dict[str, tuple[str, str | None]] = {}
        for page in self.client.users_list(limit=200):
            for user in page.get("members", []):
                email = (user.get("profile") or {}).get("email")
                if email and not user.get("deleted") and not user.get("is_bot"):
                    directory[email.lower()] = (user["id"], display_name(user))
        return directory

    def __call__(self, who: str) -> tuple[str, str | None] | None:
        if "@" in who:
            if self._by_email is None:
                self._by_email = self._load_directory()
            return self._by_email.get(who.lower())
        return lookup_user(self.client, who)


class CsvDownloadFailed(Exception):
    """Slack's file could not be fetched (network, HTTP error)."""


def download_csv(url: str, token: str | None) -> str:
    """Fetch a CSV a user uploaded to Slack (``url_private_download`` needs the bot token)."""
    import requests  # only when someone uploads a CSV: kept out of the start-up

    try:
        response = requests.get(
            url, headers={"Authorization": f"Bearer {token}"}, timeout=20, stream=True
        )
        response.raise_for_status()
        content = response.raw.read(MAX_CSV_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise CsvDownloadFailed(str(error)) from error
    if len(content) > MAX_CSV_BYTES:
        raise ValidationError({"csv_file": Msg("errors.csv_too_big")})
    return content.decode("utf-8-sig", errors="replace")


SLACK_FILE_HOST = "https://files.slack.com/"


def uploaded_csv(client: WebClient, file_id: Any, user_id: str) -> str:
    """The text of a CSV this person uploaded, fetched from the URL Slack gives for the file id
    (never a URL taken from the request, which anyone could point anywhere with the bot token)."""
    if not isinstance(file_id, str) or not file_id:
        raise ValidationError({"csv_file": Msg("security.file_not_found")})
    try:
        record = client.files_info(file=file_id)["file"]
    except SlackApiError as error:
        raise ValidationError({"csv_file": Msg("security.file_not_found")}) from error
    if record.get("user") != user_id:
        raise PermissionDenied(Msg("security.not_yours"))
    url = record.get("url_private_download") or record.get("url_private") or ""
    if not url.startswith(SLACK_FILE_HOST):
        raise ValidationError({"csv_file": Msg("security.file_not_found")})
    return download_csv(url, client.token)


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings
    command_name = settings.command("keyuser")

    def usage(locale: str) -> str:
        return t(locale, "keyuser.usage", command=command_name)

    @app.command(command_name)
    def handle_keyuser_command(
        ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        words = (command.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        args = words[1:]
        codes = [w for w in args if not user_ids_in(w)]
        people = user_ids_in(" ".join(args))
        channel_id = command.get("channel_id")
        locale = person_locale(runtime, context, client)
        try:
            if verb == "add" and len(codes) <= 1:
                open_add_modal(
                    client, command["trigger_id"], context, codes[0] if codes else None, channel_id
                )
            elif verb == "list" and len(codes) <= 1:
                respond(
                    **register_message(context, client, codes[0] if codes else None, channel_id),
                    response_type="ephemeral",
                )
            elif verb == "edit" and len(people) == 1 and len(codes) <= 1:
                open_edit_modal(
                    client,
                    command["trigger_id"],
                    context,
                    codes[0] if codes else None,
                    channel_id,
                    people[0],
                )
            elif verb == "remove" and len(people) == 1 and len(codes) <= 1:
                respond(
                    text=remove(
                        context, client, codes[0] if codes else None, channel_id, people[0]
                    ),
                    response_type="ephemeral",
                )
            elif verb == "export" and len(codes) <= 1:
                respond(
                    text=export(context, client, codes[0] if codes else None, channel_id),
                    response_type="ephemeral",
                )
            elif verb == "touch":
                text = touch_by_command(runtime, client, context, args, channel_id)
                respond(text=text, response_type="ephemeral")
            elif verb == "import" and len(codes) <= 1:
                open_import_modal(
                    client, command["trigger_id"], context, codes[0] if codes else None, channel_id
                )
            else:
                respond(text=usage(locale), response_type="ephemeral")
        except LiaisonError as error:
            text = error_text(locale, error)
            if isinstance(error, NotFound):
                text += "\n" + usage(locale)
            respond(text=text, response_type="ephemeral")

    def open_add_modal(
        client: WebClient,
        trigger_id: str,
        context: BoltContext,
        code: str | None,
        channel_id: str | None,
        project_id: int | None = None,
    ) -> None:
        with unit(runtime, context, client) as ctx:
            project, projects = project_service.manageable_choice(
                ctx,
                _project(ctx, code, channel_id, project_id, required=False),
                project_command=settings.command("project"),
            )
            locale = project.locale if project else person_locale(runtime, context, client, ctx)
            view = views.keyuser_modal(locale, projects=projects, project=project)
        open_modal(client, trigger_id, view)

    def _project(
        ctx: Ctx,
        code: str | None,
        channel_id: str | None,
        project_id: int | None = None,
        *,
        required: bool = True,
    ) -> Any:
        if project_id is not None:
            return project_service.get_project_by_id(ctx, project_id)
        try:
            return project_service.resolve_project(ctx, code, channel_id)
        except NotFound:
            if required or code:
                raise
            return None

    def register_message(
        context: BoltContext, client: WebClient, code: str | None, channel_id: str | None
    ) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            project = _project(ctx, code, channel_id)
            grouped = service.register(ctx, project)
            manage = project_service.can_manage(ctx, project)
            return views.register_message(project.locale, project, grouped, manage=manage)

    def open_edit_modal(
        client: WebClient,
        trigger_id: str,
        context: BoltContext,
        code: str | None,
        channel_id: str | None,
        user_id: str,
    ) -> None:
        with unit(runtime, context, client) as ctx:
            project = _project(ctx, code, channel_id)
            project_service.require_pm(ctx, project)
            key_user = service.get_key_user(ctx, project, user_id)
            view = views.keyuser_modal(
                project.locale, projects=[project], project=project, key_user=key_user
            )
        open_modal(client, trigger_id, view)

    def remove(
        context: BoltContext,
        client: WebClient,
        code: str | None,
        channel_id: str | None,
        user_id: str,
    ) -> str:
        with unit(runtime, context, client) as ctx:
            project = _project(ctx, code, channel_id)
            key_user = service.get_key_user(ctx, project, user_id)
            service.remove_key_user(ctx=ctx, key_user=key_user)
            text = t(project.locale, "keyuser.removed", user=user_id, code=project.code)
        publish_home(runtime, client, context.team_id or "", context.user_id or "")
        return text

    def export(
        context: BoltContext, client: WebClient, code: str | None, channel_id: str | None
    ) -> str:
        with unit(runtime, context, client) as ctx:
            project = _project(ctx, code, channel_id)
            content = service.export_csv(ctx=ctx, project=project)
            locale, project_code = project.locale, project.code
            today = ctx.now().date().isoformat()
        dm_channel = client.conversations_open(users=context.user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=dm_channel,
            content=content,
            filename=f"{project_code}-key-users-{today}.csv",
            title=t(locale, "keyuser.export_title", code=project_code),
            initial_comment=t(locale, "keyuser.export_comment", code=project_code),
        )
        return t(locale, "keyuser.exported", code=project_code)

    def open_import_modal(
        client: WebClient,
        trigger_id: str,
        context: BoltContext,
        code: str | None,
        channel_id: str | None,
    ) -> None:
        with unit(runtime, context, client) as ctx:
            project = _project(ctx, code, channel_id)
            project_service.require_pm(ctx, project)
            view = views.import_modal(project.locale, project)
        open_modal(client, trigger_id, view)

    @app.action(Action.HOME_ADD_KEYUSER)
    def open_add_modal_from_home(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        project_id = request_id(action.get("value"))
        open_add_modal(client, body["trigger_id"], context, None, None, project_id)

    @app.action(Action.HOME_SHOW_REGISTER)
    def show_register_from_home(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        with unit(runtime, context, client) as ctx:
            project = project_service.get_project_by_id(ctx, request_id(action.get("value")))
            grouped = service.register(ctx, project)
            message = views.register_message(project.locale, project, grouped, manage=True)
            title = project.code
        open_modal(
            client,
            body["trigger_id"],
            ui.modal(
                callback_id="register_view",
                title=title,
                close=t(project.locale, "common.close"),
                blocks=[ui.section(t(project.locale, "keyuser.register_modal_intro"))]
                + _as_blocks(message),
            ),
        )

    @app.view(Callback.KEYUSER_ADD)
    def save_new_key_user(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        metadata = ui.read_metadata(view)
        data = keyuser_input(values)
        project_id = metadata.get("project_id") or values.get("project")
        locale = person_locale(runtime, context, client)
        try:
            profile = user_profile(client, data.user_id) if data.user_id else None
            if profile is not None and (profile.get("is_bot") or profile.get("deleted")):
                raise ValidationError({"user_id": Msg("errors.user_not_person")})
            data.display_name = display_name(profile) if profile else None
            with unit(runtime, context, client) as ctx:
                if not project_id:
                    raise ValidationError({"project": Msg("errors.required")})
                project = project_service.get_project_by_id(ctx, request_id(project_id))
                locale = project.locale
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                key_user = service.add_key_user(ctx=ctx, project=project, data=data)
                quadrant = service.quadrant(key_user.influence, key_user.interest)
                entry_text = t(
                    locale,
                    "keyuser.added",
                    user=key_user.user_id,
                    code=project.code,
                    role=views.role_label(locale, key_user.role),
                    quadrant=t(locale, f"quadrants.{quadrant.value}"),
                    cadence=service.cadence_days(key_user),
                )
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        dm(client, context.user_id or "", ui.message(entry_text, [ui.section(entry_text)]))
        publish_home(runtime, client, context.team_id or "", context.user_id or "")

    @app.view(Callback.KEYUSER_EDIT)
    def save_edited_key_user(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        key_user_id = ui.read_metadata(view).get("key_user_id")
        data = keyuser_input(values)
        locale = person_locale(runtime, context, client)
        try:
            with unit(runtime, context, client) as ctx:
                key_user = service.get_key_user_by_id(ctx, request_id(key_user_id))
                project = project_service.get_project_by_id(ctx, key_user.project_id)
                locale = project.locale
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                service.update_key_user(ctx=ctx, key_user=key_user, data=data)
                text = t(locale, "keyuser.updated", user=key_user.user_id, code=project.code)
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))
        publish_home(runtime, client, context.team_id or "", context.user_id or "")

    @app.view(Callback.KEYUSER_IMPORT)
    def import_key_users(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        project_id = request_id(ui.read_metadata(view).get("project_id"))
        files = values.get("csv_file") or []
        pasted = (values.get("csv") or "").strip()
        locale = person_locale(runtime, context, client)
        try:
            with unit(runtime, context, client) as ctx:
                project = project_service.get_project_by_id(ctx, project_id)
                locale = project.locale
                project_service.require_pm(ctx, project)  # before anything is fetched
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        if not files and not pasted:
            ack(
                response_action="errors",
                errors={"csv": t(locale, "errors.csv_missing")},
            )
            return
        # Downloading and resolving people can take longer than Slack's 3 seconds: close the
        # modal now and send the report as a DM when done.
        ack()
        try:
            user_id = context.user_id or ""
            text = uploaded_csv(client, (files[0] or {}).get("id"), user_id) if files else pasted
            with unit(runtime, context, client) as ctx:
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    return
                project = project_service.get_project_by_id(ctx, project_id)
                report = service.import_csv(
                    ctx=ctx, project=project, text=text, resolve_user=UserResolver(client)
                )
                message = views.import_report(locale, project, report)
        except (LiaisonError, SlackApiError, CsvDownloadFailed) as error:
            if isinstance(error, CsvDownloadFailed):
                log.warning("CSV download failed: %s", error)
                reason = t(locale, "errors.csv_download")
            else:
                reason = error_text(locale, error)
            dm(client, context.user_id or "", ui.message(reason, [ui.section(reason)]))
            return
        dm(client, context.user_id or "", message)
        publish_home(runtime, client, context.team_id or "", context.user_id or "")


def _as_blocks(message: dict[str, Any]) -> list[Any]:
    return [Block.parse(block) for block in message.get("blocks", [])]
