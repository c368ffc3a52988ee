"""Satisfaction polls: create, open (fan-out), answer, remind, recur; and anonymity. Closing a
round is in ``bot.services.poll_closing``, its figures in ``bot.services.poll_results``.

A poll round goes SCHEDULED -> OPEN -> CLOSED. Opening writes one ``PollParticipant`` per person in
the audience and one invitation DM per person to the outbox (key ``poll:<id>:invite:<user>``) in
the same unit of work, so a crash mid fan-out resumes from the outbox. Reminders (once, in the
invitation's thread, only to those who have not answered), closing (DMs updated to "closed",
results and a chart to the PMs) and the next round of a recurring poll are scheduler jobs; all
are idempotent through the poll's state and unique outbox keys.

Messages are Block Kit, which services do not build: the caller passes ``messages`` (the
``PollMessages`` protocol, implemented by ``bot.views.polls``).

Anonymous means unlinkable. Nothing the operator holds (the database, the bot token and what it
can read back from Slack, the logs) tells which person gave which anonymous answer:

* Who answered (``PollParticipant.answered``: for the dedupe and for reminders) is stored apart from
  what was answered (``BallotBox``). They share no id, no foreign key, no timestamp.
* Ballots are never stored one per row. They go into the poll's open box, a shuffled list of whole
  ballots; once it holds ``2 * BOX_SIZE`` ballots a random half is sealed into a box of its own.
  Every row written when someone answers therefore holds at least ``BOX_SIZE`` ballots (all of
  them before there are that many), so row order (SQLite rowid, PostgreSQL ctid) and transaction
  ids (PostgreSQL ``xmin``, which does show the order in which participants answered) cannot be
  joined to one ballot. An answer costs the same whatever the number of answers already given.
* Anonymous answers cannot be changed. An edit needs something that ties the person to their
  ballot; anything the app gives the person to keep (a button value, a link) is readable back by
  the bot token, and anything stored is held by the operator. The DM and the modal say so, and a
  rating clicked in the DM opens the modal to confirm instead of storing at once.
* The "poll answered" touchpoint of an anonymous poll is not logged when someone answers (its
  time would match the ballot write) but when the poll closes, for every respondent at once, in a
  random order. No request key is claimed and nothing about the answer is logged.
* Results and exports follow one rule (``poll_results.disclosure``): figures from
  ``ANONYMOUS_MIN_ANSWERS`` answers on; per-ballot rows only once the poll is closed.

Limits, documented in docs/POLLS.md: with one respondent an answer is trivially attributable;
successive backups, WAL files or PostgreSQL dead tuples before VACUUM show which ballot appeared
between two snapshots.
"""

from __future__ import annotations

import calendar
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, func, insert
from sqlmodel import col, select

from bot import delivery
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import audiences, numbering
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.fields import limit, record_id, required_text, too_long
from storage.models import (
    BallotBox,
    Poll,
    PollParticipant,
    PollQuestion,
    PollResponse,
    PollStatus,
    Project,
    QuestionKind,
    Recurrence,
)

AUDIENCE_KINDS = audiences.KINDS
REMIND_CHOICES = (0, 2, 24, 48)  # hours before close; 0: no reminder
DEFAULT_OPEN_DAYS = 7
MAX_QUESTIONS = 12
MAX_OPTIONS = 10  # radio buttons and checkboxes hold 10
TITLE_LIMIT = limit(Poll.title)
INTRO_LIMIT = limit(Poll.intro)
QUESTION_LIMIT = limit(PollQuestion.text)
ANONYMOUS_MIN_ANSWERS = 3
BOX_SIZE = 50  # every ballot box written at answer time holds at least this many ballots
RATING_VALUES = tuple(range(1, 6))
NPS_VALUES = tuple(range(0, 11))
TEMPLATES: dict[str, list[tuple[str, str, int, bool]]] = {
    # kind, catalog key of the text, number of options (catalog keys .o0, .o1...), required
    "monthly_satisfaction": [
        (QuestionKind.RATING, "poll.template_q.csat", 0, True),
        (QuestionKind.NPS, "poll.template_q.nps", 0, True),
        (QuestionKind.TEXT, "poll.template_q.works", 0, False),
        (QuestionKind.TEXT, "poll.template_q.improve", 0, False),
    ],
    "training_feedback": [
        (QuestionKind.RATING, "poll.template_q.useful", 0, True),
        (QuestionKind.RATING, "poll.template_q.trainer", 0, True),
        (QuestionKind.SINGLE, "poll.template_q.pace", 3, True),
        (QuestionKind.TEXT, "poll.template_q.change", 0, False),
    ],
}


