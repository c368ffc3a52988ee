"""The buttons of every calendar invitation (trainings and meetings): RSVP and self check-in.

The button's value names the event; the service checks that the clicking person is invited, so a
forged value changes nothing. The invitation DM is updated in place to show the answer.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.calendar import service
from bot.errors import LiaisonError
from bot.ids import CalendarId
from bot.runtime import Runtime
from bot.views import calendar as views
from handlers.common import respond_error, unit, update_sent

RSVP_ACTION = re.compile("^" + re.escape(CalendarId.RSVP_PREFIX))


def register(app: App, runtime: Runtime) -> None:
    settings = runtime.settings

    @app.action(RSVP_ACTION)
    def answer_invitation(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        answer = action["action_id"][len(CalendarId.RSVP_PREFIX) :]
        event_id = views.read_value(action.get("value")).get("e")
        user_id = context.user_id or ""
        locale = settings.locale
        with unit(runtime, context, client) as ctx:
            try:
                event = service.get_event(ctx, event_id)
                locale = service.project_of(ctx, event).locale
                outcome = service.respond(
                    ctx=ctx,
                    event_id=event_id,
                    user_id=user_id,
                    response=answer,
                    messages=views.MESSAGES,
                )
            except LiaisonError as error:
                respond_error(respond, locale, error)
                return
            payload = views.invitation(locale, outcome.event, outcome.invitation, outcome.position)
            message = service.invitation_message(ctx, outcome.event, outcome.invitation)
        update_sent(client, message, payload)
        if outcome.keys:
            runtime.sender().deliver_due(team_id=context.team_id, keys=outcome.keys)

    @app.action(CalendarId.CHECK_IN)
    def check_in(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        context: BoltContext,
        respond: Respond,
    ) -> None:
        ack()
        event_id = views.read_value(action.get("value")).get("e")
        locale = settings.locale
        with unit(runtime, context, client) as ctx:
            try:
                event = service.get_event(ctx, event_id)
                locale = service.project_of(ctx, event).locale
                invitation = service.check_in(
                    ctx=ctx, event_id=event_id, user_id=context.user_id or ""
                )
            except LiaisonError as error:
                respond_error(respond, locale, error)
                return
            payload = views.invitation(
                locale, event, invitation, service.waitlist_position(ctx, invitation)
            )
            message = service.invitation_message(ctx, event, invitation)
        update_sent(client, message, payload)
