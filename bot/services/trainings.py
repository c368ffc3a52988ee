"""Trainings: the curriculum and the monthly practical assessments. Question banks and weekly
quizzes are in ``bot/services/training_quizzes.py``, the readiness matrix in
``bot/services/training_readiness.py``, sessions (calendar events of kind "training") in
``bot/services/training_sessions.py``.

Who may do what: a project's PMs (and workspace admins) edit the curriculum; PMs and the project
team (trainers) write question banks, send quizzes, record practical assessments and see results
and readiness; a key user acts only on their own quiz.

Readiness rule (``cell_ready``): a key user is ready on a module when

* the hours of the module's sessions they attended (present or late) reach 80 % of the module's
  planned hours,
* their latest submitted quiz on the module is at or above its pass mark, and
* where the module has a practical assessment, their latest one is passed.

A module applies to a key user when its audience roles are empty or hold the key user's role.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from bot.csvutil import read_csv, write_csv
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.fields import limit, number_in_range, record_id
from bot.services.keyusers import EMAIL_RE, ROLES, USER_ID_RE
from storage.models import (
    KeyUser,
    PracticalAssessment,
    Project,
    QuizAttempt,
    QuizQuestion,
    QuizRound,
    TrainingFormat,
    TrainingModule,
    TrainingSession,
)

T = TypeVar("T")

READY_ATTENDANCE_SHARE = 0.8
DEFAULT_PASS_MARK = 60
MAX_MODULES = 30
NAME_LIMIT = limit(TrainingModule.name)
DESCRIPTION_LIMIT = limit(TrainingModule.description)
COMMENT_LIMIT = limit(PracticalAssessment.comment)
CURRICULUM_COLUMNS = (
    "position",
    "name",
    "description",
    "planned_hours",
    "formats",
    "audience_roles",
    "practical",
    "pass_mark",
)
PRACTICAL_COLUMNS = ("slack_user", "module", "score", "comment")

# The standard key-user training plan: catalog key, hours, formats, audience roles, practical.
STANDARD_CURRICULUM: list[tuple[str, float, list[str], list[str], bool]] = [
    ("overview", 8, [TrainingFormat.LECTURE], [], False),
    ("basic_operation", 16, [TrainingFormat.LECTURE, TrainingFormat.HANDS_ON], [], True),
    (
        "administration",
        24,
        [TrainingFormat.LECTURE, TrainingFormat.CASE_STUDY],
        ["system_administrator", "key_user"],
        True,
    ),
    ("maintenance", 16, [TrainingFormat.LECTURE, TrainingFormat.HANDS_ON], [], True),
]


# ------------------------------------------------------------------------------ permissions


def can_train(ctx: Ctx, project: Project) -> bool:
    """PMs, the project team (trainers) and workspace admins run trainings and see results."""
    return project_service.is_team_member(ctx, project) or ctx.actor_is_admin


def require_trainer(ctx: Ctx, project: Project) -> None:
    if not can_train(ctx, project):
        raise PermissionDenied(Msg("training.errors.not_team", code=project.code))


# ------------------------------------------------------------------------------- curriculum


@dataclass
class ModuleInput:
    name: str = ""
    description: str = ""
    planned_hours: str | float = ""
    formats: list[str] = field(default_factory=list)
    audience_roles: list[str] = field(default_factory=list)
    has_practical: bool = False
    pass_mark: str | int = DEFAULT_PASS_MARK
    position: str | int | None = None  # its place in the curriculum; None: kept (new: last)


def modules_of(ctx: Ctx, project_id: int) -> list[TrainingModule]:
    return list(
        ctx.session.exec(
            ctx.select(TrainingModule)
            .where(TrainingModule.project_id == project_id)
            .order_by(col(TrainingModule.position), col(TrainingModule.id))
        ).all()
    )


def get_module(
    ctx: Ctx, module_id: int | str | None, project: Project | None = None
) -> TrainingModule:
    ident = record_id(module_id)
    module = ctx.get(TrainingModule, ident) if ident else None
    if module is None or (project is not None and module.project_id != project.id):
        raise NotFound(Msg("training.errors.module_not_found"))
    return module


def form_module(
    ctx: Ctx, module_id: int | str | None, project: Project, errors: dict[str, Msg]
) -> TrainingModule | None:
    """The project's module a form names, or None with the form's ``module`` error noted."""
    try:
        return get_module(ctx, module_id, project)
    except NotFound:
        errors["module"] = Msg("training.errors.module_not_found")
        return None


def log_scored(
    ctx: Ctx,
    row: QuizAttempt | PracticalAssessment,
    event: str,
    project_id: int | None,
    **ids: Any,
) -> None:
    """Store a key user's scored quiz or practical and log it as a touchpoint."""
    ctx.session.add(row)
    ctx.session.flush()
    ctx.log(
        event,
        project_id=project_id,
        key_user_id=row.key_user_id,
        touchpoint=True,
        **ids,
        score=row.score,
        passed=row.passed,
    )


