"""Sign-offs: a project's formal acceptance of a blueprint, a module's test acceptance (UAT), a
document, a phase exit or go-live. The team names what is signed (a text or a link), who signs
(people, roles of the key-user register, the module's key users), the rule (every signer, any
one, or a named person) and a due date; the signatures are the shared approvals' answers
(``bot.services.approvals``, subject kind ``signoff``): Approve, Approve with remarks, Reject
(with a reason). Every answer is kept with the version it was given about; a new version
(new text or link) is put to the signers again, the earlier answers stay in the trail.

A module's test acceptance links the issues logged against its module while it is open; a P1 or
P2 one blocks it until resolved (an approval is refused in words naming the issues).

Who sees what: the PMs and team every sign-off; anyone else those they created, are asked to
sign, or that concern their module.

Rules only: messages are built by ``bot.views.signoffs`` and queued by ``bot.jobs.signoffs``,
which is also the sign-offs' part in the shared approvals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, func, or_
from sqlmodel import col, select

from bot.csvutil import write_csv
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import approvals, fields, records
from bot.services import issues as issue_service
from bot.services import keyusers as keyuser_service
from bot.services import projects as project_service
from bot.services.context import Ctx
from storage.models import (
    Approval,
    ApprovalDecider,
    Issue,
    IssueStatus,
    KeyUser,
    Project,
    SignOff,
    SignOffIssue,
    SignOffSettings,
    SignOffStatus,
    SignOffVersion,
)
from storage.models.core import MemberRole

# Who runs a project's registers, and the person's own register row (one rule for every domain).
is_team = project_service.is_team
key_user_of = keyuser_service.key_user_of

KIND = "signoff"
KINDS = ("blueprint", "uat", "document", "phase_exit", "go_live")
RULES = ("all", "any", "named")
LIST_FILTERS = ("open", "all", "mine")
BLOCKING_PRIORITIES = ("P1", "P2")
DONE_ISSUE_STATUSES = (IssueStatus.RESOLVED, IssueStatus.CLOSED)
# What a signer may answer, in the order of the DM's buttons.
ANSWERS = ("approve", "remarks", "reject")
TITLE_LIMIT = fields.limit(SignOff.title)
TEXT_LIMIT = fields.limit(SignOffVersion.text)
LINK_LIMIT = fields.limit(SignOffVersion.link)
MODULE_LIMIT = fields.limit(SignOff.module)
LINK_RE = re.compile(r"^https?://\S+$")
CSV_COLUMNS = (
    "signoff",
    "title",
    "kind",
    "version",
    "signer",
    "signer_name",
    "at",
    "answer",
    "comment",
)


def ref(signoff: SignOff) -> str:
    """How a sign-off is named to people: its per-project number, as `/signoff 3` takes it."""
    return f"#{signoff.number}"


def local_time(project: Project, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(project.timezone))


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip().lower() == (b or "").strip().lower() != ""


# ----------------------------------------------------------------------------- who may


def _require_team(ctx: Ctx, project: Project) -> None:
    if not is_team(ctx, project):
        raise PermissionDenied(Msg("signoff.errors.not_team", code=project.code))


def _asked(ctx: Ctx, signoff: SignOff, user_id: str) -> bool:
    return approvals.was_asked(ctx, KIND, signoff.id, user_id)


def can_see(ctx: Ctx, project: Project, signoff: SignOff) -> bool:
    user = ctx.actor_id or ""
    if is_team(ctx, project) or user == signoff.created_by or user in signoff.signers:
        return True
    own = key_user_of(ctx, project, user)
    if own is not None and signoff.module and _same(own.module, signoff.module):
        return True
    return _asked(ctx, signoff, user)


def can_list(ctx: Ctx, project: Project) -> bool:
    """The PMs, team and key users list a project's sign-offs (each what they may see)."""
    return is_team(ctx, project) or key_user_of(ctx, project, ctx.actor_id) is not None


# ------------------------------------------------------------------------------ creating


