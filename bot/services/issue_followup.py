"""What the scheduler finds about issues past their service levels, and acts on: owners'
reminders (and their snoozes), escalations of missed service levels, and the auto-close of
resolved issues nobody answered.

Rules only, in the caller's unit of work, like ``bot.services.issues``; ``bot.jobs.issues`` says
what follows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, any_, bindparam, case, cast, func, literal, or_
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from bot.errors import Msg, ValidationError
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.issue_levels import (
    DEFAULT_AUTO_CLOSE_DAYS,
    PRIORITIES,
    local_today,
    service_levels,
)
from bot.services.issues import (
    _OPEN,
    Change,
    _history,
    _parse_date,
    _touchpoint,
    issue_key,
    roles_of,
)
from storage.models import (
    Interaction,
    Issue,
    IssueHistory,
    IssueSettings,
    IssueStatus,
    KeyUser,
    ProcessedRequest,
    Project,
)
from storage.types import JSONType, UTCDateTime

OPEN_STATUSES = _OPEN  # what the jobs call an open issue

# ------------------------------------------------------------------- what the scheduler finds


def snooze(*, ctx: Ctx, issue_ids: list[int], until: str | date | None) -> list[Issue]:
    """The owner postpones reminders of their overdue issues until a day (not in the past);
    ``until=None`` is "tomorrow", the day after today in each issue's project."""
    day = _parse_date(until) if until is not None else None
    if until is not None and day is None:
        raise ValidationError({"until": Msg("issues.errors.date_format")})
    snoozed = []
    for issue_id in issue_ids:
        issue = ctx.get(Issue, issue_id)
        if issue is None or issue.deleted_at is not None:
            continue
        project = project_service.get_project_by_id(ctx, issue.project_id)
        today = local_today(project, ctx.now())
        wanted = day or today + timedelta(days=1)
        if wanted <= today:
            raise ValidationError({"until": Msg("issues.errors.snooze_past")})
        if issue.owner_id != ctx.actor_id and "pm" not in roles_of(
            ctx, project, issue, ctx.actor_id
        ):
            continue
        issue.snoozed_until = wanted
        ctx.session.add(issue)
        ctx.log(
            "issue.snoozed",
            project_id=project.id,
            issue=issue_key(project, issue),
            until=str(wanted),
        )
        snoozed.append(issue)
    return snoozed


def _live_with_projects(ctx: Ctx, *conditions: Any) -> Select[tuple[Issue, Project]]:
    """The workspace's issues that are not deleted, with their projects, filtered by
    ``conditions``."""
    return (
        select(Issue, Project)
        .join(Project, col(Project.id) == col(Issue.project_id))
        .where(Issue.team_id == ctx.team_id, col(Issue.deleted_at).is_(None), *conditions)
    )


def reminders_due(ctx: Ctx) -> dict[str, list[tuple[Issue, Project]]]:
    """Overdue, unsnoozed open issues with an owner, grouped by owner, most overdue first (one
    query). A snooze until a date is compared with the local day in the issue's project."""
    now = ctx.now()
    rows = ctx.session.exec(
        _live_with_projects(
            ctx,
            col(Issue.status).in_(_OPEN),
            col(Issue.owner_id).is_not(None),
            col(Issue.due_at) <= now,
        ).order_by(col(Issue.due_at), col(Issue.id))
    ).all()
    grouped: dict[str, list[tuple[Issue, Project]]] = {}
    for issue, project in rows:
        if issue.snoozed_until is not None and issue.snoozed_until > local_today(project, now):
            continue
        grouped.setdefault(issue.owner_id or "", []).append((issue, project))
    return grouped


BREACH_KINDS = ("unowned", "first_response", "resolution")
PRIORITY_RANK = {priority: rank for rank, priority in enumerate(PRIORITIES)}


# What escalating reads of an issue (``breaches`` loads these columns only).
BREACH_COLUMNS = (
    "id",
    "project_id",
    "number",
    "title",
    "priority",
    "status",
    "reporter_id",
    "owner_id",
    "due_date",
    "due_at",
    "first_response_due_at",
    "created_at",
    "channel_id",
    "message_ts",
)


_BREACH_COLUMN = {name: index for index, name in enumerate(BREACH_COLUMNS)}


@dataclass(slots=True)
class Breach:
    issue: Issue  # read-only: a row of BREACH_COLUMNS, read like an Issue
    project: Project
    kind: str  # first_response | resolution | unowned
    # When the service level was missed, and the sort key (priority, since, id): both read once
    # from the row by ``breaches``, since a first run sorts thousands (for the job, then per PM).
    since: datetime
    rank: tuple[int, datetime, int]

    def worst_first(self) -> tuple[int, datetime, int]:
        return self.rank


