"""`/training` and its modals: curriculum, sessions, roster and roll call, question bank, quizzes,
practical assessments, readiness (paged, CSV, heatmap) and CSV imports; and the buttons of its
messages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.calendar import attendance
from bot.calendar import service as calendar
from bot.errors import LiaisonError, Msg, NotFound, ValidationError
from bot.i18n import mention, plain, slack_date, t
from bot.ids import TrainingId
from bot.runtime import Runtime
from bot.services import end_user_readiness, fields
from bot.services import end_users as end_user_service
from bot.services import polls as poll_service
from bot.services import projects as project_service
from bot.services import training_quizzes as quizzes
from bot.services import training_readiness as readiness_service
from bot.services import training_sessions as session_service
from bot.services import trainings as service
from bot.services.context import Ctx
from bot.slack_io import display_name, user_profile
from bot.views import calendar as calendar_views
from bot.views import common as ui
from bot.views import end_users as end_user_views
from bot.views import training_sessions as session_views
from bot.views import trainings as views
from handlers import listeners
from handlers.common import dm, error_text, request_id
from handlers.keyusers import UserResolver
from handlers.listeners import (
    ANYONE,
    CODE,
    NUMBER,
    PM,
    Call,
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
from storage.models import Attendance, Project

log = logging.getLogger(__name__)

# PMs, the project team (trainers) and workspace admins run trainings and see their results.
TRAINER = Right("team", service.can_train, "training.errors.not_team")
# PMs and team manage every end user; a key user those they are responsible for.
END_USERS = Right("raisers", end_user_service.may_open, "enduser.errors.not_allowed")
QUIZ_NUMBER = replace(NUMBER, example="1")
EXPORTS = ("curriculum", "readiness")
IMPORTS = ("curriculum", "questions", "practical")

FindProject = Callable[[Ctx], Project]


# ------------------------------------------------------------------------- reading forms


def session_input(values: dict[str, Any]) -> session_service.SessionInput:
    audience = ui.read_audience(values)
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
        audience_kind=audience.kind,
        audience_roles=list(audience.roles),
        audience_quadrants=list(audience.quadrants),
        audience_people=list(audience.people),
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
        if not block_id.startswith(session_views.ROLL_CALL_GROUP):
            continue
        for user_id in people or []:
            if user_id in statuses:
                raise ValidationError({block_id: Msg("training.errors.two_statuses")})
            statuses[user_id] = block_id.removeprefix(session_views.ROLL_CALL_GROUP)
    return statuses


# ------------------------------------------------------------------------------- buttons


def on_click(app: App, runtime: Runtime, work: Callable[[Click], None], *action_ids: str) -> None:
    """A button: `work` answers it; a refusal is told to the clicker only."""
    for action_id in action_ids:
        clicks(app.action(action_id), runtime)(work)


def command_name(call: Call) -> str:
    return call.runtime.settings.command("training")


def upload(call: Call, content: Any, filename: str, title: str, comment: str) -> None:
    """A file to the person, in their DM with the app."""
    dm_channel = call.client.conversations_open(users=call.user_id)["channel"]["id"]
    call.client.files_upload_v2(
        channel=dm_channel, content=content, filename=filename, title=title, initial_comment=comment
    )


def tell(call: FormCall, result: tuple[str, list[str]]) -> None:
    """A form's confirmation by DM, and the messages it queued sent now."""
    text, keys = result
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.deliver(keys)


def form_project(call: FormCall, ctx: Ctx) -> Project:
    """The project a training form names in its metadata, if the form's right allows the person."""
    project = project_service.get_project_by_id(ctx, request_id(call.metadata.get("p")))
    call.locale = project.locale
    return call.who.check(ctx, project)


# ---------------------------------------------------------------------------- curriculum


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


