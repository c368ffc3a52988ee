"""Act: key users' issues, from a message and from the command, to a rated resolution; the
clock moves and the overdue one is reminded to its owner and escalated to the PM."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.demo.stage import CHANNEL, CONSULTANT, PM, Stage
from bot.ids import IssueId
from bot.jobs import run_due
from storage.models import Issue

WEI = "UWEI0004"


def _issue_message(stage: Stage, number: int) -> dict[str, Any]:
    with stage.database.session() as session:
        issue = session.exec(select(Issue).where(Issue.number == number)).one()
    message = stage.emulator.message(issue.channel_id or CHANNEL, issue.message_ts or "")
    assert message is not None, f"issue {number} has no message"
    return message


def play(stage: Stage) -> None:
    slack = stage.slack
    emulator = stage.emulator

    def verb(name: str) -> str:
        return stage.t(f"issues.verb.{name}")

    t = stage.t
    stage.next_working_morning()
    stage.act(t("demo.issues.title"))

    stage.step(WEI, t("demo.issues.writes", channel=t("demo.data.channel")))
    original = emulator.add_message(CHANNEL, WEI, t("demo.issues.message"))
    stage.say("    > " + original["text"].replace("\n", "\n    > "))

    stage.step(WEI, t("demo.issues.shortcut"))
    slack.message_shortcut(WEI, IssueId.LOG_FROM_MESSAGE, original, CHANNEL)
    stage.show_view(emulator.open_views(WEI)[-1])
    stage.step(WEI, t("demo.issues.sets_priority"))
    slack.submit_view(WEI, {"priority": "P2", "module": "MM"})
    stage.show_new_messages()

    stage.step(WEI, t("demo.issues.new_request"))
    slack.slash_command(WEI, "/issue", "new", channel_id=CHANNEL)
    values = {
        "title": t("demo.issues.request_title"),
        "description": t("demo.issues.request_description"),
        "kind": "request",
        "module": "MM",
        "priority": "P2",
        "due_date": "2026-11-01",
    }
    response = slack.submit_view(WEI, values)
    stage.show_form_errors(WEI, response)
    stage.step(WEI, t("demo.issues.no_due_date"))
    slack.submit_view(WEI, {**values, "due_date": None})
    stage.show_new_messages()

    stage.step(
        PM,
        t("demo.issues.assign_click", button=verb("assign"), who=stage.name(CONSULTANT)),
    )
    slack.click(PM, f"{IssueId.DO_PREFIX}assign", message=_issue_message(stage, 1))
    slack.submit_view(PM, {"owner_id": CONSULTANT})
    stage.show_new_messages()
    stage.step(PM, t("demo.issues.assign_command", who=stage.name(CONSULTANT)))
    handle = stage.cast[CONSULTANT][0]
    slack.slash_command(PM, "/issue", f"ERP-2 assign <@{CONSULTANT}|{handle}>", CHANNEL)
    stage.show_new_messages()

    stage.command(WEI, t("demo.issues.reporter_close"), "/issue", "ERP-1 close")

    stage.step(CONSULTANT, t("demo.issues.ack_click", button=verb("ack")))
    slack.click(CONSULTANT, f"{IssueId.DO_PREFIX}ack", message=_issue_message(stage, 1))
    stage.show_new_messages()
    stage.command(CONSULTANT, t("demo.issues.start_command"), "/issue", "ERP-2 start")

    stage.advance(hours=3)
    stage.step(CONSULTANT, t("demo.issues.resolve_click", button=verb("resolve")))
    slack.choose(
        CONSULTANT, IssueId.MORE, f"{IssueId.DO_PREFIX}resolve", message=_issue_message(stage, 1)
    )
    slack.submit_view(
        CONSULTANT,
        {"resolution": t("demo.issues.resolution")},
    )
    stage.show_new_messages()

    stage.step(WEI, t("demo.issues.rates"))
    rating_request = emulator.dm_messages(WEI)[-1]
    slack.click(WEI, f"{IssueId.RATE}_5", message=rating_request)
    stage.show_new_messages()

    stage.advance(days=4)
    stage.step("scheduler", t("demo.issues.run_due"))
    stage.show_run(run_due(stage.runtime))
    stage.show_new_messages()
    stage.step("scheduler", t("demo.issues.rerun"))
    stage.show_run(run_due(stage.runtime))
    stage.show_new_messages()

    stage.command(PM, t("demo.issues.list_overdue"), "/issue", "list overdue")

    stage.home(PM, t("demo.issues.home"))
    stage.show_new_messages()
