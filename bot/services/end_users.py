"""End users: the people key users train ("key users train newcomers"), registered per project
with their department, module and the key user responsible; sessions for them on the training
calendar; their readiness per module and department.

Who may do what:

* the project's PMs and team (and workspace admins) manage every end user and see all readiness;
* a key user of the project manages the end users they are responsible for, runs sessions for
  them in those end users' modules, and sees their readiness;
* anyone else (an end user who is in Slack, say) is refused: the register of key users and the
  list of end users are not theirs to read.

An end user is ready in their module when they attended at least 80 % of the module's planned
hours: the attendance rule of key-user readiness (``training_readiness.attendance_met`` and its
SQL form ``attendance_sql``), the one definition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot.csvutil import read_csv, write_csv
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.fields import limit, too_long
from bot.services.keyusers import (
    EMAIL_RE,
    USER_ID_RE,
    ImportReport,
    active_key_user,
    active_key_users,
)
from bot.services.trainings import can_train, form_module, modules_of
from storage.models import (
    CalendarEvent,
    EndUser,
    EndUserAttendance,
    KeyUser,
    Project,
    TrainingModule,
)

AUDIENCE = "end_users"  # TrainingSession.audience_kind of a session for end users
PAGE_SIZE = 20
IMPORT_LIMIT = 5000
CSV_COLUMNS = ("number", "name", "slack_user", "department", "module", "key_user")
NAME_LIMIT = limit(EndUser.name)
DEPARTMENT_LIMIT = limit(EndUser.department)

ResolveUser = Callable[[str], tuple[str, str | None] | None]


@dataclass
class EndUserInput:
    name: str = ""
    user_id: str = ""  # Slack, optional
    department: str = ""
    module_id: int | str | None = None
    key_user: str = ""  # the responsible key user's Slack id
    display_name: str | None = None  # the Slack name, when a Slack user is given


# ------------------------------------------------------------------------------------ rights


def manages_all(ctx: Ctx, project: Project) -> bool:
    """PMs, the project team and workspace admins manage every end user of the project."""
    return can_train(ctx, project)


def may_open(ctx: Ctx, project: Project) -> bool:
    """Who may open the end users of a project: those who manage all, and its key users."""
    return manages_all(ctx, project) or active_key_user(ctx, project, ctx.actor_id) is not None


def scope(ctx: Ctx, project: Project) -> KeyUser | None:
    """None for someone who manages every end user; the acting key user's register row for a key
    user (who manages their own); anyone else is refused."""
    if manages_all(ctx, project):
        return None
    key_user = active_key_user(ctx, project, ctx.actor_id)
    if key_user is None:
        raise PermissionDenied(Msg("enduser.errors.not_allowed", code=project.code))
    return key_user


def _check_own(end_user: EndUser, responsible: KeyUser | None) -> EndUser:
    if responsible is not None and end_user.key_user_id != responsible.id:
        raise PermissionDenied(Msg("enduser.errors.not_yours"))
    return end_user


# ---------------------------------------------------------------------------------- register


def _clean(
    ctx: Ctx, project: Project, data: EndUserInput, responsible: KeyUser | None
) -> tuple[dict[str, Any], dict[str, Msg]]:
    errors: dict[str, Msg] = {}
    user_id = (data.user_id or "").strip() or None
    if user_id is not None and not USER_ID_RE.match(user_id):
        errors["user_id"] = Msg("errors.user_not_person")
    name = (data.name or "").strip() or (data.display_name or "").strip()
    if not name:
        errors["name"] = Msg("enduser.errors.name_or_user")
    elif (message := too_long(name, EndUser.name)) is not None:
        errors["name"] = message
    department = (data.department or "").strip()
    if not department:
        errors["department"] = Msg("errors.required")
    elif (message := too_long(department, EndUser.department)) is not None:
        errors["department"] = message
    module = form_module(ctx, data.module_id, project, errors)
    key_user: KeyUser | None
    if responsible is not None:
        key_user = responsible
        if data.key_user and data.key_user != responsible.user_id:
            errors["key_user"] = Msg("enduser.errors.own_only")
    else:
        key_user = active_key_user(ctx, project, data.key_user) if data.key_user else None
        if key_user is None:
            errors["key_user"] = Msg("enduser.errors.key_user_unknown", code=project.code)
    values = {
        "name": name,
        "user_id": user_id,
        "department": department,
        "module_id": module.id if module else 0,
        "key_user_id": key_user.id if key_user else 0,
    }
    return values, errors


def _duplicate(ctx: Ctx, project: Project, values: dict[str, Any], own_id: int | None) -> bool:
    """The same person (Slack user, else name and department) is already registered for the
    module."""
    query = select(EndUser.id).where(
        EndUser.team_id == ctx.team_id,
        EndUser.project_id == project.id,
        EndUser.module_id == values["module_id"],
        col(EndUser.removed_at).is_(None),
    )
    if values["user_id"]:
        query = query.where(EndUser.user_id == values["user_id"])
    else:
        query = query.where(
            col(EndUser.user_id).is_(None),
            func.lower(EndUser.name) == values["name"].lower(),
            func.lower(EndUser.department) == values["department"].lower(),
        )
    if own_id is not None:
        query = query.where(EndUser.id != own_id)
    return ctx.session.exec(query.limit(1)).first() is not None


def _next_number(ctx: Ctx, project: Project) -> int:
    top = ctx.session.exec(
        select(func.max(EndUser.number)).where(EndUser.project_id == project.id)
    ).one()
    return int(top or 0) + 1


def add_end_user(*, ctx: Ctx, project: Project, data: EndUserInput) -> EndUser:
    responsible = scope(ctx, project)
    values, errors = _clean(ctx, project, data, responsible)
    if not errors and _duplicate(ctx, project, values, None):
        errors["name"] = Msg("enduser.errors.duplicate")
    if errors:
        raise ValidationError(errors)
    now = ctx.now()
    end_user = EndUser(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        number=_next_number(ctx, project),
        created_by=ctx.actor_id,
        created_at=now,
        updated_at=now,
        **values,
    )
    ctx.session.add(end_user)
    ctx.session.flush()
    ctx.log("enduser.added", project_id=project.id, end_user=end_user.number)
    return end_user


def get_end_user(ctx: Ctx, project: Project, number: Any) -> EndUser:
    """The project's end user with this number, if the acting person manages them."""
    responsible = scope(ctx, project)
    text = str(number).lstrip("#")
    found = (
        ctx.session.exec(
            ctx.select(EndUser).where(
                EndUser.project_id == project.id,
                EndUser.number == int(text),
                col(EndUser.removed_at).is_(None),
            )
        ).first()
        if text.isdigit() and len(text) < 8
        else None
    )
    if found is None:
        raise NotFound(Msg("enduser.errors.not_found", id=text[:20]))
    return _check_own(found, responsible)


