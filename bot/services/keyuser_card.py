"""One key user's card: everything the project knows of them, in one view, for the project's PMs
and team, and (without how the team rates and follows them) for the key user themselves.

What it holds: their register entry (role, module; quadrant, influence, interest and contact
cadence for the team only), a timeline of human contacts (``engagement.is_contact``: a bot's
escalation is not a contact), the meetings and training sessions they attended, the issues they
reported with their ratings, their readiness per training module, their answers to named polls
(never an anonymous poll's), the project risks they are linked to, their engagement debt (team
only), and the change requests they are linked to (``changes_of``).

Read set-based: a fixed number of statements whatever the length of their history (each list is
cut in SQL, its full count read in the same statement as a window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bot.errors import Msg, NotFound, PermissionDenied
from bot.services import changes as change_service
from bot.services import engagement, training_readiness
from bot.services import risks as risk_service
from bot.services.context import Ctx
from bot.services.keyusers import Quadrant, cadence_days, quadrant
from storage.models import (
    ATTENDED,
    CalendarEvent,
    Interaction,
    Invitation,
    Issue,
    KeyUser,
    Poll,
    PollQuestion,
    PollResponse,
    Project,
    Risk,
    RiskLink,
)
from storage.models.calendar import EventStatus

SHOWN = 10  # entries of each list on the card; the rest are counted
NOTE_SHOWN = 150


@dataclass(frozen=True)
class ContactEntry:
    at: datetime
    kind: str  # contact.call, meeting_attended, issue.resolve …
    actor_id: str | None
    note: str


@dataclass(frozen=True)
class EventEntry:
    kind: str  # meeting | training
    title: str
    starts_at: datetime
    attendance: str


@dataclass(frozen=True)
class IssueEntry:
    number: int
    title: str
    status: str
    rating: int | None
    created_at: datetime


@dataclass(frozen=True)
class PollAnswer:
    title: str
    round_number: int
    submitted_at: datetime
    answers: list[tuple[str, str, Any]]  # (question, kind, value)


@dataclass(frozen=True)
class RiskEntry:
    number: int
    title: str
    level: int
    status: str


@dataclass(frozen=True)
class ChangeEntry:
    """A change request the key user is linked to, as the card shows it."""

    number: int
    title: str
    status: str


@dataclass(frozen=True)
class ReadinessEntry:
    module: str
    hours: float
    planned_hours: float
    quiz_score: int | None
    quiz_passed: bool
    practical: bool  # the module has a practical assessment
    practical_passed: bool
    ready: bool


@dataclass(frozen=True)
class Listed:
    """Up to ``SHOWN`` entries of a list and how many there are."""

    items: list[Any]
    total: int


@dataclass
class Card:
    project: Project
    key_user: KeyUser
    own: bool  # the key user's own view: no quadrant, influence, interest or engagement
    contacts: Listed
    events: Listed
    issues: Listed
    ratings: tuple[int, float | None]  # rated issues, their mean rating
    readiness: list[ReadinessEntry]
    polls: Listed
    risks: Listed
    # Team only (None in the key user's own view):
    quadrant: Quadrant | None = None
    cadence_days: int | None = None
    last_contact_at: datetime | None = None
    in_debt_since: datetime | None = None
    # Change requests they are linked to (``changes_of``).
    changes: list[ChangeEntry] = field(default_factory=list)


def changes_of(ctx: Ctx, key_user: KeyUser) -> list[ChangeEntry]:
    """The change requests ``key_user`` is linked to (requested, asked to decide, or of their
    module), newest first, at most ``SHOWN``: one statement."""
    return [ChangeEntry(*row) for row in change_service.linked_to(ctx, key_user, SHOWN)]


# ---------------------------------------------------------------------------- who may


def viewer_of(ctx: Ctx, project: Project, key_user: KeyUser) -> bool:
    """True for the project's PMs and team (the whole card), False for the key user themselves
    (their own view); anyone else is refused in words."""
    if risk_service.is_team(ctx, project):
        return True
    if key_user.user_id == ctx.actor_id and key_user.removed_at is None:
        return False
    raise PermissionDenied(Msg("card.errors.not_allowed", code=project.code))


def find_key_user(ctx: Ctx, project: Project, user_id: str) -> KeyUser:
    """An active key user of ``project`` by their Slack id."""
    row = ctx.session.exec(
        ctx.select(KeyUser).where(
            KeyUser.project_id == project.id,
            KeyUser.user_id == user_id,
            col(KeyUser.removed_at).is_(None),
        )
    ).first()
    if row is None:
        raise NotFound(Msg("card.errors.not_key_user", user=user_id, code=project.code))
    return row


# ---------------------------------------------------------------------------- the lists


def _listed(rows: list[Any], total_at: int) -> Listed:
    total = int(rows[0][total_at]) if rows else 0
    return Listed([row[:total_at] for row in rows], total)


def _contacts(ctx: Ctx, key_user: KeyUser) -> Listed:
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(Interaction, func.count().over())
        .where(
            Interaction.team_id == ctx.team_id,
            Interaction.key_user_id == key_user.id,
            engagement.is_contact(),
        )
        .order_by(col(Interaction.at).desc(), col(Interaction.id).desc())
        .limit(SHOWN)
    ).all()
    found = _listed(list(rows), 1)
    return Listed(
        [
            ContactEntry(
                row.at,
                row.kind,
                row.actor_id,
                str((row.detail or {}).get("note") or "")[:NOTE_SHOWN],
            )
            for (row,) in found.items
        ],
        found.total,
    )


def _events(ctx: Ctx, project: Project, key_user: KeyUser) -> Listed:
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(
            col(CalendarEvent.kind),
            col(CalendarEvent.title),
            col(CalendarEvent.starts_at),
            col(Invitation.attendance),
            func.count().over(),
        )
        .join(Invitation, col(Invitation.event_id) == col(CalendarEvent.id))
        .where(
            CalendarEvent.team_id == ctx.team_id,
            CalendarEvent.project_id == project.id,
            CalendarEvent.status == EventStatus.SCHEDULED,
            Invitation.user_id == key_user.user_id,
            col(Invitation.attendance).in_([str(status) for status in ATTENDED]),
        )
        .order_by(col(CalendarEvent.starts_at).desc(), col(CalendarEvent.id).desc())
        .limit(SHOWN)
    ).all()
    found = _listed(list(rows), 4)
    return Listed([EventEntry(*row) for row in found.items], found.total)


def _issues(
    ctx: Ctx, project: Project, key_user: KeyUser
) -> tuple[Listed, tuple[int, float | None]]:
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(
            col(Issue.number),
            col(Issue.title),
            col(Issue.status),
            col(Issue.rating),
            col(Issue.created_at),
            func.count().over(),
            func.count(Issue.rating).over(),
            func.avg(Issue.rating).over(),
        )
        .where(
            Issue.team_id == ctx.team_id,
            Issue.project_id == project.id,
            Issue.reporter_id == key_user.user_id,
            col(Issue.deleted_at).is_(None),
        )
        .order_by(col(Issue.created_at).desc(), col(Issue.number).desc())
        .limit(SHOWN)
    ).all()
    found = _listed(list(rows), 5)
    rated = int(rows[0][6]) if rows else 0
    mean = float(rows[0][7]) if rows and rows[0][7] is not None else None
    return Listed([IssueEntry(*row) for row in found.items], found.total), (rated, mean)


def _polls(ctx: Ctx, project: Project, key_user: KeyUser) -> Listed:
    """Their answers to named polls: ``PollResponse`` holds only those, and the poll is checked
    to be named again."""
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(PollResponse, col(Poll.title), col(Poll.round_number), func.count().over())
        .join(Poll, col(Poll.id) == col(PollResponse.poll_id))
        .where(
            PollResponse.team_id == ctx.team_id,
            Poll.project_id == project.id,
            col(Poll.anonymous).is_(False),
            PollResponse.user_id == key_user.user_id,
        )
        .order_by(col(PollResponse.submitted_at).desc(), col(PollResponse.id).desc())
        .limit(SHOWN)
    ).all()
    found = _listed(list(rows), 3)
    poll_ids = sorted({response.poll_id for response, _t, _r in found.items})
    questions: dict[int, list[PollQuestion]] = {}
    if poll_ids:
        for question in ctx.session.exec(
            ctx.select(PollQuestion)
            .where(col(PollQuestion.poll_id).in_(poll_ids))
            .order_by(col(PollQuestion.poll_id), col(PollQuestion.position))
        ).all():
            questions.setdefault(question.poll_id, []).append(question)
    answers = []
    for response, title, round_number in found.items:
        given = response.answers or {}
        answers.append(
            PollAnswer(
                title,
                round_number,
                response.submitted_at,
                [
                    (question.text, question.kind, given[str(question.id)])
                    for question in questions.get(response.poll_id, [])
                    if given.get(str(question.id)) not in (None, "", [])
                ],
            )
        )
    return Listed(answers, found.total)


def _risks(ctx: Ctx, project: Project, key_user: KeyUser) -> Listed:
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(
            col(Risk.number),
            col(Risk.title),
            col(Risk.level),
            col(Risk.status),
            func.count().over(),
        )
        .join(RiskLink, col(RiskLink.risk_id) == col(Risk.id))
        .where(
            Risk.team_id == ctx.team_id,
            Risk.project_id == project.id,
            RiskLink.key_user_id == key_user.id,
        )
        .order_by(col(Risk.status).desc(), col(Risk.level).desc(), col(Risk.number))
        .limit(SHOWN)
    ).all()
    found = _listed(list(rows), 4)
    return Listed([RiskEntry(*row) for row in found.items], found.total)


def _readiness(ctx: Ctx, project: Project, key_user: KeyUser) -> list[ReadinessEntry]:
    entries = []
    for _project, module, cell in training_readiness.own_readiness(ctx, [(project, key_user)]):
        entries.append(
            ReadinessEntry(
                module=module.name,
                hours=cell.hours,
                planned_hours=module.planned_hours,
                quiz_score=cell.quiz_score,
                quiz_passed=cell.quiz_passed,
                practical=module.has_practical,
                practical_passed=cell.practical_passed,
                ready=cell.ready,
            )
        )
    return entries


def card(ctx: Ctx, project: Project, user_id: str) -> Card:
    """The card of ``user_id`` in ``project``, as the acting person may see it."""
    key_user = find_key_user(ctx, project, user_id)
    team = viewer_of(ctx, project, key_user)
    issues, ratings = _issues(ctx, project, key_user)
    result = Card(
        project=project,
        key_user=key_user,
        own=not team,
        contacts=_contacts(ctx, key_user),
        events=_events(ctx, project, key_user),
        issues=issues,
        ratings=ratings,
        readiness=_readiness(ctx, project, key_user),
        polls=_polls(ctx, project, key_user),
        risks=_risks(ctx, project, key_user),
        changes=changes_of(ctx, key_user),
    )
    if team:
        result.quadrant = quadrant(key_user.influence, key_user.interest)
        result.cadence_days = cadence_days(key_user)
        standing = next(
            (
                contact
                for contact in engagement.last_contacts(ctx, project.id or 0, ctx.now())
                if contact.key_user_id == key_user.id
            ),
            None,
        )
        if standing is not None:
            result.last_contact_at = standing.last_contact_at
            result.in_debt_since = standing.in_debt_since
    return result
