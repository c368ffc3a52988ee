"""The buttons of every calendar invitation (trainings and meetings): RSVP and self check-in.

The button's value names the event; the service checks that the clicking person is invited, so a
forged value changes nothing. The invitation DM is updated in place to show the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from slack_bolt import App

from bot.calendar import attendance, service
from bot.errors import LiaisonError, Msg, NotFound
from bot.ids import CalendarId
from bot.runtime import Runtime
from bot.services.context import Ctx
from bot.views import calendar as views
from handlers.common import error_text, update_sent
from handlers.listeners import Click, clicks
from storage.models import CalendarEvent, Invitation

RSVP_ACTION = re.compile("^" + re.escape(CalendarId.RSVP_PREFIX))


Answer = tuple[CalendarEvent, Invitation, int | None, list[str]]


def answer_in_place(click: Click, act: Callable[[Ctx, CalendarEvent], Answer]) -> str | None:
    """`act` for the clicking person on the event the button names (the event, their invitation,
    their place on the waitlist and the messages to send), then their answer shown in the
    invitation DM; a refusal is told to them only."""
    event_id = views.read_value(click.value).get("e")
    click.locale = click.runtime.settings.locale
    with click.unit() as ctx:
        try:
            event = service.get_event(ctx, event_id)
            project = service.project_of(ctx, event)
            click.locale = project.locale
            event, invitation, position, keys = act(ctx, event)
        except LiaisonError as error:
            return error_text(click.locale, error)  # in the event's language, not the person's
        payload = views.invitation(click.locale, event, invitation, position, code=project.code)
        message = service.invitation_message(ctx, event, invitation)
    update_sent(click.client, message, payload)
    click.deliver(keys)
    return None


def answer_invitation(click: Click) -> str | None:
    answer = click.action_id[len(CalendarId.RSVP_PREFIX) :]

    def rsvp(ctx: Ctx, event: CalendarEvent) -> Answer:
        outcome = service.respond(
            ctx=ctx,
            event_id=event.id,
            user_id=click.user_id,
            response=answer,
            messages=views.MESSAGES,
        )
        return outcome.event, outcome.invitation, outcome.position, outcome.keys

    return answer_in_place(click, rsvp)


def answer_from_home(click: Click) -> str | None:
    """The Home tab's answer menu (``<answer>:<event id>``, forged or not: the service checks
    the clicking person's invitation): answered as from the invitation DM, the Home redrawn."""
    chosen = str((click.action.get("selected_option") or {}).get("value") or "")
    answer, _sep, event_id = chosen.partition(":")
    if answer not in views.ANSWERS:
        return click.refusal(NotFound(Msg("security.request_unreadable")))

    def rsvp(ctx: Ctx, event: CalendarEvent) -> Answer:
        outcome = service.respond(
            ctx=ctx,
            event_id=event.id,
            user_id=click.user_id,
            response=answer,
            messages=views.MESSAGES,
        )
        return outcome.event, outcome.invitation, outcome.position, outcome.keys

    click.action = {**click.action, "value": json.dumps({"e": event_id})}
    refused = answer_in_place(click, rsvp)
    click.refresh_home()
    return refused


def check_in(click: Click) -> str | None:
    def arrive(ctx: Ctx, event: CalendarEvent) -> Answer:
        invitation = attendance.check_in(ctx=ctx, event_id=event.id, user_id=click.user_id)
        return event, invitation, service.waitlist_position(ctx, invitation), []

    return answer_in_place(click, arrive)


def register(app: App, runtime: Runtime) -> None:
    clicks(app.action(RSVP_ACTION), runtime)(answer_invitation)
    clicks(app.action(CalendarId.CHECK_IN), runtime)(check_in)
    clicks(app.action(CalendarId.HOME_RSVP), runtime)(answer_from_home)
