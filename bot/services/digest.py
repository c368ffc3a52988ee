"""The weekly digest: what it contains. When it is due, where it goes and that it goes out once
per week are in ``bot.services.digest_schedule``.

A digest is a list of sections (``build_digest``). Each section is a set-based query function
returning plain data (``None``: nothing to say), rendered by its own template part
(``bot/templates/<locale>/digest/<name>.j2``); the PM's dashboards on the Home tab reuse them.
Every figure is an aggregate computed in SQL (counts, medians, LIMIT), so building a digest costs
the same few statements whether a project has ten issues or ten thousand.

What: a digest covers the ISO week of the project's timezone that ended last before it is built
(``digest_schedule.covered_week``), compared with the week before. A scheduled digest, a late one,
``/digest send`` and the preview of the same week cover the same seven days. Figures of the moment
(open, overdue, past a service level) are counted at the instant the digest is built, as
``/issue list`` would.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, case, cast, func, literal, null, or_, union_all
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from bot.services import (
    decisions,
    end_user_readiness,
    engagement,
    phases,
    poll_results,
    training_readiness,
    training_sessions,
)
from bot.services import risks as risk_service
from bot.services.context import Ctx
from bot.services.digest_schedule import Period, covered_week, iso_week, period_ending
from bot.services.keyusers import Quadrant
from storage.models import (
    BallotBox,
    CalendarEvent,
    Invitation,
    Issue,
    Poll,
    PollParticipant,
    PollQuestion,
    PollResponse,
    PollStatus,
    Project,
    QuestionKind,
    QuizAttempt,
    QuizRound,
)
from storage.models.calendar import Attendance, EventStatus, Rsvp
from storage.models.issues import OPEN_STATUSES
from storage.types import UTCDateTime

OLDEST_OVERDUE = 5
TREND_ROUNDS = 8
AT_RISK_LIMIT = 15  # people named in the digest; the rest are counted
COMING_LIMIT = 10  # trainings and meetings of the coming week listed in the digest
MISSED_WINDOW = timedelta(days=28)  # absences this recent make a key user at risk
_OPEN = tuple(str(status) for status in OPEN_STATUSES)


# ------------------------------------------------------------------------- SQL helpers


def _is_postgresql(ctx: Ctx) -> bool:
    return ctx.session.get_bind().dialect.name == "postgresql"


def _seconds_between(ctx: Ctx, later: Any, earlier: Any) -> ColumnElement[Any]:
    if _is_postgresql(ctx):
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def _answer_values(ctx: Ctx, *kinds: str) -> Any:
    """A statement of (poll_id, user_id, kind, value): every integer answer of a named response to
    a question of ``kinds``. On SQLite each response's JSON is read once (``json_each``) rather than
    once per question; PostgreSQL reads the answer by key."""
    on_question = and_(
        col(PollQuestion.poll_id) == col(PollResponse.poll_id),
        col(PollQuestion.kind).in_(kinds),
    )
    columns = (col(PollResponse.poll_id), col(PollResponse.user_id), col(PollQuestion.kind))
    if _is_postgresql(ctx):
        key = cast(col(PollQuestion.id), String)
        value = cast(col(PollResponse.answers).op("->>")(key), Integer)
        return (
            select(*columns, value.label("value"))
            .join(PollQuestion, on_question)
            .where(value.is_not(None))
        )
    answers = func.json_each(col(PollResponse.answers)).table_valued("key", "value", "type")
    return (
        select(*columns, answers.c.value.label("value"))
        .join(PollQuestion, on_question)
        .join(answers, answers.c.key == cast(col(PollQuestion.id), String))
        .where(answers.c.type == "integer")
    )


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _median(value: ColumnElement[Any], *conditions: ColumnElement[bool]) -> Any:
    """The median of ``value`` over the rows matching ``conditions``, as a scalar subquery."""
    ranked = (
        select(
            value.label("value"),
            func.row_number().over(order_by=value).label("position"),
            func.count().over().label("total"),
        )
        .where(*conditions)
        .subquery()
    )
    middle = (ranked.c.total + 1) // 2, (ranked.c.total + 2) // 2
    return select(func.avg(ranked.c.value)).where(ranked.c.position.in_(middle)).scalar_subquery()


# ---------------------------------------------------------------------------- the sections


@dataclass
class Comparison:
    now: float | int | None
    before: float | int | None

    @property
    def change(self) -> float | int | None:
        if self.now is None or self.before is None:
            return None
        return self.now - self.before


@dataclass
class OverdueItem:
    issue_id: int
    key: str
    title: str
    priority: str
    owner_id: str | None
    due_date: date
    days_overdue: int
    channel_id: str | None
    message_ts: str | None


@dataclass
class IssueFigures:
    """Figures of the period (compared with the one before) and of the moment ``now``."""

    opened: Comparison
    resolved: Comparison
    breaches: Comparison
    first_response_hours: Comparison
    resolution_hours: Comparison
    now: datetime
    open_now: int
    overdue_now: int  # what ``/issue list overdue`` counts at ``now``
    past_service_level_now: int  # open and past its resolution or unanswered first-response time
    oldest_overdue: list[OverdueItem]


def _issue_base(ctx: Ctx, project: Project) -> list[ColumnElement[bool]]:
    return [
        col(Issue.team_id) == ctx.team_id,
        col(Issue.project_id) == project.id,
        col(Issue.deleted_at).is_(None),
    ]


# Open issues listed under a dashboard's figures.
DASHBOARD_ISSUES = 3


def open_issues(ctx: Ctx, project: Project, *, limit: int) -> list[Issue]:
    """The first ``limit`` of the open issues ``issue_figures`` counts (``open_now``): soonest due
    first, so the overdue ones lead, those without a due date last. One statement."""
    return list(
        ctx.session.exec(
            select(Issue)
            .where(*_issue_base(ctx, project), col(Issue.status).in_(_OPEN))
            .order_by(col(Issue.due_at).is_(None), col(Issue.due_at), col(Issue.id))
            .limit(limit)
        ).all()
    )


def issue_figures(
    ctx: Ctx, project: Project, period: Period, *, now: datetime, in_detail: bool = True
) -> IssueFigures:
    """Opened, resolved, breaches and medians for the period and the one before; open, overdue
    and past a service level at ``now``, and the oldest overdue items then. Without ``in_detail``
    (the dashboard): the counts only, in one statement."""
    base = _issue_base(ctx, project)
    start, end, before = period.start, period.end, period.previous_start
    is_open = col(Issue.status).in_(_OPEN)

    def within(column: Any, low: datetime, high: datetime) -> ColumnElement[bool]:
        return and_(column >= low, column < high)

    def not_by(moment: Any, deadline: Any) -> ColumnElement[bool]:
        return or_(moment.is_(None), moment > deadline)

    def breaches_in(low: datetime, high: datetime) -> ColumnElement[int]:
        # Service-level deadlines that fell in the period and were missed: neither met nor the
        # issue closed by then (a closed issue is due nothing more).
        answer_due, due = col(Issue.first_response_due_at), col(Issue.due_at)
        first = and_(
            within(answer_due, low, high),
            not_by(col(Issue.first_response_at), answer_due),
            not_by(col(Issue.closed_at), answer_due),
        )
        resolution = and_(
            within(due, low, high),
            not_by(col(Issue.resolved_at), due),
            not_by(col(Issue.closed_at), due),
        )
        return _count_if(first) + _count_if(resolution)

    past_service_level = or_(
        col(Issue.due_at) <= now,
        and_(col(Issue.first_response_at).is_(None), col(Issue.first_response_due_at) <= now),
    )
    first_seconds = _seconds_between(ctx, col(Issue.first_response_at), col(Issue.created_at))
    resolution_seconds = _seconds_between(ctx, col(Issue.resolved_at), col(Issue.created_at))
    medians = (
        [
            _median(first_seconds, *base, within(col(Issue.first_response_at), start, end)),
            _median(first_seconds, *base, within(col(Issue.first_response_at), before, start)),
            _median(resolution_seconds, *base, within(col(Issue.resolved_at), start, end)),
            _median(resolution_seconds, *base, within(col(Issue.resolved_at), before, start)),
        ]
        if in_detail
        else []
    )
    row = ctx.session.exec(  # type: ignore[call-overload]
        select(
            _count_if(within(col(Issue.created_at), start, end)),
            _count_if(within(col(Issue.created_at), before, start)),
            _count_if(within(col(Issue.resolved_at), start, end)),
            _count_if(within(col(Issue.resolved_at), before, start)),
            _count_if(and_(is_open, col(Issue.due_at) <= now)),
            _count_if(and_(is_open, past_service_level)),
            breaches_in(start, end),
            breaches_in(before, start),
            _count_if(is_open),
            *medians,
        ).where(
            *base,
            # Only rows that can count: open ones, or ones touched since the week before.
            or_(
                is_open,
                col(Issue.created_at) >= before,
                col(Issue.resolved_at) >= before,
                col(Issue.due_at) >= before,
                col(Issue.first_response_due_at) >= before,
            ),
        )
    ).one()
    hours = [None if value is None else round(float(value) / 3600, 1) for value in row[9:13]]
    hours += [None] * (4 - len(hours))
    oldest = (
        ctx.session.exec(
            select(Issue)
            .where(*base, is_open, col(Issue.due_at) <= now)
            .order_by(col(Issue.due_at), col(Issue.id))
            .limit(OLDEST_OVERDUE)
        ).all()
        if in_detail
        else []
    )
    today = now.astimezone(ZoneInfo(project.timezone)).date()
    return IssueFigures(
        opened=Comparison(row[0], row[1]),
        resolved=Comparison(row[2], row[3]),
        breaches=Comparison(row[6], row[7]),
        now=now,
        open_now=row[8],
        overdue_now=row[4],
        past_service_level_now=row[5],
        first_response_hours=Comparison(hours[0], hours[1]),
        resolution_hours=Comparison(hours[2], hours[3]),
        oldest_overdue=[
            OverdueItem(
                issue_id=issue.id or 0,
                key=f"{project.code}-{issue.number}",
                title=issue.title,
                priority=issue.priority,
                owner_id=issue.owner_id,
                due_date=issue.due_date,
                days_overdue=max((today - issue.due_date).days, 0),
                channel_id=issue.channel_id,
                message_ts=issue.message_ts,
            )
            for issue in oldest
        ],
    )


@dataclass
class RoundSummary:
    poll_id: int
    round_number: int
    opens_at: datetime
    status: str
    invited: int
    answered: int
    csat: float | None
    nps: float | None

    @property
    def response_rate(self) -> float:
        return 100.0 * self.answered / self.invited if self.invited else 0.0


@dataclass
class PollSummary:
    title: str
    anonymous: bool
    rounds: list[RoundSummary]  # oldest first; the last is the latest round

    @property
    def latest(self) -> RoundSummary:
        return self.rounds[-1]

    @property
    def previous(self) -> RoundSummary | None:
        return self.rounds[-2] if len(self.rounds) > 1 else None


def _named_figures(ctx: Ctx, poll_ids: list[int]) -> dict[tuple[int, str], tuple[int, ...]]:
    """Per named round and kind (rating, NPS): answers, 4-5s, promoters, detractors (one query)."""
    if not poll_ids:
        return {}
    values = (
        _answer_values(ctx, QuestionKind.RATING, QuestionKind.NPS)
        .where(
            col(PollResponse.team_id) == ctx.team_id,
            col(PollResponse.poll_id).in_(poll_ids),
        )
        .subquery()
    )
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(
            values.c.poll_id,
            values.c.kind,
            func.count(values.c.value),
            _count_if(values.c.value >= 4),
            _count_if(values.c.value >= 9),
            _count_if(values.c.value <= 6),
        ).group_by(values.c.poll_id, values.c.kind)
    ).all()
    return {(poll_id, kind): tuple(counts) for poll_id, kind, *counts in rows}


def _anonymous_figures(ctx: Ctx, polls: list[Poll]) -> dict[tuple[int, str], tuple[int, ...]]:
    """The same figures for anonymous rounds, from their ballot boxes (one query for all rounds;
    a box holds many mixed ballots, so they are counted here rather than in SQL)."""
    if not polls:
        return {}
    kinds = dict(
        ctx.session.exec(  # type: ignore[call-overload]
            select(col(PollQuestion.id), col(PollQuestion.kind)).where(
                col(PollQuestion.team_id) == ctx.team_id,
                col(PollQuestion.poll_id).in_([poll.id for poll in polls]),
                col(PollQuestion.kind).in_((QuestionKind.RATING, QuestionKind.NPS)),
            )
        ).all()
    )
    counts: dict[tuple[int, str], list[int]] = {}
    boxes = ctx.session.exec(
        ctx.select(BallotBox).where(col(BallotBox.poll_id).in_([poll.id for poll in polls]))
    ).all()
    for box in boxes:
        for ballot in box.ballots:
            for question_id, answer in ballot.items():
                kind = kinds.get(int(question_id))
                if kind is None or not isinstance(answer, int):
                    continue
                figures = counts.setdefault((box.poll_id, kind), [0, 0, 0, 0])
                figures[0] += 1
                figures[1] += answer >= 4
                figures[2] += answer >= 9
                figures[3] += answer <= 6
    return {key: tuple(value) for key, value in counts.items()}


def latest_poll(
    ctx: Ctx, project: Project, period: Period, *, rounds_wanted: int = TREND_ROUNDS
) -> PollSummary | None:
    """The latest closed poll round by the end of the period (an open one if none has closed),
    and its series' rounds before it (``rounds_wanted`` in all)."""
    latest = (
        select(col(Poll.series_id), col(Poll.round_number))
        .where(
            col(Poll.team_id) == ctx.team_id,
            col(Poll.project_id) == project.id,
            col(Poll.status) != PollStatus.SCHEDULED,
            col(Poll.opens_at) <= period.end,
        )
        # A closed round has its figures; an open one only while no round has closed yet.
        .order_by(
            case((col(Poll.status) == PollStatus.CLOSED, 0), else_=1),
            col(Poll.opens_at).desc(),
            col(Poll.id).desc(),
        )
        .limit(1)
        .subquery()
    )
    # The latest round, the rounds of its series before it and who answered, in one statement.
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(Poll, func.count(col(PollParticipant.id)), _count_if(col(PollParticipant.answered)))
        .join(
            latest,
            and_(
                col(Poll.series_id) == latest.c.series_id,
                col(Poll.round_number) <= latest.c.round_number,
            ),
        )
        .outerjoin(PollParticipant, col(PollParticipant.poll_id) == col(Poll.id))
        .where(col(Poll.team_id) == ctx.team_id, col(Poll.status) != PollStatus.SCHEDULED)
        .group_by(col(Poll.id))
        .order_by(col(Poll.round_number).desc())
        .limit(rounds_wanted)
    ).all()
    if not rows:
        return None
    rounds = [poll for poll, _invited, _answered in reversed(rows)]
    people = {poll.id: (invited, answered) for poll, invited, answered in rows}
    figures = _named_figures(ctx, [p.id or 0 for p in rounds if not p.anonymous])
    figures.update(_anonymous_figures(ctx, [p for p in rounds if p.anonymous]))

    def summary(poll: Poll) -> RoundSummary:
        invited, answered = people.get(poll.id or 0, (0, 0))
        rating = figures.get((poll.id or 0, QuestionKind.RATING))
        score = figures.get((poll.id or 0, QuestionKind.NPS))
        if not poll_results.disclosure(poll, answered).figures:
            rating = score = None  # too few anonymous answers: a figure would single someone out
        return RoundSummary(
            poll_id=poll.id or 0,
            round_number=poll.round_number,
            opens_at=poll.opens_at,
            status=poll.status,
            invited=invited,
            answered=answered,
            csat=100.0 * rating[1] / rating[0] if rating and rating[0] else None,
            nps=100.0 * (score[2] - score[3]) / score[0] if score and score[0] else None,
        )

    newest = rounds[-1]
    return PollSummary(
        title=newest.title, anonymous=newest.anonymous, rounds=[summary(p) for p in rounds]
    )


