"""The decision log: each project's decisions, numbered per project, with who decided, when (a
local date), where the decision came from and what it concerns.

Three sources write to it: the team types one in (``add``, the `/project decisions add` form), a
meeting's outcome holds some (``from_meeting``, called by ``meeting_outcomes.record_outcome``),
and a change request is approved or rejected (its service calls ``record`` with
``source="change"`` and ``change_id``). ``record`` is the one place a decision is written.

Append-only in spirit: a correction is a new decision that supersedes another. A meeting outcome
recorded again without one of its decisions marks that entry withdrawn: the log no longer shows
it, the export keeps it.

Who may: the project's PMs and team add decisions; they and the project's key users read the log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from bot.csvutil import write_csv
from bot.errors import Msg, PermissionDenied, ValidationError
from bot.services import fields, records
from bot.services import risks as risk_service
from bot.services.context import Ctx
from storage.models import CalendarEvent, ChangeRequest, Issue, MeetingOutcome, Project, Risk
from storage.models.decisions import (
    DECISION_SOURCES,
    Decision,
    DecisionSettings,
    DecisionSource,
)

TEXT_LIMIT = fields.limit(Decision.text)
NAMES_LIMIT = fields.limit(Decision.decided_by_names)
DECIDERS_LIMIT = 30  # people picked as having decided
PAGE_SIZE = 10
WEEK_LIMIT = 10  # decisions listed in the digest; the rest are counted
USER_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,31}$")
CSV_COLUMNS = (
    "number",
    "decided_on",
    "decision",
    "decided_by",
    "decided_by_names",
    "source",
    "meeting",
    "change",
    "risk",
    "issue",
    "supersedes",
    "withdrawn_at",
    "recorded_by",
    "recorded_at",
)


# ----------------------------------------------------------------------------- who may


def can_add(ctx: Ctx, project: Project) -> bool:
    """The project's PMs and team (and a workspace admin)."""
    return risk_service.is_team(ctx, project)


def can_read(ctx: Ctx, project: Project) -> bool:
    """The PMs, the team and the project's own key users."""
    return can_add(ctx, project) or risk_service.key_user_of(ctx, project, ctx.actor_id) is not None


def local_today(project: Project, now: datetime) -> date:
    return now.astimezone(ZoneInfo(project.timezone)).date()


# ----------------------------------------------------------------------------- recording


def _day(raw: str | date | None) -> date | None:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw or "").strip())
    except ValueError:
        return None


def _checked(
    ctx: Ctx,
    project: Project,
    text: str,
    decided_by: Sequence[str],
    decided_by_names: str,
    decided_on: date | str,
) -> tuple[str, list[str], str, date | None, dict[str, Msg]]:
    """The decision's own values, cleaned, and what is wrong with them."""
    errors: dict[str, Msg] = {}
    cleaned = " ".join((text or "").split())
    if problem := fields.required_text(cleaned, TEXT_LIMIT):
        errors["text"] = problem
    people = list(dict.fromkeys(person for person in decided_by if person))
    names = " ".join((decided_by_names or "").split())
    if any(not USER_ID_RE.match(person) for person in people) or len(people) > DECIDERS_LIMIT:
        errors["decided_by"] = Msg("decision.errors.people")
    elif not people and not names:
        errors["decided_by"] = Msg("decision.errors.who_required")
    if len(names) > NAMES_LIMIT:
        errors["decided_by_names"] = Msg("errors.too_long", limit=NAMES_LIMIT)
    day = _day(decided_on)
    if day is None:
        errors["decided_on"] = Msg("errors.required")
    elif day > local_today(project, ctx.now()):
        errors["decided_on"] = Msg("decision.errors.future")
    return cleaned, people, names, day, errors


