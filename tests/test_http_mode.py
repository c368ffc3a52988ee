"""HTTP mode: the WSGI app Slack posts to, over a real socket."""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.emulator.server import SlackEmulator
from bot.runtime import Runtime
from bot.server import wsgi_app
from bot.settings import SettingsError, load_settings
from tests.conftest import PM, SIGNING_SECRET, TEAM


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def base_url(app, runtime: Runtime) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, wsgi_app(app, runtime), handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def post(url: str, body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None):  # type: ignore[no-untyped-def]
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    request = urllib.request.Request(
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def command_body(text: str, response_url: str = "http://127.0.0.1:9/never") -> str:
    return urlencode(
        {
            "command": "/project",
            "text": text,
            "team_id": TEAM,
            "team_domain": "acme",
            "user_id": PM,
            "user_name": "pia.pm",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "trigger_id": "1.2.3",
            "response_url": response_url,
            "api_app_id": "A1",
        }
    )


def test_healthz_answers_ok(base_url: str) -> None:
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=5) as response:
        assert response.status == 200 and response.read() == b"ok"


def test_slack_requests_are_served_at_slack_events(base_url: str, emulator, executor) -> None:  # type: ignore[no-untyped-def]
    response_url = emulator.issue_response_url("C0GENERAL", PM)
    status, _ = post(f"{base_url}/slack/events", command_body("help", response_url))
    assert status == 200
    executor.wait_idle()
    [answer] = emulator.responses  # the answer reached the live response_url
    assert "/project new" in answer["text"] and answer["response_type"] == "ephemeral"


def test_bad_signature_and_replayed_requests_are_refused(base_url: str) -> None:
    status, _ = post(f"{base_url}/slack/events", command_body("list"), secret="wrong")
    assert status == 401
    old = int(time.time()) - 6 * 60
    status, _ = post(f"{base_url}/slack/events", command_body("list"), timestamp=old)
    assert status == 401


