"""Key users' issues and requests: logging, the lifecycle, who may do what, rating, finding and
exporting. Service levels are in ``bot.services.issue_levels``; the reminders, escalations and
auto-close the scheduler finds, in ``bot.services.issue_followup``.

Rules only: this module changes and reads issues in the caller's unit of work. What Liaison then
says about a change (the issue message, its thread, DMs) is written to the outbox by
``bot.jobs.issues`` from the ``Change`` these functions return.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlmodel import col, or_, select

from bot.csvutil import write_csv
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import fields
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.issue_levels import (
    PRIORITIES,
    end_of_local_day,
    local_today,
    service_levels,
)
from storage.models import (
    Issue,
    IssueHistory,
    IssueSettings,
    IssueStatus,
    KeyUser,
    Project,
    ProjectMember,
    SignOff,
    SignOffIssue,
    SignOffStatus,
)
from storage.models.issues import OPEN_STATUSES

KINDS = ("issue", "request", "question", "change_request")
USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,30}$")
ISSUE_KEY_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]{1,9})-(\d{1,7})$")
TITLE_LIMIT = fields.limit(Issue.title)
DESCRIPTION_LIMIT = fields.limit(Issue.description)
MODULE_LIMIT = fields.limit(Issue.module)
TEXT_LIMIT = fields.limit(Issue.resolution)  # an update or a resolution
COMMENT_LIMIT = fields.limit(Issue.rating_comment)
LIST_FILTERS = ("open", "mine", "overdue", "all")
CSV_COLUMNS = (
    "id",
    "title",
    "kind",
    "module",
    "priority",
    "status",
    "reporter",
    "owner",
    "created_at",
    "first_response_due_at",
    "first_response_at",
    "due_date",
    "resolved_at",
    "closed_at",
    "resolution",
    "rating",
    "rating_comment",
    "description",
    "source",
)


class Verb:
    """The moves of the lifecycle and the other changes, as named in ``/issue ID <verb>``."""

    ACK = "ack"
    START = "start"
    ASSIGN = "assign"
    PRIORITY = "priority"
    DUE = "due"
    UPDATE = "update"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    DELETE = "delete"


ALL_VERBS = (
    Verb.ACK,
    Verb.START,
    Verb.ASSIGN,
    Verb.PRIORITY,
    Verb.DUE,
    Verb.UPDATE,
    Verb.RESOLVE,
    Verb.CLOSE,
    Verb.REOPEN,
    Verb.DELETE,
)
# Verbs that need something typed or picked (a modal asks for it when clicked).
VERBS_WITH_INPUT = (Verb.ASSIGN, Verb.PRIORITY, Verb.DUE, Verb.UPDATE, Verb.RESOLVE)
VERB_ALIASES = {"acknowledge": Verb.ACK, "comment": Verb.UPDATE, "note": Verb.UPDATE}

_OPEN = tuple(str(s) for s in OPEN_STATUSES)
# Which statuses each verb may start from.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    Verb.ACK: (IssueStatus.NEW, IssueStatus.REOPENED),
    Verb.START: (IssueStatus.NEW, IssueStatus.ACKNOWLEDGED, IssueStatus.REOPENED),
    Verb.ASSIGN: _OPEN,
    Verb.PRIORITY: _OPEN,
    Verb.DUE: _OPEN,
    Verb.UPDATE: (*_OPEN, IssueStatus.RESOLVED),
    Verb.RESOLVE: _OPEN,
    Verb.CLOSE: (*_OPEN, IssueStatus.RESOLVED),
    Verb.REOPEN: (IssueStatus.RESOLVED, IssueStatus.CLOSED),
    Verb.DELETE: tuple(IssueStatus),
}
# Who may use each verb: the project's PMs, its team members, the issue's owner, its reporter.
ALLOWED_ROLES: dict[str, tuple[str, ...]] = {
    Verb.ACK: ("pm", "team", "owner"),
    Verb.START: ("pm", "team", "owner"),
    Verb.ASSIGN: ("pm", "team", "owner"),
    Verb.PRIORITY: ("pm", "team", "owner"),
    Verb.DUE: ("pm", "team", "owner"),
    Verb.UPDATE: ("pm", "team", "owner", "reporter"),
    Verb.RESOLVE: ("pm", "owner"),
    Verb.CLOSE: ("pm",),
    Verb.REOPEN: ("pm", "team", "owner", "reporter"),
    Verb.DELETE: ("pm",),
}
TARGET_STATUS = {
    Verb.ACK: IssueStatus.ACKNOWLEDGED,
    Verb.START: IssueStatus.IN_PROGRESS,
    Verb.RESOLVE: IssueStatus.RESOLVED,
    Verb.CLOSE: IssueStatus.CLOSED,
    Verb.REOPEN: IssueStatus.REOPENED,
}


# ----------------------------------------------------------------------------- permissions


def roles_of(ctx: Ctx, project: Project, issue: Issue | None, user_id: str | None) -> set[str]:
    roles: set[str] = set()
    if not user_id:
        return roles
    if project_service.is_pm(ctx, project, user_id) or (
        user_id == ctx.actor_id and ctx.actor_is_admin
    ):
        roles.add("pm")
    if project_service.is_team_member(ctx, project, user_id):
        roles.add("team")
    if issue is not None and issue.owner_id == user_id:
        roles.add("owner")
    if issue is not None and issue.reporter_id == user_id:
        roles.add("reporter")
    return roles


def can_see(ctx: Ctx, project: Project, issue: Issue, user_id: str | None = None) -> bool:
    return bool(roles_of(ctx, project, issue, user_id or ctx.actor_id))


def is_key_user(ctx: Ctx, project: Project, user_id: str) -> bool:
    return (
        ctx.session.exec(
            ctx.select(KeyUser).where(
                KeyUser.project_id == project.id,
                KeyUser.user_id == user_id,
                col(KeyUser.removed_at).is_(None),
            )
        ).first()
        is not None
    )


def can_log(ctx: Ctx, project: Project, user_id: str | None = None) -> bool:
    user_id = user_id or ctx.actor_id or ""
    return bool(roles_of(ctx, project, None, user_id)) or is_key_user(ctx, project, user_id)


def refusal(ctx: Ctx, project: Project, issue: Issue, verb: str) -> Msg | None:
    """Why ``verb`` is not allowed for the acting person now, or None when it is."""
    if issue.deleted_at is not None:
        return Msg("issues.refused.deleted", ref=issue_key(project, issue))
    if issue.status not in ALLOWED_FROM[verb]:
        return Msg(
            "issues.refused.status",
            verb=Msg(f"issues.verb.{verb}"),
            ref=issue_key(project, issue),
            status=Msg(f"issues.status.{issue.status}"),
        )
    roles = roles_of(ctx, project, issue, ctx.actor_id)
    if not roles & set(ALLOWED_ROLES[verb]):
        return Msg("issues.refused.role_" + verb, ref=issue_key(project, issue))
    if verb == Verb.ACK and issue.status == IssueStatus.NEW and roles == {"reporter"}:
        return Msg("issues.refused.role_ack", ref=issue_key(project, issue))
    return None


def allowed_verbs(ctx: Ctx, project: Project, issue: Issue) -> list[str]:
    return [verb for verb in ALL_VERBS if refusal(ctx, project, issue, verb) is None]


def verbs_for_status(status: str) -> list[str]:
    """The moves the issue's state allows, whoever asks (for the buttons on its public message)."""
    return [v for v in ALL_VERBS if status in ALLOWED_FROM[v] and v != Verb.DELETE]


