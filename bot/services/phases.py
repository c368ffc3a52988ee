"""Phase checklists: each phase of a project has its checklist (item, owner, due date, status,
evidence), numbered per project; the ready-made ASAP activities loaded with one click; who may
read, edit and mark; progress of the current phase for the Home tab and the digest; the items
due for their owners; and the move to the next phase, confirmed when its exit criteria
(``bot.services.phase_exit``) still find something open.

Key users read a project's checklists; the PMs and the team add, edit and remove items; an
item's owner and the PMs mark it done (evidence optional, shown), not applicable, or open again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlmodel import col, or_, select, update

from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import LOCALES, has_key, plain
from bot.services import fields, phase_exit
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.keyusers import active_key_user
from storage.models import (
    ChecklistItem,
    ChecklistSettings,
    ItemStatus,
    PhaseMove,
    Project,
)

TEXT_LIMIT = fields.limit(ChecklistItem.text)
EVIDENCE_LIMIT = fields.limit(ChecklistItem.evidence)
STATUSES = tuple(str(status) for status in ItemStatus)
MAX_ITEMS_PER_PHASE = 200
# The owners' list of what is due reaches them from this hour in the project's timezone.
REMINDER_HOUR = 9

# The ready-made ASAP activities of each standard phase: catalog keys under
# ``checklist.template.<phase>.<activity>``, in order.
TEMPLATE: dict[str, tuple[str, ...]] = {
    "preparation": ("organisation", "schedule", "team_training", "kick_off"),
    "blueprint": ("as_is", "to_be", "documentation", "approval"),
    "realization": (
        "configuration",
        "team_training",
        "test_design",
        "interfaces_reports",
        "authorisations",
        "end_user_training_prep",
    ),
    "final_preparation": (
        "final_configuration",
        "end_user_training",
        "master_data",
        "opening_balances",
        "go_live_plan",
    ),
    "go_live_support": ("support", "optimisation", "review"),
}


# ------------------------------------------------------------------------------ who may


def can_edit(ctx: Ctx, project: Project) -> bool:
    """Adding, editing and removing items, loading the ready-made list: the PMs and the team."""
    return project_service.can_see_register(ctx, project)


def can_read(ctx: Ctx, project: Project) -> bool:
    """The checklists: the PMs, the team and the project's key users."""
    return can_edit(ctx, project) or active_key_user(ctx, project, ctx.actor_id or "") is not None


def can_mark(ctx: Ctx, project: Project, item: ChecklistItem) -> bool:
    """Done, not applicable, open again: the item's owner and the PMs."""
    owner = item.owner_id is not None and item.owner_id == ctx.actor_id
    return owner or project_service.can_manage(ctx, project)


def require_edit(ctx: Ctx, project: Project) -> None:
    if not can_edit(ctx, project):
        raise PermissionDenied(Msg("checklist.errors.not_team", code=project.code))


def require_mark(ctx: Ctx, project: Project, item: ChecklistItem) -> None:
    if not can_mark(ctx, project, item):
        raise PermissionDenied(Msg("checklist.errors.not_owner", ref=item_ref(item)))


def require_read(ctx: Ctx, project: Project) -> None:
    if not can_read(ctx, project):
        raise PermissionDenied(Msg("checklist.errors.not_member", code=project.code))


def _in_project(ctx: Ctx, project: Project, user_id: str) -> bool:
    return (
        project_service.is_team_member(ctx, project, user_id)
        or active_key_user(ctx, project, user_id) is not None
    )


# ------------------------------------------------------------------------------ finding


def item_ref(item: ChecklistItem) -> str:
    return f"#{item.number}"


def phase_named(project: Project, raw: str) -> str | None:
    """The project's phase a person names, as stored ("final preparation") or as labelled in
    either language ("Go-live and support", "系统实现"); None for no phase of the project."""
    wanted = project_service.phase_name(raw)
    if wanted in project.phases:
        return wanted
    for phase in project.phases:
        for locale in LOCALES:
            key = f"phases.{phase}"
            if has_key(key) and project_service.phase_name(plain(locale, key)) == wanted:
                return phase
    return None


