"""Act: a monthly satisfaction poll to the six key users, answered, reminded, closed, repeated.

Round 1 goes out now; some key users answer (a rating button in the DM, the modal), the clock
moves, the scheduler reminds those who have not answered, the poll closes and the PM gets the
results with a chart. A month later round 2 runs the same way and its results show the trend.
The last chart is saved next to the demo database.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.demo.register import KEY_USERS
from bot.demo.stage import CHANNEL, PM, Stage
from bot.ids import PollId
from bot.jobs import run_due

ANNA, WEI, LUCAS, MARIA, JONAS = "UANA0003", "UWEI0004", "ULUC0005", "UMAR0006", "UJON0007"


def _poll_message(stage: Stage, user_id: str) -> dict[str, Any]:
    for message in reversed(stage.emulator.dm_messages(user_id)):
        if PollId.ANSWER in str(message.get("blocks")) or PollId.EDIT in str(message.get("blocks")):
            return message
    raise LookupError(f"no poll message for {user_id}")


def _rate(stage: Stage, user_id: str, value: int) -> None:
    message = _poll_message(stage, user_id)
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            action_id = element.get("action_id", "")
            if action_id.startswith(PollId.RATE_PREFIX) and action_id.endswith(f":{value}"):
                stage.slack.click(user_id, action_id, message=message)
                return
    raise LookupError("no rating button")


def _modal_answers(
    stage: Stage, user_id: str, rating: int, nps: int, works: str, improve: str
) -> None:
    view = stage.emulator.top_view(user_id)
    if view is None:
        stage.slack.click(user_id, PollId.ANSWER, message=_poll_message(stage, user_id))
        view = stage.emulator.top_view(user_id)
    assert view is not None
    ids = [b["block_id"] for b in view["blocks"] if b.get("type") == "input"]
    values: dict[str, Any] = {ids[0]: str(rating), ids[1]: str(nps)}
    if works:
        values[ids[2]] = works
    if improve:
        values[ids[3]] = improve
    stage.slack.submit_view(user_id, values)


def play(stage: Stage) -> None:
    slack, emulator = stage.slack, stage.emulator
    stage.act("Act 2 — a monthly key-user satisfaction poll, its reminders, results and trend")
    assert len(KEY_USERS) == 6

    stage.step(PM, "types `/poll new` in #erp-rollout and starts from the monthly template:")
    slack.slash_command(PM, "/poll", "new", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    now = stage.clock.now()
    slack.submit_view(
        PM,
        {
            "template": "monthly_satisfaction",
            "recurrence": "monthly",
            "remind_hours": "24",
            "closes_at": int((now + timedelta(days=4)).timestamp()),
        },
    )
    stage.step(PM, "sees the template's questions and creates the poll:")
    stage.show_view(emulator.open_views(PM)[-1])
    slack.submit_view(PM, {"then": "create"})
    stage.show_new_messages()

    stage.step(ANNA, "clicks 4 in the DM; the NPS question is required, so the form opens:")
    _rate(stage, ANNA, 4)
    stage.show_view(emulator.open_views(ANNA)[-1])
    _modal_answers(stage, ANNA, 4, 8, "Weekly demos of the FI flows", "Faster answers to questions")
    stage.show_new_messages()

    stage.step(WEI, "answers with the Answer button:")
    _modal_answers(stage, WEI, 3, 6, "", "The test system is slow")
    stage.show_new_messages()
    stage.step(MARIA, "clicks 5, then gives a 10:")
    _rate(stage, MARIA, 5)
    _modal_answers(stage, MARIA, 5, 10, "Clear plan, honest status", "")
    stage.show_new_messages()

    stage.step(PM, "checks the response rate on the Home tab:")
    slack.open_home(PM)
    stage.show_home(PM)
    stage.show_new_messages()

    stage.advance(days=3, hours=1)
    stage.step(PM, "— three days later the scheduler runs (`liaison jobs run-due`):")
    run_due(stage.runtime)
    stage.show_new_messages()

    stage.step(LUCAS, "answers after the reminder:")
    _modal_answers(stage, LUCAS, 2, 4, "", "More hands-on sessions for SD")
    stage.show_new_messages()

    stage.advance(days=1)
    stage.step(PM, "— the poll closes; results and a chart go to the PM:")
    run_due(stage.runtime)
    stage.show_new_messages()

    stage.advance(days=27)
    stage.step(PM, "— a month later, round 2 opens by itself:")
    run_due(stage.runtime)
    stage.show_new_messages()
    for user_id, rating, nps in ((ANNA, 5, 9), (WEI, 4, 8), (MARIA, 5, 10), (JONAS, 4, 9)):
        _rate(stage, user_id, rating)
        _modal_answers(stage, user_id, rating, nps, "", "")
    stage.step(PM, "— four key users answer round 2; it closes four days later:")
    stage.advance(days=4, hours=1)
    run_due(stage.runtime)
    stage.show_new_messages()

    charts = [f for f in emulator.files if f["name"].endswith(".png")]
    if charts:
        path = stage.database_path.with_name(stage.database_path.stem + "-poll-chart.png")
        path.write_bytes(charts[-1]["content"])
        stage.say(f"    The chart of round 2 (bars per question, trend line) is saved to: {path}")
        stage.notes.append(f"Poll chart (PNG): {path}")