# ------------------------------------------------------------------------------ logging one


@dataclass
class IssueInput:
    """What a person types or picks in the issue modal, as plain values."""

    title: str = ""
    description: str = ""
    kind: str = "issue"
    module: str = ""
    priority: str = "P3"
    reporter_id: str | None = None
    owner_id: str | None = None
    due_date: str | date | None = None
    source_permalink: str | None = None


@dataclass
class Change:
    """What one service call did: the issue, the history entry, and whom to tell."""

    issue: Issue
    project: Project
    history: IssueHistory | None
    created: bool = False
    verb: str | None = None
    tell_reporter: bool = False
    notes: dict[str, Any] = field(default_factory=dict)


def issue_key(project: Project, issue: Issue) -> str:
    return f"{project.code}-{issue.number}"


def _parse_date(raw: str | date | None) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        return None


def _clean(ctx: Ctx, project: Project, data: IssueInput) -> tuple[dict[str, Any], dict[str, Msg]]:
    errors: dict[str, Msg] = {}
    title = " ".join((data.title or "").split())
    if problem := fields.required_text(title, TITLE_LIMIT):
        errors["title"] = problem
    description = (data.description or "").strip()
    if len(description) > DESCRIPTION_LIMIT:
        errors["description"] = Msg("errors.too_long", limit=DESCRIPTION_LIMIT)
    kind = (data.kind or "").strip().lower().replace(" ", "_")
    if kind not in KINDS:
        errors["kind"] = Msg("errors.choice", choices=", ".join(KINDS))
    module = (data.module or "").strip()
    if len(module) > MODULE_LIMIT:
        errors["module"] = Msg("errors.too_long", limit=MODULE_LIMIT)
    priority = (data.priority or "").strip().upper()
    if priority not in PRIORITIES:
        errors["priority"] = Msg("errors.choice", choices=", ".join(PRIORITIES))
    reporter = data.reporter_id or ctx.actor_id or ""
    if not USER_ID_RE.match(reporter):
        errors["reporter_id"] = Msg("errors.user_required")
    elif reporter != ctx.actor_id:
        # Logging on someone's behalf is for the project's PMs and team, for its key users.
        if not roles_of(ctx, project, None, ctx.actor_id):
            errors["reporter_id"] = Msg("issues.errors.on_behalf")
        elif not is_key_user(ctx, project, reporter) and not roles_of(ctx, project, None, reporter):
            errors["reporter_id"] = Msg("issues.errors.reporter_not_in_project", code=project.code)
    owner = data.owner_id or None
    if owner is not None and not USER_ID_RE.match(owner):
        errors["owner_id"] = Msg("errors.user_required")
    due: date | None = None
    if data.due_date not in (None, ""):
        due = _parse_date(data.due_date)
        if due is None:
            errors["due_date"] = Msg("issues.errors.date_format")
        elif due < local_today(project, ctx.now()):
            errors["due_date"] = Msg("issues.errors.due_past")
    values = {
        "title": title,
        "description": description or None,
        "kind": kind,
        "module": module or None,
        "priority": priority,
        "reporter_id": reporter,
        "owner_id": owner,
        "due_date": due,
    }
    return values, errors


