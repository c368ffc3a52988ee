"""What the per-workspace jobs share: find the workspaces with something due, then run the
service's work in one unit of work per workspace and count what it did."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.runtime import Runtime
from bot.services.context import Ctx


def teams_where(runtime: Runtime, team_id: Any, *conditions: Any) -> list[str]:
    """The workspaces (``team_id``, a model's column) of the rows meeting ``conditions``."""
    with runtime.database.session() as session:
        return sorted(set(session.exec(select(team_id).where(*conditions)).all()))


def teams_found(runtime: Runtime, find: Callable[[Session, datetime], list[str]]) -> list[str]:
    """The workspaces a service's ``find`` names at the runtime clock's instant."""
    with runtime.database.session() as session:
        return find(session, runtime.clock.now())


def per_team(runtime: Runtime, teams: Iterable[str], work: Callable[[Ctx], Sized]) -> int:
    """Runs ``work`` for each workspace in its own unit of work (committed as it ends); how many
    things it returned in all (messages queued, rounds created)."""
    done = 0
    for team_id in teams:
        with runtime.unit(team_id) as ctx:
            done += len(work(ctx))
    return done
