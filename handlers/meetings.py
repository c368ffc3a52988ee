"""`/meeting` and its forms: plan a meeting or a series, list, show, cancel, reschedule, record
the outcome and turn action items into issues; "Schedule meeting" from a due plan item and from
the engagement nudge. RSVP and check-in buttons are the calendar core's (``handlers.calendar``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.calendar import service as calendar
from bot.errors import LiaisonError, Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import t
from bot.ids import EngagementId, MeetingId, PlanId
from bot.jobs import issues as issue_notices
from bot.runtime import Runtime
from bot.services import fields
from bot.services import issues as issue_service
from bot.services import meetings as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import common as ui
from bot.views import meetings as views
from handlers.common import (
    dm,
    error_text,
    open_modal,
    refuse_form,
    request_id,
    respond_error,
    unit,
    update_sent,
)
from handlers.commplan import due_source, refresh_due_message
from handlers.home import publish_home


def meeting_input(values: dict[str, Any]) -> service.MeetingInput:
    roles = list(values.get("roles") or [])
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
        roles=[r for r in roles if r != views.ALL_KEY_USERS],
        quadrants=list(values.get("quadrants") or []),
        all_key_users=views.ALL_KEY_USERS in roles,
        team=list(values.get("team") or []),
        agenda=values.get("agenda") or "",
        repeat=values.get("repeat") or "none",
        count=values.get("count") or "",
        until=values.get("until") or None,
        reminders=[m for m in map(fields.whole_number, values.get("reminders") or []) if m],
        allow_maybe="maybe" in options,
        announce="announce" in options,
    )


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings
    command_name = settings.command("meeting")

    def usage(locale: str) -> str:
        return t(locale, "meeting.usage", command=command_name)

    @app.command(command_name)
    def handle_meeting_command(
        ack: Ack, command: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        words = (command.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        channel_id = command.get("channel_id")
        locale = settings.locale
        try:
            if verb == "new" and len(words) <= 2:
                open_new_form(
                    client,
                    command["trigger_id"],
                    context,
                    code=words[1] if len(words) == 2 else None,
                    channel_id=channel_id,
                )
            elif verb == "list" and len(words) <= 3:
                rest = [w.lower() for w in words[1:]]
                scope = "all" if "all" in rest else "week" if "week" in rest else "next"
                codes = [w for w in words[1:] if w.lower() not in ("all", "week")]
                if len(codes) > 1:
                    respond(text=usage(locale), response_type="ephemeral")
                    return
                respond(
                    **list_answer(context, client, codes[0] if codes else None, channel_id, scope),
                    response_type="ephemeral",
                )
            elif verb in ("cancel", "reschedule") and len(words) in (2, 3):
                number = numbered(context, client, words[1:], channel_id)
                open_change_form(client, command["trigger_id"], context, verb, number)
            elif verb.lstrip("#").isdigit() and len(words) == 1:
                number = numbered(context, client, words, channel_id)
                respond(**detail(context, client, number), response_type="ephemeral")
            elif verb == "show" and len(words) in (2, 3):
                number = numbered(context, client, words[1:], channel_id)
                respond(**detail(context, client, number), response_type="ephemeral")
            else:
                respond(text=usage(locale), response_type="ephemeral")
        except LiaisonError as error:
            text = error_text(locale, error)
            if isinstance(error, NotFound):
                text += "\n" + usage(locale)
            respond(text=text, response_type="ephemeral")

    def open_new_form(
        client: WebClient,
        trigger_id: str,
        context: BoltContext,
        *,
        code: str | None = None,
        channel_id: str | None = None,
        project_id: int | None = None,
        defaults: service.MeetingInput | None = None,
        source: dict[str, Any] | None = None,
    ) -> None:
        """The meeting form; ``source`` is the due plan DM it was opened from (redrawn after)."""
        with unit(runtime, context, client) as ctx:
            project = _project(ctx, code, channel_id, project_id)
            if project is not None:
                calendar.require_change(ctx, project)
                projects = [project]
            else:
                projects = [
                    p for p in project_service.list_projects(ctx) if calendar.can_change(ctx, p)
                ]
                if not projects:
                    raise NotFound(Msg("meeting.errors.no_projects"))
                if len(projects) == 1:
                    project = projects[0]
            locale = project.locale if project else settings.locale
            view = views.meeting_modal(
                locale,
                projects=projects,
                project=project,
                data=defaults or service.MeetingInput(),
                source=source,
            )
        open_modal(client, trigger_id, view)

    def _project(ctx: Ctx, code: str | None, channel_id: str | None, project_id: int | None) -> Any:
        if project_id is not None:
            return project_service.get_project_by_id(ctx, project_id)
        if code:
            return project_service.get_project(ctx, code)
        return project_service.project_for_channel(ctx, channel_id)

    def list_answer(
        context: BoltContext,
        client: WebClient,
        code: str | None,
        channel_id: str | None,
        scope: str,
    ) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            project = project_service.resolve_project(ctx, code, channel_id)
            found = service.list_meetings(ctx, project, scope=scope)
            return views.list_message(project.locale, project, found, scope)

    def numbered(
        context: BoltContext, client: WebClient, args: list[str], channel_id: str | None
    ) -> str:
        """`[CODE] 3`: the event id of the project's meeting number 3 (as `/meeting list` shows)."""
        with unit(runtime, context, client) as ctx:
            code = args[0] if len(args) == 2 else None
            project = project_service.resolve_project(ctx, code, channel_id)
            return str(service.meeting_by_number(ctx, project, args[-1]))

    def detail(context: BoltContext, client: WebClient, number: str) -> dict[str, Any]:
        with unit(runtime, context, client) as ctx:
            meeting, event, project = service.get_meeting(ctx, number)
            manage = calendar.can_change(ctx, project, event)
            tally = calendar.tallies(ctx, [event.id or 0]).get(event.id or 0, {})
            size = len(service.series_events(ctx, meeting))
            ordinal = calendar.numbers(ctx, [event])[event.id or 0]
            view = service.MeetingView(meeting, event, dict(tally), size, ordinal)
            roster = calendar.roster(ctx, event) if manage else None
            outcome, items = service.outcome_of(ctx, event.id or 0)
            return views.detail_message(
                project.locale, project, view, roster, outcome, items, manage=manage, now=ctx.now()
            )

    def open_change_form(
        client: WebClient, trigger_id: str, context: BoltContext, verb: str, number: str
    ) -> None:
        with unit(runtime, context, client) as ctx:
            meeting, event, project = service.get_meeting(ctx, number.lstrip("#"))
            calendar.require_change(ctx, project, event)
            if verb == "reschedule":
                view = views.reschedule_modal(project.locale, event)
            else:
                size = len(service.series_events(ctx, meeting))
                view = views.cancel_modal(project.locale, event, size)
        open_modal(client, trigger_id, view)

    # --------------------------------------------------------------------------- saving

    @app.view(MeetingId.NEW_MODAL)
    def save_new_meeting(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        metadata = ui.read_metadata(view)
        data = meeting_input(values)
        data.plan_occurrence_id = fields.record_id(metadata.get("plan_occurrence_id"))
        project_id = metadata.get("project_id") or values.get("project")
        locale = settings.locale
        team_id = context.team_id or ""
        try:
            with unit(runtime, context, client) as ctx:
                if not project_id:
                    raise ValidationError({"project": Msg("errors.required")})
                project = project_service.get_project_by_id(ctx, request_id(project_id))
                locale = project.locale
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                meetings, keys = service.create_meeting(
                    ctx=ctx, project=project, data=data, messages=views.MESSAGES
                )
                event = calendar.get_event(ctx, meetings[0].event_id)
                number = calendar.numbers(ctx, [event])[event.id or 0]
                text = views.created_text(locale, project, meetings, event, number)
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        runtime.sender().deliver_due(team_id=team_id, keys=keys)
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))
        if data.plan_occurrence_id and isinstance(metadata.get("source"), dict):
            ts = metadata["source"].get("ts")
            refresh_due_message(runtime, client, context, ts, data.plan_occurrence_id)

    def save_change(
        ack: Ack,
        view: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        change: Callable[[Ctx, Any, str], tuple[str, list[str]]],
    ) -> None:
        """A reschedule or cancel form: the change (``change(ctx, event_id, locale)`` gives the
        organizer's confirmation and the outbox keys) once per submission, inline errors else."""
        event_id = ui.read_metadata(view).get("event_id")
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                _, _, project = service.get_meeting(ctx, event_id)
                locale = project.locale
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                text, keys = change(ctx, event_id, locale)
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        runtime.sender().deliver_due(team_id=context.team_id, keys=keys)
        dm(client, context.user_id or "", ui.message(text, [ui.section(text)]))

    @app.view(MeetingId.RESCHEDULE_MODAL)
    def save_new_time(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        duration = values.get("duration")

        def move(ctx: Ctx, event_id: Any, locale: str) -> tuple[str, list[str]]:
            moved, keys = service.reschedule_meeting(
                ctx=ctx,
                event_id=event_id,
                starts_at=fields.moment(values.get("starts_at")),
                duration_minutes=fields.whole_number(duration),
                messages=views.MESSAGES,
            )
            text = t(
                locale,
                "meeting.rescheduled",
                title=moved.title,
                when=views.calendar_views.when(locale, moved),
                count=len(calendar.roster(ctx, moved)),
            )
            return text, keys

        save_change(ack, view, client, context, move)

    @app.view(MeetingId.CANCEL_MODAL)
    def confirm_cancel(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        scope = ui.read_values(view).get("scope") or "one"

        def cancel(ctx: Ctx, event_id: Any, locale: str) -> tuple[str, list[str]]:
            cancelled, keys = service.cancel_meeting(
                ctx=ctx, event_id=event_id, whole_series=scope == "series", messages=views.MESSAGES
            )
            text = t(locale, "meeting.cancelled", title=cancelled[0].title, count=len(cancelled))
            return text, keys

        save_change(ack, view, client, context, cancel)

    # ---------------------------------------------------------------------------- buttons

    @app.action(MeetingId.RESCHEDULE)
    def open_reschedule(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        open_change_form(
            client, body["trigger_id"], context, "reschedule", action.get("value") or ""
        )

    @app.action(MeetingId.CANCEL)
    def open_cancel(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        open_change_form(client, body["trigger_id"], context, "cancel", action.get("value") or "")

    @app.action(MeetingId.OUTCOME)
    def open_outcome_form(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        with unit(runtime, context, client) as ctx:
            _, event, project = service.get_meeting(ctx, action.get("value"))
            if not calendar.can_take_attendance(ctx, project, event):
                raise PermissionDenied(Msg("calendar.errors.not_organizer"))
            outcome, items = service.outcome_of(ctx, event.id or 0)
            view = views.outcome_modal(
                project.locale, event, calendar.roster(ctx, event), outcome, items
            )
        open_modal(client, body["trigger_id"], view)

    @app.view(MeetingId.OUTCOME_MODAL)
    def save_outcome(
        ack: Ack, view: dict[str, Any], client: WebClient, context: BoltContext
    ) -> None:
        values = ui.read_values(view)
        event_id = ui.read_metadata(view).get("event_id")
        actions = [
            service.ActionInput(
                text=values.get(f"action_{n}_text") or "",
                owner_id=values.get(f"action_{n}_owner"),
                due_date=values.get(f"action_{n}_due"),
            )
            for n in range(1, service.MAX_ACTION_ITEMS + 1)
        ]
        locale = settings.locale
        try:
            with unit(runtime, context, client) as ctx:
                _, event, project = service.get_meeting(ctx, event_id)
                locale = project.locale
                if not ctx.claim(f"view:{view['id']}:{view.get('hash', '')}"):
                    ack()
                    return
                outcome, items = service.record_outcome(
                    ctx=ctx,
                    event_id=event_id,
                    attended=list(values.get("attended") or []),
                    minutes=values.get("minutes") or "",
                    decisions=values.get("decisions") or "",
                    actions=actions,
                )
                message = views.outcome_message(locale, project, event, outcome, items, {})
                key = service.send_outcome_summary(ctx, event, message, version=view["id"])
        except LiaisonError as error:
            refuse_form(ack, locale, error, view)
            return
        ack()
        runtime.sender().deliver_due(team_id=context.team_id or "", keys=[key])

    @app.action(MeetingId.ACTION_TO_ISSUE)
    def turn_action_into_issue(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        locale = settings.locale
        team_id = context.team_id or ""
        try:
            with unit(runtime, context, client) as ctx:
                if not ctx.claim(f"action_to_issue:{action.get('value')}"):
                    return
                item, change = service.action_to_issue(ctx=ctx, item_id=action.get("value"))
                project = change.project
                locale = project.locale
                keys = issue_notices.announce_created(ctx, change)
                ref = issue_service.issue_key(project, change.issue)
                event = calendar.get_event(ctx, item.event_id)
                outcome, items = service.outcome_of(ctx, item.event_id)
                refs = {
                    i.id or 0: ref if i.id == item.id else _ref(ctx, project, i.issue_id)
                    for i in items
                    if i.issue_id
                }
                assert outcome is not None
                message = views.outcome_message(locale, project, event, outcome, items, refs)
                clicked = (body.get("container") or {}).get("message_ts")
                summary = service.outcome_summary(ctx, item.event_id, clicked)
        except LiaisonError as error:
            respond_error(respond, locale, error)
            return
        issue_notices.deliver(runtime, team_id, keys)
        if not update_sent(client, summary, message):
            # Clicked elsewhere (the meeting's details) or forged: the summary to this person only.
            respond(response_type="ephemeral", replace_original=False, **message)
        for person in dict.fromkeys([context.user_id or "", change.issue.owner_id or ""]):
            if person:
                publish_home(runtime, client, team_id, person)

    def _ref(ctx: Ctx, project: Any, issue_id: int | None) -> str:
        issue, _ = issue_service.get_issue(ctx, issue_id or 0)
        return issue_service.issue_key(project, issue)

    @app.action(PlanId.DUE_SCHEDULE)
    def schedule_from_plan(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        with unit(runtime, context, client) as ctx:
            occurrence_id = request_id(action.get("value"))
            project, defaults = service.planner_default_meeting(ctx, occurrence_id)
        open_new_form(
            client,
            body["trigger_id"],
            context,
            project_id=project.id,
            defaults=defaults,
            source=due_source(body),
        )

    @app.action(EngagementId.SCHEDULE)
    def schedule_from_nudge(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
    ) -> None:
        ack()
        project_id, _, user_id = (action.get("value") or "").partition(":")
        defaults = service.MeetingInput(people=[user_id] if user_id else [])
        open_new_form(
            client,
            body["trigger_id"],
            context,
            project_id=request_id(project_id),
            defaults=defaults,
        )