def create_issue(*, ctx: Ctx, project: Project, data: IssueInput) -> Change:
    """Log an issue: validated whole, numbered per project, with its service-level clocks."""
    if not can_log(ctx, project):
        raise PermissionDenied(Msg("issues.errors.cannot_log", code=project.code))
    values, errors = _clean(ctx, project, data)
    if errors:
        raise ValidationError(errors)
    levels = service_levels(ctx, project)
    settings = project_service.settings_row(ctx, IssueSettings, project, lock=True)
    number = settings.next_number
    settings.next_number = number + 1
    ctx.session.add(settings)
    now = ctx.now()
    priority = values["priority"]
    due = values.pop("due_date") or local_today(project, now) + timedelta(
        days=levels.resolution_days[priority]
    )
    issue = Issue(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        number=number,
        status=IssueStatus.NEW,
        created_by=ctx.actor_id or "",
        due_date=due,
        due_at=end_of_local_day(project, due),
        first_response_due_at=now + timedelta(hours=levels.first_response_hours[priority]),
        source_permalink=(data.source_permalink or None),
        created_at=now,
        updated_at=now,
        **values,
    )
    ctx.session.add(issue)
    ctx.session.flush()
    history = _history(ctx, issue, "created", None, IssueStatus.NEW, title=issue.title)
    _touchpoint(ctx, project, issue, "issue.logged")
    link_to_acceptance(ctx, project, issue)
    return Change(issue, project, history, created=True)


