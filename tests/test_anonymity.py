"""Anonymous means unlinkable: given the whole database, an answer cannot be tied to its author.

The respondents answer in a known order with known, distinct answers; then the test reads every
row of every table (as anyone with the database could) and looks for anything that links a person
to an answer: shared values, ordering, timing, foreign keys, log entries.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from sqlalchemy import inspect, select, text
from sqlmodel import SQLModel

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import PollId
from bot.jobs import run_due
from bot.runtime import Runtime
from bot.views.polls import read_value
from storage.db import Database
from storage.models import Interaction, OutboxMessage, PollBallot, PollQuestion, ProcessedRequest
from tests.conftest import KEY_USERS
from tests.flows import last_response, last_response_text, texts
from tests.polls_helpers import (
    RATING,
    TEXT,
    create_poll,
    poll_dm,
    project_with_key_users,
    rate_action,
)


def dump(database: Database) -> dict[str, list[dict[str, object]]]:
    """Every row of every table, as plain values."""
    rows: dict[str, list[dict[str, object]]] = {}
    with database.engine.connect() as connection:
        for name, table in SQLModel.metadata.tables.items():
            rows[name] = [dict(row._mapping) for row in connection.execute(select(table))]
    return rows


def ballot_ids(database: Database) -> set[str]:
    with database.session() as session:
        return {b.id for b in session.exec(select(PollBallot)).scalars()}


def edit_secret(slack: SlackDriver, user_id: str) -> str:
    message = poll_dm(slack, user_id)
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == PollId.EDIT:
                return read_value(element["value"])["s"]
    raise AssertionError("no edit button")


def test_given_the_whole_database_an_anonymous_answer_cannot_be_tied_to_its_author(
    slack: SlackDriver,
    database: Database,
    emulator: SlackEmulator,
    runtime: Runtime,
    clock: MovableClock,
) -> None:
    project_with_key_users(slack)
    create_poll(
        slack,
        anonymous="yes",
        questions=[{"question_kind": RATING}, {"question_kind": TEXT, "question_required": "no"}],
    )
    with database.session() as session:
        rating_id, text_id = [q.id for q in session.exec(select(PollQuestion)).scalars()]
    before_answers = dump(database)
    seen_ids: set[str] = set()
    for index, user_id in enumerate(KEY_USERS[:5]):
        clock.advance(minutes=7)
        if index % 2:
            message = poll_dm(slack, user_id)
            slack.click(user_id, rate_action(message, index + 1), message=message)
        else:
            slack.click(user_id, PollId.ANSWER, message=poll_dm(slack, user_id))
            slack.submit_view(
                user_id, {f"q{rating_id}": str(index + 1), f"q{text_id}": f"t{index}"}
            )
        now_ids = ballot_ids(database)
        # Every write rewrites every ballot of the poll with fresh random ids.
        assert not now_ids & seen_ids
        assert len(now_ids) == index + 1
        seen_ids |= now_ids
        if database.is_postgresql:
            with database.engine.connect() as connection:
                xmins = connection.execute(text("SELECT DISTINCT xmin::text FROM pollballot")).all()
            assert len(xmins) == 1  # one transaction id for all: none points at the newest

    everything = dump(database)
    # 1. The ballot table has nothing but a random id, the poll, the answers and a hash.
    columns = {c["name"] for c in inspect(database.engine).get_columns("pollballot")}
    assert columns == {"id", "team_id", "poll_id", "answers", "secret_hash"}
    foreign = inspect(database.engine).get_foreign_keys("pollballot")
    assert [f["referred_table"] for f in foreign] == ["poll"]
    ballots = everything["pollballot"]
    assert len(ballots) == 5
    # 2. No ballot value appears anywhere else in the database, and no person in a ballot.
    elsewhere = json.dumps(
        {name: rows for name, rows in everything.items() if name != "pollballot"}, default=str
    )
    for ballot in ballots:
        assert str(ballot["id"]) not in elsewhere
        assert str(ballot["secret_hash"]) not in elsewhere
    ballot_text = json.dumps(ballots, default=str)
    assert not any(user_id in ballot_text for user_id in KEY_USERS)
    # 3. Nothing was logged or claimed at answer time that carries a time or an order.
    new_rows = {
        name: [row for row in rows if row not in before_answers.get(name, [])]
        for name, rows in everything.items()
    }
    assert [r for r in new_rows["interaction"] if r["kind"] == "poll.answered"] == []
    assert new_rows[ProcessedRequest.__tablename__] == []
    assert [r for r in new_rows[OutboxMessage.__tablename__]] == []  # edits went directly
    participants = everything["pollparticipant"]
    assert sorted(p["user_id"] for p in participants if p["answered"]) == sorted(KEY_USERS[:5])
    assert all(
        set(p) == {"id", "team_id", "poll_id", "user_id", "key_user_id", "answered"}
        for p in participants
    )
    # 4. The only link is the token in each respondent's own DM.
    hashes = {b["secret_hash"] for b in ballots}
    for user_id in KEY_USERS[:5]:
        assert hashlib.sha256(edit_secret(slack, user_id).encode()).hexdigest() in hashes

    # 5. At close the touchpoints are logged all at once, in a random order.
    clock.advance(days=8)
    run_due(runtime)
    with database.session() as session:
        answered = (
            session.exec(select(Interaction).where(Interaction.kind == "poll.answered"))
            .scalars()
            .all()
        )
    assert len(answered) == 5
    assert len({entry.at for entry in answered}) == 1
    assert all(set(entry.detail) == {"poll_id"} for entry in answered)


def test_an_anonymous_answer_is_edited_only_with_the_secret_of_the_own_dm(
    slack: SlackDriver, database: Database, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    create_poll(slack, anonymous="yes", questions=[{"question_kind": RATING}])
    with database.session() as session:
        [rating_id] = [q.id for q in session.exec(select(PollQuestion)).scalars()]
    for user_id, rating in ((KEY_USERS[0], 2), (KEY_USERS[1], 5), (KEY_USERS[2], 4)):
        message = poll_dm(slack, user_id)
        slack.click(user_id, rate_action(message, rating), message=message)
    # With the DM's Edit button: the modal shows the person's own answer, and the edit is kept.
    slack.click(KEY_USERS[0], PollId.EDIT, message=poll_dm(slack, KEY_USERS[0]))
    view = emulator.top_view(KEY_USERS[0])
    assert view is not None
    block = next(b for b in view["blocks"] if b.get("block_id") == f"q{rating_id}")
    assert block["element"]["initial_option"]["value"] == "2"
    slack.submit_view(KEY_USERS[0], {f"q{rating_id}": "3"})
    with database.session() as session:
        answers = sorted(
            b.answers[str(rating_id)] for b in session.exec(select(PollBallot)).scalars()
        )
    assert answers == [3, 4, 5]
    # Without the secret (a forged or lost button), nothing can be changed or added.
    forged = json.dumps({"p": 1})
    slack.block_action(
        KEY_USERS[1], PollId.EDIT, value=forged, message=poll_dm(slack, KEY_USERS[1])
    )
    response = slack.submit_view(KEY_USERS[1], {f"q{rating_id}": "1"})
    assert "only be changed from the poll's message" in str(response.json)
    someone_elses = edit_secret(slack, KEY_USERS[2])
    assert someone_elses != edit_secret(slack, KEY_USERS[1])
    with database.session() as session:
        answers = sorted(
            b.answers[str(rating_id)] for b in session.exec(select(PollBallot)).scalars()
        )
    assert answers == [3, 4, 5]
    assert emulator.violations == []


def test_anonymous_results_name_nobody_and_hold_back_figures_below_three_answers(
    slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: MovableClock
) -> None:
    project_with_key_users(slack)
    create_poll(slack, anonymous="yes", questions=[{"question_kind": RATING}])
    for user_id in KEY_USERS[:2]:
        message = poll_dm(slack, user_id)
        slack.click(user_id, rate_action(message, 5), message=message)
    slack.slash_command(KEY_USERS[0], "/poll", "results 1")
    assert "project managers" in last_response_text(slack)
    slack.slash_command("UPM00001", "/poll", "results 1")
    shown = texts([last_response(slack)])
    assert "figures per question are withheld" in shown
    assert "4 people have not answered" in shown
    assert not any(f"<@{user}>" in shown for user in KEY_USERS)
    clock.advance(timedelta(days=8))
    run_due(runtime)
    assert "Results: Monthly pulse" in texts(emulator.dm_messages("UPM00001"))