def clean_text(
    errors: dict[str, Msg], name: str, raw: str | None, most: int, *, required: bool = False
) -> str:
    """A typed text without its outer spaces; empty (when ``required``) or longer than ``most``,
    the form's ``name`` error is noted."""
    text = (raw or "").strip()
    if required and not text:
        errors[name] = Msg("errors.required")
    elif len(text) > most:
        errors[name] = Msg("errors.too_long", limit=most)
    return text


def clean_module(data: ModuleInput) -> dict[str, Any]:
    errors: dict[str, Msg] = {}
    name = clean_text(errors, "name", data.name, NAME_LIMIT, required=True)
    description = clean_text(errors, "description", data.description, DESCRIPTION_LIMIT)
    values: dict[str, Any] = {}
    for field_name, raw, low, high in (
        ("planned_hours", data.planned_hours, 0.5, 500),
        ("pass_mark", data.pass_mark, 0, 100),
    ):
        try:
            values[field_name] = number_in_range(raw, field_name, low, high)
        except ValidationError as error:
            errors.update(error.errors)  # type: ignore[arg-type]
    formats = [f for f in data.formats if f]
    if not formats:
        errors["formats"] = Msg("training.errors.formats")
    elif any(f not in tuple(TrainingFormat) for f in formats):
        errors["formats"] = Msg("errors.choice", choices=", ".join(TrainingFormat))
    roles = [r for r in data.audience_roles if r]
    if any(r not in ROLES for r in roles):
        errors["audience_roles"] = Msg("errors.choice", choices=", ".join(ROLES))
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "description": description or None,
        "planned_hours": round(values["planned_hours"], 2),
        "formats": list(dict.fromkeys(formats)),
        "audience_roles": list(dict.fromkeys(roles)),
        "has_practical": bool(data.has_practical),
        "pass_mark": int(round(values["pass_mark"])),
    }


def _name_taken(ctx: Ctx, project: Project, name: str, module_id: int | None) -> bool:
    existing = ctx.session.exec(
        ctx.select(TrainingModule).where(
            TrainingModule.project_id == project.id,
            func.lower(TrainingModule.name) == name.lower(),
        )
    ).first()
    return existing is not None and existing.id != module_id


def save_module(
    *, ctx: Ctx, project: Project, data: ModuleInput, module_id: int | None = None
) -> TrainingModule:
    """Add a module at the end of the curriculum, or change one (``module_id``)."""
    project_service.require_pm(ctx, project)
    values = clean_module(data)
    if _name_taken(ctx, project, values["name"], module_id):
        raise ValidationError({"name": Msg("training.errors.module_name_taken")})
    now = ctx.now()
    modules = modules_of(ctx, project.id or 0)
    if module_id is not None:
        module = get_module(ctx, module_id, project)
        for key, value in values.items():
            setattr(module, key, value)
        module.updated_at = now
        others = [m for m in modules if m.id != module.id]
    else:
        if len(modules) >= MAX_MODULES:
            raise ValidationError(
                {"name": Msg("training.errors.too_many_modules", limit=MAX_MODULES)}
            )
        module = TrainingModule(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            position=len(modules) + 1,
            created_at=now,
            updated_at=now,
            **values,
        )
        others = modules
    place = len(others) + 1 if module_id is None else modules.index(module) + 1
    if data.position not in (None, ""):
        place = int(number_in_range(data.position, "position", 1, len(others) + 1))
    ctx.session.add(module)
    _renumber(ctx, [*others[: place - 1], module, *others[place - 1 :]], now)
    ctx.session.flush()
    ctx.log(
        "training.module_saved",
        project_id=project.id,
        module_id=module.id,
        name=module.name,
        new=module_id is None,
    )
    return module


def _renumber(ctx: Ctx, modules: list[TrainingModule], now: datetime) -> None:
    """Positions 1, 2, 3… in the given order (only the modules that move are written)."""
    for number, module in enumerate(modules, start=1):
        if module.position != number:
            module.position = number
            module.updated_at = now
            ctx.session.add(module)


@dataclass(frozen=True)
class ModuleUses:
    """What refers to a module: while any of it exists, the module cannot be deleted."""

    sessions: int
    questions: int
    quizzes: int
    practicals: int

    def __bool__(self) -> bool:
        return any((self.sessions, self.questions, self.quizzes, self.practicals))


def module_uses(ctx: Ctx, module: TrainingModule) -> ModuleUses:
    def count(table: Any) -> int:
        return int(
            ctx.session.exec(
                select(func.count())
                .select_from(table)
                .where(table.team_id == ctx.team_id, table.module_id == module.id)
            ).one()
        )

    return ModuleUses(
        sessions=count(TrainingSession),
        questions=count(QuizQuestion),
        quizzes=count(QuizRound),
        practicals=count(PracticalAssessment),
    )


