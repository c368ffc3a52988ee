"""The scheduled work of polls (listed in ``bot.jobs.JOB_TABLE``): open, remind, close, recur.

Each job finds the workspaces with something due, then runs the polls service in one unit of work
per workspace. Messages go to the outbox (the ``deliver_outbox`` job, last in the table, sends
them); state on the poll and unique outbox keys make a second run at the same instant do nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col

from bot.jobs.teams import per_team, teams_where
from bot.runtime import Runtime
from bot.services import poll_closing
from bot.services import polls as service
from bot.views.polls import MESSAGES
from storage.models import Poll, PollStatus, Recurrence


def _teams(runtime: Runtime, *conditions: Any) -> list[str]:
    return teams_where(runtime, Poll.team_id, *conditions)


def open_polls(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    teams = _teams(runtime, Poll.status == PollStatus.SCHEDULED, Poll.opens_at <= now)
    sent = per_team(runtime, teams, lambda ctx: service.open_due(ctx=ctx, messages=MESSAGES))
    return {"invitations": sent}


def remind_polls(runtime: Runtime) -> dict[str, Any]:
    teams = _teams(
        runtime,
        Poll.status == PollStatus.OPEN,
        col(Poll.reminded_at).is_(None),
        col(Poll.remind_hours).is_not(None),
    )
    reminded = per_team(runtime, teams, lambda ctx: service.remind_due(ctx=ctx, messages=MESSAGES))
    return {"reminders": reminded}


def close_polls(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    teams = _teams(runtime, Poll.status == PollStatus.OPEN, Poll.closes_at <= now)
    messages = per_team(
        runtime, teams, lambda ctx: poll_closing.close_due(ctx=ctx, messages=MESSAGES)
    )
    return {"closed_in_workspaces": len(teams), "messages": messages}


def poll_rounds(runtime: Runtime) -> dict[str, Any]:
    teams = _teams(
        runtime,
        Poll.status == PollStatus.CLOSED,
        Poll.recurrence != Recurrence.NONE,
        col(Poll.next_round_id).is_(None),
    )
    created = per_team(runtime, teams, lambda ctx: service.create_next_rounds(ctx=ctx))
    return {"rounds_scheduled": created}


EVERY_MINUTE = timedelta(minutes=1)
