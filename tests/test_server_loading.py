"""A worker answers /healthz while it loads the app in the background; /readyz says 503 until the
app is loaded; a Slack request that arrives during the load waits for it and is answered; a load
that fails stops the worker with one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server

import pytest

from bot.runtime import Runtime
from bot.server import LoadingApplication, readiness, wsgi_app
from tests.conftest import SIGNING_SECRET
from tests.test_http_mode import QuietHandler, command_body, post

ROOT = Path(__file__).resolve().parent.parent


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def gate() -> threading.Event:
    return threading.Event()


@pytest.fixture
def failures() -> list[BaseException]:
    return []


@pytest.fixture
def loading(app, runtime: Runtime, gate: threading.Event, failures) -> LoadingApplication:  # type: ignore[no-untyped-def]
    def make_application():  # type: ignore[no-untyped-def]
        assert gate.wait(30), "the test never let the load finish"
        return wsgi_app(app, runtime)

    return LoadingApplication(make_application, on_failure=failures.append)


@pytest.fixture
def base_url(loading: LoadingApplication, gate: threading.Event) -> Iterator[str]:
    server = make_server(
        "127.0.0.1", 0, loading, server_class=ThreadingServer, handler_class=QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    gate.set()
    server.shutdown()
    server.server_close()


def test_healthz_answers_at_once_and_readyz_waits_for_the_app(
    base_url: str, loading: LoadingApplication, gate: threading.Event, runtime: Runtime
) -> None:
    assert get(f"{base_url}/healthz") == (200, b"ok")
    assert get(f"{base_url}/readyz") == (503, b"loading")
    assert not loading.loaded
    gate.set()
    assert loading.wait(10)
    ready, reason = readiness(runtime)  # from now on, the loaded app's own readiness check
    assert get(f"{base_url}/readyz") == (200 if ready else 503, reason.encode())
    assert reason != "loading"
    assert get(f"{base_url}/healthz") == (200, b"ok")


def test_a_slack_request_during_the_load_waits_and_is_answered(
    base_url: str, loading: LoadingApplication, gate: threading.Event, emulator, executor
) -> None:  # type: ignore[no-untyped-def]
    response_url = emulator.issue_response_url("C0GENERAL", "UPM000001")
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(post, f"{base_url}/slack/events", command_body("help", response_url))
        time.sleep(0.3)  # the request is in, the app is not loaded: it waits
        assert not pending.done() and not loading.loaded
        gate.set()
        status, _ = pending.result(timeout=30)
    assert status == 200
    executor.wait_idle()
    [answer] = emulator.responses
    assert "/project new" in answer["text"] and answer["response_type"] == "ephemeral"
    assert emulator.violations == []


def test_a_forged_request_during_the_load_is_still_refused(
    base_url: str, gate: threading.Event
) -> None:
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            post, f"{base_url}/slack/events", command_body("list"), secret="wrong"
        )
        time.sleep(0.2)
        gate.set()
        status, _ = pending.result(timeout=30)
    assert status == 401


def test_a_failed_load_is_reported_and_requests_are_not_served() -> None:
    failures: list[BaseException] = []

    def broken():  # type: ignore[no-untyped-def]
        raise RuntimeError("no database")

    loading = LoadingApplication(broken, on_failure=failures.append, wait_seconds=5)
    assert loading.wait(5) is False
    assert [str(error) for error in failures] == ["no database"]
    calls: list[str] = []
    body = loading(
        {"PATH_INFO": "/slack/events", "REQUEST_METHOD": "POST"}, lambda s, h: calls.append(s)
    )
    assert calls == ["503 Service Unavailable"] and list(body) == [b"loading"]


def test_liaison_serve_stops_with_one_line_when_the_database_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens here once the probe closes
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LIAISON_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=f"postgresql://nobody@127.0.0.1:{closed}/none",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("liaison:")]
    assert len(lines) == 1 and lines[0].startswith("liaison: cannot reach the database:")
    assert "Traceback" not in result.stderr
