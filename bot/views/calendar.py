"""Block Kit of the calendar-event core: the invitation DM with its RSVP buttons, the replies in
its thread (rescheduled, cancelled, promoted, reminders) and the organizer's roster.

Times are Slack date tokens, so each reader sees their own timezone, with the project's time as
the fallback text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.calendar.service import INVITED, RosterRow
from bot.i18n import duration, escape_mrkdwn, joined, mention, plain, slack_date, t
from bot.ids import CalendarId
from bot.views import common as ui
from storage.models import CalendarEvent, EventStatus, Invitation, Rsvp

ANSWERS = (Rsvp.ACCEPTED, Rsvp.MAYBE, Rsvp.DECLINED)


def button_value(event: CalendarEvent) -> str:
    return json.dumps({"e": event.id}, separators=(",", ":"))


read_value = ui.json_value


def when(locale: str, event: CalendarEvent, *, label: bool = True) -> Markup:
    """ "Tue 1 Dec 09:00 – 10:30 (1 h 30 min)" in the reader's timezone (mrkdwn, already escaped:
    it goes into other messages as it is), on a line of its own with its label, or without it
    inside a sentence."""
    span = Markup(
        t(
            locale,
            "calendar.span",
            start=slack_date(event.starts_at, event.timezone),
            end=slack_date(event.ends_at, event.timezone, "{time}"),
            length=duration(locale, int((event.ends_at - event.starts_at).total_seconds() // 60)),
        )
    )
    return Markup(t(locale, "calendar.when", span=span)) if label else span


def details(locale: str, event: CalendarEvent) -> list[str]:
    """The facts of an event as mrkdwn lines (time, place, link, organizer, seats, deadline)."""
    lines = [when(locale, event)]
    if event.location:
        lines.append(t(locale, "calendar.where", place=event.location))
    if event.video_url:
        lines.append(t(locale, "calendar.link", url=event.video_url))
    lines.append(t(locale, "calendar.organizer", kind=event.kind, user=event.organizer_id))
    if event.capacity is not None:
        lines.append(t(locale, "calendar.capacity", seats=event.capacity))
    if event.rsvp_deadline is not None:
        lines.append(
            t(locale, "calendar.deadline", deadline=slack_date(event.rsvp_deadline, event.timezone))
        )
    return lines


def _state_line(
    locale: str, event: CalendarEvent, invitation: Invitation, position: int | None
) -> str:
    if event.status == EventStatus.CANCELLED:
        return t(locale, "calendar.state.cancelled")
    if invitation.response == Rsvp.REMOVED:
        return t(locale, "calendar.state.removed")
    if invitation.response == Rsvp.WAITLISTED:
        return t(locale, "calendar.state.waitlisted", position=position or "?")
    if invitation.checked_in_at is not None:
        return t(locale, "calendar.state.checked_in")
    if invitation.response == Rsvp.DECLINED:
        deadline = event.rsvp_deadline
        return t(
            locale,
            "calendar.state.declined",
            kind=event.kind,
            seats=event.capacity,
            deadline=slack_date(deadline, event.timezone) if deadline else "",
        )
    return t(locale, f"calendar.state.{invitation.response}")


def home_rsvp(locale: str, event: CalendarEvent, invitation: Invitation) -> Any:
    """The Home tab's answer to an invitation: a menu of the answers (Accept, Maybe where the
    event allows it, Decline), the same as the invitation DM's buttons; the line beside it says
    the answer given."""
    from slack_sdk.models.blocks import OverflowMenuElement

    options = [
        ui.option(f"{answer}:{event.id}", plain(locale, f"calendar.button.{answer}"))
        for answer in ANSWERS
        if answer != Rsvp.MAYBE or event.allow_maybe
    ]
    return OverflowMenuElement(action_id=CalendarId.HOME_RSVP, options=options)


def rsvp_buttons(locale: str, event: CalendarEvent, invitation: Invitation) -> list[Any]:
    """Accept / Maybe / Decline (the current answer highlighted) and Check in where offered."""
    buttons = []
    for answer in ANSWERS:
        if answer == Rsvp.MAYBE and not event.allow_maybe:
            continue
        chosen = invitation.response == answer or (
            answer == Rsvp.ACCEPTED and invitation.response == Rsvp.WAITLISTED
        )
        buttons.append(
            ui.button(
                plain(locale, f"calendar.button.{answer}"),
                f"{CalendarId.RSVP_PREFIX}{answer}",
                button_value(event),
                style="primary" if chosen else None,
            )
        )
    if event.check_in:
        buttons.append(
            ui.button(
                plain(locale, "calendar.button.check_in"), CalendarId.CHECK_IN, button_value(event)
            )
        )
    return buttons


def _notify_state(
    locale: str, event: CalendarEvent, invitation: Invitation, position: int | None
) -> str:
    if event.status == EventStatus.CANCELLED:
        return t(locale, "calendar.notify.cancelled")
    if invitation.response == Rsvp.WAITLISTED:
        return t(locale, "calendar.notify.waitlisted", position=position or "?")
    if invitation.checked_in_at is not None and invitation.response != Rsvp.REMOVED:
        return t(locale, "calendar.notify.checked_in")
    deadline = event.rsvp_deadline
    return t(
        locale,
        f"calendar.notify.{invitation.response}",
        deadline=slack_date(deadline, event.timezone) if deadline else "",
    )


def subject(locale: str, event: CalendarEvent) -> str:
    """ "Training: Basic operation" as mrkdwn (a title can hold anything)."""
    kind = plain(locale, f"calendar.kind.{event.kind}")
    return t(locale, "calendar.heading", kind=kind, title=event.title)


def invitation_text(
    locale: str,
    event: CalendarEvent,
    invitation: Invitation,
    position: int | None = None,
    *,
    code: str = "",
) -> str:
    """What the invitation's notification says: the project, the event, its time and place, who
    runs it and this person's answer as it stands."""
    return ui.notification(
        locale,
        subject(locale, event),
        code=code,
        when=when(locale, event, label=False),
        where=event.location,
        by=event.organizer_id,
        state=_notify_state(locale, event, invitation, position),
    )


