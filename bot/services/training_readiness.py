"""The readiness matrix (key user × module), built with a fixed number of set-based statements.

The rule (see ``cell_ready``), documented in the README and tested:

* attended hours (sessions of the module where the key user was present or late) ≥ 80 % of the
  module's planned hours,
* the latest submitted quiz on the module is at or above the pass mark (no quiz taken: not ready),
* where the module has a practical assessment, the latest one is passed.

A module applies to a key user when its audience roles are empty or hold the key user's role;
cells that do not apply are neither ready nor counted.

Statements per matrix: modules, key users (none when the caller has them), attended hours (one
grouped join), and the latest quiz and latest practical per (module, key user) (one statement),
whatever the number of key users. The summary per module (the digest, the PM's dashboard) counts
trainees and ready key users in SQL: modules and one grouped statement (``ready_counts``), with
the rule written once more as a SQL expression (``_ready_sql``) that the tests hold to
``cell_ready``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, true, union_all
from sqlmodel import col, select

from bot.services.context import Ctx
from bot.services.keyusers import active_key_users
from bot.services.training_sessions import attended_hours, attended_hours_query
from bot.services.trainings import READY_ATTENDANCE_SHARE, modules_of, require_trainer
from storage.models import (
    KeyUser,
    PracticalAssessment,
    Project,
    QuizAttempt,
    TrainingModule,
)


@dataclass
class ReadinessCell:
    applicable: bool
    hours: float = 0.0
    quiz_score: int | None = None
    quiz_passed: bool = False
    practical_score: int | None = None
    practical_passed: bool = False
    ready: bool = False

    def criteria(self, module: TrainingModule) -> tuple[int, int]:
        """(criteria met, criteria that apply): for the heatmap's shades."""
        total = 3 if module.has_practical else 2
        met = int(attendance_met(self.hours, module)) + int(self.quiz_passed)
        if module.has_practical:
            met += int(self.practical_passed)
        return met, total


@dataclass
class ReadinessRow:
    key_user: KeyUser
    cells: list[ReadinessCell]

    @property
    def name(self) -> str:
        return self.key_user.display_name or self.key_user.user_id

    @property
    def ready_count(self) -> int:
        return sum(1 for c in self.cells if c.applicable and c.ready)

    @property
    def applicable_count(self) -> int:
        return sum(1 for c in self.cells if c.applicable)


@dataclass
class ModuleReadiness:
    module: TrainingModule
    trainees: int
    ready: int

    @property
    def share(self) -> float | None:
        return self.ready / self.trainees if self.trainees else None


@dataclass
class Readiness:
    project: Project
    modules: list[TrainingModule]
    rows: list[ReadinessRow] = field(default_factory=list)

    def by_module(self) -> list[ModuleReadiness]:
        result = []
        for index, module in enumerate(self.modules):
            cells = [row.cells[index] for row in self.rows if row.cells[index].applicable]
            result.append(ModuleReadiness(module, len(cells), sum(1 for c in cells if c.ready)))
        return result


def attendance_met(hours: float, module: TrainingModule) -> bool:
    return hours + 1e-9 >= READY_ATTENDANCE_SHARE * module.planned_hours


def applies(module: TrainingModule, key_user: KeyUser) -> bool:
    return applies_to_role(module, key_user.role)


def applies_to_role(module: TrainingModule, role: str) -> bool:
    return not module.audience_roles or role in module.audience_roles


def cell_ready(module: TrainingModule, cell: ReadinessCell) -> bool:
    """The readiness rule (module docstring)."""
    if not cell.applicable:
        return False
    practical_ok = cell.practical_passed or not module.has_practical
    return attendance_met(cell.hours, module) and cell.quiz_passed and practical_ok


def _latest(
    ctx: Ctx,
    model: type[QuizAttempt] | type[PracticalAssessment],
    moment: Any,
    module_ids: list[int],
    key_user_ids: list[int] | None,
    *conditions: Any,
) -> Any:
    """(kind, module_id, key_user_id, score, passed) of each (module, key user)'s row with the
    latest ``moment`` (of two at the same moment, the later row), ``kind`` the model's name."""
    module, key_user = col(model.module_id), col(model.key_user_id)
    ranked = (
        select(
            literal(model.__name__).label("kind"),
            module.label("module_id"),
            key_user.label("key_user_id"),
            col(model.score).label("score"),
            col(model.passed).label("passed"),
            func.row_number()
            .over(partition_by=(module, key_user), order_by=(moment.desc(), col(model.id).desc()))
            .label("rank"),
        )
        .where(
            model.team_id == ctx.team_id,
            module.in_(module_ids),
            true() if key_user_ids is None else key_user.in_(key_user_ids),
            *conditions,
        )
        .subquery()
    )
    return select(
        ranked.c.kind, ranked.c.module_id, ranked.c.key_user_id, ranked.c.score, ranked.c.passed
    ).where(ranked.c.rank == 1)


