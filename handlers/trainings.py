"""`/training` and its modals: curriculum, sessions, roster and roll call, question bank, quizzes,
practical assessments, readiness (paged, CSV, heatmap) and CSV imports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests
from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.calendar import service as calendar
from bot.errors import LiaisonError, Msg, NotFound, ValidationError
from bot.i18n import mention, plain, slack_date, t
from bot.ids import TrainingId
from bot.runtime import Runtime
from bot.services import fields
from bot.services import polls as poll_service
from bot.services import projects as project_service
from bot.services import training_readiness as readiness_service
from bot.services import training_sessions as session_service
from bot.services import trainings as service
from bot.services.context import Ctx
from bot.views import calendar as calendar_views
from bot.views import common as ui
from bot.views import trainings as views
from handlers.common import (
    dm,
    error_text,
    open_modal,
    refuse_form,
    request_id,
    respond_error,
    unit,
)
from handlers.home import publish_home
from handlers.keyusers import UserResolver, uploaded_csv
from storage.models import Project

log = logging.getLogger(__name__)
SPANS = ("week", "all")
EXPORTS = ("curriculum", "readiness")
SESSION_VERBS = ("roster", "attendance", "cancel", "reschedule")
IMPORTS = ("curriculum", "questions", "practical")


def session_input(values: dict[str, Any]) -> session_service.SessionInput:
    return session_service.SessionInput(
        module_id=values.get("module"),
        title=values.get("title") or "",
        trainer_id=values.get("trainer_id"),
        starts_at=fields.moment(values.get("starts_at")),
        duration_hours=values.get("duration"),
        sessions=values.get("sessions") or 1,
        location=values.get("location") or "",
        video_url=values.get("video_url") or "",
        capacity=values.get("capacity"),
        audience_kind=values.get("audience_kind") or "all",
        audience_roles=values.get("audience_roles") or [],
        audience_quadrants=values.get("audience_quadrants") or [],
        audience_people=values.get("audience_people") or [],
        rsvp_deadline=fields.moment(values.get("rsvp_deadline")),
        reminders=[m for m in map(fields.whole_number, values.get("reminders") or []) if m],
    )


def module_input(values: dict[str, Any]) -> service.ModuleInput:
    return service.ModuleInput(
        name=values.get("name") or "",
        description=values.get("description") or "",
        planned_hours=values.get("planned_hours") or "",
        formats=values.get("formats") or [],
        audience_roles=values.get("audience_roles") or [],
        has_practical=values.get("has_practical") == "yes",
        pass_mark=values.get("pass_mark") or "",
        position=values.get("position"),
    )


def roll_call_statuses(values: dict[str, Any]) -> dict[str, str]:
    """A roll call's answers, person by person or by status; someone under two statuses is
    refused on the second one's picker."""
    statuses = {
        block_id.split(":", 1)[1]: value
        for block_id, value in values.items()
        if block_id.startswith("att:") and value
    }
    for block_id, people in values.items():
        if not block_id.startswith(views.ROLL_CALL_GROUP):
            continue
        for user_id in people or []:
            if user_id in statuses:
                raise ValidationError({block_id: Msg("training.errors.two_statuses")})
            statuses[user_id] = block_id.removeprefix(views.ROLL_CALL_GROUP)
    return statuses