def get_end_user_by_id(ctx: Ctx, end_user_id: int) -> tuple[EndUser, Project]:
    """An end user a form names by id (forged ids are refused like unknown ones)."""
    found = ctx.get(EndUser, end_user_id)
    if found is None or found.removed_at is not None:
        raise NotFound(Msg("enduser.errors.not_found", id=str(end_user_id)[:20]))
    project = project_service.get_project_by_id(ctx, found.project_id)
    return _check_own(found, scope(ctx, project)), project


def update_end_user(*, ctx: Ctx, end_user: EndUser, data: EndUserInput) -> EndUser:
    project = project_service.get_project_by_id(ctx, end_user.project_id)
    responsible = scope(ctx, project)
    _check_own(end_user, responsible)
    values, errors = _clean(ctx, project, data, responsible)
    if not errors and _duplicate(ctx, project, values, end_user.id):
        errors["name"] = Msg("enduser.errors.duplicate")
    if errors:
        raise ValidationError(errors)
    for name, value in values.items():
        setattr(end_user, name, value)
    end_user.updated_at = ctx.now()
    ctx.session.add(end_user)
    ctx.session.flush()
    ctx.log("enduser.updated", project_id=project.id, end_user=end_user.number)
    return end_user


def remove_end_user(*, ctx: Ctx, project: Project, end_user: EndUser) -> EndUser:
    _check_own(end_user, scope(ctx, project))
    end_user.removed_at = end_user.updated_at = ctx.now()
    ctx.session.add(end_user)
    ctx.session.flush()
    ctx.log("enduser.removed", project_id=project.id, end_user=end_user.number)
    return end_user


