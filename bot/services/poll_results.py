"""Poll figures: response rate, distributions, averages, CSAT, NPS, free text, trend; CSV export.

* CSAT is the share (in %) of rating answers (1-5) that are 4 or 5.
* NPS is the % of promoters (9-10) minus the % of detractors (0-6) among NPS answers (0-10).
* The poll-level CSAT / NPS / average pool every rating (or NPS) question of the round, so rounds
  of a recurring poll compare on the same figures (``trend``).

Anonymous polls: the figures never name a person; who has not answered is given as a count only;
free-text answers are listed in alphabetical order (never in the order they were stored). One rule
(``disclosure``) decides for results and exports alike: below ``ANONYMOUS_MIN_ANSWERS`` answers
no figure per question and no row is given out, since one or two answers would be attributable to
whoever the PM knows answered; and per-ballot rows only once the poll is closed, since exporting
after each new answer would isolate every ballot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot import delivery
from bot.csvutil import write_csv
from bot.errors import Msg, PermissionDenied
from bot.services import polls as poll_service
from bot.services.context import Ctx
from storage.models import (
    OutboxMessage,
    Poll,
    PollQuestion,
    PollResponse,
    PollStatus,
    QuestionKind,
)


@dataclass
class QuestionFigures:
    question: PollQuestion
    answered: int = 0
    distribution: list[tuple[str, int]] = field(default_factory=list)
    average: float | None = None
    csat: float | None = None
    nps: float | None = None
    texts: list[str] = field(default_factory=list)


@dataclass
class RoundFigures:
    round_number: int
    opens_at: datetime
    status: str
    response_rate: float
    csat: float | None
    nps: float | None
    average: float | None


@dataclass
class PollFigures:
    poll: Poll
    invited: int
    answered: int
    response_rate: float  # %
    questions: list[QuestionFigures]
    csat: float | None
    nps: float | None
    average: float | None
    not_answered: list[str] | None  # user ids; None for anonymous polls (count only)
    not_answered_count: int
    failures: list[tuple[str, str]]  # (user id, Slack error) of invitations never delivered
    trend: list[RoundFigures]
    withheld: bool = False  # anonymous with too few answers to show per-question figures


def csat(values: list[int]) -> float | None:
    if not values:
        return None
    return 100.0 * sum(1 for v in values if v >= 4) / len(values)


def nps(values: list[int]) -> float | None:
    if not values:
        return None
    promoters = sum(1 for v in values if v >= 9)
    detractors = sum(1 for v in values if v <= 6)
    return 100.0 * (promoters - detractors) / len(values)


def average(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def answer_sets(ctx: Ctx, poll: Poll) -> list[dict[str, Any]]:
    """Every stored answer set of the round (``{question id: value}``), in no meaningful order."""
    if poll.anonymous:
        return poll_service.ballots_of(ctx, poll)
    rows = list(
        ctx.session.exec(ctx.select(PollResponse).where(PollResponse.poll_id == poll.id)).all()
    )
    return [dict(row.answers) for row in rows]


@dataclass(frozen=True)
class Disclosure:
    """What may be given out about a poll's answers."""

    figures: bool  # distributions, averages, CSAT, NPS, free text
    rows: bool  # one row per answer set (the CSV export)
    reason: Msg | None = None  # why rows are refused


def disclosure(poll: Poll, answers: int) -> Disclosure:
    """The one rule for anonymous results and exports (named polls show everything)."""
    if not poll.anonymous:
        return Disclosure(figures=True, rows=True)
    if 0 < answers < poll_service.ANONYMOUS_MIN_ANSWERS:
        reason = Msg("poll.errors.export_few", minimum=poll_service.ANONYMOUS_MIN_ANSWERS)
        return Disclosure(figures=False, rows=False, reason=reason)
    if poll.status != PollStatus.CLOSED:
        return Disclosure(figures=True, rows=False, reason=Msg("poll.errors.export_open"))
    return Disclosure(figures=True, rows=True)


def _question_figures(question: PollQuestion, sets: list[dict[str, Any]]) -> QuestionFigures:
    values = [s[str(question.id)] for s in sets if str(question.id) in s]
    figures = QuestionFigures(question=question, answered=len(values))
    if question.kind in (QuestionKind.RATING, QuestionKind.NPS):
        scale = poll_service.RATING_VALUES
        if question.kind == QuestionKind.NPS:
            scale = poll_service.NPS_VALUES
        figures.distribution = [(str(v), sum(1 for x in values if x == v)) for v in scale]
        figures.average = average(values)
        if question.kind == QuestionKind.RATING:
            figures.csat = csat(values)
        else:
            figures.nps = nps(values)
    elif question.kind == QuestionKind.SINGLE:
        figures.distribution = [
            (option, sum(1 for x in values if x == index))
            for index, option in enumerate(question.options)
        ]
    elif question.kind == QuestionKind.MULTIPLE:
        figures.distribution = [
            (option, sum(1 for x in values if index in x))
            for index, option in enumerate(question.options)
        ]
    else:
        figures.texts = sorted(values, key=str.casefold)
    return figures


