"""Anonymous means unlinkable: the operator cannot tie an anonymous answer to its author.

The operator holds the whole database (PostgreSQL's row versions included), the bot token (so
everything the bot can read back from Slack: the emulator's DM history) and every log line at DEBUG.
The respondents answer in a known order with known, distinct answers; the tests then play the
operator and try every way we know to tie an answer to a person.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlmodel import SQLModel

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import PollId
from bot.jobs import run_due
from bot.logs import RedactingFilter
from bot.runtime import Runtime
from bot.services import polls as poll_service
from storage.db import Database
from storage.models import BallotBox, Interaction, PollQuestion
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL, TEAM
from tests.flows import last_response, last_response_text, texts
from tests.polls_helpers import (
    RATING,
    TEXT,
    create_poll,
    open_poll_for_everyone,
    poll_dm,
    project_with_key_users,
    project_with_many_key_users,
    rate_action,
)

RESPONDENTS = KEY_USERS[:5]


def dump(database: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as plain values (PostgreSQL: with each row's xmin)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    with database.engine.connect() as connection:
        for name, table in SQLModel.metadata.tables.items():
            columns: list[Any] = [table]
            if database.is_postgresql:
                columns.append(text("xmin::text::bigint AS row_xmin"))
            query = select(*columns).select_from(table)
            rows[name] = [dict(row._mapping) for row in connection.execute(query)]
    return rows


def ballot_rows(everything: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return everything[BallotBox.__tablename__]


def candidates_for(
    person: str,
    everything: dict[str, list[dict[str, Any]]],
    slack_history: list[dict[str, Any]],
    log_lines: list[str],
    ballots: list[str],
) -> set[str]:
    """The operator's attempt: the ballots (named by their free-text answer) the data ties to
    ``person``. Unlinkable means every attempt leaves all the ballots possible."""
    possible = set(ballots)
    # 1. A row that names the person and holds an answer (any table, any column).
    for name, rows in everything.items():
        if name == BallotBox.__tablename__:
            continue
        for row in rows:
            dumped = json.dumps(row, default=str)
            if person in dumped:
                tied = {b for b in ballots if b in dumped}
                if tied:
                    possible &= tied
    # 2. Row versions: the ballot rows written in the transaction that marked the person as
    #    having answered (PostgreSQL xmin).
    participant = next(
        r for r in everything["pollparticipant"] if r["user_id"] == person and r["answered"]
    )
    if "row_xmin" in participant:
        same = [r for r in ballot_rows(everything) if r["row_xmin"] == participant["row_xmin"]]
        if same:
            possible &= {b for row in same for b in ballots if b in json.dumps(row["ballots"])}
    # 3. What the bot can read back from Slack: the person's DMs.
    for message in slack_history:
        dumped = json.dumps(message)
        if person in dumped or message.get("channel_user") == person:
            tied = {b for b in ballots if b in dumped}
            if tied:
                possible &= tied
    # 4. Log lines naming the person.
    for line in log_lines:
        if person in line:
            tied = {b for b in ballots if b in line}
            if tied:
                possible &= tied
    return possible


def test_the_operator_cannot_tie_an_anonymous_answer_to_its_author(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    project_with_key_users(slack)
    create_poll(
        slack,
        anonymous="yes",
        questions=[{"question_kind": RATING}, {"question_kind": TEXT, "question_required": "no"}],
    )
    with database.session() as session:
        rating_id, text_id = [q.id for q in session.exec(select(PollQuestion)).scalars()]
    caplog.handler.addFilter(RedactingFilter())
    caplog.set_level(logging.DEBUG)
    ballots = [f"answer-of-respondent-{index}" for index in range(len(RESPONDENTS))]
    for index, user_id in enumerate(RESPONDENTS):
        clock.advance(minutes=7)
        message = poll_dm(slack, user_id)
        if index % 2:
            # A rating clicked in the DM opens the modal with it chosen: the answer is final.
            slack.click(user_id, rate_action(message, index + 1), message=message)
            view = emulator.top_view(user_id)
            assert view is not None and view["callback_id"] == PollId.ANSWER_MODAL
            slack.submit_view(user_id, {f"q{text_id}": ballots[index]})
        else:
            slack.click(user_id, PollId.ANSWER, message=message)
            slack.submit_view(
                user_id, {f"q{rating_id}": str(index + 1), f"q{text_id}": ballots[index]}
            )
    log_lines = [record.getMessage() for record in caplog.records]
    caplog.set_level(logging.WARNING)
    everything = dump(database)
    history = [
        {**message, "channel_user": user_id}
        for user_id in [*KEY_USERS, PM]
        for message in emulator.dm_messages(user_id)
    ]

    # Every ballot is stored, whole, and only in the ballot boxes.
    stored = json.dumps([row["ballots"] for row in ballot_rows(everything)])
    assert all(ballot in stored for ballot in ballots)
    elsewhere = json.dumps(
        {n: r for n, r in everything.items() if n != BallotBox.__tablename__}, default=str
    )
    assert not any(ballot in elsewhere for ballot in ballots)
    # Who answered may be stored; the participant row holds nothing else.
    participants = everything["pollparticipant"]
    assert sorted(p["user_id"] for p in participants if p["answered"]) == sorted(RESPONDENTS)
    assert all(
        set(p) - {"row_xmin"} == {"id", "team_id", "poll_id", "user_id", "key_user_id", "answered"}
        for p in participants
    )
    # No ballot row holds one answer alone: each holds them all (fewer than BOX_SIZE answers).
    assert all(len(row["ballots"]) == len(ballots) for row in ballot_rows(everything))
    # Nothing was logged as an interaction at answer time.
    assert [r for r in everything["interaction"] if r["kind"] == "poll.answered"] == []
    # The DMs hold no answer and no key to one; the answered DM offers no edit.
    for message in history:
        assert PollId.EDIT not in json.dumps(message)
    # The operator's attempts leave every ballot possible for every respondent.
    for user_id in RESPONDENTS:
        assert candidates_for(user_id, everything, history, log_lines, ballots) == set(ballots)

    # At close the touchpoints are logged all at once, in a random order.
    clock.advance(days=8)
    run_due(runtime)
    with database.session() as session:
        answered = (
            session.exec(select(Interaction).where(Interaction.kind == "poll.answered"))
            .scalars()
            .all()
        )
    assert len(answered) == len(RESPONDENTS)
    assert len({entry.at for entry in answered}) == 1
    assert all(set(entry.detail) == {"poll_id"} for entry in answered)
    assert emulator.violations == []


def test_the_order_of_answers_cannot_be_joined_to_ballots(
    runtime: Runtime, emulator: SlackEmulator, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's xmin shows in which order participants answered; no ballot row is ever
    written alone, so that order points at a box of at least BOX_SIZE ballots, never one."""
    monkeypatch.setattr(poll_service, "BOX_SIZE", 3)
    people = project_with_many_key_users(runtime, emulator, 14)
    with runtime.unit(TEAM, PM) as ctx:
        poll_id, _keys = open_poll_for_everyone(runtime)
        poll = poll_service.get_poll(ctx, poll_id)
        poll.anonymous = True
        ctx.session.add(poll)
    with runtime.unit(TEAM, PM) as ctx:
        [question] = poll_service.questions_of(ctx, poll_service.get_poll(ctx, poll_id))
    for index, user_id in enumerate(people):
        with runtime.unit(TEAM, user_id) as ctx:
            poll_service.submit_answers(
                ctx=ctx, poll_id=poll_id, user_id=user_id, raw={f"q{question.id}": index % 5 + 1}
            )
        everything = dump(database)
        rows = ballot_rows(everything)
        assert sum(len(row["ballots"]) for row in rows) == index + 1
        if index + 1 >= 3:
            assert all(len(row["ballots"]) >= 3 for row in rows)
        if database.is_postgresql:
            for participant in everything["pollparticipant"]:
                written_with = [r for r in rows if r["row_xmin"] == participant["row_xmin"]]
                written = sum(len(r["ballots"]) for r in written_with)
                # None, or every ballot so far, or at least a box's worth: never one alone.
                assert written == 0 or written >= min(index + 1, 3)
    with runtime.unit(TEAM, PM) as ctx:
        stored = sorted(b[str(question.id)] for b in poll_service.ballots_of(ctx, poll))
    assert stored == sorted(index % 5 + 1 for index in range(len(people)))