def delete_module(*, ctx: Ctx, module_id: int | str | None) -> tuple[TrainingModule, Project]:
    """Remove a module from its project's curriculum for good, the others closing up. Refused
    while a session, quiz question, quiz or practical result refers to it: those are the records
    of training given, and readiness is counted from them."""
    module = get_module(ctx, module_id)
    project = project_service.get_project_by_id(ctx, module.project_id)
    project_service.require_pm(ctx, project)
    uses = module_uses(ctx, module)
    if uses:
        raise PermissionDenied(
            Msg(
                "training.errors.module_in_use",
                name=module.name,
                sessions=uses.sessions,
                questions=uses.questions,
                quizzes=uses.quizzes,
                practicals=uses.practicals,
            )
        )
    others = [m for m in modules_of(ctx, project.id or 0) if m.id != module.id]
    ctx.session.delete(module)
    _renumber(ctx, others, ctx.now())
    ctx.session.flush()
    ctx.log("training.module_deleted", project_id=project.id, module_id=module.id)
    return module, project


def standard_curriculum(locale: str) -> list[ModuleInput]:
    """The standard key-user training plan, in the project's language."""
    return [
        ModuleInput(
            name=plain(locale, f"training.standard.{key}.name"),
            description=plain(locale, f"training.standard.{key}.description"),
            planned_hours=hours,
            formats=list(formats),
            audience_roles=list(roles),
            has_practical=practical,
            pass_mark=DEFAULT_PASS_MARK,
        )
        for key, hours, formats, roles, practical in STANDARD_CURRICULUM
    ]


def adopt_standard_curriculum(*, ctx: Ctx, project: Project) -> list[TrainingModule]:
    """Fill an empty curriculum with the standard plan; a second click adds nothing."""
    project_service.require_pm(ctx, project)
    if modules_of(ctx, project.id or 0):
        raise ValidationError({"": Msg("training.errors.curriculum_exists", code=project.code)})
    return [
        save_module(ctx=ctx, project=project, data=data)
        for data in standard_curriculum(project.locale)
    ]


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    errors: list[tuple[int, str | None, Msg]] = field(default_factory=list)


def _split(cell: str) -> list[str]:
    return [part.strip() for part in (cell or "").split("|") if part.strip()]


def _yes(cell: str) -> bool:
    return (cell or "").strip().lower() in ("yes", "y", "true", "1", "是")


def _as_msg(message: object) -> Msg:
    return message if isinstance(message, Msg) else Msg("errors.plain", text=str(message))


def _row_errors(report: ImportReport, line: int, error: ValidationError) -> None:
    for name, message in error.errors.items():
        report.errors.append((line, name or None, _as_msg(message)))


