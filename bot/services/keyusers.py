"""The key-user register: add, edit, remove (soft), list by quadrant, CSV import and export.

The influence/interest grid (high vs. not high on each axis) gives each key user a quadrant and from
it a default contact cadence that a PM can override per person.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlmodel import col

from bot.csvutil import read_csv, write_csv
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import LOCALES, plain
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.fields import limit, too_long, whole_number
from bot.services.projects import require_pm
from storage.models import KeyUser, Project

ROLES = (
    "sponsor",
    "decision_maker",
    "business_representative",
    "key_user",
    "system_administrator",
    "consultant",
)
LEVELS = ("high", "medium", "low")
CHANNELS = ("dm", "project_channel", "meeting", "email")
DEPARTMENT_LIMIT = limit(KeyUser.department)
MODULE_LIMIT = limit(KeyUser.module)
NOTES_LIMIT = limit(KeyUser.notes)
USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,30}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CSV_COLUMNS = (
    "slack_user",
    "name",
    "role",
    "department",
    "module",
    "influence",
    "interest",
    "preferred_channel",
    "cadence_days",
    "notes",
)
# The CSV columns holding a choice, exported as its label in the project's language: (catalog
# section, codes).
CSV_CHOICES = {
    "role": ("roles", ROLES),
    "influence": ("levels", LEVELS),
    "interest": ("levels", LEVELS),
    "preferred_channel": ("channels", CHANNELS),
}


class Quadrant(StrEnum):
    MANAGE_CLOSELY = "manage_closely"
    KEEP_SATISFIED = "keep_satisfied"
    KEEP_INFORMED = "keep_informed"
    MONITOR = "monitor"


QUADRANT_ORDER = tuple(Quadrant)
DEFAULT_CADENCE_DAYS = {
    Quadrant.MANAGE_CLOSELY: 7,
    Quadrant.KEEP_SATISFIED: 14,
    Quadrant.KEEP_INFORMED: 14,
    Quadrant.MONITOR: 30,
}


def quadrant(influence: str, interest: str) -> Quadrant:
    high_influence = influence == "high"
    high_interest = interest == "high"
    if high_influence and high_interest:
        return Quadrant.MANAGE_CLOSELY
    if high_influence:
        return Quadrant.KEEP_SATISFIED
    if high_interest:
        return Quadrant.KEEP_INFORMED
    return Quadrant.MONITOR


def cadence_days(key_user: KeyUser) -> int:
    """The contact cadence in days: the PM's override, else the quadrant's default."""
    return cadence_of(key_user.cadence_days, quadrant(key_user.influence, key_user.interest))


def cadence_of(override: int | None, of_quadrant: Quadrant) -> int:
    return override or DEFAULT_CADENCE_DAYS[of_quadrant]


@dataclass
class KeyUserInput:
    user_id: str = ""
    role: str = "key_user"
    department: str = ""
    module: str = ""
    influence: str = "medium"
    interest: str = "medium"
    preferred_channel: str = "dm"
    cadence_days: str | int | None = None
    notes: str = ""
    display_name: str | None = None


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    # (line in the file, field or None, message): translated by whoever shows the report
    errors: list[tuple[int, str | None, Msg]] = field(default_factory=list)


ResolveUser = Callable[[str], tuple[str, str | None] | None]


def csv_person(
    errors: list[tuple[int, str | None, Msg]],
    line: int,
    row: dict[str, str],
    resolve_user: ResolveUser,
) -> tuple[str, str | None] | None:
    """The person an imported row's ``slack_user`` cell names (a Slack user id or an email,
    looked up by ``resolve_user``) as ``(user_id, display name)``; None, with the row's error
    added to ``errors``, for a row with extra cells or a cell that names nobody."""
    if "__extra__" in row:
        errors.append((line, None, Msg("errors.csv_extra_cells")))
        return None
    who = row.get("slack_user", "")
    resolved = resolve_user(who) if (USER_ID_RE.match(who) or EMAIL_RE.match(who)) else None
    if resolved is None:
        errors.append((line, "slack_user", Msg("errors.csv_unknown_user", who=who)))
    return resolved


def _clean(data: KeyUserInput) -> tuple[dict[str, object], dict[str, Msg]]:
    errors: dict[str, Msg] = {}
    if not USER_ID_RE.match(data.user_id or ""):
        errors["user_id"] = Msg("errors.user_required")
    role = (data.role or "").strip().lower().replace(" ", "_")
    if role not in ROLES:
        errors["role"] = Msg("errors.choice", choices=", ".join(ROLES))
    influence = (data.influence or "").strip().lower()
    if influence not in LEVELS:
        errors["influence"] = Msg("errors.choice", choices=", ".join(LEVELS))
    interest = (data.interest or "").strip().lower()
    if interest not in LEVELS:
        errors["interest"] = Msg("errors.choice", choices=", ".join(LEVELS))
    channel = (data.preferred_channel or "dm").strip().lower().replace(" ", "_")
    if channel not in CHANNELS:
        errors["preferred_channel"] = Msg("errors.choice", choices=", ".join(CHANNELS))
    cadence: int | None = None
    raw_cadence = str(data.cadence_days).strip() if data.cadence_days is not None else ""
    if raw_cadence:
        cadence = whole_number(raw_cadence)
        if cadence is None or not 1 <= cadence <= 365:
            errors["cadence_days"] = Msg("errors.cadence_range")
            cadence = None
    for name in ("department", "module", "notes"):
        if message := too_long(getattr(data, name), getattr(KeyUser, name)):
            errors[name] = message
    values: dict[str, object] = {
        "role": role,
        "department": (data.department or "").strip() or None,
        "module": (data.module or "").strip() or None,
        "influence": influence,
        "interest": interest,
        "preferred_channel": channel,
        "cadence_days": cadence,
        "notes": (data.notes or "").strip() or None,
    }
    return values, errors


def _find(ctx: Ctx, project: Project, user_id: str) -> KeyUser | None:
    return ctx.session.exec(
        ctx.select(KeyUser).where(KeyUser.project_id == project.id, KeyUser.user_id == user_id)
    ).first()


def add_key_user(*, ctx: Ctx, project: Project, data: KeyUserInput) -> KeyUser:
    """Register a key user; re-adding a removed one restores their row, so history stays linked."""
    require_pm(ctx, project)
    values, errors = _clean(data)
    existing = _find(ctx, project, data.user_id) if "user_id" not in errors else None
    if existing is not None and existing.active:
        errors["user_id"] = Msg("errors.keyuser_exists", code=project.code)
    if errors:
        raise ValidationError(errors)
    now = ctx.now()
    if existing is None:
        key_user = KeyUser(
            team_id=ctx.team_id,
            project_id=project.id or 0,
            user_id=data.user_id,
            display_name=data.display_name,
            created_at=now,
            updated_at=now,
            **values,  # type: ignore[arg-type]
        )
        kind = "keyuser.added"
    else:
        key_user = existing
        for name, value in values.items():
            setattr(key_user, name, value)
        key_user.display_name = data.display_name or key_user.display_name
        key_user.removed_at = None
        key_user.updated_at = now
        kind = "keyuser.restored"
    ctx.session.add(key_user)
    ctx.session.flush()
    ctx.log(kind, project_id=project.id, key_user_id=key_user.id, user_id=data.user_id, **values)
    return key_user


def update_key_user(*, ctx: Ctx, key_user: KeyUser, data: KeyUserInput) -> KeyUser:
    project = ctx.get(Project, key_user.project_id)
    assert project is not None
    require_pm(ctx, project)
    data.user_id = key_user.user_id
    values, errors = _clean(data)
    if errors:
        raise ValidationError(errors)
    changes = {
        name: [getattr(key_user, name), value]
        for name, value in values.items()
        if getattr(key_user, name) != value
    }
    for name, value in values.items():
        setattr(key_user, name, value)
    if data.display_name:
        key_user.display_name = data.display_name
    key_user.updated_at = ctx.now()
    ctx.session.add(key_user)
    ctx.log("keyuser.updated", project_id=project.id, key_user_id=key_user.id, changes=changes)
    return key_user


def remove_key_user(*, ctx: Ctx, key_user: KeyUser) -> KeyUser:
    project = ctx.get(Project, key_user.project_id)
    assert project is not None
    require_pm(ctx, project)
    if not key_user.active:
        raise NotFound(Msg("errors.keyuser_not_found", code=project.code))
    key_user.removed_at = ctx.now()
    key_user.updated_at = ctx.now()
    ctx.session.add(key_user)
    ctx.log(
        "keyuser.removed", project_id=project.id, key_user_id=key_user.id, user_id=key_user.user_id
    )
    return key_user


def active_key_user(ctx: Ctx, project: Project, user_id: str) -> KeyUser | None:
    """The project's key user ``user_id``, unless there is none or they were removed."""
    key_user = _find(ctx, project, user_id)
    return key_user if key_user is not None and key_user.active else None


