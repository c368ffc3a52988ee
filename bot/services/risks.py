"""The project-risk register: raising a risk, assessing it again (every assessment is kept), its
owner, response actions (which can become issues), closing and reopening, who may see and do
what, lists, export, and the reviews falling due.

A risk's level is probability × impact (1–25), graded by the project's thresholds: low up to 4,
medium up to 12, high above (15 and more, since no product of two numbers from 1 to 5 lies
between 12 and 15). ``level_of`` and ``Thresholds.grade`` are the one place both are computed.

A project risk is not a key user "at risk" of disengagement (``bot.services.engagement``): the
two stay different words in both languages (docs/GLOSSARY.md).

Rules only: what Liaison says about a risk (the PMs' DM when it becomes high, the owners' review
reminders) is written to the outbox by ``bot.jobs.risks``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, case, cast, func, literal, null, union_all
from sqlmodel import col, or_, select

from bot.csvutil import FORMULA_PREFIXES, read_csv, write_csv
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import fields, records
from bot.services import issues as issue_service
from bot.services import keyusers as keyuser_service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.trainings import ImportReport, csv_rows, import_row
from storage.models import (
    Issue,
    KeyUser,
    Project,
    Risk,
    RiskAction,
    RiskAssessment,
    RiskHistory,
    RiskLink,
    RiskSettings,
    RiskStatus,
)

CATEGORIES = ("business", "technical", "data", "organisational", "schedule", "cost")
STRATEGIES = ("avoid", "reduce", "transfer", "accept")
GRADES = ("low", "medium", "high")
SCALE = (1, 2, 3, 4, 5)
DEFAULT_LOW_MAX = 4
DEFAULT_MEDIUM_MAX = 12
LIST_FILTERS = ("open", "all", "high", "mine")
TITLE_LIMIT = fields.limit(Risk.title)
DESCRIPTION_LIMIT = fields.limit(Risk.description)
MODULE_LIMIT = fields.limit(Risk.module)
REASON_LIMIT = fields.limit(Risk.closed_reason)
NOTE_LIMIT = fields.limit(RiskAssessment.note)
ACTION_LIMIT = fields.limit(RiskAction.text)
ACTIONS_AT_CREATION = 10
CSV_COLUMNS = (
    "id",
    "title",
    "category",
    "module",
    "probability",
    "impact",
    "level",
    "grade",
    "owner",
    "strategy",
    "review_on",
    "status",
    "closed_reason",
    "visible_in_channel",
    "actions",
    "created_by",
    "created_at",
    "description",
)


# ------------------------------------------------------------------------------ levels


@dataclass(frozen=True)
class Thresholds:
    """How a project grades a level: low up to ``low_max``, medium up to ``medium_max``."""

    low_max: int = DEFAULT_LOW_MAX
    medium_max: int = DEFAULT_MEDIUM_MAX

    def grade(self, level: int) -> str:
        if level <= self.low_max:
            return "low"
        if level <= self.medium_max:
            return "medium"
        return "high"


def level_of(probability: int, impact: int) -> int:
    return probability * impact


def risk_ref(risk: Risk) -> str:
    """How a risk is named to people: its per-project number, as `/risk 3` takes it."""
    return f"#{risk.number}"


def thresholds(ctx: Ctx, project: Project) -> Thresholds:
    row = ctx.session.exec(
        ctx.select(RiskSettings).where(RiskSettings.project_id == project.id)
    ).first()
    if row is None:
        return Thresholds()
    return Thresholds(row.low_max, row.medium_max)


def categories(ctx: Ctx, project: Project) -> tuple[str, ...]:
    """The project's categories: the six defaults unless the project set its own."""
    row = ctx.session.exec(
        ctx.select(RiskSettings).where(RiskSettings.project_id == project.id)
    ).first()
    return tuple(row.categories) if row is not None and row.categories else CATEGORIES


# ----------------------------------------------------------------------------- who may


# Who runs a project's registers, and the person's own register row: one rule for every domain.
is_team = project_service.is_team
key_user_of = keyuser_service.key_user_of


def can_raise(ctx: Ctx, project: Project) -> bool:
    """PMs and team raise risks; a key user raises one for their own module."""
    return is_team(ctx, project) or key_user_of(ctx, project, ctx.actor_id) is not None


def _linked_to(ctx: Ctx, risk: Risk, user_id: str) -> bool:
    return (
        ctx.session.exec(
            ctx.select(RiskLink)
            .join(KeyUser, col(KeyUser.id) == col(RiskLink.key_user_id))
            .where(RiskLink.risk_id == risk.id, KeyUser.user_id == user_id)
        ).first()
        is not None
    )


def can_see(ctx: Ctx, project: Project, risk: Risk) -> bool:
    """The team sees every risk; anyone else those they raised, own or are linked to."""
    user = ctx.actor_id or ""
    if is_team(ctx, project) or user in (risk.created_by, risk.owner_id):
        return True
    return _linked_to(ctx, risk, user)


def can_assess(ctx: Ctx, project: Project, risk: Risk) -> bool:
    """Assessing and adding actions: the PMs, the team and the risk's owner."""
    return is_team(ctx, project) or (risk.owner_id is not None and risk.owner_id == ctx.actor_id)


def _require_team(ctx: Ctx, project: Project, risk: Risk) -> None:
    if not is_team(ctx, project):
        raise PermissionDenied(Msg("risk.errors.not_team", code=project.code))


