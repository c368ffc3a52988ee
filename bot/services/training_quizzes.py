"""Training quizzes: each module's question bank (typed or imported from CSV), the weekly quizzes
drawn from it (sent, taken, reminded, closed with results, repeated), and their results.

Who may do what: PMs and the project team (trainers) write question banks, send quizzes and see
results; a key user acts only on their own quiz. The curriculum and the practical assessments are
in ``bot/services/trainings.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from sqlalchemy import insert
from sqlmodel import col, select

from bot import delivery
from bot.csvutil import read_csv
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import numbering
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.fields import limit, record_id, whole_number
from bot.services.keyusers import active_key_users
from bot.services.trainings import (
    ImportReport,
    _check_header,
    _split,
    clean_text,
    csv_module,
    csv_rows,
    form_module,
    get_module,
    import_row,
    log_scored,
    modules_of,
    require_trainer,
)
from storage.models import (
    KeyUser,
    Project,
    QuizAttempt,
    QuizKind,
    QuizQuestion,
    QuizRound,
    TrainingModule,
)

QUIZ_SIZE = 10  # questions drawn per round (a modal's checkboxes and blocks stay in limits)
MAX_OPTIONS = 10
QUESTION_LIMIT = limit(QuizQuestion.text)
REMIND_CHOICES = (0, 2, 24)  # hours before the deadline; 0: no reminder
QUESTION_COLUMNS = ("module", "kind", "question", "options", "correct")


class TrainingMessages(Protocol):
    """The Block Kit the trainings jobs send, built by ``bot.views.trainings``."""

    def quiz_invite(
        self, project: Project, quiz: QuizRound, module: TrainingModule, count: int
    ) -> dict[str, Any]: ...

    def quiz_reminder(
        self, project: Project, quiz: QuizRound, module: TrainingModule
    ) -> dict[str, Any]: ...

    def quiz_results(self, results: QuizResults) -> dict[str, Any]: ...

    def quiz_stopped(self, project: Project, number: int) -> dict[str, Any]: ...


# --------------------------------------------------------------------------- question bank


@dataclass
class QuestionInput:
    module_id: int | str | None = None
    kind: str = QuizKind.SINGLE
    text: str = ""
    options: list[str] = field(default_factory=list)
    correct: list[int] = field(default_factory=list)


def parse_marked_options(raw: str) -> tuple[list[str], list[int]]:
    """Options one per line; a line starting with ``*`` is a right answer."""
    options: list[str] = []
    correct: list[int] = []
    for line in (raw or "").splitlines():
        text = line.strip()
        if not text:
            continue
        if text.startswith("*"):
            correct.append(len(options))
            text = text[1:].strip()
        options.append(text)
    return options, correct


def questions_of(ctx: Ctx, module_id: int) -> list[QuizQuestion]:
    return list(
        ctx.session.exec(
            ctx.select(QuizQuestion)
            .where(QuizQuestion.module_id == module_id)
            .order_by(col(QuizQuestion.id))
        ).all()
    )


def add_question(*, ctx: Ctx, project: Project, data: QuestionInput) -> QuizQuestion:
    require_trainer(ctx, project)
    errors: dict[str, Msg] = {}
    module = form_module(ctx, data.module_id, project, errors)
    if data.kind not in tuple(QuizKind):
        errors["kind"] = Msg("errors.choice", choices=", ".join(QuizKind))
    text = clean_text(errors, "text", data.text, QUESTION_LIMIT, required=True)
    options = [o.strip() for o in data.options]
    correct = sorted(set(data.correct))
    if not 2 <= len(options) <= MAX_OPTIONS:
        errors["options"] = Msg("poll.errors.options_count", limit=MAX_OPTIONS)
    elif any(len(o) > 75 for o in options):
        errors["options"] = Msg("errors.too_long", limit=75)
    elif len({o.lower() for o in options}) != len(options):
        errors["options"] = Msg("poll.errors.options_unique")
    elif not correct or any(not 0 <= i < len(options) for i in correct):
        errors["options"] = Msg("training.errors.no_right_answer")
    elif data.kind == QuizKind.SINGLE and len(correct) != 1:
        errors["options"] = Msg("training.errors.single_one_right")
    if errors or module is None:
        raise ValidationError(errors)
    question = QuizQuestion(
        team_id=ctx.team_id,
        module_id=module.id or 0,
        kind=data.kind,
        text=text,
        options=options,
        correct=correct,
        created_by=ctx.actor_id or "",
        created_at=ctx.now(),
    )
    ctx.session.add(question)
    ctx.session.flush()
    ctx.log("training.question_added", project_id=project.id, module_id=module.id)
    return question


def import_questions_csv(*, ctx: Ctx, project: Project, text: str) -> ImportReport:
    """Columns module (name), kind (single|multiple), question, options (``|``-separated),
    correct (1-based numbers of the right options, ``|``-separated)."""
    require_trainer(ctx, project)
    header, rows = read_csv(text)
    _check_header(header, QUESTION_COLUMNS, QUESTION_COLUMNS)
    report = ImportReport()
    by_name = {m.name.lower(): m for m in modules_of(ctx, project.id or 0)}
    for line, row in csv_rows(report, rows):
        module = csv_module(report, line, row, by_name)
        if module is None:
            continue
        try:
            correct = [int(part) - 1 for part in _split(row.get("correct", ""))]
        except ValueError:
            report.errors.append((line, "correct", Msg("training.errors.no_right_answer")))
            continue
        data = QuestionInput(
            module_id=module.id,
            kind=(row.get("kind") or QuizKind.SINGLE).strip().lower(),
            text=row.get("question", ""),
            options=_split(row.get("options", "")),
            correct=correct,
        )
        add = partial(add_question, ctx=ctx, project=project, data=data)
        if import_row(ctx, report, line, add) is not None:
            report.added.append(data.text.strip())
    return report


# ------------------------------------------------------------------------------------ quizzes


def trainees(ctx: Ctx, project: Project, module: TrainingModule) -> list[KeyUser]:
    """The module's trainees: the project's active key users in its audience roles."""
    people = active_key_users(ctx, project)
    if module.audience_roles:
        people = [k for k in people if k.role in module.audience_roles]
    return people


def quiz_invite_key(quiz: QuizRound, user_id: str) -> str:
    return f"training:quiz:{quiz.id}:invite:{user_id}"


def quiz_invitation(ctx: Ctx, quiz: QuizRound, user_id: str) -> delivery.SentMessage | None:
    """The quiz's invitation DM the app sent this person, if it was delivered: where their score
    is answered (in its thread), never a place a request names."""
    return delivery.sent_message(
        ctx.session, team_id=ctx.team_id, to=user_id, key=quiz_invite_key(quiz, user_id)
    )


def quiz_subject(quiz: QuizRound) -> str:
    return f"training:quiz:{quiz.id}"


def start_quiz(
    *,
    ctx: Ctx,
    project: Project,
    module_id: int | str | None,
    deadline: datetime | None,
    remind_hours: int | None,
    messages: TrainingMessages,
    repeat_weekly: bool = False,
) -> tuple[QuizRound, list[str]]:
    """A quiz round: up to ``QUIZ_SIZE`` questions drawn from the module's bank, one DM to each
    trainee (outbox, one key per person), a deadline and one reminder before it."""
    require_trainer(ctx, project)
    errors: dict[str, Msg] = {}
    now = ctx.now()
    module = form_module(ctx, module_id, project, errors)
    if deadline is None:
        errors["deadline"] = Msg("errors.required")
    elif deadline <= now + timedelta(hours=1):
        errors["deadline"] = Msg("training.errors.deadline_soon")
    if remind_hours not in (None, *REMIND_CHOICES):
        errors["remind_hours"] = Msg("errors.choice", choices=", ".join(map(str, REMIND_CHOICES)))
    bank: list[QuizQuestion] = []
    people: list[KeyUser] = []
    if module is not None:
        bank = questions_of(ctx, module.id or 0)
        people = trainees(ctx, project, module)
        if not bank:
            errors["module"] = Msg("training.errors.empty_bank", module=module.name)
        elif not people:
            errors["module"] = Msg("training.errors.no_trainees", module=module.name)
    if errors or module is None or deadline is None:
        raise ValidationError(errors)
    drawn = random.SystemRandom().sample(bank, min(QUIZ_SIZE, len(bank)))
    quiz = QuizRound(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        module_id=module.id or 0,
        question_ids=sorted(q.id or 0 for q in drawn),
        pass_mark=module.pass_mark,
        opens_at=now,
        deadline=deadline,
        remind_hours=remind_hours or None,
        repeat_weekly=repeat_weekly,
        created_by=ctx.actor_id or "",
        created_at=now,
    )
    ctx.session.add(quiz)
    ctx.session.flush()
    invite = messages.quiz_invite(project, quiz, module, len(drawn))
    # The attempts in one insert, the invitations in another, whatever the number of people.
    if people:
        ctx.session.execute(
            insert(QuizAttempt),
            [
                {
                    "team_id": ctx.team_id,
                    "round_id": quiz.id,
                    "module_id": module.id,
                    "user_id": person.user_id,
                    "key_user_id": person.id,
                    "answers": {},
                    "missed": [],
                }
                for person in people
            ],
        )
    outgoing = [
        delivery.Outgoing(
            key=quiz_invite_key(quiz, person.user_id),
            payload={"channel": person.user_id, **invite},
            subject=quiz_subject(quiz),
            expires_at=quiz.deadline,  # no use once the quiz is closed
        )
        for person in people
    ]
    keys = delivery.enqueue_many(ctx.session, team_id=ctx.team_id, messages=outgoing, now=now)
    ctx.log(
        "training.quiz_sent",
        project_id=project.id,
        quiz_id=quiz.id,
        module_id=module.id,
        invited=len(people),
    )
    return quiz, keys


def quiz_numbers(ctx: Ctx, quizzes: list[QuizRound]) -> dict[int, int]:
    """Each quiz's number within its project (1, 2, … in the order they were sent): what people
    read and type, never the database id. One query."""
    return numbering.numbers(ctx, QuizRound, quizzes, ("project_id",))


def quiz_number(ctx: Ctx, quiz: QuizRound) -> int:
    return quiz_numbers(ctx, [quiz])[quiz.id or 0]


def quiz_by_number(ctx: Ctx, project: Project, number: Any) -> QuizRound:
    """The project's quiz with this number (``quiz_numbers``); "#3" and "3" alike."""
    return numbering.by_number(
        ctx, QuizRound, number, "training.errors.quiz_not_found", project_id=project.id
    )


