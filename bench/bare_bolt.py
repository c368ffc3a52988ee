"""The yardstick for ``liaison serve``: a bare Bolt app with one command behind the same gunicorn
set-up (gthread, one worker) and the same GET /healthz, for bench/scale.py's start-up rows.

    gunicorn --worker-class gthread --threads 8 -w 1 --chdir bench bare_bolt:application
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

app = App(
    token=os.environ.get("SLACK_BOT_TOKEN"),
    signing_secret=os.environ.get("SLACK_SIGNING_SECRET"),
    token_verification_enabled=False,
)


@app.command("/hello")
def hello(ack: Callable[..., None]) -> None:
    ack("hello")


slack = SlackRequestHandler(app, path="/slack/events")


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") in ("/healthz", "/readyz"):  # loaded at import: ready when alive
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    return slack(environ, start_response)