def key_user_of(ctx: Ctx, project: Project, user_id: str | None) -> KeyUser | None:
    """``active_key_user`` for whoever may be nobody (a request without a person)."""
    return active_key_user(ctx, project, user_id) if user_id else None


def get_key_user(ctx: Ctx, project: Project, user_id: str) -> KeyUser:
    key_user = active_key_user(ctx, project, user_id)
    if key_user is None:
        raise NotFound(Msg("errors.keyuser_not_found", code=project.code))
    return key_user


def get_key_user_by_id(ctx: Ctx, key_user_id: int) -> KeyUser:
    key_user = ctx.get(KeyUser, key_user_id)
    if key_user is None:
        raise NotFound(Msg("errors.keyuser_gone"))
    return key_user


def active_key_users(ctx: Ctx, project: Project) -> list[KeyUser]:
    return list(
        ctx.session.exec(
            ctx.select(KeyUser)
            .where(KeyUser.project_id == project.id, col(KeyUser.removed_at).is_(None))
            .order_by(col(KeyUser.display_name).nulls_first(), col(KeyUser.user_id))
        ).all()
    )


@dataclass
class RegisterEntry:
    key_user: KeyUser
    quadrant: Quadrant
    cadence_days: int
    cadence_overridden: bool


def register(ctx: Ctx, project: Project) -> dict[Quadrant, list[RegisterEntry]]:
    """Active key users grouped by quadrant, in the grid's order (empty quadrants kept).

    A quadrant is sensitive (nobody wants to read that they are "monitor"): the PMs and the team
    see the whole register, a key user only their own entry, anyone else nothing."""
    key_users = active_key_users(ctx, project)
    if not project_service.can_see_register(ctx, project):
        key_users = [k for k in key_users if k.user_id == ctx.actor_id]
        if not key_users:
            raise PermissionDenied(Msg("security.register_private", code=project.code))
    grouped: dict[Quadrant, list[RegisterEntry]] = {q: [] for q in QUADRANT_ORDER}
    for key_user in key_users:
        q = quadrant(key_user.influence, key_user.interest)
        grouped[q].append(
            RegisterEntry(key_user, q, cadence_days(key_user), key_user.cadence_days is not None)
        )
    return grouped


