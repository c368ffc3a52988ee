"""Act: the communication plan, meetings and engagement. The PM takes the ready-made plan, plans a
weekly working meeting (invitations, RSVPs, reminders, the organizer's tally), records its
outcome and turns an action item into an issue, drafts and sends a due progress report, and is
nudged about key users in engagement debt. In the demo's language (``demo.meetings`` catalog)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.demo.stage import CHANNEL, CONSULTANT, PM, Stage
from bot.ids import CalendarId, EngagementId, MeetingId, PlanId
from bot.jobs import run_due
from storage.models import CalendarEvent, Project

ANNA = "UANA0003"  # decision maker
WEI = "UWEI0004"  # key user
LUCAS = "ULUC0005"  # business representative
MARIA = "UMAR0006"  # sponsor
JONAS = "UJON0007"  # system administrator


def _with_action(messages: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The latest message holding an element with ``action_id``."""
    for message in reversed(messages):
        for block in message.get("blocks") or []:
            elements = list(block.get("elements") or []) + [block.get("accessory") or {}]
            if any(element.get("action_id") == action_id for element in elements):
                return message
    raise LookupError(action_id)


def _values(message: dict[str, Any], action_id: str) -> list[str]:
    return [
        element["value"]
        for block in message.get("blocks") or []
        for element in block.get("elements") or []
        if element.get("action_id") == action_id
    ]


def _next_tuesday_10(stage: Stage) -> datetime:
    local = stage.clock.now().astimezone(ZoneInfo(stage.timezone))
    days = (1 - local.weekday()) % 7
    if days < 2:  # leave room for the day-before reminder
        days += 7
    return datetime.combine(local.date() + timedelta(days=days), time(10), tzinfo=local.tzinfo)


def _run(stage: Stage, what: str) -> None:
    stage.step("scheduler", what)
    stage.show_run(run_due(stage.runtime))
    stage.show_new_messages()