@dataclass
class SignOffInput:
    """What a person types or picks in the sign-off form, as plain values."""

    kind: str = ""
    title: str = ""
    text: str = ""
    link: str = ""
    module: str = ""
    people: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    module_key_users: bool = False
    rule: str = "all"
    named: str | None = None
    due_on: Any = None


@dataclass
class Done:
    """What one service call did: the sign-off, its project, the approval asked, the outbox keys
    of the messages queued."""

    signoff: SignOff
    project: Project
    approval: Approval | None = None
    keys: list[str] = field(default_factory=list)


def _text(raw: Any, limit: int, name: str, errors: dict[str, Msg], *, required: bool) -> str:
    text = (raw or "").strip()
    if required and not text:
        errors[name] = Msg("errors.required")
    elif len(text) > limit:
        errors[name] = Msg("errors.too_long", limit=limit)
    return text


def _content(data_text: Any, data_link: Any, errors: dict[str, Msg]) -> tuple[str, str]:
    text = _text(data_text, TEXT_LIMIT, "text", errors, required=False)
    link = _text(data_link, LINK_LIMIT, "link", errors, required=False)
    if link and "link" not in errors and not LINK_RE.match(link):
        errors["link"] = Msg("signoff.errors.link")
    if not text and not link and "text" not in errors:
        errors["text"] = Msg("signoff.errors.text_or_link")
    return text, link


def signers_of(
    ctx: Ctx, project: Project, people: list[str], roles: list[str], module: str | None
) -> list[str]:
    """The people named, then the register's key users of the roles named and of ``module``
    (when given), each once: one statement for the register."""
    found = list(dict.fromkeys(p for p in people if p))
    wanted: list[Any] = []
    if roles:
        wanted.append(col(KeyUser.role).in_(roles))
    if module:
        wanted.append(func.lower(col(KeyUser.module)) == module.strip().lower())
    if wanted:
        rows = ctx.session.exec(
            select(KeyUser.user_id)
            .where(
                KeyUser.team_id == ctx.team_id,
                KeyUser.project_id == project.id,
                col(KeyUser.removed_at).is_(None),
                or_(*wanted),
            )
            .order_by(col(KeyUser.id))
        ).all()
        found += [str(person) for person in rows if person not in found]
    return found


def _in_project(ctx: Ctx, project: Project, people: list[str]) -> list[str]:
    """Those of ``people`` who are neither in the team nor in the register (two statements)."""
    if not people:
        return []
    team = set(project_service.member_ids(ctx, project, MemberRole.TEAM))
    team |= set(project_service.pm_ids(ctx, project))
    registered = {
        str(person)
        for person in ctx.session.exec(
            select(KeyUser.user_id).where(
                KeyUser.team_id == ctx.team_id,
                KeyUser.project_id == project.id,
                col(KeyUser.removed_at).is_(None),
                col(KeyUser.user_id).in_(people),
            )
        ).all()
    }
    return [p for p in people if p not in team and p not in registered]