def phase_of(project: Project, raw: str | None) -> str:
    """The phase a person names, else the current one."""
    if not raw or not raw.strip():
        return project.phase
    wanted = phase_named(project, raw)
    if wanted is None:
        raise ValidationError(
            {"phase": Msg("errors.phase_unknown", phases=", ".join(project.phases))}
        )
    return wanted


def get_item(ctx: Ctx, raw_id: Any) -> tuple[ChecklistItem, Project]:
    """An item by the id a button or form carries (perhaps forged), if the acting person may
    read its project's checklists: otherwise it is not found."""
    ident = fields.record_id(raw_id)
    item = ctx.get(ChecklistItem, ident) if ident else None
    if item is None:
        raise NotFound(Msg("checklist.errors.not_found"))
    project = project_service.get_project_by_id(ctx, item.project_id)
    if not can_read(ctx, project):
        raise NotFound(Msg("checklist.errors.not_found"))
    return item, project


def find_item(ctx: Ctx, project: Project, number: Any) -> ChecklistItem:
    """An item by its per-project number ("3" or "#3")."""
    require_read(ctx, project)
    text = str(number).lstrip("#")
    item = ctx.session.exec(
        ctx.select(ChecklistItem).where(
            ChecklistItem.project_id == project.id,
            ChecklistItem.number == (int(text) if text.isdigit() else 0),
        )
    ).first()
    if item is None:
        raise NotFound(Msg("checklist.errors.not_found"))
    return item


def local_today(project: Project, now: datetime) -> date:
    return now.astimezone(ZoneInfo(project.timezone)).date()


@dataclass
class ChecklistPage:
    """One page of a phase's checklist, with the phase's counts (every item, not the page's)."""

    project: Project
    phase: str
    items: list[ChecklistItem]
    progress: Progress
    page: int
    pages: int
    today: date
    can_edit: bool
    is_pm: bool
    actor_id: str


