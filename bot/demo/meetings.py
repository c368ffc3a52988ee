"""Act: the communication plan, meetings and engagement. The PM takes the ready-made plan, plans a
weekly working meeting (invitations, RSVPs, reminders, the organizer's tally), records its
outcome and turns an action item into an issue, drafts and sends a due progress report, and is
nudged about key users in engagement debt. Then the same in Chinese, for a zh-CN project."""

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
CN_CHANNEL = "CCNROLL01"


def _with_action(messages: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The latest message holding an element with ``action_id``."""
    for message in reversed(messages):
        for block in message.get("blocks") or []:
            elements = list(block.get("elements") or []) + [block.get("accessory") or {}]
            if any(element.get("action_id") == action_id for element in elements):
                return message
    raise LookupError(action_id)


def _next_weekday(stage: Stage, weekday: int, hour: int, zone: str = "Europe/Berlin") -> datetime:
    local = stage.clock.now().astimezone(ZoneInfo(zone))
    days = (weekday - local.weekday()) % 7
    if days < 2:  # leave room for the day-before reminder
        days += 7
    return datetime.combine(local.date() + timedelta(days=days), time(hour), tzinfo=local.tzinfo)


def _run_jobs(stage: Stage, what: str) -> None:
    stage.step(PM, f"— the scheduler runs ({what}):")
    stage.show_run(run_due(stage.runtime))  # what the jobs did, in words
    stage.show_new_messages()


def play(stage: Stage) -> None:
    slack = stage.slack
    emulator = stage.emulator
    stage.act(stage.t("demo.meetings.title"))
    stage.show_new_messages()

    stage.step(PM, "opens the communication plan with `/project plan ERP`:")
    slack.slash_command(PM, "/project", "plan ERP", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    stage.step(PM, "clicks “Use the ready-made plan”:")
    slack.click(PM, PlanId.USE_TEMPLATE, view=emulator.open_views(PM)[-1])
    stage.show_view(emulator.open_views(PM)[-1])
    emulator.close_view(PM)

    start = _next_weekday(stage, 1, 10)  # next Tuesday, 10:00 Berlin
    stage.step(PM, "plans the weekly SD/MM working meeting with `/meeting new ERP`:")
    slack.slash_command(PM, "/meeting", "new ERP", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    values: dict[str, Any] = {
        "title": "SD/MM working meeting",
        "kind": "working_meeting",
        "starts_at": int(start.timestamp()),
        "duration": "60",
        "video_url": "https://meet.example.com/sd-mm",
        "roles": ["business_representative"],
        "people": [WEI, ANNA],
        "agenda": "1. Open points order-to-cash\n2. Goods receipt tests\n3. Next steps",
        "repeat": "weekly",
        "count": "",
        "options": ["maybe", "announce"],
    }
    stage.step(PM, "submits it as a weekly series but forgets how many times:")
    response = slack.submit_view(PM, values)
    for block_id, message in (response.json or {}).get("errors", {}).items():
        stage.say(f"    ! {block_id}: {message}")
    stage.say("    " + stage.t("demo.form_stays_open"))
    stage.step(PM, "sets 6 meetings and submits:")
    slack.submit_view(PM, {**values, "count": "6"})
    stage.show_new_messages()

    stage.step(LUCAS, "accepts; Wei says maybe; Anna declines:")
    for person, answer in ((LUCAS, "accepted"), (WEI, "maybe"), (ANNA, "declined")):
        action = f"{CalendarId.RSVP_PREFIX}{answer}"
        slack.click(person, action, message=_with_action(emulator.dm_messages(person), action))
    stage.show_new_messages()

    with stage.database.session() as session:
        first = session.exec(
            select(CalendarEvent)
            .where(CalendarEvent.title == "SD/MM working meeting")
            .order_by(CalendarEvent.starts_at)
        ).first()
    assert first is not None
    stage.clock.set(first.starts_at - timedelta(hours=24))
    _run_jobs(stage, "24 hours before: reminders and the organizer's RSVP tally")
    stage.clock.set(first.starts_at - timedelta(minutes=15))
    _run_jobs(stage, "15 minutes before")
    stage.clock.set(first.ends_at + timedelta(minutes=10))
    _run_jobs(stage, "after the meeting")

    stage.step(PM, "clicks “Record outcome” and fills in the form:")
    slack.click(
        PM, MeetingId.OUTCOME, message=_with_action(emulator.dm_messages(PM), MeetingId.OUTCOME)
    )
    stage.show_view(emulator.open_views(PM)[-1])
    due = (stage.clock.now() + timedelta(days=7)).astimezone(ZoneInfo("Europe/Berlin")).date()
    slack.submit_view(
        PM,
        {
            "attended": [LUCAS, WEI],
            "minutes": "Walked through the open order-to-cash points; GR tests are blocked by "
            "missing stock in plant 1000.",
            "decisions": "Pricing conditions stay as in the legacy system\nGR tests move to week 3",
            "action_1_text": "Load opening stock for plant 1000 in QAS",
            "action_1_owner": CONSULTANT,
            "action_1_due": due.isoformat(),
        },
    )
    stage.show_new_messages()
    stage.step(PM, "turns the action item into a key-user issue with one click:")
    summary = _with_action(emulator.dm_messages(PM), MeetingId.ACTION_TO_ISSUE)
    slack.click(PM, MeetingId.ACTION_TO_ISSUE, message=summary)
    stage.show_new_messages()

    stage.step(
        PM,
        "goes back to Monday's DM of due plan items and clicks “Draft report” on the "
        "decision makers' progress report:",
    )
    due_dm = _with_action(emulator.dm_messages(PM), PlanId.DUE_DRAFT)
    slack.click(PM, PlanId.DUE_DRAFT, message=due_dm)
    stage.show_view(emulator.open_views(PM)[-1])
    stage.step(PM, "adds a line for the decision and sends it:")
    draft = next(
        block["element"]["initial_value"]
        for block in emulator.open_views(PM)[-1]["blocks"]
        if block.get("block_id") == "report"
    )
    slack.submit_view(
        PM, {"report": draft + "\nDecision needed by Friday: go-live date for plant 1000."}
    )
    stage.show_new_messages()

    stage.step(PM, "marks the key users' weekly update done, with a note:")
    due_dm = emulator.message(due_dm["channel"], due_dm["ts"]) or due_dm
    last_item = [
        element["value"]
        for block in due_dm.get("blocks") or []
        for element in block.get("elements") or []
        if element.get("action_id") == PlanId.DUE_DONE
    ][-1]
    slack.click(PM, PlanId.DUE_DONE, message=due_dm, value=last_item)
    slack.submit_view(PM, {"note": "Posted the weekly update in #erp-rollout"})
    stage.show_new_messages()

    nudge = _with_action(emulator.dm_messages(PM), EngagementId.LOG_CONTACT)
    stage.step(PM, "clicks “Log contact” next to Maria in the engagement nudge:")
    slack.click(
        PM, EngagementId.LOG_CONTACT, message=nudge, value=f"{_project_id(stage, 'ERP')}:{MARIA}"
    )
    stage.show_view(emulator.open_views(PM)[-1])
    slack.submit_view(
        PM, {"kind": "face_to_face", "note": "Steering prep over lunch: budget is fine."}
    )
    stage.show_new_messages()
    stage.step(PM, "logs a phone call with `/keyuser touch ERP @jonas.it call Transport plan OK`:")
    slack.slash_command(
        PM, "/keyuser", "touch ERP <@UJON0007|jonas.it> call Transport plan OK", channel_id=CHANNEL
    )
    stage.show_new_messages()
    stage.step(PM, "opens the Home tab: each key user's last contact:")
    slack.open_home(PM)
    stage.show_home(PM)

    _chinese(stage)


def _project_id(stage: Stage, code: str) -> int:
    with stage.database.session() as session:
        project = session.exec(select(Project).where(Project.code == code)).one()
        return project.id or 0


def _chinese(stage: Stage) -> None:
    """The same capability for a zh-CN project: plan, meeting invitation, reminder, nudge."""
    slack = stage.slack
    emulator = stage.emulator
    emulator.add_channel(CN_CHANNEL, "cn-rollout", members=[PM, WEI, CONSULTANT])
    stage.step(PM, "sets up a Chinese-language project CN (Shanghai) with Wei as key user:")
    slack.slash_command(PM, "/project", "new", channel_id=CN_CHANNEL)
    slack.submit_view(
        PM,
        {
            "name": "上海工厂 ERP 上线",
            "code": "CN",
            "channel_id": CN_CHANNEL,
            "pm_ids": [PM],
            "team_ids": [CONSULTANT],
            "timezone": "Asia/Shanghai",
            "locale": "zh-CN",
            "digest_weekday": "0",
            "digest_time": "09:00",
        },
    )
    slack.slash_command(PM, "/keyuser", "add CN", channel_id=CN_CHANNEL)
    slack.submit_view(
        PM,
        {
            "user_id": WEI,
            "role": "business_representative",
            "module": "MM",
            "influence": "high",
            "interest": "high",
        },
    )
    stage.show_new_messages()
    stage.step(PM, "opens `/project plan CN` and takes the ready-made plan:")
    slack.slash_command(PM, "/project", "plan CN", channel_id=CN_CHANNEL)
    slack.click(PM, PlanId.USE_TEMPLATE, view=emulator.open_views(PM)[-1])
    stage.show_view(emulator.open_views(PM)[-1])
    emulator.close_view(PM)

    start = _next_weekday(stage, 2, 14, "Asia/Shanghai")  # next Wednesday, 14:00 Shanghai
    stage.step(PM, "plans a workshop with `/meeting new CN`; Wei gets the invitation in Chinese:")
    slack.slash_command(PM, "/meeting", "new CN", channel_id=CN_CHANNEL)
    slack.submit_view(
        PM,
        {
            "title": "采购流程研讨会",
            "kind": "workshop",
            "starts_at": int(start.timestamp()),
            "duration": "120",
            "location": "上海工厂 3 号会议室",
            "people": [WEI],
            "agenda": "采购申请审批流程；收货测试",
            "repeat": "none",
            "options": ["maybe"],
        },
    )
    stage.show_new_messages()
    slack.click(
        WEI,
        f"{CalendarId.RSVP_PREFIX}accepted",
        message=_with_action(emulator.dm_messages(WEI), f"{CalendarId.RSVP_PREFIX}accepted"),
    )
    stage.show_new_messages()
    stage.clock.set(start - timedelta(hours=24))
    _run_jobs(stage, "24 hours before the workshop")
    stage.clock.set(stage.clock.now() + timedelta(days=8, hours=3))
    _run_jobs(stage, "a week later: the weekly engagement nudge, in each project's language")
