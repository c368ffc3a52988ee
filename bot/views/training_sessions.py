"""Training session modals, lists, the roster and the roll call, and the Home tab's sessions (pure
builders). The curriculum, quizzes and readiness views are in ``bot.views.trainings``.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    AUDIENCE_KINDS,
    REMINDER_CHOICES,
    SessionList,
    SessionView,
)
from bot.views import calendar as calendar_views
from bot.views import common as ui
from bot.views.trainings import _hours, datetime_input, module_choices
from storage.models import (
    Attendance,
    CalendarEvent,
    Invitation,
    Project,
    Rsvp,
    TrainingModule,
)

# --------------------------------------------------------------------------------- sessions


def session_modal(
    locale: str, project: Project, modules: Sequence[TrainingModule], trainer: str | None
) -> dict[str, Any]:
    audience = [(k, plain(locale, f"poll.audience.{k}")) for k in AUDIENCE_KINDS]
    roles = [(r, plain(locale, f"roles.{r}")) for r in ROLES]
    quadrants = [(q.value, plain(locale, f"quadrants.{q.value}")) for q in Quadrant]
    reminders = [(str(m), plain(locale, f"training.reminder.m{m}")) for m in REMINDER_CHOICES]
    return ui.modal(
        callback_id=TrainingId.SESSION_MODAL,
        title=plain(locale, "training.modal.session_title"),
        submit=plain(locale, "common.create"),
        close=plain(locale, "common.cancel"),
        private_metadata={"p": project.id},
        blocks=[
            ui.select_input(
                "module", plain(locale, "training.field.module"), module_choices(modules)
            ),
            ui.text_input(
                "title",
                plain(locale, "training.field.title"),
                optional=True,
                max_length=140,
                hint=plain(locale, "training.hint.title"),
            ),
            ui.user_input("trainer_id", plain(locale, "training.field.trainer"), initial=trainer),
            datetime_input("starts_at", plain(locale, "training.field.starts_at")),
            ui.text_input(
                "duration", plain(locale, "training.field.duration"), initial="4", max_length=5
            ),
            ui.text_input(
                "sessions",
                plain(locale, "training.field.sessions"),
                initial="1",
                max_length=2,
                hint=plain(locale, "training.hint.sessions"),
            ),
            ui.text_input(
                "location",
                plain(locale, "training.field.location"),
                optional=True,
                max_length=LOCATION_LIMIT,
            ),
            ui.text_input(
                "video_url",
                plain(locale, "training.field.video_url"),
                optional=True,
                max_length=VIDEO_URL_LIMIT,
            ),
            ui.text_input(
                "capacity",
                plain(locale, "training.field.capacity"),
                optional=True,
                max_length=len(str(MAX_CAPACITY)),
                hint=plain(locale, "training.hint.capacity"),
            ),
            ui.radio_input(
                "audience_kind",
                plain(locale, "training.field.audience_kind"),
                audience,
                initial="all",
            ),
            ui.checkboxes_input(
                "audience_roles", plain(locale, "training.field.audience_roles_pick"), roles, []
            ),
            ui.checkboxes_input(
                "audience_quadrants",
                plain(locale, "training.field.audience_quadrants"),
                quadrants,
                [],
            ),
            ui.users_input(
                "audience_people", plain(locale, "training.field.audience_people"), optional=True
            ),
            datetime_input(
                "rsvp_deadline", plain(locale, "training.field.rsvp_deadline"), optional=True
            ),
            ui.checkboxes_input(
                "reminders", plain(locale, "training.field.reminders"), reminders, ["1440", "60"]
            ),
        ],
    )


def reschedule_modal(locale: str, event: CalendarEvent) -> dict[str, Any]:
    hours = (event.ends_at - event.starts_at).total_seconds() / 3600
    return ui.modal(
        callback_id=TrainingId.RESCHEDULE_MODAL,
        title=plain(locale, "training.modal.reschedule_title"),
        submit=plain(locale, "common.save"),
        close=plain(locale, "common.cancel"),
        private_metadata={"e": event.id},
        blocks=[
            ui.section(
                t(
                    locale,
                    "training.reschedule_intro",
                    title=event.title,
                    when=calendar_views.when(locale, event),
                )
            ),
            datetime_input(
                "starts_at",
                plain(locale, "training.field.starts_at"),
                int(event.starts_at.timestamp()),
            ),
            ui.text_input(
                "duration",
                plain(locale, "training.field.duration"),
                initial=_hours(round(hours, 2)),
                max_length=5,
            ),
            datetime_input(
                "rsvp_deadline",
                plain(locale, "training.field.rsvp_deadline"),
                int(event.rsvp_deadline.timestamp()) if event.rsvp_deadline else None,
                optional=True,
            ),
        ],
    )


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
    if feedback:
        code, number = feedback
        blocks.append(ui.context(t(locale, "training.feedback_link", code=code, id=number)))
    if can_roll_call and rows:
        blocks.append(
            ui.actions(
                ui.button(
                    plain(locale, "training.roll_call"),
                    TrainingId.ROLL_CALL,
                    str(event.id),
                    style="primary",
                ),
                block_id="roster_actions",
            )
        )
    return ui.message(message["text"], blocks)


def _parse(block: dict[str, Any]) -> Block:
    parsed = Block.parse(block)
    assert parsed is not None
    return parsed


ROLL_CALL_LIMIT = 95
ROLL_CALL_GROUP = "group:"  # block id prefix of a status's people picker in a long roll call


def roll_call_modal(locale: str, event: CalendarEvent, rows: list[RosterRow]) -> dict[str, Any]:
    """Present, late, excused or absent per person on the roster (not those who declined): a
    select per person up to ``ROLL_CALL_LIMIT`` people, beyond that one people picker per status
    (a modal holds 100 blocks)."""
    statuses = [(s.value, plain(locale, f"training.attendance.{s.value}")) for s in Attendance]
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
    return ui.modal(
        callback_id=TrainingId.ROLL_CALL_MODAL,
        title=plain(locale, "training.modal.roll_call_title"),
        submit=plain(locale, "common.save"),
        close=plain(locale, "common.cancel"),
        blocks=blocks,
        private_metadata={"e": event.id},
    )


def home_sessions(locale: str, rows: Sequence[tuple[CalendarEvent, Invitation]]) -> list[Block]:
    if not rows:
        return []
    blocks: list[Block] = [ui.header(plain(locale, "training.home_sessions_title"))]
    for event, invitation in rows[:10]:
        blocks.append(
            ui.section(
                t(
                    locale,
                    "training.home_session_line",
                    title=event.title,
                    when=calendar_views.when(locale, event),
                    state=plain(locale, f"training.rsvp.{invitation.response}"),
                )
            )
        )
    return blocks