class PollClosed(PermissionDenied):
    """The poll is closed (or not open yet): answers can no longer be given or changed."""


class PollMessages(Protocol):
    """The Block Kit a poll sends, built by ``bot.views.polls`` (services build no Block Kit)."""

    def invite(
        self,
        locale: str,
        poll: Poll,
        questions: list[PollQuestion],
        *,
        project: Project | None = None,
    ) -> dict[str, Any]: ...

    def reminder(
        self, locale: str, poll: Poll, *, project: Project | None = None
    ) -> dict[str, Any]: ...

    def closed(
        self, locale: str, poll: Poll, answered: bool, *, project: Project | None = None
    ) -> dict[str, Any]: ...

    def results(
        self, locale: str, figures: Any, *, project: Project | None = None
    ) -> dict[str, Any]: ...


@dataclass
class QuestionInput:
    kind: str = QuestionKind.RATING
    text: str = ""
    options: list[str] = field(default_factory=list)
    required: bool = True

    def compact(self) -> dict[str, Any]:
        return {"k": self.kind, "t": self.text, "o": self.options, "r": self.required}

    @classmethod
    def from_compact(cls, data: dict[str, Any]) -> QuestionInput:
        return cls(
            kind=str(data["k"]),
            text=str(data["t"]),
            options=[str(option) for option in data.get("o") or []],
            required=bool(data["r"]),
        )


@dataclass
class PollInput:
    title: str = ""
    intro: str = ""
    template: str | None = None
    audience_kind: str = "all"
    audience_roles: list[str] = field(default_factory=list)
    audience_quadrants: list[str] = field(default_factory=list)
    audience_people: list[str] = field(default_factory=list)
    anonymous: bool = False
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    recurrence: str = Recurrence.NONE
    remind_hours: int | None = 24
    questions: list[QuestionInput] = field(default_factory=list)


@dataclass
class AnswerOutcome:
    poll: Poll
    edited: bool


# ------------------------------------------------------------------------------- validation


def template_questions(locale: str, template: str | None) -> list[QuestionInput]:
    """The ready-made questions of a template, in the project's language."""
    questions = []
    for kind, key, option_count, required in TEMPLATES.get(template or "", []):
        options = [plain(locale, f"{key}_o{index}") for index in range(option_count)]
        questions.append(QuestionInput(kind, plain(locale, key), options, required))
    return questions


def clean_question(data: QuestionInput) -> QuestionInput:
    """A question as stored; errors keyed question_kind / question_text / question_options."""
    errors: dict[str, Msg] = {}
    if data.kind not in tuple(QuestionKind):
        errors["question_kind"] = Msg("errors.choice", choices=", ".join(QuestionKind))
    text = (data.text or "").strip()
    if problem := required_text(text, QUESTION_LIMIT):
        errors["question_text"] = problem
    options = [o.strip() for o in data.options if o and o.strip()]
    if data.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        if not 2 <= len(options) <= MAX_OPTIONS:
            errors["question_options"] = Msg("poll.errors.options_count", limit=MAX_OPTIONS)
        elif any(len(o) > 75 for o in options):
            errors["question_options"] = Msg("errors.too_long", limit=75)
        elif len(set(options)) != len(options):
            errors["question_options"] = Msg("poll.errors.options_unique")
    else:
        options = []
    if errors:
        raise ValidationError(errors)
    return QuestionInput(data.kind, text, options, bool(data.required))