def record(
    *,
    ctx: Ctx,
    project: Project,
    text: str,
    decided_by: Sequence[str],
    decided_on: date | str,
    source: str,
    source_id: int | None = None,
    change_id: int | None = None,
    risk_id: int | None = None,
    issue_id: int | None = None,
    decided_by_names: str = "",
    supersedes_id: int | None = None,
) -> Decision:
    """Write one decision to ``project``'s log, numbered under the project's counter lock.

    ``decided_by``: Slack user ids; ``decided_by_names``: free text for people outside Slack (one
    of the two is required). ``decided_on``: the local date it was decided (not after today in
    the project's timezone). ``source``: ``manual``, ``meeting`` (``source_id`` the meeting's
    calendar event) or ``change`` (``change_id`` the change request). ``risk_id``, ``issue_id``
    and ``supersedes_id`` must be records of the same project. The caller has checked the acting
    person's right to decide; a bad value raises ``ValidationError`` with nothing written."""
    cleaned, people, names, day, errors = _checked(
        ctx, project, text, decided_by, decided_by_names, decided_on
    )
    if source not in DECISION_SOURCES:
        raise ValueError(f"unknown decision source {source!r}")
    for name, model, ident in (
        ("risk", Risk, risk_id),
        ("issue", Issue, issue_id),
        ("supersedes", Decision, supersedes_id),
        ("change", ChangeRequest, change_id),
    ):
        row = ctx.get(model, ident) if ident is not None else None
        if ident is not None and (row is None or row.project_id != project.id):
            errors[name] = Msg("decision.errors.not_in_project", code=project.code)
    if errors:
        raise ValidationError(errors)  # type: ignore[arg-type]
    number = records.next_number(ctx, DecisionSettings, project)
    decision = Decision(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        number=number,
        text=cleaned,
        decided_by=people,
        decided_by_names=names or None,
        decided_on=day,  # type: ignore[arg-type]
        source=source,
        source_id=source_id,
        change_id=change_id,
        risk_id=risk_id,
        issue_id=issue_id,
        supersedes_id=supersedes_id,
        recorded_by=ctx.actor_id or "",
        recorded_at=ctx.now(),
    )
    ctx.session.add(decision)
    ctx.session.flush()
    ctx.log("decision.recorded", project_id=project.id, number=number, source=source)
    return decision


@dataclass
class DecisionInput:
    """What the team types or picks in the decision form."""

    text: str = ""
    decided_by: list[str] = field(default_factory=list)
    decided_by_names: str = ""
    decided_on: str | date | None = None
    risk: str = ""  # a risk's number, "3" or "#3"
    issue: str = ""  # an issue's key, "ERP-12"
    supersedes: str = ""  # an earlier decision's number


def _number(raw: str) -> int | None:
    text = (raw or "").strip().lstrip("#")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 7 else None


def add(*, ctx: Ctx, project: Project, data: DecisionInput) -> Decision:
    """A decision typed in by a PM or team member; the related risk, issue and superseded
    decision are named by their numbers and looked up in this project only."""
    if not can_add(ctx, project):
        raise PermissionDenied(Msg("decision.errors.not_team", code=project.code))
    errors: dict[str, Msg] = {}
    ids: dict[str, int | None] = {"risk": None, "issue": None, "supersedes": None}
    if (data.risk or "").strip():
        number = _number(data.risk)
        risk = ctx.session.exec(
            ctx.select(Risk).where(Risk.project_id == project.id, Risk.number == (number or 0))
        ).first()
        if risk is None:
            errors["risk"] = Msg("decision.errors.risk_not_found", ref=data.risk.strip()[:20])
        else:
            ids["risk"] = risk.id
    if (data.issue or "").strip():
        typed = data.issue.strip().upper()
        match = re.fullmatch(r"(?:([A-Z][A-Z0-9]{1,9})-)?#?(\d{1,7})", typed)
        issue = None
        if match and (match.group(1) in (None, project.code.upper())):
            issue = ctx.session.exec(
                ctx.select(Issue).where(
                    Issue.project_id == project.id,
                    Issue.number == int(match.group(2)),
                    col(Issue.deleted_at).is_(None),
                )
            ).first()
        if issue is None:
            errors["issue"] = Msg("decision.errors.issue_not_found", ref=typed[:20])
        else:
            ids["issue"] = issue.id
    if (data.supersedes or "").strip():
        number = _number(data.supersedes)
        earlier = ctx.session.exec(
            ctx.select(Decision).where(
                Decision.project_id == project.id, Decision.number == (number or 0)
            )
        ).first()
        if earlier is None:
            errors["supersedes"] = Msg(
                "decision.errors.supersedes_not_found", ref=data.supersedes.strip()[:20]
            )
        else:
            ids["supersedes"] = earlier.id
    *_values, own = _checked(
        ctx, project, data.text, data.decided_by, data.decided_by_names, data.decided_on or ""
    )
    if errors or own:
        raise ValidationError({**own, **errors})  # type: ignore[arg-type]
    return record(
        ctx=ctx,
        project=project,
        text=data.text,
        decided_by=data.decided_by,
        decided_by_names=data.decided_by_names,
        decided_on=data.decided_on or "",
        source=DecisionSource.MANUAL,
        risk_id=ids["risk"],
        issue_id=ids["issue"],
        supersedes_id=ids["supersedes"],
    )