@dataclass
class AtRisk:
    user_id: str
    reasons: dict[str, Any] = field(default_factory=dict)  # reason -> detail (count, date, …)


@dataclass
class AtRiskList:
    people: list[AtRisk]  # the most reasons first: one page of at most ``limit``
    total: int
    offset: int = 0
    per_reason: dict[str, int] = field(default_factory=dict)  # how many people have each reason


def falling_satisfaction(ctx: Ctx, project: Project, period: Period) -> dict[str, tuple[str, Any]]:
    """Key users whose average rating fell from the previous round of the latest *named* poll
    series to its latest round. Anonymous polls are never used: they must not single anyone out."""
    latest = (
        select(col(Poll.series_id), col(Poll.round_number))
        .where(
            col(Poll.team_id) == ctx.team_id,
            col(Poll.project_id) == project.id,
            col(Poll.anonymous).is_(False),
            col(Poll.status) != PollStatus.SCHEDULED,
            col(Poll.round_number) > 1,
            col(Poll.opens_at) <= period.end,
        )
        .order_by(col(Poll.opens_at).desc(), col(Poll.id).desc())
        .limit(1)
        .subquery()
    )

    def averages(rounds_back: int) -> Any:
        values = (
            _answer_values(ctx, QuestionKind.RATING)
            .join(Poll, col(Poll.id) == col(PollResponse.poll_id))
            .join(
                latest,
                and_(
                    col(Poll.series_id) == latest.c.series_id,
                    col(Poll.round_number) == latest.c.round_number - rounds_back,
                ),
            )
            .where(col(Poll.team_id) == ctx.team_id)
            .subquery()
        )
        return (
            select(values.c.user_id.label("user_id"), func.avg(values.c.value).label("average"))
            .group_by(values.c.user_id)
            .subquery()
        )

    # One statement: the latest named round and the one before it, compared per person.
    now, before = averages(0), averages(1)
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(now.c.user_id, before.c.average, now.c.average)
        .join(before, before.c.user_id == now.c.user_id)
        .where(now.c.average < before.c.average)
    ).all()
    return {
        user: ("satisfaction_falling", {"from": round(float(old), 1), "to": round(float(new), 1)})
        for user, old, new in rows
    }