def _clean(ctx: Ctx, project: Project, data: SignOffInput) -> dict[str, Any]:
    errors: dict[str, Msg] = {}
    if data.kind not in KINDS:
        errors["kind"] = Msg("errors.choice", choices=", ".join(KINDS))
    title = " ".join(_text(data.title, TITLE_LIMIT, "title", errors, required=True).split())
    text, link = _content(data.text, data.link, errors)
    module = _text(data.module, MODULE_LIMIT, "module", errors, required=data.kind == "uat")
    roles = [r for r in dict.fromkeys(data.roles or []) if r]
    if any(r not in keyuser_service.ROLES for r in roles):
        errors["roles"] = Msg("errors.choice", choices=", ".join(keyuser_service.ROLES))
    people = [p for p in dict.fromkeys(data.people or []) if p]
    if any(not issue_service.USER_ID_RE.match(p) for p in people):
        errors["people"] = Msg("errors.user_required")
    elif _in_project(ctx, project, people):
        errors["people"] = Msg("signoff.errors.not_in_project", code=project.code)
    by_module = module if (data.module_key_users or data.kind == "uat") and module else None
    signers = signers_of(ctx, project, people, roles, by_module) if not errors else []
    if not errors and not signers:
        errors["people"] = Msg("signoff.errors.no_signers")
    elif len(signers) > approvals.MAX_DECIDERS:
        errors["people"] = Msg("approvals.errors.too_many", limit=approvals.MAX_DECIDERS)
    rule = data.rule or "all"
    if rule not in RULES:
        errors["rule"] = Msg("errors.choice", choices=", ".join(RULES))
    named = data.named or None
    if rule == "named":
        if not named:
            errors["named"] = Msg("signoff.errors.named_required")
        elif signers and named not in signers:
            errors["named"] = Msg("signoff.errors.named_not_signer")
    else:
        named = None
    due_on = None
    if data.due_on:
        try:
            due_on = date.fromisoformat(str(data.due_on).strip())
        except ValueError:
            errors["due_on"] = Msg("signoff.errors.date")
        else:
            if due_on < local_time(project, ctx.now()).date():
                errors["due_on"] = Msg("signoff.errors.due_past")
    if errors:
        raise ValidationError(errors)
    return {
        "kind": data.kind,
        "title": title,
        "text": text,
        "link": link,
        "module": module or None,
        "signers": signers,
        "rule": rule,
        "named_id": named,
        "due_on": due_on,
    }


Render = Callable[[Approval, approvals.Summary], dict[str, Any]]


def _ask(ctx: Ctx, signoff: SignOff, project: Project, render: Render) -> Done:
    approval, keys = approvals.ask(
        ctx=ctx,
        subject_kind=KIND,
        subject_id=signoff.id or 0,
        version=signoff.version,
        project=project,
        deciders=signoff.signers,
        rule=signoff.rule,
        named_id=signoff.named_id,
        render=render,
    )
    return Done(signoff, project, approval, keys)


def _add_version(
    ctx: Ctx, signoff: SignOff, project: Project, text: str, link: str
) -> SignOffVersion:
    """A version's text and link; a go-live sign-off's also keeps the go-live gate as it stands
    now, what its signers sign (later changes to the data do not change it)."""
    from bot.services import golive

    row = SignOffVersion(
        team_id=ctx.team_id,
        signoff_id=signoff.id or 0,
        version=signoff.version,
        text=text or None,
        link=link or None,
        gate=golive.compute(ctx, project).snapshot() if signoff.kind == "go_live" else None,
        created_by=ctx.actor_id or "",
        created_at=ctx.now(),
    )
    ctx.session.add(row)
    return row


def create(*, ctx: Ctx, project: Project, data: SignOffInput, render: Render) -> Done:
    """A new sign-off (PMs and team), numbered per project, put to its signers at once."""
    _require_team(ctx, project)
    values = _clean(ctx, project, data)
    text, link = values.pop("text"), values.pop("link")
    settings = project_service.settings_row(ctx, SignOffSettings, project, lock=True)
    number = settings.next_number
    settings.next_number = number + 1
    ctx.session.add(settings)
    now = ctx.now()
    signoff = SignOff(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        number=number,
        status=SignOffStatus.OPEN,
        version=1,
        created_by=ctx.actor_id or "",
        created_at=now,
        updated_at=now,
        **values,
    )
    ctx.session.add(signoff)
    ctx.session.flush()
    _add_version(ctx, signoff, project, text, link)
    ctx.log("signoff.created", project_id=project.id, signoff=number, what=signoff.kind)
    return _ask(ctx, signoff, project, render)


