"""Change requests: what changes and why, the modules and processes it touches, its estimated
impact (scope, schedule, cost, training), who asked for it and who decides; the decision through
the shared approvals (``bot.services.approvals``, subject kind ``change``); what an approved change
spawns (issues through the issue service, training hours on a curriculum module, communication-
plan items for the key users of its modules); its status and history; lists and export.

Status: proposed → under review → approved / rejected → implemented → verified. The PMs and team
create a request and send it for review at once; a key user proposes one for their own module,
which waits for the team to send it. Sending it posts the request to the project's channel and
asks its decision makers by DM; every answer is told in the post's thread (or by DM to the
requester and the PMs when the project has no channel), as is every step after the decision.
The PMs and team (and the requester while it is proposed) edit a request into a new version
(``edit_change``); under review, its decision starts again, the earlier answers kept.

Who sees what: the PMs and team every request; a key user those they requested or created, those
touching their module, and those they are asked to decide.

Rules only: what Liaison posts about a request is built by ``bot.views.changes`` and queued by
``bot.jobs.changes``, which is also the request's part in the shared approvals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, cast, func, or_
from sqlmodel import col, select

from bot.csvutil import write_csv
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import approvals, decisions, fields, records
from bot.services import issues as issue_service
from bot.services import keyusers as keyuser_service
from bot.services import projects as project_service
from bot.services.context import Ctx
from storage.models import (
    Approval,
    ApprovalAnswer,
    ApprovalDecider,
    ApprovalStatus,
    ChangeHistory,
    ChangeRequest,
    ChangeSettings,
    ChangeSpawn,
    ChangeStatus,
    Issue,
    KeyUser,
    PlanEntry,
    Project,
    TrainingModule,
)

KIND = "change"
RULES = ("all", "any")
LIST_FILTERS = ("open", "all", "mine")
OPEN_STATUSES = (ChangeStatus.PROPOSED, ChangeStatus.UNDER_REVIEW, ChangeStatus.APPROVED)
DECIDER_ROLES = ("sponsor", "decision_maker")
SPAWNABLE = (ChangeStatus.APPROVED, ChangeStatus.IMPLEMENTED, ChangeStatus.VERIFIED)
# Each move a PM or team member makes with a button or `/change N <verb>`: from, to.
MOVES = {
    "implemented": (ChangeStatus.APPROVED, ChangeStatus.IMPLEMENTED),
    "verified": (ChangeStatus.IMPLEMENTED, ChangeStatus.VERIFIED),
}
TITLE_LIMIT = fields.limit(ChangeRequest.title)
REASON_LIMIT = fields.limit(ChangeRequest.reason)
PROCESSES_LIMIT = fields.limit(ChangeRequest.processes)
ESTIMATE_LIMIT = fields.limit(ChangeRequest.impact_scope)
MODULE_LIMIT = fields.limit(ChangeSpawn.module)
MAX_MODULES = 8
MAX_HOURS = 500
MODULE_MAX_HOURS = 500  # a curriculum module's planned hours, as its own form bounds them
PLAN_RULE = "FREQ=DAILY;COUNT=1"  # a plan item told once
CSV_COLUMNS = (
    "id",
    "title",
    "status",
    "modules",
    "processes",
    "impact_scope",
    "impact_schedule",
    "impact_cost",
    "impact_training",
    "training_hours",
    "requested_by",
    "deciders",
    "rule",
    "approvals",
    "rejections",
    "created_at",
    "reason",
)


def change_ref(change: ChangeRequest) -> str:
    """How a request is named to people: its per-project number, as `/change 3` takes it."""
    return f"#{change.number}"


def local_time(project: Project, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(project.timezone))


# ----------------------------------------------------------------------------- who may


# Who runs a project's registers, and the person's own register row: one rule for every domain.
is_team = project_service.is_team
key_user_of = keyuser_service.key_user_of


def can_propose(ctx: Ctx, project: Project) -> bool:
    """PMs and team create requests; a key user proposes one for their own module."""
    return is_team(ctx, project) or key_user_of(ctx, project, ctx.actor_id) is not None


def _in_project(ctx: Ctx, project: Project, user_id: str) -> bool:
    return is_team(ctx, project, user_id) or key_user_of(ctx, project, user_id) is not None


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def _asked(ctx: Ctx, change: ChangeRequest, user_id: str) -> bool:
    return approvals.was_asked(ctx, KIND, change.id, user_id)


def can_see(ctx: Ctx, project: Project, change: ChangeRequest) -> bool:
    user = ctx.actor_id or ""
    if is_team(ctx, project) or user in (change.requested_by, change.created_by):
        return True
    own = key_user_of(ctx, project, user)
    if own is not None and own.module and any(_same(own.module, m) for m in change.modules):
        return True
    return user in change.deciders or _asked(ctx, change, user)


def _require_team(ctx: Ctx, project: Project) -> None:
    if not is_team(ctx, project):
        raise PermissionDenied(Msg("change.errors.not_team", code=project.code))


# ------------------------------------------------------------------------------ settings


def rule_of(ctx: Ctx, project: Project) -> str:
    row = ctx.session.exec(
        ctx.select(ChangeSettings).where(ChangeSettings.project_id == project.id)
    ).first()
    return row.rule if row is not None and row.rule in RULES else "all"


def save_settings(*, ctx: Ctx, project: Project, rule: str) -> ChangeSettings:
    """The project's approval rule (PMs): every decision maker must approve, or any one."""
    project_service.require_pm(ctx, project)
    if rule not in RULES:
        raise ValidationError({"rule": Msg("errors.choice", choices=", ".join(RULES))})
    row = project_service.settings_row(ctx, ChangeSettings, project)
    before, row.rule = row.rule, rule
    ctx.session.add(row)
    ctx.log("change.settings_saved", project_id=project.id, rule=rule, before=before)
    return row


