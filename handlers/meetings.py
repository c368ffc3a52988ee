"""`/meeting` and its forms: plan a meeting or a series, list, show, cancel, reschedule, record
the outcome and turn action items into issues; "Schedule meeting" from a due plan item and from
the engagement nudge. RSVP and check-in buttons are the calendar core's (``handlers.calendar``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.calendar import attendance
from bot.calendar import service as calendar
from bot.errors import LiaisonError, Msg, PermissionDenied
from bot.i18n import t
from bot.ids import EngagementId, MeetingId, PlanId
from bot.jobs import issues as issue_notices
from bot.runtime import Runtime
from bot.services import fields
from bot.services import issues as issue_service
from bot.services import meeting_outcomes as outcomes
from bot.services import meetings as service
from bot.services import projects as project_service
from bot.services import risks as risk_service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import meetings as views
from handlers import listeners
from handlers.common import dm, error_text, request_id, update_sent
from handlers.commplan import due_source, refresh_due_message, snooze_item
from handlers.listeners import (
    CODE,
    NUMBER,
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
from storage.models import CalendarEvent, Meeting, MeetingActionItem, Project

# Who plans and changes a project's meetings: its PMs and team (and workspace admins).
PLANNERS = Right(
    "team", calendar.can_change, "calendar.errors.not_team", "meeting.errors.no_projects"
)


def meeting_input(values: dict[str, Any]) -> service.MeetingInput:
    pick = ui.read_audience(values, default="none")
    options = list(values.get("options") or [])
    duration = values.get("duration")
    return service.MeetingInput(
        title=values.get("title") or "",
        kind=values.get("kind") or "",
        starts_at=fields.moment(values.get("starts_at")),
        duration_minutes=fields.whole_number(duration),
        location=values.get("location") or "",
        video_url=(values.get("video_url") or "").strip(),
        people=list(values.get("people") or []),
        audience_kind=pick.kind,
        roles=list(pick.roles) if pick.kind == "role" else [],
        quadrants=list(pick.quadrants) if pick.kind == "quadrant" else [],
        all_key_users=pick.kind == "all",
        team=list(values.get("team") or []),
        agenda=values.get("agenda") or "",
        repeat=values.get("repeat") or "none",
        count=str(values.get("count") or ""),
        until=values.get("until") or None,
        reminders=[m for m in map(fields.whole_number, values.get("reminders") or []) if m],
        allow_maybe="maybe" in options,
        announce="announce" in options,
    )


def action_items(values: dict[str, Any]) -> list[outcomes.ActionInput]:
    return [
        outcomes.ActionInput(
            text=values.get(f"action_{n}_text") or "",
            owner_id=values.get(f"action_{n}_owner"),
            due_date=values.get(f"action_{n}_due"),
        )
        for n in range(1, outcomes.MAX_ACTION_ITEMS + 1)
    ]


# ------------------------------------------------------------------------------ /meeting


def numbered(call: CommandCall, ctx: Ctx) -> int:
    """`[CODE] 3`: the event id of the project's meeting number 3 (as `/meeting list` shows)."""
    return service.meeting_by_number(ctx, call.project(ctx), call.args["number"])


def new_meeting(call: CommandCall) -> None:
    call.open_form(NEW_FORM, data=service.MeetingInput())


def list_meetings(call: CommandCall) -> dict[str, Any]:
    scope = call.args.get("scope") or "next"
    with call.unit() as ctx:
        project = call.project(ctx)
        found = service.list_meetings(ctx, project, scope=scope)
        return views.list_message(project.locale, project, found, scope)


def show_meeting(call: CommandCall) -> dict[str, Any]:
    with call.unit() as ctx:
        meeting, event, project = service.get_meeting(ctx, numbered(call, ctx))
        manage = calendar.can_change(ctx, project, event)
        tally = calendar.tallies(ctx, [event.id or 0]).get(event.id or 0, {})
        size = len(service.series_events(ctx, meeting))
        ordinal = calendar.numbers(ctx, [event])[event.id or 0]
        view = service.MeetingView(meeting, event, dict(tally), size, ordinal)
        roster = attendance.roster(ctx, event) if manage else None
        outcome, items = outcomes.outcome_of(ctx, event.id or 0)
        return views.detail_message(
            project.locale, project, view, roster, outcome, items, manage=manage, now=ctx.now()
        )