def new_version(
    *, ctx: Ctx, signoff: SignOff, project: Project, text: Any, link: Any, render: Render
) -> Done:
    """A new text or link (PMs and team): the sign-off starts again at the next version; the
    earlier answers stay, about their version. A signed sign-off is not changed."""
    _require_team(ctx, project)
    if signoff.status == SignOffStatus.APPROVED:
        raise ValidationError({"text": Msg("signoff.errors.signed", ref=ref(signoff))})
    errors: dict[str, Msg] = {}
    text, link = _content(text, link, errors)
    if errors:
        raise ValidationError(errors)
    signoff.version += 1
    signoff.status = SignOffStatus.OPEN
    signoff.updated_at = ctx.now()
    ctx.session.add(signoff)
    _add_version(ctx, signoff, project, text, link)
    ctx.log("signoff.new_version", project_id=project.id, signoff=signoff.number)
    return _ask(ctx, signoff, project, render)


# ------------------------------------------------------------------ the approvals' subject


def current_version(ctx: Ctx, signoff_id: int) -> int | None:
    """The version awaiting signatures: the sign-off's, while it is open."""
    signoff = ctx.get(SignOff, signoff_id)
    if signoff is None or signoff.status != SignOffStatus.OPEN:
        return None
    return signoff.version


def of_approvals(ctx: Ctx, asked: list[Approval]) -> dict[int, tuple[SignOff, Project]]:
    """The sign-off and project of each approval, by approval id (one query)."""
    return approvals.subjects_of(ctx, asked, SignOff)


def versions_of(ctx: Ctx, signoff_ids: list[int]) -> dict[tuple[int, int], SignOffVersion]:
    """The text and link of each version of the sign-offs, by (sign-off id, version)."""
    rows = ctx.session.exec(
        ctx.select(SignOffVersion).where(col(SignOffVersion.signoff_id).in_(signoff_ids or [0]))
    ).all()
    return {(row.signoff_id, row.version): row for row in rows}


def record_answer(ctx: Ctx, answered: approvals.Answered) -> tuple[SignOff, Project]:
    """An outcome closes the sign-off: approved or rejected."""
    approval = answered.approval
    signoff = ctx.get(SignOff, approval.subject_id)
    assert signoff is not None
    project = project_service.get_project_by_id(ctx, signoff.project_id)
    if answered.outcome is not None:
        signoff.status = answered.outcome
        signoff.updated_at = ctx.now()
        ctx.session.add(signoff)
        ctx.log(
            "signoff.decided", project_id=project.id, signoff=signoff.number, outcome=signoff.status
        )
    return signoff, project


def blocked(ctx: Ctx, approval: Approval) -> Msg | None:
    """A module's test acceptance with open P1 or P2 issues linked: approving waits."""
    found = blocking(ctx, [approval.subject_id]).get(approval.subject_id)
    if not found:
        return None
    signoff = ctx.get(SignOff, approval.subject_id)
    project = project_service.get_project_by_id(ctx, approval.project_id)
    keys = ", ".join(issue_service.issue_key(project, issue) for issue in found)
    return Msg("signoff.errors.blocked", ref=ref(signoff) if signoff else "", issues=keys)


# ------------------------------------------------------------------------- linked issues


def linked_issues(ctx: Ctx, signoff_ids: list[int]) -> dict[int, list[Issue]]:
    """The issues linked to each sign-off, by number (one statement)."""
    rows = ctx.session.exec(
        select(SignOffIssue.signoff_id, Issue)
        .join(Issue, col(Issue.id) == col(SignOffIssue.issue_id))
        .where(
            SignOffIssue.team_id == ctx.team_id,
            col(SignOffIssue.signoff_id).in_(signoff_ids or [0]),
        )
        .order_by(col(Issue.number))
    ).all()
    found: dict[int, list[Issue]] = {}
    for ident, issue in rows:
        found.setdefault(int(ident), []).append(issue)
    return found


def is_blocking(issue: Issue) -> bool:
    return issue.priority in BLOCKING_PRIORITIES and issue.status not in DONE_ISSUE_STATUSES


