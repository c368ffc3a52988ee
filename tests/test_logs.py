"""Logs tell the operator nothing about a person's answers, in both connection modes, at every
level: what a library logs of a request passes an allow-list (type, team, action, timing), the
rest is withheld; no response_url, no payload, no bound SQL parameter is written.
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from bot.app import build_app
from bot.clock import SystemClock
from bot.emulator.driver import OverHttp, OverSocketMode, SlackDriver, TrackingExecutor
from bot.emulator.server import SlackEmulator
from bot.ids import PollId
from bot.logs import configure_logging
from bot.runtime import Runtime
from bot.server import wsgi_app
from bot.services import polls as poll_service
from bot.services import projects as project_service
from bot.settings import Settings
from bot.views.polls import MESSAGES
from storage.db import Database
from storage.models import PollParticipant, PollQuestion
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL, SIGNING_SECRET, TEAM, virtual_pacer
from tests.polls_helpers import (
    RATING,
    SINGLE,
    TEXT,
    create_poll,
    poll_dm,
    project_with_key_users,
    project_with_many_key_users,
    rate_action,
)
from tests.test_http_mode import QuietHandler

APP_TOKEN = "xapp-1-A0LIAISON-1-test"
CHOICES = ["Choice-Pangolin", "Choice-Narwhal", "Choice-Axolotl"]
ANSWERS = [f"Answer-Quokka-{index}-stays-secret" for index in range(5)]
RESPONSE_URL = re.compile(r"response_url/[0-9a-f]{6,}")


def open_anonymous_poll(runtime: Runtime, emulator: SlackEmulator) -> list[str]:
    """Five key users invited to an anonymous poll (rating, choice, free text); their ids."""
    respondents = project_with_many_key_users(runtime, emulator, 5)
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "FAN")
        _poll, keys = poll_service.create_poll(
            ctx=ctx,
            project=project,
            data=poll_service.PollInput(
                title="Pulse",
                anonymous=True,
                questions=[
                    poll_service.QuestionInput(RATING, "How is it going?"),
                    poll_service.QuestionInput(SINGLE, "Best module?", options=CHOICES),
                    poll_service.QuestionInput(TEXT, "Anything else?"),
                ],
            ),
            messages=MESSAGES,
        )
    runtime.sender().deliver_due(team_id=TEAM, keys=keys)
    return respondents


def answer_as_everyone(
    driver: SlackDriver, database: Database, respondents: list[str]
) -> list[str]:
    """Each respondent answers in the modal (half of them by clicking a rating in the DM first);
    returns the rating buttons' action ids they clicked."""
    with database.session() as session:
        rating, choice, free_text = [
            q.id for q in session.exec(select(PollQuestion).order_by(PollQuestion.position))
        ]
    clicked = []
    for index, user_id in enumerate(respondents):
        message = poll_dm(driver, user_id)
        values: dict[str, Any] = {f"q{choice}": str(index % 3), f"q{free_text}": ANSWERS[index]}
        if index % 2:
            action = rate_action(message, index + 1)
            clicked.append(action)
            driver.click(user_id, action, message=message)
        else:
            driver.click(user_id, PollId.ANSWER, message=message)
            values[f"q{rating}"] = str(index + 1)
        until(
            lambda u=user_id: (
                (driver.emulator.top_view(u) or {}).get("callback_id") == PollId.ANSWER_MODAL
            )
        )
        driver.submit_view(user_id, values)
        until(lambda done=index + 1: len(answered(database)) == done)
    assert sorted(answered(database)) == sorted(respondents)
    return clicked


def answered(database: Database) -> list[str]:
    with database.session() as session:
        query = select(PollParticipant.user_id).where(PollParticipant.answered)
        return list(session.exec(query).all())


def until(condition: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the app did not answer in time"
        time.sleep(0.05)


def assert_logs_tell_nothing(written: str, respondents: list[str], clicked: list[str]) -> None:
    lines = written.splitlines()
    assert any(" DEBUG " in line for line in lines), "DEBUG lines were written"
    for line in lines:
        assert not any(answer in line for answer in [*ANSWERS, *CHOICES]), line
        if any(person in line for person in respondents):
            assert not any(action in line for action in clicked), line
        assert not RESPONSE_URL.search(line), line


def test_liaison_socket_at_debug_logs_no_answer_and_no_person_next_to_an_answer(
    tmp_path: Path, emulator: SlackEmulator, database: Database, settings: Settings
) -> None:
    """The real `liaison socket` at DEBUG; five people answer an anonymous poll."""
    url = database.url if database.is_postgresql else f"sqlite:///{tmp_path / 'socket.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LIAISON_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.url,
        DATABASE_URL=url,
        LIAISON_LOG_LEVEL="DEBUG",
    )
    log_file = tmp_path / "socket.log"
    with log_file.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "socket"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    shared = database if database.is_postgresql else None
    try:
        emulator.socket_mode().wait_connected(timeout=30)
        shared = shared or Database(url)  # migrated by the process before it connects
        runtime = Runtime(
            settings=settings, database=shared, clock=SystemClock(), pacer=virtual_pacer()
        )
        respondents = open_anonymous_poll(runtime, emulator)
        driver = SlackDriver(
            None,  # type: ignore[arg-type] - the app runs in the other process
            SIGNING_SECRET,
            emulator,
            transport=OverSocketMode(emulator),
        )
        clicked = answer_as_everyone(driver, shared, respondents)
        # A command's text, answered through its response_url.
        driver.slash_command(respondents[0], "/project", "Slash-text-Ocelot")
        until(lambda: bool(driver.new_responses))
    finally:
        process.terminate()
        process.wait(timeout=20)
        if shared is not None and shared is not database:
            shared.dispose()
    written = log_file.read_text()
    assert "Traceback" not in written, written[-2000:]
    assert "Slash-text-Ocelot" not in written
    assert_logs_tell_nothing(written, respondents, clicked)
    # Envelopes by type and ids, the response_url call by its host.
    assert "on_message invoked: type=slash_commands" in written
    assert "slack_sdk.webhook.client: Sending a request - url: http://" in written