def get_quiz(ctx: Ctx, quiz_id: int | str | None) -> QuizRound:
    ident = record_id(quiz_id)
    quiz = ctx.get(QuizRound, ident) if ident else None
    if quiz is None:
        raise NotFound(Msg("training.errors.no_such_quiz"))
    return quiz


def quiz_questions(ctx: Ctx, quiz: QuizRound) -> list[QuizQuestion]:
    rows = ctx.session.exec(
        ctx.select(QuizQuestion).where(col(QuizQuestion.id).in_(quiz.question_ids or [0]))
    ).all()
    by_id = {q.id: q for q in rows}
    return [by_id[i] for i in quiz.question_ids if i in by_id]


def attempt_of(ctx: Ctx, quiz: QuizRound, user_id: str) -> QuizAttempt | None:
    return ctx.session.exec(
        ctx.select(QuizAttempt).where(
            QuizAttempt.round_id == quiz.id, QuizAttempt.user_id == user_id
        )
    ).first()


def quiz_for_taker(
    ctx: Ctx, quiz_id: int | str | None, user_id: str
) -> tuple[QuizRound, QuizAttempt]:
    """The quiz and the person's attempt, if they may take it now (else a clear refusal)."""
    quiz = get_quiz(ctx, quiz_id)
    attempt = attempt_of(ctx, quiz, user_id)
    if attempt is None:
        raise PermissionDenied(Msg("training.errors.quiz_not_yours"))
    if attempt.submitted_at is not None:
        raise PermissionDenied(Msg("training.errors.quiz_taken", score=attempt.score))
    if quiz.closed_at is not None or ctx.now() >= quiz.deadline:
        raise PermissionDenied(Msg("training.errors.quiz_closed"))
    return quiz, attempt


