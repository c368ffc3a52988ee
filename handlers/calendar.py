"""The buttons of every calendar invitation (trainings and meetings): RSVP and self check-in.

The button's value names the event; the service checks that the clicking person is invited, so a
forged value changes nothing. The invitation DM is updated in place to show the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.calendar import attendance, service
from bot.errors import LiaisonError
from bot.ids import CalendarId
from bot.runtime import Runtime
from bot.services.context import Ctx
from bot.views import calendar as views
from handlers.common import respond_error, unit, update_sent
from storage.models import CalendarEvent, Invitation

RSVP_ACTION = re.compile("^" + re.escape(CalendarId.RSVP_PREFIX))


Answer = tuple[CalendarEvent, Invitation, int | None, list[str]]


def answer_in_place(
    runtime: Runtime,
    client: WebClient,
    context: BoltContext,
    respond: Respond,
    value: Any,
    act: Callable[[Ctx, CalendarEvent], Answer],
) -> None:
    """`act` for the clicking person on the event the button names (the event, their invitation,
    their place on the waitlist and the messages to send), then their answer shown in the
    invitation DM; a refusal is told to them only."""
    event_id = views.read_value(value).get("e")
    locale = runtime.settings.locale
    with unit(runtime, context, client) as ctx:
        try:
            event = service.get_event(ctx, event_id)
            locale = service.project_of(ctx, event).locale
            event, invitation, position, keys = act(ctx, event)
        except LiaisonError as error:
            respond_error(respond, locale, error)
            return
        payload = views.invitation(locale, event, invitation, position)
        message = service.invitation_message(ctx, event, invitation)
    update_sent(client, message, payload)
    if keys:
        runtime.sender().deliver_due(team_id=context.team_id, keys=keys)


def register(app: App, runtime: Runtime) -> None:
    @app.action(RSVP_ACTION)
    def answer_invitation(
        ack: Ack, action: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()
        answer = action["action_id"][len(CalendarId.RSVP_PREFIX) :]

        def rsvp(ctx: Ctx, event: CalendarEvent) -> Answer:
            outcome = service.respond(
                ctx=ctx,
                event_id=event.id,
                user_id=context.user_id or "",
                response=answer,
                messages=views.MESSAGES,
            )
            return outcome.event, outcome.invitation, outcome.position, outcome.keys

        answer_in_place(runtime, client, context, respond, action.get("value"), rsvp)

    @app.action(CalendarId.CHECK_IN)
    def check_in(
        ack: Ack, action: dict[str, Any], client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        ack()

        def arrive(ctx: Ctx, event: CalendarEvent) -> Answer:
            invitation = attendance.check_in(
                ctx=ctx, event_id=event.id, user_id=context.user_id or ""
            )
            return event, invitation, service.waitlist_position(ctx, invitation), []

        answer_in_place(runtime, client, context, respond, action.get("value"), arrive)