clean_audience = audiences.clean  # polls and training sessions choose their audience alike


def clean_settings(ctx: Ctx, data: PollInput) -> tuple[datetime, datetime, list[str]]:
    """Check a poll's settings; returns (opens_at, closes_at, audience values)."""
    errors: dict[str, Msg] = {}
    now = ctx.now()
    title = (data.title or "").strip()
    if problem := required_text(title, TITLE_LIMIT):
        errors["title"] = problem
    if message := too_long(data.intro, Poll.intro):
        errors["intro"] = message
    if data.template is not None and data.template not in TEMPLATES:
        errors["template"] = Msg("errors.choice", choices=", ".join(TEMPLATES))
    values, audience_errors = clean_audience(
        data.audience_kind, data.audience_roles, data.audience_quadrants, data.audience_people
    )
    errors.update(audience_errors)
    opens_at = data.opens_at or now
    if data.opens_at is not None and data.opens_at < now - timedelta(minutes=5):
        errors["opens_at"] = Msg("poll.errors.opens_past")
    closes_at = data.closes_at or opens_at + timedelta(days=DEFAULT_OPEN_DAYS)
    if closes_at <= opens_at + timedelta(hours=1):
        errors["closes_at"] = Msg("poll.errors.closes_before")
    if data.recurrence not in tuple(Recurrence):
        errors["recurrence"] = Msg("errors.choice", choices=", ".join(Recurrence))
    elif data.recurrence != Recurrence.NONE and closes_at > add_period(opens_at, data.recurrence):
        errors["closes_at"] = Msg("poll.errors.longer_than_period")
    if data.remind_hours not in (None, *REMIND_CHOICES):
        errors["remind_hours"] = Msg("errors.choice", choices=", ".join(map(str, REMIND_CHOICES)))
    if errors:
        raise ValidationError(errors)
    return opens_at, closes_at, values


def add_period(moment: datetime, recurrence: str) -> datetime:
    if recurrence == Recurrence.WEEKLY:
        return moment + timedelta(days=7)
    months = {Recurrence.MONTHLY: 1, Recurrence.QUARTERLY: 3}.get(Recurrence(recurrence), 0)
    year, month = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + year, month + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


# ---------------------------------------------------------------------------------- reading


def get_poll(ctx: Ctx, poll_id: int | str) -> Poll:
    ident = record_id(poll_id)
    poll = ctx.get(Poll, ident) if ident else None
    if poll is None:
        raise NotFound(Msg("poll.errors.no_such_poll"))
    return poll


def numbers(ctx: Ctx, polls: list[Poll]) -> dict[int, int]:
    """Each poll's number within its project (1, 2, … in the order they were created): what
    people read and type, never the database id. One query."""
    return numbering.numbers(ctx, Poll, polls, ("project_id",))


def number_of(ctx: Ctx, poll: Poll) -> int:
    return numbers(ctx, [poll])[poll.id or 0]


def by_number(ctx: Ctx, project: Project, number: Any) -> Poll:
    """The project's poll with this number (``numbers``); "#3" and "3" alike."""
    return numbering.by_number(ctx, Poll, number, "poll.errors.not_found", project_id=project.id)


def project_of(ctx: Ctx, poll: Poll) -> Project:
    return project_service.get_project_by_id(ctx, poll.project_id)


def require_poll_pm(ctx: Ctx, poll: Poll) -> Project:
    project = project_of(ctx, poll)
    project_service.require_pm(ctx, project)
    return project


def questions_of(ctx: Ctx, poll: Poll) -> list[PollQuestion]:
    query = ctx.select(PollQuestion).where(PollQuestion.poll_id == poll.id)
    return list(ctx.session.exec(query.order_by(col(PollQuestion.position))).all())


