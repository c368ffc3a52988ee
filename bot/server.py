"""HTTP mode: Bolt's WSGI adapter behind gunicorn, plus GET /healthz (liveness) and GET /readyz
(readiness: the database answers and its migrations are current).

Requests to /slack/events are checked before anything parses them: a body that is not UTF-8 gets
400, a missing or wrong signature (or a stale timestamp) 401. Only then does Bolt see the request.
"""

from __future__ import annotations

import io
import json
import logging
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
    """(ready, reason): the database answers and carries every migration of this release."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from storage.migrate import alembic_config, current_heads

    engine = runtime.database.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        applied = current_heads(engine)
    except Exception as error:  # noqa: BLE001 - any database failure means not ready
        return False, f"database: {type(error).__name__}"
    expected = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    if applied != expected:
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
                body = environ["wsgi.input"].read(length) if length else b""
                refusal = _refusal(environ, body, verifier)
                if refusal is not None:
                    log.info("refused a request to /slack/events: %s", refusal)
                    return _answer(start_response, refusal, refusal.split(" ", 1)[1].encode())
                environ["wsgi.input"] = io.BytesIO(body)
            return slack(environ, start_response)

    return application


def serve(
    make_application: Callable[[], WSGIApp], *, host: str, port: int, workers: int, threads: int
) -> int:
    """Run gunicorn; each worker calls ``make_application`` after the fork, so the master holds
    no app (its memory stays small) and workers start in parallel. A worker that cannot start
    (the database is unreachable) says why in one line and stops the server."""
    import sys

    from gunicorn.app.base import BaseApplication

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", 60)

        def load(self) -> WSGIApp:
            from bot.cli import database_unreachable

            try:
                return make_application()
            except Exception as error:
                reason = database_unreachable(error)
                if reason is None:
                    raise
                print(f"liaison: cannot reach the database: {reason}", file=sys.stderr)
                sys.exit(WORKER_BOOT_ERROR)

    Gunicorn().run()
    return 0