def _debt_reason(contact: engagement.Contact, period: Period) -> tuple[str, Any]:
    since = contact.last_contact_at or contact.registered_at
    return ("engagement_debt", {"since": since, "days": (period.end - since).days})


def _counted(user_id: Any, reason: Any) -> tuple[Any, ...]:
    """The columns of a count per person and reason in ``counted_reasons``' union, without its
    dates."""
    return (
        user_id.label("user_id"),
        reason.label("reason"),
        func.count().label("count"),
        null().label("since"),
        null().label("unanswered"),
    )


def counted_reasons(ctx: Ctx, project: Project, period: Period) -> dict[str, list[tuple[str, Any]]]:
    """In one statement: key users with an open issue past a service level (its resolution time,
    or its first-response time without an answer: what the digest counts as past a service level),
    since the day the first of those deadlines passed, and those marked absent from training
    sessions or meetings or who failed a quiz in the four weeks before the end of the period,
    counted per kind."""
    since = period.end - MISSED_WINDOW
    overdue = col(Issue.due_at) <= period.end
    unanswered = and_(
        col(Issue.first_response_at).is_(None), col(Issue.first_response_due_at) <= period.end
    )
    # First: its typed columns (the earliest due date, the earliest unanswered first-response
    # time) set the types of the union's columns.
    past_service_level = (
        select(
            col(Issue.reporter_id).label("user_id"),
            literal("issue_past_service_level").label("reason"),
            func.count().label("count"),
            func.min(case((overdue, col(Issue.due_date)))).label("since"),
            func.min(case((unanswered, col(Issue.first_response_due_at)))).label("unanswered"),
        )
        .where(*_issue_base(ctx, project), col(Issue.status).in_(_OPEN), or_(overdue, unanswered))
        .group_by(col(Issue.reporter_id))
    )
    absences = (
        select(
            *_counted(
                col(Invitation.user_id),
                case(
                    (col(CalendarEvent.kind) == "training", "missed_sessions"),
                    else_="missed_meetings",
                ),
            )
        )
        .join(CalendarEvent, col(CalendarEvent.id) == col(Invitation.event_id))
        .where(
            col(CalendarEvent.team_id) == ctx.team_id,
            col(CalendarEvent.project_id) == project.id,
            col(CalendarEvent.status) == EventStatus.SCHEDULED,
            col(CalendarEvent.ends_at) > since,
            col(CalendarEvent.ends_at) <= period.end,
            col(Invitation.attendance) == Attendance.ABSENT,
        )
        .group_by(col(Invitation.user_id), col(CalendarEvent.kind))
    )
    failures = (
        select(*_counted(col(QuizAttempt.user_id), literal("failed_quizzes")))
        .join(QuizRound, col(QuizRound.id) == col(QuizAttempt.round_id))
        .where(
            col(QuizRound.team_id) == ctx.team_id,
            col(QuizRound.project_id) == project.id,
            col(QuizAttempt.passed).is_(False),
            col(QuizAttempt.submitted_at) > since,
            col(QuizAttempt.submitted_at) <= period.end,
        )
        .group_by(col(QuizAttempt.user_id))
    )
    found: dict[str, list[tuple[str, Any]]] = {}
    rows = ctx.session.exec(union_all(past_service_level, absences, failures)).all()  # type: ignore[call-overload]
    reader, dialect = UTCDateTime().process_result_value, ctx.session.get_bind().dialect
    zone = ZoneInfo(project.timezone)
    for user, reason, count, day, unanswered in rows:
        detail = {"count": count}
        if unanswered is not None:
            answer_due = reader(unanswered, dialect)  # type: ignore[arg-type]
            local = answer_due.astimezone(zone).date() if answer_due else None
            day = min(day, local) if day and local else day or local
        if day is not None:
            detail["since"] = day
        found.setdefault(user, []).append((reason, detail))
    return found