def participants_of(ctx: Ctx, poll: Poll) -> list[PollParticipant]:
    query = ctx.select(PollParticipant).where(PollParticipant.poll_id == poll.id)
    return list(ctx.session.exec(query.order_by(col(PollParticipant.user_id))).all())


def participant(ctx: Ctx, poll: Poll, user_id: str) -> PollParticipant | None:
    return ctx.session.exec(
        ctx.select(PollParticipant).where(
            PollParticipant.poll_id == poll.id, PollParticipant.user_id == user_id
        )
    ).first()


def invitation_of(ctx: Ctx, poll: Poll, user_id: str) -> delivery.SentMessage | None:
    """The invitation DM the app sent this person, if it was delivered: the only message of a
    poll the app updates on someone's behalf."""
    return delivery.sent_message(
        ctx.session, team_id=ctx.team_id, to=user_id, key=invite_key(poll, user_id)
    )


def list_polls(ctx: Ctx, project: Project) -> list[Poll]:
    project_service.require_pm(ctx, project)
    return list(
        ctx.session.exec(
            ctx.select(Poll).where(Poll.project_id == project.id).order_by(col(Poll.id).desc())
        ).all()
    )


def awaiting_answer(ctx: Ctx, user_id: str, *, limit: int) -> list[Poll]:
    """The first ``limit`` open polls this person was asked and has not answered yet, closing
    soonest first (for their Home tab)."""
    return list(
        ctx.session.exec(
            ctx.select(Poll)
            .join(PollParticipant, col(PollParticipant.poll_id) == col(Poll.id))
            .where(
                PollParticipant.user_id == user_id,
                col(PollParticipant.answered).is_(False),
                Poll.status == PollStatus.OPEN,
            )
            .order_by(col(Poll.closes_at), col(Poll.id))
            .limit(limit)
        ).all()
    )


def response_rates(
    ctx: Ctx, projects: list[Project], *, limit: int
) -> list[tuple[Poll, Project, int, int, int]]:
    """The first ``limit`` open polls of the projects (by project code, closing soonest first)
    with how many people were asked, how many answered and the poll's number in its project:
    one grouped statement."""
    if not projects:
        return []
    by_id = {project.id: project for project in projects}
    answered = func.coalesce(
        func.sum(case((col(PollParticipant.answered).is_(True), 1), else_=0)), 0
    )
    rows = ctx.session.exec(  # type: ignore[call-overload]
        select(
            Poll,
            func.count(col(PollParticipant.id)),
            answered,
            numbering.number_column(Poll, ("project_id",)),
        )
        .join(Project, col(Project.id) == col(Poll.project_id))
        .outerjoin(PollParticipant, col(PollParticipant.poll_id) == col(Poll.id))
        .where(
            col(Poll.team_id) == ctx.team_id,
            col(Poll.project_id).in_(list(by_id)),
            col(Poll.status) == PollStatus.OPEN,
        )
        .group_by(col(Poll.id), col(Project.id))
        .order_by(col(Project.code), col(Poll.closes_at), col(Poll.id))
        .limit(limit)
    ).all()
    return [
        (poll, by_id[poll.project_id], asked, done, number) for poll, asked, done, number in rows
    ]


def audience(ctx: Ctx, project: Project, poll: Poll) -> list[tuple[str, int | None]]:
    """(Slack user id, key user id or None) of everyone the poll goes to."""
    return audiences.members(ctx, project, poll.audience_kind, poll.audience_values)


# --------------------------------------------------------------------------------- creating