def default_deciders(ctx: Ctx, project: Project) -> list[str]:
    """The project's sponsors and decision makers in the key-user register."""
    return [
        str(person)
        for person in ctx.session.exec(
            select(KeyUser.user_id)
            .where(
                KeyUser.team_id == ctx.team_id,
                KeyUser.project_id == project.id,
                col(KeyUser.role).in_(DECIDER_ROLES),
                col(KeyUser.removed_at).is_(None),
            )
            .order_by(col(KeyUser.id))
        ).all()
    ]


def training_modules(ctx: Ctx, project: Project) -> list[TrainingModule]:
    return list(
        ctx.session.exec(
            ctx.select(TrainingModule)
            .where(TrainingModule.project_id == project.id)
            .order_by(col(TrainingModule.position), col(TrainingModule.id))
        ).all()
    )


# ------------------------------------------------------------------------------ creating


@dataclass
class ChangeInput:
    """What a person types or picks in the change form, as plain values."""

    title: str = ""
    reason: str = ""
    modules: str = ""  # "FI, MM"
    processes: str = ""
    impact_scope: str = ""
    impact_schedule: str = ""
    impact_cost: str = ""
    impact_training: str = ""
    training_hours: Any = None
    training_module: Any = None
    requested_by: str | None = None
    deciders: list[str] = field(default_factory=list)
    issue_id: int | None = None


@dataclass
class Change:
    """What one service call did: the request, its project, the history entry and the outbox
    keys of the messages it queued."""

    change: ChangeRequest
    project: Project
    history: ChangeHistory
    keys: list[str] = field(default_factory=list)
    made: Any = None  # what a spawn made (the issue service's change, the module, the plan items)
    superseded: list[Approval] = field(default_factory=list)  # approvals a new version replaced


def _text(raw: Any, limit: int, name: str, errors: dict[str, Msg], *, required: bool) -> str:
    text = (raw or "").strip()
    if required and not text:
        errors[name] = Msg("errors.required")
    elif len(text) > limit:
        errors[name] = Msg("errors.too_long", limit=limit)
    return text


