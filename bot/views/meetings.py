"""Block Kit of meetings: the meeting form, reschedule and cancel forms, a meeting's detail, the
list, the channel announcement, series notices, the outcome prompt, form and summary (pure).

The invitation DM, its thread replies, reminders and the organizer's tally are the calendar core's
(``bot.views.calendar``); ``MESSAGES`` adds the meeting's own messages to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.calendar.service import (
    DESCRIPTION_LIMIT,
    LOCATION_LIMIT,
    TITLE_LIMIT,
    VIDEO_URL_LIMIT,
    RosterRow,
)
from bot.i18n import duration, escape_mrkdwn, joined, mention, plain, slack_date, t
from bot.ids import MeetingId
from bot.services import meeting_outcomes
from bot.services import meetings as service
from bot.services.keyusers import ROLES, Quadrant
from bot.services.meetings import MeetingInput, MeetingView
from bot.views import calendar as calendar_views
from bot.views import common as ui
from bot.views import risks as risk_views
from storage.models import (
    CalendarEvent,
    EventStatus,
    Invitation,
    Meeting,
    MeetingActionItem,
    MeetingOutcome,
    Project,
    Rsvp,
)


def kind_label(locale: str, kind: str) -> str:
    return plain(locale, f"meeting.kinds.{kind}")


def _reminder_label(locale: str, minutes: int) -> str:
    return plain(locale, f"meeting.reminders.m{minutes}")


def _time_fields(
    field: ui.Fields, starts_at: int | None, durations: Iterable[int], minutes: int
) -> list[Block]:
    """When a meeting starts and how long it lasts (the new-meeting and reschedule forms)."""
    choices = [(str(m), duration(field.locale, m)) for m in durations]
    return [
        field.datetime("starts_at", starts_at, optional=False),
        field.select("duration", choices, initial=str(minutes)),
    ]


_MEETING_MODAL = ui.Modal(MeetingId.NEW_MODAL, "meeting.modal_title", "common.create")


def meeting_modal(
    locale: str,
    *,
    projects: list[Project],
    project: Project | None,
    data: MeetingInput,
    source: dict[str, Any] | None = None,
    chosen_project: str | None = None,
) -> dict[str, Any]:
    """A meeting or a series. It shows what applies to the choices made: the roles or quadrants
    of the key-user group picked, how a series ends only for a repeating meeting (the form is
    drawn again when either choice changes, `handlers.meetings.NEW_FORM.refresh`)."""
    field = ui.Fields(locale, "meeting")
    blocks: list[Block] = []
    if project is None:
        blocks.append(field.project(projects, initial=chosen_project))
    else:
        blocks.append(ui.section(t(locale, "meeting.form_intro", code=project.code)))
    initial_start = int(data.starts_at.timestamp()) if data.starts_at else None
    pick = ui.AudiencePick(
        kind=service.audience_kind_of(data),
        roles=tuple(data.roles),
        quadrants=tuple(data.quadrants),
    )
    blocks += [
        field.text("title", initial=data.title, max_length=TITLE_LIMIT),
        field.choice("kind", "meeting.kinds", service.MEETING_KINDS, initial=data.kind),
        *_time_fields(field, initial_start, service.DURATIONS, data.duration_minutes or 60),
        field.text("location", initial=data.location, optional=True, max_length=LOCATION_LIMIT),
        field.text(
            "video_url",
            initial=data.video_url,
            optional=True,
            max_length=VIDEO_URL_LIMIT,
            placeholder="https://",
        ),
        *ui.audience_inputs(
            locale,
            pick,
            roles=ROLES,
            quadrants=[q.value for q in Quadrant],
            kinds=service.MEETING_AUDIENCE_KINDS,
            applicable_only=True,
        ),
        field.users("people", initial=data.people, optional=True),
        field.users("team", initial=data.team, optional=True),
        field.paragraph(
            "agenda",
            initial=data.agenda,
            max_length=DESCRIPTION_LIMIT,
        ),
        field.choice(
            "repeat", "meeting.repeats", service.REPEATS, initial=data.repeat, dispatch=True
        ),
    ]
    if data.repeat in service.REPEATS and data.repeat != "none":
        blocks += [
            field.number(
                "count",
                initial=data.count,
                optional=True,
                low=2,
                high=service.recurrence.MAX_OCCURRENCES,
                hint=field.hint("count", limit=service.recurrence.MAX_OCCURRENCES),
            ),
            field.date("until", initial=_day_of(data.until), optional=True),
        ]
    blocks += [
        field.multi(
            "reminders",
            [(str(m), _reminder_label(locale, m)) for m in service.REMINDER_CHOICES],
            [str(m) for m in (data.reminders or service.DEFAULT_REMINDERS)],
        ),
        field.multi(
            "options",
            ui.labelled(locale, "meeting.option", ["maybe", "announce"]),
            (["maybe"] if data.allow_maybe else []) + (["announce"] if data.announce else []),
        ),
    ]
    metadata: dict[str, Any] = {}
    if project is not None:
        metadata["project_id"] = project.id
    if data.plan_occurrence_id:
        metadata["plan_occurrence_id"] = data.plan_occurrence_id
    if source and source.get("ts"):
        metadata["source"] = source
    return _MEETING_MODAL(locale, blocks, metadata)


def _day_of(raw: Any) -> date | None:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def _when(locale: str, event: CalendarEvent) -> str:
    return calendar_views.when(locale, event, label=False)  # inside a sentence


def _day(event: CalendarEvent) -> Markup:
    """Which occurrence of a series, by its day: a number is for those who type commands."""
    return slack_date(event.starts_at, event.timezone, "{date_short_pretty}")


def created_text(
    locale: str, project: Project, meetings: list[Meeting], event: CalendarEvent, number: int
) -> str:
    return t(
        locale,
        "meeting.created",
        title=event.title,
        code=project.code,
        number=number,
        when=Markup(_when(locale, event)),
        count=len(meetings),
        invited=len(meetings[0].attendees),
    )


_RESCHEDULE_MODAL = ui.Modal(
    MeetingId.RESCHEDULE_MODAL,
    "meeting.reschedule_title",
    "common.reschedule",
)


def reschedule_modal(locale: str, event: CalendarEvent) -> dict[str, Any]:
    minutes = int((event.ends_at - event.starts_at).total_seconds() // 60)
    durations = sorted({*service.DURATIONS, minutes})
    blocks = [
        ui.section(t(locale, "meeting.reschedule_intro", title=event.title)),
        *_time_fields(
            ui.Fields(locale, "meeting"), int(event.starts_at.timestamp()), durations, minutes
        ),
    ]
    return _RESCHEDULE_MODAL(locale, blocks, {"event_id": event.id})


_CANCEL_MODAL = ui.Modal(
    MeetingId.CANCEL_MODAL, "meeting.cancel_title", "meeting.cancel_submit", "common.close"
)


def cancel_modal(locale: str, event: CalendarEvent, series_size: int) -> dict[str, Any]:
    blocks: list[Block] = [ui.section(t(locale, "meeting.cancel_intro", title=event.title))]
    choices = [("one", plain(locale, "meeting.cancel_one"))]
    if series_size > 1:
        choices.append(("series", plain(locale, "meeting.cancel_series")))
    blocks.append(
        ui.radio_input("scope", plain(locale, "meeting.field.scope"), choices, initial="one")
    )
    return _CANCEL_MODAL(locale, blocks, {"event_id": event.id})


def list_message(
    locale: str, project: Project, found: service.MeetingList, scope: str
) -> dict[str, Any]:
    title = t(locale, f"meeting.list_title_{scope}", code=project.code, count=found.total)
    blocks: list[Block] = [ui.section(title)]
    if not found.total and not found.later:
        blocks.append(ui.context(t(locale, "meeting.list_empty", code=project.code)))
    elif not found.total:
        blocks.append(
            ui.context(
                t(locale, "meeting.list_none_this_week", code=project.code, count=found.later)
            )
        )
    for view in found.views:
        event = view.event
        series = (
            t(
                locale,
                "meeting.series_position",
                position=view.meeting.position,
                size=view.series_size,
            )
            if view.series_size > 1
            else ""
        )
        blocks.append(
            ui.section(
                t(
                    locale,
                    "meeting.list_line",
                    number=view.number,
                    title=event.title,
                    kind=kind_label(locale, view.meeting.kind),
                    when=slack_date(event.starts_at, event.timezone),
                    series=series,
                    tally=Markup(calendar_views.tally(locale, view.tally)),
                )
            )
        )
    rest = found.total - len(found.views)
    if rest > 0:
        key = "meeting.list_more_all" if scope == "all" else "meeting.list_more"
        blocks.append(ui.context(t(locale, key, code=project.code, count=rest)))
    elif found.total and found.later:
        blocks.append(
            ui.context(t(locale, "meeting.list_later", code=project.code, count=found.later))
        )
    return ui.message(title, blocks)


def detail_message(
    locale: str,
    project: Project,
    view: MeetingView,
    roster: list[RosterRow] | None,
    outcome: MeetingOutcome | None,
    items: list[MeetingActionItem],
    *,
    manage: bool,
    now: datetime,
) -> dict[str, Any]:
    event, meeting = view.event, view.meeting
    heading = f"{kind_label(locale, meeting.kind)}: {event.title}"
    blocks: list[Block] = [
        ui.header(heading),
        ui.section("\n".join(calendar_views.details(locale, event))),
        ui.context(
            t(locale, "meeting.number", number=view.number, code=project.code)
            + (
                " · "
                + t(
                    locale,
                    "meeting.series_position",
                    position=meeting.position,
                    size=view.series_size,
                )
                if view.series_size > 1
                else ""
            )
        ),
    ]
    if event.description:
        blocks.append(
            ui.section(
                t(locale, "meeting.agenda_heading") + "\n" + escape_mrkdwn(event.description)
            )
        )
    if event.status == EventStatus.CANCELLED:
        blocks.append(ui.section(t(locale, "calendar.state.cancelled")))
    else:
        blocks.append(ui.section(calendar_views.tally(locale, view.tally)))
    if roster is not None and roster:
        people = joined(
            locale,
            (
                Markup(  # already mrkdwn: the name a mention, the answer escaped
                    t(
                        locale,
                        "meeting.answer_of",
                        user=mention(row.user_id),
                        answer=plain(locale, f"meeting.answers.{row.response}"),
                    )
                )
                for row in roster[:60]
            ),
        )
        blocks.append(ui.section(t(locale, "meeting.invited_heading") + "\n" + people))
    if outcome is not None:
        blocks += outcome_blocks(locale, project, event, outcome, items, manage=manage)
    buttons = []
    if manage and event.status == EventStatus.SCHEDULED:
        if event.starts_at > now:
            buttons.append(
                ui.button(plain(locale, "meeting.reschedule"), MeetingId.RESCHEDULE, str(event.id))
            )
            buttons.append(
                ui.button(
                    plain(locale, "meeting.cancel"),
                    MeetingId.CANCEL,
                    str(event.id),
                    style="danger",
                    confirm=ui.confirmed(
                        locale,
                        "meeting.confirm_cancel",
                        danger=True,
                        title=event.title,
                        when=Markup(_when(locale, event)),
                    ),
                )
            )
        else:
            buttons.append(
                ui.button(
                    plain(locale, "meeting.record_outcome"),
                    MeetingId.OUTCOME,
                    str(event.id),
                    style="primary",
                )
            )
    if buttons:
        blocks.append(ui.actions(*buttons, block_id=f"meeting_{event.id}"))
    # The header is plain_text; the fallback ``text`` is mrkdwn and escapes the title.
    return ui.message(escape_mrkdwn(heading), blocks)


def outcome_blocks(
    locale: str,
    project: Project,
    event: CalendarEvent,
    outcome: MeetingOutcome,
    items: list[MeetingActionItem],
    *,
    manage: bool,
) -> list[Block]:
    lines = [t(locale, "meeting.outcome_heading", count=len(outcome.attended))]
    if outcome.attended:
        lines.append(joined(locale, (mention(user) for user in outcome.attended)))
    if outcome.minutes:
        lines.append(t(locale, "meeting.minutes_heading") + "\n" + escape_mrkdwn(outcome.minutes))
    if outcome.decisions:
        lines.append(t(locale, "meeting.decisions_heading"))
        lines += [f"• {escape_mrkdwn(d)}" for d in outcome.decisions]
    blocks: list[Block] = [ui.section("\n".join(lines))]
    for item in items:
        text = t(
            locale,
            "meeting.action_line",
            text=item.text,
            owner=item.owner_id,
            due=item.due_date.isoformat() if item.due_date else None,
        )
        if item.issue_id is None and manage:
            accessory = ui.button(
                plain(locale, "meeting.to_issue"), MeetingId.ACTION_TO_ISSUE, str(item.id)
            )
            blocks.append(ui.section(text, accessory=accessory, block_id=f"action_{item.id}"))
        else:
            suffix = " " + t(locale, "meeting.action_is_issue") if item.issue_id else ""
            blocks.append(ui.section(text + suffix, block_id=f"action_{item.id}"))
    return blocks


def outcome_message(
    locale: str,
    project: Project,
    event: CalendarEvent,
    outcome: MeetingOutcome,
    items: list[MeetingActionItem],
    issue_refs: dict[int, str],
    *,
    may_raise_risks: bool = False,
) -> dict[str, Any]:
    """The organizer's summary after recording the outcome, with "Create issue" per item and,
    for someone who may raise the project's risks, "Raise a risk" per decision and item."""
    heading = t(locale, "meeting.outcome_saved", title=event.title, day=_day(event))
    blocks: list[Block] = [ui.section(heading)]
    blocks += outcome_blocks(locale, project, event, outcome, items, manage=True)
    for block in blocks:
        block_id = getattr(block, "block_id", None) or ""
        if block_id.startswith("action_"):
            item_id = int(block_id[7:])
            if item_id in issue_refs and hasattr(block, "text"):
                block.text.text += " " + t(
                    locale, "meeting.action_issue_ref", ref=issue_refs[item_id]
                )
    if may_raise_risks:
        blocks += risk_views.meeting_buttons(
            locale,
            outcome.id or 0,
            list(outcome.decisions),
            [(item.id or 0, item.text) for item in items],
        )
    return ui.message(heading, blocks)