def at_risk(
    ctx: Ctx,
    project: Project,
    period: Period,
    *,
    limit: int = AT_RISK_LIMIT,
    offset: int = 0,
    contacts: list[engagement.Contact] | None = None,
) -> AtRiskList:
    """Key users at risk with each of their reasons, the most reasons first (one page).
    ``contacts``: every active key user with their last contact, when the caller has them."""
    # Every active key user with their last contact: who counts, and who is in engagement debt.
    if contacts is None:
        contacts = engagement.last_contacts(ctx, project.id or 0, period.end)
    by_user = {c.user_id: c for c in contacts}
    people: dict[str, AtRisk] = {}
    falling = falling_satisfaction(ctx, project, period)
    found = [
        {user: [reason] for user, reason in falling.items()},
        counted_reasons(ctx, project, period),
        {user: [_debt_reason(c, period)] for user, c in by_user.items() if c.in_debt},
    ]
    for reasons_of in found:
        for user, reasons in reasons_of.items():
            if user not in by_user:
                continue  # issues and invitations of PMs or team members: not key users
            for reason, detail in reasons:
                people.setdefault(user, AtRisk(user)).reasons[reason] = detail
    ranked = sorted(people.values(), key=lambda person: (-len(person.reasons), person.user_id))
    per_reason: dict[str, int] = {}
    for person in ranked:
        for reason in person.reasons:
            per_reason[reason] = per_reason.get(reason, 0) + 1
    return AtRiskList(
        people=ranked[offset : offset + limit],
        total=len(ranked),
        offset=offset,
        per_reason=per_reason,
    )


