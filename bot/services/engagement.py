"""Engagement: every touchpoint with a key user is an ``Interaction`` with a time; contacts outside
Slack (a call, an email, a face-to-face talk) are logged by the team; a key user whose last
contact is older than their contact cadence is in engagement debt.

Only people talking to people count as a contact (``is_contact``): a contact the team logged, a
meeting or training session the key user attended, and a reply of a PM or team member to the key
user's issue (acknowledged, started, updated, resolved). What the bot does on its own (reminders,
escalations, closing an unanswered issue) and what the key user does alone (answering a poll,
logging or rating an issue, RSVPs, quizzes) are touchpoints of the log, not contacts.

Everything here is computed set-based: one aggregate query (latest touchpoint per key user) for
any number of projects, never a query per key user. ``engagement_debt`` and ``last_contacts`` are
what the weekly digest and the PM dashboard read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import fields
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.keyusers import Quadrant, active_key_user, cadence_of, quadrant
from storage.models import Interaction, KeyUser, Project, ProjectMember
from storage.models.core import MemberRole
from storage.types import UTCDateTime

CONTACT_KINDS = ("call", "email", "face_to_face")
KIND_ALIASES = {"phone": "call", "mail": "email", "f2f": "face_to_face", "meeting": "face_to_face"}
NOTE_LIMIT = 500
NUDGE_LIST_LIMIT = 20
# Interactions that are a contact whoever logged them, and the issue moves that are one when a PM
# or team member (not the key user) made them. README's "What counts as a contact" lists them.
CONTACT_INTERACTIONS = (
    *(f"contact.{kind}" for kind in CONTACT_KINDS),
    "meeting_attended",
    "training_attended",
)
ISSUE_REPLIES = ("issue.ack", "issue.start", "issue.update", "issue.resolve")


@dataclass(frozen=True)
class Contact:
    """A key user's standing: their last touchpoint and whether it is older than their cadence."""

    project_id: int
    key_user_id: int
    user_id: str
    display_name: str | None
    role: str
    quadrant: Quadrant
    cadence_days: int
    last_contact_at: datetime | None  # None: no touchpoint since registration
    registered_at: datetime
    in_debt_since: datetime | None  # None: not in debt

    @property
    def in_debt(self) -> bool:
        return self.in_debt_since is not None


def is_contact() -> ColumnElement[bool]:
    """Whether an ``Interaction`` row is a human contact with its key user (see the module)."""
    by_the_team = (
        select(ProjectMember.id)
        .where(
            col(ProjectMember.team_id) == col(Interaction.team_id),
            col(ProjectMember.project_id) == col(Interaction.project_id),
            col(ProjectMember.user_id) == col(Interaction.actor_id),
        )
        .exists()
    )
    by_the_key_user = (
        select(KeyUser.id)
        .where(
            col(KeyUser.id) == col(Interaction.key_user_id),
            col(KeyUser.user_id) == col(Interaction.actor_id),
        )
        .exists()
    )
    return and_(
        col(Interaction.touchpoint).is_(True),
        or_(
            col(Interaction.kind).in_(CONTACT_INTERACTIONS),
            and_(col(Interaction.kind).in_(ISSUE_REPLIES), by_the_team, ~by_the_key_user),
        ),
    )


def contacts_by_project(
    ctx: Ctx, project_ids: list[int], now: datetime
) -> dict[int, list[Contact]]:
    """Every active key user of the projects with their last contact, oldest contact first: one
    statement (the register joined with each key user's latest human contact)."""
    if not project_ids:
        return {}
    latest = (
        select(
            col(Interaction.key_user_id).label("key_user_id"),
            func.max(Interaction.at).label("at"),
        )
        .where(
            Interaction.team_id == ctx.team_id,
            col(Interaction.project_id).in_(project_ids),
            col(Interaction.key_user_id).is_not(None),
            is_contact(),
        )
        .group_by(col(Interaction.key_user_id))
        .subquery()
    )
    # Plain columns, not register rows: the digest reads hundreds of key users at a time.
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(
            col(KeyUser.id),
            col(KeyUser.project_id),
            col(KeyUser.user_id),
            col(KeyUser.display_name),
            col(KeyUser.role),
            col(KeyUser.influence),
            col(KeyUser.interest),
            col(KeyUser.cadence_days),
            col(KeyUser.created_at),
            latest.c.at,
        )
        .outerjoin(latest, latest.c.key_user_id == col(KeyUser.id))
        .where(
            KeyUser.team_id == ctx.team_id,
            col(KeyUser.project_id).in_(project_ids),
            col(KeyUser.removed_at).is_(None),
        )
    ).all()
    # Aggregates lose the column type on SQLite: read them back as aware UTC datetimes.
    reader, dialect = UTCDateTime().process_result_value, ctx.session.get_bind().dialect
    grouped: dict[int, list[Contact]] = {project_id: [] for project_id in project_ids}
    for row in rows:
        key_user_id, project_id, user_id, name, role, influence, interest = row[:7]
        override, registered_at, latest_at = row[7:]
        of_quadrant = quadrant(influence, interest)
        cadence = cadence_of(override, of_quadrant)
        last = reader(latest_at, dialect)  # type: ignore[arg-type]
        due = (last or registered_at) + timedelta(days=cadence)
        grouped[project_id].append(
            Contact(
                project_id=project_id,
                key_user_id=key_user_id,
                user_id=user_id,
                display_name=name,
                role=role,
                quadrant=of_quadrant,
                cadence_days=cadence,
                last_contact_at=last,
                registered_at=registered_at,
                in_debt_since=due if now > due else None,
            )
        )
    for contacts in grouped.values():
        contacts.sort(key=lambda c: (c.last_contact_at or c.registered_at, c.user_id))
    return grouped