def blocking(ctx: Ctx, signoff_ids: list[int]) -> dict[int, list[Issue]]:
    """The linked P1 and P2 issues not yet resolved, of each sign-off (one statement)."""
    return {
        ident: [i for i in issues if is_blocking(i)]
        for ident, issues in linked_issues(ctx, signoff_ids).items()
        if any(is_blocking(i) for i in issues)
    }


# ------------------------------------------------------------------------------ finding


def get_signoff(ctx: Ctx, signoff_id: Any) -> tuple[SignOff, Project]:
    """A sign-off by its id (from a button or a form), if the acting person may see it."""
    ident = fields.record_id(signoff_id)
    signoff = ctx.get(SignOff, ident) if ident else None
    project = project_service.get_project_by_id(ctx, signoff.project_id) if signoff else None
    if signoff is None or project is None or not can_see(ctx, project, signoff):
        raise NotFound(Msg("signoff.errors.not_found", id=str(signoff_id)[:20]))
    return signoff, project


def find(ctx: Ctx, project: Project, number: Any) -> SignOff:
    """A sign-off by its number in a project ("3" or "#3"), if the acting person may see it."""
    return records.by_number(ctx, SignOff, project, number, can_see, "signoff.errors.not_found")


@dataclass
class TrailEntry:
    """One answer of the trail: the version it was about, who, when, what, the comment."""

    version: int
    user_id: str
    at: datetime
    answer: str  # approve, remarks, reject, question
    comment: str | None


def trail(ctx: Ctx, signoff: SignOff) -> list[TrailEntry]:
    """Every answer ever given about the sign-off, every version, oldest first (one query)."""
    return [
        TrailEntry(
            row.version,
            row.user_id,
            row.at,
            "remarks" if row.remarks else row.answer,
            row.comment,
        )
        for _, row in approvals.history(ctx, KIND, signoff.id or 0)
    ]


@dataclass
class Detail:
    """Everything a sign-off's view shows."""

    signoff: SignOff
    project: Project
    version: SignOffVersion | None
    standing: approvals.Standing | None
    trail: list[TrailEntry]
    issues: list[Issue]
    can_manage: bool

    @property
    def blocking(self) -> list[Issue]:
        return [issue for issue in self.issues if is_blocking(issue)]


def detail(ctx: Ctx, signoff: SignOff, project: Project) -> Detail:
    approval = approvals.latest(ctx, KIND, signoff.id or 0)
    standing = approvals.standing(ctx, approval) if approval is not None else None
    versions = versions_of(ctx, [signoff.id or 0])
    return Detail(
        signoff,
        project,
        versions.get((signoff.id or 0, signoff.version)),
        standing,
        trail(ctx, signoff),
        linked_issues(ctx, [signoff.id or 0]).get(signoff.id or 0, []),
        is_team(ctx, project),
    )


# ------------------------------------------------------------------------- lists and export


@dataclass
class Page:
    project: Project
    items: list[SignOff]
    total: int
    page: int
    pages: int
    scope: str


def _needle(user_id: str) -> str:
    """A LIKE pattern finding ``user_id`` as one element of a JSON list (ids hold no LIKE
    characters: they match ``USER_ID_RE``)."""
    return "%" + json.dumps(user_id) + "%"


def concerning(user_id: str, module: str | None) -> Any:
    """The sign-offs that concern a person: they created it, are (or were) asked to sign it, or
    it is about their module."""
    asked = (
        select(Approval.subject_id)
        .join(ApprovalDecider, col(ApprovalDecider.approval_id) == col(Approval.id))
        .where(Approval.subject_kind == KIND, ApprovalDecider.user_id == user_id)
    )
    mine = [
        col(SignOff.created_by) == user_id,
        cast(SignOff.signers, String).like(_needle(user_id)),
        col(SignOff.id).in_(asked),
    ]
    if module and module.strip():
        mine.append(func.lower(col(SignOff.module)) == module.strip().lower())
    return or_(*mine)