def link_to_acceptance(ctx: Ctx, project: Project, issue: Issue) -> list[int]:
    """An issue logged against a module: linked to the open test acceptances (sign-offs of kind
    ``uat``) of that module in its project (one statement to find them), where a P1/P2 one blocks
    the approval until resolved. Returns the sign-off ids linked."""
    if not (issue.module or "").strip():
        return []
    found = ctx.session.exec(
        select(SignOff.id).where(
            SignOff.team_id == ctx.team_id,
            SignOff.project_id == project.id,
            SignOff.kind == "uat",
            SignOff.status == SignOffStatus.OPEN,
            func.lower(col(SignOff.module)) == issue.module.strip().lower(),
        )
    ).all()
    for ident in found:
        ctx.session.add(
            SignOffIssue(
                team_id=ctx.team_id,
                signoff_id=int(ident or 0),
                issue_id=issue.id or 0,
                linked_at=ctx.now(),
            )
        )
    if found:
        ctx.log("signoff.issue_linked", project_id=project.id, issue=issue.number, count=len(found))
    return [int(ident or 0) for ident in found]


def _history(
    ctx: Ctx,
    issue: Issue,
    action: str,
    from_status: str | None,
    to_status: str | None,
    **detail: Any,
) -> IssueHistory:
    entry = IssueHistory(
        team_id=ctx.team_id,
        issue_id=issue.id or 0,
        actor_id=ctx.actor_id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        detail=detail,
        at=ctx.now(),
    )
    ctx.session.add(entry)
    ctx.session.flush()
    return entry


def _touchpoint(ctx: Ctx, project: Project, issue: Issue, kind: str, **detail: Any) -> None:
    """An issue change is a touchpoint of the reporter (when they are a key user)."""
    key_user = ctx.session.exec(
        ctx.select(KeyUser).where(
            KeyUser.project_id == project.id, KeyUser.user_id == issue.reporter_id
        )
    ).first()
    ctx.log(
        kind,
        project_id=project.id,
        key_user_id=key_user.id if key_user else None,
        touchpoint=key_user is not None,
        issue=issue_key(project, issue),
        **detail,
    )


# ------------------------------------------------------------------------------- finding one


def get_issue(ctx: Ctx, issue_id: int) -> tuple[Issue, Project]:
    issue = ctx.get(Issue, issue_id)
    if issue is None or issue.deleted_at is not None:
        raise NotFound(Msg("issues.errors.not_found", ref=str(issue_id)))
    project = project_service.get_project_by_id(ctx, issue.project_id)
    return issue, project


def find_issue(ctx: Ctx, key: str) -> tuple[Issue, Project]:
    """An issue by its short id (``ERP-42``), if the acting person may see it."""
    match = ISSUE_KEY_RE.match((key or "").strip())
    if match is None:
        raise NotFound(Msg("issues.errors.not_found", ref=key))
    code, number = match.group(1).upper(), int(match.group(2))
    project = ctx.session.exec(ctx.select(Project).where(Project.code == code)).first()
    if project is None:
        raise NotFound(Msg("issues.errors.not_found", ref=key.upper()))
    issue = ctx.session.exec(
        ctx.select(Issue).where(Issue.project_id == project.id, Issue.number == number)
    ).first()
    if issue is None or issue.deleted_at is not None or not can_see(ctx, project, issue):
        raise NotFound(Msg("issues.errors.not_found", ref=key.upper()))
    return issue, project


# --------------------------------------------------------------------------------- changes