def create_poll(
    *, ctx: Ctx, project: Project, data: PollInput, messages: PollMessages
) -> tuple[Poll, list[str]]:
    """Store a poll and, if it opens now, its fan-out. Returns the poll and the outbox keys."""
    project_service.require_pm(ctx, project)
    opens_at, closes_at, values = clean_settings(ctx, data)
    questions = [clean_question(q) for q in data.questions]
    if not questions:
        raise ValidationError({"question_text": Msg("poll.errors.no_questions")})
    if len(questions) > MAX_QUESTIONS:
        raise ValidationError({"question_text": Msg("poll.errors.too_many", limit=MAX_QUESTIONS)})
    now = ctx.now()
    poll = Poll(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        series_id=uuid.uuid4().hex,
        round_number=1,
        title=data.title.strip(),
        intro=(data.intro or "").strip() or None,
        template=data.template or None,
        audience_kind=data.audience_kind,
        audience_values=values,
        anonymous=data.anonymous,
        recurrence=data.recurrence,
        remind_hours=data.remind_hours or None,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=ctx.actor_id or "",
        created_at=now,
    )
    if not audience(ctx, project, poll):
        raise ValidationError({"audience_kind": Msg("poll.errors.audience_empty")})
    ctx.session.add(poll)
    ctx.session.flush()
    for position, question in enumerate(questions):
        ctx.session.add(
            PollQuestion(
                team_id=ctx.team_id,
                poll_id=poll.id or 0,
                position=position,
                kind=question.kind,
                text=question.text,
                options=question.options,
                required=question.required,
            )
        )
    ctx.session.flush()
    ctx.log(
        "poll.created",
        project_id=project.id,
        poll_id=poll.id,
        title=poll.title,
        anonymous=poll.anonymous,
        questions=len(questions),
    )
    keys: list[str] = []
    if opens_at <= now:
        keys = open_poll(ctx=ctx, poll=poll, messages=messages)
    return poll, keys


def invite_key(poll: Poll, user_id: str) -> str:
    return f"poll:{poll.id}:invite:{user_id}"


def subject(poll: Poll) -> str:
    return f"poll:{poll.id}"


def open_poll(*, ctx: Ctx, poll: Poll, messages: PollMessages) -> list[str]:
    """Open a scheduled poll: participants and one invitation per person, in one unit of work."""
    if poll.status != PollStatus.SCHEDULED:
        return []
    project = project_of(ctx, poll)
    questions = questions_of(ctx, poll)
    now = ctx.now()
    poll.status = PollStatus.OPEN
    poll.opened_at = now
    ctx.session.add(poll)
    if poll.anonymous:
        ctx.session.add(BallotBox(id=uuid.uuid4().hex, team_id=ctx.team_id, poll_id=poll.id or 0))
    invitation = messages.invite(project.locale, poll, questions, project=project)
    people = audience(ctx, project, poll)
    ctx.session.flush()
    # The participants in one insert, the invitations in another, whatever the audience's size.
    if people:
        ctx.session.execute(
            insert(PollParticipant),
            [
                {"team_id": ctx.team_id, "poll_id": poll.id, "user_id": user, "key_user_id": key}
                for user, key in people
            ],
        )
    outgoing = [
        delivery.Outgoing(
            key=invite_key(poll, user_id),
            payload={"channel": user_id, **invitation},
            subject=subject(poll),
            expires_at=poll.closes_at,  # no use once the poll is closed
        )
        for user_id, _key_user_id in people
    ]
    keys = delivery.enqueue_many(ctx.session, team_id=ctx.team_id, messages=outgoing, now=now)
    ctx.log("poll.opened", project_id=project.id, poll_id=poll.id, invited=len(keys))
    return keys


def _due(ctx: Ctx, status: PollStatus, moment: Any) -> Sequence[Poll]:
    """The polls in ``status`` whose ``moment`` (a column) has come."""
    return ctx.session.exec(
        ctx.select(Poll).where(Poll.status == status, moment <= ctx.now())
    ).all()


def open_due(*, ctx: Ctx, messages: PollMessages) -> list[str]:
    due = _due(ctx, PollStatus.SCHEDULED, Poll.opens_at)
    return [key for poll in due for key in open_poll(ctx=ctx, poll=poll, messages=messages)]


# -------------------------------------------------------------------------------- answering