def test_http_mode_at_debug_logs_no_answer_no_command_text_and_no_response_url(
    log_output: io.StringIO,
    runtime: Runtime,
    emulator: SlackEmulator,
    database: Database,
    executor: TrackingExecutor,
    settings: Settings,
) -> None:
    """Slack's signed requests through the HTTP-mode WSGI app, every log line at DEBUG (set
    before the app is built, as the CLI does: Bolt takes its loggers' level from the root's)."""
    configure_logging(level="DEBUG", secrets=settings.secrets(), stream=log_output)
    app = build_app(runtime, listener_executor=executor)
    server = make_server("127.0.0.1", 0, wsgi_app(app, runtime), handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/slack/events"
    driver = SlackDriver(app, SIGNING_SECRET, emulator, executor=executor, transport=OverHttp(url))
    try:
        project_with_key_users(driver)
        create_poll(
            driver,
            anonymous="yes",
            questions=[
                {"question_kind": RATING},
                {"question_kind": SINGLE, "question_options": "\n".join(CHOICES)},
                {"question_kind": TEXT},
            ],
        )
        # A command's text, answered through its response_url.
        driver.slash_command(PM, "/project", "Slash-text-Ocelot", channel_id=PROJECT_CHANNEL)
        assert driver.new_responses, "the command was answered through its response_url"
        clicked = answer_as_everyone(driver, database, KEY_USERS[:5])
    finally:
        server.shutdown()
        server.server_close()
    # The emulator's own lines are Slack's side of the conversation, not the app's logs.
    written = "\n".join(
        line for line in log_output.getvalue().splitlines() if " bot.emulator." not in line
    )
    assert "Responding with status: 200" in written and "Sending a request - url:" in written
    assert "Slash-text-Ocelot" not in written
    assert_logs_tell_nothing(written, KEY_USERS[:5], clicked)


def test_no_bound_value_or_row_reaches_the_logs_even_with_sqlalchemy_at_debug(
    log_output: io.StringIO, database: Database
) -> None:
    """An answer is a bound value when stored and a row when read: neither is written, whether
    SQLAlchemy's own logging is turned up or a failed statement's error is logged."""
    configure_logging(level="DEBUG", stream=log_output)
    engine_log = logging.getLogger("sqlalchemy.engine")
    saved_level = engine_log.level
    engine_log.setLevel(logging.DEBUG)
    try:
        with database.engine.connect() as connection:
            assert connection.execute(text("SELECT :answer"), {"answer": ANSWERS[0]}).scalar()
            with pytest.raises(DBAPIError) as failed:
                connection.execute(text("SELECT no_such_column, :answer"), {"answer": ANSWERS[1]})
    finally:
        engine_log.setLevel(saved_level)
    logging.getLogger("handlers.errors").error("unexpected error", exc_info=failed.value)
    written = log_output.getvalue()
    assert "Traceback" in written
    assert not any(answer in written for answer in ANSWERS), written


def test_a_library_line_off_the_allow_list_is_withheld_and_its_warning_keeps_only_its_words(
    log_output: io.StringIO,
) -> None:
    configure_logging(level="DEBUG", stream=log_output)
    payload = {"type": "dialog_submission", "submission": {"comment": ANSWERS[0]}}
    logging.getLogger("websockets.client").debug("< TEXT %s", payload)
    logging.getLogger("urllib3.connectionpool").debug("POST /x?answer=%s 200", ANSWERS[1])
    logging.getLogger("slack_bolt.App").warning("Unhandled request (%s)", payload)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("slack_sdk.socket_mode").exception(
            "Failed to run a message listener: %s", ANSWERS[2]
        )
    lines = log_output.getvalue().splitlines()
    assert not any(answer in line for line in lines for answer in ANSWERS), lines
    said = [line.split(": ", 1)[1] for line in lines[:4]]  # after "time LEVEL logger: "
    assert said == [
        "[withheld: not on the log allow-list]",
        "[withheld: not on the log allow-list]",
        "Unhandled request (type: dialog_submission)",
        "Failed to run a message listener [details withheld]",
    ]
    assert "ValueError: boom" in log_output.getvalue()  # the traceback is kept
