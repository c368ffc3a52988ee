"""The scheduled work of calendar events (trainings and meetings): reminders before the start and
the organizer's roster 24 h before. Outbox keys make a rerun at the same instant send nothing."""

from __future__ import annotations

from typing import Any

from bot.calendar import upcoming
from bot.jobs.teams import per_team, teams_found
from bot.runtime import Runtime
from bot.views.calendar import MESSAGES


def send_reminders(runtime: Runtime) -> dict[str, Any]:
    teams = teams_found(runtime, upcoming.teams_with_reminders_due)
    queued = per_team(runtime, teams, lambda ctx: upcoming.remind_due(ctx=ctx, messages=MESSAGES))
    return {"queued": queued}
