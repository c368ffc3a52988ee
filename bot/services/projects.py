"""Projects: creation, editing, phases, PMs and team members, and who may change what."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col, or_, select

from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import phase_exit
from bot.services.context import Ctx
from bot.services.fields import limit, too_long
from storage.models import DigestSettings, DigestTarget, KeyUser, PhaseMove, Project, ProjectMember
from storage.models.core import MemberRole

DEFAULT_PHASES = (
    "preparation",
    "blueprint",
    "realization",
    "final_preparation",
    "go_live_support",
)
LOCALES = ("en", "zh-CN")
CODE_RE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_PHASES = 20
NAME_LIMIT = limit(Project.name)
PHASE_LIMIT = limit(Project.phase)


@dataclass
class ProjectInput:
    """What a PM types into the project modal (every field already a plain Python value)."""

    name: str = ""
    code: str = ""
    phase: str = ""
    custom_phases: str = ""  # comma-separated; empty keeps the standard ASAP phases
    channel_id: str | None = None
    pm_ids: list[str] = field(default_factory=list)
    team_ids: list[str] | None = None  # None leaves the project team as it is
    timezone: str = "UTC"
    locale: str = "en"
    digest_weekday: int | None = 0  # None: not a day (a forged choice)
    digest_time: str = "09:00"
    # Where the weekly digest goes (``DigestTarget``); None keeps it as it is.
    digest_target: str | None = None


def _phase_list(raw: str) -> list[str]:
    names = [re.sub(r"\s+", "_", part.strip().lower()) for part in raw.split(",")]
    return [name for name in dict.fromkeys(names) if name]


def validate_project(ctx: Ctx, data: ProjectInput, *, existing: Project | None = None) -> list[str]:
    """Check every field at once; raises ``ValidationError`` naming each bad one. Returns phases."""
    errors: dict[str, Msg] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = Msg("errors.required")
    elif len(name) > NAME_LIMIT:
        errors["name"] = Msg("errors.too_long", limit=NAME_LIMIT)

    code = data.code.strip().upper()
    if not CODE_RE.match(code):
        errors["code"] = Msg("errors.project_code_format")
    else:
        clash = ctx.session.exec(ctx.select(Project).where(Project.code == code)).first()
        if clash is not None and (existing is None or clash.id != existing.id):
            errors["code"] = Msg("errors.project_code_taken", code=code)

    phases = _phase_list(data.custom_phases) if data.custom_phases.strip() else list(DEFAULT_PHASES)
    if len(phases) > MAX_PHASES or any(len(p) > PHASE_LIMIT for p in phases):
        errors["custom_phases"] = Msg("errors.phases_too_many", limit=MAX_PHASES)
    phase = (data.phase or phases[0]).strip().lower().replace(" ", "_")
    if phase not in phases:
        errors["phase"] = Msg("errors.phase_unknown", phases=", ".join(phases))

    if not data.pm_ids:
        errors["pm_ids"] = Msg("errors.pm_required")
    try:
        # A name longer than the column is no zone (and too long a file name to look up).
        known = not too_long(data.timezone, Project.timezone) and bool(ZoneInfo(data.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        known = False
    if not known:
        timezone = data.timezone[: limit(Project.timezone)]
        errors["timezone"] = Msg("errors.timezone_unknown", timezone=timezone)
    if data.locale not in LOCALES:
        errors["locale"] = Msg("errors.locale_unknown")
    if data.digest_weekday is None or not 0 <= data.digest_weekday <= 6:
        errors["digest_weekday"] = Msg("errors.weekday_unknown")
    if not TIME_RE.match(data.digest_time or ""):
        errors["digest_time"] = Msg("errors.time_format")
    if data.digest_target is not None:
        if data.digest_target not in set(DigestTarget):
            errors["digest_target"] = Msg("digest.errors.target_unknown")
        elif data.digest_target == DigestTarget.CHANNEL and not data.channel_id:
            errors["digest_target"] = Msg("project.errors.digest_needs_channel")
    if errors:
        raise ValidationError(errors)
    return phases


def create_project(*, ctx: Ctx, data: ProjectInput) -> Project:
    phases = validate_project(ctx, data)
    ctx.ensure_workspace()
    now = ctx.now()
    project = Project(
        team_id=ctx.team_id,
        name=data.name.strip(),
        code=data.code.strip().upper(),
        phase=(data.phase or phases[0]).strip().lower().replace(" ", "_"),
        phases=phases,
        channel_id=data.channel_id,
        timezone=data.timezone,
        locale=data.locale,
        digest_weekday=data.digest_weekday,
        digest_time=data.digest_time,
        created_by=ctx.actor_id or "",
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(project)
    ctx.session.flush()
    _set_members(ctx, project, data.pm_ids, MemberRole.PM)
    if data.team_ids is not None:
        _set_members(ctx, project, data.team_ids, MemberRole.TEAM)
    _set_digest_target(ctx, project, data.digest_target)
    ctx.log("project.created", project_id=project.id, code=project.code, name=project.name)
    return project


def digest_target(ctx: Ctx, project: Project) -> str:
    """Where the project's weekly digest goes (the channel and the PMs unless a PM chose)."""
    row = ctx.session.exec(
        ctx.select(DigestSettings).where(DigestSettings.project_id == project.id)
    ).first()
    return row.target if row is not None else DigestTarget.BOTH