def _escalation_key(kind: str) -> Any:
    return literal("escalation:") + cast(Issue.id, String) + literal(f":{kind}")


def _breach_conditions(now: datetime) -> dict[str, Any]:
    past_first_response = col(Issue.first_response_due_at) <= now
    return {
        "unowned": and_(past_first_response, col(Issue.owner_id).is_(None)),
        "first_response": and_(
            past_first_response,
            col(Issue.owner_id).is_not(None),
            col(Issue.first_response_at).is_(None),
        ),
        "resolution": col(Issue.due_at) <= now,
    }


def _escalated(kind: str) -> Any:
    """The issue (of the outer query) was escalated for ``kind`` already."""
    return (
        select(ProcessedRequest.id)
        .where(
            ProcessedRequest.team_id == Issue.team_id,
            ProcessedRequest.key == _escalation_key(kind),
        )
        .exists()
    )


def unescalated_breach(now: datetime) -> Any:
    """An open issue's condition: past a service level it was not yet escalated for (what
    ``breaches`` finds, as one condition, for finding the workspaces that have any)."""
    conditions = _breach_conditions(now)
    return or_(*(and_(conditions[kind], ~_escalated(kind)) for kind in BREACH_KINDS))


def breaches(ctx: Ctx) -> list[Breach]:
    """Open issues past a service level and not yet escalated for it: first response missed,
    resolution missed, or no owner past the first-response level (which the PMs get instead of a
    first-response breach). One query per kind, whatever the number of issues; the escalations
    already made are left out in SQL (their claims in ``ProcessedRequest``)."""
    now = ctx.now()
    conditions = _breach_conditions(now)
    projects = {project.id: project for project in ctx.session.exec(ctx.select(Project)).all()}
    # Plain rows of the columns that escalating reads, not ORM objects: a first run can find
    # thousands, and loading each as an entity would be most of the job's time.
    columns = [Issue.__table__.c[name] for name in BREACH_COLUMNS]  # type: ignore[attr-defined]
    found: list[Breach] = []
    for kind in BREACH_KINDS:
        escalated = (
            select(ProcessedRequest.id)
            .where(
                ProcessedRequest.team_id == ctx.team_id,
                ProcessedRequest.key == _escalation_key(kind),
            )
            .exists()
        )
        rows = ctx.session.connection().execute(
            select(*columns)
            .where(
                Issue.team_id == ctx.team_id,
                col(Issue.deleted_at).is_(None),
                col(Issue.status).in_(_OPEN),
                conditions[kind],
                ~escalated,
            )
            .order_by(col(Issue.id))
        )
        # By position: a row's attributes are looked up by name, and there are thousands.
        since_at = _BREACH_COLUMN[("due_at" if kind == "resolution" else "first_response_due_at")]
        rank, ident, project = (_BREACH_COLUMN[name] for name in ("priority", "id", "project_id"))
        for row in rows.all():
            since = row[since_at]
            worst = (PRIORITY_RANK.get(row[rank], 9), since, row[ident])
            found.append(Breach(row, projects[row[project]], kind, since, worst))  # type: ignore[arg-type]
    return found