def test_an_anonymous_answer_is_final_and_the_dm_says_so(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    create_poll(slack, anonymous="yes", questions=[{"question_kind": RATING}])
    with database.session() as session:
        [rating_id] = [q.id for q in session.exec(select(PollQuestion)).scalars()]
    invitation = poll_dm(slack, KEY_USERS[0])
    assert "cannot be changed" in texts([invitation])
    # A click on a rating does not store it: the modal opens to confirm.
    slack.click(KEY_USERS[0], rate_action(invitation, 2), message=invitation)
    with database.session() as session:
        assert [b.ballots for b in session.exec(select(BallotBox)).scalars()] == [[]]
    slack.submit_view(KEY_USERS[0], {f"q{rating_id}": "2"})
    answered = poll_dm(slack, KEY_USERS[0])
    assert PollId.EDIT not in json.dumps(answered)
    assert "nobody can change it" in texts([answered])
    # A second answer, from the old DM's buttons or a forged Edit, is refused and changes nothing.
    slack.click(KEY_USERS[0], PollId.ANSWER, message=invitation)
    assert "cannot be changed" in last_response_text(slack)
    forged = json.dumps({"p": 1, "s": "a-guessed-secret"})
    dm_channel = emulator.dm_channel_id(KEY_USERS[0])
    slack.block_action(KEY_USERS[0], PollId.EDIT, value=forged, channel_id=dm_channel)
    assert "cannot be changed" in last_response_text(slack)
    slack.click(KEY_USERS[0], rate_action(invitation, 5), message=invitation)
    assert "cannot be changed" in last_response_text(slack)
    with database.session() as session:
        assert [b.ballots for b in session.exec(select(BallotBox)).scalars()] == [
            [{str(rating_id): 2}]
        ]
    assert emulator.violations == []


def test_anonymous_results_and_exports_follow_one_rule(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: MovableClock
) -> None:
    project_with_key_users(slack)
    create_poll(slack, anonymous="yes", questions=[{"question_kind": RATING}])
    for user_id in KEY_USERS[:2]:
        message = poll_dm(slack, user_id)
        slack.click(user_id, rate_action(message, 5), message=message)
        slack.submit_view(user_id, {})
    slack.slash_command(KEY_USERS[0], "/poll", "results ERP 1")
    assert "project managers" in last_response_text(slack)
    slack.slash_command(PM, "/poll", "results 1")
    shown = texts([last_response(slack)])
    assert "figures per question are withheld" in shown
    assert "4 people have not answered" in shown
    assert not any(f"<@{user}>" in shown for user in KEY_USERS)
    # Two answers: no export, open or not.
    slack.slash_command(PM, "/poll", "export 1", channel_id=PROJECT_CHANNEL)
    assert "fewer than 3 answers" in last_response_text(slack)
    message = poll_dm(slack, KEY_USERS[2])
    slack.click(KEY_USERS[2], rate_action(message, 4), message=message)
    slack.submit_view(KEY_USERS[2], {})
    # Three answers while open: figures yes, rows no (an export per answer would isolate each).
    slack.slash_command(PM, "/poll", "export 1", channel_id=PROJECT_CHANNEL)
    assert "once it closes" in last_response_text(slack)
    assert not [f for f in emulator.files if f.get("name", "").endswith(".csv")]
    clock.advance(timedelta(days=8))
    run_due(runtime)
    slack.slash_command(PM, "/poll", "export 1", channel_id=PROJECT_CHANNEL)
    [csv_file] = [f for f in emulator.files if f.get("name", "").endswith(".csv")]
    assert "UKEY" not in str(csv_file)
    assert emulator.violations == []