def _chosen(raw: Any) -> set[int]:
    if raw in (None, "", []):
        return set()
    values = raw if isinstance(raw, list) else [raw]
    return {n for n in map(whole_number, values) if n is not None}  # a forged option: none


def submit_quiz(
    *, ctx: Ctx, quiz_id: int | str | None, user_id: str, raw: dict[str, Any]
) -> tuple[QuizRound, QuizAttempt, list[QuizQuestion]]:
    """Score the person's answers at once: the share of questions answered exactly right,
    passed at or above the quiz's pass mark, and which questions were missed. One attempt."""
    quiz, attempt = quiz_for_taker(ctx, quiz_id, user_id)
    questions = quiz_questions(ctx, quiz)
    errors: dict[str, Msg] = {}
    answers: dict[str, list[int]] = {}
    for question in questions:
        block = f"q{question.id}"
        try:
            chosen = _chosen(raw.get(block))
        except (TypeError, ValueError):
            errors[block] = Msg("errors.required")
            continue
        if not chosen or any(not 0 <= i < len(question.options) for i in chosen):
            errors[block] = Msg("errors.required")
            continue
        answers[str(question.id)] = sorted(chosen)
    if errors:
        raise ValidationError(errors)
    missed = [q.id or 0 for q in questions if answers[str(q.id)] != sorted(q.correct)]
    total = len(questions)
    score = round(100 * (total - len(missed)) / total) if total else 0
    attempt.answers = answers
    attempt.missed = missed
    attempt.score = score
    attempt.passed = score >= quiz.pass_mark
    attempt.submitted_at = ctx.now()
    log_scored(ctx, attempt, "training.quiz_taken", quiz.project_id, quiz_id=quiz.id)
    return quiz, attempt, questions