def _one_of(connection: Any, column: Any, ids: list[int]) -> Any:
    """``column IN ids`` with the ids as one parameter (a PostgreSQL array, a JSON array read by
    SQLite's ``json_each``): a batch of thousands is sent and parsed as one value, not thousands
    of placeholders, and the statement stays the same whatever its size (cached once)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))
    listed = func.json_each(bindparam("ids", json.dumps(list(ids)))).table_valued("value")
    return column.in_(select(listed.c.value))


def record_escalations(ctx: Ctx, found: list[Breach]) -> int:
    """Note each breach's escalation once: its claim, its history entry and the reporter's
    touchpoint are written by INSERT … SELECT from the issues, three statements per kind whatever
    the number of breaches (the ids go as one parameter). The caller found them unclaimed; a
    concurrent run that claimed one first makes the whole batch fail on the unique key and roll
    back, and the next run finds what is left."""
    if not found:
        return 0
    now = ctx.now()
    connection = ctx.session.connection()
    issues = Issue.__table__  # type: ignore[attr-defined]
    for kind in BREACH_KINDS:
        ids = [b.issue.id for b in found if b.kind == kind]
        if not ids:
            continue
        chosen = select(
            issues.c.team_id,
            issues.c.id,
            issues.c.project_id,
            issues.c.number,
            issues.c.status,
            issues.c.reporter_id,
        ).where(issues.c.team_id == ctx.team_id, _one_of(connection, issues.c.id, ids))
        rows = chosen.subquery()
        connection.execute(
            ProcessedRequest.__table__.insert().from_select(  # type: ignore[attr-defined]
                ["team_id", "key", "at"],
                select(
                    rows.c.team_id,
                    literal("escalation:") + cast(rows.c.id, String) + literal(f":{kind}"),
                    literal(now, UTCDateTime),
                ),
            )
        )
        connection.execute(
            IssueHistory.__table__.insert().from_select(  # type: ignore[attr-defined]
                ["team_id", "issue_id", "action", "from_status", "to_status", "detail", "at"],
                select(
                    rows.c.team_id,
                    rows.c.id,
                    literal("escalated"),
                    rows.c.status,
                    rows.c.status,
                    literal({"breach": kind}, JSONType),
                    literal(now, UTCDateTime),
                ),
            )
        )
        # The reporter's touchpoint, when the reporter is a key user of the project.
        key_users = KeyUser.__table__  # type: ignore[attr-defined]
        projects = Project.__table__  # type: ignore[attr-defined]
        json_object = (
            func.json_build_object if connection.dialect.name == "postgresql" else func.json_object
        )
        ref = projects.c.code + literal("-") + cast(rows.c.number, String)
        connection.execute(
            Interaction.__table__.insert().from_select(  # type: ignore[attr-defined]
                [
                    "team_id",
                    "project_id",
                    "key_user_id",
                    "kind",
                    "touchpoint",
                    "detail",
                    "at",
                ],
                select(
                    rows.c.team_id,
                    rows.c.project_id,
                    key_users.c.id,
                    literal("issue.escalated"),
                    key_users.c.id.is_not(None),
                    json_object(
                        cast(literal("issue"), String),
                        ref,
                        cast(literal("breach"), String),
                        cast(literal(kind), String),
                    ),
                    literal(now, UTCDateTime),
                )
                .select_from(rows)
                .join(projects, projects.c.id == rows.c.project_id)
                .outerjoin(
                    key_users,
                    and_(
                        key_users.c.project_id == rows.c.project_id,
                        key_users.c.user_id == rows.c.reporter_id,
                    ),
                ),
            )
        )
    return len(found)


def auto_close_due(ctx: Ctx) -> list[tuple[Issue, Project]]:
    """Resolved issues whose reporter did not answer within the project's auto-close delay: one
    query for the projects' delays, one for the issues (each project's cutoff in the WHERE)."""
    now = ctx.now()
    delays = {
        project_id: days
        for project_id, days in ctx.session.exec(
            select(IssueSettings.project_id, IssueSettings.auto_close_days).where(
                IssueSettings.team_id == ctx.team_id
            )
        ).all()
    }

    def instant(days: int) -> Any:
        return literal(now - timedelta(days=days), UTCDateTime)

    overrides = [
        (col(Issue.project_id) == project_id, instant(days))
        for project_id, days in delays.items()
        if days != DEFAULT_AUTO_CLOSE_DAYS
    ]
    default = instant(DEFAULT_AUTO_CLOSE_DAYS)
    cutoff = case(*overrides, else_=default) if overrides else default
    rows = ctx.session.exec(
        _live_with_projects(
            ctx,
            Issue.status == IssueStatus.RESOLVED,
            col(Issue.rating).is_(None),  # a rating is an answer: the PMs close those
            col(Issue.resolved_at).is_not(None),
            col(Issue.resolved_at) <= cutoff,
        ).order_by(col(Issue.id))
    ).all()
    return [(issue, project) for issue, project in rows]


def auto_close(*, ctx: Ctx, issue: Issue, project: Project) -> Change:
    """Close an unanswered resolved issue (the scheduler acts, so no person is the actor)."""
    days = service_levels(ctx, project).auto_close_days
    before = issue.status
    issue.status = IssueStatus.CLOSED
    issue.closed_at = ctx.now()
    issue.version += 1
    issue.updated_at = ctx.now()
    ctx.session.add(issue)
    entry = _history(ctx, issue, "auto_closed", before, issue.status, days=days)
    _touchpoint(ctx, project, issue, "issue.auto_closed")
    return Change(issue, project, entry, verb="auto_closed", tell_reporter=True)