def show_curriculum(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        return curriculum_message(ctx, call.project(ctx))


def curriculum_from_home(click: Click) -> None:
    """A new project's next step on the PM's Home: its curriculum, as a tool's modal."""
    with click.unit() as ctx:
        project = TRAINER.check(ctx, click.project(ctx))
        message = curriculum_message(ctx, project)
    locale = project.locale
    title = plain(locale, "training.tool.curriculum")
    click.open(ui.tool_modal(title, message, plain(locale, "common.close")))


def adopt_standard_curriculum(click: Click) -> None:
    with click.unit() as ctx:
        project = click.project(ctx)
        if not ctx.claim(f"training:standard:{project.id}"):
            return
        modules = service.adopt_standard_curriculum(ctx=ctx, project=project)
        message = curriculum_message(ctx, project)
        text = t(
            project.locale,
            "training.standard_adopted",
            code=project.code,
            count=len(modules),
            command=command_name(click),
        )
    click.answer(message, replace=True)
    click.answer(text)


def open_module_form(click: Click) -> None:
    with click.unit() as ctx:
        if click.action_id == TrainingId.EDIT_MODULE:
            module = service.get_module(ctx, click.value)
            project = click.project(ctx, module.project_id)
        else:
            module = None
            project = click.project(ctx)
        project_service.require_pm(ctx, project)
        size = len(service.modules_of(ctx, project.id or 0))
        view = MODULE_FORM.build(project.locale, project, module, size=size)
    click.open(view)


def save_module(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    project = form_project(call, ctx)
    module_id = call.metadata.get("m")
    module = service.save_module(
        ctx=ctx,
        project=project,
        data=call.data,
        module_id=request_id(module_id) if module_id else None,
    )
    return t(project.locale, "training.module_saved", name=module.name, code=project.code), []


def delete_module(click: Click) -> None:
    """The module form's Delete, after Slack's confirmation: the form becomes the outcome."""
    try:
        with click.unit() as ctx:
            module, project = service.delete_module(ctx=ctx, module_id=click.value)
            click.locale = project.locale
            text = t(click.locale, "training.module_deleted", name=module.name, code=project.code)
    except LiaisonError as error:
        text = error_text(click.locale, error)
    if click.view_id:
        click.client.views_update(
            view_id=click.view_id, view=views.module_notice(click.locale, text)
        )
    else:
        dm(click.client, click.user_id, ui.message(text, [ui.section(text)]))


# ------------------------------------------------------------------ exports and imports


def export_file(call: Call, what: str, find: FindProject) -> str:
    with call.unit() as ctx:
        project = find(ctx)
        if what == "curriculum":
            content = service.export_curriculum_csv(ctx, project)
        else:
            content = readiness_service.export_csv(ctx, project)
        locale, code = project.locale, project.code
        today = ctx.now().date().isoformat()
    label = plain(locale, f"training.{what}_export")
    upload(
        call,
        content,
        f"{code}-training-{what}-{today}.csv",
        plain(locale, "training.export_title", what=label, code=code),
        t(locale, "training.export_comment", what=label, code=code),
    )
    return t(locale, "training.exported")


def export(call: CommandCall) -> str:
    return export_file(call, call.args["what"], call.project)


def export_from_button(click: Click) -> None:
    what = "curriculum" if click.action_id == TrainingId.EXPORT_CURRICULUM else "readiness"
    click.answer(export_file(click, what, click.project))


def import_right(kind: str) -> Right:
    return PM if kind == "curriculum" else TRAINER


def open_import_form(call: CommandCall | Click, kind: str, find: FindProject) -> None:
    with call.unit() as ctx:
        project = import_right(kind).check(ctx, find(ctx))
        view = views.import_modal(project.locale, project, kind)
    call.open(view)


def import_curriculum(call: CommandCall) -> None:
    open_import_form(call, "curriculum", call.project)


def import_rows(call: CommandCall) -> None:
    open_import_form(call, call.args["kind"], call.project)


def import_from_button(click: Click) -> None:
    open_import_form(click, "curriculum", click.project)


def check_import(call: FormCall, ctx: Ctx, project: Project) -> None:
    """Rights first: nothing is downloaded for someone who may not import."""
    kind = call.metadata.get("k")
    if kind not in IMPORTS:
        raise ValidationError({"csv": Msg("errors.csv_missing")})
    import_right(kind).check(ctx, project)


def run_import(call: FormCall, ctx: Ctx, project: Project, text: str) -> dict[str, Any]:
    kind = call.metadata.get("k")
    if kind == "curriculum":
        report = service.import_curriculum_csv(ctx=ctx, project=project, text=text)
    elif kind == "questions":
        report = quizzes.import_questions_csv(ctx=ctx, project=project, text=text)
    else:
        report = service.import_practicals_csv(
            ctx=ctx, project=project, text=text, resolve_user=UserResolver(call.client)
        )
    return views.import_report(project.locale, project, report)


# ----------------------------------------------------------- forms about a project's modules


def open_modules_form(call: CommandCall, form: Form, *extra: Any) -> None:
    """A form that picks one of the project's modules: none is refused before it opens."""
    with call.unit() as ctx:
        project = call.project(ctx)
        modules = service.modules_of(ctx, project.id or 0)
        if not modules:
            raise NotFound(
                Msg("training.errors.no_modules", code=project.code, command=call.command)
            )
        if form is PRACTICAL_FORM and not any(m.has_practical for m in modules):
            raise NotFound(Msg("training.errors.no_practical_modules", code=project.code))
        assert form.build is not None
        view = form.build(project.locale, project, modules, *extra)
    call.open(view)


def new_session(call: CommandCall) -> None:
    open_modules_form(call, SESSION_FORM, call.user_id)


def new_question(call: CommandCall) -> None:
    open_modules_form(call, QUESTION_FORM)


def new_quiz(call: CommandCall) -> None:
    open_modules_form(call, QUIZ_FORM)


def new_practical(call: CommandCall) -> None:
    open_modules_form(call, PRACTICAL_FORM)


def save_question(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    project = form_project(call, ctx)
    options, correct = quizzes.parse_marked_options(call.values.get("options") or "")
    question = quizzes.add_question(
        ctx=ctx,
        project=project,
        data=quizzes.QuestionInput(
            module_id=call.values.get("module"),
            kind=call.values.get("kind") or "single",
            text=call.values.get("text") or "",
            options=options,
            correct=correct,
        ),
    )
    module = service.get_module(ctx, question.module_id)
    count = len(quizzes.questions_of(ctx, question.module_id))
    return t(project.locale, "training.question_saved", module=module.name, count=count), []


def send_quiz(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    project = form_project(call, ctx)
    quiz, keys = quizzes.start_quiz(
        ctx=ctx,
        project=project,
        module_id=call.values.get("module"),
        deadline=fields.moment(call.values.get("deadline")),
        remind_hours=fields.whole_number(call.values.get("remind_hours")) or None,
        messages=views.MESSAGES,
        repeat_weekly=call.values.get("repeat") == "weekly",
    )
    module = service.get_module(ctx, quiz.module_id)
    text = t(
        project.locale,
        "training.quiz_sent",
        id=quizzes.quiz_number(ctx, quiz),
        module=module.name,
        invited=len(keys),
        deadline=slack_date(quiz.deadline, project.timezone),
    )
    return text, keys


def save_practical(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    project = form_project(call, ctx)
    row = service.record_practical(
        ctx=ctx,
        project=project,
        module_id=call.values.get("module"),
        user_id=call.values.get("user_id"),
        score=call.values.get("score"),
        comment=call.values.get("comment") or "",
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


def create_sessions(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    project = form_project(call, ctx)
    created, keys = session_service.create_sessions(
        ctx=ctx, project=project, data=call.data, messages=calendar_views.MESSAGES
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
        command=command_name(call),
    )
    return text, keys


# ------------------------------------------------------------------------------- quizzes


def open_quiz(click: Click) -> None:
    with click.unit() as ctx:
        quiz = quizzes.get_quiz(ctx, click.value)
        project = click.project(ctx, quiz.project_id)
        quiz, _attempt = quizzes.quiz_for_taker(ctx, quiz.id, click.user_id)
        module = service.get_module(ctx, quiz.module_id)
        questions = quizzes.quiz_questions(ctx, quiz)
        view = QUIZ_ANSWER_FORM.build(
            project.locale, quiz, module, questions, {"q": quiz.id}, project.timezone
        )
    click.open(view)


def score_quiz(call: FormCall, ctx: Ctx) -> tuple[dict[str, Any], Any]:
    quiz = quizzes.get_quiz(ctx, call.metadata.get("q"))
    call.locale = project_service.get_project_by_id(ctx, quiz.project_id).locale
    quiz, attempt, questions = quizzes.submit_quiz(
        ctx=ctx, quiz_id=quiz.id, user_id=call.user_id, raw=call.values
    )
    module = service.get_module(ctx, quiz.module_id)
    missed = [q for q in questions if (q.id or 0) in attempt.missed]
    message = views.quiz_scored(
        call.locale, quiz, module, attempt.score or 0, bool(attempt.passed), missed
    )
    return message, quizzes.quiz_invitation(ctx, quiz, call.user_id)


def post_score(call: FormCall, result: tuple[dict[str, Any], Any]) -> None:
    """The score in the thread of the quiz's invitation (else by DM), and the Home tab again."""
    message, invitation = result
    if invitation is not None:
        try:
            call.client.chat_postMessage(
                channel=invitation.channel, thread_ts=invitation.ts, **message
            )
        except SlackApiError as error:
            log.warning("could not post the quiz score: %s", error)
    else:
        dm(call.client, call.user_id, message)
    call.refresh_home()


def show_quiz_results(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        quiz = quizzes.quiz_by_number(ctx, call.project(ctx), call.args["number"])
        return views.quiz_results(quizzes.quiz_results(ctx, quiz.id))


# ----------------------------------------------------------------------------- readiness


def readiness_message(call: Call, find: FindProject, page: int) -> dict[str, Any]:
    """The key users' matrix and the end users' readiness for PMs and the team; a key user sees
    their own end users' readiness only."""
    with call.unit() as ctx:
        project = find(ctx)
        cells = end_user_readiness.readiness_for(ctx, project)
        matrix = (
            readiness_service.readiness_for(ctx, project)
            if service.can_train(ctx, project)
            else None
        )
        return views.readiness_page(project.locale, project, matrix, page, cells)


def show_readiness(call: CommandCall) -> dict[str, Any]:
    return readiness_message(call, call.project, 1)


def turn_readiness_page(click: Click) -> None:
    project_id, _sep, page = str(click.value or "").partition(":")
    find: FindProject = lambda ctx: click.project(ctx, project_id)  # noqa: E731
    click.answer(readiness_message(click, find, fields.whole_number(page) or 1), replace=True)


def send_heatmap(call: CommandCall) -> str:
    from bot import training_charts

    with call.unit() as ctx:
        project = call.project(ctx)
        matrix = readiness_service.readiness_for(ctx, project)
        locale, code = project.locale, project.code
    upload(
        call,
        training_charts.readiness_heatmap(matrix, locale),
        f"{code}-readiness.png",
        plain(locale, "training.heatmap_title", code=code),
        t(locale, "training.heatmap_comment", code=code),
    )
    return t(locale, "training.heatmap_posted")


# ------------------------------------------------------------------------------ sessions


def list_sessions(call: CommandCall) -> dict[str, Any]:
    span = call.args.get("span", "")
    with call.unit() as ctx:
        project = call.project(ctx)
        sessions = session_service.list_sessions(ctx, project, span)
        return session_views.session_list(project.locale, project, sessions, span)


def numbered_session(call: CommandCall, ctx: Ctx) -> int:
    """`[CODE] 3`: the event of the project's session number 3, as `/training list` shows it."""
    return session_service.session_by_number(ctx, call.project(ctx), call.args["number"])


def show_roster(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        session, event = session_service.session_for_event(ctx, numbered_session(call, ctx))
        project = calendar.project_of(ctx, event)
        calendar.require_change(ctx, project, event)
        module = service.get_module(ctx, session.module_id)
        feedback = None
        if session.feedback_poll_id:
            poll = poll_service.get_poll(ctx, session.feedback_poll_id)
            feedback = (project.code, poll_service.number_of(ctx, poll))
        return session_views.session_roster(
            project.locale,
            event,
            calendar.numbers(ctx, [event])[event.id or 0],
            module,
            attendance.roster(ctx, event),
            can_roll_call=attendance.can_take_attendance(ctx, project, event),
            feedback=feedback,
            named=end_user_service.named_roster(ctx, event),
        )


def cancel_session(call: CommandCall) -> str:
    with call.unit() as ctx:
        _session, event = session_service.session_for_event(ctx, numbered_session(call, ctx))
        project = calendar.project_of(ctx, event)
        already = event.status != "scheduled"
        event, keys = calendar.cancel_event(
            ctx=ctx, event_id=event.id, messages=calendar_views.MESSAGES
        )
        key = "training.already_cancelled" if already else "training.cancelled"
        number = calendar.numbers(ctx, [event])[event.id or 0]
        text = t(project.locale, key, id=number, title=event.title, told=len(keys))
    call.deliver(keys)
    return text


def open_reschedule(call: CommandCall) -> None:
    with call.unit() as ctx:
        _session, event = session_service.session_for_event(ctx, numbered_session(call, ctx))
        project = calendar.project_of(ctx, event)
        calendar.require_change(ctx, project, event)
        if event.status != "scheduled":
            raise NotFound(Msg("calendar.errors.cancelled", title=event.title))
        view = RESCHEDULE_FORM.build(project.locale, event)
    call.open(view)


def save_reschedule(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    event = calendar.get_event(ctx, call.metadata.get("e"))
    call.locale = calendar.project_of(ctx, event).locale
    event, keys = session_service.reschedule(
        ctx=ctx,
        event_id=event.id,
        starts_at=fields.moment(call.values.get("starts_at")),
        duration_hours=call.values.get("duration"),
        rsvp_deadline=fields.moment(call.values.get("rsvp_deadline")),
        messages=calendar_views.MESSAGES,
    )
    text = t(
        call.locale,
        "training.rescheduled",
        id=calendar.numbers(ctx, [event])[event.id or 0],
        title=event.title,
        when=calendar_views.when(call.locale, event),
    )
    return text, keys


def open_roll_call(call: CommandCall | Click, event_id: Any) -> None:
    with call.unit() as ctx:
        _session, event = session_service.session_for_event(ctx, str(event_id).lstrip("#"))
        project = calendar.project_of(ctx, event)
        if not attendance.can_take_attendance(ctx, project, event):
            raise ValidationError({"": Msg("calendar.errors.not_organizer")})
        view = ROLL_CALL_FORM.build(
            project.locale,
            event,
            attendance.roster(ctx, event),
            end_user_service.named_roster(ctx, event),
        )
    call.open(view)


def take_attendance(call: CommandCall) -> None:
    with call.unit() as ctx:
        event_id = numbered_session(call, ctx)
    open_roll_call(call, event_id)


def roll_call_from_roster(click: Click) -> None:
    open_roll_call(click, click.value)


def save_roll_call(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    event = calendar.get_event(ctx, call.metadata.get("e"))
    call.locale = calendar.project_of(ctx, event).locale
    named = {
        k.removeprefix(session_views.NAMED_KEY): v
        for k, v in call.data.items()
        if k.startswith(session_views.NAMED_KEY)
    }
    slack = {k: v for k, v in call.data.items() if not k.startswith(session_views.NAMED_KEY)}
    changed = attendance.record_attendance(ctx=ctx, event_id=event.id, statuses=slack)
    if named:
        changed += end_user_service.record_named_attendance(
            ctx, event, named, {status.value for status in Attendance}
        )
    return t(call.locale, "training.attendance_saved", title=event.title, changed=changed), []


# ----------------------------------------------------------------------------- end users


def end_user_input(values: dict[str, Any]) -> end_user_service.EndUserInput:
    return end_user_service.EndUserInput(
        name=values.get("name") or "",
        user_id=values.get("user_id") or "",
        department=values.get("department") or "",
        module_id=values.get("module"),
        key_user=values.get("key_user") or "",
    )


def list_end_users(call: CommandCall) -> dict[str, Any]:
    return end_users_message(call, call.project, 1)


def end_users_message(call: Call, find: FindProject, page: int) -> dict[str, Any]:
    with call.unit() as ctx:
        project = END_USERS.check(ctx, find(ctx))
        found = end_user_service.list_page(ctx, project, page)
        return end_user_views.end_user_list(project.locale, project, found)


def turn_end_users_page(click: Click) -> None:
    project_id, _sep, page = str(click.value or "").partition(":")
    find: FindProject = lambda ctx: click.project(ctx, project_id)  # noqa: E731
    click.answer(end_users_message(click, find, fields.whole_number(page) or 1), replace=True)


def open_end_user_form(call: CommandCall) -> None:
    with call.unit() as ctx:
        project = call.project(ctx)
        end_user = (
            end_user_service.get_end_user(ctx, project, call.args["number"])
            if "number" in call.args
            else None
        )
        modules, key_users = end_user_service.form_choices(ctx, project)
        view = end_user_views.end_user_modal(project.locale, project, modules, key_users, end_user)
    call.open(view)


def _with_slack_name(call: FormCall) -> end_user_service.EndUserInput:
    data: end_user_service.EndUserInput = call.data
    if data.user_id:
        profile = user_profile(call.client, data.user_id)
        if profile is not None and (profile.get("is_bot") or profile.get("deleted")):
            raise ValidationError({"user_id": Msg("errors.user_not_person")})
        data.display_name = display_name(profile) if profile else None
    return data


def save_end_user(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    data = _with_slack_name(call)
    raw = call.metadata.get("end_user_id")
    if raw is None:
        project = call.project(ctx)
        end_user = end_user_service.add_end_user(ctx=ctx, project=project, data=data)
        key = "enduser.added"
    else:
        end_user, project = end_user_service.get_end_user_by_id(ctx, request_id(raw))
        project = call.project(ctx, project.id)
        end_user = end_user_service.update_end_user(ctx=ctx, end_user=end_user, data=data)
        key = "enduser.updated"
    module = service.get_module(ctx, end_user.module_id)
    text = t(
        project.locale,
        key,
        number=end_user.number,
        name=end_user.name,
        code=project.code,
        module=module.name,
        department=end_user.department,
    )
    return text, []


def remove_end_user(call: CommandCall) -> str:
    with call.unit() as ctx:
        project = call.project(ctx)
        end_user = end_user_service.get_end_user(ctx, project, call.args["number"])
        end_user_service.remove_end_user(ctx=ctx, project=project, end_user=end_user)
        return t(
            project.locale,
            "enduser.removed",
            number=end_user.number,
            name=end_user.name,
            code=project.code,
        )


def export_end_users(call: CommandCall) -> str:
    return call.export("enduser", "end-users", end_user_service.export_csv)


def open_end_user_import(call: CommandCall) -> None:
    with call.unit() as ctx:
        project = call.project(ctx)
        end_user_service.scope(ctx, project)
        view = end_user_views.import_modal(project.locale, project)
    call.open(view)


def check_end_user_import(call: FormCall, ctx: Ctx, project: Project) -> None:
    end_user_service.scope(ctx, project)


def run_end_user_import(call: FormCall, ctx: Ctx, project: Project, text: str) -> dict[str, Any]:
    report = end_user_service.import_csv(
        ctx=ctx, project=project, text=text, resolve_user=UserResolver(call.client)
    )
    return end_user_views.import_report(project.locale, project, report)


def new_end_user_session(call: CommandCall) -> None:
    """A session for end users: a key user picks among the modules of their own end users."""
    with call.unit() as ctx:
        project = call.project(ctx)
        modules, _key_users = end_user_service.form_choices(ctx, project)
        mine = end_user_service.session_modules(ctx, project)
        modules = [m for m in modules if m.id in mine]
        if not modules:
            raise NotFound(Msg("enduser.errors.none_yet", code=project.code))
        view = session_views.session_modal(
            project.locale, project, modules, call.user_id, for_end_users=True
        )
    call.open(view)


def create_end_user_sessions(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    call.data = replace(call.data, audience_kind=end_user_service.AUDIENCE)
    return create_sessions(call, ctx)


# ------------------------------------------------------------------------- the listeners


def told(
    callback_id: str,
    submit: Callable[[FormCall, Ctx], tuple[str, list[str]]],
    build: Callable[..., dict[str, Any]],
    who: Right = ANYONE,
    read: Callable[[dict[str, Any]], Any] | None = None,
) -> Form:
    """A form whose outcome is told by DM, the messages it queued sent at once."""
    return Form(callback_id, submit=submit, build=build, read=read, who=who, after=tell)


MODULE_FORM = told(TrainingId.MODULE_MODAL, save_module, views.module_modal, PM, module_input)


def redraw_session_form(call: FormCall, ctx: Ctx) -> dict[str, Any]:
    """The session form again for the audience kind picked: the project from the database, the
    trainer's right checked as on submission."""
    project = form_project(call, ctx)
    modules = service.modules_of(ctx, project.id or 0)
    return session_views.session_modal(
        project.locale, project, modules, call.user_id, data=call.data
    )


SESSION_FORM = replace(
    told(
        TrainingId.SESSION_MODAL,
        create_sessions,
        session_views.session_modal,
        TRAINER,
        session_input,
    ),
    refresh=redraw_session_form,
)
QUESTION_FORM = told(TrainingId.QUESTION_MODAL, save_question, views.question_modal, TRAINER)
QUIZ_FORM = told(TrainingId.QUIZ_MODAL, send_quiz, views.quiz_modal, TRAINER)
PRACTICAL_FORM = told(TrainingId.PRACTICAL_MODAL, save_practical, views.practical_modal, TRAINER)
RESCHEDULE_FORM = told(TrainingId.RESCHEDULE_MODAL, save_reschedule, session_views.reschedule_modal)
ROLL_CALL_FORM = told(
    TrainingId.ROLL_CALL_MODAL,
    save_roll_call,
    session_views.roll_call_modal,
    read=roll_call_statuses,
)
QUIZ_ANSWER_FORM = Form(
    TrainingId.QUIZ_ANSWER_MODAL,
    build=views.quiz_answer_modal,
    submit=score_quiz,
    after=post_score,
)
IMPORT_FORM = listeners.csv_import_form(
    TrainingId.IMPORT_MODAL, run_import, project_key="p", check=check_import
)
END_USER_FORM = told(
    TrainingId.END_USER_MODAL,
    save_end_user,
    end_user_views.end_user_modal,
    END_USERS,
    end_user_input,
)
END_USER_EDIT_FORM = replace(END_USER_FORM, callback_id=TrainingId.END_USER_EDIT_MODAL)
END_USER_SESSION_FORM = told(
    TrainingId.END_USER_SESSION_MODAL,
    create_end_user_sessions,
    session_views.session_modal,
    END_USERS,
    session_input,
)
END_USER_IMPORT_FORM = listeners.csv_import_form(
    TrainingId.END_USER_IMPORT_MODAL,
    run_end_user_import,
    who=END_USERS,
    check=check_end_user_import,
    build=end_user_views.import_modal,
)
FORMS = (
    MODULE_FORM,
    SESSION_FORM,
    QUESTION_FORM,
    QUIZ_FORM,
    PRACTICAL_FORM,
    QUIZ_ANSWER_FORM,
    RESCHEDULE_FORM,
    ROLL_CALL_FORM,
    IMPORT_FORM,
    END_USER_FORM,
    END_USER_EDIT_FORM,
    END_USER_SESSION_FORM,
    END_USER_IMPORT_FORM,
)

COMMAND = Command(
    name="training",
    catalog="training",
    subcommands=(
        Subcommand("curriculum", show_curriculum, args=(CODE,), who=TRAINER, tool=True),
        Subcommand("new", new_session, args=(CODE,), who=TRAINER),
        Subcommand("list", list_sessions, args=(CODE, choice("span", "week", "all")), tool=True),
        Subcommand("roster", show_roster, args=(CODE, NUMBER)),
        Subcommand("attendance", take_attendance, args=(CODE, NUMBER)),
        Subcommand("cancel", cancel_session, args=(CODE, NUMBER), asks="training.ask_cancel"),
        Subcommand("reschedule", open_reschedule, args=(CODE, NUMBER)),
        Subcommand("question", new_question, args=(CODE,), who=TRAINER),
        Subcommand("quiz", new_quiz, args=(CODE,), who=TRAINER),
        Subcommand("quiz results", show_quiz_results, args=(CODE, QUIZ_NUMBER), who=TRAINER),
        Subcommand("practical", new_practical, args=(CODE,), who=TRAINER),
        Subcommand("readiness", show_readiness, args=(CODE,), who=END_USERS, tool=True),
        Subcommand("heatmap", send_heatmap, args=(CODE,), who=TRAINER),
        Subcommand(
            "export", export, args=(choice("what", *EXPORTS, optional=False), CODE), who=TRAINER
        ),
        Subcommand("import curriculum", import_curriculum, args=(CODE,), who=PM),
        Subcommand(
            "import",
            import_rows,
            args=(choice("kind", "questions", "practical", optional=False), CODE),
            who=TRAINER,
        ),
        Subcommand("endusers", list_end_users, args=(CODE,), who=END_USERS, tool=True),
        Subcommand("endusers add", open_end_user_form, args=(CODE,), who=END_USERS),
        Subcommand("endusers import", open_end_user_import, args=(CODE,), who=END_USERS),
        Subcommand("endusers export", export_end_users, args=(CODE,), who=END_USERS),
        Subcommand("endusers session", new_end_user_session, args=(CODE,), who=END_USERS),
        Subcommand("enduser edit", open_end_user_form, args=(CODE, NUMBER), who=END_USERS),
        Subcommand("enduser remove", remove_end_user, args=(CODE, NUMBER), who=END_USERS),
    ),
)

CLICKS: tuple[tuple[Callable[[Click], None], tuple[str, ...]], ...] = (
    (adopt_standard_curriculum, (TrainingId.USE_STANDARD,)),
    (curriculum_from_home, (TrainingId.HOME_CURRICULUM,)),
    (open_module_form, (TrainingId.ADD_MODULE, TrainingId.EDIT_MODULE)),
    (delete_module, (TrainingId.DELETE_MODULE,)),
    (export_from_button, (TrainingId.EXPORT_CURRICULUM, TrainingId.EXPORT_READINESS)),
    (import_from_button, (TrainingId.IMPORT_CURRICULUM,)),
    (open_quiz, (TrainingId.TAKE_QUIZ,)),
    (turn_readiness_page, (TrainingId.READINESS_PAGE,)),
    (roll_call_from_roster, (TrainingId.ROLL_CALL,)),
    (turn_end_users_page, (TrainingId.END_USERS_PAGE,)),
)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)
    for work, action_ids in CLICKS:
        on_click(app, runtime, work, *action_ids)
