"""What stands in the way of a project leaving its phase: its exit criteria.

Each criterion is a function of the project that returns its blockers (the open checklist items
of the current phase, say); ``EXIT_CRITERIA`` lists them, and ``blockers`` asks each. A new
criterion (pending sign-offs) is one more function in the list: the confirmation before a move,
the move's record and the channel's notice name whatever the criteria return.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col

from bot.services.context import Ctx
from storage.models import ChecklistItem, ItemStatus, Project


@dataclass(frozen=True)
class Blocker:
    """One thing still open: its kind (``item``), how people name it (``#3``) and its text."""

    kind: str
    ref: str
    text: str

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "text": self.text}


def open_items(ctx: Ctx, project: Project) -> list[Blocker]:
    """The current phase's checklist items still open, by number."""
    rows = ctx.session.exec(
        ctx.select(ChecklistItem)
        .where(
            ChecklistItem.project_id == project.id,
            ChecklistItem.phase == project.phase,
            ChecklistItem.status == ItemStatus.OPEN,
        )
        .order_by(col(ChecklistItem.number))
    ).all()
    return [Blocker("item", f"#{row.number}", row.text) for row in rows]


Criterion = Callable[[Ctx, Project], list[Blocker]]
EXIT_CRITERIA: tuple[Criterion, ...] = (open_items,)


def blockers(ctx: Ctx, project: Project) -> list[Blocker]:
    """Everything the exit criteria of the project's current phase find still open."""
    return [blocker for criterion in EXIT_CRITERIA for blocker in criterion(ctx, project)]
