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
    t = stage.t
    stage.act(t("demo.digest.title"))

    stage.step(PM, t("demo.digest.preview", channel=stage.emulator.channel_name(CHANNEL)))
    slack.slash_command(PM, "/digest", "preview", channel_id=CHANNEL)
    stage.show_new_messages()

    stage.step(PM, t("demo.digest.settings"))
    slack.slash_command(PM, "/digest", "settings", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    slack.submit_view(
        PM, {"digest_weekday": "0", "digest_time": "09:00", "digest_target": "channel"}
    )
    stage.show_new_messages()

    moment = _next_digest_time(stage, 0, time(9, 0), "Europe/Berlin")
    stage.clock.set(moment)
    stage.step(PM, t("demo.digest.scheduled"))
    run_due(stage.runtime)
    stage.show_new_messages()

    stage.step(PM, t("demo.digest.home"))
    slack.open_home(PM)
    stage.show_home(PM)
