"""The scheduled work of polls (listed in ``bot.jobs.JOB_TABLE``): open, remind, close, recur.

Each job finds the workspaces with something due, then runs the polls service in one unit of work
per workspace. Messages go to the outbox (the ``deliver_outbox`` job, last in the table, sends
them); state on the poll and unique outbox keys make a second run at the same instant do nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from bot.runtime import Runtime
from bot.services import poll_closing
from bot.services import polls as service
from bot.views.polls import MESSAGES
from storage.models import Poll, PollStatus, Recurrence


def _teams(runtime: Runtime, *conditions: Any) -> list[str]:
    with runtime.database.session() as session:
        return sorted(set(session.exec(select(Poll.team_id).where(*conditions)).all()))


def open_polls(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    sent = 0
    for team_id in _teams(runtime, Poll.status == PollStatus.SCHEDULED, Poll.opens_at <= now):
        with runtime.unit(team_id) as ctx:
            sent += len(service.open_due(ctx=ctx, messages=MESSAGES))
    return {"invitations": sent}


def remind_polls(runtime: Runtime) -> dict[str, Any]:
    reminded = 0
    teams = _teams(
        runtime,
        Poll.status == PollStatus.OPEN,
        col(Poll.reminded_at).is_(None),
        col(Poll.remind_hours).is_not(None),
    )
    for team_id in teams:
        with runtime.unit(team_id) as ctx:
            reminded += len(service.remind_due(ctx=ctx, messages=MESSAGES))
    return {"reminders": reminded}


def close_polls(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    messages = 0
    teams = _teams(runtime, Poll.status == PollStatus.OPEN, Poll.closes_at <= now)
    for team_id in teams:
        with runtime.unit(team_id) as ctx:
            messages += len(poll_closing.close_due(ctx=ctx, messages=MESSAGES))
    return {"closed_in_workspaces": len(teams), "messages": messages}


def poll_rounds(runtime: Runtime) -> dict[str, Any]:
    created = 0
    teams = _teams(
        runtime,
        Poll.status == PollStatus.CLOSED,
        Poll.recurrence != Recurrence.NONE,
        col(Poll.next_round_id).is_(None),
    )
    for team_id in teams:
        with runtime.unit(team_id) as ctx:
            created += len(service.create_next_rounds(ctx=ctx))
    return {"rounds_scheduled": created}


EVERY_MINUTE = timedelta(minutes=1)
