"""Rules of the project service that other features lean on: who counts as the project team,
which projects a PM manages, phase names as people type them, the audit log and the workspace
row (found by mutation testing to be unguarded)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.clock import MovableClock
from bot.errors import PermissionDenied, ValidationError
from bot.i18n import say
from bot.runtime import Runtime
from bot.services import projects
from bot.services.context import Ctx
from bot.services.projects import ProjectInput
from bot.settings import Settings
from storage.db import Database
from storage.models import Interaction, Project, Workspace
from tests.conftest import KEY_USERS, OUTSIDER, PM, PM2, TEAM


def make(ctx: Ctx, code: str, pm_ids: list[str]) -> Project:
    data = ProjectInput(name=f"Project {code}", code=code, pm_ids=pm_ids)
    return projects.create_project(ctx=ctx, data=data)


def test_the_team_is_its_members_and_pms_and_defaults_to_the_acting_person(ctx: Ctx) -> None:
    project = make(ctx, "ERP", [PM])
    projects.set_team_members(ctx=ctx, project=project, user_ids=[KEY_USERS[0]])
    assert projects.is_team_member(ctx, project, KEY_USERS[0])
    assert projects.is_team_member(ctx, project, PM)  # a PM is always in the team
    assert projects.is_team_member(ctx, project)  # the acting person (the PM)
    assert not projects.is_team_member(ctx, project, OUTSIDER)
    assert not projects.is_team_member(ctx, project, KEY_USERS[1])


def test_projects_managed_by_a_pm_are_theirs_only_in_code_order(ctx: Ctx) -> None:
    make(ctx, "WMS", [PM])
    make(ctx, "CRM", [PM2])
    make(ctx, "ERP", [PM, PM2])
    assert [p.code for p in projects.projects_managed_by(ctx, PM)] == ["ERP", "WMS"]
    assert [p.code for p in projects.projects_managed_by(ctx, PM2)] == ["CRM", "ERP"]
    assert projects.projects_managed_by(ctx, OUTSIDER) == []


def test_a_phase_is_understood_as_people_type_it(ctx: Ctx) -> None:
    project = make(ctx, "ERP", [PM])
    projects.set_phase(ctx=ctx, project=project, phase="  Go Live-Support ")
    assert project.phase == "go_live_support"
    with pytest.raises(ValidationError) as refused:
        projects.set_phase(ctx=ctx, project=project, phase="hypercare")
    message = refused.value.errors["phase"]
    assert message.params["phases"] == ", ".join(project.phases)
    assert project.phase == "go_live_support"


def test_changes_are_logged_with_who_made_them(ctx: Ctx) -> None:
    project = make(ctx, "ERP", [PM])
    projects.set_phase(ctx=ctx, project=project, phase="blueprint")
    entries = ctx.session.exec(select(Interaction).order_by(Interaction.id)).all()
    assert [(e.kind, e.actor_id, e.touchpoint) for e in entries] == [
        ("project.created", PM, False),
        ("project.phase_changed", PM, False),
    ]
    assert entries[-1].detail == {"previous": "preparation", "phase": "blueprint"}


def test_the_workspace_is_recorded_once(ctx: Ctx) -> None:
    make(ctx, "ERP", [PM])
    make(ctx, "CRM", [PM])
    assert [w.team_id for w in ctx.session.exec(select(Workspace)).all()] == [TEAM]
    assert ctx.ensure_workspace().team_id == TEAM


def test_only_pms_and_admins_change_a_project_and_a_refusal_names_it(
    ctx: Ctx, database: Database, clock: MovableClock
) -> None:
    project = make(ctx, "ERP", [PM])
    ctx.session.commit()
    runtime = Runtime(settings=Settings(), database=database, clock=clock)
    with runtime.unit(TEAM, OUTSIDER, admin_check=lambda user: False) as outsider:
        erp = projects.get_project(outsider, "ERP")
        with pytest.raises(PermissionDenied) as refused:
            projects.set_phase(ctx=outsider, project=erp, phase="blueprint")
        assert say("en", refused.value.reason) == (
            "Only the project managers of ERP (or a workspace admin) can do that."
        )
    with runtime.unit(TEAM, OUTSIDER, admin_check=lambda user: user == OUTSIDER) as admin:
        erp = projects.get_project(admin, "ERP")
        assert projects.set_phase(ctx=admin, project=erp, phase="blueprint").phase == "blueprint"
    assert project.code == "ERP"
