"""End users' readiness per module and department, in one statement.

An end user is ready in their module when they attended (present or late) at least 80 % of the
module's planned hours: the key users' attendance rule (``training_readiness.attendance_met``, in
SQL ``attendance_sql``), the one definition. Hours come from their Slack invitations
(``training_sessions.attended_hours_query``) and, for those without Slack, from the roll call's
marks by name (``EndUserAttendance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, union_all
from sqlmodel import col, select

from bot.services.context import Ctx
from bot.services.end_users import scope
from bot.services.training_readiness import attendance_sql
from bot.services.training_sessions import attended_hours_query
from storage.models import (
    ATTENDED,
    CalendarEvent,
    EndUser,
    EndUserAttendance,
    EventStatus,
    Project,
    TrainingModule,
    TrainingSession,
)


@dataclass
class Cell:
    module_id: int
    module: str
    department: str
    end_users: int
    ready: int

    @property
    def share(self) -> float | None:
        return self.ready / self.end_users if self.end_users else None


def hours_query(ctx: Ctx, project_id: int) -> Any:
    """(end_user_id, hours) attended at sessions of each end user's module, present or late:
    Slack users through their invitations, the others through the roll call's marks."""
    slack = attended_hours_query(ctx, project_id).subquery()
    by_slack = select(col(EndUser.id).label("end_user_id"), slack.c.hours.label("hours")).join(
        slack,
        and_(slack.c.user_id == col(EndUser.user_id), slack.c.module_id == col(EndUser.module_id)),
    )
    by_name = (
        select(
            col(EndUserAttendance.end_user_id).label("end_user_id"),
            col(TrainingSession.hours).label("hours"),
        )
        .join(TrainingSession, col(TrainingSession.event_id) == col(EndUserAttendance.event_id))
        .join(CalendarEvent, col(CalendarEvent.id) == col(EndUserAttendance.event_id))
        .join(EndUser, col(EndUser.id) == col(EndUserAttendance.end_user_id))
        .where(
            EndUserAttendance.team_id == ctx.team_id,
            TrainingSession.project_id == project_id,
            TrainingSession.module_id == col(EndUser.module_id),
            CalendarEvent.status == EventStatus.SCHEDULED,
            col(EndUserAttendance.attendance).in_(list(ATTENDED)),
        )
    )
    both = union_all(by_slack.where(EndUser.project_id == project_id), by_name).subquery()
    return select(both.c.end_user_id, func.sum(both.c.hours).label("hours")).group_by(
        both.c.end_user_id
    )


def readiness_query(ctx: Ctx, project_id: int, key_user_id: int | None = None) -> Any:
    """One statement: per module and department, the active end users and how many are ready."""
    hours = hours_query(ctx, project_id).subquery()
    attended = func.coalesce(hours.c.hours, literal(0.0))
    ready = case((attendance_sql(TrainingModule, attended), 1), else_=0)
    query = (
        select(
            col(TrainingModule.id),
            col(TrainingModule.name),
            col(EndUser.department),
            func.count(col(EndUser.id)),
            func.sum(ready),
        )
        .join(TrainingModule, col(TrainingModule.id) == col(EndUser.module_id))
        .join(hours, hours.c.end_user_id == col(EndUser.id), isouter=True)
        .where(
            EndUser.team_id == ctx.team_id,
            EndUser.project_id == project_id,
            col(EndUser.removed_at).is_(None),
        )
        .group_by(
            col(TrainingModule.id),
            col(TrainingModule.name),
            col(TrainingModule.position),
            col(EndUser.department),
        )
        .order_by(col(TrainingModule.position), col(TrainingModule.id), col(EndUser.department))
    )
    if key_user_id is not None:
        query = query.where(EndUser.key_user_id == key_user_id)
    return query


def readiness(ctx: Ctx, project: Project, key_user_id: int | None = None) -> list[Cell]:
    """End-user readiness per module × department (no right checked: callers check)."""
    return [
        Cell(module_id, module, department, int(count), int(ready or 0))
        for module_id, module, department, count, ready in ctx.session.exec(
            readiness_query(ctx, project.id or 0, key_user_id)
        ).all()
    ]


def readiness_for(ctx: Ctx, project: Project) -> list[Cell]:
    """What the acting person sees: every end user's (PMs, team), their own end users' (a key
    user); anyone else is refused."""
    responsible = scope(ctx, project)
    return readiness(ctx, project, responsible.id if responsible else None)
