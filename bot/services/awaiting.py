"""What waits for a decision or a signature, across the subjects of the approvals (change requests
and sign-offs), for a Home tab: one statement for both."""

from __future__ import annotations

from typing import Any

from sqlmodel import select, union_all

from bot.services import changes, signoffs
from bot.services.context import Ctx
from storage.models import Project


def home_rows(
    ctx: Ctx, user_id: str, managed_ids: list[int], projects: dict[int, Project]
) -> tuple[list[Any], list[signoffs.Waiting]]:
    """What waits for decisions and signatures, for a Home tab, in one statement: the change
    requests' rows (``changes.waiting_select``) and the sign-offs', each list in its order."""
    parts = [
        changes.waiting_select(ctx.team_id, user_id, managed_ids).subquery(),
        signoffs.waiting_select(ctx.team_id, user_id, managed_ids).subquery(),
    ]
    rows = ctx.session.exec(
        union_all(*(select(*part.c) for part in parts)).order_by("kind", "since", "id", "row")
    ).all()
    change_rows = [row for row in rows if row.kind == changes.KIND]
    signed = [
        signoffs.Waiting(
            row.id, row.number, row.title, projects[row.project_id], row.person, row.approval
        )
        for row in rows
        if row.kind == signoffs.KIND and row.project_id in projects
    ]
    return change_rows, signed