@dataclass
class Digest:
    project: Project
    period: Period  # the ISO week covered
    week: str  # its label, ``2026-W48``
    now: datetime  # the instant the figures of the moment describe
    sections: dict[str, Any]
    late: bool = False
    due_at: datetime | None = None  # the digest time it was late for


@dataclass
class ComingEvent:
    event_id: int
    kind: str  # training | meeting
    title: str
    starts_at: datetime
    accepted: int
    maybe: int
    declined: int
    pending: int
    waitlisted: int

    @property
    def invited(self) -> int:
        return self.accepted + self.maybe + self.waitlisted + self.declined + self.pending


@dataclass
class ComingWeek:
    events: list[ComingEvent]
    more: bool  # more than COMING_LIMIT in the week


def coming_week(ctx: Ctx, project: Project, period: Period) -> ComingWeek | None:
    """Trainings and meetings of the seven days after the period, with their answers so far (every
    answer but "removed": they add up to the people invited), in one statement."""
    response = col(Invitation.response)
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(
            CalendarEvent,
            _count_if(response == Rsvp.ACCEPTED),
            _count_if(response == Rsvp.MAYBE),
            _count_if(response == Rsvp.DECLINED),
            _count_if(response == Rsvp.PENDING),
            _count_if(response == Rsvp.WAITLISTED),
        )
        .outerjoin(Invitation, col(Invitation.event_id) == col(CalendarEvent.id))
        .where(
            col(CalendarEvent.team_id) == ctx.team_id,
            col(CalendarEvent.project_id) == project.id,
            col(CalendarEvent.status) == EventStatus.SCHEDULED,
            col(CalendarEvent.starts_at) >= period.end,
            col(CalendarEvent.starts_at) < period.coming_end,
        )
        .group_by(col(CalendarEvent.id))
        .order_by(col(CalendarEvent.starts_at), col(CalendarEvent.id))
        .limit(COMING_LIMIT + 1)
    ).all()
    if not rows:
        return None
    return ComingWeek(
        events=[
            ComingEvent(
                event_id=event.id or 0,
                kind=event.kind,
                title=event.title,
                starts_at=event.starts_at,
                accepted=accepted,
                maybe=maybe,
                declined=declined,
                pending=pending,
                waitlisted=waitlisted,
            )
            for event, accepted, maybe, declined, pending, waitlisted in rows[:COMING_LIMIT]
        ],
        more=len(rows) > COMING_LIMIT,
    )


