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
    stage.act("Act 3 — key users' issues, from report to rated resolution")

    stage.step(WEI, "writes in #erp-rollout:")
    original = emulator.add_message(
        CHANNEL,
        WEI,
        "Goods receipt for PO 4500012345 fails in MIGO with M7 021 (deficit of stock).\n"
        "Plant 1000 cannot post any receipts since this morning.",
    )
    stage.say("    > " + original["text"].replace("\n", "\n    > "))

    stage.step(
        WEI, "runs the message shortcut “Log as key-user issue” on it; the form comes prefilled:"
    )
    slack.message_shortcut(WEI, IssueId.LOG_FROM_MESSAGE, original, CHANNEL)
    stage.show_view(emulator.open_views(WEI)[-1])
    stage.step(WEI, "sets priority P2 and module MM, and logs it:")
    slack.submit_view(WEI, {"priority": "P2", "module": "MM"})
    stage.show_new_messages()

    stage.step(WEI, "types `/issue new` and asks for a report, choosing a due date in the past:")
    slack.slash_command(WEI, "/issue", "new", channel_id=CHANNEL)
    values = {
        "title": "Report of open purchase orders by plant",
        "description": "Weekly, as Excel, for the plant managers.",
        "kind": "request",
        "module": "MM",
        "priority": "P2",
        "due_date": "2026-11-01",
    }
    response = slack.submit_view(WEI, values)
    for block_id, message in (response.json or {}).get("errors", {}).items():
        stage.say(f"    ! {block_id}: {message}")
    stage.say("    (the form stays open; nothing was stored)")
    stage.step(WEI, "leaves the due date empty (the P2 service level sets it) and logs it:")
    slack.submit_view(WEI, {**values, "due_date": None})
    stage.show_new_messages()

    stage.step(PM, "clicks “Assign” on ERP-1 and picks @tom.consultant:")
    slack.click(PM, f"{IssueId.DO_PREFIX}assign", message=_issue_message(stage, 1))
    slack.submit_view(PM, {"owner_id": CONSULTANT})
    stage.show_new_messages()
    stage.step(PM, "assigns ERP-2 too, with `/issue ERP-2 assign @tom.consultant`:")
    slack.slash_command(PM, "/issue", f"ERP-2 assign <@{CONSULTANT}|tom.consultant>", CHANNEL)
    stage.show_new_messages()

    stage.step(WEI, "(the reporter) tries `/issue ERP-1 close`:")
    slack.slash_command(WEI, "/issue", "ERP-1 close", CHANNEL)
    stage.show_new_messages()

    stage.step(CONSULTANT, "clicks “Acknowledge” on ERP-1:")
    slack.click(CONSULTANT, f"{IssueId.DO_PREFIX}ack", message=_issue_message(stage, 1))
    stage.show_new_messages()
    stage.step(CONSULTANT, "starts work on ERP-2 with `/issue ERP-2 start`:")
    slack.slash_command(CONSULTANT, "/issue", "ERP-2 start", CHANNEL)
    stage.show_new_messages()

    stage.advance(hours=3)
    stage.step(CONSULTANT, "clicks “Resolve” on ERP-1 and explains the fix:")
    slack.click(CONSULTANT, f"{IssueId.DO_PREFIX}resolve", message=_issue_message(stage, 1))
    slack.submit_view(
        CONSULTANT,
        {
            "resolution": "Stock of material 4711 was posted to the wrong storage location; "
            "moved it with MB1B and the receipt goes through."
        },
    )
    stage.show_new_messages()

    stage.step(WEI, "rates the resolution 5 in the DM:")
    rating_request = emulator.dm_messages(WEI)[-1]
    slack.click(WEI, f"{IssueId.RATE}_5", message=rating_request)
    stage.show_new_messages()

    stage.advance(days=4)
    stage.step("scheduler", "runs what is due (`liaison jobs run-due`) four days later:")
    summary = run_due(stage.runtime)
    stage.say("    " + ", ".join(f"{name}: {result}" for name, result in summary.items()))
    stage.show_new_messages()
    stage.step("scheduler", "runs again at the same instant (a restart): nothing new is sent:")
    summary = run_due(stage.runtime)
    stage.say("    " + ", ".join(f"{name}: {result}" for name, result in summary.items()))
    stage.show_new_messages()

    stage.step(PM, "runs `/issue list overdue`:")
    slack.slash_command(PM, "/issue", "list overdue", CHANNEL)
    stage.show_new_messages()

    stage.step(PM, "opens Liaison's Home tab:")
    slack.open_home(PM)
    stage.show_home(PM)
    stage.show_new_messages()
