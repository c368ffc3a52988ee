"""Act: a monthly satisfaction poll to the six key users, answered, reminded, closed, repeated.

Round 1 goes out now; some key users answer (a rating button in the DM, the modal), the clock
moves, the scheduler reminds those who have not answered, the poll closes and the PM gets the
results with a chart. A month later round 2 runs the same way and its results show the trend.
The last chart is saved next to the demo database.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.demo.register import KEY_USERS
from bot.demo.stage import CHANNEL, PM, Stage
from bot.ids import PollId
from bot.jobs import run_due
from storage.models import Poll

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


def _next_round_opens(stage: Stage) -> datetime:
    with stage.database.session() as session:
        later = session.exec(
            select(Poll).where(Poll.round_number == 2).order_by(col(Poll.opens_at))
        ).first()
    assert later is not None, "round 2 was not scheduled"
    return later.opens_at


def play(stage: Stage) -> None:
    slack, emulator = stage.slack, stage.emulator
    t = stage.t
    stage.act(t("demo.polls.title"))
    assert len(KEY_USERS) == 6

    stage.step(PM, t("demo.polls.new", channel=t("demo.data.channel")))
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
    stage.step(PM, t("demo.polls.questions"))
    stage.show_view(emulator.open_views(PM)[-1])
    slack.submit_view(PM, {"then": "create"})
    stage.show_new_messages()

    stage.step(ANNA, t("demo.polls.rates_opens_form"))
    _rate(stage, ANNA, 4)
    stage.show_view(emulator.open_views(ANNA)[-1])
    _modal_answers(stage, ANNA, 4, 8, t("demo.polls.anna_works"), t("demo.polls.anna_improve"))
    stage.show_new_messages()

    stage.step(WEI, t("demo.polls.answer_button"))
    _modal_answers(stage, WEI, 3, 6, "", t("demo.polls.wei_improve"))
    stage.show_new_messages()
    stage.step(MARIA, t("demo.polls.five_then_ten"))
    _rate(stage, MARIA, 5)
    _modal_answers(stage, MARIA, 5, 10, t("demo.polls.maria_works"), "")
    stage.show_new_messages()

    stage.home(PM, t("demo.polls.home"))
    stage.show_new_messages()

    stage.advance(days=3, hours=1)
    stage.step("scheduler", t("demo.polls.three_days_later"))
    stage.show_run(run_due(stage.runtime))
    stage.show_new_messages()

    stage.home(LUCAS, t("demo.polls.after_reminder_home"))
    stage.step(LUCAS, t("demo.polls.after_reminder"))
    stage.slack.click(LUCAS, PollId.ANSWER, view=stage.emulator.home(LUCAS))  # the same form
    _modal_answers(stage, LUCAS, 2, 4, "", t("demo.polls.lucas_improve"))
    stage.show_new_messages()

    stage.advance(days=1)
    stage.step("scheduler", t("demo.polls.closes"))
    stage.show_run(run_due(stage.runtime))
    stage.show_new_messages()

    # Round 2 is due a month after round 1 opened: the clock goes to that very minute, so the
    # narration and the trend name the same day.
    stage.clock.set(_next_round_opens(stage))
    stage.step("scheduler", t("demo.polls.round_two"))
    stage.show_run(run_due(stage.runtime))
    stage.show_new_messages()
    for user_id, rating, nps in ((ANNA, 5, 9), (WEI, 4, 8), (MARIA, 5, 10), (JONAS, 4, 9)):
        _rate(stage, user_id, rating)
        _modal_answers(stage, user_id, rating, nps, "", "")
    stage.advance(days=4)
    stage.step("scheduler", t("demo.polls.round_two_answers"))
    stage.show_run(run_due(stage.runtime))
    stage.show_new_messages()

    stage.save_last_file(
        ".png", "-poll-chart.png", "demo.polls.chart_saved", "demo.polls.chart_note"
    )