def project_risks(ctx: Ctx, project: Project) -> risk_service.RiskOverview | None:
    """The project's open risks (its grid and the highest of them), None without any: one
    statement (``risks.overviews``)."""
    found = risk_service.overview(ctx, project)
    return found if found.total else None


def for_channel(ctx: Ctx, digest: Digest) -> Digest:
    """The digest as the project channel receives it: its coming week lists no training session,
    as a channel sees none (``training_sessions.sight_of``); the PMs' copy lists every one. Of
    the project's risks, only those that may be shown in the channel."""
    sections = dict(digest.sections)
    risks = sections.pop("project_risks", None)
    if risks is not None and risks.visible_total:
        sections["project_risks"] = risks.for_channel()
    digest = replace(digest, sections=sections)
    coming = digest.sections.get("coming_week")
    sight = training_sessions.sight_of(ctx, digest.project, None)
    sections = dict(digest.sections)
    sections.pop("end_user_readiness", None)  # the PMs' copy only
    if coming is None or sight == training_sessions.Sight.EVERY:
        return replace(digest, sections=sections)
    events = [event for event in coming.events if event.kind != training_sessions.KIND]
    if events:
        sections["coming_week"] = replace(coming, events=events)
    else:
        del sections["coming_week"]
    return replace(digest, sections=sections)


