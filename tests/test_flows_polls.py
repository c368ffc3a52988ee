"""Polls through the emulator: create each question kind, answer by modal and button, edit until
close, reminders, close with CSAT/NPS and a chart, recurrence and trend, CSV export, Home."""

from __future__ import annotations

import csv
import io
import struct
from datetime import timedelta

from sqlmodel import select

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import PollId
from bot.jobs import run_due
from bot.runtime import Runtime
from storage.db import Database
from storage.models import (
    Interaction,
    PollParticipant,
    PollQuestion,
    PollResponse,
    PollStatus,
)
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL, START
from tests.flows import (
    add_key_user,
    create_project,
    last_response,
    last_response_text,
    say_yes,
    texts,
)
from tests.polls_helpers import (
    MULTIPLE,
    NPS,
    RATING,
    SINGLE,
    TEXT,
    create_poll,
    epoch,
    poll_dm,
    polls_in,
    project_with_key_users,
    rate_action,
)

CRM_CHANNEL = "CCRM00001"

EVERY_KIND = [
    {"question_kind": RATING, "question_text": "How satisfied are you?"},
    {"question_kind": NPS, "question_text": "Would you recommend the system?"},
    {"question_kind": SINGLE, "question_text": "Best module?", "question_options": "FI\nMM\nSD"},
    {"question_kind": MULTIPLE, "question_text": "Which trainings?", "question_options": "A\nB\nC"},
    {"question_kind": TEXT, "question_text": "Anything else?", "question_required": "no"},
]


def question_ids(database: Database) -> list[int]:
    with database.session() as session:
        rows = session.exec(select(PollQuestion).order_by(PollQuestion.position)).all()  # type: ignore[arg-type]
        return [row.id or 0 for row in rows]


def answer_by_modal(slack: SlackDriver, user_id: str, values: dict[str, object]) -> object:
    message = poll_dm(slack, user_id)
    action = PollId.EDIT if PollId.EDIT in str(message["blocks"]) else PollId.ANSWER
    slack.click(user_id, action, message=message)
    return slack.submit_view(user_id, values)


def full_answer(ids: list[int], rating: int, nps: int, text: str = "") -> dict[str, object]:
    values: dict[str, object] = {f"q{ids[0]}": str(rating), f"q{ids[1]}": str(nps)}
    if len(ids) > 2:
        values |= {f"q{ids[2]}": "1", f"q{ids[3]}": ["0", "2"]}
    if text and len(ids) > 4:
        values[f"q{ids[4]}"] = text
    return values


