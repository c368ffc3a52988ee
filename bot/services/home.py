"""Who is looking at their Home tab: where they stand in each project, loaded once.

Every part of the Home tab first asks the same questions (which projects does this person manage,
where are they a key user, where may they log an issue). A ``Viewer`` answers them from one
statement, and keeps what several parts share (their next events, the key users of the projects
they manage with their last contact), so that it is loaded once per Home tab, not once per part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists
from sqlmodel import col, select

from bot.calendar import upcoming as upcoming_events
from bot.services import engagement
from bot.services.context import Ctx
from storage.models import (
    CalendarEvent,
    Invitation,
    KeyUser,
    PlanEntry,
    Poll,
    Project,
    ProjectMember,
    TrainingModule,
)
from storage.models.core import MemberRole

# Events of each kind (trainings, meetings) on someone's Home tab.
UPCOMING_LIMIT = 5


@dataclass
class Viewer:
    user_id: str
    projects: list[Project]  # every project of the workspace, by code
    roles: dict[int, set[str]]  # project id -> their roles in its team (pm, team)
    key_users: dict[int, KeyUser]  # project id -> their active register row
    is_admin: bool
    _upcoming: dict[str, list[tuple[CalendarEvent, Invitation]]] | None = None
    _contacts: dict[int, list[engagement.Contact]] = field(default_factory=dict)

    @property
    def managed(self) -> list[Project]:
        """The projects they are a PM of, by code."""
        return [p for p in self.projects if MemberRole.PM in self.roles.get(p.id or 0, ())]

    @property
    def key_user_projects(self) -> list[tuple[Project, KeyUser]]:
        """The projects they are an active key user of, with their register row, by code."""
        return [(p, self.key_users[p.id]) for p in self.projects if p.id in self.key_users]

    @property
    def is_key_user(self) -> bool:
        return bool(self.key_users)

    def can_log(self, project: Project) -> bool:
        """The rule of ``issues.can_log``: the project's team, its key users, workspace admins."""
        member = bool(self.roles.get(project.id or 0))
        return self.is_admin or member or project.id in self.key_users

    def upcoming(self, ctx: Ctx, kind: str) -> list[tuple[CalendarEvent, Invitation]]:
        """Their next events of ``kind``; every kind is loaded by the first part that asks."""
        if self._upcoming is None:
            self._upcoming = upcoming_events.upcoming_for(ctx, self.user_id, limit=UPCOMING_LIMIT)
        return self._upcoming.get(kind, [])

    def contacts(self, ctx: Ctx, projects: list[Project]) -> dict[int, list[engagement.Contact]]:
        """The active key users of managed projects with their last contact: loaded for the
        projects no part asked about yet, in one statement, and shared by the dashboards and the
        contacts list."""
        missing = [p.id or 0 for p in projects if (p.id or 0) not in self._contacts]
        if missing:
            self._contacts.update(engagement.contacts_by_project(ctx, missing, ctx.now()))
        return {p.id or 0: self._contacts[p.id or 0] for p in projects}


def viewer_of(ctx: Ctx, user_id: str) -> Viewer:
    """Every project of the workspace with the person's team roles and register row in it: one
    statement (a row per role)."""
    rows: Any = ctx.session.exec(
        select(Project, ProjectMember.role, KeyUser)  # type: ignore[call-overload]
        .outerjoin(
            ProjectMember,
            and_(
                col(ProjectMember.project_id) == col(Project.id),
                col(ProjectMember.user_id) == user_id,
            ),
        )
        .outerjoin(
            KeyUser,
            and_(
                col(KeyUser.project_id) == col(Project.id),
                col(KeyUser.user_id) == user_id,
                col(KeyUser.removed_at).is_(None),
            ),
        )
        .where(col(Project.team_id) == ctx.team_id)
        .order_by(col(Project.code), col(Project.id))
    ).all()
    projects: dict[int, Project] = {}
    roles: dict[int, set[str]] = {}
    key_users: dict[int, KeyUser] = {}
    for project, role, key_user in rows:
        projects[project.id] = project
        if role is not None:
            roles.setdefault(project.id, set()).add(role)
        if key_user is not None:
            key_users[project.id] = key_user
    return Viewer(
        user_id=user_id,
        projects=list(projects.values()),
        roles=roles,
        key_users=key_users,
        is_admin=ctx.actor_id == user_id and ctx.actor_is_admin,
    )


# A new project's next steps, in order: each is offered on the PM's Home until it is done (the
# digest's day and time are only checked, so that step stays while the project is new).
SETUP_STEPS = ("key_users", "poll", "training", "plan", "digest")


def setup_steps(ctx: Ctx, projects: list[Project]) -> dict[int, list[str]]:
    """For projects without key users (the PM's Home shows their next steps instead of rows of
    zeros): the steps still to take, in ``SETUP_STEPS`` order. One statement for them all."""
    if not projects:
        return {}

    def has(model: Any, *where: Any) -> Any:
        return exists().where(col(model.project_id) == col(Project.id), *where)

    plan = has(PlanEntry, col(PlanEntry.removed_at).is_(None))
    rows: Any = ctx.session.exec(
        select(  # type: ignore[call-overload]
            col(Project.id), has(Poll), has(TrainingModule), plan
        ).where(
            col(Project.team_id) == ctx.team_id,
            col(Project.id).in_([p.id or 0 for p in projects]),
        )
    ).all()
    steps: dict[int, list[str]] = {}
    for project_id, poll, training, plan in rows:
        done = {"poll": poll, "training": training, "plan": plan}
        steps[project_id] = [step for step in SETUP_STEPS if not done.get(step, False)]
    return steps