def _fold(text: str) -> str:
    """A header name or choice as the import compares it (as ``read_csv`` folds headers)."""
    return text.strip().lower().replace(" ", "_")


def _csv_names() -> dict[str, str]:
    """Each column's header in either language, and its code, to the column's code."""
    names = {name: name for name in CSV_COLUMNS}
    for locale in LOCALES:
        names |= {_fold(plain(locale, f"keyuser.csv.{name}")): name for name in CSV_COLUMNS}
    return names


def _csv_choice(column: str, value: str) -> str:
    """A choice's code from its label in either language (or the code itself); anything else
    unchanged, for the checks to refuse."""
    section, codes = CSV_CHOICES[column]
    for code in codes:
        if _fold(value) == code or any(
            _fold(value) == _fold(plain(locale, f"{section}.{code}")) for locale in LOCALES
        ):
            return code
    return value


def export_csv(ctx: Ctx, project: Project) -> str:
    """The register in the project's language: its headers and choices are labels, which the
    import reads back (as it reads the codes)."""
    require_pm(ctx, project)
    locale = project.locale

    def label(column: str, code: str) -> str:
        return plain(locale, f"{CSV_CHOICES[column][0]}.{code}")

    rows = [
        (
            key_user.user_id,
            key_user.display_name or "",
            label("role", key_user.role),
            key_user.department or "",
            key_user.module or "",
            label("influence", key_user.influence),
            label("interest", key_user.interest),
            label("preferred_channel", key_user.preferred_channel),
            key_user.cadence_days or "",
            key_user.notes or "",
        )
        for key_user in active_key_users(ctx, project)
    ]
    ctx.log("keyuser.exported", project_id=project.id, rows=len(rows))
    header = [plain(locale, f"keyuser.csv.{name}") for name in CSV_COLUMNS]
    return write_csv(header, rows)