def play(stage: Stage) -> None:
    slack = stage.slack
    emulator = stage.emulator
    t = stage.t
    stage.next_working_morning()
    stage.act(t("demo.meetings.title"))
    stage.show_new_messages()

    stage.step(PM, t("demo.meetings.open_plan"))
    slack.slash_command(PM, "/project", "plan ERP", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    stage.step(PM, t("demo.meetings.use_template"))
    slack.click(PM, PlanId.USE_TEMPLATE, view=emulator.open_views(PM)[-1])
    stage.show_view(emulator.open_views(PM)[-1])
    emulator.close_view(PM)

    start = _next_tuesday_10(stage)
    stage.step(PM, t("demo.meetings.new_meeting"))
    slack.slash_command(PM, "/meeting", "new ERP", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    values: dict[str, Any] = {
        "title": t("demo.meetings.meeting_title"),
        "kind": "working_meeting",
        "starts_at": int(start.timestamp()),
        "duration": "60",
        "video_url": "https://meet.example.com/sd-mm",
        "audience_kind": "role",
        "audience_roles": ["business_representative"],
        "people": [WEI, ANNA],
        "agenda": t("demo.meetings.agenda"),
        "repeat": "weekly",
        "count": "",
        "options": ["maybe", "announce"],
    }
    stage.step(PM, t("demo.meetings.forgets_count"))
    stage.show_form_errors(PM, slack.submit_view(PM, values))
    stage.step(PM, t("demo.meetings.sets_count"))
    slack.submit_view(PM, {**values, "count": "6"})
    stage.show_new_messages()

    stage.step(LUCAS, t("demo.meetings.answers"))
    for person, answer in ((LUCAS, "accepted"), (WEI, "maybe"), (ANNA, "declined")):
        action = f"{CalendarId.RSVP_PREFIX}{answer}"
        slack.click(person, action, message=_with_action(emulator.dm_messages(person), action))
    stage.show_new_messages()

    with stage.database.session() as session:
        first = session.exec(
            select(CalendarEvent)
            .where(CalendarEvent.title == values["title"])
            .order_by(CalendarEvent.starts_at)
        ).first()
    assert first is not None
    stage.clock.set(first.starts_at - timedelta(hours=24))
    _run(stage, t("demo.meetings.day_before"))
    stage.clock.set(first.starts_at - timedelta(minutes=15))
    _run(stage, t("demo.meetings.quarter_before"))
    stage.clock.set(first.ends_at + timedelta(minutes=10))
    _run(stage, t("demo.meetings.after"))

    stage.step(PM, t("demo.meetings.record_outcome"))
    prompt = _with_action(emulator.dm_messages(PM), MeetingId.OUTCOME)
    slack.click(PM, MeetingId.OUTCOME, message=prompt)
    stage.show_view(emulator.open_views(PM)[-1])
    due = (stage.clock.now() + timedelta(days=7)).astimezone(ZoneInfo(stage.timezone)).date()
    slack.submit_view(
        PM,
        {
            "attended": [LUCAS, WEI],
            "minutes": t("demo.meetings.minutes"),
            "decisions": t("demo.meetings.decisions"),
            "action_1_text": t("demo.meetings.action"),
            "action_1_owner": CONSULTANT,
            "action_1_due": due.isoformat(),
        },
    )
    stage.show_new_messages()
    stage.step(PM, t("demo.meetings.to_issue"))
    summary = _with_action(emulator.dm_messages(PM), MeetingId.ACTION_TO_ISSUE)
    slack.click(PM, MeetingId.ACTION_TO_ISSUE, message=summary)
    stage.show_new_messages()

    stage.step(PM, t("demo.meetings.draft_report"))
    due_dm = _with_action(emulator.dm_messages(PM), PlanId.DUE_DRAFT)
    slack.click(PM, PlanId.DUE_DRAFT, message=due_dm, value=_values(due_dm, PlanId.DUE_DRAFT)[0])
    stage.show_view(emulator.open_views(PM)[-1])
    stage.step(PM, t("demo.meetings.sends_report"))
    draft = next(
        block["element"]["initial_value"]
        for block in emulator.open_views(PM)[-1]["blocks"]
        if block.get("block_id") == "report"
    )
    slack.submit_view(PM, {"report": draft + "\n" + t("demo.meetings.decision_line")})
    stage.show_new_messages()

    stage.step(PM, t("demo.meetings.mark_done"))
    due_dm = emulator.message(due_dm["channel"], due_dm["ts"]) or due_dm
    slack.click(PM, PlanId.DUE_DONE, message=due_dm, value=_values(due_dm, PlanId.DUE_DONE)[-1])
    slack.submit_view(PM, {"note": t("demo.meetings.done_note")})
    stage.show_new_messages()

    with stage.database.session() as session:
        project = session.exec(select(Project).where(Project.code == "ERP")).one()
    nudge = _with_action(emulator.dm_messages(PM), EngagementId.LOG_CONTACT)
    stage.step(PM, t("demo.meetings.log_contact", who=stage.name(MARIA)))
    slack.click(PM, EngagementId.LOG_CONTACT, message=nudge, value=f"{project.id}:{MARIA}")
    stage.show_view(emulator.open_views(PM)[-1])
    slack.submit_view(PM, {"kind": "face_to_face", "note": t("demo.meetings.contact_note")})
    stage.show_new_messages()
    name = stage.name(JONAS).lstrip("@")
    stage.step(PM, t("demo.meetings.touch", who=stage.name(JONAS)))
    slack.slash_command(
        PM,
        "/keyuser",
        f"touch ERP <@{JONAS}|{name}> call {t('demo.meetings.touch_note')}",
        channel_id=CHANNEL,
    )
    stage.show_new_messages()
    stage.home(PM, t("demo.meetings.home"))
    stage.clock.set(stage.clock.now() + timedelta(days=7))
    _run(stage, t("demo.meetings.next_week"))
