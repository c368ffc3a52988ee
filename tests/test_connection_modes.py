"""The same flows in both connection modes: over HTTP (a real WSGI server, as behind gunicorn) and
in Socket Mode (Bolt's SocketModeHandler, which ``liaison socket`` runs, connected to the
emulator's websocket): a slash command, a form submission, a button and an event."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlmodel import select

from bot.emulator.driver import OverHttp, OverSocketMode, SlackDriver, TrackingExecutor
from bot.emulator.server import SlackEmulator
from bot.ids import Action
from bot.runtime import Runtime
from bot.server import wsgi_app
from storage.db import Database
from storage.models import KeyUser, Project
from tests.conftest import KEY_USERS, PM, PROJECT_CHANNEL, SIGNING_SECRET
from tests.flows import PROJECT_VALUES, last_response, last_response_text, texts

APP_TOKEN = "xapp-1-A0LIAISON-1-test"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(params=["http", "socket"])
def driver(request, app, runtime: Runtime, emulator: SlackEmulator, executor: TrackingExecutor):  # type: ignore[no-untyped-def]
    """A driver that reaches the app the way Slack does in each mode."""
    if request.param == "http":
        server = make_server("127.0.0.1", 0, wsgi_app(app, runtime), handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}/slack/events"
        yield SlackDriver(app, SIGNING_SECRET, emulator, executor=executor, transport=OverHttp(url))
        server.shutdown()
        server.server_close()
        return
    handler = SocketModeHandler(app, APP_TOKEN)
    handler.connect()
    emulator.socket_mode().wait_connected()
    transport = OverSocketMode(emulator)
    yield SlackDriver(app, SIGNING_SECRET, emulator, executor=executor, transport=transport)
    handler.close()


def test_a_command_opens_the_form_and_its_submission_is_saved(
    driver: SlackDriver, emulator: SlackEmulator, database: Database
) -> None:
    driver.slash_command(PM, "/project", "new", channel_id=PROJECT_CHANNEL)
    assert emulator.top_view(PM)["callback_id"] == "project_new"

    refused = driver.submit_view(PM, {**PROJECT_VALUES, "code": "e r p"})
    assert "code" in refused.json["errors"]  # the ack carried the inline error
    assert emulator.top_view(PM) is not None

    saved = driver.submit_view(PM, PROJECT_VALUES)
    assert not (saved.json or {}).get("errors")
    assert emulator.top_view(PM) is None
    with database.session() as session:
        [project] = session.exec(select(Project)).all()
    assert project.code == "ERP" and project.name == PROJECT_VALUES["name"]

    driver.slash_command(PM, "/project", "list")
    assert "*ERP*" in texts([last_response(driver)])


def test_an_event_publishes_the_home_tab_and_its_button_opens_a_form(
    driver: SlackDriver, emulator: SlackEmulator, database: Database
) -> None:
    driver.slash_command(PM, "/project", "new", channel_id=PROJECT_CHANNEL)
    driver.submit_view(PM, PROJECT_VALUES)

    driver.open_home(PM)
    home = emulator.home(PM)
    assert home is not None and "*ERP* has no key user" in texts([home])

    driver.click(PM, Action.HOME_ADD_KEYUSER, view=home)
    assert emulator.top_view(PM)["callback_id"] == "keyuser_add"
    driver.submit_view(PM, {"user_id": KEY_USERS[0]})
    with database.session() as session:
        assert [k.user_id for k in session.exec(select(KeyUser)).all()] == [KEY_USERS[0]]


def test_liaison_socket_connects_and_answers_a_command(
    tmp_path: Path, emulator: SlackEmulator
) -> None:
    """The real command, in its own process, against the emulator's Socket Mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LIAISON_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'socket.db'}",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "socket"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        emulator.socket_mode().wait_connected(timeout=30)
        driver = SlackDriver(
            None,  # type: ignore[arg-type] - the app runs in the other process
            SIGNING_SECRET,
            emulator,
            transport=OverSocketMode(emulator),
        )
        answer = driver.slash_command(PM, "/project", "help")
        assert answer.status == 200
        deadline = time.monotonic() + 20
        while not driver.new_responses and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "/project new" in last_response_text(driver)
        assert emulator.calls_to("apps.connections.open")[0].token == APP_TOKEN
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=20)
    assert b"Traceback" not in stderr, stderr.decode()[-2000:]