def _require_assessor(ctx: Ctx, project: Project, risk: Risk) -> None:
    if not can_assess(ctx, project, risk):
        raise PermissionDenied(Msg("risk.errors.not_assessor", ref=risk_ref(risk)))


def _in_project(ctx: Ctx, project: Project, user_id: str) -> bool:
    return is_team(ctx, project, user_id) or key_user_of(ctx, project, user_id) is not None


# ------------------------------------------------------------------------------ raising


@dataclass
class RiskInput:
    """What a person types or picks in the risk form, as plain values."""

    title: str = ""
    description: str = ""
    category: str = ""
    module: str = ""
    probability: Any = None
    impact: Any = None
    owner_id: str | None = None
    strategy: str = "reduce"
    review_on: str | date | None = None
    actions: str = ""
    key_user_ids: list[str] = field(default_factory=list)
    issue_refs: str = ""  # the project's issues it is linked to: "ERP-12, ERP-15"
    visible_in_channel: bool = False


@dataclass
class Change:
    """What one service call did: the risk, its project, the history entry, the assessment it
    made (if any) and whether the risk has just become high."""

    risk: Risk
    project: Project
    history: RiskHistory
    assessment: RiskAssessment | None = None
    became_high: bool = False
    grade: str = ""


def _scale(raw: Any) -> int | None:
    value = fields.whole_number(raw)
    return value if value in SCALE else None


def _day(raw: str | date | None) -> date | None:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        return None


def local_today(project: Project, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(project.timezone)).date()


def _review(project: Project, raw: str | date | None, now: datetime, errors: dict) -> date | None:
    if raw in (None, ""):
        return None
    day = _day(raw)
    if day is None:
        errors["review_on"] = Msg("risk.errors.date_format")
    elif day < local_today(project, now):
        errors["review_on"] = Msg("risk.errors.review_past")
    return day


def _clean(ctx: Ctx, project: Project, data: RiskInput) -> dict[str, Any]:
    errors: dict[str, Msg] = {}
    title = " ".join((data.title or "").split())
    if not title:
        errors["title"] = Msg("errors.required")
    elif len(title) > TITLE_LIMIT:
        errors["title"] = Msg("errors.too_long", limit=TITLE_LIMIT)
    description = (data.description or "").strip()
    if len(description) > DESCRIPTION_LIMIT:
        errors["description"] = Msg("errors.too_long", limit=DESCRIPTION_LIMIT)
    allowed = categories(ctx, project)
    # The project's own spelling of the category, whatever the case it was typed in.
    category = {c.lower(): c for c in allowed}.get((data.category or "").strip().lower(), "")
    if not category:
        errors["category"] = Msg("errors.choice", choices=", ".join(allowed))
    module = (data.module or "").strip()
    if len(module) > MODULE_LIMIT:
        errors["module"] = Msg("errors.too_long", limit=MODULE_LIMIT)
    probability, impact = _scale(data.probability), _scale(data.impact)
    if probability is None:
        errors["probability"] = Msg("risk.errors.scale")
    if impact is None:
        errors["impact"] = Msg("risk.errors.scale")
    strategy = (data.strategy or "").strip().lower()
    if strategy not in STRATEGIES:
        errors["strategy"] = Msg("errors.choice", choices=", ".join(STRATEGIES))
    team = is_team(ctx, project)
    owner = data.owner_id or (ctx.actor_id if team else None)
    if owner is not None and not issue_service.USER_ID_RE.match(owner):
        errors["owner_id"] = Msg("errors.user_required")
    elif owner is not None and not _in_project(ctx, project, owner):
        errors["owner_id"] = Msg("risk.errors.owner_not_in_project", code=project.code)
    elif owner not in (None, ctx.actor_id) and not team:
        errors["owner_id"] = Msg("risk.errors.owner_by_team")
    if not team:
        # A key user raises risks of their own module.
        own = key_user_of(ctx, project, ctx.actor_id)
        own_module = (own.module or "").strip() if own is not None else ""
        if own_module and module and module.lower() != own_module.lower():
            errors["module"] = Msg("risk.errors.own_module", module=own_module)
        module = module or own_module
    review_on = _review(project, data.review_on, ctx.now(), errors)
    actions = [" ".join(line.split()) for line in (data.actions or "").splitlines()]
    actions = [line for line in actions if line]
    if len(actions) > ACTIONS_AT_CREATION:
        errors["actions"] = Msg("risk.errors.too_many_actions", limit=ACTIONS_AT_CREATION)
    elif any(len(line) > ACTION_LIMIT for line in actions):
        errors["actions"] = Msg("errors.too_long", limit=ACTION_LIMIT)
    key_users = []
    for user_id in dict.fromkeys(data.key_user_ids or []):
        row = key_user_of(ctx, project, user_id)
        if row is None:
            errors["key_user_ids"] = Msg("risk.errors.not_key_user", code=project.code)
        else:
            key_users.append(row)
    issues = _linked_issues(ctx, project, data.issue_refs or "", errors)
    if errors:
        raise ValidationError(errors)
    return {
        "issues": issues,
        "title": title,
        "description": description or None,
        "category": category,
        "module": module or None,
        "probability": probability,
        "impact": impact,
        "owner_id": owner,
        "strategy": strategy,
        "review_on": review_on,
        "visible_in_channel": bool(data.visible_in_channel) and team,
        "actions": actions,
        "key_users": key_users,
    }