def _clean(ctx: Ctx, project: Project, data: ChangeInput) -> dict[str, Any]:
    errors: dict[str, Msg] = {}
    title = " ".join(_text(data.title, TITLE_LIMIT, "title", errors, required=True).split())
    reason = _text(data.reason, REASON_LIMIT, "reason", errors, required=True)
    processes = _text(data.processes, PROCESSES_LIMIT, "processes", errors, required=False)
    estimates = {
        name: _text(getattr(data, name), ESTIMATE_LIMIT, name, errors, required=False) or None
        for name in ("impact_scope", "impact_schedule", "impact_cost", "impact_training")
    }
    modules = list(dict.fromkeys(m.strip() for m in re.split(r"[,;]", data.modules or "")))
    modules = [m for m in modules if m]
    if len(modules) > MAX_MODULES:
        errors["modules"] = Msg("change.errors.too_many_modules", limit=MAX_MODULES)
    elif any(len(m) > MODULE_LIMIT for m in modules):
        errors["modules"] = Msg("errors.too_long", limit=MODULE_LIMIT)
    team = is_team(ctx, project)
    requested_by = data.requested_by or ctx.actor_id or ""
    if not team:
        own = key_user_of(ctx, project, ctx.actor_id)
        own_module = (own.module or "").strip() if own is not None else ""
        if not own_module:
            errors["modules"] = Msg("change.errors.no_own_module")
        elif any(not _same(m, own_module) for m in modules):
            errors["modules"] = Msg("change.errors.own_module", module=own_module)
        modules = [own_module] if own_module else []
        if requested_by != ctx.actor_id:
            errors["requested_by"] = Msg("change.errors.requested_by_self")
    if not issue_service.USER_ID_RE.match(requested_by):
        errors["requested_by"] = Msg("errors.user_required")
    elif "requested_by" not in errors and not _in_project(ctx, project, requested_by):
        errors["requested_by"] = Msg("change.errors.not_in_project", code=project.code)
    deciders = list(dict.fromkeys(data.deciders or []))
    if not deciders:
        errors["deciders"] = Msg("change.errors.no_deciders")
    elif len(deciders) > approvals.MAX_DECIDERS:
        errors["deciders"] = Msg("approvals.errors.too_many", limit=approvals.MAX_DECIDERS)
    elif any(not _in_project(ctx, project, person) for person in deciders):
        errors["deciders"] = Msg("change.errors.not_in_project", code=project.code)
    hours: float | None = None
    if data.training_hours not in (None, ""):
        hours = fields.finite_number(data.training_hours)
        if hours is None or not 0 < hours <= MAX_HOURS:
            errors["training_hours"] = Msg("change.errors.hours", most=MAX_HOURS)
    module_id = None
    if data.training_module not in (None, ""):
        ident = fields.record_id(data.training_module)
        module = ctx.get(TrainingModule, ident) if ident else None
        if module is None or module.project_id != project.id:
            errors["training_module"] = Msg("change.errors.training_module")
        else:
            module_id = module.id
    if errors:
        raise ValidationError(errors)
    return {
        "title": title,
        "reason": reason,
        "modules": modules,
        "processes": processes or None,
        "training_hours": hours,
        "training_module_id": module_id,
        "requested_by": requested_by,
        "deciders": deciders,
        **estimates,
    }


def _history(ctx: Ctx, change: ChangeRequest, action: str, **detail: Any) -> ChangeHistory:
    return records.history(ctx, ChangeHistory, action, detail, change_id=change.id or 0)


def _touch(ctx: Ctx, change: ChangeRequest, expected_version: int | None) -> None:
    """Refuse a change made from a card or form shown before the request last changed."""
    stale = Msg("change.errors.stale", ref=change_ref(change))
    records.touch(ctx, change, expected_version, "change", stale)


def create_change(*, ctx: Ctx, project: Project, data: ChangeInput) -> Change:
    """A new request, numbered per project, proposed (the team then sends it for review)."""
    if not can_propose(ctx, project):
        raise PermissionDenied(Msg("change.errors.cannot_propose", code=project.code))
    values = _clean(ctx, project, data)
    issue_id = None
    if data.issue_id is not None:
        issue = ctx.get(Issue, data.issue_id)
        if issue is not None and issue.project_id == project.id:
            issue_id = issue.id
    number = records.next_number(ctx, ChangeSettings, project)
    now = ctx.now()
    change = ChangeRequest(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        number=number,
        status=ChangeStatus.PROPOSED,
        issue_id=issue_id,
        created_by=ctx.actor_id or "",
        created_at=now,
        updated_at=now,
        **values,
    )
    ctx.session.add(change)
    ctx.session.flush()
    entry = _history(ctx, change, "proposed", title=change.title)
    ctx.log("change.proposed", project_id=project.id, change=change.number)
    return Change(change, project, entry)


def send_for_review(
    *,
    ctx: Ctx,
    change: ChangeRequest,
    project: Project,
    render: Callable[[Approval, approvals.Summary], dict[str, Any]],
    expected_version: int | None = None,
) -> Change:
    """Under review: each decision maker asked under the project's rule (the shared approvals;
    ``render`` builds their DM). The keys are those of the DMs queued."""
    _require_team(ctx, project)
    if change.status != ChangeStatus.PROPOSED:
        raise ValidationError({"change": Msg("change.errors.not_proposed", ref=change_ref(change))})
    _touch(ctx, change, expected_version)
    change.status = ChangeStatus.UNDER_REVIEW
    rule = rule_of(ctx, project)
    entry = _history(ctx, change, "submitted", rule=rule, deciders=list(change.deciders))
    _, keys = approvals.ask(
        ctx=ctx,
        subject_kind=KIND,
        subject_id=change.id or 0,
        version=change.version,
        project=project,
        deciders=change.deciders,
        rule=rule,
        render=render,
    )
    ctx.log("change.submitted", project_id=project.id, change=change.number, rule=rule)
    return Change(change, project, entry, keys)