def clean_answers(
    questions: list[PollQuestion], raw: dict[str, Any], *, partial: bool = False
) -> dict[str, Any]:
    """Raw values keyed ``q<question id>`` (the modal's block ids) to stored answers.

    Ratings and NPS are ints; choices are option indexes; free text is a string. Errors are keyed
    by the same block ids. With ``partial``, missing required answers are not an error.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, Msg] = {}
    for question in questions:
        block = f"q{question.id}"
        value = raw.get(block)
        if value in (None, "", []):
            if question.required and not partial:
                errors[block] = Msg("errors.required")
            continue
        try:
            if question.kind in (QuestionKind.RATING, QuestionKind.NPS):
                number = int(value)
                allowed = RATING_VALUES if question.kind == QuestionKind.RATING else NPS_VALUES
                if number not in allowed:
                    raise ValueError(number)
                answers[str(question.id)] = number
            elif question.kind == QuestionKind.SINGLE:
                index = int(value)
                if not 0 <= index < len(question.options):
                    raise ValueError(index)
                answers[str(question.id)] = index
            elif question.kind == QuestionKind.MULTIPLE:
                indexes = sorted({int(v) for v in value})
                if any(not 0 <= i < len(question.options) for i in indexes):
                    raise ValueError(indexes)
                answers[str(question.id)] = indexes
            else:
                text = str(value).strip()
                if len(text) > 2000:
                    errors[block] = Msg("errors.too_long", limit=2000)
                    continue
                if text:
                    answers[str(question.id)] = text
                elif question.required and not partial:
                    errors[block] = Msg("errors.required")
        except (TypeError, ValueError):
            errors[block] = Msg("poll.errors.bad_answer")
    if errors:
        raise ValidationError(errors)
    return answers


def answerable(ctx: Ctx, poll_id: int | str, user_id: str) -> tuple[Poll, PollParticipant]:
    poll = get_poll(ctx, poll_id)
    if poll.status != PollStatus.OPEN:
        raise PollClosed(Msg("poll.errors.closed", title=poll.title))
    person = participant(ctx, poll, user_id)
    if person is None:
        raise PermissionDenied(Msg("poll.errors.not_asked"))
    return poll, person


def _response(ctx: Ctx, poll: Poll, user_id: str) -> PollResponse | None:
    return ctx.session.exec(
        ctx.select(PollResponse).where(
            PollResponse.poll_id == poll.id, PollResponse.user_id == user_id
        )
    ).first()


def current_answers(ctx: Ctx, poll: Poll, user_id: str) -> dict[str, Any]:
    """The person's stored answers, ``{qid: value}`` (anonymous: none can be read back)."""
    if poll.anonymous:
        return {}
    response = _response(ctx, poll, user_id)
    return dict(response.answers) if response else {}


def _open_box(ctx: Ctx, poll: Poll) -> BallotBox:
    """The poll's open ballot box, locked until commit (answers at once must not overwrite each
    other's ballots)."""
    box = ctx.session.exec(
        ctx.select(BallotBox)
        .where(BallotBox.poll_id == poll.id, col(BallotBox.sealed).is_(False))
        .with_for_update()
    ).first()
    if box is None:
        box = BallotBox(id=uuid.uuid4().hex, team_id=ctx.team_id, poll_id=poll.id or 0)
    return box


def _cast(ctx: Ctx, poll: Poll, answers: dict[str, Any]) -> None:
    """Put one ballot in the open box, shuffled among the others; seal a random half once the box
    holds ``2 * BOX_SIZE``. The cost does not depend on how many have answered."""
    box = _open_box(ctx, poll)
    ballots = [*box.ballots, answers]
    secrets.SystemRandom().shuffle(ballots)
    if len(ballots) >= 2 * BOX_SIZE:
        ctx.session.add(
            BallotBox(
                id=uuid.uuid4().hex,
                team_id=ctx.team_id,
                poll_id=poll.id or 0,
                sealed=True,
                ballots=ballots[:BOX_SIZE],
            )
        )
        ballots = ballots[BOX_SIZE:]
    box.ballots = ballots
    ctx.session.add(box)