def _split_args(args: list[str], choices: tuple[str, ...]) -> tuple[str | None, str | None]:
    """``[CODE] [choice]`` in either order: (code, choice)."""
    choice = next((a.lower() for a in args if a.lower() in choices), None)
    codes = [a for a in args if a.lower() not in choices]
    return (codes[0] if codes else None), choice


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings
    command_name = settings.command("training")

    def deliver(team_id: str, keys: list[str]) -> None:
        if keys:
            runtime.sender().deliver_due(team_id=team_id, keys=keys)

    def usage(locale: str) -> str:
        return t(locale, "training.usage", command=command_name)

    def project_for(ctx: Ctx, code: str | None, channel_id: str | None) -> Project:
        return project_service.resolve_project(ctx, code, channel_id)

    def session_numbered(
        context: BoltContext, client: WebClient, args: list[str], channel_id: str | None
    ) -> int:
        """`[CODE] 3`: the project's session number 3, as `/training list` shows it."""
        with unit(runtime, context, client) as ctx:
            project = project_for(ctx, args[0] if len(args) == 2 else None, channel_id)
            return session_service.session_by_number(ctx, project, args[-1])

    def upload(
        client: WebClient, user_id: str, content: Any, filename: str, title: str, comment: str
    ) -> None:
        dm_channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=dm_channel,
            content=content,
            filename=filename,
            title=title,
            initial_comment=comment,
        )

    def command_locale(ctx: Ctx, args: list[str], channel_id: str | None) -> str:
        """The language of the project a command names (or implies), for usage and errors."""
        for word in args:
            try:
                return project_service.get_project(ctx, word).locale
            except NotFound:
                continue
        try:
            return project_for(ctx, None, channel_id).locale
        except LiaisonError:
            return settings.locale

    @app.command(command_name)
    def handle_training_command(
        ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        words = (command.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        args = words[1:]
        channel_id = command.get("channel_id")
        trigger_id = command.get("trigger_id", "")
        locale = settings.locale

        def answer(payload: dict[str, Any] | str) -> None:
            if isinstance(payload, str):
                payload = {"text": payload}
            respond(**payload, response_type="ephemeral")

        try:
            with unit(runtime, context, client) as ctx:
                locale = command_locale(ctx, args, channel_id)
            if verb == "curriculum" and len(args) <= 1:
                answer(show_curriculum(context, client, args[0] if args else None, channel_id))
            elif verb == "new" and len(args) <= 1:
                open_project_modal(client, trigger_id, context, "session", args, channel_id)
            elif verb == "list" and len(args) <= 2:
                code, span = _split_args(args, SPANS)
                answer(list_sessions(context, client, code, span or "", channel_id))
            elif verb in SESSION_VERBS and 1 <= len(args) <= 2:
                event_id = str(session_numbered(context, client, args, channel_id))
                if verb == "roster":
                    answer(show_roster(context, client, event_id))
                elif verb == "attendance":
                    open_roll_call(client, trigger_id, context, event_id)
                elif verb == "cancel":
                    answer(cancel_session(context, client, event_id))
                else:
                    open_reschedule(client, trigger_id, context, event_id)
            elif verb == "question" and len(args) <= 1:
                open_project_modal(client, trigger_id, context, "question", args, channel_id)
            elif verb == "quiz" and 2 <= len(args) <= 3 and args[0].lower() == "results":
                answer(show_quiz_results(context, client, args[1:], channel_id))
            elif verb == "quiz" and len(args) <= 1:
                open_project_modal(client, trigger_id, context, "quiz", args, channel_id)
            elif verb == "practical" and len(args) <= 1:
                open_project_modal(client, trigger_id, context, "practical", args, channel_id)
            elif verb == "readiness" and len(args) <= 1:
                answer(show_readiness(context, client, args[0] if args else None, channel_id, 1))
            elif verb == "heatmap" and len(args) <= 1:
                answer(send_heatmap(context, client, args[0] if args else None, channel_id))
            elif verb == "export" and 1 <= len(args) <= 2 and args[0].lower() in EXPORTS:
                answer(export(context, client, args[0].lower(), args[1:], channel_id))
            elif verb == "import" and 1 <= len(args) <= 2 and args[0].lower() in IMPORTS:
                open_import(client, trigger_id, context, args[0].lower(), args[1:], channel_id)
            else:
                answer(usage(locale))
        except LiaisonError as error:
            text = error_text(locale, error)
            if isinstance(error, NotFound):
                text += "\n" + usage(locale)
            answer(text)

    # ----------------------------------------------------------------------- curriculum

    def curriculum_message(ctx: Ctx, project: Project) -> dict[str, Any]:
        modules = service.modules_of(ctx, project.id or 0)
        delivered = session_service.delivered_hours(ctx, project.id or 0)
        return views.curriculum(
            project.locale,
            project,
            modules,
            delivered,
            can_edit=project_service.can_manage(ctx, project),
        )

    def show_curriculum(
        context: BoltContext, client: WebClient, code: str | None, channel_id: str | None
    ) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            project = project_for(ctx, code, channel_id)
            service.require_trainer(ctx, project)
            return curriculum_message(ctx, project)

    def _project_by_value(ctx: Ctx, raw: Any) -> Project:
        return project_service.get_project_by_id(ctx, request_id(raw))

    @app.action(TrainingId.USE_STANDARD)
    def adopt_standard_curriculum(
        ack: Ack,
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                project = _project_by_value(ctx, action.get("value"))
                locale = project.locale
                if not ctx.claim(f"training:standard:{project.id}"):
                    return
                modules = service.adopt_standard_curriculum(ctx=ctx, project=project)
                message = curriculum_message(ctx, project)
                text = t(
                    locale,
                    "training.standard_adopted",
                    code=project.code,
                    count=len(modules),
                    command=command_name,
                )
        except LiaisonError as error:
            respond_error(respond, locale, error)
            return
        respond(**message, response_type="ephemeral", replace_original=True)
        respond(text=text, response_type="ephemeral", replace_original=False)

    @app.action(TrainingId.ADD_MODULE)
    @app.action(TrainingId.EDIT_MODULE)
    def open_module_modal(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                if action["action_id"] == TrainingId.EDIT_MODULE:
                    module = service.get_module(ctx, action.get("value"))
                    project = project_service.get_project_by_id(ctx, module.project_id)
                else:
                    module = None
                    project = _project_by_value(ctx, action.get("value"))
                locale = project.locale
                project_service.require_pm(ctx, project)
                size = len(service.modules_of(ctx, project.id or 0))
                view = views.module_modal(locale, project, module, size=size)
        except LiaisonError as error:
            respond_error(respond, locale, error)
            return
        open_modal(client, body["trigger_id"], view)

    @app.action(TrainingId.DELETE_MODULE)
    def delete_module(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        """The module form's Delete, after Slack's confirmation: the form becomes the outcome."""
        ack()
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                module, project = service.delete_module(ctx=ctx, module_id=action.get("value"))
                locale = project.locale
                text = t(locale, "training.module_deleted", name=module.name, code=project.code)
        except LiaisonError as error:
            text = error_text(locale, error)
        view_id = (body.get("view") or {}).get("id")
        if view_id:
            client.views_update(view_id=view_id, view=views.module_notice(locale, text))
        else:
            dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))

    ProjectForm = Callable[[Ctx, Project, dict[str, Any], dict[str, Any]], tuple[str, list[str]]]

    def answer_project_form(
        ack: Ack,
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        work: ProjectForm,
        *,
        once: bool = False,
    ) -> None:
        """A form about the project in its ``private_metadata``: ``work`` stores what it says and
        returns the confirmation and outbox keys. Errors show in the form and nothing is stored;
        ``once`` makes a retried or double-submitted form count once."""
        metadata = ui.read_metadata(view)
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                project = _project_by_value(ctx, metadata.get("p"))
                locale = project.locale
                if once and not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                text, keys = work(ctx, project, ui.read_values(view), metadata)
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))
        deliver(ctx.team_id, keys)

    @app.view(TrainingId.MODULE_MODAL)
    def save_module(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        def work(
            ctx: Ctx, project: Project, values: dict[str, Any], metadata: dict[str, Any]
        ) -> tuple[str, list[str]]:
            module_id = metadata.get("m")
            module = service.save_module(
                ctx=ctx,
                project=project,
                data=module_input(values),
                module_id=request_id(module_id) if module_id else None,
            )
            return t(
                project.locale, "training.module_saved", name=module.name, code=project.code
            ), []

        answer_project_form(ack, view, client, context, work)

    @app.action(TrainingId.EXPORT_CURRICULUM)
    @app.action(TrainingId.EXPORT_READINESS)
    def export_from_button(
        ack: Ack,
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        what = "curriculum" if action["action_id"] == TrainingId.EXPORT_CURRICULUM else "readiness"
        try:
            with unit(runtime, context, client) as ctx:
                code = _project_by_value(ctx, action.get("value")).code
            text = export(context, client, what, [code], None)
        except LiaisonError as error:
            respond_error(respond, settings.locale, error)
            return
        respond(text=text, response_type="ephemeral", replace_original=False)

    def export(
        context: BoltContext,
        client: WebClient,
        what: str,
        args: list[str],
        channel_id: str | None,
    ) -> str:
        with unit(runtime, context, client) as ctx:
            project = project_for(ctx, args[0] if args else None, channel_id)
            if what == "curriculum":
                content = service.export_curriculum_csv(ctx, project)
            else:
                content = readiness_service.export_csv(ctx, project)
            locale, code = project.locale, project.code
            today = ctx.now().date().isoformat()
        label = plain(locale, f"training.{what}_export")
        upload(
            client,
            context.user_id or "",
            content,
            f"{code}-training-{what}-{today}.csv",
            plain(locale, "training.export_title", what=label, code=code),
            t(locale, "training.export_comment", what=label, code=code),
        )
        return t(locale, "training.exported")

    @app.action(TrainingId.IMPORT_CURRICULUM)
    def open_import_from_button(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        try:
            with unit(runtime, context, client) as ctx:
                code = _project_by_value(ctx, action.get("value")).code
            open_import(client, body["trigger_id"], context, "curriculum", [code], None)
        except LiaisonError as error:
            respond_error(respond, settings.locale, error)

    def open_import(
        client: WebClient,
        trigger_id: str,
        context: BoltContext,
        kind: str,
        args: list[str],
        channel_id: str | None,
    ) -> None:
        with unit(runtime, context, client) as ctx:
            project = project_for(ctx, args[0] if args else None, channel_id)
            if kind == "curriculum":
                project_service.require_pm(ctx, project)
            else:
                service.require_trainer(ctx, project)
            view = views.import_modal(project.locale, project, kind)
        open_modal(client, trigger_id, view)

    @app.view(TrainingId.IMPORT_MODAL)
    def import_rows(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        metadata = ui.read_metadata(view)
        kind = metadata.get("k")
        files = values.get("csv_file") or []
        pasted = (values.get("csv") or "").strip()
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                project = _project_by_value(ctx, metadata.get("p"))
                locale = project.locale
                # Rights first: nothing is downloaded for someone who may not import.
                if kind == "curriculum":
                    project_service.require_pm(ctx, project)
                else:
                    service.require_trainer(ctx, project)
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        if kind not in IMPORTS or (not files and not pasted):
            ack(response_action="errors", errors={"csv": t(locale, "errors.csv_missing")})
            return
        # Downloading can take longer than Slack's 3 seconds: close the modal, report by DM.
        ack()
        try:
            user_id = context.user_id or ""
            text = uploaded_csv(client, (files[0] or {}).get("id"), user_id) if files else pasted
            with unit(runtime, context, client) as ctx:
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    return
                project = _project_by_value(ctx, metadata.get("p"))
                if kind == "curriculum":
                    report = service.import_curriculum_csv(ctx=ctx, project=project, text=text)
                elif kind == "questions":
                    report = service.import_questions_csv(ctx=ctx, project=project, text=text)
                else:
                    report = service.import_practicals_csv(
                        ctx=ctx, project=project, text=text, resolve_user=UserResolver(client)
                    )
                message = views.import_report(locale, project, report)
        except (LiaisonError, SlackApiError, requests.RequestException) as error:
            if isinstance(error, requests.RequestException):
                log.warning("CSV download failed: %s", error)
                reason = t(locale, "errors.csv_download")
            else:
                reason = error_text(locale, error)
            dm(client, context.user_id or "", ui.message(reason, [ui.section(reason)]))
            return
        dm(client, context.user_id or "", message)

    # ------------------------------------------------------------- modals about a project

    def open_project_modal(
        client: WebClient,
        trigger_id: str,
        context: BoltContext,
        kind: str,
        args: list[str],
        channel_id: str | None,
    ) -> None:
        with unit(runtime, context, client) as ctx:
            project = project_for(ctx, args[0] if args else None, channel_id)
            service.require_trainer(ctx, project)
            modules = service.modules_of(ctx, project.id or 0)
            locale = project.locale
            if not modules:
                raise NotFound(
                    Msg("training.errors.no_modules", code=project.code, command=command_name)
                )
            if kind == "session":
                view = views.session_modal(locale, project, modules, context.user_id)
            elif kind == "question":
                view = views.question_modal(locale, project, modules)
            elif kind == "quiz":
                view = views.quiz_modal(locale, project, modules)
            else:
                if not any(m.has_practical for m in modules):
                    raise NotFound(Msg("training.errors.no_practical_modules", code=project.code))
                view = views.practical_modal(locale, project, modules)
        open_modal(client, trigger_id, view)

    @app.view(TrainingId.QUESTION_MODAL)
    def save_question(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        def work(
            ctx: Ctx, project: Project, values: dict[str, Any], _metadata: dict[str, Any]
        ) -> tuple[str, list[str]]:
            options, correct = service.parse_marked_options(values.get("options") or "")
            question = service.add_question(
                ctx=ctx,
                project=project,
                data=service.QuestionInput(
                    module_id=values.get("module"),
                    kind=values.get("kind") or "single",
                    text=values.get("text") or "",
                    options=options,
                    correct=correct,
                ),
            )
            module = service.get_module(ctx, question.module_id)
            count = len(service.questions_of(ctx, question.module_id))
            return t(project.locale, "training.question_saved", module=module.name, count=count), []

        answer_project_form(ack, view, client, context, work)

    @app.view(TrainingId.QUIZ_MODAL)
    def send_quiz(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        def work(
            ctx: Ctx, project: Project, values: dict[str, Any], _metadata: dict[str, Any]
        ) -> tuple[str, list[str]]:
            quiz, keys = service.start_quiz(
                ctx=ctx,
                project=project,
                module_id=values.get("module"),
                deadline=fields.moment(values.get("deadline")),
                remind_hours=fields.whole_number(values.get("remind_hours")) or None,
                messages=views.MESSAGES,
                repeat_weekly=values.get("repeat") == "weekly",
            )
            module = service.get_module(ctx, quiz.module_id)
            text = t(
                project.locale,
                "training.quiz_sent",
                id=service.quiz_number(ctx, quiz),
                module=module.name,
                invited=len(keys),
                deadline=slack_date(quiz.deadline, project.timezone),
            )
            return text, keys

        answer_project_form(ack, view, client, context, work, once=True)

    @app.view(TrainingId.PRACTICAL_MODAL)
    def save_practical(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        def work(
            ctx: Ctx, project: Project, values: dict[str, Any], _metadata: dict[str, Any]
        ) -> tuple[str, list[str]]:
            row = service.record_practical(
                ctx=ctx,
                project=project,
                module_id=values.get("module"),
                user_id=values.get("user_id"),
                score=values.get("score"),
                comment=values.get("comment") or "",
            )
            module = service.get_module(ctx, row.module_id)
            result = plain(project.locale, "training.passed" if row.passed else "training.failed")
            text = t(
                project.locale,
                "training.practical_saved",
                user=mention(row.user_id),
                module=module.name,
                score=row.score,
                result=result,
            )
            return text, []

        answer_project_form(ack, view, client, context, work)

    # -------------------------------------------------------------------------- quizzes

    @app.action(TrainingId.TAKE_QUIZ)
    def open_quiz(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                quiz = service.get_quiz(ctx, action.get("value"))
                project = project_service.get_project_by_id(ctx, quiz.project_id)
                locale = project.locale
                quiz, _attempt = service.quiz_for_taker(ctx, quiz.id, context.user_id or "")
                module = service.get_module(ctx, quiz.module_id)
                metadata = {"q": quiz.id}
                questions = service.quiz_questions(ctx, quiz)
                view = views.quiz_answer_modal(
                    locale, quiz, module, questions, metadata, project.timezone
                )
        except LiaisonError as error:
            respond_error(respond, locale, error)
            return
        open_modal(client, body["trigger_id"], view)

    @app.view(TrainingId.QUIZ_ANSWER_MODAL)
    def score_quiz(ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        metadata = ui.read_metadata(view)
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                quiz = service.get_quiz(ctx, metadata.get("q"))
                locale = project_service.get_project_by_id(ctx, quiz.project_id).locale
                quiz, attempt, questions = service.submit_quiz(
                    ctx=ctx,
                    quiz_id=quiz.id,
                    user_id=context.user_id or "",
                    raw=ui.read_values(view),
                )
                module = service.get_module(ctx, quiz.module_id)
                missed = [q for q in questions if (q.id or 0) in attempt.missed]
                message = views.quiz_scored(
                    locale, quiz, module, attempt.score or 0, bool(attempt.passed), missed
                )
                invitation = service.quiz_invitation(ctx, quiz, context.user_id or "")
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        if invitation is not None:
            try:
                client.chat_postMessage(
                    channel=invitation.channel, thread_ts=invitation.ts, **message
                )
            except SlackApiError as error:
                log.warning("could not post the quiz score: %s", error)
        else:
            dm(client, context.user_id or "", message)
        publish_home(runtime, client, context.team_id or "", context.user_id or "")

    def show_quiz_results(
        context: BoltContext, client: WebClient, args: list[str], channel_id: str | None
    ) -> dict[str, Any]:
        """`[CODE] 3`: the results of the project's quiz number 3."""
        with unit(runtime, context, client) as ctx:
            project = project_for(ctx, args[0] if len(args) == 2 else None, channel_id)
            quiz = service.quiz_by_number(ctx, project, args[-1])
            return views.quiz_results(service.quiz_results(ctx, quiz.id))

    # ------------------------------------------------------------------------- readiness

    def show_readiness(
        context: BoltContext,
        client: WebClient,
        code: str | None,
        channel_id: str | None,
        page: int,
    ) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            project = project_for(ctx, code, channel_id)
            matrix = readiness_service.readiness_for(ctx, project)
            return views.readiness_page(project.locale, project, matrix, page)

    @app.action(TrainingId.READINESS_PAGE)
    def turn_readiness_page(
        ack: Ack,
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        project_id, _sep, page = str(action.get("value") or "").partition(":")
        try:
            with unit(runtime, context, client) as ctx:
                code = _project_by_value(ctx, project_id).code
            message = show_readiness(context, client, code, None, fields.whole_number(page) or 1)
        except LiaisonError as error:
            respond_error(respond, settings.locale, error)
            return
        respond(**message, response_type="ephemeral", replace_original=True)

    def send_heatmap(
        context: BoltContext, client: WebClient, code: str | None, channel_id: str | None
    ) -> str:
        from bot import training_charts

        with unit(runtime, context, client) as ctx:
            project = project_for(ctx, code, channel_id)
            matrix = readiness_service.readiness_for(ctx, project)
            locale, project_code = project.locale, project.code
        png = training_charts.readiness_heatmap(matrix, locale)
        upload(
            client,
            context.user_id or "",
            png,
            f"{project_code}-readiness.png",
            plain(locale, "training.heatmap_title", code=project_code),
            t(locale, "training.heatmap_comment", code=project_code),
        )
        return t(locale, "training.heatmap_posted")

    # -------------------------------------------------------------------------- sessions

    @app.view(TrainingId.SESSION_MODAL)
    def create_sessions(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        def work(
            ctx: Ctx, project: Project, values: dict[str, Any], _metadata: dict[str, Any]
        ) -> tuple[str, list[str]]:
            created, keys = session_service.create_sessions(
                ctx=ctx,
                project=project,
                data=session_input(values),
                messages=calendar_views.MESSAGES,
            )
            first = created[0].event
            text = t(
                project.locale,
                "training.sessions_created",
                count=len(created),
                title=first.title,
                ids=", ".join(f"#{c.number}" for c in created),
                number=created[0].number,
                when=calendar_views.when(project.locale, first),
                invited=created[0].pending,
                command=command_name,
            )
            return text, keys

        # A retried or double-submitted form makes one session (or series).
        answer_project_form(ack, view, client, context, work, once=True)

    def list_sessions(
        context: BoltContext,
        client: WebClient,
        code: str | None,
        span: str,
        channel_id: str | None,
    ) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            project = project_for(ctx, code, channel_id)
            sessions = session_service.list_sessions(ctx, project, span)
            return views.session_list(project.locale, project, sessions, span)

    def roster_message(ctx: Ctx, event_id: Any) -> dict[str, Any]:
        session, event = session_service.session_for_event(ctx, event_id)
        project = calendar.project_of(ctx, event)
        calendar.require_change(ctx, project, event)
        module = service.get_module(ctx, session.module_id)
        feedback = None
        if session.feedback_poll_id:
            poll = poll_service.get_poll(ctx, session.feedback_poll_id)
            feedback = (project.code, poll_service.number_of(ctx, poll))
        return views.session_roster(
            project.locale,
            event,
            calendar.numbers(ctx, [event])[event.id or 0],
            module,
            calendar.roster(ctx, event),
            can_roll_call=calendar.can_take_attendance(ctx, project, event),
            feedback=feedback,
        )

    def show_roster(context: BoltContext, client: WebClient, event_id: str) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            return roster_message(ctx, event_id.lstrip("#"))

    def cancel_session(context: BoltContext, client: WebClient, event_id: str) -> str:
        with unit(runtime, context, client) as ctx:
            _session, event = session_service.session_for_event(ctx, event_id.lstrip("#"))
            project = calendar.project_of(ctx, event)
            already = event.status != "scheduled"
            event, keys = calendar.cancel_event(
                ctx=ctx, event_id=event.id, messages=calendar_views.MESSAGES
            )
            key = "training.already_cancelled" if already else "training.cancelled"
            number = calendar.numbers(ctx, [event])[event.id or 0]
            text = t(project.locale, key, id=number, title=event.title, told=len(keys))
        deliver(ctx.team_id, keys)
        return text

    def open_reschedule(
        client: WebClient, trigger_id: str, context: BoltContext, event_id: str
    ) -> None:
        with unit(runtime, context, client) as ctx:
            _session, event = session_service.session_for_event(ctx, event_id.lstrip("#"))
            project = calendar.project_of(ctx, event)
            calendar.require_change(ctx, project, event)
            if event.status != "scheduled":
                raise NotFound(Msg("calendar.errors.cancelled", title=event.title))
            view = views.reschedule_modal(project.locale, event)
        open_modal(client, trigger_id, view)

    @app.view(TrainingId.RESCHEDULE_MODAL)
    def save_reschedule(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        locale = settings.locale
        keys: list[str] = []
        try:
            with unit(runtime, context, client) as ctx:
                event = calendar.get_event(ctx, ui.read_metadata(view).get("e"))
                locale = calendar.project_of(ctx, event).locale
                event, keys = session_service.reschedule(
                    ctx=ctx,
                    event_id=event.id,
                    starts_at=fields.moment(values.get("starts_at")),
                    duration_hours=values.get("duration"),
                    rsvp_deadline=fields.moment(values.get("rsvp_deadline")),
                    messages=calendar_views.MESSAGES,
                )
                text = t(
                    locale,
                    "training.rescheduled",
                    id=calendar.numbers(ctx, [event])[event.id or 0],
                    title=event.title,
                    when=calendar_views.when(locale, event),
                )
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))
        deliver(ctx.team_id, keys)

    def open_roll_call(
        client: WebClient, trigger_id: str, context: BoltContext, event_id: Any
    ) -> None:
        with unit(runtime, context, client) as ctx:
            _session, event = session_service.session_for_event(ctx, str(event_id).lstrip("#"))
            project = calendar.project_of(ctx, event)
            if not calendar.can_take_attendance(ctx, project, event):
                raise ValidationError({"": Msg("calendar.errors.not_organizer")})
            view = views.roll_call_modal(project.locale, event, calendar.roster(ctx, event))
        open_modal(client, trigger_id, view)

    @app.action(TrainingId.ROLL_CALL)
    def open_roll_call_from_roster(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        try:
            open_roll_call(client, body["trigger_id"], context, action.get("value"))
        except LiaisonError as error:
            respond_error(respond, settings.locale, error)

    @app.view(TrainingId.ROLL_CALL_MODAL)
    def save_roll_call(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        locale = settings.locale
        try:
            statuses = roll_call_statuses(ui.read_values(view))
            with unit(runtime, context, client) as ctx:
                event = calendar.get_event(ctx, ui.read_metadata(view).get("e"))
                locale = calendar.project_of(ctx, event).locale
                changed = calendar.record_attendance(ctx=ctx, event_id=event.id, statuses=statuses)
                text = t(locale, "training.attendance_saved", title=event.title, changed=changed)
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))