# ------------------------------------------------------------------------------ editing

EDITABLE = (ChangeStatus.PROPOSED, ChangeStatus.UNDER_REVIEW)
EDITED_FIELDS = (
    "title",
    "reason",
    "modules",
    "processes",
    "impact_scope",
    "impact_schedule",
    "impact_cost",
    "impact_training",
    "training_hours",
    "training_module_id",
    "requested_by",
    "deciders",
)


def require_editable(ctx: Ctx, project: Project, change: ChangeRequest) -> None:
    """The PMs and team edit a request until it is decided; its requester while it is
    proposed."""
    if change.status not in EDITABLE:
        raise ValidationError({"change": Msg("change.errors.not_editable", ref=change_ref(change))})
    if is_team(ctx, project):
        return
    if change.status == ChangeStatus.PROPOSED and ctx.actor_id == change.requested_by:
        return
    raise PermissionDenied(Msg("change.errors.cannot_edit", ref=change_ref(change)))


def edit_defaults(change: ChangeRequest) -> ChangeInput:
    """The change form filled in with the request as it stands."""
    return ChangeInput(
        title=change.title,
        reason=change.reason,
        modules=", ".join(change.modules),
        processes=change.processes or "",
        impact_scope=change.impact_scope or "",
        impact_schedule=change.impact_schedule or "",
        impact_cost=change.impact_cost or "",
        impact_training=change.impact_training or "",
        training_hours="" if change.training_hours is None else f"{change.training_hours:g}",
        training_module=change.training_module_id,
        requested_by=change.requested_by,
        deciders=list(change.deciders),
    )


def edit_change(
    *,
    ctx: Ctx,
    change: ChangeRequest,
    project: Project,
    data: ChangeInput,
    render: Callable[[Approval, approvals.Summary], dict[str, Any]],
    expected_version: int | None = None,
) -> Change:
    """A new version of the request. Under review, its decision starts again (the shared
    approvals: the pending one is superseded, its answers stay, the deciders are asked about the
    new version; ``render`` builds their DM)."""
    require_editable(ctx, project, change)
    values = _clean(ctx, project, data)
    changed = [name for name in EDITED_FIELDS if getattr(change, name) != values[name]]
    if not changed:
        raise ValidationError({"title": Msg("change.errors.unchanged")})
    _touch(ctx, change, expected_version)
    for name in changed:
        setattr(change, name, values[name])
    ctx.session.add(change)
    review = change.status == ChangeStatus.UNDER_REVIEW
    entry = _history(ctx, change, "edited", fields=changed, version=change.version, review=review)
    done = Change(change, project, entry)
    if review:
        done.superseded = list(
            ctx.session.exec(
                ctx.select(Approval).where(
                    Approval.subject_kind == KIND,
                    Approval.subject_id == change.id,
                    Approval.status == ApprovalStatus.PENDING,
                )
            ).all()
        )
        _, done.keys = approvals.ask(
            ctx=ctx,
            subject_kind=KIND,
            subject_id=change.id or 0,
            version=change.version,
            project=project,
            deciders=change.deciders,
            rule=rule_of(ctx, project),
            render=render,
        )
    ctx.log(
        "change.edited",
        project_id=project.id,
        change=change.number,
        version=change.version,
        fields=changed,
        review=review,
    )
    return done


# ------------------------------------------------------------------ the approvals' subject


def current_version(ctx: Ctx, change_id: int) -> int | None:
    """The version awaiting a decision: the request's, while it is under review."""
    change = ctx.get(ChangeRequest, change_id)
    if change is None or change.status != ChangeStatus.UNDER_REVIEW:
        return None
    return change.version


def of_approvals(ctx: Ctx, asked: list[Approval]) -> dict[int, tuple[ChangeRequest, Project]]:
    """The request and project of each approval, by approval id (one query)."""
    return approvals.subjects_of(ctx, asked, ChangeRequest)