def readiness(ctx: Ctx, project: Project) -> list[dict[str, Any]] | None:
    """Training readiness per module (the trainings' own rule, counted in SQL), None without
    a module that has trainees."""
    modules = training_readiness.readiness_by_module(ctx, project)
    return modules if any(module["trainees"] for module in modules) else None


END_USER_LINES = 15  # module × department lines of end-user readiness in the digest


@dataclass
class EndUserReadiness:
    """End users ready per module and department (the first ``END_USER_LINES``), and in all."""

    cells: list[end_user_readiness.Cell]
    more: int
    total: int  # end users
    ready: int


def end_users_ready(ctx: Ctx, project: Project) -> EndUserReadiness | None:
    """The end users' readiness per module and department (one statement), None without any
    end user. The PMs' copy only: ``for_channel`` leaves it out."""
    cells = end_user_readiness.readiness(ctx, project)
    if not cells:
        return None
    return EndUserReadiness(
        cells=cells[:END_USER_LINES],
        more=max(0, len(cells) - END_USER_LINES),
        total=sum(cell.end_users for cell in cells),
        ready=sum(cell.ready for cell in cells),
    )


def readiness_percent(modules: list[dict[str, Any]] | None) -> int | None:
    """The share of (key user, module) pairs that are ready, over every module."""
    trainees = sum(module["trainees"] for module in modules or [])
    if not trainees:
        return None
    return round(100 * sum(module["ready"] for module in modules or []) / trainees)


def _phase(project: Project) -> dict[str, Any]:
    phases = list(project.phases)
    position = phases.index(project.phase) + 1 if project.phase in phases else None
    return {"phase": project.phase, "position": position, "count": len(phases)}


def checklist_progress(ctx: Ctx, project: Project) -> phases.Progress | None:
    """The current phase's checklist in figures (one aggregate statement), None without one."""
    found = phases.progress(ctx, [project])[project.id or 0]
    return None if found.empty else found