_OUTCOME_MODAL = ui.Modal(MeetingId.OUTCOME_MODAL, "meeting.outcome_title", "common.save")


def outcome_modal(
    locale: str,
    event: CalendarEvent,
    roster: list[RosterRow],
    outcome: MeetingOutcome | None,
    items: list[MeetingActionItem],
) -> dict[str, Any]:
    came = (
        outcome.attended
        if outcome is not None
        else [
            row.user_id
            for row in roster
            if row.attendance in ("present", "late")
            or (row.attendance is None and row.response in (Rsvp.ACCEPTED, Rsvp.MAYBE))
        ]
    )
    field = ui.Fields(locale, "meeting")
    minutes = outcome.minutes if outcome else None
    decisions = "\n".join(outcome.decisions) if outcome else None
    blocks: list[Block] = [
        ui.section(t(locale, "meeting.outcome_intro", title=event.title)),
        field.users("attended", initial=came, optional=True),
        field.paragraph(
            "minutes",
            initial=minutes,
            max_length=meeting_outcomes.MINUTES_LIMIT,
        ),
        field.paragraph(
            "decisions",
            initial=decisions,
            max_length=3000,
            hint=field.hint("decisions"),
        ),
    ]
    open_items = [item for item in items if item.issue_id is None]
    for slot in range(1, meeting_outcomes.MAX_ACTION_ITEMS + 1):
        item = open_items[slot - 1] if slot <= len(open_items) else None
        blocks += [
            ui.text_input(
                f"action_{slot}_text",
                plain(locale, "meeting.field.action", number=slot),
                initial=item.text if item else None,
                optional=True,
                max_length=meeting_outcomes.ACTION_LIMIT,
            ),
            ui.user_input(
                f"action_{slot}_owner",
                plain(locale, "meeting.field.action_owner", number=slot),
                initial=item.owner_id if item else None,
                optional=True,
            ),
            ui.date_input(
                f"action_{slot}_due",
                plain(locale, "meeting.field.action_due", number=slot),
                initial=item.due_date if item else None,
                optional=True,
            ),
        ]
    return _OUTCOME_MODAL(locale, blocks, {"event_id": event.id})