def record_answer(ctx: Ctx, answered: approvals.Answered) -> list[Change]:
    """An answer in the request's history; an outcome moves the request (approved or rejected)
    and is a step of its own."""
    approval, row = answered.approval, answered.answer
    change = ctx.get(ChangeRequest, approval.subject_id)
    assert change is not None
    project = project_service.get_project_by_id(ctx, change.project_id)
    entry = _history(ctx, change, row.answer, comment=row.comment or "", version=row.version)
    steps = [Change(change, project, entry)]
    if answered.outcome is not None:
        change.status = answered.outcome
        _touch(ctx, change, None)
        done = _history(ctx, change, answered.outcome, rule=approval.rule)
        steps.append(Change(change, project, done))
        _log_decision(ctx, change, project, approval, answered.outcome)
        ctx.log(
            "change.decided", project_id=project.id, change=change.number, outcome=change.status
        )
    return steps


def _log_decision(
    ctx: Ctx, change: ChangeRequest, project: Project, approval: Approval, outcome: str
) -> None:
    """The decision in the project's decision log, decided by those whose answers made it (every
    approval, or the rejection(s)), on today's local date."""
    wanted = "approve" if outcome == ChangeStatus.APPROVED else "reject"
    decided = approvals.standing(ctx, approval).decided
    decisions.record(
        ctx=ctx,
        project=project,
        text=plain(
            project.locale,
            f"change.decision_log.{outcome}",
            ref=change_ref(change),
            title=change.title,
        ),
        decided_by=[person for person, answer in decided.items() if answer == wanted],
        decided_on=ctx.now().astimezone(ZoneInfo(project.timezone)).date(),
        source="change",
        change_id=change.id,
    )


# ------------------------------------------------------------------------------- moving on


def move(
    *,
    ctx: Ctx,
    change: ChangeRequest,
    project: Project,
    to: str,
    expected_version: int | None = None,
) -> Change:
    """approved → implemented → verified (PMs and team)."""
    _require_team(ctx, project)
    if to not in MOVES:
        raise ValidationError({"status": Msg("errors.choice", choices=", ".join(MOVES))})
    before, after = MOVES[to]
    if change.status != before:
        raise ValidationError(
            {"status": Msg(f"change.errors.not_{before}", ref=change_ref(change))}
        )
    _touch(ctx, change, expected_version)
    change.status = after
    entry = _history(ctx, change, after)
    ctx.log(f"change.{after}", project_id=project.id, change=change.number)
    return Change(change, project, entry)


# ---------------------------------------------------------------------------- spawning


def _spawnable(ctx: Ctx, change: ChangeRequest, project: Project) -> None:
    _require_team(ctx, project)
    if change.status not in SPAWNABLE:
        raise ValidationError({"change": Msg("change.errors.not_approved", ref=change_ref(change))})


def _spawned(ctx: Ctx, change: ChangeRequest, kind: str, module: str = "") -> ChangeSpawn | None:
    return ctx.session.exec(
        ctx.select(ChangeSpawn).where(
            ChangeSpawn.change_id == change.id,
            ChangeSpawn.kind == kind,
            ChangeSpawn.module == module,
        )
    ).first()


def _record_spawn(
    ctx: Ctx, change: ChangeRequest, kind: str, module: str, target_id: int | None
) -> ChangeSpawn:
    row = ChangeSpawn(
        team_id=ctx.team_id,
        change_id=change.id or 0,
        kind=kind,
        module=module,
        target_id=target_id,
        actor_id=ctx.actor_id or "",
        at=ctx.now(),
    )
    ctx.session.add(row)
    ctx.session.flush()
    return row


def spawn_issue(*, ctx: Ctx, change: ChangeRequest, project: Project, module: str) -> Change:
    """An approved change's implementation issue for one of its modules (``""``: the whole
    change), through the issue service; once per module (``made``: the issue service's change)."""
    _spawnable(ctx, change, project)
    if module and not any(m == module for m in change.modules):
        raise NotFound(Msg("change.errors.no_such_module", ref=change_ref(change)))
    if (done := _spawned(ctx, change, "issue", module)) is not None:
        issue, _ = issue_service.get_issue(ctx, done.target_id or 0)
        ref = issue_service.issue_key(project, issue)
        raise ValidationError({"change": Msg("change.errors.already_issue", ref=ref)})
    title = plain(
        project.locale,
        "change.spawn.issue_title",
        ref=change_ref(change),
        title=change.title,
        module=module,
    )
    issue_change = issue_service.create_issue(
        ctx=ctx,
        project=project,
        data=issue_service.IssueInput(
            title=title[: issue_service.TITLE_LIMIT],
            description=plain(
                project.locale,
                "change.spawn.issue_description",
                ref=change_ref(change),
                code=project.code,
                reason=change.reason,
            )[:3000],
            kind="issue",
            module=module,
        ),
    )
    _record_spawn(ctx, change, "issue", module, issue_change.issue.id)
    ref = issue_service.issue_key(project, issue_change.issue)
    _touch(ctx, change, None)
    entry = _history(ctx, change, "spawned_issue", issue=ref, module=module)
    ctx.log("change.spawned_issue", project_id=project.id, change=change.number, issue=ref)
    return Change(change, project, entry, made=issue_change)


