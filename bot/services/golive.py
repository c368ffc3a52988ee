"""The go-live gate: per module, go / at risk / no-go with the reasons, computed from live data.

A module is any of the project's curriculum modules, key users' modules and end users' modules
(matched case-insensitively). Each criterion gives a module a status; the module's verdict is the
worst of them. The project's thresholds (``GoLiveSettings``, defaults below) decide:

- key users ready (``training_readiness.ready_counts``): go ≥ 90 %, at risk ≥ 75 %, else no-go;
- end users ready (the 80 % attendance rule, ``end_user_readiness``): go ≥ 80 %, at risk ≥ 60 %;
- open issues of the module: a P1 is no-go; up to ``p2_margin`` (1) open P2 at risk, more no-go;
  an open P1/P2 past its resolution target (a service-level breach) is at least at risk;
- the module's user acceptance test sign-off (kind ``uat``): signed go, open at risk, none no-go;
- an open high project risk of the module: no-go;
- a change request touching the module not yet approved (proposed, under review): at risk;
- open checklist items of the final-preparation phase (the project's, so every module's): at risk.

Where a module has nobody to measure (no key user or end user it applies to), that criterion is
at risk ("none registered"). The whole gate is a fixed number of statements, one per criterion at
most, whatever the number of modules, key users or end users.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func
from sqlmodel import col, select

from bot.errors import Msg, PermissionDenied, ValidationError
from bot.services import end_user_readiness, fields
from bot.services import projects as project_service
from bot.services import risks as risk_service
from bot.services.changes import DECIDER_ROLES
from bot.services.context import Ctx
from bot.services.training_readiness import ready_counts
from bot.services.trainings import modules_of
from storage.models import (
    ChangeRequest,
    ChecklistItem,
    GoLiveSettings,
    Issue,
    KeyUser,
    Project,
    Risk,
    RiskSettings,
    RiskStatus,
    SignOff,
    TrainingModule,
)
from storage.models.changes import ChangeStatus
from storage.models.issues import OPEN_STATUSES
from storage.models.phases import ItemStatus
from storage.models.signoffs import SignOffStatus

FINAL_PHASE = "final_preparation"
GO, AT_RISK, NO_GO = "go", "at_risk", "no_go"
VERDICTS = (GO, AT_RISK, NO_GO)
CRITERIA = ("key_users", "end_users", "issues", "uat", "risks", "changes", "checklist")
UNAPPROVED = (ChangeStatus.PROPOSED, ChangeStatus.UNDER_REVIEW)
DEFAULTS = GoLiveSettings(team_id="", project_id=0)
P2_MARGIN_MAX = 20


@dataclass
class Criterion:
    name: str
    status: str
    reason: str  # a catalog key under golive.reason.
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModuleGate:
    module: str
    criteria: list[Criterion]

    @property
    def verdict(self) -> str:
        return max((c.status for c in self.criteria), key=VERDICTS.index, default=GO)

    def reasons(self) -> list[Criterion]:
        """What keeps the module from go, worst first."""
        found = [c for c in self.criteria if c.status != GO]
        return sorted(found, key=lambda c: -VERDICTS.index(c.status))


@dataclass
class Gate:
    code: str
    phase: str
    thresholds: GoLiveSettings
    modules: list[ModuleGate]
    final: bool = True  # the project is in final preparation or later

    def counts(self) -> dict[str, int]:
        found = {verdict: 0 for verdict in VERDICTS}
        for module in self.modules:
            found[module.verdict] += 1
        return found

    def snapshot(self) -> dict[str, Any]:
        """The gate as JSON: what a go-live sign-off keeps of the moment it was made."""
        return {
            "code": self.code,
            "phase": self.phase,
            "modules": [
                {
                    "module": m.module,
                    "verdict": m.verdict,
                    "criteria": [
                        {"name": c.name, "status": c.status, "reason": c.reason, "params": c.params}
                        for c in m.criteria
                    ],
                }
                for m in self.modules
            ],
        }


# ------------------------------------------------------------------------------- who may


def in_final_preparation(project: Project) -> bool:
    """From the final-preparation phase on (a project whose phases have none: never)."""
    phases = list(project.phases or [])
    if FINAL_PHASE not in phases or project.phase not in phases:
        return False
    return phases.index(project.phase) >= phases.index(FINAL_PHASE)


def _key_user(ctx: Ctx, project: Project) -> KeyUser | None:
    return ctx.session.exec(
        ctx.select(KeyUser).where(
            KeyUser.project_id == project.id,
            KeyUser.user_id == (ctx.actor_id or ""),
            col(KeyUser.removed_at).is_(None),
        )
    ).first()


def visible_module(ctx: Ctx, project: Project) -> str | None:
    """None: the whole gate (PMs, team, the project's sponsors and decision makers); a module's
    name: a key user sees their own module's line; anyone else (an end user) is refused."""
    if risk_service.is_team(ctx, project):
        return None
    key_user = _key_user(ctx, project)
    if key_user is not None and key_user.role in DECIDER_ROLES:
        return None
    if key_user is not None and (key_user.module or "").strip():
        return (key_user.module or "").strip()
    raise PermissionDenied(Msg("golive.errors.not_allowed", code=project.code))


def can_see(ctx: Ctx, project: Project) -> bool:
    try:
        visible_module(ctx, project)
    except PermissionDenied:
        return False
    return True


# ------------------------------------------------------------------------------ thresholds


def thresholds(ctx: Ctx, project: Project) -> GoLiveSettings:
    row = ctx.session.exec(
        ctx.select(GoLiveSettings).where(GoLiveSettings.project_id == project.id)
    ).first()
    return row or GoLiveSettings(team_id=ctx.team_id, project_id=project.id or 0)


@dataclass
class SettingsInput:
    key_user_go: Any = None
    key_user_at_risk: Any = None
    end_user_go: Any = None
    end_user_at_risk: Any = None
    p2_margin: Any = None


def save_settings(*, ctx: Ctx, project: Project, data: SettingsInput) -> GoLiveSettings:
    """A PM sets the thresholds: whole percentages 0–100, the at-risk margin not above go, and
    how many open P2 issues leave a module at risk. Checked whole; nothing stored on an error."""
    project_service.require_pm(ctx, project)
    errors: dict[str, Msg] = {}
    values: dict[str, int] = {}
    for name in ("key_user_go", "key_user_at_risk", "end_user_go", "end_user_at_risk"):
        number = fields.whole_number(getattr(data, name))
        if number is None or not 0 <= number <= 100:
            errors[name] = Msg("golive.errors.percent")
        else:
            values[name] = number
    for group in ("key_user", "end_user"):
        go, risk = values.get(f"{group}_go"), values.get(f"{group}_at_risk")
        if go is not None and risk is not None and risk > go:
            errors[f"{group}_at_risk"] = Msg("golive.errors.margin_order", go=go)
    margin = fields.whole_number(data.p2_margin)
    if margin is None or not 0 <= margin <= P2_MARGIN_MAX:
        errors["p2_margin"] = Msg("golive.errors.p2_margin", limit=P2_MARGIN_MAX)
    if errors:
        raise ValidationError(errors)
    row = project_service.settings_row(ctx, GoLiveSettings, project)
    for name, number in values.items():
        setattr(row, name, number)
    row.p2_margin = margin or 0
    ctx.session.add(row)
    ctx.log("golive.settings_changed", project_id=project.id, **values, p2_margin=row.p2_margin)
    return row


# ------------------------------------------------------------------------------- the data


def _fold(name: str | None) -> str:
    return " ".join((name or "").split()).lower()


def _modules(ctx: Ctx, project_id: int) -> tuple[list[str], list[TrainingModule], set[str]]:
    """The union of curriculum, key users' and end users' modules (an end user's module is a
    curriculum module): names, the curriculum's first in its order, the curriculum's rows and the
    key users' modules, folded (two statements)."""
    curriculum = modules_of(ctx, project_id)
    named = ctx.session.exec(
        select(KeyUser.module)
        .where(
            KeyUser.team_id == ctx.team_id,
            KeyUser.project_id == project_id,
            col(KeyUser.removed_at).is_(None),
            col(KeyUser.module).is_not(None),
        )
        .distinct()
    ).all()
    names: dict[str, str] = {}
    for name in [m.name for m in curriculum] + sorted(str(n) for n in named):
        if _fold(name):
            names.setdefault(_fold(name), " ".join(name.split()))
    return list(names.values()), curriculum, {_fold(str(n)) for n in named if _fold(str(n))}


def _issues(ctx: Ctx, project_id: int) -> dict[str, dict[str, int]]:
    """Per module: open P1, open P2 and those of them past their resolution target (one
    statement)."""
    now = ctx.now()
    open_ = col(Issue.status).in_([str(s) for s in OPEN_STATUSES])

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    rows = ctx.session.exec(
        select(
            func.lower(col(Issue.module)),
            count(Issue.priority == "P1"),
            count(Issue.priority == "P2"),
            count(col(Issue.due_at) <= now),
        )
        .where(
            Issue.team_id == ctx.team_id,
            Issue.project_id == project_id,
            col(Issue.deleted_at).is_(None),
            col(Issue.module).is_not(None),
            col(Issue.priority).in_(("P1", "P2")),
            open_,
        )
        .group_by(func.lower(col(Issue.module)))
    ).all()
    found: dict[str, dict[str, int]] = {}
    for module, p1, p2, late in rows:
        into = found.setdefault(_fold(module), {"p1": 0, "p2": 0, "late": 0})
        into["p1"] += int(p1 or 0)
        into["p2"] += int(p2 or 0)
        into["late"] += int(late or 0)
    return found


def _high_risks(ctx: Ctx, project_id: int) -> dict[str, int]:
    """Per module: open risks graded high by the project's thresholds (one statement, the
    thresholds joined in)."""
    medium_max = (
        select(RiskSettings.medium_max)
        .where(RiskSettings.project_id == project_id)
        .scalar_subquery()
    )
    limit = func.coalesce(medium_max, risk_service.DEFAULT_MEDIUM_MAX)
    rows = ctx.session.exec(
        select(func.lower(col(Risk.module)), func.count())
        .where(
            Risk.team_id == ctx.team_id,
            Risk.project_id == project_id,
            Risk.status == RiskStatus.OPEN,
            col(Risk.module).is_not(None),
            col(Risk.level) > limit,
        )
        .group_by(func.lower(col(Risk.module)))
    ).all()
    found: dict[str, int] = {}
    for module, count in rows:
        found[_fold(module)] = found.get(_fold(module), 0) + int(count)
    return found


def _unapproved_changes(ctx: Ctx, project_id: int) -> list[tuple[int, set[str]]]:
    """The project's change requests not yet approved, each with the modules it touches (one
    statement; the modules are matched in Python, as ``changes.concerning`` matches them)."""
    rows = ctx.session.exec(
        select(ChangeRequest.number, ChangeRequest.modules).where(
            ChangeRequest.team_id == ctx.team_id,
            ChangeRequest.project_id == project_id,
            col(ChangeRequest.status).in_([str(s) for s in UNAPPROVED]),
        )
    ).all()
    found = []
    for number, modules in rows:
        listed = modules if isinstance(modules, list) else json.loads(modules or "[]")
        found.append((int(number), {_fold(m) for m in listed if _fold(m)}))
    return found


def _open_items(ctx: Ctx, project_id: int) -> int:
    return int(
        ctx.session.exec(
            select(func.count()).where(
                ChecklistItem.team_id == ctx.team_id,
                ChecklistItem.project_id == project_id,
                ChecklistItem.phase == FINAL_PHASE,
                ChecklistItem.status == ItemStatus.OPEN,
            )
        ).one()
    )


def _end_users(ctx: Ctx, project_id: int) -> dict[str, tuple[int, int]]:
    """Per module: (end users, ready), from the one readiness statement."""
    found: dict[str, tuple[int, int]] = {}
    for _id, module, _department, count, ready in ctx.session.exec(
        end_user_readiness.readiness_query(ctx, project_id)
    ).all():
        total, done = found.get(_fold(module), (0, 0))
        found[_fold(module)] = (total + int(count), done + int(ready or 0))
    return found


def _uat(ctx: Ctx, project_id: int) -> dict[str, str]:
    """Per module: its user acceptance test sign-off's state, ``signed`` when one is approved,
    else ``open`` when one awaits its signers (a rejected one counts as none): one statement."""
    rows = ctx.session.exec(
        select(func.lower(col(SignOff.module)), SignOff.status).where(
            SignOff.team_id == ctx.team_id,
            SignOff.project_id == project_id,
            SignOff.kind == "uat",
            col(SignOff.module).is_not(None),
        )
    ).all()
    found: dict[str, str] = {}
    for module, status in rows:
        key = _fold(module)
        if status == SignOffStatus.APPROVED:
            found[key] = "signed"
        elif status == SignOffStatus.OPEN and found.get(key) != "signed":
            found[key] = "open"
    return found


# ------------------------------------------------------------------------------- verdicts


def _share_criterion(name: str, counts: tuple[int, int] | None, go: int, at_risk: int) -> Criterion:
    total, ready = counts or (0, 0)
    if not total:
        return Criterion(name, AT_RISK, f"{name}_none")
    percent = ready * 100 / total
    status = GO if percent + 1e-9 >= go else AT_RISK if percent + 1e-9 >= at_risk else NO_GO
    params = {"ready": ready, "total": total, "percent": round(percent), "go": go}
    return Criterion(name, status, name, params)


def _issue_criterion(found: dict[str, int] | None, margin: int) -> Criterion:
    p1, p2, late = (
        (found or {}).get("p1", 0),
        (found or {}).get("p2", 0),
        (found or {}).get("late", 0),
    )
    params = {"p1": p1, "p2": p2, "late": late}
    if p1 or p2 > margin:
        return Criterion("issues", NO_GO, "issues", params)
    if p2 or late:
        return Criterion("issues", AT_RISK, "issues", params)
    return Criterion("issues", GO, "issues_none", params)


def compute(ctx: Ctx, project: Project, only: str | None = None) -> Gate:
    """The gate of ``project`` (no right checked: callers check), every module or ``only``'s."""
    project_id = project.id or 0
    limits = thresholds(ctx, project)
    names, curriculum, of_key_users = _modules(ctx, project_id)
    trained = ready_counts(ctx, project, curriculum) if curriculum else {}
    key_users = {_fold(m.name): trained.get(m.id or 0, (0, 0)) for m in curriculum}
    end_users = _end_users(ctx, project_id)
    issues = _issues(ctx, project_id)
    uat = _uat(ctx, project_id)
    risks = _high_risks(ctx, project_id)
    changes = _unapproved_changes(ctx, project_id)
    items = _open_items(ctx, project_id)
    # The system's modules go live: a key user's module, one with end users or a test acceptance.
    # A curriculum module that is none of these (the standard "System overview") is a course.
    names = [
        n for n in names if (key := _fold(n)) in of_key_users or key in end_users or key in uat
    ]
    if only is not None:
        names = [name for name in names if _fold(name) == _fold(only)] or [only]
    gates = []
    for name in names:
        key = _fold(name)
        criteria = [
            _share_criterion(
                "key_users", key_users.get(key), limits.key_user_go, limits.key_user_at_risk
            ),
            _share_criterion(
                "end_users", end_users.get(key), limits.end_user_go, limits.end_user_at_risk
            ),
            _issue_criterion(issues.get(key), limits.p2_margin),
        ]
        state = uat.get(key, "none")
        status = {"signed": GO, "open": AT_RISK}.get(state, NO_GO)
        criteria.append(Criterion("uat", status, f"uat_{state}"))
        high = risks.get(key, 0)
        criteria.append(
            Criterion("risks", NO_GO, "risks", {"count": high})
            if high
            else Criterion("risks", GO, "risks_none")
        )
        touching = sorted(number for number, modules in changes if key in modules)
        criteria.append(
            Criterion(
                "changes", AT_RISK, "changes", {"count": len(touching), "numbers": touching[:5]}
            )
            if touching
            else Criterion("changes", GO, "changes_none")
        )
        criteria.append(
            Criterion("checklist", AT_RISK, "checklist", {"count": items})
            if items
            else Criterion("checklist", GO, "checklist_none")
        )
        gates.append(ModuleGate(name, criteria))
    return Gate(project.code, project.phase, limits, gates, in_final_preparation(project))


def gate_for(ctx: Ctx, project: Project) -> Gate:
    """What the acting person may see: the whole gate, or their own module's line."""
    return compute(ctx, project, visible_module(ctx, project))
