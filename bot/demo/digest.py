"""Act: the week ends with the weekly digest in the project channel, and the PM's dashboard.

The PM previews the digest (only they see it), moves it to the project channel only, and when the
digest time comes the scheduler posts it there with the satisfaction trend chart. The PM's Home
tab then shows the project's dashboard: figures, key users at risk and the buttons to act.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot.demo.stage import CHANNEL, PM, Stage
from bot.jobs import run_due

DIGEST_TIME = time(9, 0)  # the PM's setting, a wall-clock time in the project's timezone


def _next_digest_time(stage: Stage, weekday: int) -> datetime:
    today = stage.local_today()
    return stage.instant(today + timedelta(days=(weekday - today.weekday()) % 7 or 7), DIGEST_TIME)


def play(stage: Stage) -> None:
    slack, emulator = stage.slack, stage.emulator
    t = stage.t
    stage.act(t("demo.digest.title"))

    stage.command(
        PM,
        t("demo.digest.preview", channel=stage.emulator.channel_name(CHANNEL)),
        "/digest",
        "preview",
    )

    stage.step(PM, t("demo.digest.settings"))
    slack.slash_command(PM, "/digest", "settings", channel_id=CHANNEL)
    stage.show_view(emulator.open_views(PM)[-1])
    slack.submit_view(
        PM,
        {
            "digest_weekday": "0",
            "digest_time": DIGEST_TIME.strftime("%H:%M"),
            "digest_target": "channel",
        },
    )
    stage.show_new_messages()

    stage.clock.set(_next_digest_time(stage, 0))
    stage.step("scheduler", t("demo.digest.scheduled", time=DIGEST_TIME.strftime("%H:%M")))
    run_due(stage.runtime)
    stage.show_new_messages()

    stage.home(PM, t("demo.digest.home"))