def ballots_of(ctx: Ctx, poll: Poll) -> list[dict[str, Any]]:
    """Every anonymous ballot of ``poll`` (one set query), in no meaningful order."""
    boxes = ctx.session.exec(ctx.select(BallotBox).where(BallotBox.poll_id == poll.id)).all()
    ballots = [dict(ballot) for box in boxes for ballot in box.ballots]
    secrets.SystemRandom().shuffle(ballots)
    return ballots


def log_answered(ctx: Ctx, poll: Poll, person: PollParticipant, **extra: Any) -> None:
    """A key user's answer as a touchpoint: at once, or all at closing for an anonymous poll."""
    ctx.log(
        "poll.answered",
        project_id=poll.project_id,
        key_user_id=person.key_user_id,
        touchpoint=True,
        poll_id=poll.id,
        **extra,
    )


def submit_answers(
    *,
    ctx: Ctx,
    poll_id: int | str,
    user_id: str,
    raw: dict[str, Any],
) -> AnswerOutcome:
    """Store a person's answers (named polls: or change them, until close)."""
    poll, person = answerable(ctx, poll_id, user_id)
    answers = clean_answers(questions_of(ctx, poll), raw)
    edited = person.answered
    if poll.anonymous:
        if person.answered:
            raise PermissionDenied(Msg("poll.errors.anonymous_final"))
        _cast(ctx, poll, answers)
        # No log entry here: its time would link the person to this write (logged at close).
    else:
        now = ctx.now()
        response = _response(ctx, poll, user_id)
        if response is None:
            response = PollResponse(
                team_id=ctx.team_id,
                poll_id=poll.id or 0,
                user_id=user_id,
                key_user_id=person.key_user_id,
                answers=answers,
                submitted_at=now,
                updated_at=now,
            )
        else:
            response.answers = answers
            response.updated_at = now
        ctx.session.add(response)
        log_answered(ctx, poll, person, edited=edited)
    person.answered = True
    ctx.session.add(person)
    ctx.session.flush()
    return AnswerOutcome(poll=poll, edited=edited)


def answer_from_button(
    *,
    ctx: Ctx,
    poll_id: int | str,
    user_id: str,
    question_id: int,
    value: int | None,
) -> tuple[AnswerOutcome | None, dict[str, Any]]:
    """A rating clicked in the DM. Stored at once when that completes a named answer; otherwise
    (other required questions open, or an anonymous poll, whose answer is final and so is
    confirmed in the modal) returns (None, answers so far) so the modal opens prefilled.
    Nothing partial is ever stored; a value that is no number (a forged button) is refused."""
    if value is None:
        raise NotFound(Msg("security.request_unreadable"))
    poll, person = answerable(ctx, poll_id, user_id)
    if poll.anonymous and person.answered:
        raise PermissionDenied(Msg("poll.errors.anonymous_final"))
    merged = current_answers(ctx, poll, user_id)
    merged[str(question_id)] = value
    raw = {f"q{qid}": answer for qid, answer in merged.items()}
    try:
        clean_answers(questions_of(ctx, poll), raw)
    except ValidationError as error:
        if all(isinstance(m, Msg) and m.key == "errors.required" for m in error.errors.values()):
            clean_answers(questions_of(ctx, poll), raw, partial=True)  # the value itself is fine
            return None, merged
        raise
    if poll.anonymous:
        return None, merged
    return submit_answers(ctx=ctx, poll_id=poll.id or 0, user_id=user_id, raw=raw), merged


# --------------------------------------------------------------------------------- reminders


def remind_key(poll: Poll, user_id: str) -> str:
    return f"poll:{poll.id}:remind:{user_id}"


