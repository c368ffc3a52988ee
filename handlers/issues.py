"""`/issue`, the "Log as key-user issue" message shortcut, the issue modals and every issue button
(on the issue message, in DMs, in the Home tab)."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import LiaisonError, Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import t
from bot.ids import IssueId
from bot.jobs import issues as notices
from bot.runtime import Runtime
from bot.services import fields
from bot.services import issues as service
from bot.services import projects as project_service
from bot.slack_io import slack_error_code
from bot.views import common as ui
from bot.views import issues as views
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
from handlers.home import publish_home

log = logging.getLogger(__name__)
DO_ACTION = re.compile("^" + re.escape(IssueId.DO_PREFIX) + r"(\w+)$")
RATE_ACTION = re.compile("^" + re.escape(IssueId.RATE) + r"_([1-5])$")
PAGE_ACTION = re.compile("^" + re.escape(IssueId.LIST_PAGE) + r"_(prev|next)$")


def issue_input(values: dict[str, Any]) -> service.IssueInput:
    return service.IssueInput(
        title=values.get("title") or "",
        description=values.get("description") or "",
        kind=values.get("kind") or "",
        module=values.get("module") or "",
        priority=values.get("priority") or "",
        reporter_id=values.get("reporter_id"),
        owner_id=values.get("owner_id"),
        due_date=values.get("due_date"),
    )


def permalink(client: WebClient, channel: str | None, ts: str | None) -> str | None:
    """A message's permalink; None (logged) when Slack will not give it, the issue stands anyway."""
    if not channel or not ts:
        return None
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except SlackApiError as error:
        log.warning("chat.getPermalink failed: %s", slack_error_code(error))
        return None


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings
    command_name = settings.command("issue")

    def usage(locale: str) -> str:
        return t(locale, "issues.usage", command=command_name)

    # ------------------------------------------------------------------------ the command

    @app.command(command_name)
    def handle_issue_command(
        ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        text = (command.get("text") or "").strip()
        words = text.split()
        first = words[0].lower() if words else "help"
        channel_id = command.get("channel_id")
        locale = person_locale(runtime, context, client)
        try:
            if first == "new" and len(words) <= 2:
                open_new_modal(
                    client,
                    command["trigger_id"],
                    context,
                    channel_id,
                    code=words[1] if len(words) == 2 else None,
                )
            elif first == "list":
                respond(**list_answer(context, client, words[1:], 1), response_type="ephemeral")
            elif first == "sla":
                respond(
                    text=service_levels(context, client, words[1:], channel_id),
                    response_type="ephemeral",
                )
            elif first == "export" and len(words) <= 2:
                respond(
                    text=export(context, client, words[1] if len(words) == 2 else None, channel_id),
                    response_type="ephemeral",
                )
            elif service.ISSUE_KEY_RE.match(words[0] if words else ""):
                respond(**act_by_command(context, client, text), response_type="ephemeral")
            else:
                respond(text=usage(locale), response_type="ephemeral")
        except LiaisonError as error:
            message = error_text(locale, error)
            if isinstance(error, ValidationError):
                message += "\n" + usage(locale)
            respond(text=message, response_type="ephemeral")

    def act_by_command(context: BoltContext, client: WebClient, text: str) -> dict[str, Any]:
        parts = text.split(maxsplit=2)
        key = parts[0]
        verb = (
            service.VERB_ALIASES.get(parts[1].lower(), parts[1].lower()) if len(parts) > 1 else ""
        )
        rest = parts[2] if len(parts) > 2 else ""
        if not verb:
            with unit(runtime, context, client) as ctx:
                issue, project = service.find_issue(ctx, key)
                verbs = service.allowed_verbs(ctx, project, issue)
                return views.issue_message(
                    project.locale, project, issue, [v for v in verbs if v != service.Verb.DELETE]
                )
        kwargs: dict[str, Any] = {}
        if verb == service.Verb.ASSIGN:
            people = user_ids_in(rest)
            if len(people) != 1:
                raise ValidationError({"owner_id": Msg("issues.errors.assign_usage")})
            kwargs["owner_id"] = people[0]
        elif verb == service.Verb.PRIORITY:
            kwargs["priority"] = rest
        elif verb == service.Verb.DUE:
            kwargs["due_date"] = rest
        elif verb in service.ALL_VERBS:
            kwargs["text"] = rest
        else:
            raise ValidationError({"verb": Msg("issues.errors.unknown_verb", verb=verb)})
        text_out = perform(context, client, key=key, verb=verb, **kwargs)
        return {"text": text_out}

    def perform(
        context: BoltContext,
        client: WebClient,
        *,
        verb: str,
        key: str | None = None,
        issue_id: int | None = None,
        expected_version: int | None = None,
        **kwargs: Any,
    ) -> str:
        """Apply a change, deliver what it says, refresh the actor's Home; the answer for them."""
        team_id = context.team_id or ""
        with unit(runtime, context, client) as ctx:
            if key is not None:
                issue, project = service.find_issue(ctx, key)
            else:
                issue, project = service.get_issue(ctx, issue_id or 0)
                if not service.can_see(ctx, project, issue):
                    raise NotFound(Msg("issues.errors.not_found", ref=str(issue_id)))
            change = service.apply(
                ctx=ctx,
                issue=issue,
                project=project,
                verb=verb,
                expected_version=expected_version,
                **kwargs,
            )
            if change is None:
                return ""
            channel, ts = notices.message_ref(ctx, issue)
            link = permalink(client, channel, ts)
            keys = notices.announce_change(ctx, change, link)
            answer = views.change_confirmation(project.locale, project, issue, change.history)
        notices.deliver(runtime, team_id, keys)
        publish_home(runtime, client, team_id, context.user_id or "")
        return answer

    # ------------------------------------------------------------------------- logging

    def open_new_modal(
        client: WebClient,
        trigger_id: str,
        context: BoltContext,
        channel_id: str | None,
        *,
        code: str | None = None,
        project_id: int | None = None,
        defaults: service.IssueInput | None = None,
        source: dict[str, Any] | None = None,
    ) -> None:
        with unit(runtime, context, client) as ctx:
            project = None
            if project_id:
                project = project_service.get_project_by_id(ctx, project_id)
            elif code:
                project = project_service.get_project(ctx, code)
            else:
                project = project_service.project_for_channel(ctx, channel_id)
            if project is not None:
                if not service.can_log(ctx, project):
                    raise PermissionDenied(Msg("issues.errors.cannot_log", code=project.code))
                projects = [project]
            else:
                projects = [
                    p for p in project_service.list_projects(ctx) if service.can_log(ctx, p)
                ]
                if not projects:
                    raise NotFound(Msg("issues.errors.no_projects"))
                if len(projects) == 1:
                    project = projects[0]
            reporter_choice = any(
                service.roles_of(ctx, p, None, ctx.actor_id) & {"pm", "team"} for p in projects
            )
            data = defaults or service.IssueInput()
            data.reporter_id = ctx.actor_id
            locale = project.locale if project else person_locale(runtime, context, client, ctx)
            view = views.new_issue_modal(
                locale,
                projects=projects,
                project=project,
                defaults=data,
                reporter_choice=reporter_choice,
                source=source,
            )
        open_modal(client, trigger_id, view)

    @app.shortcut(IssueId.LOG_FROM_MESSAGE)
    def log_issue_from_message(
        ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        message = body.get("message") or {}
        text = (message.get("text") or "").strip()
        first_line = text.splitlines()[0] if text else ""
        channel_id = (body.get("channel") or {}).get("id")
        defaults = service.IssueInput(
            title=ui.clip(first_line, 150), description=ui.clip(text, 3000)
        )
        try:
            open_new_modal(
                client,
                body["trigger_id"],
                context,
                channel_id,
                defaults=defaults,
                source={"channel": channel_id, "ts": message.get("ts") or body.get("message_ts")},
            )
        except LiaisonError as error:
            respond(
                text=error_text(person_locale(runtime, context, client), error),
                response_type="ephemeral",
            )

    @app.action(IssueId.HOME_LOG)
    def log_issue_from_home(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        value = action.get("value") or ""
        open_new_modal(
            client,
            body["trigger_id"],
            context,
            None,
            project_id=fields.record_id(value),
        )

    @app.view(IssueId.NEW_MODAL)
    def save_new_issue(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        metadata = ui.read_metadata(view)
        data = issue_input(values)
        locale = person_locale(runtime, context, client)
        team_id = context.team_id or ""
        project_id = metadata.get("project_id") or values.get("project")
        data.source_permalink = permalink(client, metadata.get("channel"), metadata.get("ts"))
        try:
            with unit(runtime, context, client) as ctx:
                if not project_id:
                    raise ValidationError({"project": Msg("errors.required")})
                project = project_service.get_project_by_id(ctx, request_id(project_id))
                locale = project.locale
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                change = service.create_issue(ctx=ctx, project=project, data=data)
                keys = notices.announce_created(ctx, change)
                issue_id, reporter = change.issue.id, change.issue.reporter_id
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        notices.deliver(runtime, team_id, keys)
        # The issue's message now has a ts: link the reporter's confirmation to it.
        with unit(runtime, context, client) as ctx:
            issue, project = service.get_issue(ctx, issue_id or 0)
            channel, ts = notices.message_ref(ctx, issue)
        link = permalink(client, channel, ts)
        with unit(runtime, context, client) as ctx:
            issue, project = service.get_issue(ctx, issue_id or 0)
            keys = notices.confirm_created(ctx, issue, project, link)
        notices.deliver(runtime, team_id, keys)
        for person in dict.fromkeys([context.user_id or "", reporter]):
            publish_home(runtime, client, team_id, person)

    # ------------------------------------------------------------------------- changes

    def tell(body: dict[str, Any], client: WebClient, respond: Respond, text: str) -> None:
        """An answer only the clicking person sees: ephemeral in a channel, else a DM."""
        if not text:
            return
        if body.get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
        else:
            dm(client, (body.get("user") or {}).get("id", ""), ui.message(text, [ui.section(text)]))

    @app.action(DO_ACTION)
    def act_on_issue(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        verb = action["action_id"][len(IssueId.DO_PREFIX) :]
        issue_id, _, version = (action.get("value") or "").partition(":")
        locale = person_locale(runtime, context, client)
        try:
            if verb in service.VERBS_WITH_INPUT:
                with unit(runtime, context, client) as ctx:
                    issue, project = service.get_issue(ctx, request_id(issue_id))
                    locale = project.locale
                    reason = service.refusal(ctx, project, issue, verb)
                    if reason is not None:
                        raise PermissionDenied(reason)
                    modal = views.action_modal(locale, project, issue, verb)
                if (body.get("container") or {}).get("type") == "view":
                    client.views_push(trigger_id=body["trigger_id"], view=modal)
                else:
                    open_modal(client, body["trigger_id"], modal)
                return
            answer = perform(
                context,
                client,
                verb=verb,
                issue_id=request_id(issue_id),
                expected_version=fields.whole_number(version),
            )
            tell(body, client, respond, answer)
        except LiaisonError as error:
            tell(body, client, respond, error_text(locale, error))

    @app.view(IssueId.ACTION_MODAL)
    def save_issue_change(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        metadata = ui.read_metadata(view)
        verb = str(metadata.get("verb") or "")
        locale = person_locale(runtime, context, client)
        kwargs: dict[str, Any] = {}
        if verb == service.Verb.ASSIGN:
            kwargs["owner_id"] = values.get("owner_id")
        elif verb == service.Verb.PRIORITY:
            kwargs["priority"] = values.get("priority")
        elif verb == service.Verb.DUE:
            kwargs["due_date"] = values.get("due_date")
        else:
            kwargs["text"] = values.get("text") or values.get("resolution") or ""
        team_id = context.team_id or ""
        try:
            with unit(runtime, context, client) as ctx:
                issue, project = service.get_issue(ctx, request_id(metadata.get("issue_id")))
                locale = project.locale
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                change = service.apply(ctx=ctx, issue=issue, project=project, verb=verb, **kwargs)
                keys: list[str] = []
                if change is not None:
                    channel, ts = notices.message_ref(ctx, issue)
                    keys = notices.announce_change(ctx, change, permalink(client, channel, ts))
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        notices.deliver(runtime, team_id, keys)
        publish_home(runtime, client, team_id, context.user_id or "")

    # --------------------------------------------------------------------------- rating

    @app.action(RATE_ACTION)
    def rate_resolution(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        issue_id, _, rating = (action.get("value") or "").partition(":")
        try:
            rated = fields.whole_number(rating) or 0  # out of range: the service says so
            thanks, keys = save_rating(context, client, request_id(issue_id), rated, "")
        except LiaisonError as error:
            tell(body, client, respond, error_text(person_locale(runtime, context, client), error))
            return
        if thanks is not None:
            respond(replace_original=True, **thanks)
        notices.deliver(runtime, context.team_id or "", keys)

    def save_rating(
        context: BoltContext, client: WebClient, issue_id: int, rating: int, comment: str
    ) -> tuple[dict[str, Any] | None, list[str]]:
        with unit(runtime, context, client) as ctx:
            issue, project = service.get_issue(ctx, issue_id)
            change = service.rate(
                ctx=ctx, issue=issue, project=project, rating=rating, comment=comment
            )
            if change is None:
                return None, []
            keys = notices.announce_change(ctx, change)
            return views.rated_message(project.locale, project, issue), keys

    @app.action(IssueId.RATE_COMMENT)
    def open_rating_modal(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        with unit(runtime, context, client) as ctx:
            issue, project = service.get_issue(ctx, request_id(action.get("value")))
            if ctx.actor_id != issue.reporter_id:  # the value may be forged: show nothing
                raise PermissionDenied(
                    Msg("issues.refused.rate_not_reporter", ref=service.issue_key(project, issue))
                )
            modal = views.rating_modal(project.locale, project, issue, issue.rating)
        open_modal(client, body["trigger_id"], modal)

    @app.view(IssueId.RATING_MODAL)
    def save_rating_comment(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        issue_id = request_id(ui.read_metadata(view).get("issue_id"))
        locale = person_locale(runtime, context, client)
        try:
            with unit(runtime, context, client) as ctx:
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
            _, keys = save_rating(
                context,
                client,
                issue_id,
                fields.whole_number(values.get("rating")) or 0,
                values.get("comment") or "",
            )
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        notices.deliver(runtime, context.team_id or "", keys)

    @app.action(IssueId.RATE_REOPEN)
    def reopen_from_rating(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        issue_id, _, version = (action.get("value") or "").partition(":")
        try:
            answer = perform(
                context,
                client,
                verb=service.Verb.REOPEN,
                issue_id=request_id(issue_id),
                expected_version=fields.whole_number(version),
            )
        except LiaisonError as error:
            answer = error_text(person_locale(runtime, context, client), error)
        tell(body, client, respond, answer)

    # ------------------------------------------------------------------ reminders' snooze

    def snooze(context: BoltContext, client: WebClient, ids: str, until: date | str | None) -> str:
        issue_ids = [ident for ident in map(fields.record_id, ids.split(",")) if ident]
        with unit(runtime, context, client) as ctx:
            snoozed = service.snooze(ctx=ctx, issue_ids=issue_ids, until=until)
            locale = person_locale(runtime, context, client, ctx)
            if snoozed:
                locale = project_service.get_project_by_id(ctx, snoozed[0].project_id).locale
            day = snoozed[0].snoozed_until if snoozed else until
            return t(locale, "issues.reminder.snoozed", count=len(snoozed), until=str(day or ""))

    @app.action(IssueId.REMIND_TOMORROW)
    def remind_tomorrow(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        try:
            text = snooze(context, client, action.get("value") or "", None)
        except LiaisonError as error:
            text = error_text(person_locale(runtime, context, client), error)
        respond(text=text, replace_original=False, response_type="ephemeral")

    @app.action(IssueId.SNOOZE_UNTIL)
    def snooze_until(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        ids = (action.get("block_id") or "").partition(":")[2]
        try:
            text = snooze(context, client, ids, action.get("selected_date") or "")
        except LiaisonError as error:
            text = error_text(person_locale(runtime, context, client), error)
        respond(text=text, replace_original=False, response_type="ephemeral")

    # ----------------------------------------------------------------- lists and export

    def list_answer(
        context: BoltContext, client: WebClient, words: list[str], page: int
    ) -> dict[str, Any]:
        query = service.parse_list_query(words)
        with unit(runtime, context, client) as ctx:
            found = service.list_issues(ctx, query, page=page, page_size=views.LIST_PAGE_SIZE)
            locale = (
                found.items[0][1].locale
                if found.items
                else person_locale(runtime, context, client, ctx)
            )
            return views.list_message(locale, found, query, " ".join(words), ctx.now())

    @app.action(PAGE_ACTION)
    def turn_list_page(
        ack: Ack, action: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        page, _, raw = (action.get("value") or "1|").partition("|")
        try:
            answer = list_answer(context, client, raw.split(), fields.whole_number(page) or 1)
        except LiaisonError as error:
            answer = {"text": error_text(person_locale(runtime, context, client), error)}
        respond(replace_original=True, **answer)

    def service_levels(
        context: BoltContext, client: WebClient, words: list[str], channel_id: str | None
    ) -> str:
        """Show a project's service levels, or change them (its PMs): ``sla ERP P1=4h/2d``."""
        code = words[0] if words and "=" not in words[0] else None
        changes = words[1:] if code else words
        with unit(runtime, context, client) as ctx:
            project = project_service.resolve_project(ctx, code, channel_id)
            if changes:
                first, days, auto_close = service.parse_service_level_words(changes)
                levels = service.set_service_levels(
                    ctx=ctx,
                    project=project,
                    first_response_hours=first,
                    resolution_days=days,
                    auto_close_days=auto_close,
                )
            else:
                project_service.require_team(ctx, project, "service_levels")
                levels = service.service_levels(ctx, project)
            return views.service_levels_text(project.locale, project, levels, changed=bool(changes))

    def export(
        context: BoltContext, client: WebClient, code: str | None, channel_id: str | None
    ) -> str:
        with unit(runtime, context, client) as ctx:
            project = project_service.resolve_project(ctx, code, channel_id)
            content = service.export_csv(ctx, project)
            locale, project_code = project.locale, project.code
            today = service.local_today(project, ctx.now()).isoformat()
        dm_channel = client.conversations_open(users=context.user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=dm_channel,
            content=content,
            filename=f"{project_code}-issues-{today}.csv",
            title=t(locale, "issues.export_title", code=project_code),
            initial_comment=t(locale, "issues.export_comment", code=project_code),
        )
        return t(locale, "issues.exported", code=project_code)

    # ---------------------------------------------------------------------- the Home tab

    @app.action(IssueId.HOME_OPEN)
    def open_issue_from_home(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        with unit(runtime, context, client) as ctx:
            issue, project = service.get_issue(ctx, request_id(action.get("value")))
            if not service.can_see(ctx, project, issue):
                raise NotFound(Msg("issues.errors.not_found", ref=str(issue.id)))
            modal = views.issue_detail_modal(
                project.locale,
                project,
                issue,
                service.allowed_verbs(ctx, project, issue),
                service.history(ctx, issue),
            )
        open_modal(client, body["trigger_id"], modal)


__all__ = ["register"]