def last_contacts(ctx: Ctx, project_id: int, now: datetime) -> list[Contact]:
    """Each active key user of a project with their last contact (the Home tab's list)."""
    return contacts_by_project(ctx, [project_id], now)[project_id]


def engagement_debt(ctx: Ctx, project_id: int, now: datetime) -> list[Contact]:
    """Key users whose last contact (or registration) is older than their cadence, longest
    in debt first."""
    return [c for c in last_contacts(ctx, project_id, now) if c.in_debt]


def debt_by_project(ctx: Ctx, project_ids: list[int], now: datetime) -> dict[int, list[Contact]]:
    grouped = contacts_by_project(ctx, project_ids, now)
    return {pid: [c for c in contacts if c.in_debt] for pid, contacts in grouped.items()}


# ---------------------------------------------------------------------------- logging contacts


def normalize_kind(raw: str) -> str | None:
    word = (raw or "").strip().lower().replace("-", "_").replace(" ", "_")
    word = KIND_ALIASES.get(word, word)
    return word if word in CONTACT_KINDS else None


def log_contact(
    *, ctx: Ctx, project: Project, user_id: str, kind: str, note: str
) -> tuple[KeyUser, Interaction]:
    """A contact outside Slack, logged by a PM or team member: a touchpoint of that key user."""
    if not project_service.is_team_member(ctx, project) and not ctx.actor_is_admin:
        raise PermissionDenied(Msg("engagement.errors.not_team", code=project.code))
    errors: dict[str, Msg] = {}
    key_user = active_key_user(ctx, project, user_id)
    if key_user is None:
        errors["user_id"] = Msg("engagement.errors.not_key_user", code=project.code)
    contact_kind = normalize_kind(kind)
    if contact_kind is None:
        errors["kind"] = Msg("errors.choice", choices=", ".join(CONTACT_KINDS))
    text = " ".join((note or "").split())
    if problem := fields.required_text(text, NOTE_LIMIT):
        errors["note"] = problem
    if errors:
        raise ValidationError(errors)
    assert key_user is not None
    entry = ctx.log(
        f"contact.{contact_kind}",
        project_id=project.id,
        key_user_id=key_user.id,
        touchpoint=True,
        user_id=user_id,
        note=text,
    )
    return key_user, entry


def log_touchpoints(
    ctx: Ctx, project_id: int, user_ids: list[str], kind: str, **detail: object
) -> int:
    """One touchpoint for each of ``user_ids`` who is an active key user of the project (a report
    received, a meeting attended); one query for all of them. Returns how many were logged."""
    if not user_ids:
        return 0
    rows = ctx.session.exec(
        ctx.select(KeyUser).where(
            KeyUser.project_id == project_id,
            col(KeyUser.user_id).in_(user_ids),
            col(KeyUser.removed_at).is_(None),
        )
    ).all()
    for key_user in rows:
        ctx.log(
            kind,
            project_id=project_id,
            key_user_id=key_user.id,
            touchpoint=True,
            user_id=key_user.user_id,
            **detail,
        )
    return len(rows)


def find_project_for_touch(ctx: Ctx, code: str | None, channel_id: str | None) -> Project:
    """The project a ``/keyuser touch`` means: by code, channel or the only one of the actor."""
    if code or project_service.project_for_channel(ctx, channel_id):
        return project_service.resolve_project(ctx, code, channel_id)
    rows = ctx.session.exec(
        ctx.select(Project)
        .join(ProjectMember, col(ProjectMember.project_id) == col(Project.id))
        .where(ProjectMember.user_id == ctx.actor_id)
    ).all()
    unique = {project.id: project for project in rows}
    if len(unique) == 1:
        return next(iter(unique.values()))
    raise NotFound(Msg("errors.project_code_needed"))


# ------------------------------------------------------------------------------- weekly nudge


@dataclass
class Nudge:
    """One PM's weekly list: (project, key users in debt) for each project they manage."""

    pm_id: str
    items: list[tuple[Project, list[Contact]]]

    @property
    def count(self) -> int:
        return sum(len(contacts) for _, contacts in self.items)


def nudges_due(ctx: Ctx, now: datetime) -> list[Nudge]:
    """Per PM, the key users in engagement debt across their projects (three queries in all)."""
    by_id = {project.id or 0: project for project in ctx.session.exec(ctx.select(Project)).all()}
    debts = debt_by_project(ctx, list(by_id), now)
    members = ctx.session.exec(
        ctx.select(ProjectMember)
        .where(ProjectMember.role == MemberRole.PM)
        .order_by(col(ProjectMember.id))
    ).all()
    per_pm: dict[str, list[tuple[Project, list[Contact]]]] = defaultdict(list)
    for member in members:
        contacts = debts.get(member.project_id) or []
        if contacts:
            per_pm[member.user_id].append((by_id[member.project_id], contacts))
    # Each PM's projects in code order, as on their Home tab.
    return [
        Nudge(pm_id=pm, items=sorted(items, key=lambda item: item[0].code))
        for pm, items in per_pm.items()
    ]
