"""What the per-project records with a number, a version and a history (risks, change requests,
sign-offs, decisions) do alike: hand out the next number, refuse a change from a stale card and
bump the version, keep a history row, find one by its id or number for a person who may see it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import SQLModel, col, select

from bot.errors import Msg, NotFound, ValidationError
from bot.services import projects as project_service
from bot.services.context import Ctx
from storage.models import Project

Row = TypeVar("Row", bound=SQLModel)


def next_number(ctx: Ctx, counters: type[SQLModel], project: Project) -> int:
    """The project's next number from its counters' row (``settings_row``, locked for update),
    counted as handed out."""
    return take_number(ctx, project_service.settings_row(ctx, counters, project, lock=True))


def take_number(ctx: Ctx, settings: Any) -> int:
    """The next number of a project's counters' row already locked for update, counted as
    handed out."""
    number: int = settings.next_number
    settings.next_number = number + 1
    ctx.session.add(settings)
    return number


def touch(ctx: Ctx, record: Any, expected_version: int | None, field: str, stale: Msg) -> None:
    """Refuse a change made from a card or form shown before the record last changed (the
    error ``stale`` on ``field``); else bump its version and when it changed."""
    if expected_version is not None and expected_version != record.version:
        raise ValidationError({field: stale})
    record.version += 1
    record.updated_at = ctx.now()
    ctx.session.add(record)


def history(ctx: Ctx, model: type[Row], action: str, detail: dict[str, Any], **record: int) -> Row:
    """A history row of a record (``record``: its id by the model's column name), by the actor,
    now; flushed, so it has its id."""
    entry = model(
        team_id=ctx.team_id,
        actor_id=ctx.actor_id,
        action=action,
        detail=detail,
        at=ctx.now(),
        **record,
    )
    ctx.session.add(entry)
    ctx.session.flush()
    return entry


Visible = Callable[[Ctx, Project, Any], bool]


def by_id(
    ctx: Ctx, model: type[Row], record_id: int, can_see: Visible, not_found: str
) -> tuple[Row, Project]:
    """A record by its id (from a button or a form), if the acting person may see it: an id in
    a request may be forged, and a record they may not see is not found (``not_found``)."""
    record = ctx.get(model, record_id)
    if record is None:
        raise NotFound(Msg(not_found, id=str(record_id)))
    project = project_service.get_project_by_id(ctx, record.project_id)  # type: ignore[attr-defined]
    if not can_see(ctx, project, record):
        raise NotFound(Msg(not_found, id=str(record_id)))
    return record, project


def by_number(
    ctx: Ctx, model: type[Row], project: Project, number: Any, can_see: Visible, not_found: str
) -> Row:
    """A record by its number in a project ("3" or "#3"), if the acting person may see it."""
    text = str(number).lstrip("#")
    ident = int(text) if text.isdigit() else 0
    record = ctx.session.exec(
        ctx.select(model).where(
            model.project_id == project.id,  # type: ignore[attr-defined]
            model.number == ident,  # type: ignore[attr-defined]
        )
    ).first()
    if record is None or not can_see(ctx, project, record):
        raise NotFound(Msg(not_found, id=text[:20]))
    return record


def newest_page(
    ctx: Ctx, model: type[Row], conditions: list[Any], page: int, page_size: int
) -> tuple[list[Row], int, int, int]:
    """One page of a project's numbered records matching ``conditions``, newest (highest number)
    first, counted and cut in SQL: the rows, the total, the page shown (kept within the pages)
    and the number of pages."""
    total = int(ctx.session.exec(select(func.count()).select_from(model).where(*conditions)).one())
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = ctx.session.exec(
        select(model)
        .where(*conditions)
        .order_by(col(model.number).desc())  # type: ignore[attr-defined]
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), total, page, pages