def test_other_paths_are_not_found(base_url: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{base_url}/admin", timeout=5)
    assert caught.value.code == 404


@contextmanager
def liaison_serve(tmp_path: Path, emulator: SlackEmulator, *args: str, **env: str) -> Iterator[str]:
    """The real `liaison serve` (gunicorn) with ``args`` and ``env``, its output in
    ``tmp_path/serve.log``; yields its base URL once /healthz answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LIAISON_"))}
    environ.update(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        **env,
    )
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen([*command, *args], env=environ, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200 and r.read() == b"ok"
                    break
            except OSError:  # refused, reset or timed out while the worker boots
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "liaison serve did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_until_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                if r.status == 200:
                    return
        except urllib.error.HTTPError:  # 503 while the app loads
            pass
        assert time.monotonic() < deadline, "liaison serve did not get ready"
        time.sleep(0.2)


def test_liaison_serve_runs_gunicorn_with_healthz(tmp_path: Path, emulator: SlackEmulator) -> None:
    with liaison_serve(tmp_path, emulator) as base:
        status, _ = post(f"{base}/slack/events", command_body("help"))
        assert status == 200


def test_liaison_serve_at_debug_logs_requests_without_query_text_or_response_url(
    tmp_path: Path, emulator: SlackEmulator
) -> None:
    """gunicorn's own lines pass through the app's log allow-list; its access line names the
    method, path, status, size and time, never the query string."""
    response_url = emulator.issue_response_url("C0GENERAL", PM)
    with liaison_serve(tmp_path, emulator, LIAISON_LOG_LEVEL="DEBUG") as base:
        with urllib.request.urlopen(f"{base}/healthz?ticket=Query-secret-Lynx", timeout=5):
            pass
        body = command_body("Slash-text-Ocelot", response_url=response_url)
        assert post(f"{base}/slack/events", body)[0] == 200
        deadline = time.monotonic() + 20
        while not emulator.responses:  # answered through the response_url
            assert time.monotonic() < deadline, "the command was not answered"
            time.sleep(0.05)
    written = (tmp_path / "serve.log").read_text()
    assert re.search(r" INFO gunicorn\.access: GET /healthz 200 ", written), written[-2000:]
    assert "Sending a request - url:" in written  # DEBUG lines were written
    for leaked in ("Query-secret-Lynx", "Slash-text-Ocelot", response_url.split("/")[-1]):
        assert leaked not in written, leaked


def test_a_body_sent_slowly_gets_408_and_frees_the_thread_at_the_deadline(
    tmp_path: Path, emulator: SlackEmulator
) -> None:
    """A client declares a Content-Length and sends a byte now and then, never stopping long
    enough for a per-read timeout to notice: the deadline is on the whole body."""
    body = command_body("help").encode()
    server = liaison_serve(tmp_path, emulator, "--threads", "1", LIAISON_BODY_TIMEOUT_SECONDS="1")
    with server as base:
        wait_until_ready(base)
        port = int(base.rsplit(":", 1)[1])  # else the request would first wait for the app to load
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(
                b"POST /slack/events HTTP/1.1\r\nHost: liaison\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
            )
            started, answer = time.monotonic(), b""
            for byte in body[:40]:  # at most 40 x 0.1 s: the answer comes well before the end
                client.sendall(bytes([byte]))
                ready, _, _ = select.select([client], [], [], 0.1)
                if ready:
                    answer = client.recv(1024)
                    break
            else:
                client.settimeout(10)
                answer = client.recv(1024)
            waited = time.monotonic() - started
            assert answer.startswith(b"HTTP/1.1 408"), answer
            assert 0.9 < waited < 3
            # The worker's only thread is free again: it answers the next request at once.
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                assert r.status == 200


def test_the_body_deadline_is_a_bounded_number_of_seconds() -> None:
    assert load_settings({}).body_timeout_seconds == 5
    assert load_settings({"LIAISON_BODY_TIMEOUT_SECONDS": "1.5"}).body_timeout_seconds == 1.5
    for wrong in ("0", "61", "soon"):
        with pytest.raises(SettingsError, match="LIAISON_BODY_TIMEOUT_SECONDS"):
            load_settings({"LIAISON_BODY_TIMEOUT_SECONDS": wrong})


def test_oauth_install_page_is_served(database, clock, emulator) -> None:  # type: ignore[no-untyped-def]
    from bot.app import build_app
    from bot.crypto import new_key
    from bot.settings import Settings

    settings = Settings(
        signing_secret=SIGNING_SECRET,
        client_id="111.222",
        client_secret="shh",
        encryption_keys=(new_key(),),
        api_url=emulator.url,
        public_url="https://liaison.example.com",
    )
    runtime = Runtime(settings=settings, database=database, clock=clock)
    application = wsgi_app(build_app(runtime), runtime)
    server = make_server("127.0.0.1", 0, application, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/slack/install"
        with urllib.request.urlopen(url, timeout=5) as response:
            page = response.read().decode()
        assert "slack.com/oauth/v2/authorize" in page and "client_id=111.222" in page
    finally:
        server.shutdown()
        server.server_close()


def raw_post(url: str, body: bytes, *, signed: bool, content_type: str) -> tuple[int, str]:
    headers = {"Content-Type": content_type}
    if signed:
        stamp = str(int(time.time()))
        signature = SignatureVerifier(SIGNING_SECRET).generate_signature(
            timestamp=stamp, body=body.decode("utf-8")
        )
        headers |= {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def test_unparsable_requests_get_400_or_401_never_a_traceback(base_url: str) -> None:
    url = f"{base_url}/slack/events"
    form = "application/x-www-form-urlencoded"
    cases = [
        (b"payload=\xff\xfe\xfd", False, form, 400),  # not UTF-8
        (b"payload=%7Bbroken", False, form, 401),  # unsigned broken JSON
        (b'{"type": "event_callback"', False, "application/json", 401),
        (b"payload=%7Bbroken", True, form, 400),  # signed, but not JSON
        (b'{"type": "event_callback"', True, "application/json", 400),
        (b"payload=%5B1%2C2%5D", True, form, 400),  # JSON, but not an object
    ]
    for body, signed, content_type, expected in cases:
        status, answer = raw_post(url, body, signed=signed, content_type=content_type)
        assert status == expected, body
        assert "Traceback" not in answer and "Error" not in answer
