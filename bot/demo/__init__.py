"""The demo: a project's week played through the real handlers against the local Slack emulator.

Nothing is faked above the Web API: slash commands, button clicks and form submissions are signed
and dispatched to the real Bolt app exactly as Slack would send them, services write to a real
SQLite file, and what the app sends to Slack is recorded by the emulator and printed here the way
the PM and the key users would have seen it. Each capability adds an act (a module in this package
with ``play(stage)``), listed in ``ACTS``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from bot.demo import (
    digest,
    golive,
    governance,
    issues,
    meetings,
    notifications,
    polls,
    register,
    trainings,
)
from bot.demo.stage import Stage
from bot.emulator.server import SlackEmulator
from bot.settings import Settings

ACTS = [register, polls, issues, meetings, trainings, governance, digest, golive, notifications]


def run_demo(
    *,
    database_path: str,
    settings: Settings,
    out: object = None,
    watch: Callable[[SlackEmulator], None] | None = None,
) -> int:
    """Play every act; ``watch`` (for tests) sees the emulator with all the demo sent."""
    stream = out or sys.stdout
    path = Path(database_path).resolve()
    with Stage.open(path, settings, stream) as stage:  # type: ignore[arg-type]
        for act in ACTS:
            act.play(stage)
        stage.finish()
        if watch is not None:
            watch(stage.emulator)
    return 0
