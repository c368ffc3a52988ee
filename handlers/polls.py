"""`/poll` and its forms (create in steps, answer), the DM buttons, results and CSV export."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot import charts
from bot.errors import LiaisonError, Msg, PermissionDenied, ValidationError
from bot.i18n import plain, slack_date, t
from bot.ids import PollId
from bot.runtime import Runtime
from bot.services import fields, poll_results
from bot.services import poll_closing as closing
from bot.services import polls as service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import polls as views
from handlers import listeners
from handlers.common import dm, error_text, request_id, update_sent
from handlers.listeners import PM, Click, CommandCall, Form, FormCall, Subcommand, clicks
from storage.models import Poll, PollStatus, Project

RATE_ACTION = re.compile("^" + re.escape(PollId.RATE_PREFIX))
METADATA_LIMIT = 3000
QUESTION_FIELDS = {"question_kind", "question_text", "question_options"}
# A poll's number as `/poll list` shows it: "1" or "#1".
NUMBER = replace(listeners.NUMBER, example="1")


def settings_draft(values: dict[str, Any], project_id: int, locale: str) -> dict[str, Any]:
    """Step 1's answers as the compact draft carried in the next modals' private_metadata."""
    template = values.get("template")
    template = template if template and template != "none" else None
    title = (values.get("title") or "").strip()
    if not title and template in service.TEMPLATES:  # another is refused with the settings
        title = plain(locale, f"poll.template.{template}")
    questions = service.template_questions(locale, template)
    audience = ui.read_audience(values)
    return {
        "p": project_id,
        "s": {
            "title": title,
            "intro": values.get("intro") or "",
            "template": template,
            "ak": audience.kind,
            "roles": list(audience.roles),
            "quadrants": list(audience.quadrants),
            "people": list(audience.people),
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


# --------------------------------------------------------------------------------- /poll


def numbered(call: CommandCall, ctx: Ctx) -> tuple[Project, Poll]:
    """`[CODE] 3`: the project's poll number 3 (as `/poll list` shows it), for one of its PMs."""
    project = call.project(ctx)
    return project, service.by_number(ctx, project, call.args["number"])


def new_poll(call: CommandCall) -> None:
    call.open_form(SETTINGS_FORM)


def new_poll_from_home(click: Click) -> None:
    """A new project's next step on the PM's Home: the new poll form for that project."""
    with click.unit() as ctx:
        project = PM.check(ctx, click.project(ctx))
        view = views.settings_modal(project.locale, projects=[project], project=project)
    click.open(view)


