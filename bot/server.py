"""HTTP mode: Bolt's WSGI adapter behind gunicorn, plus GET /healthz (liveness) and GET /readyz
(readiness: the app is loaded, the database answers and its migrations are current).

A worker answers at once and loads the app in a background thread right after the fork
(``LoadingApplication``): /healthz says the process lives from the first moment, /readyz answers
503 until the app is loaded, and a Slack request that arrives during the load waits for it and is
then handled as usual. A load that fails stops the server as a failed boot would.

Requests to /slack/events are checked before anything parses them: a body that is not UTF-8 gets
400, a missing or wrong signature (or a stale timestamp) 401. Only then does Bolt see the request.
A body that has not all arrived within ``LIAISON_BODY_TIMEOUT_SECONDS`` gets 408, so a client that
declares a length and sends slowly holds a worker thread no longer than that.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:  # the gunicorn master imports this module and must stay light
    from slack_bolt import App
    from slack_sdk.signature import SignatureVerifier

    from bot.runtime import Runtime

log = logging.getLogger(__name__)
WORKER_BOOT_ERROR = 3  # gunicorn's exit code for a worker that failed to boot: the master stops
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
MAX_BODY_BYTES = 1_000_000


def readiness(runtime: Runtime) -> tuple[bool, str]:
    """(ready, reason): the database answers and carries every migration of this release (the
    heads read from the migration files' headers, as at start-up, without importing Alembic)."""
    from storage.migrate import database_heads, script_heads

    try:
        applied = database_heads(runtime.database.engine)
    except Exception as error:  # noqa: BLE001 - any database failure means not ready
        return False, f"database: {type(error).__name__}"
    if applied != script_heads():
        return False, "migrations: not current (run `liaison db upgrade`)"
    return True, "ready"


def _answer(start_response: Callable[..., Any], status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _refusal(environ: dict[str, Any], body: bytes, verifier: SignatureVerifier) -> str | None:
    """Why a request to /slack/events is refused before parsing, or None to let Bolt handle it."""
    try:
        decoded = body.decode("utf-8")
    except UnicodeDecodeError:
        return "400 Bad Request"
    headers = {
        "x-slack-request-timestamp": environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
        "x-slack-signature": environ.get("HTTP_X_SLACK_SIGNATURE", ""),
    }
    if not headers["x-slack-request-timestamp"].isdigit():
        return "401 Unauthorized"
    if not verifier.is_valid_request(decoded, headers):
        return "401 Unauthorized"
    content_type = environ.get("CONTENT_TYPE", "")
    try:
        if content_type.startswith("application/json"):
            json.loads(decoded)
        elif "payload=" in decoded:
            payload = parse_qs(decoded).get("payload", ["{}"])[0]
            if not isinstance(json.loads(payload), dict):
                return "400 Bad Request"
    except ValueError:
        return "400 Bad Request"
    return None


def read_body(environ: dict[str, Any], length: int, seconds: float) -> bytes | None:
    """The request body, or None when it has not all arrived within ``seconds``.

    Gunicorn reads until it holds the length asked for, however slowly the bytes come, and a
    socket timeout would bound each wait, not the whole: at the deadline the socket's reading side
    is shut instead, which ends a blocked read at once (the answer can still be written). A server
    that does not hand over its socket (the tests' in-process servers) reads without a deadline.
    """
    stream = environ["wsgi.input"]
    sock = environ.get("gunicorn.socket")
    if not length:
        return b""
    if sock is None:
        return bytes(stream.read(length))

    def stop_reading() -> None:
        try:
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass  # the client is gone already

    deadline = threading.Timer(seconds, stop_reading)
    deadline.daemon = True
    deadline.start()
    try:
        body = bytes(stream.read(length))
    finally:
        deadline.cancel()
    return body if len(body) == length else None


def wsgi_app(app: App, runtime: Runtime) -> WSGIApp:
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk.signature import SignatureVerifier

    from bot.logs import tagged

    slack = SlackRequestHandler(app, path="/slack/events")
    verifier = SignatureVerifier(runtime.settings.signing_secret or "")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        with tagged():
            if path == "/healthz" and method == "GET":
                return _answer(start_response, "200 OK", b"ok")
            if path == "/readyz" and method == "GET":
                ready, reason = readiness(runtime)
                status = "200 OK" if ready else "503 Service Unavailable"
                return _answer(start_response, status, reason.encode())
            if path == "/slack/events" and method == "POST":
                try:
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_BODY_BYTES:
                    return _answer(start_response, "400 Bad Request", b"bad request")
                body = read_body(environ, length, runtime.settings.body_timeout_seconds)
                if body is None:
                    log.info("refused a request to /slack/events: its body came too slowly")
                    return _answer(start_response, "408 Request Timeout", b"request timeout")
                refusal = _refusal(environ, body, verifier)
                if refusal is not None:
                    log.info("refused a request to /slack/events: %s", refusal)
                    return _answer(start_response, refusal, refusal.split(" ", 1)[1].encode())
                environ["wsgi.input"] = io.BytesIO(body)
            return slack(environ, start_response)

    return application


class LoadingApplication:
    """The worker's WSGI app while it loads: ``make_application`` runs in a background thread
    from the moment this object is made, and requests are answered meanwhile.

    - ``GET /healthz`` answers 200 at once (liveness: the process lives and serves HTTP).
    - ``GET /readyz`` answers 503 ``loading`` until the app is loaded, then the app's readiness.
    - Any other request waits for the load (up to ``wait_seconds``) and is then handled by the
      app, so a Slack request that comes early is answered, only later.

    If the load fails, ``on_failure`` is called with the error from the loading thread (in a
    worker: one line on stderr and the exit code that makes gunicorn's master stop).
    """

    def __init__(
        self,
        make_application: Callable[[], WSGIApp],
        *,
        on_failure: Callable[[BaseException], None],
        wait_seconds: float = 60.0,
    ) -> None:
        self._make_application = make_application
        self._on_failure = on_failure
        self._wait_seconds = wait_seconds
        self._loaded = threading.Event()
        self._application: WSGIApp | None = None
        self._thread = threading.Thread(target=self._load, name="liaison-load", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            self._application = self._make_application()
        except BaseException as error:  # noqa: BLE001 - handed to on_failure, which stops the worker
            self._on_failure(error)
        finally:
            self._loaded.set()

    @property
    def loaded(self) -> bool:
        return self._application is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the load to end; True when the app is loaded."""
        self._loaded.wait(timeout)
        return self.loaded

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO"), environ.get("REQUEST_METHOD")
        if path == "/healthz" and method == "GET":
            return _answer(start_response, "200 OK", b"ok")
        if self._application is None:
            if path == "/readyz" and method == "GET":
                return _answer(start_response, "503 Service Unavailable", b"loading")
            if not self.wait(self._wait_seconds):
                return _answer(start_response, "503 Service Unavailable", b"loading")
        assert self._application is not None
        return self._application(environ, start_response)


def _stop_worker(error: BaseException) -> None:
    """A worker whose app cannot load says why and exits with gunicorn's boot-error code, which
    stops the master: the same as a failure during gunicorn's own load."""
    from storage.db import store_unavailable

    reason = store_unavailable(error)
    if reason is not None:
        print(f"liaison: cannot reach the database: {reason}", file=sys.stderr, flush=True)
    else:
        log.error("the app could not be loaded", exc_info=error)
    sys.stderr.flush()
    os._exit(WORKER_BOOT_ERROR)  # from the loading thread: sys.exit would end only the thread


def serve(
    make_application: Callable[[], WSGIApp], *, host: str, port: int, workers: int, threads: int
) -> int:
    """Run gunicorn; each worker starts ``make_application`` in a background thread after the
    fork (``LoadingApplication``), so the master holds no app (its memory stays small), workers
    answer /healthz at once and start in parallel. A worker that cannot load the app (the
    database is unreachable) says why in one line and stops the server."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    class RootLogger(Logger):  # type: ignore[misc]
        """gunicorn's loggers write through the root handler set up by the CLI (the log
        allow-list, redaction, JSON lines, the level) instead of handlers of their own."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for gunicorn_log in (self.error_log, self.access_log):
                for handler in list(gunicorn_log.handlers):
                    gunicorn_log.removeHandler(handler)
                gunicorn_log.propagate = True
            self.error_log.setLevel(logging.NOTSET)

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("logger_class", RootLogger)
            # Method, path (no query string: an OAuth redirect's code), status, size and time;
            # no client address, referrer or user agent.
            self.cfg.set("access_log_format", "%(m)s %(U)s %(s)s %(B)s bytes %(L)ss")
            self.cfg.set("timeout", 60)

        def load(self) -> WSGIApp:
            return LoadingApplication(make_application, on_failure=_stop_worker)

    Gunicorn().run()
    return 0
