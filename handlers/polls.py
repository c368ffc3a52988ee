"""`/poll` and its modals (create in steps, answer), the DM buttons, results and CSV export."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import charts
from bot.errors import LiaisonError, Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain, slack_date, t
from bot.ids import PollId
from bot.runtime import Runtime
from bot.services import fields, poll_results
from bot.services import polls as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import polls as views
from handlers.common import (
    dm,
    error_text,
    open_modal,
    person_locale,
    refuse_form,
    request_id,
    respond_error,
    unit,
    update_sent,
    view_errors,
)
from handlers.home import publish_home
from storage.models import Poll, PollStatus, Project

RATE_ACTION = re.compile("^" + re.escape(PollId.RATE_PREFIX))
METADATA_LIMIT = 3000


def settings_draft(values: dict[str, Any], project_id: int, locale: str) -> dict[str, Any]:
    """Step 1's answers as the compact draft carried in the next modals' private_metadata."""
    template = values.get("template")
    template = template if template and template != "none" else None
    title = (values.get("title") or "").strip()
    if not title and template in service.TEMPLATES:  # another is refused with the settings
        title = plain(locale, f"poll.template.{template}")
    questions = service.template_questions(locale, template)
    return {
        "p": project_id,
        "s": {
            "title": title,
            "intro": values.get("intro") or "",
            "template": template,
            "ak": values.get("audience_kind") or "all",
            "roles": values.get("audience_roles") or [],
            "quadrants": values.get("audience_quadrants") or [],
            "people": values.get("audience_people") or [],
            "anonymous": values.get("anonymous") == "yes",
            "opens": values.get("opens_at"),
            "closes": values.get("closes_at"),
            "recurrence": values.get("recurrence") or "none",
            "remind": fields.whole_number(values.get("remind_hours")) or 0,
        },
        "q": [q.compact() for q in questions],
    }


def poll_input(draft: dict[str, Any]) -> service.PollInput:
    """The poll the draft in the form's private_metadata describes (written by step 1). A draft
    of another shape did not come from this form: it is refused as unreadable."""
    try:
        s = draft["s"]
        return service.PollInput(
            title=str(s["title"]),
            intro=str(s["intro"]),
            template=str(s["template"]) if s["template"] is not None else None,
            audience_kind=str(s["ak"]),
            audience_roles=[str(role) for role in s["roles"]],
            audience_quadrants=[str(quadrant) for quadrant in s["quadrants"]],
            audience_people=[str(person) for person in s["people"]],
            anonymous=bool(s["anonymous"]),
            opens_at=fields.moment(s["opens"]),
            closes_at=fields.moment(s["closes"]),
            recurrence=str(s["recurrence"]),
            remind_hours=fields.whole_number(s["remind"]) or None,
            questions=[service.QuestionInput.from_compact(q) for q in draft.get("q") or []],
        )
    except (KeyError, TypeError, AttributeError):
        raise ValidationError({"": Msg("security.form_unreadable")}) from None


def question_input(values: dict[str, Any]) -> service.QuestionInput:
    options = [line for line in (values.get("question_options") or "").splitlines() if line.strip()]
    return service.QuestionInput(
        kind=values.get("question_kind") or "rating",
        text=values.get("question_text") or "",
        options=options,
        required=values.get("question_required") != "no",
    )


def answers_from_view(view: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in ui.read_values(view).items() if key.startswith("q")}


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings
    command_name = settings.command("poll")

    def deliver(team_id: str, keys: list[str]) -> None:
        if keys:
            runtime.sender().deliver_due(team_id=team_id, keys=keys)

    @app.command(command_name)
    def handle_poll_command(
        ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        words = (command.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        args = words[1:]
        channel_id = command.get("channel_id")
        locale = person_locale(runtime, context, client)
        try:
            if verb == "new" and len(args) <= 1:
                open_new_poll_modal(client, command["trigger_id"], context, args, channel_id)
            elif verb == "list" and len(args) <= 1:
                respond(**list_polls(context, client, args, channel_id), response_type="ephemeral")
            elif verb == "close" and 1 <= len(args) <= 2:
                poll_id = numbered(context, client, args, channel_id)
                respond(text=close_poll(context, client, poll_id), response_type="ephemeral")
            elif verb == "results" and 1 <= len(args) <= 2:
                poll_id = numbered(context, client, args, channel_id)
                respond(**show_results(context, client, poll_id), response_type="ephemeral")
            elif verb == "export" and 1 <= len(args) <= 2:
                poll_id = numbered(context, client, args, channel_id)
                respond(text=export(context, client, poll_id), response_type="ephemeral")
            else:
                respond(
                    text=t(locale, "poll.usage", command=command_name), response_type="ephemeral"
                )
        except LiaisonError as error:
            text = error_text(locale, error)
            if isinstance(error, NotFound):
                text += "\n" + t(locale, "poll.usage", command=command_name)
            respond(text=text, response_type="ephemeral")

    def numbered(
        context: BoltContext, client: WebClient, args: list[str], channel_id: str | None
    ) -> str:
        """`[CODE] 3`: the id of the project's poll number 3 (as `/poll list` shows it)."""
        with unit(runtime, context, client) as ctx:
            code = args[0] if len(args) == 2 else None
            project = project_service.resolve_project(ctx, code, channel_id)
            return str(service.by_number(ctx, project, args[-1]).id)

    def _project(ctx: Ctx, args: list[str], channel_id: str | None) -> Project | None:
        try:
            return project_service.resolve_project(ctx, args[0] if args else None, channel_id)
        except NotFound:
            if args:
                raise
            return None

    def open_new_poll_modal(
        client: WebClient,
        trigger_id: str,
        context: BoltContext,
        args: list[str],
        channel_id: str | None,
    ) -> None:
        with unit(runtime, context, client) as ctx:
            project = _project(ctx, args, channel_id)
            if project is not None:
                project_service.require_pm(ctx, project)
                projects = [project]
            else:
                projects = [
                    p
                    for p in project_service.list_projects(ctx)
                    if project_service.can_manage(ctx, p)
                ]
                if not projects:
                    raise NotFound(
                        Msg("errors.no_managed_projects", command=settings.command("project"))
                    )
                if len(projects) == 1:
                    project = projects[0]
            locale = project.locale if project else person_locale(runtime, context, client, ctx)
            view = views.settings_modal(locale, projects=projects, project=project)
        open_modal(client, trigger_id, view)

    def list_polls(
        context: BoltContext, client: WebClient, args: list[str], channel_id: str | None
    ) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            project = project_service.resolve_project(ctx, args[0] if args else None, channel_id)
            rows = []
            polls = service.list_polls(ctx, project)
            for poll in polls:
                people = service.participants_of(ctx, poll)
                rows.append((poll, len(people), sum(1 for p in people if p.answered)))
            return views.poll_list(project.locale, project, rows, service.numbers(ctx, polls))

    def close_poll(context: BoltContext, client: WebClient, poll_id: str) -> str:
        with unit(runtime, context, client) as ctx:
            recurring = service.get_poll(ctx, poll_id).recurrence != service.Recurrence.NONE
            poll, keys = service.close_by_pm(ctx=ctx, poll_id=poll_id, messages=views.MESSAGES)
            project = service.project_of(ctx, poll)
            text = t(
                project.locale,
                "poll.closed_by_pm",
                id=service.number_of(ctx, poll),
                title=poll.title,
                series_ended=recurring,
            )
        deliver(ctx.team_id, keys)
        return text

    def show_results(context: BoltContext, client: WebClient, poll_id: str) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            figures = poll_results.results_for_pm(ctx, poll_id)
            project = service.project_of(ctx, figures.poll)
            locale = project.locale
            message = views.results(locale, figures)
            png = charts.results_chart(figures, locale)
            poll = figures.poll
            number = service.number_of(ctx, poll)
        upload_chart(client, context.user_id or "", project, poll, png)
        message["text"] = t(locale, "poll.results_posted", id=number)
        return message

    def upload_chart(
        client: WebClient, user_id: str, project: Project, poll: Poll, png: bytes
    ) -> None:
        payload = service.chart_payload(project, poll, png, user_id)
        payload.pop("content_base64")
        dm_channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=dm_channel,
            content=png,
            filename=payload["filename"],
            title=payload["title"],
            alt_txt=payload["alt_txt"],
            initial_comment=t(project.locale, "poll.chart_comment", title=poll.title),
        )

    def export(context: BoltContext, client: WebClient, poll_id: str) -> str:
        with unit(runtime, context, client) as ctx:
            poll, content = poll_results.export_csv(ctx, poll_id)
            project = service.project_of(ctx, poll)
            number = service.number_of(ctx, poll)
        dm_channel = client.conversations_open(users=context.user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=dm_channel,
            content=content,
            filename=f"poll-{project.code}-{number}-round-{poll.round_number}.csv",
            title=plain(project.locale, "poll.export_title", id=number),
        )
        return t(project.locale, "poll.exported", id=number)

    # ----------------------------------------------------------------------- creating

    @app.view(PollId.NEW_MODAL)
    def save_poll_settings(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        project_id = ui.read_metadata(view).get("project_id") or values.get("project")
        locale = person_locale(runtime, context, client)
        try:
            with unit(runtime, context, client) as ctx:
                if not project_id:
                    raise ValidationError({"project": Msg("errors.required")})
                project = project_service.get_project_by_id(ctx, request_id(project_id))
                project_service.require_pm(ctx, project)
                locale = project.locale
                draft = settings_draft(values, project.id or 0, locale)
                service.clean_settings(ctx, poll_input(draft))
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack(response_action="update", view=views.questions_modal(locale, draft))

    @app.view(PollId.QUESTIONS_MODAL)
    def add_question_or_create_poll(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        draft = ui.read_metadata(view)
        locale = person_locale(runtime, context, client)
        keys: list[str] = []
        try:
            with unit(runtime, context, client) as ctx:
                project = project_service.get_project_by_id(ctx, request_id(draft.get("p")))
                locale = project.locale
                poll_input(draft)  # the draft is one this form wrote
                question = question_input(values)
                if question.text.strip():
                    asked = list(draft.get("q") or [])
                    draft["q"] = [*asked, service.clean_question(question).compact()]
                if len(json.dumps(draft)) > METADATA_LIMIT:
                    raise ValidationError({"question_text": Msg("poll.errors.draft_too_long")})
                if values.get("then") != "create":
                    ack(response_action="update", view=views.questions_modal(locale, draft))
                    return
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                poll, keys = service.create_poll(
                    ctx=ctx, project=project, data=poll_input(draft), messages=views.MESSAGES
                )
                text = t(
                    locale,
                    "poll.created",
                    id=service.number_of(ctx, poll),
                    title=poll.title,
                    code=project.code,
                    opened=poll.status == PollStatus.OPEN,
                    invited=len(keys),
                    opens=slack_date(poll.opens_at),
                )
        except LiaisonError as error:
            if not isinstance(error, ValidationError):
                error = ValidationError({"": error_text(locale, error)})
            elif set(error.errors) - {"question_kind", "question_text", "question_options"}:
                # A settings error found only now (e.g. the opening time has passed meanwhile).
                error = ValidationError(
                    {
                        "": "; ".join(
                            f"{name}: {error_text(locale, ValidationError({name: message}))}"
                            for name, message in error.errors.items()
                        )
                    }
                )
            ack(response_action="errors", errors=view_errors(locale, error, view))
            return
        ack()
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))
        deliver(ctx.team_id, keys)
        publish_home(runtime, client, context.team_id or "", context.user_id or "")

    # ---------------------------------------------------------------------- answering

    def _open_answer_modal(
        client: WebClient,
        trigger_id: str,
        ctx: Ctx,
        poll: Poll,
        user_id: str,
        current: dict[str, Any] | None = None,
    ) -> None:
        locale = service.project_of(ctx, poll).locale
        if current is None:
            current = service.current_answers(ctx, poll, user_id)
        view = views.answer_modal(
            locale, poll, service.questions_of(ctx, poll), current, {"p": poll.id}
        )
        open_modal(client, trigger_id, view)

    def _update_invitation(
        client: WebClient, ctx: Ctx, poll: Poll, user_id: str, message: dict[str, Any]
    ) -> bool:
        """Rewrite the person's own invitation DM (found in the outbox, never from the request)."""
        return update_sent(client, service.invitation_of(ctx, poll, user_id), message)

    def _show_closed(
        client: WebClient, respond: Respond, ctx: Ctx, poll_id: Any, error: LiaisonError
    ) -> None:
        poll = service.get_poll(ctx, poll_id)
        locale = service.project_of(ctx, poll).locale
        user_id = ctx.actor_id or ""
        person = service.participant(ctx, poll, user_id)
        if person is not None:
            _update_invitation(
                client, ctx, poll, user_id, views.closed(locale, poll, person.answered)
            )
        respond_error(respond, locale, error)

    @app.action(PollId.ANSWER)
    def open_answer_modal(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        value = views.read_value(action.get("value"))
        user_id = context.user_id or ""
        with unit(runtime, context, client) as ctx:
            try:
                poll, person = service.answerable(ctx, value.get("p"), user_id)
                if poll.anonymous and person.answered:
                    raise PermissionDenied(Msg("poll.errors.anonymous_final"))
            except service.PollClosed as error:
                _show_closed(client, respond, ctx, value.get("p"), error)
                return
            _open_answer_modal(client, body["trigger_id"], ctx, poll, user_id)

    app.action(PollId.EDIT)(open_answer_modal)

    @app.action(RATE_ACTION)
    def answer_from_dm_button(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        value = views.read_value(action.get("value"))
        _prefix, _sep, rest = action["action_id"].partition(":")
        question_id, _sep, rating = rest.partition(":")
        user_id = context.user_id or ""
        with unit(runtime, context, client) as ctx:
            try:
                outcome, merged = service.answer_from_button(
                    ctx=ctx,
                    poll_id=value.get("p"),
                    user_id=user_id,
                    question_id=request_id(question_id),
                    value=fields.whole_number(rating),
                )
            except service.PollClosed as error:
                _show_closed(client, respond, ctx, value.get("p"), error)
                return
            poll = service.get_poll(ctx, value.get("p"))
            locale = service.project_of(ctx, poll).locale
            if outcome is None:
                # Other required questions are open, or the answer is anonymous (final, so
                # confirmed in the modal): the modal, with this rating chosen.
                _open_answer_modal(client, body["trigger_id"], ctx, poll, user_id, current=merged)
                return
            _update_invitation(client, ctx, poll, user_id, views.answered(locale, poll))
        publish_home(runtime, client, context.team_id or "", user_id)

    @app.view(PollId.ANSWER_MODAL)
    def save_answers(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        metadata = ui.read_metadata(view)
        locale = person_locale(runtime, context, client)
        try:
            with unit(runtime, context, client) as ctx:
                poll = service.get_poll(ctx, metadata.get("p"))
                locale = service.project_of(ctx, poll).locale
                outcome = service.submit_answers(
                    ctx=ctx,
                    poll_id=poll.id or 0,
                    user_id=context.user_id or "",
                    raw=answers_from_view(view),
                )
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        with unit(runtime, context, client) as ctx:
            updated = _update_invitation(
                client,
                ctx,
                outcome.poll,
                context.user_id or "",
                views.answered(locale, outcome.poll),
            )
        if not updated:
            text = t(locale, "poll.answer_saved", title=outcome.poll.title)
            dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))
        publish_home(runtime, client, context.team_id or "", context.user_id or "")