def spawn_training(*, ctx: Ctx, change: ChangeRequest, project: Project) -> Change:
    """The change's training hours added to its curriculum module's planned hours, once
    (``made``: the module)."""
    _spawnable(ctx, change, project)
    if change.training_module_id is None or not change.training_hours:
        raise ValidationError({"change": Msg("change.errors.no_training", ref=change_ref(change))})
    if _spawned(ctx, change, "training") is not None:
        raise ValidationError({"change": Msg("change.errors.already_training")})
    module = ctx.get(TrainingModule, change.training_module_id)
    if module is None or module.project_id != project.id:
        raise NotFound(Msg("change.errors.training_module"))
    before = module.planned_hours
    if before + change.training_hours > MODULE_MAX_HOURS:
        raise ValidationError(
            {"change": Msg("change.errors.module_hours", module=module.name, most=MODULE_MAX_HOURS)}
        )
    module.planned_hours = round(before + change.training_hours, 2)
    module.updated_at = ctx.now()
    ctx.session.add(module)
    _record_spawn(ctx, change, "training", "", module.id)
    _touch(ctx, change, None)
    entry = _history(
        ctx,
        change,
        "spawned_training",
        module=module.name,
        hours=change.training_hours,
        before=before,
        after=module.planned_hours,
    )
    ctx.log(
        "change.spawned_training",
        project_id=project.id,
        change=change.number,
        module_id=module.id,
        hours=change.training_hours,
    )
    return Change(change, project, entry, made=module)


def spawn_plan(*, ctx: Ctx, change: ChangeRequest, project: Project) -> Change:
    """A communication-plan item per module of the change, telling that module's key users of
    it (once, by DM, owned by the person who clicks); once per change (``made``: the items)."""
    _spawnable(ctx, change, project)
    if not change.modules:
        raise ValidationError({"change": Msg("change.errors.no_modules", ref=change_ref(change))})
    if _spawned(ctx, change, "plan") is not None:
        raise ValidationError({"change": Msg("change.errors.already_plan")})
    now = ctx.now()
    note = plain(
        project.locale,
        "change.spawn.plan_note",
        ref=change_ref(change),
        code=project.code,
        title=change.title,
    )
    entries = []
    for module in change.modules:
        entry = PlanEntry(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            audience_kind="module",
            audience_value=module[:40],
            kind="change_notice",
            rrule=PLAN_RULE,
            first_at=now,
            channel="dm",
            owner_id=ctx.actor_id or "",
            note=note[:1000],
            next_due_at=now,
            created_by=ctx.actor_id or "",
            created_at=now,
            updated_at=now,
        )
        ctx.session.add(entry)
        entries.append(entry)
    ctx.session.flush()
    _record_spawn(ctx, change, "plan", "", entries[0].id)
    _touch(ctx, change, None)
    entry = _history(ctx, change, "spawned_plan", modules=list(change.modules), item=note[:1000])
    ctx.log(
        "change.spawned_plan", project_id=project.id, change=change.number, entries=len(entries)
    )
    return Change(change, project, entry, made=entries)


# ------------------------------------------------------------------------------ finding


def get_change(ctx: Ctx, change_id: int) -> tuple[ChangeRequest, Project]:
    """A request by its id (from a button or a form), if the acting person may see it."""
    return records.by_id(ctx, ChangeRequest, change_id, can_see, "change.errors.not_found")


def find_change(ctx: Ctx, project: Project, number: Any) -> ChangeRequest:
    """A request by its number in a project ("3" or "#3"), if the acting person may see it."""
    missing = "change.errors.not_found"
    return records.by_number(ctx, ChangeRequest, project, number, can_see, missing)


