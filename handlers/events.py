"""Events API plumbing: a retried delivery of an event already handled is acknowledged, not rerun.

Slack retries an event it thinks was not answered in time (``X-Slack-Retry-Num``); the event id,
with the team, stays the same, so it is recorded and a repeat is dropped. Bolt does not do this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest

from bot.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    @app.middleware
    def drop_repeated_events(
        req: BoltRequest, body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        team_id = body.get("team_id") or req.context.team_id
        if not event_id or not team_id:
            return next()
        with runtime.unit(team_id) as ctx:
            first_time = ctx.claim(f"event:{event_id}")
        if not first_time:
            return BoltResponse(status=200, body="")
        return next()
