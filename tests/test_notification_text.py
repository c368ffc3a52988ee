"""A message's ``text`` is what a push notification and a screen reader give: it stands alone
(the project, what, when, where, who asks) and follows the message's state when it is updated.
Also the house rules of ``tests/surfaces.py`` that say so, each on a message that breaks it."""

from __future__ import annotations

from datetime import timedelta

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.i18n import slack_date
from bot.ids import ApprovalId, CalendarId, PollId
from bot.jobs import run_due
from bot.runtime import Runtime
from storage.db import Database
from tests import surfaces
from tests import test_flows_signoffs as signoff_flows
from tests.conftest import KEY_USERS, PM, START
from tests.polls_helpers import (
    NPS,
    RATING,
    create_poll,
    epoch,
    poll_dm,
    project_with_key_users,
    rate_action,
)
from tests.test_flows_signoffs import SAM, answer, asked_dm, new_signoff
from tests.test_flows_trainings import (
    ANNA,
    BEN,
    SESSION_START,
    invitation_dm,
    project_with_curriculum,
    schedule,
)

BERLIN = "Europe/Berlin"
erp = signoff_flows.erp  # the sign-off flows' project, as a fixture here too


def test_a_training_invitation_says_what_when_where_and_follows_the_answer(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack)
    schedule(slack, database, capacity="")
    start = slack_date(SESSION_START, BERLIN)
    before = invitation_dm(emulator, ANNA, "System overview")["text"]
    assert before.startswith("ERP · Training: System overview · ")
    assert start in before and "2026-12-08 09:00 Europe/Berlin" in before
    assert "place: Room 4.02" in before and f"from <@{PM}>" in before
    assert before.endswith("please accept or decline")

    slack.click(
        ANNA, f"{CalendarId.RSVP_PREFIX}accepted", message=invitation_dm(emulator, ANNA, "System")
    )
    after = invitation_dm(emulator, ANNA, "System overview")["text"]
    assert after.startswith("ERP · Training: System overview · ") and start in after
    assert after.endswith("you accepted") and "please accept" not in after

    slack.click(
        BEN, f"{CalendarId.RSVP_PREFIX}declined", message=invitation_dm(emulator, BEN, "System")
    )
    assert invitation_dm(emulator, BEN, "System overview")["text"].endswith("you declined")