def _set_digest_target(ctx: Ctx, project: Project, target: str | None) -> None:
    if target is None:
        return
    row = ctx.session.exec(
        ctx.select(DigestSettings).where(DigestSettings.project_id == project.id)
    ).first() or DigestSettings(
        team_id=ctx.team_id, project_id=project.id or 0, updated_at=ctx.now()
    )
    if row.id is not None and row.target == target:
        return
    row.target, row.updated_by, row.updated_at = target, ctx.actor_id, ctx.now()
    ctx.session.add(row)


def update_project(*, ctx: Ctx, project: Project, data: ProjectInput) -> Project:
    require_pm(ctx, project)
    phases = validate_project(ctx, data, existing=project)
    before = project_summary(project)
    project.name = data.name.strip()
    project.code = data.code.strip().upper()
    project.phases = phases
    _move(ctx, project, (data.phase or phases[0]).strip().lower().replace(" ", "_"), via="edit")
    project.channel_id = data.channel_id
    project.timezone = data.timezone
    project.locale = data.locale
    project.digest_weekday = data.digest_weekday
    project.digest_time = data.digest_time
    project.updated_at = ctx.now()
    ctx.session.add(project)
    _set_members(ctx, project, data.pm_ids, MemberRole.PM)
    if data.team_ids is not None:
        _set_members(ctx, project, data.team_ids, MemberRole.TEAM)
    _set_digest_target(ctx, project, data.digest_target)
    after = project_summary(project)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    ctx.log("project.updated", project_id=project.id, changes=changed)
    return project


def phase_name(phase: str) -> str:
    """A phase as people type it ("Go Live-Support") as the project stores it."""
    return "_".join(phase.strip().lower().replace("-", " ").split())


def set_phase(*, ctx: Ctx, project: Project, phase: str, via: str = "command") -> Project:
    """Move the project to ``phase`` (PMs): the one way a phase changes, logged with what the
    exit criteria of the phase it leaves still found open."""
    require_pm(ctx, project)
    wanted = phase_name(phase)
    if wanted not in project.phases:
        raise ValidationError(
            {"phase": Msg("errors.phase_unknown", phases=", ".join(project.phases))}
        )
    _move(ctx, project, wanted, via=via)
    return project


def _move(ctx: Ctx, project: Project, wanted: str, *, via: str) -> PhaseMove | None:
    previous = project.phase
    if wanted == previous:
        return None
    open_now = phase_exit.blockers(ctx, project)
    project.phase = wanted
    project.updated_at = ctx.now()
    ctx.session.add(project)
    move = PhaseMove(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        from_phase=previous,
        to_phase=wanted,
        actor_id=ctx.actor_id,
        via=via,
        blockers=[blocker.record() for blocker in open_now],
        at=ctx.now(),
    )
    ctx.session.add(move)
    ctx.session.flush()
    ctx.log("project.phase_changed", project_id=project.id, previous=previous, phase=wanted)
    return move


def last_move(ctx: Ctx, project: Project) -> PhaseMove | None:
    return ctx.session.exec(
        ctx.select(PhaseMove)
        .where(PhaseMove.project_id == project.id)
        .order_by(col(PhaseMove.id).desc())
    ).first()