@dataclass
class Detail:
    """Everything a request's card shows."""

    change: ChangeRequest
    project: Project
    history: list[ChangeHistory]
    standing: approvals.Standing | None
    spawns: list[ChangeSpawn]
    issue_refs: dict[int, str]
    training_module: str | None
    origin: str | None
    can_manage: bool


def detail(ctx: Ctx, change: ChangeRequest, project: Project) -> Detail:
    entries = list(
        ctx.session.exec(
            ctx.select(ChangeHistory)
            .where(ChangeHistory.change_id == change.id)
            .order_by(col(ChangeHistory.id))
        ).all()
    )
    approval = approvals.latest(ctx, KIND, change.id or 0)
    standing = approvals.standing(ctx, approval) if approval is not None else None
    spawns = list(
        ctx.session.exec(
            ctx.select(ChangeSpawn)
            .where(ChangeSpawn.change_id == change.id)
            .order_by(col(ChangeSpawn.id))
        ).all()
    )
    issue_ids = [s.target_id for s in spawns if s.kind == "issue" and s.target_id]
    if change.issue_id:
        issue_ids.append(change.issue_id)
    refs = {}
    if issue_ids:
        for issue in ctx.session.exec(ctx.select(Issue).where(col(Issue.id).in_(issue_ids))).all():
            refs[issue.id or 0] = issue_service.issue_key(project, issue)
    module = (
        ctx.get(TrainingModule, change.training_module_id) if change.training_module_id else None
    )
    return Detail(
        change,
        project,
        entries,
        standing,
        spawns,
        refs,
        module.name if module is not None else None,
        refs.get(change.issue_id or 0),
        is_team(ctx, project),
    )


# ------------------------------------------------------------------------- lists and export


@dataclass
class ChangePage:
    project: Project
    items: list[ChangeRequest]
    total: int
    page: int
    pages: int
    scope: str


def _visible(ctx: Ctx, project: Project) -> list[Any]:
    """The conditions that keep a list to what the acting person may see."""
    conditions: list[Any] = [
        ChangeRequest.team_id == ctx.team_id,
        ChangeRequest.project_id == project.id,
    ]
    if is_team(ctx, project):
        return conditions
    user = ctx.actor_id or ""
    own = key_user_of(ctx, project, user)
    conditions.append(concerning(user, own.module if own is not None else None))
    return conditions


def _module_needle(module: str) -> str:
    """A LIKE pattern finding ``module`` as one element of a JSON list, as the store wrote it
    (json.dumps: non-ASCII as escapes), with LIKE's own characters escaped by ``!``."""
    quoted = json.dumps(module.strip().lower())
    return "%" + re.sub(r"([!%_])", r"!\1", quoted) + "%"


def concerning(user_id: str, module: str | None) -> Any:
    """The requests that concern a person: they requested or created it, they are asked to decide
    it, or it touches their module (matched in the JSON list's text, case-insensitively for
    ASCII; pages shown are checked again in Python by ``can_see``)."""
    asked = (
        select(Approval.subject_id)
        .join(ApprovalDecider, col(ApprovalDecider.approval_id) == col(Approval.id))
        .where(Approval.subject_kind == KIND, ApprovalDecider.user_id == user_id)
    )
    mine = [
        col(ChangeRequest.requested_by) == user_id,
        col(ChangeRequest.created_by) == user_id,
        col(ChangeRequest.id).in_(asked),
    ]
    if module and module.strip():
        text = func.lower(cast(ChangeRequest.modules, String))
        mine.append(text.like(_module_needle(module), escape="!"))
    return or_(*mine)


def linked_to(ctx: Ctx, key_user: KeyUser, limit: int) -> list[tuple[int, str, str]]:
    """Number, title and status of the requests of ``key_user``'s project that concern them,
    newest first, at most ``limit``: one statement."""
    rows = ctx.session.exec(
        select(ChangeRequest.number, ChangeRequest.title, ChangeRequest.status)
        .where(
            ChangeRequest.team_id == ctx.team_id,
            ChangeRequest.project_id == key_user.project_id,
            concerning(key_user.user_id, key_user.module),
        )
        .order_by(col(ChangeRequest.number).desc())
        .limit(limit)
    ).all()
    return [(number, title, status) for number, title, status in rows]