def _linked_issues(ctx: Ctx, project: Project, refs: str, errors: dict[str, Msg]) -> list[Issue]:
    """The issues of the project named as typed ("ERP-12, ERP-15"); a wrong one is an error."""
    found: list[Issue] = []
    for word in dict.fromkeys(w for w in re.split(r"[\s,;]+", refs) if w):
        match = issue_service.ISSUE_KEY_RE.match(word)
        issue = None
        if match and match.group(1).upper() == project.code:
            issue = ctx.session.exec(
                ctx.select(Issue).where(
                    Issue.project_id == project.id,
                    Issue.number == int(match.group(2)),
                    col(Issue.deleted_at).is_(None),
                )
            ).first()
        if issue is None:
            errors["issue_refs"] = Msg("risk.errors.issue_ref", ref=word[:20], code=project.code)
            return []
        if issue not in found:  # ERP-1 and erp-1 alike
            found.append(issue)
    return found


def create_risk(
    *, ctx: Ctx, project: Project, data: RiskInput, origin: dict[str, str] | None = None
) -> Change:
    """Raise a risk: validated whole, numbered per project, its first assessment kept.
    ``origin``: where it was raised from, kept in its history (a meeting's title and date,
    ``bot.services.meeting_outcomes.risk_origin``)."""
    if not can_raise(ctx, project):
        raise PermissionDenied(Msg("risk.errors.cannot_raise", code=project.code))
    source = dict(origin or {})
    values = _clean(ctx, project, data)
    actions, key_users = values.pop("actions"), values.pop("key_users")
    issues = values.pop("issues")
    settings = project_service.settings_row(ctx, RiskSettings, project, lock=True)
    number = records.take_number(ctx, settings)
    now = ctx.now()
    risk = Risk(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        number=number,
        level=level_of(values["probability"], values["impact"]),
        status=RiskStatus.OPEN,
        created_by=ctx.actor_id or "",
        created_at=now,
        updated_at=now,
        **values,
    )
    ctx.session.add(risk)
    ctx.session.flush()
    for text in actions:
        ctx.session.add(_action(ctx, risk, text, None))
    links = [{"key_user_id": row.id} for row in key_users]
    links += [{"issue_id": issue.id} for issue in issues]
    for link in links:
        ctx.session.add(RiskLink(team_id=ctx.team_id, risk_id=risk.id or 0, **link))
    grades = Thresholds(settings.low_max, settings.medium_max)
    assessment = _assessment(ctx, risk, grades, None)
    entry = _history(ctx, risk, "raised", title=risk.title, level=risk.level, **source)
    ctx.log("risk.raised", project_id=project.id, risk=risk.number, level=risk.level)
    grade = grades.grade(risk.level)
    return Change(risk, project, entry, assessment, became_high=grade == "high", grade=grade)


def _action(ctx: Ctx, risk: Risk, text: str, owner_id: str | None) -> RiskAction:
    return RiskAction(
        team_id=ctx.team_id,
        risk_id=risk.id or 0,
        text=text,
        owner_id=owner_id,
        created_by=ctx.actor_id or "",
        created_at=ctx.now(),
    )