def test_create_a_poll_with_every_question_kind_and_each_key_user_gets_one_dm(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    create_poll(slack, questions=EVERY_KIND)
    [poll] = polls_in(database)
    assert poll.status == PollStatus.OPEN
    with database.session() as session:
        kinds = [q.kind for q in session.exec(select(PollQuestion)).all()]
        options = [q.options for q in session.exec(select(PollQuestion)).all()]
    assert kinds == [RATING, NPS, SINGLE, MULTIPLE, TEXT]
    assert options[2] == ["FI", "MM", "SD"]
    for user_id in KEY_USERS:
        invitations = [m for m in emulator.dm_messages(user_id) if "Monthly pulse" in texts([m])]
        assert len(invitations) == 1
        seen = texts(invitations)
        assert "How satisfied are you?" in seen and "Answer" in seen
    assert "created for *ERP* and sent to 6 people" in texts(emulator.dm_messages(PM))
    assert emulator.violations == []


def test_bad_question_and_bad_settings_get_inline_errors(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    response = create_poll(slack, title="", audience_kind="role")
    assert set(response.json["errors"]) == {"title", "audience_roles"}
    slack.submit_view(PM, {"title": "Pulse", "audience_kind": "all"})  # the form kept "role"
    response = slack.submit_view(
        PM, {"question_kind": SINGLE, "question_text": "Pick", "question_options": "only one"}
    )
    assert "2 to 10 choices" in response.json["errors"]["question_options"]
    response = slack.submit_view(PM, {"then": "create"})
    assert "at least one question" in response.json["errors"]["question_text"]
    assert polls_in(database) == []
    assert emulator.violations == []


def test_template_fills_the_monthly_satisfaction_questions(
    slack: SlackDriver, database: Database
) -> None:
    project_with_key_users(slack)
    create_poll(slack, title="", template="monthly_satisfaction", questions=[])
    [poll] = polls_in(database)
    assert poll.title == "Monthly key-user satisfaction"
    with database.session() as session:
        questions = session.exec(select(PollQuestion).order_by(PollQuestion.position)).all()  # type: ignore[arg-type]
    assert [(q.kind, q.required) for q in questions] == [
        (RATING, True),
        (NPS, True),
        (TEXT, False),
        (TEXT, False),
    ]


def test_answer_by_modal_and_by_button_edit_before_close_refuse_after(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    project_with_key_users(slack)
    create_poll(
        slack,
        questions=[{"question_kind": RATING}, {"question_kind": TEXT, "question_required": "no"}],
    )
    ids = question_ids(database)
    # A rating straight from the DM: the only required question, so it is stored at once.
    message = poll_dm(slack, KEY_USERS[0])
    slack.click(KEY_USERS[0], rate_action(message, 4), message=message)
    answered_dm = poll_dm(slack, KEY_USERS[0])
    assert "Answered, thank you" in texts([answered_dm])
    assert PollId.EDIT in str(answered_dm["blocks"])
    # By the modal.
    answer_by_modal(slack, KEY_USERS[1], {f"q{ids[0]}": "2", f"q{ids[1]}": "Too many meetings"})
    # Edit before close: the modal opens with the stored answer.
    slack.click(KEY_USERS[0], PollId.EDIT, message=poll_dm(slack, KEY_USERS[0]))
    view = emulator.top_view(KEY_USERS[0])
    assert view is not None
    rating_block = next(b for b in view["blocks"] if b.get("block_id") == f"q{ids[0]}")
    assert rating_block["element"]["initial_option"]["value"] == "4"
    slack.submit_view(KEY_USERS[0], {f"q{ids[0]}": "5"})
    with database.session() as session:
        responses = {r.user_id: r.answers for r in session.exec(select(PollResponse)).all()}
        touchpoints = session.exec(
            select(Interaction).where(Interaction.kind == "poll.answered")
        ).all()
    assert responses[KEY_USERS[0]] == {str(ids[0]): 5}
    assert responses[KEY_USERS[1]] == {str(ids[0]): 2, str(ids[1]): "Too many meetings"}
    assert len(touchpoints) == 3 and all(t.touchpoint and t.key_user_id for t in touchpoints)
    # Close, then try to change: refused, and the DM says closed.
    clock.advance(days=8)
    run_due(runtime)
    closed_dm = poll_dm(slack, KEY_USERS[0])
    assert "This poll is closed" in texts([closed_dm])
    slack.click(KEY_USERS[1], PollId.EDIT, message=answered_copy(answered_dm))
    assert "is closed" in last_response_text(slack)
    with database.session() as session:
        assert {r.user_id: r.answers for r in session.exec(select(PollResponse)).all()} == responses
    assert emulator.violations == []


def answered_copy(message: dict[str, object]) -> dict[str, object]:
    """A stale copy of an answered DM (the person clicks a button on an old rendering)."""
    return message


def test_rating_button_with_other_required_questions_opens_the_prefilled_modal(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    create_poll(slack, questions=[{"question_kind": RATING}, {"question_kind": NPS}])
    ids = question_ids(database)
    message = poll_dm(slack, KEY_USERS[2])
    slack.click(KEY_USERS[2], rate_action(message, 3), message=message)
    view = emulator.top_view(KEY_USERS[2])
    assert view is not None
    rating_block = next(b for b in view["blocks"] if b.get("block_id") == f"q{ids[0]}")
    assert rating_block["element"]["initial_option"]["value"] == "3"
    with database.session() as session:
        assert session.exec(select(PollResponse)).all() == []  # nothing partial stored
    slack.submit_view(KEY_USERS[2], {f"q{ids[0]}": "3", f"q{ids[1]}": "9"})
    with database.session() as session:
        [response] = session.exec(select(PollResponse)).all()
    assert response.answers == {str(ids[0]): 3, str(ids[1]): 9}
    assert "Answered, thank you" in texts([poll_dm(slack, KEY_USERS[2])])


def test_reminders_go_once_in_the_thread_and_only_to_those_who_have_not_answered(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    project_with_key_users(slack)
    create_poll(slack, remind_hours="24", closes_at=epoch(START + timedelta(days=3)))
    for user_id in KEY_USERS[:2]:
        message = poll_dm(slack, user_id)
        slack.click(user_id, rate_action(message, 5), message=message)
    clock.advance(days=1)
    run_due(runtime)
    assert not any("A reminder" in texts(emulator.dm_messages(u)) for u in KEY_USERS)
    clock.set(START + timedelta(days=2, hours=1))
    run_due(runtime)
    run_due(runtime)  # a second run at the same instant sends nothing new
    clock.advance(hours=5)
    run_due(runtime)
    for user_id in KEY_USERS:
        invitation = poll_dm(slack, user_id)
        thread = emulator.thread(user_id, invitation["ts"])
        reminders = [m for m in thread[1:] if "A reminder" in texts([m])]
        assert len(reminders) == (0 if user_id in KEY_USERS[:2] else 1), user_id


def test_close_computes_csat_and_nps_and_sends_results_with_a_chart_to_the_pm(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    project_with_key_users(slack)
    create_poll(slack, questions=EVERY_KIND)
    ids = question_ids(database)
    # Ratings 5, 4, 4, 2, 1 -> CSAT 3/5 = 60%. NPS 10, 9, 8, 6, 0 -> (2 - 2) / 5 = 0.
    for user_id, rating, nps in zip(KEY_USERS[:5], (5, 4, 4, 2, 1), (10, 9, 8, 6, 0), strict=True):
        answer_by_modal(slack, user_id, full_answer(ids, rating, nps, f"note {rating}"))
    slack.slash_command(PM, "/poll", "close 1", channel_id=PROJECT_CHANNEL)
    assert "the project managers get its results" in last_response_text(slack)
    say_yes(slack, PM)
    assert "is closed" in last_response_text(slack)
    results = texts(emulator.dm_messages(PM))
    assert "*5 of 6* answered (83%)" in results
    assert "*CSAT* 60%" in results and "*NPS* 0" in results
    assert "average rating* 3.20" in results
    assert f"<@{KEY_USERS[5]}>" in results  # named poll: who has not answered
    assert "note 5" in results
    [chart] = [f for f in emulator.files if f["name"].endswith(".png")]
    png = chart["content"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert 600 <= width <= 2000 and 300 <= height <= 2000
    assert 10_000 < len(png) < 1_000_000
    assert emulator.dm_channel_id(PM) in chart["channels"]

    # Jobs afterwards send nothing more about the poll (the weekly digest and the PM's weekly
    # engagement nudge aside).
    def poll_posts() -> int:
        posts = emulator.calls_to("chat.postMessage")
        return len(
            [
                call
                for call in posts
                if "engagement debt" not in str(call.args)
                and "Weekly digest" not in str(call.args.get("text"))
            ]
        )

    calls = poll_posts()
    clock.advance(days=10)
    run_due(runtime)
    assert poll_posts() == calls
    assert emulator.violations == []


def test_recurrence_makes_round_two_and_the_trend_compares_rounds(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    project_with_key_users(slack)
    create_poll(
        slack,
        recurrence="monthly",
        closes_at=epoch(START + timedelta(days=5)),
        questions=[{"question_kind": RATING}],
    )
    for user_id, rating in zip(KEY_USERS[:4], (5, 5, 2, 2), strict=True):
        message = poll_dm(slack, user_id)
        slack.click(user_id, rate_action(message, rating), message=message)
    clock.set(START + timedelta(days=5, minutes=1))
    run_due(runtime)
    first, second = polls_in(database)
    assert (first.status, second.status, second.round_number) == ("closed", "scheduled", 2)
    assert second.opens_at == START + timedelta(days=31)
    run_due(runtime)
    assert len(polls_in(database)) == 2  # no third round from a rerun
    clock.set(second.opens_at)
    run_due(runtime)
    for user_id in KEY_USERS:
        message = poll_dm(slack, user_id)
        assert "Round 2" in texts([message])
        slack.click(user_id, rate_action(message, 4), message=message)
    clock.set(second.closes_at)
    run_due(runtime)
    results = texts(emulator.dm_messages(PM))
    assert "Round 1 (2026-12-01): 67% answered · CSAT 50%" in results
    assert "Round 2 (2027-01-01): 100% answered · CSAT 100%" in results
    assert len([f for f in emulator.files if f["name"].startswith("poll-")]) == 2


def test_closing_a_recurring_poll_early_ends_the_series(
    slack: SlackDriver, database: Database, runtime: Runtime, clock: MovableClock
) -> None:
    project_with_key_users(slack)
    create_poll(
        slack,
        recurrence="monthly",
        closes_at=epoch(START + timedelta(days=5)),
        questions=[{"question_kind": RATING}],
    )
    [poll] = polls_in(database)
    clock.set(START + timedelta(days=1))
    slack.slash_command(PM, "/poll", f"close {poll.id}")
    say_yes(slack, PM, "C0GENERAL")
    assert "It was the last round: no further rounds are scheduled." in last_response_text(slack)
    for days in (2, 6, 40):  # past its close time and a period later: still no next round
        clock.set(START + timedelta(days=days))
        run_due(runtime)
    [closed] = polls_in(database)
    assert (closed.status, closed.next_round_id) == ("closed", None)
    assert slack.emulator.violations == []


def test_csv_export_escapes_formulas_and_anonymous_exports_carry_no_identity(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    create_poll(
        slack,
        questions=[
            {"question_kind": RATING, "question_text": "=1+1 how was it?"},
            {"question_kind": TEXT},
        ],
    )
    create_poll(
        slack, anonymous="yes", questions=[{"question_kind": RATING}, {"question_kind": TEXT}]
    )
    named, anonymous = polls_in(database)
    with database.session() as session:
        named_ids = [
            q.id
            for q in session.exec(
                select(PollQuestion).where(PollQuestion.poll_id == named.id)
            ).all()
        ]
        anon_ids = [
            q.id
            for q in session.exec(
                select(PollQuestion).where(PollQuestion.poll_id == anonymous.id)
            ).all()
        ]
    for user_id in KEY_USERS[:3]:
        dms = [m for m in emulator.dm_messages(user_id) if PollId.ANSWER in str(m.get("blocks"))]
        slack.click(user_id, PollId.ANSWER, message=dms[0])
        slack.submit_view(user_id, {f"q{named_ids[0]}": "4", f"q{named_ids[1]}": '=HYPERLINK("x")'})
        slack.click(user_id, PollId.ANSWER, message=dms[1])
        slack.submit_view(user_id, {f"q{anon_ids[0]}": "3", f"q{anon_ids[1]}": "@SUM(A1)"})
    slack.slash_command(PM, "/poll", f"export {named.id}", channel_id=PROJECT_CHANNEL)
    slack.slash_command(PM, "/poll", f"close {anonymous.id}", channel_id=PROJECT_CHANNEL)
    say_yes(slack, PM)
    slack.slash_command(PM, "/poll", f"export {anonymous.id}", channel_id=PROJECT_CHANNEL)
    named_csv, anon_csv = [
        f["content"].decode() for f in emulator.files if f["name"].endswith(".csv")
    ]
    named_rows = list(csv.reader(io.StringIO(named_csv)))
    assert named_rows[0][:4] == ["round", "slack_user", "answered_at", "'=1+1 how was it?"]
    assert {row[1] for row in named_rows[1:]} == set(KEY_USERS[:3])
    assert all(row[4] == '\'=HYPERLINK("x")' for row in named_rows[1:])
    anon_rows = list(csv.reader(io.StringIO(anon_csv)))
    assert anon_rows[0] == ["round", "Question 1", "Question 2"]
    assert all(row == ["1", "3", "'@SUM(A1)"] for row in anon_rows[1:]) and len(anon_rows) == 4
    assert not any(user in anon_csv for user in KEY_USERS)


def test_only_pms_close_and_read_results(slack: SlackDriver, database: Database) -> None:
    project_with_key_users(slack)
    create_poll(slack)
    for verb in ("close 1", "results 1", "export 1"):
        slack.slash_command(OUTSIDER, "/poll", verb, channel_id=PROJECT_CHANNEL)
        assert "project managers" in last_response_text(slack)
    slack.slash_command(PM, "/poll", "results 1", channel_id=PROJECT_CHANNEL)
    assert "Results of poll #1" in last_response_text(slack)
    slack.slash_command(PM, "/poll", "list", channel_id=PROJECT_CHANNEL)
    assert "0 of 6 answered" in texts([last_response(slack)])
    slack.slash_command(PM, "/poll", "frobnicate", channel_id=PROJECT_CHANNEL)
    assert "Usage of `/poll`" in last_response_text(slack)


def test_audience_by_role_quadrant_and_people(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    create_poll(slack, audience_kind="role", audience_roles=["key_user"])
    create_poll(slack, audience_kind="quadrant", audience_quadrants=["manage_closely", "monitor"])
    create_poll(slack, audience_kind="people", audience_people=[KEY_USERS[4]])
    with database.session() as session:
        people = session.exec(select(PollParticipant)).all()
    by_poll: dict[int, set[str]] = {}
    for person in people:
        by_poll.setdefault(person.poll_id, set()).add(person.user_id)
    assert by_poll == {
        1: {KEY_USERS[2], KEY_USERS[3]},
        2: {KEY_USERS[0], KEY_USERS[4], KEY_USERS[5]},
        3: {KEY_USERS[4]},
    }


def test_home_shows_polls_awaiting_an_answer_and_the_pms_response_rates(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    create_poll(slack)
    message = poll_dm(slack, KEY_USERS[0])
    slack.click(KEY_USERS[0], rate_action(message, 4), message=message)
    slack.open_home(KEY_USERS[1])
    assert "Polls waiting for your answer" in texts([emulator.home(KEY_USERS[1]) or {}])
    slack.open_home(KEY_USERS[0])
    assert "Polls waiting for your answer" not in texts([emulator.home(KEY_USERS[0]) or {}])
    slack.open_home(PM)
    assert "1 of 6 answered (17%)" in texts([emulator.home(PM) or {}])


def test_polls_go_by_their_number_in_the_project_never_by_database_id(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    emulator.add_channel(CRM_CHANNEL, "crm-rollout", members=[PM, *KEY_USERS])
    create_project(slack, name="CRM rollout", code="CRM", channel_id=CRM_CHANNEL)
    add_key_user(slack, KEY_USERS[0], code="CRM", role="key_user", influence="low", interest="low")
    create_poll(slack, channel=CRM_CHANNEL, title="CRM pulse")  # the first poll row of all
    create_poll(slack)
    assert "Poll *#1 Monthly pulse* created for *ERP*" in texts(emulator.dm_messages(PM)[-1:])
    crm_poll, erp_poll = polls_in(database)
    assert (crm_poll.id, erp_poll.id) == (1, 2)  # ERP's first poll is row 2

    slack.slash_command(PM, "/poll", "list", channel_id=PROJECT_CHANNEL)
    listing = texts([last_response(slack)])
    assert "*#1* Monthly pulse" in listing and "#2" not in listing
    slack.open_home(PM)
    home = texts([emulator.home(PM) or {}])
    assert "*#1* Monthly pulse (ERP)" in home and "*#1* CRM pulse (CRM)" in home
    assert "#2" not in home
    slack.slash_command(PM, "/poll", "results 1", channel_id=PROJECT_CHANNEL)
    assert "Results of poll #1" in last_response_text(slack)
    assert "Monthly pulse" in texts([last_response(slack)])

    slack.slash_command(PM, "/poll", "close ERP 1")
    say_yes(slack, PM, "C0GENERAL")
    assert "Poll *#1 Monthly pulse* is closed." in last_response_text(slack)
    assert [poll.status for poll in polls_in(database)] == [PollStatus.OPEN, PollStatus.CLOSED]
    slack.slash_command(PM, "/poll", "close ERP #1")
    say_yes(slack, PM, "C0GENERAL")
    assert "Poll #1 is already closed." in last_response_text(slack)
    slack.slash_command(PM, "/poll", "export ERP 2")
    assert "There is no poll 2 in this project" in last_response_text(slack)
    slack.slash_command(PM, "/poll", "help")
    assert "`/poll close [CODE] 1`" in last_response_text(slack)
    assert "ID" not in last_response_text(slack)


def test_a_forged_poll_id_in_a_button_is_refused_without_echoing_it(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    create_poll(slack)
    message = poll_dm(slack, KEY_USERS[0])
    slack.click(KEY_USERS[0], PollId.ANSWER, message=message, value='{"p":987654}')
    refusal = texts(emulator.responses[-1:])
    assert "There is no such poll in this workspace." in refusal and "987654" not in refusal
    assert emulator.top_view(KEY_USERS[0]) is None


def test_the_poll_form_asks_what_the_audience_needs_and_a_forged_one_is_not_redrawn(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    slack.slash_command(PM, "/poll", "new", channel_id=PROJECT_CHANNEL)
    form = emulator.top_view(PM)
    assert form is not None
    asked = {b.get("block_id") for b in form["blocks"]}
    assert "audience_kind" in asked
    assert {"audience_roles", "audience_quadrants", "audience_people"}.isdisjoint(asked)
    for metadata in ('{"project_id": 999999}', "not json"):
        forged = {**form, "private_metadata": metadata}
        slack.block_action(PM, "value", "role", "audience_kind", view=forged)
        shown = emulator.top_view(PM)
        assert shown is not None and "audience_roles" not in str(shown["blocks"])
    slack.block_action(OUTSIDER, "value", "role", "audience_kind", view=form)  # not a PM
    shown = emulator.top_view(PM)
    assert shown is not None and "audience_roles" not in str(shown["blocks"])
    slack.block_action(PM, "value", "role", "audience_kind", view=form, typed={"title": "Pulse"})
    shown = emulator.top_view(PM)
    assert shown is not None
    by_id = {b.get("block_id"): b for b in shown["blocks"]}
    assert "audience_roles" in by_id and by_id["title"]["element"]["initial_value"] == "Pulse"
    assert emulator.violations == []
