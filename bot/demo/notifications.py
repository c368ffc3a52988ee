"""Act: people choose what reaches them, on their Home tab.

A key user opens his Home tab (what waits for him, and the new "Notifications" part) and asks for
one morning summary at 08:00 with quiet weekends; the PM opens hers and asks for the weekly digest
by DM as well as in the channel. On Monday at the digest's time the scheduler sends the PM one DM
with everything of that run; the key user's messages wait for his morning summary, which comes
on Tuesday at 08:00 as one DM.
"""

from __future__ import annotations

from datetime import time, timedelta

from bot.demo.stage import PM, Stage
from bot.ids import NotificationId
from bot.jobs import run_due

WEI = "UWEI0004"  # key user of MM, who reported the issues of the week
SUMMARY_HOUR = 8


def _settings(stage: Stage, who: str, what: str, values: dict[str, object]) -> None:
    """``who`` clicks "Change" in the Notifications part of their Home tab, sees the form, and
    saves ``values``; the confirmation follows."""
    slack, emulator = stage.slack, stage.emulator
    stage.step(who, what)
    slack.click(who, NotificationId.OPEN_SETTINGS, view=emulator.home(who))
    stage.show_view(emulator.open_views(who)[-1])
    slack.submit_view(who, values)
    stage.show_new_messages()


def _run(stage: Stage, what: str) -> None:
    stage.step("scheduler", what)
    stage.show_run(run_due(stage.runtime))
    stage.show_new_messages()


def play(stage: Stage) -> None:
    t = stage.t
    today = stage.local_today()
    thursday = today + timedelta(days=1)
    stage.clock.set(stage.instant(thursday, time(8, 45)))
    stage.act(t("demo.notifications.title"))

    stage.home(WEI, t("demo.notifications.keyuser_home"))
    _settings(
        stage,
        WEI,
        t("demo.notifications.keyuser_settings", hour=f"{SUMMARY_HOUR:02d}:00"),
        {
            "reminders": "morning",
            "morning_hour": str(SUMMARY_HOUR),
            "digest": "project",
            "quiet_days": ["6", "7"],
        },
    )

    stage.advance(minutes=15)
    stage.home(PM, t("demo.notifications.pm_home"))
    _settings(
        stage,
        PM,
        t("demo.notifications.pm_settings"),
        {"reminders": "daily", "morning_hour": "9", "digest": "dm", "quiet_days": []},
    )

    monday = thursday + timedelta(days=(7 - thursday.weekday()) % 7 or 7)
    stage.clock.set(stage.instant(monday, time(9, 0)))
    _run(stage, t("demo.notifications.monday", who=stage.name(WEI)))
    stage.clock.set(stage.instant(monday + timedelta(days=1), time(SUMMARY_HOUR, 0)))
    _run(
        stage,
        t("demo.notifications.summary", who=stage.name(WEI), hour=f"{SUMMARY_HOUR:02d}:00"),
    )
