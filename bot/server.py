"""HTTP mode: Bolt's WSGI adapter behind gunicorn, plus GET /healthz for load balancers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the gunicorn master imports this module and must stay light
    from slack_bolt import App

    from bot.runtime import Runtime

WORKER_BOOT_ERROR = 3  # gunicorn's exit code for a worker that failed to boot: the master stops
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(app: App, runtime: Runtime) -> WSGIApp:
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from sqlalchemy import text

    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            try:
                with runtime.database.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                status, body = "200 OK", b"ok"
            except Exception as error:  # noqa: BLE001 - any database failure means unhealthy
                status, body = (
                    "503 Service Unavailable",
                    f"database: {type(error).__name__}".encode(),
                )
            start_response(
                status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
            )
            return [body]
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
