"""Shards of workspaces: which scheduler runs the jobs and sends the messages of which workspace.

With ``liaison scheduler --shards N`` (or ``LIAISON_SHARDS``) the workspaces fall into N shards by
a stable hash of their team id: CRC-32, the same in every process, on every machine and across
restarts. The hash is stored on the workspace row (``Workspace.shard_hash``, set when the row is
written) so that SQLite and PostgreSQL select a shard's workspaces in SQL alike:
``team_id IN (SELECT team_id FROM workspace WHERE shard_hash % N = k)``.

Shard 0 also holds every team that has no workspace row (a message answering a command in a
workspace without a project): the shards together cover every team, each exactly once.

The jobs run for one shard at a time. ``bot.jobs.run_job`` sets the shard being run as the current
one (a context variable, so the job's thread and any finder deep in a service see the same), and
every query that chooses workspaces adds ``in_shard(<its team_id column>)`` — one predicate, in
the statement that was there already: a job stays one statement per shard, never one per
workspace. With one shard (the default) the predicate is ``true`` and nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, true

from storage.models.core import Workspace, shard_hash

__all__ = ["MAX_SHARDS", "Shard", "all_shards", "in_shard", "running", "shard_hash", "team_filter"]

MAX_SHARDS = 64


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0 ≤ index < count)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} of {self.count}")

    def __str__(self) -> str:
        return f"{self.index + 1}/{self.count}"

    @property
    def whole(self) -> bool:
        return self.count == 1

    def holds(self, team_id: str, known: bool = True) -> bool:
        """Whether ``team_id`` is this shard's (``known``: it has a workspace row)."""
        if not known:
            return self.index == 0
        return shard_hash(team_id) % self.count == self.index


def shard_of(team_id: str, count: int) -> int:
    return shard_hash(team_id) % count


def all_shards(count: int) -> list[Shard]:
    return [Shard(index, count) for index in range(count)]


_current: ContextVar[Shard | None] = ContextVar("liaison_shard", default=None)


def current() -> Shard | None:
    return _current.get()


@contextmanager
def running(shard: Shard | None) -> Iterator[None]:
    """Within the block, ``in_shard`` narrows workspace queries to ``shard``."""
    token = _current.set(None if shard is None or shard.whole else shard)
    try:
        yield
    finally:
        _current.reset(token)


def team_filter(team_id: Any, shard: Shard | None) -> ColumnElement[bool]:
    """A SQL condition on a ``team_id`` column: the row's workspace is in ``shard``."""
    if shard is None or shard.whole:
        return true()
    hashed = Workspace.__table__.c.shard_hash  # type: ignore[attr-defined]
    team = Workspace.__table__.c.team_id  # type: ignore[attr-defined]
    if shard.index == 0:  # shard 0 also holds the teams without a workspace row
        others = select(team).where(hashed % shard.count != 0)
        return team_id.not_in(others)  # type: ignore[no-any-return]
    mine = select(team).where(hashed % shard.count == shard.index)
    return team_id.in_(mine)  # type: ignore[no-any-return]


def in_shard(team_id: Any) -> ColumnElement[bool]:
    """``team_filter`` for the shard whose jobs are running (``true`` outside any)."""
    return team_filter(team_id, current())