def remind_due(*, ctx: Ctx, messages: PollMessages) -> list[str]:
    """One reminder, in the invitation's thread, to everyone who has not answered at the poll's
    reminder time. ``reminded_at`` and the unique keys make a rerun send nothing."""
    now = ctx.now()
    polls = ctx.session.exec(
        ctx.select(Poll).where(
            Poll.status == PollStatus.OPEN,
            col(Poll.remind_hours).is_not(None),
            col(Poll.reminded_at).is_(None),
            Poll.closes_at > now,
        )
    ).all()
    keys: list[str] = []
    for poll in polls:
        if poll.closes_at - timedelta(hours=poll.remind_hours or 0) > now:
            continue
        project = project_of(ctx, poll)
        reminder = messages.reminder(project.locale, poll, project=project)
        waiting = [person for person in participants_of(ctx, poll) if not person.answered]
        # The invitations' messages in one query, the reminders in one insert.
        sent = delivery.rows_by_key(
            ctx.session, [invite_key(poll, person.user_id) for person in waiting]
        )
        outgoing = []
        for person in waiting:
            invitation = sent.get(invite_key(poll, person.user_id))
            if invitation is None or not invitation.ts:
                continue  # never reached them (failed or not sent yet): nothing to thread under
            outgoing.append(
                delivery.Outgoing(
                    key=remind_key(poll, person.user_id),
                    payload={"channel": invitation.channel, "thread_ts": invitation.ts, **reminder},
                    subject=subject(poll),
                    expires_at=poll.closes_at,
                )
            )
        queued = delivery.enqueue_many(ctx.session, team_id=ctx.team_id, messages=outgoing, now=now)
        keys += queued
        poll.reminded_at = now
        ctx.session.add(poll)
        ctx.log("poll.reminded", project_id=project.id, poll_id=poll.id, reminded=len(queued))
    return keys


# -------------------------------------------------------------------------------- recurrence


def create_next_rounds(*, ctx: Ctx) -> list[Poll]:
    """The next round of every closed recurring poll that has none yet (same questions, same
    audience rule, the same time of day one period later)."""
    closed = ctx.session.exec(
        ctx.select(Poll).where(
            Poll.status == PollStatus.CLOSED,
            Poll.recurrence != Recurrence.NONE,
            col(Poll.next_round_id).is_(None),
        )
    ).all()
    created = []
    for poll in closed:
        opens_at = add_period(poll.opens_at, poll.recurrence)
        duration = poll.closes_at - poll.opens_at
        while opens_at + duration <= (poll.closed_at or poll.closes_at):
            opens_at = add_period(opens_at, poll.recurrence)
        following = Poll(
            team_id=ctx.team_id,
            project_id=poll.project_id,
            series_id=poll.series_id,
            round_number=poll.round_number + 1,
            title=poll.title,
            intro=poll.intro,
            template=poll.template,
            audience_kind=poll.audience_kind,
            audience_values=list(poll.audience_values),
            anonymous=poll.anonymous,
            recurrence=poll.recurrence,
            remind_hours=poll.remind_hours,
            opens_at=opens_at,
            closes_at=opens_at + duration,
            created_by=poll.created_by,
            created_at=ctx.now(),
        )
        ctx.session.add(following)
        ctx.session.flush()
        for question in questions_of(ctx, poll):
            ctx.session.add(
                PollQuestion(
                    team_id=ctx.team_id,
                    poll_id=following.id or 0,
                    position=question.position,
                    kind=question.kind,
                    text=question.text,
                    options=list(question.options),
                    required=question.required,
                )
            )
        poll.next_round_id = following.id
        ctx.session.add(poll)
        ctx.log(
            "poll.round_scheduled",
            project_id=poll.project_id,
            poll_id=following.id,
            round=following.round_number,
        )
        created.append(following)
    ctx.session.flush()
    return created


def rounds_of(ctx: Ctx, poll: Poll) -> list[Poll]:
    """Every round of ``poll``'s series up to and including it, oldest first."""
    return list(
        ctx.session.exec(
            ctx.select(Poll)
            .where(Poll.series_id == poll.series_id, Poll.round_number <= poll.round_number)
            .order_by(col(Poll.round_number))
        ).all()
    )