def checklist_page(
    ctx: Ctx, project: Project, phase: str | None = None, *, page: int = 1, page_size: int = 10
) -> ChecklistPage:
    require_read(ctx, project)
    wanted = phase_of(project, phase)
    today = local_today(project, ctx.now())
    progress = _progress_rows(ctx, [(project, wanted)])[project.id or 0]
    count = progress.total + progress.not_applicable
    pages = max(1, -(-count // page_size))
    page = min(max(page, 1), pages)
    rows = ctx.session.exec(
        ctx.select(ChecklistItem)
        .where(ChecklistItem.project_id == project.id, ChecklistItem.phase == wanted)
        .order_by(col(ChecklistItem.number))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return ChecklistPage(
        project,
        wanted,
        list(rows),
        progress,
        page,
        pages,
        today,
        can_edit(ctx, project),
        project_service.can_manage(ctx, project),
        ctx.actor_id or "",
    )


# ------------------------------------------------------------------------------ changes


@dataclass
class ItemInput:
    text: str = ""
    owner_id: str | None = None
    due_on: str | date | None = None


def _day(raw: str | date | None, errors: dict[str, Msg]) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        errors["due_on"] = Msg("checklist.errors.date_format")
        return None


def _clean(ctx: Ctx, project: Project, data: ItemInput) -> dict[str, Any]:
    errors: dict[str, Msg] = {}
    text = " ".join((data.text or "").split())
    if not text:
        errors["text"] = Msg("errors.required")
    elif len(text) > TEXT_LIMIT:
        errors["text"] = Msg("errors.too_long", limit=TEXT_LIMIT)
    owner = data.owner_id or None
    if owner is not None and not _in_project(ctx, project, owner):
        errors["owner_id"] = Msg("checklist.errors.owner_not_in_project", code=project.code)
    due_on = _day(data.due_on, errors)
    if errors:
        raise ValidationError(errors)
    return {"text": text, "owner_id": owner, "due_on": due_on}


def _phase_size(ctx: Ctx, project: Project, phase: str) -> int:
    return int(
        ctx.session.exec(
            select(func.count())
            .select_from(ChecklistItem)
            .where(
                ChecklistItem.team_id == ctx.team_id,
                ChecklistItem.project_id == project.id,
                ChecklistItem.phase == phase,
            )
        ).one()
    )


def _numbers(ctx: Ctx, project: Project, count: int) -> range:
    settings = project_service.settings_row(ctx, ChecklistSettings, project, lock=True)
    first = settings.next_number
    settings.next_number = first + count
    ctx.session.add(settings)
    return range(first, first + count)


def _new_item(
    ctx: Ctx, project: Project, phase: str, number: int, values: dict[str, Any]
) -> ChecklistItem:
    now = ctx.now()
    return ChecklistItem(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        phase=phase,
        number=number,
        status=ItemStatus.OPEN,
        created_by=ctx.actor_id or "",
        created_at=now,
        updated_at=now,
        **values,
    )


def add_item(*, ctx: Ctx, project: Project, phase: str | None, data: ItemInput) -> ChecklistItem:
    require_edit(ctx, project)
    wanted = phase_of(project, phase)
    values = _clean(ctx, project, data)
    if _phase_size(ctx, project, wanted) >= MAX_ITEMS_PER_PHASE:
        raise ValidationError({"text": Msg("checklist.errors.too_many", limit=MAX_ITEMS_PER_PHASE)})
    [number] = _numbers(ctx, project, 1)
    item = _new_item(ctx, project, wanted, number, values)
    ctx.session.add(item)
    ctx.session.flush()
    ctx.log("checklist.added", project_id=project.id, phase=wanted, item=number)
    return item


def edit_item(*, ctx: Ctx, item: ChecklistItem, project: Project, data: ItemInput) -> ChecklistItem:
    require_edit(ctx, project)
    values = _clean(ctx, project, data)
    changed = [name for name, value in values.items() if getattr(item, name) != value]
    for name, value in values.items():
        setattr(item, name, value)
    if "due_on" in changed or "owner_id" in changed:
        item.reminded_on = None  # a new date or owner is told afresh
    item.updated_at = ctx.now()
    ctx.session.add(item)
    ctx.log("checklist.edited", project_id=project.id, item=item.number, changed=changed)
    return item


def remove_item(*, ctx: Ctx, item: ChecklistItem, project: Project) -> ChecklistItem:
    require_edit(ctx, project)
    ctx.session.delete(item)
    ctx.session.flush()
    ctx.log("checklist.removed", project_id=project.id, phase=item.phase, item=item.number)
    return item


def mark(
    *, ctx: Ctx, item: ChecklistItem, project: Project, status: str, evidence: str = ""
) -> ChecklistItem:
    """Done (with evidence, optional), not applicable, or open again."""
    require_mark(ctx, project, item)
    if status not in STATUSES:
        raise ValidationError({"status": Msg("errors.choice", choices=", ".join(STATUSES))})
    note = (evidence or "").strip()
    if len(note) > EVIDENCE_LIMIT:
        raise ValidationError({"evidence": Msg("errors.too_long", limit=EVIDENCE_LIMIT)})
    if status == item.status and status == ItemStatus.OPEN:
        raise ValidationError({"status": Msg("checklist.errors.already_open", ref=item_ref(item))})
    item.status = status
    if status == ItemStatus.OPEN:
        item.marked_by = item.marked_at = None
        item.reminded_on = None
    else:
        item.marked_by, item.marked_at = ctx.actor_id, ctx.now()
    item.evidence = note or (item.evidence if status == ItemStatus.OPEN else None)
    item.updated_at = ctx.now()
    ctx.session.add(item)
    ctx.log(f"checklist.{status}", project_id=project.id, item=item.number)
    return item


def use_template(*, ctx: Ctx, project: Project) -> list[ChecklistItem]:
    """The ready-made ASAP activities, in the project's language, for each standard phase of the
    project whose checklist is still empty (one click per project; editable afterwards)."""
    require_edit(ctx, project)
    filled = set(
        ctx.session.exec(
            select(ChecklistItem.phase)
            .where(ChecklistItem.team_id == ctx.team_id, ChecklistItem.project_id == project.id)
            .distinct()
        ).all()
    )
    wanted = [
        (phase, activity)
        for phase in project.phases
        if phase in TEMPLATE and phase not in filled
        for activity in TEMPLATE[phase]
    ]
    if not wanted:
        raise ValidationError({"template": Msg("checklist.errors.template_nothing")})
    items = [
        _new_item(
            ctx,
            project,
            phase,
            number,
            {"text": plain(project.locale, f"checklist.template.{phase}.{activity}")},
        )
        for (phase, activity), number in zip(
            wanted, _numbers(ctx, project, len(wanted)), strict=True
        )
    ]
    ctx.session.add_all(items)
    ctx.session.flush()
    ctx.log("checklist.template", project_id=project.id, items=len(items))
    return items


# ------------------------------------------------------------------------------ progress


@dataclass(frozen=True)
class Progress:
    """A phase's checklist in figures: items that count (not "not applicable"), done, open past
    their due date in the project's timezone, and those set aside as not applicable."""

    phase: str
    total: int = 0
    done: int = 0
    overdue: int = 0
    not_applicable: int = 0

    @property
    def empty(self) -> bool:
        return self.total + self.not_applicable == 0


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _progress_rows(ctx: Ctx, wanted: list[tuple[Project, str]]) -> dict[int, Progress]:
    """Each (project, phase)'s figures in one aggregate statement. A project's local day is
    within a day of UTC's: items due more than a day before UTC's day are overdue everywhere;
    those of the three days around it are counted by day and decided per project."""
    found = {p.id or 0: Progress(phase) for p, phase in wanted}
    if not wanted:
        return found
    utc_day = ctx.now().date()
    days = [utc_day - timedelta(days=1), utc_day, utc_day + timedelta(days=1)]
    status, due = col(ChecklistItem.status), col(ChecklistItem.due_on)
    is_open = status == ItemStatus.OPEN
    pairs = [
        (col(ChecklistItem.project_id) == p.id) & (col(ChecklistItem.phase) == phase)
        for p, phase in wanted
    ]
    rows = ctx.session.exec(
        select(  # type: ignore[call-overload]
            ChecklistItem.project_id,
            _count_if(status != ItemStatus.NOT_APPLICABLE),
            _count_if(status == ItemStatus.DONE),
            _count_if(status == ItemStatus.NOT_APPLICABLE),
            _count_if(is_open & (due < days[0])),
            *(_count_if(is_open & (due == day)) for day in days),
        )
        .where(ChecklistItem.team_id == ctx.team_id, or_(*pairs))
        .group_by(ChecklistItem.project_id)
    ).all()
    projects = {p.id or 0: p for p, _ in wanted}
    for project_id, total, done, na, surely, *near in rows:
        project = projects[project_id]
        today = local_today(project, ctx.now())
        overdue = int(surely) + sum(
            int(n) for n, day in zip(near, days, strict=True) if day < today
        )
        found[project_id] = Progress(
            found[project_id].phase, int(total), int(done), overdue, int(na)
        )
    return found


def progress(ctx: Ctx, projects: list[Project]) -> dict[int, Progress]:
    """The current phase's progress of each project (one statement)."""
    return _progress_rows(ctx, [(project, project.phase) for project in projects])


# ------------------------------------------------------------------------------ reminders


@dataclass
class DueItem:
    item: ChecklistItem
    project: Project
    overdue: bool


def due_for_owners(ctx: Ctx) -> tuple[dict[str, list[DueItem]], set[str]]:
    """Open items with an owner due today or before in their project's timezone, from
    ``REMINDER_HOUR``, that their owner was not yet told about today, grouped by owner, most
    overdue first; and the owners already told about some item today (a new item due the same
    day waits for the next DM they get, not a second one). One query; the owners' DM of the
    communication plan lists them."""
    now = ctx.now()
    rows = ctx.session.exec(
        select(ChecklistItem, Project)
        .join(Project, col(Project.id) == col(ChecklistItem.project_id))
        .where(
            ChecklistItem.team_id == ctx.team_id,
            ChecklistItem.status == ItemStatus.OPEN,
            col(ChecklistItem.owner_id).is_not(None),
            col(ChecklistItem.due_on).is_not(None),
            col(ChecklistItem.due_on) <= now.date() + timedelta(days=1),
        )
        .order_by(
            col(ChecklistItem.due_on), col(ChecklistItem.project_id), col(ChecklistItem.number)
        )
    ).all()
    grouped: dict[str, list[DueItem]] = {}
    told: set[str] = set()
    for item, project in rows:
        local_now = now.astimezone(ZoneInfo(project.timezone))
        today = local_now.date()
        if local_now.hour < REMINDER_HOUR or item.due_on is None or item.due_on > today:
            continue
        if item.reminded_on is not None and item.reminded_on >= today:
            told.add(item.owner_id or "")
            continue
        grouped.setdefault(item.owner_id or "", []).append(
            DueItem(item, project, item.due_on < today)
        )
    return grouped, told


def owned_items(
    ctx: Ctx, user_id: str, *, limit: int
) -> tuple[list[tuple[ChecklistItem, Project]], int]:
    """The open items ``user_id`` owns in their projects' current phases, for their Home tab:
    the first ``limit`` (soonest due first, those without a due date last) and how many there are.
    One statement."""
    rows: Any = ctx.session.exec(
        select(ChecklistItem, Project, func.count().over())  # type: ignore[call-overload]
        .join(Project, col(Project.id) == col(ChecklistItem.project_id))
        .where(
            ChecklistItem.team_id == ctx.team_id,
            ChecklistItem.owner_id == user_id,
            ChecklistItem.status == ItemStatus.OPEN,
            col(ChecklistItem.phase) == col(Project.phase),
        )
        .order_by(
            col(ChecklistItem.due_on).is_(None),
            col(ChecklistItem.due_on),
            col(ChecklistItem.project_id),
            col(ChecklistItem.number),
        )
        .limit(limit)
    ).all()
    return [(item, project) for item, project, _total in rows], (rows[0][2] if rows else 0)


def mark_reminded(ctx: Ctx, items: list[DueItem]) -> None:
    """Those items were told today (one statement per local day among them)."""
    by_day: dict[date, list[int]] = {}
    for due in items:
        by_day.setdefault(local_today(due.project, ctx.now()), []).append(due.item.id or 0)
    for day, ids in by_day.items():
        ctx.session.exec(  # type: ignore[call-overload]
            update(ChecklistItem)
            .where(col(ChecklistItem.id).in_(ids), ChecklistItem.team_id == ctx.team_id)
            .values(reminded_on=day)
        )


# ------------------------------------------------------------------------------ phase moves


def next_phase(project: Project) -> str | None:
    phases = list(project.phases)
    if project.phase not in phases:
        return phases[0] if phases else None
    position = phases.index(project.phase)
    return phases[position + 1] if position + 1 < len(phases) else None


@dataclass
class MovePlan:
    """What a PM is asked to confirm: the move, what is still open, and the state it was asked
    in (the number of moves so far: a confirmation of an older state changes nothing)."""

    project: Project
    from_phase: str
    to_phase: str
    blockers: list[phase_exit.Blocker]
    moves: int


def _moves(ctx: Ctx, project: Project) -> int:
    return int(
        ctx.session.exec(
            select(func.count())
            .select_from(PhaseMove)
            .where(PhaseMove.team_id == ctx.team_id, PhaseMove.project_id == project.id)
        ).one()
    )


def plan_move(ctx: Ctx, project: Project, target: str) -> MovePlan:
    """``next`` or a phase's name: checked, with the exit criteria's blockers, nothing moved."""
    project_service.require_pm(ctx, project)
    if target.strip().lower() == "next":
        wanted = next_phase(project)
        if wanted is None:
            raise ValidationError({"phase": Msg("checklist.errors.last_phase", code=project.code)})
    else:
        wanted = phase_of(project, target)
    if wanted == project.phase:
        raise ValidationError({"phase": Msg("checklist.errors.same_phase", code=project.code)})
    return MovePlan(
        project, project.phase, wanted, phase_exit.blockers(ctx, project), _moves(ctx, project)
    )


def confirm_move(ctx: Ctx, project: Project, to_phase: str, moves: int | None) -> PhaseMove:
    """The confirmed move, if the project is as it was when the PM was asked."""
    project_service.require_pm(ctx, project)
    if moves is None or moves != _moves(ctx, project) or to_phase not in project.phases:
        raise ValidationError({"phase": Msg("checklist.errors.stale_move", code=project.code)})
    project_service.set_phase(ctx=ctx, project=project, phase=to_phase, via="command")
    move = project_service.last_move(ctx, project)
    assert move is not None
    return move


def recent_moves(ctx: Ctx, project: Project, limit: int = 5) -> list[PhaseMove]:
    require_read(ctx, project)
    return list(
        ctx.session.exec(
            ctx.select(PhaseMove)
            .where(PhaseMove.project_id == project.id)
            .order_by(col(PhaseMove.id).desc())
            .limit(limit)
        ).all()
    )