def home_part(locale: str, upcoming: list[tuple[CalendarEvent, Invitation]]) -> list[Block]:
    """Someone's next meetings, each with its answer and the menu to change it."""
    if not upcoming:
        return []
    blocks: list[Block] = [
        ui.section(
            t(
                locale,
                "meeting.home_line",
                title=event.title,
                when=slack_date(event.starts_at, event.timezone),
                answer=plain(locale, f"meeting.answers.{invitation.response}"),
            ),
            accessory=calendar_views.home_rsvp(locale, event, invitation),
            block_id=f"meeting_home_{event.id}",
        )
        for event, invitation in upcoming
    ]
    return [ui.header(plain(locale, "meeting.home_title")), *blocks]


class _Messages(calendar_views._Messages):
    """The core's messages plus a meeting's own (``bot.services.meetings.MeetingMessages``)."""

    def announcement(
        self, locale: str, project: Project, event: CalendarEvent, meeting: Meeting, count: int
    ) -> dict[str, Any]:
        text = t(
            locale,
            "meeting.announcement",
            kind=kind_label(locale, meeting.kind),
            title=event.title,
            organizer=event.organizer_id,
            when=Markup(_when(locale, event)),
            count=count,
            invited=len(meeting.attendees),
        )
        blocks: list[Block] = [ui.section(text)]
        if event.description:
            blocks.append(ui.context(escape_mrkdwn(event.description)[:1900]))
        return ui.message(ui.notification(locale, text, code=project.code), blocks)

    def series_notice(
        self, locale: str, event: CalendarEvent, what: str, **params: Any
    ) -> dict[str, Any]:
        values: dict[str, Any] = {"title": event.title}
        for name in ("when", "new"):
            if name in params:
                values[name] = slack_date(params[name], event.timezone)
        text = t(locale, f"meeting.notice.{what}", **values)
        return ui.message(text, [ui.section(text)])

    def outcome_prompt(self, locale: str, event: CalendarEvent, meeting: Meeting) -> dict[str, Any]:
        text = t(locale, "meeting.outcome_prompt", title=event.title, day=_day(event))
        return ui.message(
            text,
            [
                ui.section(text),
                ui.actions(
                    ui.button(
                        plain(locale, "meeting.record_outcome"),
                        MeetingId.OUTCOME,
                        str(event.id),
                        style="primary",
                    ),
                    block_id=f"outcome_{event.id}",
                ),
            ],
        )


MESSAGES = _Messages()