def quizzes_to_take(
    ctx: Ctx, user_id: str, *, limit: int
) -> list[tuple[QuizRound, TrainingModule]]:
    """The first ``limit`` open quiz rounds the person has not taken yet, soonest deadline first
    (their Home tab)."""
    rows = ctx.session.exec(
        select(QuizRound, TrainingModule)
        .join(QuizAttempt, col(QuizAttempt.round_id) == col(QuizRound.id))
        .join(TrainingModule, col(TrainingModule.id) == col(QuizRound.module_id))
        .where(
            QuizRound.team_id == ctx.team_id,
            QuizAttempt.user_id == user_id,
            col(QuizAttempt.submitted_at).is_(None),
            col(QuizRound.closed_at).is_(None),
            QuizRound.deadline > ctx.now(),
        )
        .order_by(col(QuizRound.deadline), col(QuizRound.id))
        .limit(limit)
    ).all()
    return [(quiz, module) for quiz, module in rows]


@dataclass
class QuizResults:
    quiz: QuizRound
    module: TrainingModule
    project: Project
    attempts: list[QuizAttempt]
    questions: list[QuizQuestion]
    number: int  # the quiz's number in its project

    @property
    def taken(self) -> list[QuizAttempt]:
        return [a for a in self.attempts if a.submitted_at is not None]

    @property
    def average(self) -> int | None:
        scores = [a.score or 0 for a in self.taken]
        return round(sum(scores) / len(scores)) if scores else None

    @property
    def passed(self) -> int:
        return sum(1 for a in self.taken if a.passed)

    def missed_by(self, question_id: int) -> int:
        return sum(1 for a in self.taken if question_id in a.missed)


def quiz_results(ctx: Ctx, quiz_id: int | str | None) -> QuizResults:
    """Results for the trainer and PMs only: other key users see just their own score."""
    quiz = get_quiz(ctx, quiz_id)
    project = project_service.get_project_by_id(ctx, quiz.project_id)
    require_trainer(ctx, project)
    return _results(ctx, quiz, project)


def _results(ctx: Ctx, quiz: QuizRound, project: Project) -> QuizResults:
    attempts = list(
        ctx.session.exec(
            ctx.select(QuizAttempt)
            .where(QuizAttempt.round_id == quiz.id)
            .order_by(col(QuizAttempt.user_id))
        ).all()
    )
    module = get_module(ctx, quiz.module_id)
    return QuizResults(
        quiz, module, project, attempts, quiz_questions(ctx, quiz), quiz_number(ctx, quiz)
    )


