"""Act: the week ends with the weekly digest in the project channel, and the PM's dashboard.

The PM previews the digest (only they see it), moves it to the project channel only, and when the
digest time comes the scheduler posts it there with the satisfaction trend chart. The PM's Home
tab then shows the project's dashboard: figures, key users at risk and the buttons to act.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.demo.stage import CHANNEL, PM, Stage
from bot.jobs import run_due


def _next_digest_time(stage: Stage, weekday: int, at: time, zone: str) -> datetime:
    local = stage.clock.now().astimezone(ZoneInfo(zone))
    days = (weekday - local.weekday()) % 7 or 7
    day = (local + timedelta(days=days)).date()
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone))


def play(stage: Stage) -> None:
    slack, emulator = stage.slack, stage.emulator
    stage.act("Act 6 — the week ends: the weekly digest in the channel, and the PM's dashboard")

    stage.step(PM, "types `/digest preview` in #erp-rollout: only she sees it, right now:")
    slack.slash_command(PM, "/digest", "preview", channel_id=CHANNEL)
    stage.show_new_messages()

    stage.step(PM, "types `/digest settings` and sends it to the project channel only:")
    slack.slash_command(PM, "/digest", "settings", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    slack.submit_view(
        PM, {"digest_weekday": "0", "digest_time": "09:00", "digest_target": "channel"}
    )
    stage.show_new_messages()

    moment = _next_digest_time(stage, 0, time(9, 0), "Europe/Berlin")
    stage.clock.set(moment)
    stage.step(PM, "— Monday 09:00: the scheduler posts the digest, with the trend chart:")
    run_due(stage.runtime)
    stage.show_new_messages()

    stage.step(PM, "opens the Home tab: her project's dashboard:")
    slack.open_home(PM)
    stage.show_home(PM)