def list_polls(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        project = call.project(ctx)
        rows = []
        polls = service.list_polls(ctx, project)
        for poll in polls:
            people = service.participants_of(ctx, poll)
            rows.append((poll, len(people), sum(1 for p in people if p.answered)))
        return views.poll_list(project.locale, project, rows, service.numbers(ctx, polls))


def close_poll(call: CommandCall) -> str:
    with call.unit() as ctx:
        project, poll = numbered(call, ctx)
        recurring = poll.recurrence != service.Recurrence.NONE
        poll, keys = closing.close_by_pm(ctx=ctx, poll_id=poll.id or 0, messages=views.MESSAGES)
        text = t(
            project.locale,
            "poll.closed_by_pm",
            id=service.number_of(ctx, poll),
            title=poll.title,
            series_ended=recurring,
        )
    call.deliver(keys)
    return text


def show_results(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        project, poll = numbered(call, ctx)
        figures = poll_results.results_for_pm(ctx, poll.id or 0)
        locale = project.locale
        message = views.results(locale, figures, project=project)
        png = charts.results_chart(figures, locale)
        number = service.number_of(ctx, poll)
    payload = closing.chart_payload(project, poll, png, call.user_id)
    upload_to_dm(
        call,
        content=png,
        filename=payload["filename"],
        title=payload["title"],
        alt_txt=payload["alt_txt"],
        initial_comment=t(locale, "poll.chart_comment", title=poll.title),
    )
    message["text"] = t(locale, "poll.results_posted", id=number)
    return message


def export(call: CommandCall) -> str:
    with call.unit() as ctx:
        project, poll = numbered(call, ctx)
        poll, content = poll_results.export_csv(ctx, poll.id or 0)
        number = service.number_of(ctx, poll)
    upload_to_dm(
        call,
        content=content,
        filename=f"poll-{project.code}-{number}-round-{poll.round_number}.csv",
        title=plain(project.locale, "poll.export_title", id=number),
    )
    return t(project.locale, "poll.exported", id=number)


def upload_to_dm(call: CommandCall, **upload: Any) -> None:
    """A file (a chart, an export) into the app's DM with the person who asked."""
    channel = call.client.conversations_open(users=call.user_id)["channel"]["id"]
    call.client.files_upload_v2(channel=channel, **upload)


# ------------------------------------------------------------------------------ creating


def check_settings(call: FormCall, ctx: Ctx) -> None:
    """Step 1: the settings, checked; the form becomes the questions step, the draft in it."""
    project = call.project(ctx)
    draft = settings_draft(call.values, project.id or 0, project.locale)
    service.clean_settings(ctx, poll_input(draft))
    call.answer = {
        "response_action": "update",
        "view": views.questions_modal(project.locale, draft),
    }


def add_question_or_create(call: FormCall, ctx: Ctx) -> tuple[str, list[str]] | None:
    """Steps 2..n: one more question (the form shows the draft again), or the poll created."""
    draft = call.metadata
    project = call.project(ctx, request_id(draft.get("p")))
    locale = project.locale
    try:
        poll_input(draft)  # the draft is one this form wrote
        question = question_input(call.values)
        if question.text.strip():
            asked = list(draft.get("q") or [])
            draft["q"] = [*asked, service.clean_question(question).compact()]
        if len(json.dumps(draft)) > METADATA_LIMIT:
            raise ValidationError({"question_text": Msg("poll.errors.draft_too_long")})
        if call.values.get("then") != "create":
            call.answer = {
                "response_action": "update",
                "view": views.questions_modal(locale, draft),
            }
            return None
        poll, keys = service.create_poll(
            ctx=ctx, project=project, data=poll_input(draft), messages=views.MESSAGES
        )
    except ValidationError as error:
        raise in_questions_form(locale, error) from None
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
    return text, keys


def in_questions_form(locale: str, error: ValidationError) -> ValidationError:
    """A settings error found only at the last step (e.g. the opening time has passed meanwhile)
    is shown in the questions form, which has no field of its own for it, naming the setting."""
    if not set(error.errors) - QUESTION_FIELDS:
        return error
    return ValidationError(
        {
            "": "; ".join(
                f"{name}: {error_text(locale, ValidationError({name: message}))}"
                for name, message in error.errors.items()
            )
        }
    )


def announce_poll(call: FormCall, created: tuple[str, list[str]] | None) -> None:
    if created is None:
        return
    text, keys = created
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.deliver(keys)
    call.refresh_home()


# ----------------------------------------------------------------------------- answering


def _update_invitation(
    client: WebClient, ctx: Ctx, poll: Poll, user_id: str, message: dict[str, Any]
) -> bool:
    """Rewrite the person's own invitation DM (found in the outbox, never from the request)."""
    return update_sent(client, service.invitation_of(ctx, poll, user_id), message)


def _show_closed(click: Click, ctx: Ctx, poll_id: Any, error: LiaisonError) -> str:
    """A closed poll's DM redrawn as closed; the refusal in the poll's language."""
    poll = service.get_poll(ctx, poll_id)
    project = service.project_of(ctx, poll)
    locale = project.locale
    person = service.participant(ctx, poll, click.user_id)
    if person is not None:
        message = views.closed(locale, poll, person.answered, project=project)
        _update_invitation(click.client, ctx, poll, click.user_id, message)
    return error_text(locale, error)


# The answer form to open (the poll and the answers so far), or None when the click answered.
AnswerForm = tuple[Poll, dict[str, Any]] | None


def to_answer(click: Click, ctx: Ctx, poll_id: Any) -> AnswerForm:
    """ "Answer" or "Edit my answer": the form, with the answers given so far."""
    poll, person = service.answerable(ctx, poll_id, click.user_id)
    if poll.anonymous and person.answered:
        raise PermissionDenied(Msg("poll.errors.anonymous_final"))
    return poll, service.current_answers(ctx, poll, click.user_id)


def rate(click: Click, ctx: Ctx, poll_id: Any) -> AnswerForm:
    """A rating button in the DM: the answer is saved and the DM says so; when other required
    questions are open, or the answer is anonymous (final, so confirmed in the form), the form
    with this rating chosen instead."""
    _prefix, _sep, rest = click.action_id.partition(":")
    question_id, _sep, rating = rest.partition(":")
    outcome, merged = service.answer_from_button(
        ctx=ctx,
        poll_id=poll_id,
        user_id=click.user_id,
        question_id=request_id(question_id),
        value=fields.whole_number(rating),
    )
    poll = service.get_poll(ctx, poll_id)
    if outcome is None:
        return poll, merged
    project = service.project_of(ctx, poll)
    message = views.answered(project.locale, poll, project=project)
    _update_invitation(click.client, ctx, poll, click.user_id, message)
    return None


def poll_button(click: Click) -> str | None:
    """A button of the poll's DM: the answer form, or a rating saved at once. A closed poll's
    DM is redrawn as closed."""
    poll_id = views.read_value(click.value).get("p")
    clicked = rate if RATE_ACTION.match(click.action_id) else to_answer
    with click.unit() as ctx:
        try:
            form = clicked(click, ctx, poll_id)
        except service.PollClosed as error:
            return _show_closed(click, ctx, poll_id, error)
        if form is not None:
            poll, current = form
            locale = service.project_of(ctx, poll).locale
            questions = service.questions_of(ctx, poll)
            click.open(views.answer_modal(locale, poll, questions, current, {"p": poll.id}))
            return None
    click.refresh_home()
    return None


def answers_in(values: dict[str, Any]) -> dict[str, Any]:
    """The answer form's values, one per question (`q<id>`)."""
    return {key: value for key, value in values.items() if key.startswith("q")}


def save_answers(call: FormCall, ctx: Ctx) -> service.AnswerOutcome:
    poll = service.get_poll(ctx, call.metadata.get("p"))
    call.locale = service.project_of(ctx, poll).locale
    return service.submit_answers(
        ctx=ctx, poll_id=poll.id or 0, user_id=call.user_id, raw=call.data
    )


def confirm_answers(call: FormCall, outcome: service.AnswerOutcome) -> None:
    """The invitation DM says it is answered; if it cannot be found, a DM says so instead."""
    with call.unit() as ctx:
        project = service.project_of(ctx, outcome.poll)
        message = views.answered(call.locale, outcome.poll, project=project)
        updated = _update_invitation(call.client, ctx, outcome.poll, call.user_id, message)
    if not updated:
        text = t(call.locale, "poll.answer_saved", title=outcome.poll.title)
        dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.refresh_home()


def redraw_settings(call: FormCall, ctx: Ctx) -> dict[str, Any]:
    """Step 1 again for the audience kind picked (the project read from the database and the
    PM's right checked, as on submission)."""
    raw = call.metadata.get("project_id")
    if raw:
        project = call.project(ctx, raw)
        return views.settings_modal(
            project.locale, projects=[project], project=project, typed=call.values
        )
    _, projects = PM.choice(ctx, None, call.runtime.settings.command("project"))
    return views.settings_modal(call.locale, projects=projects, project=None, typed=call.values)


SETTINGS_FORM = Form(
    PollId.NEW_MODAL,
    build=views.settings_modal,
    who=PM,
    submit=check_settings,
    refresh=redraw_settings,
)
QUESTIONS_FORM = Form(
    PollId.QUESTIONS_MODAL, who=PM, submit=add_question_or_create, after=announce_poll
)
ANSWER_FORM = Form(PollId.ANSWER_MODAL, read=answers_in, submit=save_answers, after=confirm_answers)
FORMS = (SETTINGS_FORM, QUESTIONS_FORM, ANSWER_FORM)
COMMAND = listeners.Command(
    name="poll",
    catalog="poll",
    subcommands=(
        Subcommand("new", new_poll, args=(listeners.CODE,), who=PM),
        Subcommand("list", list_polls, args=(listeners.CODE,)),
        Subcommand(
            "close", close_poll, args=(listeners.CODE, NUMBER), who=PM, asks="poll.ask_close"
        ),
        Subcommand("results", show_results, args=(listeners.CODE, NUMBER), who=PM),
        Subcommand("export", export, args=(listeners.CODE, NUMBER), who=PM),
    ),
)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)

    for action_id in (PollId.ANSWER, PollId.EDIT, RATE_ACTION):
        clicks(app.action(action_id), runtime)(poll_button)
    clicks(app.action(PollId.HOME_NEW), runtime)(new_poll_from_home)