def _pooled(questions: list[PollQuestion], sets: list[dict[str, Any]], kind: str) -> list[int]:
    ids = [str(q.id) for q in questions if q.kind == kind]
    return [s[qid] for s in sets for qid in ids if qid in s]


def round_figures(ctx: Ctx, poll: Poll) -> RoundFigures:
    questions = poll_service.questions_of(ctx, poll)
    sets = answer_sets(ctx, poll)
    people = poll_service.participants_of(ctx, poll)
    answered = sum(1 for p in people if p.answered)
    ratings = _pooled(questions, sets, QuestionKind.RATING)
    return RoundFigures(
        round_number=poll.round_number,
        opens_at=poll.opens_at,
        status=poll.status,
        response_rate=100.0 * answered / len(people) if people else 0.0,
        csat=csat(ratings),
        nps=nps(_pooled(questions, sets, QuestionKind.NPS)),
        average=average(ratings),
    )


def trend(ctx: Ctx, poll: Poll) -> list[RoundFigures]:
    """The figures of every opened round of the series up to ``poll``, oldest first."""
    return [
        round_figures(ctx, earlier)
        for earlier in poll_service.rounds_of(ctx, poll)
        if earlier.status != PollStatus.SCHEDULED
    ]


def delivery_failures(ctx: Ctx, poll: Poll) -> list[tuple[str, str]]:
    rows: list[OutboxMessage] = delivery.failures(
        ctx.session, team_id=ctx.team_id, subject=poll_service.subject(poll)
    )
    prefix = f"poll:{poll.id}:invite:"
    return [
        (row.key.removeprefix(prefix), row.error or "")
        for row in rows
        if row.key.startswith(prefix)
    ]


def compute(ctx: Ctx, poll: Poll) -> PollFigures:
    questions = poll_service.questions_of(ctx, poll)
    sets = answer_sets(ctx, poll)
    people = poll_service.participants_of(ctx, poll)
    answered = sum(1 for p in people if p.answered)
    missing = [p.user_id for p in people if not p.answered]
    withheld = not disclosure(poll, len(sets)).figures
    ratings = _pooled(questions, sets, QuestionKind.RATING)
    return PollFigures(
        poll=poll,
        invited=len(people),
        answered=answered,
        response_rate=100.0 * answered / len(people) if people else 0.0,
        questions=[] if withheld else [_question_figures(q, sets) for q in questions],
        csat=None if withheld else csat(ratings),
        nps=None if withheld else nps(_pooled(questions, sets, QuestionKind.NPS)),
        average=None if withheld else average(ratings),
        not_answered=None if poll.anonymous else missing,
        not_answered_count=len(missing),
        failures=delivery_failures(ctx, poll),
        trend=trend(ctx, poll),
        withheld=withheld,
    )


def results_for_pm(ctx: Ctx, poll_id: int | str) -> PollFigures:
    poll = poll_service.get_poll(ctx, poll_id)
    poll_service.require_poll_pm(ctx, poll)
    return compute(ctx, poll)


def _cell(question: PollQuestion, value: Any) -> str:
    if value is None:
        return ""
    if question.kind == QuestionKind.SINGLE:
        return question.options[value]
    if question.kind == QuestionKind.MULTIPLE:
        return "; ".join(question.options[i] for i in value)
    return str(value)


def export_csv(ctx: Ctx, poll_id: int | str) -> tuple[Poll, str]:
    """One row per answer set; named polls add who answered, anonymous polls never do (and their
    rows are sorted by content, so row order carries nothing either)."""
    poll = poll_service.get_poll(ctx, poll_id)
    project = poll_service.require_poll_pm(ctx, poll)
    questions = poll_service.questions_of(ctx, poll)
    header = [q.text for q in questions]
    rows: list[list[object]]
    if poll.anonymous:
        sets = answer_sets(ctx, poll)
        allowed = disclosure(poll, len(sets))
        if not allowed.rows:
            raise PermissionDenied(allowed.reason or Msg("poll.errors.export_open"))
        header = ["round", *header]
        rows = [[poll.round_number, *(_cell(q, s.get(str(q.id))) for q in questions)] for s in sets]
        rows.sort(key=lambda row: [str(cell) for cell in row])
    else:
        header = ["round", "slack_user", "answered_at", *header]
        responses = ctx.session.exec(
            ctx.select(PollResponse)
            .where(PollResponse.poll_id == poll.id)
            .order_by(PollResponse.user_id)  # type: ignore[arg-type]
        ).all()
        rows = [
            [
                poll.round_number,
                response.user_id,
                response.updated_at.isoformat(timespec="minutes"),
                *(_cell(q, response.answers.get(str(q.id))) for q in questions),
            ]
            for response in responses
        ]
    ctx.log("poll.exported", project_id=project.id, poll_id=poll.id, rows=len(rows))
    return poll, write_csv(header, rows)