def list_signoffs(
    ctx: Ctx, project: Project, scope: str = "open", *, page: int = 1, page_size: int = 15
) -> Page:
    """The sign-offs of a project the acting person may see matching ``scope`` (open, all, mine:
    created by them or waiting for their signature), newest first: filtered, counted, ordered
    and cut in SQL."""
    if scope not in LIST_FILTERS:
        raise ValidationError({"filter": Msg("errors.choice", choices=", ".join(LIST_FILTERS))})
    if not can_list(ctx, project):
        raise PermissionDenied(Msg("signoff.errors.cannot_list", code=project.code))
    user = ctx.actor_id or ""
    conditions: list[Any] = [SignOff.team_id == ctx.team_id, SignOff.project_id == project.id]
    if not is_team(ctx, project):
        own = key_user_of(ctx, project, user)
        conditions.append(concerning(user, own.module if own is not None else None))
    if scope == "mine":
        conditions.append(concerning(user, None))
    if scope == "open":
        conditions.append(SignOff.status == SignOffStatus.OPEN)
    rows, total, page, pages = records.newest_page(ctx, SignOff, conditions, page, page_size)
    return Page(project, rows, total, page, pages, scope)


def export_csv(ctx: Ctx, project: Project) -> str:
    """The audit trail of a project's sign-offs (PMs and team): one row per answer, with the
    version, the signer's name (the register's, else their id), the local time, the answer and
    the comment."""
    _require_team(ctx, project)
    rows = ctx.session.exec(
        select(SignOff, approvals.ApprovalAnswer)
        .join(
            Approval,
            and_(
                col(Approval.subject_id) == col(SignOff.id),
                Approval.subject_kind == KIND,
                col(Approval.team_id) == col(SignOff.team_id),
            ),
        )
        .join(
            approvals.ApprovalAnswer,
            col(approvals.ApprovalAnswer.approval_id) == col(Approval.id),
        )
        .where(SignOff.team_id == ctx.team_id, SignOff.project_id == project.id)
        .order_by(col(SignOff.number), col(approvals.ApprovalAnswer.id))
    ).all()
    names = {
        str(person): str(name)
        for person, name in ctx.session.exec(
            select(KeyUser.user_id, KeyUser.display_name).where(
                KeyUser.team_id == ctx.team_id,
                KeyUser.project_id == project.id,
                col(KeyUser.display_name).is_not(None),
            )
        ).all()
    }
    lines = [
        (
            ref(signoff),
            signoff.title,
            signoff.kind,
            answer.version,
            answer.user_id,
            names.get(answer.user_id, answer.user_id),
            local_time(project, answer.at).isoformat(timespec="minutes"),
            "remarks" if answer.remarks else answer.answer,
            answer.comment or "",
        )
        for signoff, answer in rows
    ]
    ctx.log("signoff.exported", project_id=project.id, rows=len(lines))
    return write_csv(CSV_COLUMNS, lines)


# ------------------------------------------------------------------------------ Home tab

HOME_LIMIT = 20


def waiting_select(
    team_id: str, user_id: str, managed_ids: list[int], limit: int = HOME_LIMIT
) -> Any:
    """The signatures waiting, for a Home tab, as a select of the same plain columns as the change
    requests' (``kind`` "signoff", id, number, title, project id, the signer, who created it,
    since when, the signer's row): of each open sign-off's pending version, each signer without a
    decision, where the signer is ``user_id`` or the project is one they manage; oldest first,
    at most ``limit``."""
    return approvals.waiting_select(
        KIND,
        SignOff,
        since=col(Approval.asked_at),
        where=and_(
            SignOff.team_id == team_id,
            SignOff.status == SignOffStatus.OPEN,
            or_(
                col(ApprovalDecider.user_id) == user_id,
                col(SignOff.project_id).in_(managed_ids or [0]),
            ),
        ),
        limit=limit,
    )


@dataclass(frozen=True)
class Waiting:
    """A sign-off waiting for one signer, for a Home tab."""

    id: int
    number: int
    title: str
    project: Project
    person: str
    approval: int | None = None  # the pending approval the signer answers