def import_csv(
    *,
    ctx: Ctx,
    project: Project,
    text: str,
    resolve_user: ResolveUser,
) -> ImportReport:
    """Import register rows: each good row is written whole, each bad row is reported by line.

    ``slack_user`` holds a Slack user id or an email; ``resolve_user`` (Slack I/O, given by the
    handler) turns it into ``(user_id, display name)`` or None when nobody matches.
    """
    require_pm(ctx, project)
    report = ImportReport()
    header, rows = read_csv(text)
    names = _csv_names()
    header = [names.get(_fold(name), name) for name in header]
    rows = [
        (line, {names.get(_fold(name), name): value for name, value in row.items()})
        for line, row in rows
    ]
    if "slack_user" not in header or "role" not in header:
        raise ValidationError({"csv": Msg("errors.csv_header", columns=", ".join(CSV_COLUMNS))})
    if len(rows) > 2000:
        raise ValidationError({"csv": Msg("errors.csv_too_many", limit=2000)})
    seen: set[str] = set()
    for line, row in rows:
        resolved = csv_person(report.errors, line, row, resolve_user)
        if resolved is None:
            continue
        user_id, display_name = resolved
        if user_id in seen:
            who = row.get("slack_user", "")
            report.errors.append((line, "slack_user", Msg("errors.csv_duplicate", who=who)))
            continue
        seen.add(user_id)
        data = KeyUserInput(
            user_id=user_id,
            role=_csv_choice("role", row.get("role", "")),
            department=row.get("department", ""),
            module=row.get("module", ""),
            influence=_csv_choice("influence", row.get("influence", "") or "medium"),
            interest=_csv_choice("interest", row.get("interest", "") or "medium"),
            preferred_channel=_csv_choice(
                "preferred_channel", row.get("preferred_channel", "") or "dm"
            ),
            cadence_days=row.get("cadence_days") or None,
            notes=row.get("notes", ""),
            display_name=display_name or row.get("name") or None,
        )
        existing = _find(ctx, project, user_id)
        try:
            with ctx.session.begin_nested():
                if existing is not None and existing.active:
                    update_key_user(ctx=ctx, key_user=existing, data=data)
                    report.updated.append(user_id)
                else:
                    add_key_user(ctx=ctx, project=project, data=data)
                    report.added.append(user_id)
        except ValidationError as error:
            for name, message in error.errors.items():
                report.errors.append((line, name, _as_msg(message)))
    ctx.log(
        "keyuser.imported",
        project_id=project.id,
        added=len(report.added),
        updated=len(report.updated),
        rejected=len(report.errors),
    )
    return report


def _as_msg(message: object) -> Msg:
    return message if isinstance(message, Msg) else Msg("errors.plain", text=str(message))
