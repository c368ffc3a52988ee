"""Training session modals, lists, the roster and the roll call, and the Home tab's sessions (pure
builders). The curriculum, quizzes and readiness views are in ``bot.views.trainings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.calendar.service import (
    LOCATION_LIMIT,
    MAX_CAPACITY,
    VIDEO_URL_LIMIT,
    RosterRow,
)
from bot.i18n import mention, plain, t
from bot.ids import TrainingId
from bot.services.keyusers import ROLES, Quadrant
from bot.services.training_sessions import (
    MAX_SERIES,
    REMINDER_CHOICES,
    SessionInput,
    SessionList,
    SessionView,
)
from bot.views import calendar as calendar_views
from bot.views import common as ui
from bot.views.trainings import datetime_field, module_choices
from storage.models import (
    Attendance,
    CalendarEvent,
    EndUser,
    Invitation,
    Project,
    Rsvp,
    TrainingModule,
)

# --------------------------------------------------------------------------------- sessions


_SESSION_MODAL = ui.Modal(TrainingId.SESSION_MODAL, "training.modal.session_title", "common.create")
_RESCHEDULE_MODAL = ui.Modal(
    TrainingId.RESCHEDULE_MODAL, "training.modal.reschedule_title", "common.reschedule"
)
_ROLL_CALL_MODAL = ui.Modal(
    TrainingId.ROLL_CALL_MODAL, "training.modal.roll_call_title", "common.save"
)


_END_USER_SESSION_MODAL = ui.Modal(
    TrainingId.END_USER_SESSION_MODAL, "enduser.modal.session_title", "common.create"
)


def session_modal(
    locale: str,
    project: Project,
    modules: Sequence[TrainingModule],
    trainer: str | None,
    *,
    for_end_users: bool = False,
    data: SessionInput | None = None,
) -> dict[str, Any]:
    """A session or a weekly series; ``for_end_users``: for the end users of the module picked
    (its key user runs it: no trainer, no audience to choose). The audience shows the roles,
    quadrants or people only when that kind is picked, the form drawn again with what was typed
    (``data``) when the kind changes."""
    field = ui.Fields(locale, "training")
    if for_end_users:
        blocks = [
            ui.context(t(locale, "enduser.session_intro", code=project.code)),
            field.select("module", module_choices(modules)),
            field.text("title", optional=True, max_length=140, hint=field.hint("title")),
            datetime_field(field, "starts_at"),
            hours_input(field, "duration", 2),
            sessions_input(field),
            field.text("location", optional=True, max_length=LOCATION_LIMIT),
            field.text("video_url", optional=True, max_length=VIDEO_URL_LIMIT),
            field.checkboxes(
                "reminders",
                [(str(m), plain(locale, f"training.reminder.m{m}")) for m in REMINDER_CHOICES],
                ["1440", "60"],
            ),
        ]
        return _END_USER_SESSION_MODAL(locale, blocks, {"p": project.id})
    reminders = [(str(m), plain(locale, f"training.reminder.m{m}")) for m in REMINDER_CHOICES]
    typed = data or SessionInput(duration_hours=4)
    pick = ui.AudiencePick(
        kind=typed.audience_kind,
        roles=tuple(typed.audience_roles),
        quadrants=tuple(typed.audience_quadrants),
        people=tuple(typed.audience_people),
    )
    blocks = [
        field.select(
            "module",
            module_choices(modules),
            initial=str(typed.module_id) if typed.module_id else None,
        ),
        field.text(
            "title", initial=typed.title, optional=True, max_length=140, hint=field.hint("title")
        ),
        field.user("trainer_id", label="trainer", initial=typed.trainer_id or trainer),
        datetime_field(field, "starts_at", _moment(typed.starts_at)),
        hours_input(field, "duration", typed.duration_hours or 4),
        sessions_input(field, typed.sessions),
        field.text("location", initial=typed.location, optional=True, max_length=LOCATION_LIMIT),
        field.text("video_url", initial=typed.video_url, optional=True, max_length=VIDEO_URL_LIMIT),
        field.number(
            "capacity",
            initial=typed.capacity,
            optional=True,
            low=1,
            high=MAX_CAPACITY,
            hint=field.hint("capacity"),
        ),
        *ui.audience_inputs(
            locale,
            pick,
            roles=ROLES,
            quadrants=[q.value for q in Quadrant],
            applicable_only=True,
        ),
        datetime_field(field, "rsvp_deadline", _moment(typed.rsvp_deadline), optional=True),
        field.checkboxes("reminders", reminders, [str(m) for m in typed.reminders]),
    ]
    return _SESSION_MODAL(locale, blocks, {"p": project.id})


def _moment(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def hours_input(field: ui.Fields, block_id: str, initial: Any) -> Block:
    """How long a session lasts, in hours (1.5: an hour and a half)."""
    return field.number(block_id, initial=initial, decimal=True, low=0.25, high=24)


def sessions_input(field: ui.Fields, initial: Any = 1) -> Block:
    return field.number(
        "sessions", initial=initial or 1, low=1, high=MAX_SERIES, hint=field.hint("sessions")
    )


def reschedule_modal(locale: str, event: CalendarEvent) -> dict[str, Any]:
    field = ui.Fields(locale, "training")
    hours = (event.ends_at - event.starts_at).total_seconds() / 3600
    deadline = int(event.rsvp_deadline.timestamp()) if event.rsvp_deadline else None
    when = calendar_views.when(locale, event)
    blocks = [
        ui.section(t(locale, "training.reschedule_intro", title=event.title, when=when)),
        datetime_field(field, "starts_at", int(event.starts_at.timestamp())),
        hours_input(field, "duration", round(hours, 2)),
        datetime_field(field, "rsvp_deadline", deadline, optional=True),
    ]
    return _RESCHEDULE_MODAL(locale, blocks, {"e": event.id})


def session_list(locale: str, project: Project, found: SessionList, span: str) -> dict[str, Any]:
    title = plain(locale, "training.list_title", code=project.code)
    blocks: list[Block] = [ui.header(title)]
    if not found.total:
        key = "training.list_none_this_week" if found.later else "training.list_empty"
        blocks.append(ui.section(t(locale, key, code=project.code, count=found.later)))
        return ui.message(title, blocks)
    for view in found.views:
        event = view.event
        blocks.append(
            ui.section(
                t(
                    locale,
                    "training.list_line",
                    id=view.number,
                    title=event.title,
                    module=view.module.name,
                    when=calendar_views.when(locale, event),
                    trainer=mention(view.session.trainer_id),
                    accepted=view.accepted,
                    capacity=event.capacity,
                    tally=Markup(calendar_views.tally(locale, _counts(view))),
                    cancelled=event.status != "scheduled",
                )
            )
        )
    if found.total > len(found.views):
        blocks.append(ui.context(t(locale, "common.more", count=found.total - len(found.views))))
    elif found.later:
        blocks.append(
            ui.context(t(locale, "training.list_later", code=project.code, count=found.later))
        )
    return ui.message(title, blocks)


def _counts(view: SessionView) -> dict[str, int]:
    return {
        Rsvp.ACCEPTED: view.accepted,
        Rsvp.MAYBE: view.maybe,
        Rsvp.WAITLISTED: view.waitlisted,
        Rsvp.DECLINED: view.declined,
        Rsvp.PENDING: view.pending,
    }


def session_roster(
    locale: str,
    event: CalendarEvent,
    number: int,
    module: TrainingModule,
    rows: list[RosterRow],
    *,
    can_roll_call: bool,
    feedback: tuple[str, int] | None = None,
    named: Sequence[tuple[EndUser, str | None]] = (),
) -> dict[str, Any]:
    """The core's roster by answer, plus attendance and the feedback poll of a training
    (``feedback``: its project's code and the poll's number there)."""
    message = calendar_views.roster(locale, event, rows)
    blocks = [_parse(b) for b in message["blocks"]]
    blocks.insert(1, ui.context(t(locale, "training.roster_module", module=module.name, id=number)))
    marked = [r for r in rows if r.attendance]
    if marked:
        lines = [
            t(
                locale,
                "training.attendance_line",
                user=mention(r.user_id),
                status=plain(locale, f"training.attendance.{r.attendance}"),
                self_checked=r.checked_in_at is not None,
            )
            for r in marked[:40]
        ]
        blocks.append(ui.section(t(locale, "training.attendance_title") + "\n" + "\n".join(lines)))
    if named:
        lines = [
            t(
                locale,
                "enduser.roster_line",
                name=end_user.name,
                number=end_user.number,
                status=plain(locale, f"training.attendance.{mark}")
                if mark
                else plain(locale, "enduser.not_marked"),
            )
            for end_user, mark in named[:40]
        ]
        blocks.append(ui.section(t(locale, "enduser.roster_title") + "\n" + "\n".join(lines)))
    if feedback:
        code, number = feedback
        blocks.append(ui.context(t(locale, "training.feedback_link", code=code, id=number)))
    if can_roll_call and (rows or named):
        roll_call = plain(locale, "training.roll_call")
        blocks.append(
            ui.primary_action(
                roll_call, TrainingId.ROLL_CALL, str(event.id), block_id="roster_actions"
            )
        )
    return ui.message(message["text"], blocks)


def _parse(block: dict[str, Any]) -> Block:
    parsed = Block.parse(block)
    assert parsed is not None
    return parsed


ROLL_CALL_LIMIT = 95
ROLL_CALL_GROUP = "group:"  # block id prefix of a status's people picker in a long roll call


NAMED_KEY = "#"  # a roll call's key of an end user without Slack: "#<their number>"


def roll_call_modal(
    locale: str,
    event: CalendarEvent,
    rows: list[RosterRow],
    named: Sequence[tuple[EndUser, str | None]] = (),
) -> dict[str, Any]:
    """Present, late, excused or absent per person on the roster (not those who declined): a
    select per person up to ``ROLL_CALL_LIMIT`` people, beyond that one people picker per status
    (a modal holds 100 blocks). ``named``: end users without Slack on the roster, with their
    mark, a select each (the trainer marks them by name)."""
    statuses = ui.labelled(locale, "training.attendance", [s.value for s in Attendance])
    people = [r for r in rows if r.response not in (Rsvp.DECLINED,)]
    blocks: list[Block] = [ui.context(calendar_views.when(locale, event))]

    def initial(row: RosterRow) -> str | None:
        return row.attendance or (Attendance.PRESENT if row.response == Rsvp.ACCEPTED else None)

    if len(people) > ROLL_CALL_LIMIT:
        blocks.append(ui.context(t(locale, "training.roll_call_by_status", count=len(people))))
        for status, label in statuses:
            blocks.append(
                ui.users_input(
                    f"{ROLL_CALL_GROUP}{status}",
                    label,
                    initial=[row.user_id for row in people if initial(row) == status],
                    optional=True,
                )
            )
    for row in people if len(people) <= ROLL_CALL_LIMIT else []:
        blocks.append(
            ui.select_input(
                f"att:{row.user_id}",
                row.name or row.user_id,
                statuses,
                initial=initial(row),
                optional=True,
            )
        )
    for end_user, mark in named[: ROLL_CALL_LIMIT - len(blocks)]:
        blocks.append(
            ui.select_input(
                f"att:{NAMED_KEY}{end_user.number}",
                plain(locale, "enduser.roll_call_name", name=end_user.name, number=end_user.number),
                statuses,
                initial=mark,
                optional=True,
            )
        )
    return _ROLL_CALL_MODAL(locale, blocks, {"e": event.id})


def home_sessions(locale: str, rows: Sequence[tuple[CalendarEvent, Invitation]]) -> list[Block]:
    """Someone's upcoming sessions, each with its answer and the menu to change it."""
    lines = [
        ui.section(
            t(
                locale,
                "training.home_session_line",
                title=event.title,
                when=calendar_views.when(locale, event),
                state=plain(locale, f"training.rsvp.{invitation.response}"),
            ),
            accessory=calendar_views.home_rsvp(locale, event, invitation),
            block_id=f"training_home_{event.id}",
        )
        for event, invitation in rows[:10]
    ]
    return ui.titled(plain(locale, "training.home_sessions_title"), lines)