def remind_quizzes(*, ctx: Ctx, messages: TrainingMessages) -> list[str]:
    """One reminder, in the quiz DM's thread, to those who have not taken it yet."""
    now = ctx.now()
    due = ctx.session.exec(
        ctx.select(QuizRound).where(
            col(QuizRound.closed_at).is_(None),
            col(QuizRound.reminded_at).is_(None),
            col(QuizRound.remind_hours).is_not(None),
            QuizRound.deadline > now,
        )
    ).all()
    keys: list[str] = []
    for quiz in due:
        if quiz.deadline - timedelta(hours=quiz.remind_hours or 0) > now:
            continue
        project = project_service.get_project_by_id(ctx, quiz.project_id)
        module = get_module(ctx, quiz.module_id)
        reminder = messages.quiz_reminder(project, quiz, module)
        pending = ctx.session.exec(
            ctx.select(QuizAttempt).where(
                QuizAttempt.round_id == quiz.id, col(QuizAttempt.submitted_at).is_(None)
            )
        ).all()
        # The invitations' messages in one query, the reminders in one insert.
        sent = delivery.rows_by_key(
            ctx.session, [quiz_invite_key(quiz, attempt.user_id) for attempt in pending]
        )
        outgoing = []
        for attempt in pending:
            invitation = sent.get(quiz_invite_key(quiz, attempt.user_id))
            if invitation is None or not invitation.ts:
                continue
            outgoing.append(
                delivery.Outgoing(
                    key=f"training:quiz:{quiz.id}:remind:{attempt.user_id}",
                    payload={"channel": invitation.channel, "thread_ts": invitation.ts, **reminder},
                    subject=quiz_subject(quiz),
                    expires_at=quiz.deadline,
                )
            )
        keys += delivery.enqueue_many(ctx.session, team_id=ctx.team_id, messages=outgoing, now=now)
        quiz.reminded_at = now
        ctx.session.add(quiz)
    return keys


def _tell_sender(
    ctx: Ctx, quiz: QuizRound, what: str, message: dict[str, Any], now: datetime
) -> str:
    """A DM to whoever sent the quiz (kept as a record); returns its outbox key."""
    key = f"training:quiz:{quiz.id}:{what}"
    delivery.enqueue(
        ctx.session,
        team_id=ctx.team_id,
        key=key,
        payload={"channel": quiz.created_by, **message},
        now=now,
        subject=quiz_subject(quiz),
        expires_at=now + delivery.RECORD_LIFETIME,
    )
    return key


def close_quizzes(*, ctx: Ctx, messages: TrainingMessages) -> list[str]:
    """Close rounds past their deadline; their results go to whoever sent them."""
    now = ctx.now()
    due = ctx.session.exec(
        ctx.select(QuizRound).where(col(QuizRound.closed_at).is_(None), QuizRound.deadline <= now)
    ).all()
    keys: list[str] = []
    for quiz in due:
        quiz.closed_at = now
        ctx.session.add(quiz)
        project = project_service.get_project_by_id(ctx, quiz.project_id)
        results = _results(ctx, quiz, project)
        keys.append(_tell_sender(ctx, quiz, "results", messages.quiz_results(results), now))
        ctx.log("training.quiz_closed", project_id=project.id, quiz_id=quiz.id)
    return keys


def repeat_quizzes(*, ctx: Ctx, messages: TrainingMessages) -> list[str]:
    """The weekly quiz: a week after a repeating round opened, the next round (a fresh draw from
    the bank, the deadline a week later) goes to the module's trainees, sent as whoever sent the
    first. If it cannot go (bank emptied, no trainees left, sender no longer on the team), the
    repetition stops and the sender is told."""
    now = ctx.now()
    due = ctx.session.exec(
        ctx.select(QuizRound).where(
            col(QuizRound.repeat_weekly).is_(True),
            col(QuizRound.next_round_id).is_(None),
            QuizRound.opens_at <= now - timedelta(days=7),
        )
    ).all()
    keys: list[str] = []
    for quiz in due:
        project = project_service.get_project_by_id(ctx, quiz.project_id)
        deadline = quiz.deadline + timedelta(days=7)
        while deadline <= now + timedelta(hours=2):
            deadline += timedelta(days=7)
        try:
            with ctx.session.begin_nested():
                following, sent = start_quiz(
                    ctx=replace(ctx, actor_id=quiz.created_by, _admin=None),
                    project=project,
                    module_id=quiz.module_id,
                    deadline=deadline,
                    remind_hours=quiz.remind_hours,
                    messages=messages,
                    repeat_weekly=True,
                )
        except (ValidationError, PermissionDenied, NotFound):
            quiz.repeat_weekly = False
            ctx.session.add(quiz)
            stopped = messages.quiz_stopped(project, quiz_number(ctx, quiz))
            keys.append(_tell_sender(ctx, quiz, "repeat_stopped", stopped, now))
            continue
        quiz.next_round_id = following.id
        ctx.session.add(quiz)
        keys += sent
    ctx.session.flush()
    return keys