def apply(
    *,
    ctx: Ctx,
    issue: Issue,
    project: Project,
    verb: str,
    text: str = "",
    owner_id: str | None = None,
    priority: str | None = None,
    due_date: str | date | None = None,
    expected_version: int | None = None,
) -> Change | None:
    """Make one change; returns None when it was already made (a double click or a retry).

    ``expected_version`` comes from the button clicked: a click on an outdated message is refused
    unless the same change was already made by that very click.
    """
    verb = VERB_ALIASES.get(verb, verb)
    if verb not in ALL_VERBS:
        raise ValidationError({"verb": Msg("issues.errors.unknown_verb", verb=verb)})
    if expected_version is not None:
        if not ctx.claim(f"issue:{issue.id}:v{expected_version}:{verb}"):
            return None
        if expected_version != issue.version:
            raise PermissionDenied(Msg("issues.refused.outdated", ref=issue_key(project, issue)))
    reason = refusal(ctx, project, issue, verb)
    if reason is not None:
        raise PermissionDenied(reason)
    now = ctx.now()
    before = issue.status
    detail: dict[str, Any] = {}
    text = (text or "").strip()
    if verb == Verb.ASSIGN:
        if not owner_id or not USER_ID_RE.match(owner_id):
            raise ValidationError({"owner_id": Msg("errors.user_required")})
        if owner_id == issue.owner_id:
            raise ValidationError(
                {"owner_id": Msg("issues.errors.same_owner", ref=issue_key(project, issue))}
            )
        detail = {"previous": issue.owner_id, "owner": owner_id}
        issue.owner_id = owner_id
    elif verb == Verb.PRIORITY:
        wanted = (priority or "").strip().upper()
        if wanted not in PRIORITIES:
            raise ValidationError({"priority": Msg("errors.choice", choices=", ".join(PRIORITIES))})
        if wanted == issue.priority:
            raise ValidationError({"priority": Msg("issues.errors.same_priority")})
        levels = service_levels(ctx, project)
        detail = {"previous": issue.priority, "priority": wanted}
        issue.priority = wanted
        issue.first_response_due_at = issue.created_at + timedelta(
            hours=levels.first_response_hours[wanted]
        )
    elif verb == Verb.DUE:
        day = _parse_date(due_date)
        if day is None:
            raise ValidationError({"due_date": Msg("issues.errors.date_format")})
        if day < local_today(project, now):
            raise ValidationError({"due_date": Msg("issues.errors.due_past")})
        detail = {"previous": issue.due_date.isoformat(), "due": day.isoformat()}
        issue.due_date = day
        issue.due_at = end_of_local_day(project, day)
        issue.snoozed_until = None
    elif verb in (Verb.UPDATE, Verb.RESOLVE):
        field_name = "text" if verb == Verb.UPDATE else "resolution"
        if not text:
            raise ValidationError({field_name: Msg("errors.required")})
        if len(text) > TEXT_LIMIT:
            raise ValidationError({field_name: Msg("errors.too_long", limit=TEXT_LIMIT)})
        detail = {"text": text}
        if (
            verb == Verb.UPDATE
            and issue.status == IssueStatus.ACKNOWLEDGED
            and (ctx.actor_id != issue.reporter_id)
        ):
            # Someone working on it and saying so: the issue is in progress.
            issue.status = IssueStatus.IN_PROGRESS
        if verb == Verb.RESOLVE:
            issue.resolution = text
            issue.resolved_at = now
    elif verb == Verb.CLOSE:
        issue.closed_at = now
        if text:
            detail = {"text": text}
    elif verb == Verb.REOPEN:
        issue.resolved_at = None
        issue.closed_at = None
        issue.snoozed_until = None
        if text:
            detail = {"text": text}
    elif verb == Verb.DELETE:
        issue.deleted_at = now
    if verb in TARGET_STATUS:
        issue.status = TARGET_STATUS[verb]
    if (
        issue.first_response_at is None
        and verb in (Verb.ACK, Verb.START, Verb.UPDATE, Verb.RESOLVE)
        and ctx.actor_id != issue.reporter_id
    ):
        issue.first_response_at = now
    issue.version += 1
    issue.updated_at = now
    ctx.session.add(issue)
    history = _history(ctx, issue, verb, before, issue.status, **detail)
    _touchpoint(ctx, project, issue, f"issue.{verb}")
    return Change(
        issue,
        project,
        history,
        verb=verb,
        tell_reporter=ctx.actor_id != issue.reporter_id and verb != Verb.DELETE,
    )


