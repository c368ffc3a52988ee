"""Phase checklist rules against the service: the progress of many projects in one statement,
each counted in its own timezone (recomputed here from the rows), and the exit criteria as a
list a new criterion joins with one function."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import select

from bot.clock import MovableClock
from bot.errors import ValidationError
from bot.services import phase_exit
from bot.services import phases as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from storage.models import ChecklistItem, PhaseMove, Project
from tests.digest_helpers import make_project

ZONES = {"TKY": "Asia/Tokyo", "LAX": "America/Los_Angeles", "UTC": "UTC"}


def statements(ctx: Ctx, work):  # type: ignore[no-untyped-def]
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    engine = ctx.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        result = work()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return result, len(seen)


def test_progress_of_many_projects_is_one_statement_each_in_its_own_timezone(
    ctx: Ctx, clock: MovableClock
) -> None:
    clock.set(datetime(2026, 12, 1, 20, 30, tzinfo=ZoneInfo("UTC")))  # Tokyo is on 2 Dec
    projects = []
    for code, zone in ZONES.items():
        project = make_project(ctx, code=code, timezone=zone, channel=None, key_users=[])
        project_service.set_phase(ctx=ctx, project=project, phase="realization")
        utc_day = clock.now().date()
        for offset, status in [(-3, "open"), (-1, "open"), (0, "open"), (1, "open"), (-2, "done")]:
            item = service.add_item(
                ctx=ctx,
                project=project,
                phase=None,
                data=service.ItemInput(text=f"{offset}", due_on=utc_day + timedelta(days=offset)),
            )
            item.status = status
        service.add_item(
            ctx=ctx, project=project, phase="blueprint", data=service.ItemInput(text="x")
        )
        na = service.add_item(
            ctx=ctx, project=project, phase=None, data=service.ItemInput(text="na")
        )
        na.status = "not_applicable"
        projects.append(project)
    ctx.session.flush()
    found, count = statements(ctx, lambda: service.progress(ctx, projects))
    assert count == 1
    rows = ctx.session.exec(select(ChecklistItem)).all()
    for project in projects:
        today = clock.now().astimezone(ZoneInfo(project.timezone)).date()
        mine = [r for r in rows if r.project_id == project.id and r.phase == "realization"]
        expected = service.Progress(
            "realization",
            total=len([r for r in mine if r.status != "not_applicable"]),
            done=len([r for r in mine if r.status == "done"]),
            overdue=len([r for r in mine if r.status == "open" and r.due_on and r.due_on < today]),
            not_applicable=len([r for r in mine if r.status == "not_applicable"]),
        )
        assert found[project.id or 0] == expected, project.code
    # Tokyo's day is a day ahead: the item due on UTC's day is overdue there only.
    assert [found[p.id or 0].overdue for p in projects] == [3, 2, 2]


def test_an_exit_criterion_is_one_function_in_the_list(
    ctx: Ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(ctx, channel=None, key_users=[])
    service.add_item(ctx=ctx, project=project, phase=None, data=service.ItemInput(text="Kick-off"))

    def pending_sign_offs(ctx: Ctx, project: Project) -> list[phase_exit.Blocker]:
        return [phase_exit.Blocker("item", "S1", "Steering committee sign-off")]

    monkeypatch.setattr(phase_exit, "EXIT_CRITERIA", (*phase_exit.EXIT_CRITERIA, pending_sign_offs))
    plan = service.plan_move(ctx, project, "next")
    assert [b.ref for b in plan.blockers] == ["#1", "S1"]
    move = service.confirm_move(ctx, project, plan.to_phase, plan.moves)
    assert [b["ref"] for b in move.blockers] == ["#1", "S1"]
    assert ctx.session.exec(select(PhaseMove)).one().to_phase == "blueprint"
    with pytest.raises(ValidationError):
        service.confirm_move(ctx, project, "realization", plan.moves)  # asked before the move