def deciders_of_meeting(outcome: MeetingOutcome, event: CalendarEvent) -> list[str]:
    """Who decided what a meeting decided: those who attended it, else its organizer."""
    return sorted(outcome.attended or []) or [event.organizer_id]


def from_meeting(
    *, ctx: Ctx, project: Project, event: CalendarEvent, outcome: MeetingOutcome
) -> list[Decision]:
    """The log follows the meeting's outcome: each decision it holds that the log does not yet
    hold for this meeting is recorded (decided by those who attended, on the meeting's local
    date); an entry of this meeting whose decision the outcome no longer holds is withdrawn."""
    logged = ctx.session.exec(
        ctx.select(Decision).where(
            Decision.project_id == project.id,
            Decision.source == DecisionSource.MEETING,
            Decision.source_id == event.id,
            col(Decision.withdrawn_at).is_(None),
        )
    ).all()
    by_text = {decision.text: decision for decision in logged}
    wanted = [" ".join(text.split())[:TEXT_LIMIT] for text in outcome.decisions or []]
    wanted = [text for text in dict.fromkeys(wanted) if text]
    day = local_today(project, event.starts_at)
    made = [
        record(
            ctx=ctx,
            project=project,
            text=text,
            decided_by=deciders_of_meeting(outcome, event),
            decided_on=min(day, local_today(project, ctx.now())),
            source=DecisionSource.MEETING,
            source_id=event.id,
        )
        for text in wanted
        if text not in by_text
    ]
    now = ctx.now()
    for text, decision in by_text.items():
        if text not in wanted:
            decision.withdrawn_at = now
            ctx.session.add(decision)
    return made


# ----------------------------------------------------------------------------- reading


@dataclass
class DecisionLine:
    """One decision as the log shows it, its references read in the same statement."""

    decision: Decision
    risk_number: int | None
    issue_number: int | None
    meeting_title: str | None
    meeting_starts_at: datetime | None
    supersedes_number: int | None
    superseded_by: int | None
    change_number: int | None = None


def _lines_query(ctx: Ctx, project: Project, *, withdrawn: bool = False) -> Any:
    """The log's lines with their references (without withdrawn entries unless asked)."""
    earlier, later = aliased(Decision), aliased(Decision)
    superseded_by = (
        select(func.min(later.number))
        .where(later.supersedes_id == Decision.id, later.withdrawn_at.is_(None))  # type: ignore[union-attr]
        .correlate(Decision)
        .scalar_subquery()
    )
    return (
        select(
            Decision,
            col(Risk.number),
            col(Issue.number),
            col(CalendarEvent.title),
            col(CalendarEvent.starts_at),
            earlier.number,
            superseded_by,
            col(ChangeRequest.number),
        )
        .outerjoin(Risk, col(Risk.id) == col(Decision.risk_id))
        .outerjoin(ChangeRequest, col(ChangeRequest.id) == col(Decision.change_id))
        .outerjoin(Issue, col(Issue.id) == col(Decision.issue_id))
        .outerjoin(
            CalendarEvent,
            (col(CalendarEvent.id) == col(Decision.source_id))
            & (col(Decision.source) == DecisionSource.MEETING)
            & (col(CalendarEvent.project_id) == col(Decision.project_id)),
        )
        .outerjoin(earlier, earlier.id == col(Decision.supersedes_id))
        .where(
            Decision.team_id == ctx.team_id,
            Decision.project_id == project.id,
            *([] if withdrawn else [col(Decision.withdrawn_at).is_(None)]),
        )
    )