def _latest_quizzes(ctx: Ctx, module_ids: list[int], key_user_ids: list[int] | None) -> Any:
    submitted = col(QuizAttempt.submitted_at)
    return _latest(
        ctx,
        QuizAttempt,
        submitted,
        module_ids,
        key_user_ids,
        submitted.is_not(None),
        col(QuizAttempt.key_user_id).is_not(None),
    )


def _latest_practicals(ctx: Ctx, module_ids: list[int], key_user_ids: list[int] | None) -> Any:
    return _latest(
        ctx, PracticalAssessment, col(PracticalAssessment.period), module_ids, key_user_ids
    )


def _latest_results(
    ctx: Ctx, module_ids: list[int], key_user_ids: list[int] | None
) -> tuple[dict[tuple[int, int], tuple[int, bool]], dict[tuple[int, int], tuple[int, bool]]]:
    """(score, passed) of the latest submitted quiz and of the latest practical assessment per
    (module, key user), in one statement (plain columns: hydrating thousands of ORM rows would
    cost more than the query). ``key_user_ids``: only theirs."""
    if not module_ids:
        return {}, {}
    quizzes = _latest_quizzes(ctx, module_ids, key_user_ids)
    practicals = _latest_practicals(ctx, module_ids, key_user_ids)
    found: dict[str, dict[tuple[int, int], tuple[int, bool]]] = {
        QuizAttempt.__name__: {},
        PracticalAssessment.__name__: {},
    }
    rows = ctx.session.exec(union_all(quizzes, practicals)).all()  # type: ignore[call-overload]
    for kind, module_id, key_user_id, score, passed in rows:
        found[kind][(module_id, key_user_id or 0)] = (score or 0, bool(passed))
    return found[QuizAttempt.__name__], found[PracticalAssessment.__name__]


def _cell(
    module: TrainingModule,
    person: KeyUser,
    hours: dict[tuple[int, str], float],
    quizzes: dict[tuple[int, int], tuple[int, bool]],
    practicals: dict[tuple[int, int], tuple[int, bool]],
) -> ReadinessCell:
    key = (module.id or 0, person.id or 0)
    cell = ReadinessCell(applicable=applies(module, person))
    cell.hours = hours.get((module.id or 0, person.user_id), 0.0)
    if key in quizzes:
        cell.quiz_score, cell.quiz_passed = quizzes[key]
    if key in practicals:
        cell.practical_score, cell.practical_passed = practicals[key]
    cell.ready = cell_ready(module, cell)
    return cell


def compute(ctx: Ctx, project: Project, roster: list[KeyUser] | None = None) -> Readiness:
    """The matrix for ``project`` (no permission check: callers check). ``roster``: the project's
    active key users, when the caller has them already."""
    modules = modules_of(ctx, project.id or 0)
    people = active_key_users(ctx, project) if roster is None else roster
    hours = attended_hours(ctx, project.id or 0)
    quizzes, practicals = _latest_results(ctx, [m.id or 0 for m in modules], None)
    matrix = Readiness(project=project, modules=modules)
    for person in people:
        cells = [_cell(module, person, hours, quizzes, practicals) for module in modules]
        matrix.rows.append(ReadinessRow(person, cells))
    return matrix


def readiness_for(ctx: Ctx, project: Project) -> Readiness:
    """The matrix for PMs and the project team."""
    require_trainer(ctx, project)
    return compute(ctx, project)


def attendance_sql(module: Any, hours: Any) -> Any:
    """``attendance_met`` as a SQL condition over a module row and the attended hours (end-user
    readiness is this condition alone)."""
    return hours + 1e-9 >= READY_ATTENDANCE_SHARE * col(module.planned_hours)


def _ready_sql(module: Any, hours: Any, quiz_passed: Any, practical_passed: Any) -> Any:
    """``cell_ready`` as a SQL condition over a module row, the attended hours and whether the
    latest quiz and the latest practical were passed (conditions)."""
    return and_(
        attendance_sql(module, hours),
        quiz_passed,
        or_(practical_passed, col(module.has_practical).is_(False)),
    )