def build_digest(
    ctx: Ctx, project: Project, *, now: datetime, late: bool = False, due_at: datetime | None = None
) -> Digest:
    """The digest built at ``now``: the ISO week that ended last (``covered_week``) and the
    figures of the moment. The same code for preview, send and schedule. Sections in the order
    they appear."""
    period = covered_week(project, now)
    # Sections of the moment: the days ahead, the latest poll, who is at risk now.
    recent = period_ending(now)
    contacts = engagement.last_contacts(ctx, project.id or 0, now)
    people_at_risk = at_risk(ctx, project, recent, contacts=contacts)
    sections = {
        "phase": _phase(project),
        "checklist": checklist_progress(ctx, project),
        "issues": issue_figures(ctx, project, period, now=now),
        # The week's decisions: not personal, in the channel's copy as in the PMs'.
        "decisions": decisions.week_decisions(ctx, project, period.start, period.end),
        "coming_week": coming_week(ctx, project, recent),
        "readiness": readiness(ctx, project),
        "end_user_readiness": end_users_ready(ctx, project),
        "polls": latest_poll(ctx, project, recent),
        "at_risk": people_at_risk if people_at_risk.total else None,
        "project_risks": project_risks(ctx, project),
    }
    return Digest(
        project=project,
        period=period,
        week=iso_week(project, period.start),
        now=now,
        sections={name: data for name, data in sections.items() if data is not None},
        late=late,
        due_at=due_at,
    )


def overdue_by_owner(ctx: Ctx, project: Project) -> dict[str, list[Issue]]:
    """The project's overdue open issues that have an owner, grouped by owner (one query)."""
    rows = ctx.session.exec(
        select(Issue)
        .where(
            *_issue_base(ctx, project),
            col(Issue.status).in_(_OPEN),
            col(Issue.owner_id).is_not(None),
            col(Issue.due_at) <= ctx.now(),
        )
        .order_by(col(Issue.due_at), col(Issue.id))
    ).all()
    grouped: dict[str, list[Issue]] = {}
    for issue in rows:
        grouped.setdefault(issue.owner_id or "", []).append(issue)
    return grouped


# --------------------------------------------------------------------------- the dashboards


@dataclass
class ProjectDashboard:
    """A PM's figures of one project, as of now: the same queries as the digest."""

    project: Project
    issues: IssueFigures
    poll: PollSummary | None
    at_risk: AtRiskList
    quadrants: dict[Quadrant, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # sections of other domains (coming week)
    # The first of the open issues ``issues.open_now`` counts (overdue first), listed under it.
    open_issues: list[Issue] = field(default_factory=list)
    # A project without key users: its next steps (``bot.services.home.SETUP_STEPS``), shown
    # instead of its figures, which would all be zero.
    setup: list[str] | None = None

    @property
    def debt(self) -> int:
        return self.at_risk.per_reason.get("engagement_debt", 0)


def project_dashboard(
    ctx: Ctx,
    project: Project,
    *,
    at_risk_limit: int,
    at_risk_offset: int = 0,
    contacts: list[engagement.Contact] | None = None,
) -> ProjectDashboard:
    """``contacts``: the project's active key users with their last contact, when the caller has
    them (the Home tab loads them once for every dashboard and its contacts list)."""
    period = period_ending(ctx.now())
    if contacts is None:
        contacts = engagement.last_contacts(ctx, project.id or 0, period.end)
    quadrants = {quadrant: 0 for quadrant in Quadrant}
    for contact in contacts:
        quadrants[contact.quadrant] += 1
    extra = {
        "coming_week": coming_week(ctx, project, period),
        "readiness": readiness(ctx, project),
    }
    return ProjectDashboard(
        project=project,
        issues=issue_figures(ctx, project, period, now=period.end, in_detail=False),
        open_issues=open_issues(ctx, project, limit=DASHBOARD_ISSUES),
        poll=latest_poll(ctx, project, period, rounds_wanted=1),
        at_risk=at_risk(
            ctx, project, period, limit=at_risk_limit, offset=at_risk_offset, contacts=contacts
        ),
        quadrants=quadrants,
        extra={name: data for name, data in extra.items() if data is not None},
    )