def _line(row: Any) -> DecisionLine:
    decision, risk, issue, title, starts, supersedes, superseded_by, change = row[:8]
    return DecisionLine(decision, risk, issue, title, starts, supersedes, superseded_by, change)


@dataclass
class DecisionPage:
    project: Project
    lines: list[DecisionLine]
    total: int
    page: int
    pages: int
    can_add: bool


def list_decisions(
    ctx: Ctx, project: Project, *, page: int = 1, page_size: int = PAGE_SIZE
) -> DecisionPage:
    """A page of the log, newest first (by date decided, then number): counted and cut in SQL."""
    if not can_read(ctx, project):
        raise PermissionDenied(Msg("decision.errors.not_reader", code=project.code))
    total = int(
        ctx.session.exec(
            select(func.count())
            .select_from(Decision)
            .where(
                Decision.team_id == ctx.team_id,
                Decision.project_id == project.id,
                col(Decision.withdrawn_at).is_(None),
            )
        ).one()
    )
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    rows = ctx.session.exec(
        _lines_query(ctx, project)
        .order_by(col(Decision.decided_on).desc(), col(Decision.number).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return DecisionPage(
        project, [_line(row) for row in rows], total, page, pages, can_add(ctx, project)
    )


@dataclass
class WeekDecisions:
    """The decisions of the digest's week: the first ``WEEK_LIMIT`` (oldest first), and how many."""

    lines: list[DecisionLine]
    total: int


def week_decisions(
    ctx: Ctx, project: Project, start: datetime, end: datetime
) -> WeekDecisions | None:
    """Decisions decided on a local day of ``start``–``end`` (the digest's ISO week, in the
    project's timezone): one statement (the count rides along as a window)."""
    zone = ZoneInfo(project.timezone)
    first, after = start.astimezone(zone).date(), end.astimezone(zone).date()
    query = _lines_query(ctx, project).where(
        col(Decision.decided_on) >= first, col(Decision.decided_on) < after
    )
    rows = ctx.session.exec(
        query.add_columns(func.count().over())
        .order_by(col(Decision.decided_on), col(Decision.number))
        .limit(WEEK_LIMIT)
    ).all()
    if not rows:
        return None
    return WeekDecisions([_line(row) for row in rows], int(rows[0][8]))


def export_csv(ctx: Ctx, project: Project) -> str:
    """The whole log, withdrawn entries included, oldest first."""
    if not can_read(ctx, project):
        raise PermissionDenied(Msg("decision.errors.not_reader", code=project.code))
    rows = ctx.session.exec(
        _lines_query(ctx, project, withdrawn=True).order_by(col(Decision.number))
    ).all()
    out = []
    zone = ZoneInfo(project.timezone)
    for row in rows:
        line = _line(row)
        d = line.decision
        meeting = (
            f"{line.meeting_title} ({line.meeting_starts_at.astimezone(zone).date().isoformat()})"
            if line.meeting_title and line.meeting_starts_at
            else ""
        )
        out.append(
            (
                d.number,
                d.decided_on.isoformat(),
                d.text,
                " ".join(d.decided_by),
                d.decided_by_names or "",
                d.source,
                meeting,
                "" if line.change_number is None else f"#{line.change_number}",
                "" if line.risk_number is None else f"#{line.risk_number}",
                "" if line.issue_number is None else f"{project.code}-{line.issue_number}",
                "" if line.supersedes_number is None else line.supersedes_number,
                d.withdrawn_at.astimezone(zone).isoformat(timespec="minutes")
                if d.withdrawn_at
                else "",
                d.recorded_by,
                d.recorded_at.astimezone(zone).isoformat(timespec="minutes"),
            )
        )
    return write_csv(CSV_COLUMNS, out)


__all__ = [
    "DecisionInput",
    "DecisionLine",
    "DecisionPage",
    "add",
    "can_add",
    "can_read",
    "export_csv",
    "from_meeting",
    "list_decisions",
    "record",
    "week_decisions",
]