def change_meeting(call: CommandCall) -> None:
    """`cancel` and `reschedule`: the form of that change."""
    with call.unit() as ctx:
        view = change_form(ctx, call.sub.verb, numbered(call, ctx))
    call.open(view)


# ------------------------------------------------------------------------ opening forms


def change_form(ctx: Ctx, verb: str, event_id: Any) -> dict[str, Any]:
    """The reschedule or cancel form of a meeting, for those who may change it."""
    meeting, event, project = service.get_meeting(ctx, event_id)
    calendar.require_change(ctx, project, event)
    if verb == "reschedule":
        return RESCHEDULE_FORM.build(project.locale, event)
    return CANCEL_FORM.build(project.locale, event, len(service.series_events(ctx, meeting)))


def outcome_form(ctx: Ctx, event_id: Any) -> dict[str, Any]:
    _, event, project = service.get_meeting(ctx, event_id)
    if not attendance.can_take_attendance(ctx, project, event):
        raise PermissionDenied(Msg("calendar.errors.not_organizer"))
    outcome, items = outcomes.outcome_of(ctx, event.id or 0)
    return OUTCOME_FORM.build(project.locale, event, attendance.roster(ctx, event), outcome, items)


def prefilled_form(
    ctx: Ctx,
    project_id: int,
    defaults: service.MeetingInput,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The meeting form for one project, filled in; ``source`` is the due plan DM it was opened
    from (redrawn once the meeting is planned)."""
    project = PLANNERS.check(ctx, project_service.get_project_by_id(ctx, project_id))
    return NEW_FORM.build(
        project.locale, projects=[project], project=project, data=defaults, source=source
    )


def form_from_plan(ctx: Ctx, value: str, body: dict[str, Any]) -> dict[str, Any]:
    """ "Schedule meeting" on a due plan item: its kind, title and people."""
    project, defaults = service.planner_default_meeting(ctx, request_id(value))
    return prefilled_form(ctx, project.id or 0, defaults, due_source(body))


def form_from_nudge(ctx: Ctx, value: str, body: dict[str, Any]) -> dict[str, Any]:
    """ "Schedule meeting" in the engagement nudge: with the key user it names."""
    project_id, _, user_id = value.partition(":")
    defaults = service.MeetingInput(people=[user_id] if user_id else [])
    return prefilled_form(ctx, request_id(project_id), defaults)


# Buttons that open a form: the form's view from the button's value and the request.
OPENERS: dict[str, Callable[[Ctx, str, dict[str, Any]], dict[str, Any]]] = {
    MeetingId.RESCHEDULE: lambda ctx, value, body: change_form(ctx, "reschedule", value),
    MeetingId.CANCEL: lambda ctx, value, body: change_form(ctx, "cancel", value),
    MeetingId.OUTCOME: lambda ctx, value, body: outcome_form(ctx, value),
    PlanId.DUE_SCHEDULE: form_from_plan,
    EngagementId.SCHEDULE: form_from_nudge,
}


# ------------------------------------------------------------------------------- saving


def form_meeting(call: FormCall, ctx: Ctx) -> tuple[Meeting, CalendarEvent, Project]:
    """The meeting a form is about (its event id in the metadata), answered in its language."""
    meeting, event, project = service.get_meeting(ctx, call.metadata.get("event_id"))
    call.locale = project.locale
    return meeting, event, project


def create_meeting(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    project = call.project(ctx)
    data: service.MeetingInput = call.data
    data.plan_occurrence_id = fields.record_id(call.metadata.get("plan_occurrence_id"))
    meetings, keys = service.create_meeting(
        ctx=ctx, project=project, data=data, messages=views.MESSAGES
    )
    event = calendar.get_event(ctx, meetings[0].event_id)
    number = calendar.numbers(ctx, [event])[event.id or 0]
    return views.created_text(project.locale, project, meetings, event, number), keys


def announce_meeting(call: FormCall, created: tuple[str, list[str]]) -> None:
    tell_organizer(call, created)
    occurrence_id = call.data.plan_occurrence_id
    source = call.metadata.get("source")
    if occurrence_id and isinstance(source, dict):
        refresh_due_message(call, source.get("ts"), occurrence_id)


def move_meeting(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    _, event, _ = form_meeting(call, ctx)
    moved, keys = service.reschedule_meeting(
        ctx=ctx,
        event_id=event.id,
        starts_at=fields.moment(call.values.get("starts_at")),
        duration_minutes=fields.whole_number(call.values.get("duration")),
        messages=views.MESSAGES,
    )
    text = t(
        call.locale,
        "meeting.rescheduled",
        title=moved.title,
        when=views.calendar_views.when(call.locale, moved),
        count=len(attendance.roster(ctx, moved)),
    )
    return text, keys


def cancel_meeting(call: FormCall, ctx: Ctx) -> tuple[str, list[str]]:
    _, event, _ = form_meeting(call, ctx)
    cancelled, keys = service.cancel_meeting(
        ctx=ctx,
        event_id=event.id,
        whole_series=call.values.get("scope") == "series",
        messages=views.MESSAGES,
    )
    text = t(call.locale, "meeting.cancelled", title=cancelled[0].title, count=len(cancelled))
    return text, keys


def tell_organizer(call: FormCall, told: tuple[str, list[str]]) -> None:
    """The change goes out to those invited, and its confirmation to who made it, by DM."""
    text, keys = told
    call.deliver(keys)
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))


def record_outcome(call: FormCall, ctx: Ctx) -> str:
    """Minutes, decisions, who came and the action items; the summary queued to those invited
    (one version per submitted form)."""
    _, event, project = form_meeting(call, ctx)
    outcome, items = outcomes.record_outcome(
        ctx=ctx,
        event_id=event.id,
        attended=list(call.values.get("attended") or []),
        minutes=call.values.get("minutes") or "",
        decisions=call.values.get("decisions") or "",
        actions=action_items(call.values),
    )
    message = views.outcome_message(
        project.locale,
        project,
        event,
        outcome,
        items,
        {},
        may_raise_risks=risk_service.can_raise(ctx, project),
    )
    return outcomes.send_outcome_summary(ctx, event, message, version=call.view["id"])


def send_summary(call: FormCall, key: str) -> None:
    call.deliver([key])


def redraw_meeting_form(call: FormCall, ctx: Ctx) -> dict[str, Any]:
    """The meeting form again for the choices made in it (what the metadata names is read from
    the database and checked like a submission)."""
    data: service.MeetingInput = call.data
    raw = call.metadata.get("project_id")
    if raw:
        project: Project | None = call.project(ctx, raw)
        projects = [project] if project else []
        chosen = None
    else:
        project = None
        _, projects = PLANNERS.choice(ctx, None, call.runtime.settings.command("project"))
        chosen = str(call.values.get("project") or "") or None
        call.locale = projects[0].locale if len(projects) == 1 else call.locale
    data.plan_occurrence_id = fields.record_id(call.metadata.get("plan_occurrence_id"))
    source = call.metadata.get("source")
    locale = project.locale if project else call.locale
    return views.meeting_modal(
        locale,
        projects=projects,
        project=project,
        data=data,
        source=source if isinstance(source, dict) else None,
        chosen_project=chosen,
    )


NEW_FORM = Form(
    MeetingId.NEW_MODAL,
    build=views.meeting_modal,
    read=meeting_input,
    who=PLANNERS,
    submit=create_meeting,
    after=announce_meeting,
    refresh=redraw_meeting_form,
)
RESCHEDULE_FORM = Form(
    MeetingId.RESCHEDULE_MODAL, move_meeting, build=views.reschedule_modal, after=tell_organizer
)
CANCEL_FORM = Form(
    MeetingId.CANCEL_MODAL, cancel_meeting, build=views.cancel_modal, after=tell_organizer
)
OUTCOME_FORM = Form(
    MeetingId.OUTCOME_MODAL, record_outcome, build=views.outcome_modal, after=send_summary
)
FORMS = (NEW_FORM, RESCHEDULE_FORM, CANCEL_FORM, OUTCOME_FORM)
COMMAND = Command(
    name="meeting",
    catalog="meeting",
    subcommands=(
        Subcommand("new", new_meeting, args=(CODE,), who=PLANNERS),
        Subcommand("list", list_meetings, args=(CODE, choice("scope", "week", "all")), tool=True),
        Subcommand("show", show_meeting, args=(CODE, NUMBER)),
        Subcommand("cancel", change_meeting, args=(CODE, NUMBER)),
        Subcommand("reschedule", change_meeting, args=(CODE, NUMBER)),
    ),
    other=show_meeting,
    other_args=(NUMBER,),
)


# ------------------------------------------------------------------------------ buttons


def summary_with_issue(
    ctx: Ctx, item: MeetingActionItem, change: issue_service.Change
) -> dict[str, Any]:
    """The meeting's outcome summary again, each action item that became an issue naming it."""
    project = change.project
    ref = issue_service.issue_key(project, change.issue)
    event = calendar.get_event(ctx, item.event_id)
    outcome, items = outcomes.outcome_of(ctx, item.event_id)
    refs = {
        i.id or 0: ref if i.id == item.id else _ref(ctx, project, i.issue_id)
        for i in items
        if i.issue_id
    }
    assert outcome is not None
    return views.outcome_message(
        project.locale,
        project,
        event,
        outcome,
        items,
        refs,
        may_raise_risks=risk_service.can_raise(ctx, project),
    )


def _ref(ctx: Ctx, project: Project, issue_id: int | None) -> str:
    issue, _ = issue_service.get_issue(ctx, issue_id or 0)
    return issue_service.issue_key(project, issue)


def open_form(click: Click) -> None:
    """A button that opens one of the meeting forms (``OPENERS``)."""
    with click.unit() as ctx:
        view = OPENERS[click.action_id](ctx, click.value or "", click.body)
    click.open(view)


def turn_action_into_issue(click: Click) -> str | None:
    clicked = (click.body.get("container") or {}).get("message_ts")
    locale = click.runtime.settings.locale
    try:
        with click.unit() as ctx:
            if not ctx.claim(f"action_to_issue:{click.value}"):
                return None
            item, change = outcomes.action_to_issue(ctx=ctx, item_id=click.value)
            locale = change.project.locale
            keys = issue_notices.announce_created(ctx, change)
            message = summary_with_issue(ctx, item, change)
            summary = outcomes.outcome_summary(ctx, item.event_id, clicked)
    except LiaisonError as error:
        return error_text(locale, error)  # in the project's language, not the person's
    issue_notices.deliver(click.runtime, click.team_id, keys)
    if not update_sent(click.client, summary, message):
        # Clicked elsewhere (the meeting's details) or forged: the summary to this person only.
        click.answer(message)
    click.refresh_home(click.user_id, change.issue.owner_id or "")
    return None


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, command=COMMAND, forms=FORMS)
    for action_id in OPENERS:
        clicks(app.action(action_id), runtime)(open_form)
    clicks(app.action(MeetingId.ACTION_TO_ISSUE), runtime)(turn_action_into_issue)
    # A due plan item's menu: snooze it (the plan's own) or schedule its meeting (here).
    due_menu = {PlanId.DUE_SNOOZE: snooze_item, PlanId.DUE_SCHEDULE: open_form}
    clicks(app.action(PlanId.DUE_MORE), runtime)(listeners.menu(due_menu))