def rate(
    *, ctx: Ctx, issue: Issue, project: Project, rating: int, comment: str = ""
) -> Change | None:
    """The reporter rates a resolution 1–5; None when the same rating was already stored."""
    if ctx.actor_id != issue.reporter_id:
        raise PermissionDenied(
            Msg("issues.refused.rate_not_reporter", ref=issue_key(project, issue))
        )
    if issue.status not in (IssueStatus.RESOLVED, IssueStatus.CLOSED):
        raise PermissionDenied(
            Msg(
                "issues.refused.rate_status",
                ref=issue_key(project, issue),
                status=Msg(f"issues.status.{issue.status}"),
            )
        )
    if not 1 <= int(rating) <= 5:
        raise ValidationError({"rating": Msg("issues.errors.rating_range")})
    comment = (comment or "").strip()
    if len(comment) > COMMENT_LIMIT:
        raise ValidationError({"comment": Msg("errors.too_long", limit=COMMENT_LIMIT)})
    if issue.rating == int(rating) and (not comment or comment == issue.rating_comment):
        return None
    issue.rating = int(rating)
    if comment:
        issue.rating_comment = comment
    issue.rated_at = ctx.now()
    issue.version += 1
    issue.updated_at = ctx.now()
    ctx.session.add(issue)
    history = _history(
        ctx, issue, "rated", issue.status, issue.status, rating=issue.rating, comment=comment
    )
    _touchpoint(ctx, project, issue, "issue.rated", rating=issue.rating)
    return Change(issue, project, history, verb="rated")


def history(ctx: Ctx, issue: Issue) -> list[IssueHistory]:
    return list(
        ctx.session.exec(
            ctx.select(IssueHistory)
            .where(IssueHistory.issue_id == issue.id)
            .order_by(col(IssueHistory.id))
        ).all()
    )


# --------------------------------------------------------------------------- lists and export


@dataclass
class ListQuery:
    scope: str = "open"  # open | mine | overdue | all
    module: str | None = None
    code: str | None = None
    status: str | None = None


def parse_list_query(words: list[str]) -> ListQuery:
    query = ListQuery()
    for word in words:
        lower = word.lower()
        if lower in LIST_FILTERS:
            query.scope = lower
        elif lower.startswith("module:") and len(word) > 7:
            query.module = word[7:]
        elif lower.startswith("project:") and len(word) > 8:
            query.code = word[8:].upper()
        elif lower.startswith("status:") and lower[7:] in tuple(IssueStatus):
            query.status = lower[7:]
        else:
            raise ValidationError({"filter": Msg("issues.errors.list_filter", word=word)})
    return query


def is_overdue(issue: Issue, now: datetime) -> bool:
    return issue.status in _OPEN and issue.due_at <= now


@dataclass
class IssuePage:
    """One page of a list: the issues shown, how many match in all, and which page it is."""

    items: list[tuple[Issue, Project]]
    total: int
    page: int
    pages: int


def visible_project_ids(ctx: Ctx, user_id: str) -> list[int] | None:
    """Projects whose every issue ``user_id`` may see (PM or team); None: all (a workspace admin
    acting for themselves)."""
    if user_id == ctx.actor_id and ctx.actor_is_admin:
        return None
    rows = ctx.session.exec(
        select(ProjectMember.project_id)
        .where(ProjectMember.team_id == ctx.team_id, ProjectMember.user_id == user_id)
        .distinct()
    ).all()
    return sorted(int(row) for row in rows)