def test_a_chinese_invitation_says_the_same_in_chinese(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_curriculum(slack, locale="zh-CN")
    schedule(slack, database, module="系统概述", capacity="")
    text = invitation_dm(emulator, ANNA, "系统概述")["text"]
    assert text.startswith("ERP · 培训：系统概述 · ") and slack_date(SESSION_START, BERLIN) in text
    assert "地点：Room 4.02" in text and text.endswith("请选择接受或谢绝")


def test_the_poll_dm_names_the_project_the_deadline_and_who_asks(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    closes = START + timedelta(days=3)
    create_poll(
        slack,
        closes_at=epoch(closes),
        questions=[
            {"question_kind": RATING, "question_text": "How satisfied are you?"},
            {
                "question_kind": NPS,
                "question_text": "Would you recommend it?",
                "question_required": "no",
            },
        ],
    )
    person = KEY_USERS[0]
    message = poll_dm(slack, person)
    deadline = slack_date(closes, BERLIN)
    assert message["text"] == (
        f"ERP · Poll: Monthly pulse · closes {deadline} · from <@{PM}> · please answer"
    )
    shown = str(message["blocks"])
    assert "asked by" in shown and f"<@{PM}>" in shown

    buttons = [
        element
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    labels = [b["text"]["text"] for b in buttons]
    assert labels[:5] == [
        "1 · very dissatisfied",
        "2 · dissatisfied",
        "3 · neutral",
        "4 · satisfied",
        "5 · very satisfied",
    ]
    assert labels[5] == "0 · not at all likely" and labels[15] == "10 · extremely likely"
    assert labels[6:15] == [str(n) for n in range(1, 10)]
    assert labels[-1] == "Answer all questions…"  # it opens a form
    spoken = {b["text"]["text"]: b.get("accessibility_label") for b in buttons}
    assert spoken["7"] == "7 of 10, where 0 is not at all likely and 10 extremely likely"
    assert spoken["4 · satisfied"] == "4 · satisfied, on a scale of 1 to 5"

    slack.click(person, rate_action(message, 4), message=message)
    answered = poll_dm(slack, person)
    assert answered["text"].endswith("answered, thank you") and deadline in answered["text"]
    assert PollId.EDIT in str(answered["blocks"])


def _message(text: str, *blocks: dict[str, object]) -> surfaces.Surface:
    return surfaces.Surface("chat.postMessage", {"text": text, "blocks": list(blocks)})


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_a_time_in_the_blocks_is_in_the_text_too() -> None:
    when = "<!date^1796371200^{date_short_pretty} {time}|2026-12-04 09:00 Europe/Berlin>"
    silent = _message("Please answer the poll", _section(f"closes {when}"))
    assert surfaces.time_in_text(silent) == [
        "the blocks show a time and the text does not: 'Please answer the poll'"
    ]
    assert surfaces.time_in_text(_message(f"Poll · closes {when}", _section(when))) == []
    assert surfaces.time_in_text(_message("Digest, week 2027-W01", _section(when))) == []
    ephemeral = surfaces.Surface("chat.postEphemeral", {"text": "x", "blocks": [_section(when)]})
    assert surfaces.time_in_text(ephemeral) == []  # an ephemeral answer notifies nobody


def test_a_button_says_itself_in_words() -> None:
    def buttons(*elements: dict[str, object]) -> surfaces.Surface:
        return _message("x", {"type": "actions", "elements": list(elements)})

    def button(label: str, **extra: object) -> dict[str, object]:
        return {"type": "button", "text": {"type": "plain_text", "text": label}, **extra}

    assert surfaces.buttons_say_themselves(buttons(button("★★★"), button(":star: :star:"))) == [
        "a button labelled by symbols alone: '★★★'",
        "a button labelled by symbols alone: ':star: :star:'",
    ]
    assert surfaces.buttons_say_themselves(buttons(button("7"))) == [
        "a button labelled '7' with no accessibility_label"
    ]
    fine = buttons(button("7", accessibility_label="7 of 10"), button("3 ★★★ · acceptable"))
    assert surfaces.buttons_say_themselves(fine) == []


def test_a_state_is_not_told_by_emoji_alone() -> None:
    by_emoji = _message(
        "x",
        _section(":white_check_mark: Basic operation: 8/8 h · quiz 100%"),
        _section(":hourglass_flowing_sand: Basic operation: 2/8 h · quiz 50%"),
    )
    [problem] = surfaces.status_in_words(by_emoji)
    assert problem.startswith("lines that differ by their emoji only")
    in_words = _message(
        "x",
        _section(":white_check_mark: ready · Basic operation: 8/8 h · quiz 100%"),
        _section(":hourglass_flowing_sand: not ready yet · Basic operation: 2/8 h · quiz 50%"),
    )
    assert surfaces.status_in_words(in_words) == []


def test_a_signers_dm_says_what_by_whom_and_when_and_then_their_answer(
    erp: SlackDriver, runtime: Runtime
) -> None:
    new_signoff(erp, due_on="2026-12-10")
    asked = asked_dm(erp, SAM)["text"]
    assert "*sign-off #1* (ERP): *FI blueprint*" in asked and f"by <@{PM}>" in asked
    assert asked.endswith(" · due 2026-12-10")
    answer(erp, SAM, ApprovalId.APPROVE)
    run_due(runtime)
    retold = asked_dm(erp, SAM)["text"]
    assert "*FI blueprint*" in retold and "due 2026-12-10" in retold
    assert retold.endswith("the other decision makers' are awaited.")
