"""What the per-workspace jobs share: find the workspaces with something due, then run the
service's work in one unit of work per workspace and count what it did; and the one DM a day
that lists what is due for each person."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from bot.delivery import Outgoing, enqueue_many
from bot.runtime import Runtime
from bot.services import notifications
from bot.services.context import Ctx
from bot.services.issue_levels import end_of_local_day
from bot.shards import in_shard
from storage.models import Project, Workspace

# A person's list of what is due reaches them from 09:00 in their project's timezone.
DAILY_LIST_HOUR = 9


def teams_where(runtime: Runtime, team_id: Any, *conditions: Any) -> list[str]:
    """The workspaces (``team_id``, a model's column) of the rows meeting ``conditions``, in
    the shard being run (one statement, whatever the number of workspaces)."""
    with runtime.database.session() as session:
        query = select(team_id).where(*conditions, in_shard(team_id)).distinct()
        return sorted(session.exec(query).all())


def workspaces(runtime: Runtime) -> list[str]:
    """Every workspace of the shard being run: for a job that has no cheaper way to tell which
    workspaces have something due."""
    return teams_where(runtime, Workspace.team_id)


def teams_found(runtime: Runtime, find: Callable[[Session, datetime], list[str]]) -> list[str]:
    """The workspaces a service's ``find`` names at the runtime clock's instant (``find`` adds
    ``bot.shards.in_shard`` to its query)."""
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


def daily_lists(
    ctx: Ctx,
    now: datetime,
    due: dict[str, list[Any]],
    *,
    kind: str,
    render: Callable[[str, list[Any], date], dict[str, Any]],
) -> list[str]:
    """One DM per person and local day listing what ``due`` holds for them (items whose second
    member is the project; the first item's project gives the timezone and language), from
    ``DAILY_LIST_HOUR``; keyed ``<kind>:<team>:<person>:<day>`` so a rerun adds nothing, and gone
    stale at the day's end (the next day brings a fresh list). Each list is held for the
    person's grouping step (``bot.services.notifications``), which honours their preferences."""
    messages: list[Outgoing] = []
    notices: dict[str, notifications.Notice] = {}
    for person, items in due.items():
        project: Project = items[0][1]
        local_now = now.astimezone(ZoneInfo(project.timezone))
        if local_now.hour < DAILY_LIST_HOUR:
            continue
        day = local_now.date()
        key = f"{kind}:{ctx.team_id}:{person}:{day.isoformat()}"
        notices[key] = notifications.Notice(key, person, project.timezone)
        messages.append(
            Outgoing(
                key=key,
                payload={"channel": person, **render(person, items, day)},
                subject=f"{kind}:{person}",
                expires_at=end_of_local_day(project, day),
            )
        )
    added = enqueue_many(ctx.session, team_id=ctx.team_id, messages=messages, now=now)
    held = [notices[key] for key in added]
    notifications.hold(ctx.session, team_id=ctx.team_id, notices=held, now=now)
    return added
