"""Per-project numbers: 1, 2, … in the order a project's rows were created. People read and
type these (as issues have ERP-1), never a database id."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from bot.errors import Msg, NotFound
from bot.services.context import Ctx

M = TypeVar("M")


def numbers(ctx: Ctx, model: type[M], rows: Iterable[Any], by: tuple[str, ...]) -> dict[int, int]:
    """Each row's number among the rows sharing its ``by`` columns (project, kind…). One query."""
    wanted = {tuple(getattr(row, name) for name in by) for row in rows}
    if not wanted:
        return {}
    query = ctx.select(model)
    for position, name in enumerate(by):
        query = query.where(col(getattr(model, name)).in_({key[position] for key in wanted}))
    seen: Counter[tuple[Any, ...]] = Counter()
    result = {}
    for row in ctx.session.exec(query.order_by(col(model.id))).all():  # type: ignore[attr-defined]
        key = tuple(getattr(row, name) for name in by)
        seen[key] += 1
        result[getattr(row, "id", None) or 0] = seen[key]
    return result


def by_number(ctx: Ctx, model: type[M], number: Any, missing: str, **where: Any) -> M:
    """The row numbered ``number`` among those matching ``where``; "#3" and "3" alike. Refused
    with the catalog key ``missing``, which names the number typed."""
    text = str(number).lstrip("#")
    if not text.isdigit() or int(text) < 1:
        raise NotFound(Msg(missing, id=text[:20]))
    query = ctx.select(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    row = ctx.session.exec(
        query.order_by(col(model.id)).offset(int(text) - 1).limit(1)  # type: ignore[attr-defined]
    ).first()
    if row is None:
        raise NotFound(Msg(missing, id=int(text)))
    return row


def number_column(model: Any, by: tuple[str, ...]) -> Any:
    """The row's number as a correlated count, to read it in the same SELECT as the row."""
    earlier = aliased(model)
    return (
        select(func.count(col(earlier.id)))
        .where(col(earlier.id) <= col(model.id))
        .where(*[getattr(earlier, name) == getattr(model, name) for name in by])
        .correlate(model)
        .scalar_subquery()
    )