def list_changes(
    ctx: Ctx, project: Project, scope: str = "open", *, page: int = 1, page_size: int = 15
) -> ChangePage:
    """The requests of a project the acting person may see matching ``scope`` (open, all, mine),
    newest first: filtered, counted, ordered and cut in SQL."""
    if scope not in LIST_FILTERS:
        raise ValidationError({"filter": Msg("errors.choice", choices=", ".join(LIST_FILTERS))})
    conditions = _visible(ctx, project)
    user = ctx.actor_id or ""
    if scope == "mine":
        conditions.append(
            or_(col(ChangeRequest.requested_by) == user, col(ChangeRequest.created_by) == user)
        )
    if scope == "open":
        conditions.append(col(ChangeRequest.status).in_(OPEN_STATUSES))
    rows, total, page, pages = records.newest_page(ctx, ChangeRequest, conditions, page, page_size)
    return ChangePage(project, rows, total, page, pages, scope)


def export_csv(ctx: Ctx, project: Project) -> str:
    """Every request of a project with its latest decision's counts (PMs and team)."""
    _require_team(ctx, project)
    changes = ctx.session.exec(
        ctx.select(ChangeRequest)
        .where(ChangeRequest.project_id == project.id)
        .order_by(col(ChangeRequest.number))
    ).all()
    latest: dict[int, tuple[str, dict[str, str]]] = {}
    rows = ctx.session.exec(
        select(Approval, ApprovalAnswer)
        .outerjoin(
            ApprovalAnswer,
            col(ApprovalAnswer.approval_id) == col(Approval.id),
        )
        .where(
            Approval.team_id == ctx.team_id,
            Approval.project_id == project.id,
            Approval.subject_kind == KIND,
        )
        .order_by(col(Approval.id), col(ApprovalAnswer.id))
    ).all()
    answers: dict[int, list[Any]] = {}
    for approval, answer in rows:
        answers.setdefault(approval.id or 0, [])
        if answer is not None:
            answers[approval.id or 0].append(answer)
        latest[approval.subject_id] = (
            approval.rule,
            approvals.decisions(answers[approval.id or 0]),
        )
    lines = []
    for change in changes:
        rule, decided = latest.get(change.id or 0, ("", {}))
        lines.append(
            (
                change_ref(change),
                change.title,
                change.status,
                ", ".join(change.modules),
                change.processes or "",
                change.impact_scope or "",
                change.impact_schedule or "",
                change.impact_cost or "",
                change.impact_training or "",
                "" if change.training_hours is None else f"{change.training_hours:g}",
                change.requested_by,
                " ".join(change.deciders),
                rule,
                sum(1 for a in decided.values() if a == "approve"),
                sum(1 for a in decided.values() if a == "reject"),
                local_time(project, change.created_at).isoformat(timespec="minutes"),
                change.reason,
            )
        )
    ctx.log("change.exported", project_id=project.id, rows=len(lines))
    return write_csv(CSV_COLUMNS, lines)


# ------------------------------------------------------------------------------ Home tab

HOME_LIMIT = 20


def waiting_select(
    team_id: str, user_id: str, managed_ids: list[int], limit: int = HOME_LIMIT
) -> Any:
    """What waits, for a Home tab, as a select of plain columns (``kind`` "change", id, number,
    title, project id, the decider, who created it, since when, the decider's row): the
    requests under review waiting for a decision of ``user_id`` or, in the projects they manage,
    for anyone, and the proposals of those projects waiting for the team to send them (the
    decider None); oldest first, at most ``limit``. The Home tab reads it in one statement with
    the sign-offs waiting (``bot.services.awaiting.home_rows``)."""
    managed = col(ChangeRequest.project_id).in_(managed_ids or [0])
    under_review = and_(
        ChangeRequest.status == ChangeStatus.UNDER_REVIEW,
        col(ApprovalDecider.user_id).is_not(None),
        or_(col(ApprovalDecider.user_id) == user_id, managed),
    )
    proposed = and_(ChangeRequest.status == ChangeStatus.PROPOSED, managed)
    return approvals.waiting_select(
        KIND,
        ChangeRequest,
        since=col(ChangeRequest.updated_at),
        where=and_(ChangeRequest.team_id == team_id, or_(under_review, proposed)),
        limit=limit,
        outer=True,
    )


def waiting_rows(
    rows: list[Any], projects: dict[int, Project]
) -> list[tuple[ChangeRequest, Project, str | None, int | None]]:
    """The requests of ``waiting_select``'s rows (what a Home part shows of them), in order, with
    the decider and the pending approval (None for a proposal)."""
    return [
        (
            ChangeRequest(id=row.id, number=row.number, title=row.title, created_by=row.by),
            projects[row.project_id],
            row.person,
            row.approval,
        )
        for row in rows
        if row.project_id in projects
    ]