def invitation(
    locale: str,
    event: CalendarEvent,
    invitation: Invitation,
    position: int | None = None,
    *,
    code: str = "",
) -> dict[str, Any]:
    """The invitation DM, as it stands for this person (``code``: the event's project)."""
    blocks: list[Block] = [
        ui.header(
            plain(
                locale,
                "calendar.heading",
                kind=plain(locale, f"calendar.kind.{event.kind}"),
                title=event.title,
            )
        ),
        ui.section("\n".join(details(locale, event))),
    ]
    if event.description:
        blocks.append(ui.section(escape_mrkdwn(event.description)))
    blocks.append(ui.context(_state_line(locale, event, invitation, position)))
    live = event.status == EventStatus.SCHEDULED and invitation.response != Rsvp.REMOVED
    if live:
        blocks.append(ui.actions(*rsvp_buttons(locale, event, invitation), block_id="rsvp"))
    fallback = invitation_text(locale, event, invitation, position, code=code)
    return ui.message(fallback, blocks)


def notice(
    locale: str, event: CalendarEvent, what: str, *, code: str = "", **params: Any
) -> dict[str, Any]:
    """A reply in the invitation's thread: rescheduled, cancelled or promoted from the waitlist."""
    values: dict[str, Any] = {"title": event.title, "when": when(locale, event)}
    if "previous" in params:
        values["previous"] = slack_date(params["previous"], event.timezone)
    text = t(locale, f"calendar.notice.{what}", **values)
    return ui.message(ui.notification(locale, text, code=code), [ui.section(text)])


def reminder(locale: str, event: CalendarEvent, minutes: int, *, code: str = "") -> dict[str, Any]:
    hours, rest = divmod(minutes, 60)
    text = t(
        locale,
        "calendar.reminder",
        title=event.title,
        when=when(locale, event),
        hours=hours if not rest else 0,
        minutes=minutes if rest else 0,
    )
    lines = [text]
    if event.location:
        lines.append(t(locale, "calendar.where", place=event.location))
    if event.video_url:
        lines.append(t(locale, "calendar.link", url=event.video_url))
    fallback = ui.notification(locale, text, code=code, where=event.location)
    return ui.message(fallback, [ui.section("\n".join(lines))])


def tally(locale: str, counts: Mapping[str, int]) -> str:
    """Answers counted, every part shown that is not zero, adding up to the number invited."""
    parts = {answer: counts.get(answer, 0) for answer in INVITED}
    return t(locale, "calendar.tally", invited=sum(parts.values()), **parts)


def _names(locale: str, rows: list[RosterRow]) -> str:
    return joined(locale, (mention(row.user_id) for row in rows))


def roster(
    locale: str, event: CalendarEvent, rows: list[RosterRow], *, code: str = ""
) -> dict[str, Any]:
    """The roster by answer: who comes, who may, who waits (in order), who has not answered."""
    groups: dict[str, list[RosterRow]] = {}
    for row in rows:
        groups.setdefault(row.response, []).append(row)
    blocks: list[Block] = [
        ui.header(plain(locale, "calendar.roster_title", title=event.title)),
        ui.section("\n".join(details(locale, event)[:1])),
    ]
    for answer in (Rsvp.ACCEPTED, Rsvp.MAYBE, Rsvp.WAITLISTED, Rsvp.PENDING, Rsvp.DECLINED):
        people = groups.get(answer, [])
        if not people:
            continue
        if answer == Rsvp.WAITLISTED:
            people = sorted(people, key=lambda row: row.position or 0)
        label = t(locale, f"calendar.roster_group.{answer}", count=len(people))
        blocks.append(ui.section(f"{label}\n{_names(locale, people)}"))
    if not rows:
        blocks.append(ui.section(t(locale, "calendar.roster_empty")))
    text = ui.notification(
        locale,
        t(locale, "calendar.roster_title", title=event.title),
        code=code,
        when=when(locale, event, label=False),
        state=t(locale, "calendar.notify.roster", count=len(rows)),
    )
    return ui.message(text, blocks)


class _Messages:
    """``bot.calendar.service.EventMessages`` for the services and jobs."""

    def invitation(
        self,
        locale: str,
        event: CalendarEvent,
        invitation_row: Invitation,
        position: int | None,
        *,
        code: str = "",
    ) -> dict[str, Any]:
        return invitation(locale, event, invitation_row, position, code=code)

    def notice(
        self, locale: str, event: CalendarEvent, what: str, *, code: str = "", **params: Any
    ) -> dict[str, Any]:
        return notice(locale, event, what, code=code, **params)

    def reminder(
        self, locale: str, event: CalendarEvent, minutes: int, *, code: str = ""
    ) -> dict[str, Any]:
        return reminder(locale, event, minutes, code=code)

    def roster(
        self, locale: str, event: CalendarEvent, rows: list[RosterRow], *, code: str = ""
    ) -> dict[str, Any]:
        return roster(locale, event, rows, code=code)


MESSAGES = _Messages()