@dataclass
class Listed:
    end_user: EndUser
    module: str
    key_user: str  # the responsible key user's Slack id


@dataclass
class EndUserPage:
    rows: list[Listed]
    total: int
    page: int
    pages: int


def _active(ctx: Ctx, project: Project, responsible: KeyUser | None, *columns: Any) -> Any:
    """The project's end users the person manages (with ``columns``: those columns joined to
    each one's module name and key user's Slack id)."""
    query = (
        select(EndUser, *columns)
        if not columns
        else select(EndUser, *columns)
        .join(TrainingModule, col(TrainingModule.id) == col(EndUser.module_id))
        .join(KeyUser, col(KeyUser.id) == col(EndUser.key_user_id))
    ).where(
        EndUser.team_id == ctx.team_id,
        EndUser.project_id == project.id,
        col(EndUser.removed_at).is_(None),
    )
    if responsible is not None:
        query = query.where(EndUser.key_user_id == responsible.id)
    return query


NAMES = (col(TrainingModule.name), col(KeyUser.user_id))


def list_page(ctx: Ctx, project: Project, page: int = 1) -> EndUserPage:
    """A page of the end users the acting person manages, by number (two statements)."""
    responsible = scope(ctx, project)
    base = _active(ctx, project, responsible).subquery()
    total = int(ctx.session.exec(select(func.count()).select_from(base)).one())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = ctx.session.exec(
        _active(ctx, project, responsible, *NAMES)
        .order_by(col(EndUser.number))
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    return EndUserPage([Listed(e, m, k) for e, m, k in rows], total, page, pages)


def form_choices(ctx: Ctx, project: Project) -> tuple[list[TrainingModule], list[KeyUser]]:
    """What the form offers: the project's modules, and the key users who may be responsible
    (a key user: themselves only; the register is not theirs to read)."""
    responsible = scope(ctx, project)
    modules = modules_of(ctx, project.id or 0)
    if not modules:
        raise NotFound(Msg("training.errors.no_modules", code=project.code, command="/training"))
    key_users = [responsible] if responsible is not None else active_key_users(ctx, project)
    if not key_users:
        raise NotFound(Msg("enduser.errors.no_key_users", code=project.code))
    return modules, key_users


# --------------------------------------------------------------------------------- CSV


def export_csv(ctx: Ctx, project: Project) -> str:
    responsible = scope(ctx, project)
    rows = ctx.session.exec(
        _active(ctx, project, responsible, *NAMES).order_by(col(EndUser.number))
    ).all()
    header = [plain(project.locale, f"enduser.csv.{name}") for name in CSV_COLUMNS]
    ctx.log("enduser.exported", project_id=project.id, rows=len(rows))
    return write_csv(
        header,
        (
            (e.number, e.name, e.user_id or "", e.department, module, key_user)
            for e, module, key_user in rows
        ),
    )


def _csv_names() -> dict[str, str]:
    names = {}
    for locale in ("en", "zh-CN"):
        for column in CSV_COLUMNS:
            names[plain(locale, f"enduser.csv.{column}").strip().lower()] = column
    for column in CSV_COLUMNS:
        names[column] = column
    return names


def import_csv(*, ctx: Ctx, project: Project, text: str, resolve_user: ResolveUser) -> ImportReport:
    """Add end users from CSV rows (name and/or slack_user, department, module, key_user): each
    good row is added, each bad one reported by its line. Modules are found by name, key users
    by Slack id or email; a key user imports for themselves (the key_user column may be left
    out). The project's modules and key users are read once, not per row."""
    responsible = scope(ctx, project)
    names = _csv_names()
    header, rows = read_csv(text)
    header = [names.get(name.strip().lower(), name) for name in header]
    if "department" not in header or "module" not in header:
        raise ValidationError({"csv": Msg("errors.csv_header", columns=", ".join(CSV_COLUMNS))})
    if len(rows) > IMPORT_LIMIT:
        raise ValidationError({"csv": Msg("errors.csv_too_many", limit=IMPORT_LIMIT)})
    modules = {m.name.strip().lower(): m for m in modules_of(ctx, project.id or 0)}
    key_users = {k.user_id: k for k in active_key_users(ctx, project)}
    existing = {
        (e.module_id, e.user_id or "", "" if e.user_id else f"{e.name}|{e.department}".lower())
        for e in ctx.session.exec(_active(ctx, project, None)).all()
    }
    report = ImportReport()
    number = _next_number(ctx, project)
    now = ctx.now()
    added: list[EndUser] = []
    for line, raw in rows:
        row = {names.get(k.strip().lower(), k): (v or "").strip() for k, v in raw.items() if k}
        if "__extra__" in raw:
            report.errors.append((line, None, Msg("errors.csv_extra_cells")))
            continue
        who = row.get("slack_user", "")
        user_id: str | None = None
        display: str | None = None
        if who:
            resolved = resolve_user(who) if USER_ID_RE.match(who) or EMAIL_RE.match(who) else None
            if resolved is None:
                report.errors.append((line, "slack_user", Msg("errors.csv_unknown_user", who=who)))
                continue
            user_id, display = resolved
        name = row.get("name", "") or display or ""
        module = modules.get(row.get("module", "").lower())
        department = row.get("department", "")
        if responsible is not None:
            key_user: KeyUser | None = responsible
            typed = row.get("key_user", "")
            named = (resolve_user(typed) or ("", None))[0] if EMAIL_RE.match(typed) else typed
            if typed and named != responsible.user_id:
                report.errors.append((line, "key_user", Msg("enduser.errors.own_only")))
                continue
        else:
            typed = row.get("key_user", "")
            # A key user's id is looked up in the register read above; only an email asks Slack.
            found = resolve_user(typed) if EMAIL_RE.match(typed) else (typed, None)
            key_user = key_users.get(found[0]) if found else None
        problem: tuple[str, Msg] | None = None
        if not name:
            problem = ("name", Msg("enduser.errors.name_or_user"))
        elif len(name) > NAME_LIMIT:
            problem = ("name", Msg("errors.too_long", limit=NAME_LIMIT))
        elif not department:
            problem = ("department", Msg("errors.required"))
        elif len(department) > DEPARTMENT_LIMIT:
            problem = ("department", Msg("errors.too_long", limit=DEPARTMENT_LIMIT))
        elif module is None:
            problem = ("module", Msg("training.errors.module_not_found"))
        elif key_user is None:
            problem = ("key_user", Msg("enduser.errors.key_user_unknown", code=project.code))
        if problem is not None:
            report.errors.append((line, *problem))
            continue
        assert module is not None and key_user is not None
        key = (module.id, user_id or "", "" if user_id else f"{name}|{department}".lower())
        if key in existing:
            report.errors.append((line, "name", Msg("enduser.errors.duplicate")))
            continue
        existing.add(key)
        added.append(
            EndUser(
                team_id=ctx.team_id,
                project_id=project.id or 0,
                number=number,
                name=name,
                user_id=user_id,
                department=department,
                module_id=module.id or 0,
                key_user_id=key_user.id or 0,
                created_by=ctx.actor_id,
                created_at=now,
                updated_at=now,
            )
        )
        report.added.append(name)
        number += 1
    ctx.session.add_all(added)
    ctx.session.flush()
    ctx.log(
        "enduser.imported",
        project_id=project.id,
        added=len(report.added),
        rejected=len(report.errors),
    )
    return report


# ------------------------------------------------------------------------------- sessions


def session_audience(
    ctx: Ctx, project: Project, module: TrainingModule
) -> tuple[list[str], list[EndUser]]:
    """Who a session for end users of ``module`` is for: the acting key user's own end users of
    the module (a PM or the team: all of them). Returns (Slack ids to invite, end users without
    Slack for the roll call). A key user with no end user in the module is refused."""
    responsible = scope(ctx, project)
    people = list(
        ctx.session.exec(
            _active(ctx, project, responsible)
            .where(EndUser.module_id == module.id)
            .order_by(col(EndUser.number))
        ).all()
    )
    if responsible is not None and not people:
        raise PermissionDenied(Msg("enduser.errors.not_your_module", module=module.name))
    slack = list(dict.fromkeys(e.user_id for e in people if e.user_id))
    return slack, [e for e in people if not e.user_id]


def session_modules(ctx: Ctx, project: Project) -> set[int]:
    """The modules the acting person may run end-user sessions for: those of their own end
    users (a PM or the team: of any end user)."""
    responsible = scope(ctx, project)
    query = select(EndUser.module_id).where(
        EndUser.team_id == ctx.team_id,
        EndUser.project_id == project.id,
        col(EndUser.removed_at).is_(None),
    )
    if responsible is not None:
        query = query.where(EndUser.key_user_id == responsible.id)
    return set(ctx.session.exec(query.distinct()).all())


def put_on_roster(ctx: Ctx, event: CalendarEvent, named: list[EndUser]) -> None:
    ctx.session.add_all(
        EndUserAttendance(team_id=ctx.team_id, event_id=event.id or 0, end_user_id=e.id or 0)
        for e in named
    )


def named_roster(ctx: Ctx, event: CalendarEvent) -> list[tuple[EndUser, str | None]]:
    """The end users without Slack on a session's roster, with their attendance (one query)."""
    return [
        (end_user, attendance)
        for end_user, attendance in ctx.session.exec(
            select(EndUser, EndUserAttendance.attendance)
            .join(EndUserAttendance, col(EndUserAttendance.end_user_id) == col(EndUser.id))
            .where(
                EndUserAttendance.team_id == ctx.team_id,
                EndUserAttendance.event_id == event.id,
            )
            .order_by(col(EndUser.number))
        ).all()
    ]


def record_named_attendance(
    ctx: Ctx, event: CalendarEvent, statuses: dict[str, str], allowed: set[str]
) -> int:
    """The roll call's marks for end users without Slack (keyed by their number): only those on
    the session's roster; the caller has checked the right to take the roll."""
    rows = {
        str(end_user.number): row
        for end_user, row in ctx.session.exec(
            select(EndUser, EndUserAttendance)
            .join(EndUserAttendance, col(EndUserAttendance.end_user_id) == col(EndUser.id))
            .where(
                EndUserAttendance.team_id == ctx.team_id,
                EndUserAttendance.event_id == event.id,
            )
        ).all()
    }
    if any(k not in rows for k in statuses) or any(
        v and v not in allowed for v in statuses.values()
    ):
        raise ValidationError({"attendance": Msg("calendar.errors.not_on_roster")})
    changed = 0
    for number, status in statuses.items():
        row = rows[number]
        if status and row.attendance != status:
            row.attendance, row.attendance_by = status, ctx.actor_id
            ctx.session.add(row)
            changed += 1
    ctx.session.flush()
    return changed