def ready_counts(
    ctx: Ctx, project: Project, modules: list[TrainingModule]
) -> dict[int, tuple[int, int]]:
    """Per module id: (trainees, ready key users), in one statement that never loads key users.

    The facts of each (module, key user) pair (hours attended, latest quiz and practical passed)
    come as one grouped UNION; ready pairs are counted per module and role, the project's active
    key users per role, and each module adds up the roles it is for."""
    if not modules:
        return {}
    module_ids = [module.id or 0 for module in modules]
    active = and_(
        col(KeyUser.team_id) == ctx.team_id,
        col(KeyUser.project_id) == project.id,
        col(KeyUser.removed_at).is_(None),
    )
    hours = attended_hours_query(ctx, project.id or 0).subquery()
    quizzes = _latest_quizzes(ctx, module_ids, None).subquery()
    practicals = _latest_practicals(ctx, module_ids, None).subquery()

    def passed(rows: Any) -> Any:
        return case((rows.c.passed.is_(True), 1), else_=0)

    facts = union_all(
        select(hours.c.module_id, col(KeyUser.id), hours.c.hours, literal(0), literal(0)).join(
            KeyUser, and_(col(KeyUser.user_id) == hours.c.user_id, active)
        ),
        select(quizzes.c.module_id, quizzes.c.key_user_id, literal(0.0), passed(quizzes), 0),
        select(
            practicals.c.module_id, practicals.c.key_user_id, literal(0.0), 0, passed(practicals)
        ),
    ).subquery()
    module_id, key_user_id, hours_, quiz, practical = facts.c
    pairs = (
        select(
            module_id.label("module_id"),
            key_user_id.label("key_user_id"),
            func.sum(hours_).label("hours"),
            func.max(quiz).label("quiz"),
            func.max(practical).label("practical"),
        )
        .group_by(module_id, key_user_id)
        .subquery()
    )
    ready_pairs = (
        select(literal("ready"), pairs.c.module_id, col(KeyUser.role), func.count())
        .join(KeyUser, and_(col(KeyUser.id) == pairs.c.key_user_id, active))
        .join(TrainingModule, col(TrainingModule.id) == pairs.c.module_id)
        .where(_ready_sql(TrainingModule, pairs.c.hours, pairs.c.quiz == 1, pairs.c.practical == 1))
        .group_by(pairs.c.module_id, col(KeyUser.role))
    )
    key_users = (
        select(literal("trainees"), literal(0), col(KeyUser.role), func.count())
        .where(active)
        .group_by(col(KeyUser.role))
    )
    rows = ctx.session.exec(union_all(ready_pairs, key_users)).all()  # type: ignore[call-overload]
    per_role = {role: count for kind, _m, role, count in rows if kind == "trainees"}
    ready = {(m, role): count for kind, m, role, count in rows if kind == "ready"}
    counts = {}
    for module in modules:
        roles = [role for role in per_role if applies_to_role(module, role)]
        counts[module.id or 0] = (
            sum(per_role[role] for role in roles),
            sum(ready.get((module.id, role), 0) for role in roles),
        )
    return counts


def readiness_by_module(ctx: Ctx, project: Project) -> list[dict[str, Any]]:
    """For the digest and the PM dashboard: per module, trainees, ready and the share ready (two
    statements: the modules and ``ready_counts``)."""
    modules = modules_of(ctx, project.id or 0)
    counts = ready_counts(ctx, project, modules)
    summary = []
    for module in modules:
        trainees, ready = counts[module.id or 0]
        summary.append(
            {
                "module_id": module.id,
                "module": module.name,
                "planned_hours": module.planned_hours,
                "trainees": trainees,
                "ready": ready,
                "share": ready / trainees if trainees else None,
            }
        )
    return summary


def own_readiness(
    ctx: Ctx, memberships: list[tuple[Project, KeyUser]]
) -> list[tuple[Project, TrainingModule, ReadinessCell]]:
    """A key user's own cells in each of their projects (``memberships``: each project with their
    register row), for their Home tab: three statements however many projects."""
    if not memberships:
        return []
    modules = ctx.session.exec(
        ctx.select(TrainingModule)
        .where(col(TrainingModule.project_id).in_([p.id for p, _k in memberships]))
        .order_by(col(TrainingModule.position), col(TrainingModule.id))
    ).all()
    user_ids = sorted({key_user.user_id for _p, key_user in memberships})
    hours = attended_hours(ctx, None, user_ids)
    quizzes, practicals = _latest_results(
        ctx, [m.id or 0 for m in modules], [key_user.id or 0 for _p, key_user in memberships]
    )
    result = []
    for project, key_user in memberships:
        for module in modules:
            if module.project_id != project.id:
                continue
            cell = _cell(module, key_user, hours, quizzes, practicals)
            if cell.applicable:
                result.append((project, module, cell))
    return result


def export_csv(ctx: Ctx, project: Project) -> str:
    from bot.csvutil import write_csv

    matrix = readiness_for(ctx, project)
    header = [
        "slack_user",
        "name",
        "role",
        "module",
        "planned_hours",
        "attended_hours",
        "latest_quiz",
        "quiz_passed",
        "practical",
        "practical_passed",
        "ready",
    ]
    rows = []
    for row in matrix.rows:
        for module, cell in zip(matrix.modules, row.cells, strict=True):
            if not cell.applicable:
                continue
            rows.append(
                (
                    row.key_user.user_id,
                    row.name,
                    row.key_user.role,
                    module.name,
                    f"{module.planned_hours:g}",
                    f"{cell.hours:g}",
                    "" if cell.quiz_score is None else cell.quiz_score,
                    "yes" if cell.quiz_passed else "no",
                    "" if cell.practical_score is None else cell.practical_score,
                    ("yes" if cell.practical_passed else "no") if module.has_practical else "",
                    "yes" if cell.ready else "no",
                )
            )
    return write_csv(header, rows)