def csv_rows(
    report: ImportReport, rows: Iterable[tuple[int, dict[str, str]]]
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows to import; one with more cells than the header is refused."""
    for line, row in rows:
        if "__extra__" in row:
            report.errors.append((line, None, Msg("errors.csv_extra_cells")))
        else:
            yield line, row


def csv_module(
    report: ImportReport, line: int, row: dict[str, str], by_name: dict[str, TrainingModule]
) -> TrainingModule | None:
    """The module a row names (case aside), or None with the row refused."""
    module = by_name.get(row.get("module", "").strip().lower())
    if module is None:
        report.errors.append((line, "module", Msg("training.errors.module_not_found")))
    return module


def import_row(ctx: Ctx, report: ImportReport, line: int, save: Callable[[], T]) -> T | None:
    """One row written on its own (``save``); refused, it is reported and nothing of it kept."""
    try:
        with ctx.session.begin_nested():
            return save()
    except ValidationError as error:
        _row_errors(report, line, error)
        return None


def export_curriculum_csv(ctx: Ctx, project: Project) -> str:
    require_trainer(ctx, project)
    rows = [
        (
            module.position,
            module.name,
            module.description or "",
            f"{module.planned_hours:g}",
            "|".join(module.formats),
            "|".join(module.audience_roles),
            "yes" if module.has_practical else "no",
            module.pass_mark,
        )
        for module in modules_of(ctx, project.id or 0)
    ]
    return write_csv(CURRICULUM_COLUMNS, rows)


def _check_header(header: list[str], needed: tuple[str, ...], columns: tuple[str, ...]) -> None:
    if not set(needed) <= set(header):
        raise ValidationError(
            {"csv": Msg("training.errors.csv_header", columns=", ".join(columns))}
        )


def import_curriculum_csv(*, ctx: Ctx, project: Project, text: str) -> ImportReport:
    """Rows matched to modules by name: changed if it exists, added otherwise; bad rows reported
    by line and the good ones kept."""
    project_service.require_pm(ctx, project)
    header, rows = read_csv(text)
    _check_header(header, ("name", "planned_hours"), CURRICULUM_COLUMNS)
    report = ImportReport()
    existing = {m.name.lower(): m for m in modules_of(ctx, project.id or 0)}
    for line, row in csv_rows(report, rows):
        data = ModuleInput(
            name=row.get("name", ""),
            description=row.get("description", ""),
            planned_hours=row.get("planned_hours", ""),
            formats=_split(row.get("formats", "")) or [TrainingFormat.LECTURE],
            audience_roles=_split(row.get("audience_roles", "")),
            has_practical=_yes(row.get("practical", "")),
            pass_mark=row.get("pass_mark") or DEFAULT_PASS_MARK,
        )
        current = existing.get(data.name.strip().lower())
        module_id = current.id if current else None
        save = partial(save_module, ctx=ctx, project=project, data=data, module_id=module_id)
        module = import_row(ctx, report, line, save)
        if module is None:
            continue
        (report.updated if current else report.added).append(module.name)
        existing[module.name.lower()] = module
    return report


# ------------------------------------------------------------------ practical assessments


def period_of(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


def record_practical(
    *,
    ctx: Ctx,
    project: Project,
    module_id: int | str | None,
    user_id: str | None,
    score: str | int | None,
    comment: str = "",
) -> PracticalAssessment:
    """This month's practical assessment of a key user on a module (recorded again: changed)."""
    require_trainer(ctx, project)
    errors: dict[str, Msg] = {}
    module = form_module(ctx, module_id, project, errors)
    if module is not None and not module.has_practical:
        errors["module"] = Msg("training.errors.no_practical", module=module.name)
    key_user = None
    if not user_id:
        errors["user_id"] = Msg("errors.user_required")
    else:
        key_user = ctx.session.exec(
            ctx.select(KeyUser).where(
                KeyUser.project_id == project.id,
                KeyUser.user_id == user_id,
                col(KeyUser.removed_at).is_(None),
            )
        ).first()
        if key_user is None:
            errors["user_id"] = Msg("errors.keyuser_not_found", code=project.code)
    value = 0
    try:
        value = int(number_in_range(score, "score", 0, 100))
    except ValidationError as error:
        errors.update(error.errors)  # type: ignore[arg-type]
    comment = clean_text(errors, "comment", comment, COMMENT_LIMIT)
    if errors or module is None or key_user is None:
        raise ValidationError(errors)
    now = ctx.now()
    period = period_of(now, project.timezone)
    row = ctx.session.exec(
        ctx.select(PracticalAssessment).where(
            PracticalAssessment.module_id == module.id,
            PracticalAssessment.key_user_id == key_user.id,
            PracticalAssessment.period == period,
        )
    ).first()
    if row is None:
        row = PracticalAssessment(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            module_id=module.id or 0,
            key_user_id=key_user.id or 0,
            user_id=key_user.user_id,
            period=period,
            score=value,
            pass_mark=module.pass_mark,
            passed=value >= module.pass_mark,
            assessed_by=ctx.actor_id or "",
            assessed_at=now,
        )
    row.score = value
    row.pass_mark = module.pass_mark
    row.passed = value >= module.pass_mark
    row.comment = comment or None
    row.assessed_by = ctx.actor_id or ""
    row.assessed_at = now
    log_scored(ctx, row, "training.practical_assessed", project.id, module_id=module.id)
    return row


def import_practicals_csv(
    *,
    ctx: Ctx,
    project: Project,
    text: str,
    resolve_user: Callable[[str], tuple[str, str | None] | None],
) -> ImportReport:
    """Columns slack_user (id or email), module (name), score (0-100), comment."""
    require_trainer(ctx, project)
    header, rows = read_csv(text)
    _check_header(header, ("slack_user", "module", "score"), PRACTICAL_COLUMNS)
    report = ImportReport()
    by_name = {m.name.lower(): m for m in modules_of(ctx, project.id or 0)}
    for line, row in csv_rows(report, rows):
        who = row.get("slack_user", "")
        resolved = resolve_user(who) if (USER_ID_RE.match(who) or EMAIL_RE.match(who)) else None
        if resolved is None:
            report.errors.append((line, "slack_user", Msg("errors.csv_unknown_user", who=who)))
            continue
        module = csv_module(report, line, row, by_name)
        if module is None:
            continue
        record = partial(
            record_practical,
            ctx=ctx,
            project=project,
            module_id=module.id,
            user_id=resolved[0],
            score=row.get("score"),
            comment=row.get("comment", ""),
        )
        if import_row(ctx, report, line, record) is not None:
            report.added.append(resolved[0])
    return report