def project_summary(project: Project) -> dict[str, object]:
    return {
        "name": project.name,
        "code": project.code,
        "phase": project.phase,
        "phases": list(project.phases),
        "channel_id": project.channel_id,
        "timezone": project.timezone,
        "locale": project.locale,
        "digest_weekday": project.digest_weekday,
        "digest_time": project.digest_time,
    }


def _set_members(ctx: Ctx, project: Project, user_ids: list[str], role: MemberRole) -> None:
    wanted = list(dict.fromkeys(user_ids))
    current = ctx.session.exec(
        ctx.select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.role == role
        )
    ).all()
    for member in current:
        if member.user_id not in wanted:
            ctx.session.delete(member)
    have = {member.user_id for member in current}
    for user_id in wanted:
        if user_id not in have:
            ctx.session.add(
                ProjectMember(
                    team_id=ctx.team_id,
                    project_id=project.id,
                    user_id=user_id,
                    role=role,
                    added_at=ctx.now(),
                )
            )
    ctx.session.flush()


def set_team_members(*, ctx: Ctx, project: Project, user_ids: list[str]) -> None:
    require_pm(ctx, project)
    _set_members(ctx, project, user_ids, MemberRole.TEAM)
    ctx.log("project.team_changed", project_id=project.id, team=user_ids)


def member_ids(ctx: Ctx, project: Project, role: MemberRole) -> list[str]:
    rows = ctx.session.exec(
        ctx.select(ProjectMember)
        .where(ProjectMember.project_id == project.id, ProjectMember.role == role)
        .order_by(col(ProjectMember.id))
    ).all()
    return [row.user_id for row in rows]


def pm_ids(ctx: Ctx, project: Project) -> list[str]:
    return member_ids(ctx, project, MemberRole.PM)


def pm_ids_by_project(ctx: Ctx, project_ids: set[int]) -> dict[int, list[str]]:
    """The PMs of many projects in one query."""
    found: dict[int, list[str]] = {}
    if not project_ids:
        return found
    rows = ctx.session.exec(
        ctx.select(ProjectMember)
        .where(
            col(ProjectMember.project_id).in_(sorted(project_ids)),
            ProjectMember.role == MemberRole.PM,
        )
        .order_by(col(ProjectMember.id))
    ).all()
    for row in rows:
        found.setdefault(row.project_id, []).append(row.user_id)
    return found


def is_pm(ctx: Ctx, project: Project, user_id: str | None = None) -> bool:
    user_id = user_id or ctx.actor_id
    return user_id in pm_ids(ctx, project)


def is_team_member(ctx: Ctx, project: Project, user_id: str | None = None) -> bool:
    user_id = user_id or ctx.actor_id
    return user_id in member_ids(ctx, project, MemberRole.TEAM) or is_pm(ctx, project, user_id)


def is_team(ctx: Ctx, project: Project, user_id: str | None = None) -> bool:
    """The project's PMs and team (and a workspace admin acting for themselves): who runs the
    project's registers (risks, change requests, sign-offs, decisions)."""
    user_id = user_id or ctx.actor_id
    if user_id == ctx.actor_id and ctx.actor_is_admin:
        return True
    return is_team_member(ctx, project, user_id)


def can_manage(ctx: Ctx, project: Project) -> bool:
    return is_pm(ctx, project) or ctx.actor_is_admin


def can_see_register(ctx: Ctx, project: Project) -> bool:
    """The register, the quadrants and the service levels are for the PMs and the team."""
    return is_team_member(ctx, project) or can_manage(ctx, project)


def require_team(ctx: Ctx, project: Project, what: str = "register") -> None:
    """Refuse anyone but the PMs and the team (``what``: register or service_levels)."""
    if not can_see_register(ctx, project):
        raise PermissionDenied(Msg(f"security.{what}_private", code=project.code))


def require_pm(ctx: Ctx, project: Project) -> None:
    """Only a project's PMs (or a workspace admin) change a project and its register."""
    if not can_manage(ctx, project):
        raise PermissionDenied(Msg("errors.not_pm", code=project.code))