def list_issues(ctx: Ctx, query: ListQuery, *, page: int = 1, page_size: int = 15) -> IssuePage:
    """The issues the acting person may see that match ``query``, most urgent first, one page at
    a time: filtered, counted, ordered and cut in SQL."""
    user = ctx.actor_id or ""
    now = ctx.now()
    conditions: list[Any] = [Issue.team_id == ctx.team_id, col(Issue.deleted_at).is_(None)]
    if query.code:
        conditions.append(Issue.project_id == project_service.get_project(ctx, query.code).id)
    mine = or_(col(Issue.reporter_id) == user, col(Issue.owner_id) == user)
    visible = visible_project_ids(ctx, user)
    if visible is not None:
        # Outside their own projects' teams, people see the issues they reported or own.
        conditions.append(or_(col(Issue.project_id).in_(visible), mine) if visible else mine)
    if query.scope == "mine":
        conditions.append(mine)
    if query.scope in ("open", "mine", "overdue") and not query.status:
        conditions.append(col(Issue.status).in_(_OPEN))
    if query.status:
        conditions.append(Issue.status == query.status)
    if query.module:
        conditions.append(func.lower(col(Issue.module)) == query.module.lower())
    if query.scope == "overdue":
        conditions.append(col(Issue.due_at) <= now)
    total = ctx.session.exec(select(func.count()).select_from(Issue).where(*conditions)).one()
    pages = max(1, -(-int(total) // page_size))
    page = min(max(page, 1), pages)
    closed_last = case((col(Issue.status).in_(_OPEN), 0), else_=1)
    rows = ctx.session.exec(
        select(Issue, Project)
        .join(Project, col(Project.id) == col(Issue.project_id))
        .where(*conditions)
        .order_by(closed_last, col(Issue.due_at), col(Issue.priority), col(Issue.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return IssuePage([(issue, project) for issue, project in rows], int(total), page, pages)


def open_issues_of(
    ctx: Ctx, user_id: str, *, page: int = 0, page_size: int = 5
) -> tuple[list[tuple[Issue, Project]], int, int]:
    """One page of the open (and resolved, not yet closed) issues someone reported or owns across
    the workspace's projects, soonest due first: (the page's issues with their project, how many
    there are in all, the page shown). One statement; a page past the end (issues closed since the
    button was drawn) shows the last page."""
    mine = (
        select(Issue, func.count().over().label("total"))
        .where(
            col(Issue.team_id) == ctx.team_id,
            col(Issue.deleted_at).is_(None),
            col(Issue.status).in_((*_OPEN, IssueStatus.RESOLVED)),
            or_(col(Issue.reporter_id) == user_id, col(Issue.owner_id) == user_id),
        )
        .order_by(col(Issue.due_at), col(Issue.id))
    )
    page = max(page, 0)
    rows = ctx.session.exec(mine.offset(page * page_size).limit(page_size)).all()  # type: ignore[call-overload]
    if not rows and page:
        total = ctx.session.exec(
            select(func.count()).select_from(mine.with_only_columns(col(Issue.id)).subquery())
        ).one()
        if not total:
            return [], 0, 0
        return open_issues_of(ctx, user_id, page=(total - 1) // page_size, page_size=page_size)
    items = [(issue, project_service.get_project_by_id(ctx, issue.project_id)) for issue, _ in rows]
    return items, (rows[0][1] if rows else 0), page


def export_csv(ctx: Ctx, project: Project) -> str:
    """Every issue of a project as CSV (PMs and team); cells are escaped against formulas."""
    if not roles_of(ctx, project, None, ctx.actor_id) & {"pm", "team"}:
        raise PermissionDenied(Msg("issues.errors.export_denied", code=project.code))
    rows = ctx.session.exec(
        ctx.select(Issue)
        .where(Issue.project_id == project.id, col(Issue.deleted_at).is_(None))
        .order_by(col(Issue.number))
    ).all()

    def stamp(value: datetime | None) -> str:
        return (
            value.astimezone(ZoneInfo(project.timezone)).isoformat(timespec="minutes")
            if (value)
            else ""
        )

    lines = [
        (
            issue_key(project, issue),
            issue.title,
            issue.kind,
            issue.module or "",
            issue.priority,
            issue.status,
            issue.reporter_id,
            issue.owner_id or "",
            stamp(issue.created_at),
            stamp(issue.first_response_due_at),
            stamp(issue.first_response_at),
            issue.due_date.isoformat(),
            stamp(issue.resolved_at),
            stamp(issue.closed_at),
            issue.resolution or "",
            issue.rating or "",
            issue.rating_comment or "",
            issue.description or "",
            issue.source_permalink or "",
        )
        for issue in rows
    ]
    ctx.log("issue.exported", project_id=project.id, rows=len(lines))
    return write_csv(CSV_COLUMNS, lines)