def _assessment(ctx: Ctx, risk: Risk, grades: Thresholds, note: str | None) -> RiskAssessment:
    row = RiskAssessment(
        team_id=ctx.team_id,
        risk_id=risk.id or 0,
        probability=risk.probability,
        impact=risk.impact,
        level=risk.level,
        grade=grades.grade(risk.level),
        actor_id=ctx.actor_id,
        note=note or None,
        at=ctx.now(),
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


def _history(ctx: Ctx, risk: Risk, action: str, **detail: Any) -> RiskHistory:
    return records.history(ctx, RiskHistory, action, detail, risk_id=risk.id or 0)


def _touch(ctx: Ctx, risk: Risk, expected_version: int | None) -> None:
    """A change from a button names the version it saw: an old card changes nothing."""
    records.touch(ctx, risk, expected_version, "risk", Msg("risk.errors.stale", ref=risk_ref(risk)))


# ------------------------------------------------------------------------------ changes


def assess(
    *,
    ctx: Ctx,
    risk: Risk,
    project: Project,
    probability: Any,
    impact: Any,
    note: str = "",
    review_on: str | date | None = None,
    expected_version: int | None = None,
) -> Change:
    """A new assessment (the earlier ones stay), optionally with the next review date."""
    _require_assessor(ctx, project, risk)
    if risk.status != RiskStatus.OPEN:
        raise ValidationError({"risk": Msg("risk.errors.closed", ref=risk_ref(risk))})
    errors: dict[str, Msg] = {}
    chance, weight = _scale(probability), _scale(impact)
    if chance is None:
        errors["probability"] = Msg("risk.errors.scale")
    if weight is None:
        errors["impact"] = Msg("risk.errors.scale")
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        errors["note"] = Msg("errors.too_long", limit=NOTE_LIMIT)
    review = _review(project, review_on, ctx.now(), errors)
    if errors:
        raise ValidationError(errors)
    assert chance is not None and weight is not None
    grades = thresholds(ctx, project)
    before = grades.grade(risk.level)
    _touch(ctx, risk, expected_version)
    risk.probability, risk.impact, risk.level = chance, weight, level_of(chance, weight)
    if review is not None:
        risk.review_on = review
    assessment = _assessment(ctx, risk, grades, note)
    grade = grades.grade(risk.level)
    entry = _history(ctx, risk, "assessed", level=risk.level, grade=grade, before=before)
    ctx.log("risk.assessed", project_id=project.id, risk=risk.number, level=risk.level)
    became_high = grade == "high" and before != "high"
    return Change(risk, project, entry, assessment, became_high=became_high, grade=grade)


def set_owner(
    *,
    ctx: Ctx,
    risk: Risk,
    project: Project,
    owner_id: str | None,
    expected_version: int | None = None,
) -> Change:
    _require_team(ctx, project, risk)
    if not owner_id or not issue_service.USER_ID_RE.match(owner_id):
        raise ValidationError({"owner_id": Msg("errors.user_required")})
    if not _in_project(ctx, project, owner_id):
        raise ValidationError(
            {"owner_id": Msg("risk.errors.owner_not_in_project", code=project.code)}
        )
    before = risk.owner_id
    _touch(ctx, risk, expected_version)
    risk.owner_id = owner_id
    entry = _history(ctx, risk, "owner", before=before, owner=owner_id)
    ctx.log("risk.owner_changed", project_id=project.id, risk=risk.number, owner=owner_id)
    return Change(risk, project, entry)


def add_action(
    *, ctx: Ctx, risk: Risk, project: Project, text: str, owner_id: str | None = None
) -> tuple[Change, RiskAction]:
    _require_assessor(ctx, project, risk)
    if risk.status != RiskStatus.OPEN:
        raise ValidationError({"risk": Msg("risk.errors.closed", ref=risk_ref(risk))})
    text = " ".join((text or "").split())
    if not text:
        raise ValidationError({"text": Msg("errors.required")})
    if len(text) > ACTION_LIMIT:
        raise ValidationError({"text": Msg("errors.too_long", limit=ACTION_LIMIT)})
    if owner_id and not _in_project(ctx, project, owner_id):
        raise ValidationError(
            {"owner_id": Msg("risk.errors.owner_not_in_project", code=project.code)}
        )
    _touch(ctx, risk, None)
    action = _action(ctx, risk, text, owner_id or None)
    ctx.session.add(action)
    ctx.session.flush()
    entry = _history(ctx, risk, "action", text=text, action_id=action.id)
    ctx.log("risk.action_added", project_id=project.id, risk=risk.number)
    return Change(risk, project, entry), action


def action_to_issue(*, ctx: Ctx, action_id: Any) -> tuple[RiskAction, Risk, issue_service.Change]:
    """A response action becomes an issue (its owner kept), followed like any other issue and
    linked to the risk. Only once: a second click names the issue."""
    ident = fields.record_id(action_id)
    action = ctx.get(RiskAction, ident) if ident else None
    if action is None:
        raise NotFound(Msg("risk.errors.action_gone"))
    risk, project = get_risk(ctx, action.risk_id)
    _require_team(ctx, project, risk)
    if action.issue_id is not None:
        issue, _ = issue_service.get_issue(ctx, action.issue_id)
        ref = issue_service.issue_key(project, issue)
        raise ValidationError({"action": Msg("risk.errors.already_issue", ref=ref)})
    description = plain(
        project.locale, "risk.action_issue_description", ref=risk_ref(risk), title=risk.title
    )
    change = issue_service.create_issue(
        ctx=ctx,
        project=project,
        data=issue_service.IssueInput(
            title=action.text[: issue_service.TITLE_LIMIT],
            description=description,
            kind="issue",
            module=risk.module or "",
            owner_id=action.owner_id,
        ),
    )
    action.issue_id = change.issue.id
    ctx.session.add(action)
    ctx.session.add(RiskLink(team_id=ctx.team_id, risk_id=risk.id or 0, issue_id=change.issue.id))
    _touch(ctx, risk, None)
    issue_ref = issue_service.issue_key(project, change.issue)
    _history(ctx, risk, "action_to_issue", action_id=action.id, issue=issue_ref)
    ctx.log("risk.action_to_issue", project_id=project.id, risk=risk.number, issue=issue_ref)
    return action, risk, change


def close(
    *,
    ctx: Ctx,
    risk: Risk,
    project: Project,
    reason: str,
    expected_version: int | None = None,
) -> Change:
    _require_team(ctx, project, risk)
    if risk.status == RiskStatus.CLOSED:
        raise ValidationError({"risk": Msg("risk.errors.closed", ref=risk_ref(risk))})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": Msg("risk.errors.reason_required")})
    if len(reason) > REASON_LIMIT:
        raise ValidationError({"reason": Msg("errors.too_long", limit=REASON_LIMIT)})
    _touch(ctx, risk, expected_version)
    risk.status, risk.closed_reason, risk.closed_at = RiskStatus.CLOSED, reason, ctx.now()
    entry = _history(ctx, risk, "closed", reason=reason)
    ctx.log("risk.closed", project_id=project.id, risk=risk.number)
    return Change(risk, project, entry)


def reopen(
    *, ctx: Ctx, risk: Risk, project: Project, expected_version: int | None = None
) -> Change:
    _require_team(ctx, project, risk)
    if risk.status != RiskStatus.CLOSED:
        raise ValidationError({"risk": Msg("risk.errors.not_closed", ref=risk_ref(risk))})
    _touch(ctx, risk, expected_version)
    risk.status, risk.closed_reason, risk.closed_at = RiskStatus.OPEN, None, None
    entry = _history(ctx, risk, "reopened")
    ctx.log("risk.reopened", project_id=project.id, risk=risk.number)
    return Change(risk, project, entry)


# ------------------------------------------------------------------------------ finding


def get_risk(ctx: Ctx, risk_id: int) -> tuple[Risk, Project]:
    """A risk by its id (from a button or a form), if the acting person may see it: an id in a
    request may be forged, and a risk they may not see is not found."""
    return records.by_id(ctx, Risk, risk_id, can_see, "risk.errors.not_found")


def find_risk(ctx: Ctx, project: Project, number: Any) -> Risk:
    """A risk by its number in a project ("3" or "#3"), if the acting person may see it."""
    return records.by_number(ctx, Risk, project, number, can_see, "risk.errors.not_found")


@dataclass
class Detail:
    """Everything a risk's card shows."""

    risk: Risk
    project: Project
    grade: str
    assessments: list[RiskAssessment]
    actions: list[RiskAction]
    history: list[RiskHistory]
    key_users: list[str]
    issue_refs: dict[int, str]  # the issues its actions became and those linked to it
    linked_issues: list[int]
    can_assess: bool
    can_manage: bool


def _of_risk(ctx: Ctx, model: Any, risk: Risk) -> list[Any]:
    """A risk's rows of one kind (assessments, actions, history), oldest first."""
    return list(
        ctx.session.exec(
            ctx.select(model).where(model.risk_id == risk.id).order_by(col(model.id))
        ).all()
    )


def detail(ctx: Ctx, risk: Risk, project: Project) -> Detail:
    assessments = _of_risk(ctx, RiskAssessment, risk)
    actions: list[RiskAction] = _of_risk(ctx, RiskAction, risk)
    entries = _of_risk(ctx, RiskHistory, risk)
    key_users = [
        str(user)
        for user in ctx.session.exec(
            select(KeyUser.user_id)
            .join(RiskLink, col(RiskLink.key_user_id) == col(KeyUser.id))
            .where(RiskLink.team_id == ctx.team_id, RiskLink.risk_id == risk.id)
            .order_by(col(RiskLink.id))
        ).all()
    ]
    linked = [
        int(ident)
        for ident in ctx.session.exec(
            select(RiskLink.issue_id).where(
                RiskLink.team_id == ctx.team_id,
                RiskLink.risk_id == risk.id,
                col(RiskLink.issue_id).is_not(None),
            )
        ).all()
        if ident
    ]
    issue_ids = [action.issue_id for action in actions if action.issue_id] + linked
    refs: dict[int, str] = {}
    if issue_ids:
        for issue in ctx.session.exec(ctx.select(Issue).where(col(Issue.id).in_(issue_ids))).all():
            refs[issue.id or 0] = issue_service.issue_key(project, issue)
    return Detail(
        risk,
        project,
        thresholds(ctx, project).grade(risk.level),
        assessments,
        actions,
        entries,
        key_users,
        refs,
        [ident for ident in dict.fromkeys(linked) if ident in refs],
        can_assess(ctx, project, risk),
        is_team(ctx, project),
    )


# ------------------------------------------------------------------------- lists and export


@dataclass
class RiskPage:
    """One page of a project's risks: those shown, how many match, which page, how graded."""

    project: Project
    items: list[Risk]
    total: int
    page: int
    pages: int
    scope: str
    thresholds: Thresholds


def list_risks(
    ctx: Ctx, project: Project, scope: str = "open", *, page: int = 1, page_size: int = 15
) -> RiskPage:
    """The risks of a project the acting person may see that match ``scope`` (open, all, high,
    mine), highest level first: filtered, counted, ordered and cut in SQL."""
    if scope not in LIST_FILTERS:
        raise ValidationError({"filter": Msg("errors.choice", choices=", ".join(LIST_FILTERS))})
    grades = thresholds(ctx, project)
    user = ctx.actor_id or ""
    conditions: list[Any] = [Risk.team_id == ctx.team_id, Risk.project_id == project.id]
    mine = or_(col(Risk.owner_id) == user, col(Risk.created_by) == user)
    if not is_team(ctx, project):
        own = key_user_of(ctx, project, user)
        linked = (
            select(RiskLink.risk_id).where(RiskLink.key_user_id == own.id)
            if own is not None
            else None
        )
        conditions.append(or_(mine, col(Risk.id).in_(linked)) if linked is not None else mine)
    if scope == "mine":
        conditions.append(mine)
    if scope != "all":
        conditions.append(Risk.status == RiskStatus.OPEN)
    if scope == "high":
        conditions.append(col(Risk.level) > grades.medium_max)
    total = int(ctx.session.exec(select(func.count()).select_from(Risk).where(*conditions)).one())
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    closed_last = case((Risk.status == RiskStatus.OPEN, 0), else_=1)
    rows = ctx.session.exec(
        select(Risk)
        .where(*conditions)
        .order_by(closed_last, col(Risk.level).desc(), col(Risk.number))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return RiskPage(project, list(rows), total, page, pages, scope, grades)


def export_csv(ctx: Ctx, project: Project) -> str:
    """Every risk of a project as CSV (PMs and team); cells are escaped against formulas."""
    if not is_team(ctx, project):
        raise PermissionDenied(Msg("risk.errors.not_team", code=project.code))
    grades = thresholds(ctx, project)
    risks = ctx.session.exec(
        ctx.select(Risk).where(Risk.project_id == project.id).order_by(col(Risk.number))
    ).all()
    texts: dict[int, list[str]] = {}
    for action in ctx.session.exec(
        ctx.select(RiskAction)
        .join(Risk, col(Risk.id) == col(RiskAction.risk_id))
        .where(Risk.project_id == project.id)
        .order_by(col(RiskAction.id))
    ).all():
        texts.setdefault(action.risk_id, []).append(action.text)
    zone = ZoneInfo(project.timezone)
    lines = [
        (
            risk_ref(risk),
            risk.title,
            risk.category,
            risk.module or "",
            risk.probability,
            risk.impact,
            risk.level,
            grades.grade(risk.level),
            risk.owner_id or "",
            risk.strategy,
            risk.review_on.isoformat() if risk.review_on else "",
            risk.status,
            risk.closed_reason or "",
            "yes" if risk.visible_in_channel else "no",
            " | ".join(texts.get(risk.id or 0, [])),
            risk.created_by,
            risk.created_at.astimezone(zone).isoformat(timespec="minutes"),
            risk.description or "",
        )
        for risk in risks
    ]
    ctx.log("risk.exported", project_id=project.id, rows=len(lines))
    return write_csv(CSV_COLUMNS, lines)


# ------------------------------------------------------------------- what the scheduler finds


def reviews_due(ctx: Ctx) -> dict[str, list[tuple[Risk, Project]]]:
    """Open risks with an owner whose review day has come in their project's timezone, grouped
    by owner, the most overdue review first (one query)."""
    now = ctx.now()
    # Every project's local day is within a day of UTC's: the query bounds, Python decides.
    horizon = now.date().toordinal() + 1
    rows = ctx.session.exec(
        select(Risk, Project)
        .join(Project, col(Project.id) == col(Risk.project_id))
        .where(
            Risk.team_id == ctx.team_id,
            Risk.status == RiskStatus.OPEN,
            col(Risk.owner_id).is_not(None),
            col(Risk.review_on).is_not(None),
            col(Risk.review_on) <= date.fromordinal(horizon),
        )
        .order_by(col(Risk.review_on), col(Risk.level).desc(), col(Risk.id))
    ).all()
    grouped: dict[str, list[tuple[Risk, Project]]] = {}
    for risk, project in rows:
        if risk.review_on is not None and risk.review_on <= local_today(project, now):
            grouped.setdefault(risk.owner_id or "", []).append((risk, project))
    return grouped


# ------------------------------------------------------------------------------ settings

CATEGORY_LIMIT = fields.limit(Risk.category)
MAX_CATEGORIES = 20
LEVEL_MAX = 25  # 5 × 5


@dataclass
class SettingsInput:
    """The risk settings form: categories one a line (none: the defaults), the two thresholds."""

    categories: str = ""
    low_max: Any = None
    medium_max: Any = None


def save_settings(*, ctx: Ctx, project: Project, data: SettingsInput) -> RiskSettings:
    """A PM sets the project's categories and grade thresholds (1 ≤ low < medium < 25): checked
    whole, nothing stored on an error. Grades are computed from the thresholds wherever they are
    shown, so every list, card and dashboard shows the new grades at once."""
    project_service.require_pm(ctx, project)
    errors: dict[str, Msg] = {}
    lines = [" ".join(line.split()) for line in (data.categories or "").splitlines()]
    names = list(dict.fromkeys(line for line in lines if line))
    folded = [name.lower() for name in names]
    if len(names) > MAX_CATEGORIES:
        errors["categories"] = Msg("risk.errors.too_many_categories", limit=MAX_CATEGORIES)
    elif any(len(name) > CATEGORY_LIMIT for name in names):
        errors["categories"] = Msg("errors.too_long", limit=CATEGORY_LIMIT)
    elif len(set(folded)) != len(folded):
        errors["categories"] = Msg("risk.errors.category_twice")
    low, medium = fields.whole_number(data.low_max), fields.whole_number(data.medium_max)
    if low is None or not 1 <= low < LEVEL_MAX - 1:
        errors["low_max"] = Msg("risk.errors.threshold", low=1, high=LEVEL_MAX - 2)
    if medium is None or not 2 <= medium < LEVEL_MAX:
        errors["medium_max"] = Msg("risk.errors.threshold", low=2, high=LEVEL_MAX - 1)
    elif low is not None and medium <= low:
        errors["medium_max"] = Msg("risk.errors.threshold_order", low=low)
    if errors:
        raise ValidationError(errors)
    assert low is not None and medium is not None
    row = project_service.settings_row(ctx, RiskSettings, project)
    before = (row.low_max, row.medium_max)
    row.categories = [] if folded == list(CATEGORIES) else names
    row.low_max, row.medium_max = low, medium
    ctx.session.add(row)
    ctx.log(
        "risk.settings_changed",
        project_id=project.id,
        low_max=low,
        medium_max=medium,
        before=list(before),
        categories=len(row.categories),
    )
    return row


# --------------------------------------------------------------- the grid and the top risks

TOP_RISKS = 5


@dataclass
class TopRisk:
    number: int
    title: str
    level: int
    probability: int
    impact: int
    owner_id: str | None
    owner_name: str | None  # the owner's name in the key-user register, when they are in it

    @property
    def ref(self) -> str:
        return f"#{self.number}"


@dataclass
class RiskOverview:
    """A project's open risks at a glance: how many in each cell of the probability × impact
    grid (``grid[(probability, impact)]``), graded by its thresholds, and the highest ones
    (highest level first, then by number). ``visible``: the same for the risks that may be
    shown in the project channel."""

    project: Project
    thresholds: Thresholds
    grid: dict[tuple[int, int], int] = field(default_factory=dict)
    top: list[TopRisk] = field(default_factory=list)
    visible_grid: dict[tuple[int, int], int] = field(default_factory=dict)
    visible_top: list[TopRisk] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.grid.values())

    @property
    def visible_total(self) -> int:
        return sum(self.visible_grid.values())

    def by_grade(self, grid: dict[tuple[int, int], int] | None = None) -> dict[str, int]:
        counts = {grade: 0 for grade in GRADES}
        for (chance, weight), count in (self.grid if grid is None else grid).items():
            counts[self.thresholds.grade(level_of(chance, weight))] += count
        return counts

    def for_channel(self) -> RiskOverview:
        """Only what may be shown in the project channel."""
        return RiskOverview(
            self.project, self.thresholds, dict(self.visible_grid), list(self.visible_top)
        )


def overviews(ctx: Ctx, projects: list[Project]) -> dict[int, RiskOverview]:
    """Every project's overview in one statement, however many risks and projects: its
    thresholds, the top open risks (ranked in SQL) and the cell counts (grouped in SQL)."""
    ids = [project.id or 0 for project in projects]
    if not ids:
        return {}
    base = (Risk.team_id == ctx.team_id, col(Risk.project_id).in_(ids))
    is_open = Risk.status == RiskStatus.OPEN
    visible = col(Risk.visible_in_channel).is_(True)
    order = (col(Risk.level).desc(), col(Risk.number))
    ranked = (
        select(
            col(Risk.project_id).label("project_id"),
            col(Risk.number).label("number"),
            col(Risk.title).label("title"),
            col(Risk.level).label("level"),
            col(Risk.probability).label("probability"),
            col(Risk.impact).label("impact"),
            col(Risk.owner_id).label("owner_id"),
            case((visible, 1), else_=0).label("shared"),
            func.row_number().over(partition_by=col(Risk.project_id), order_by=order).label("rank"),
            func.row_number()
            .over(
                partition_by=(col(Risk.project_id), col(Risk.visible_in_channel)),
                order_by=order,
            )
            .label("visible_rank"),
        )
        .where(*base, is_open)
        .subquery()
    )
    number, text = cast(null(), Integer), cast(null(), String)
    # Three kinds of rows in one union, the typed one first: the top risks (with the owner's
    # name in the register), each project's thresholds, and the count in each cell.
    top = (
        select(
            literal("top").label("kind"),
            ranked.c.project_id,
            ranked.c.probability,
            ranked.c.impact,
            ranked.c.rank.label("count"),
            ranked.c.shared,
            ranked.c.number,
            ranked.c.title,
            ranked.c.level,
            ranked.c.owner_id,
            col(KeyUser.display_name).label("name"),
        )
        .select_from(ranked)
        .outerjoin(
            KeyUser,
            and_(
                col(KeyUser.project_id) == ranked.c.project_id,
                col(KeyUser.user_id) == ranked.c.owner_id,
            ),
        )
        .where(
            or_(
                ranked.c.rank <= TOP_RISKS,
                and_(ranked.c.shared == 1, ranked.c.visible_rank <= TOP_RISKS),
            )
        )
    )
    grades = select(
        literal("grades"),
        col(RiskSettings.project_id),
        col(RiskSettings.low_max),
        col(RiskSettings.medium_max),
        number,
        number,
        number,
        text,
        number,
        text,
        text,
    ).where(RiskSettings.team_id == ctx.team_id, col(RiskSettings.project_id).in_(ids))
    cells = (
        select(
            literal("cell"),
            col(Risk.project_id),
            col(Risk.probability),
            col(Risk.impact),
            func.count(),
            func.coalesce(func.sum(case((visible, 1), else_=0)), 0),
            number,
            text,
            number,
            text,
            text,
        )
        .where(*base, is_open)
        .group_by(col(Risk.project_id), col(Risk.probability), col(Risk.impact))
    )
    rows = ctx.session.exec(union_all(top, grades, cells)).all()  # type: ignore[call-overload]
    found = {project.id or 0: RiskOverview(project, Thresholds()) for project in projects}
    tops: list[tuple[Any, ...]] = []
    for kind, project_id, first, second, count, shared, *rest in rows:
        overview = found[project_id]
        if kind == "grades":
            overview.thresholds = Thresholds(int(first), int(second))
        elif kind == "cell":
            overview.grid[(first, second)] = int(count)
            if shared:
                overview.visible_grid[(first, second)] = int(shared)
        else:
            tops.append((project_id, first, second, count, shared, *rest))
    tops.sort(key=lambda row: (row[0], -row[7], row[5]))  # by project, level, number
    for project_id, chance, weight, rank, shared, ref, title, level, owner, name in tops:
        overview = found[project_id]
        item = TopRisk(ref, title, level, chance, weight, owner, name)
        if rank <= TOP_RISKS:
            overview.top.append(item)
        if shared and len(overview.visible_top) < TOP_RISKS:
            overview.visible_top.append(item)
    return found


def overview(ctx: Ctx, project: Project) -> RiskOverview:
    return overviews(ctx, [project])[project.id or 0]


# ------------------------------------------------------------------------------ CSV import

IMPORT_NEEDS = ("title", "category", "probability", "impact")
IMPORT_ROWS = 2000


def _cell(row: dict[str, str], name: str) -> str:
    """A cell as the export wrote it: a leading quote that kept a formula out is taken off."""
    value = row.get(name, "") or ""
    if value.startswith("'") and value[1:2] in FORMULA_PREFIXES:
        return value[1:]
    return value


def import_csv(*, ctx: Ctx, project: Project, text: str) -> ImportReport:
    """Rows in the columns `/risk export` writes. A row whose ``id`` names a risk of the project
    changes it (a new assessment when probability or impact differ, then its other columns);
    any other row raises a new risk. Each row is written whole or refused whole and reported by
    its line; a file without the needed columns or with too many rows imports nothing. Level,
    grade, creator and creation time are Liaison's own and read from nothing."""
    if not is_team(ctx, project):
        raise PermissionDenied(Msg("risk.errors.not_team", code=project.code))
    header, rows = read_csv(text)
    if not set(IMPORT_NEEDS) <= set(header):
        raise ValidationError(
            {"csv": Msg("risk.errors.csv_header", columns=", ".join(CSV_COLUMNS))}
        )
    if len(rows) > IMPORT_ROWS:
        raise ValidationError({"csv": Msg("errors.csv_too_many", limit=IMPORT_ROWS)})
    report = ImportReport()
    numbers = [
        int(number)
        for _, row in rows
        if (number := _cell(row, "id").lstrip("#")).isdigit() and len(number) <= 7
    ]
    existing = (
        {
            risk.number: risk
            for risk in ctx.session.exec(
                ctx.select(Risk).where(Risk.project_id == project.id, col(Risk.number).in_(numbers))
            ).all()
        }
        if numbers
        else {}
    )
    for line, row in csv_rows(report, rows):
        data = RiskInput(
            title=_cell(row, "title"),
            description=_cell(row, "description"),
            category=_cell(row, "category"),
            module=_cell(row, "module"),
            probability=_cell(row, "probability"),
            impact=_cell(row, "impact"),
            owner_id=_cell(row, "owner") or None,
            strategy=_cell(row, "strategy") or "reduce",
            review_on=_cell(row, "review_on") or None,
            actions="\n".join(part for part in _cell(row, "actions").split(" | ")),
            visible_in_channel=_cell(row, "visible_in_channel").lower() in ("yes", "true", "1"),
        )
        status = _cell(row, "status").lower() or RiskStatus.OPEN
        reason = _cell(row, "closed_reason")
        number = _cell(row, "id").lstrip("#")
        risk = existing.get(int(number)) if number.isdigit() and len(number) <= 7 else None

        was_there = risk is not None
        save = partial(_save_row, ctx, project, risk, data, status, reason)
        saved = import_row(ctx, report, line, save)
        if saved is not None:
            (report.updated if was_there else report.added).append(risk_ref(saved))
    ctx.log(
        "risk.imported",
        project_id=project.id,
        added=len(report.added),
        updated=len(report.updated),
        rejected=len(report.errors),
    )
    return report


def _save_row(
    ctx: Ctx, project: Project, risk: Risk | None, data: RiskInput, status: str, reason: str
) -> Risk:
    """One imported row: a new risk, or the changes to the one it names, then its status."""
    if status not in (RiskStatus.OPEN, RiskStatus.CLOSED):
        raise ValidationError({"status": Msg("errors.choice", choices="open, closed")})
    if risk is None:
        risk = create_risk(ctx=ctx, project=project, data=data).risk
    else:
        _update_from_row(ctx, project, risk, data)
    if status == RiskStatus.CLOSED and risk.status == RiskStatus.OPEN:
        close(ctx=ctx, risk=risk, project=project, reason=reason or "—")
    elif status == RiskStatus.OPEN and risk.status == RiskStatus.CLOSED:
        reopen(ctx=ctx, risk=risk, project=project)
    return risk


def _update_from_row(ctx: Ctx, project: Project, risk: Risk, data: RiskInput) -> None:
    """An imported row's columns onto a risk it names: checked as the form checks them (an
    unchanged past review date stays), a new assessment when the level's factors changed, the
    actions it does not have yet added, one history entry for the rest."""
    same_review = _day(data.review_on) == risk.review_on if data.review_on else False
    # An empty owner cell keeps the risk's owner (a new risk's would be the importer).
    kept = replace(
        data,
        review_on=None if same_review else data.review_on,
        owner_id=data.owner_id or risk.owner_id,
    )
    values = _clean(ctx, project, kept)
    if (values["probability"], values["impact"]) != (risk.probability, risk.impact):
        if risk.status != RiskStatus.OPEN:
            reopen(ctx=ctx, risk=risk, project=project)
        assess(
            ctx=ctx,
            risk=risk,
            project=project,
            probability=values["probability"],
            impact=values["impact"],
            note=plain(project.locale, "risk.imported_note"),
        )
    changed = [
        name
        for name in (
            "title",
            "description",
            "category",
            "module",
            "owner_id",
            "strategy",
            "visible_in_channel",
        )
        if getattr(risk, name) != values[name]
    ]
    if not same_review and values["review_on"] != risk.review_on:
        changed.append("review_on")
    known = {action.text for action in _of_risk(ctx, RiskAction, risk)}
    added = [text for text in values["actions"] if text not in known]
    if not changed and not added:
        return
    _touch(ctx, risk, None)
    for name in changed:
        setattr(risk, name, values[name])
    for text in added:
        ctx.session.add(_action(ctx, risk, text, None))
    _history(ctx, risk, "imported", fields=changed, actions=len(added))