def get_project(ctx: Ctx, code: str) -> Project:
    wanted = (code or "").strip().upper()
    project = ctx.session.exec(ctx.select(Project).where(Project.code == wanted)).first()
    if project is None:
        raise NotFound(Msg("errors.project_not_found", code=wanted or "?"))
    return project


def code_exists(ctx: Ctx, code: str) -> bool:
    wanted = (code or "").strip().upper()
    found = ctx.session.exec(
        select(Project.id).where(Project.team_id == ctx.team_id, Project.code == wanted)
    ).first()
    return found is not None


def get_project_by_id(ctx: Ctx, project_id: int) -> Project:
    project = ctx.get(Project, project_id)
    if project is None:
        raise NotFound(Msg("errors.project_not_found", code=str(project_id)))
    return project


def project_for_channel(ctx: Ctx, channel_id: str | None) -> Project | None:
    if not channel_id:
        return None
    return ctx.session.exec(ctx.select(Project).where(Project.channel_id == channel_id)).first()


def list_projects(ctx: Ctx) -> list[Project]:
    return list(ctx.session.exec(ctx.select(Project).order_by(col(Project.code))).all())


def language_of_person(ctx: Ctx, user_id: str) -> str | None:
    """The language of the projects someone works in (the most recent one's when they differ),
    or None when they are in none: one query."""
    member = select(ProjectMember.project_id).where(
        ProjectMember.team_id == ctx.team_id, ProjectMember.user_id == user_id
    )
    key_user = select(KeyUser.project_id).where(
        KeyUser.team_id == ctx.team_id,
        KeyUser.user_id == user_id,
        col(KeyUser.removed_at).is_(None),
    )
    row = ctx.session.exec(
        ctx.select(Project)
        .where(or_(col(Project.id).in_(member), col(Project.id).in_(key_user)))
        .order_by(col(Project.created_at).desc(), col(Project.id).desc())
    ).first()
    return row.locale if row is not None else None


def projects_managed_by(ctx: Ctx, user_id: str) -> list[Project]:
    rows = ctx.session.exec(
        ctx.select(Project)
        .join(ProjectMember, col(ProjectMember.project_id) == col(Project.id))
        .where(ProjectMember.user_id == user_id, ProjectMember.role == MemberRole.PM)
        .order_by(col(Project.code))
    ).all()
    unique = {project.id: project for project in rows}
    return list(unique.values())


def manageable_choice(
    ctx: Ctx, project: Project | None, *, project_command: str = "/project"
) -> tuple[Project | None, list[Project]]:
    """For a form about one project the actor manages: the project (given, or the only one they
    manage) and the projects to choose from. Refuses when they manage none or not the given one."""
    if project is not None:
        require_pm(ctx, project)
        return project, [project]
    projects = [p for p in list_projects(ctx) if can_manage(ctx, p)]
    if not projects:
        raise NotFound(Msg("errors.no_managed_projects", command=project_command))
    return (projects[0] if len(projects) == 1 else None), projects


def resolve_project(ctx: Ctx, code: str | None, channel_id: str | None = None) -> Project:
    """The project a command means: the code given, else the channel's project, else the only one
    the person manages."""
    if code:
        return get_project(ctx, code)
    by_channel = project_for_channel(ctx, channel_id)
    if by_channel is not None:
        return by_channel
    managed = projects_managed_by(ctx, ctx.actor_id or "")
    if len(managed) == 1:
        return managed[0]
    raise NotFound(Msg("errors.project_code_needed"))


Row = TypeVar("Row", bound=SQLModel)


def settings_row(ctx: Ctx, model: type[Row], project: Project, *, lock: bool = False) -> Row:
    """A project's one row of a per-project settings table (its counters, its thresholds),
    made on first use; locked for update when it hands out the next number."""
    query = ctx.select(model).where(model.project_id == project.id)  # type: ignore[attr-defined]
    if lock:
        query = query.with_for_update()
    row = ctx.session.exec(query).first()
    if row is None:
        try:
            # Two first records of a project at once: one insert wins, the other reads its row.
            with ctx.session.begin_nested():
                ctx.session.add(model(team_id=ctx.team_id, project_id=project.id or 0))
        except IntegrityError:
            pass
        row = ctx.session.exec(query).one()
    return row
