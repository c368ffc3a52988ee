"""Approvals, shared by every domain that asks people to decide something (change requests and
sign-offs): ask deciders about one version of a subject, record every answer (append-only),
compute the outcome by the subject's rule, find who waits and whom to remind.

A domain plugs in with ``register(Subject(...))``: its ``kind`` (``change``), how to tell whether
a version still awaits a decision (``current``), how its approvals are summed up for a DM, a
reminder or a Home tab (``summaries``, set-based), and what follows an answer (``answered``: the
domain's own messages and status). The mechanism never knows what a change request is.

The rules:
- ``all``: every decider must approve; one rejection rejects.
- ``any``: one approval approves; rejected only when every decider rejected.
- ``named``: the person named (``Approval.named_id``, one of the deciders) decides: their approval
  approves, their rejection rejects; the others' answers are kept and shown.
A rule is a function of the deciders and their decisions (``RULES``).

A decider answers ``approve``, ``remarks`` (an approval with remarks: kept as ``approve`` with
``ApprovalAnswer.remarks``, so it counts as an approval under every rule), ``reject`` (with a
reason) or ``question`` (with the question); which of them a subject offers is its summary's
``answers``. A subject may refuse an approval for now (``Subject.blocked``: say why in words),
only while the approval is pending, only about its version, and decides once: a second decision
is refused and logged (questions may be asked any time while the approval is pending). Answers
are never updated: a new version of the subject is a new approval (``ask`` supersedes the
pending one), whose deciders answer again. Deciders without a decision are reminded once per
local day after ``REMIND_AFTER_WORKING_DAYS`` working days.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, literal
from sqlmodel import col, select

from bot import delivery
from bot.delivery import RECORD_LIFETIME, Outgoing, enqueue_many
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.services import fields
from bot.services.context import Ctx
from storage.models import (
    Approval,
    ApprovalAnswer,
    ApprovalDecider,
    ApprovalStatus,
    Project,
)

ANSWERS = ("approve", "reject", "question")
# What a decider may pick: the answers, and an approval with remarks (kept as ``approve``).
CHOICES = (*ANSWERS, "remarks")
DECISIONS = ("approve", "reject")
COMMENT_LIMIT = fields.limit(ApprovalAnswer.comment)
REMIND_AFTER_WORKING_DAYS = 2
MAX_DECIDERS = 20


# ------------------------------------------------------------------------------- the rules


Rule = Callable[[Approval, list[str], dict[str, str]], str | None]


def _all_approve(approval: Approval, deciders: list[str], decided: dict[str, str]) -> str | None:
    if any(answer == "reject" for answer in decided.values()):
        return ApprovalStatus.REJECTED
    if deciders and all(decided.get(person) == "approve" for person in deciders):
        return ApprovalStatus.APPROVED
    return None


def _any_approves(approval: Approval, deciders: list[str], decided: dict[str, str]) -> str | None:
    if any(answer == "approve" for answer in decided.values()):
        return ApprovalStatus.APPROVED
    if deciders and all(decided.get(person) == "reject" for person in deciders):
        return ApprovalStatus.REJECTED
    return None


def _named_person(approval: Approval, deciders: list[str], decided: dict[str, str]) -> str | None:
    said = decided.get(approval.named_id or "")
    if said == "approve":
        return ApprovalStatus.APPROVED
    if said == "reject":
        return ApprovalStatus.REJECTED
    return None


RULES: dict[str, Rule] = {"all": _all_approve, "any": _any_approves, "named": _named_person}


def outcome(approval: Approval, deciders: list[str], decided: dict[str, str]) -> str | None:
    """What the decisions so far (each decider's approve or reject) make of the approval under its
    rule: ``approved``, ``rejected`` or None while undecided."""
    return RULES[approval.rule](approval, deciders, decided)


# ------------------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class Summary:
    """How a domain names one approval's subject to people: its project, reference (``#3``),
    title, and a few mrkdwn lines of detail in the project's language."""

    project: Project
    ref: str
    title: str
    details: list[str] = field(default_factory=list)
    # The answers offered to a decider, in the order of their buttons.
    answers: tuple[str, ...] = ANSWERS
    # When the decision is due, if the subject says (a sign-off's due date).
    due: date | None = None


@dataclass
class Answered:
    """What one answer did: the approval, the answer kept, the outcome it brought (None while
    undecided) and the messages queued (their outbox keys)."""

    approval: Approval
    answer: ApprovalAnswer
    outcome: str | None
    keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Subject:
    """A domain's part: ``current(ctx, subject_id)`` is the version awaiting a decision (None when
    none does: the subject moved on or is gone), ``summaries(ctx, approvals)`` sums them up by
    approval id (one query per call, whatever the number), ``answered(ctx, answered)`` does what
    follows an answer and returns the outbox keys it queued."""

    kind: str
    current: Callable[[Ctx, int], int | None]
    summaries: Callable[[Ctx, list[Approval]], dict[int, Summary]]
    answered: Callable[[Ctx, Answered], list[str]]
    # Why the subject refuses an approval for now (a ``Msg``), None when it does not.
    blocked: Callable[[Ctx, Approval], Msg | None] | None = None
    # The answers its deciders may give (``CHOICES``); its summaries' ``answers`` show them.
    answers: tuple[str, ...] = ANSWERS


SUBJECTS: dict[str, Subject] = {}
# The domains whose subjects are approved here: each registers itself when imported, and a
# scheduler that only runs the reminders imports them through ``subject``.
SUBJECT_MODULES = ("bot.jobs.changes", "bot.jobs.signoffs")


def register(subject: Subject) -> Subject:
    SUBJECTS[subject.kind] = subject
    return subject


def subject(kind: str) -> Subject:
    if kind not in SUBJECTS:
        for module in SUBJECT_MODULES:
            importlib.import_module(module)
    return SUBJECTS[kind]


def subject_of(approval: Approval) -> Subject:
    return subject(approval.subject_kind)


# ---------------------------------------------------------------------------------- asking


def ask_key(approval: Approval, user_id: str) -> str:
    return f"approval-ask:{approval.id}:{user_id}"


def ask(
    *,
    ctx: Ctx,
    subject_kind: str,
    subject_id: int,
    version: int,
    project: Project,
    deciders: Iterable[str],
    rule: str,
    render: Callable[[Approval, Summary], dict[str, Any]],
    named_id: str | None = None,
) -> tuple[Approval, list[str]]:
    """Put one version of a subject to its deciders under ``rule``: a pending approval of an
    earlier version is superseded (its answers stay, about that version), each decider gets a DM
    (``render`` builds it from the domain's summary). Returns the approval and the DMs' keys."""
    people = list(dict.fromkeys(deciders))
    if not people:
        raise ValidationError({"deciders": Msg("approvals.errors.no_deciders")})
    if len(people) > MAX_DECIDERS:
        raise ValidationError({"deciders": Msg("approvals.errors.too_many", limit=MAX_DECIDERS)})
    if rule not in RULES:
        raise ValidationError({"rule": Msg("errors.choice", choices=", ".join(RULES))})
    if rule == "named" and named_id not in people:
        raise ValidationError({"named": Msg("approvals.errors.named_not_decider")})
    now = ctx.now()
    for earlier in ctx.session.exec(
        ctx.select(Approval).where(
            Approval.subject_kind == subject_kind,
            Approval.subject_id == subject_id,
            Approval.status == ApprovalStatus.PENDING,
        )
    ).all():
        earlier.status, earlier.decided_at = ApprovalStatus.SUPERSEDED, now
        ctx.session.add(earlier)
    approval = Approval(
        team_id=ctx.team_id,
        project_id=project.id or 0,
        subject_kind=subject_kind,
        subject_id=subject_id,
        version=version,
        rule=rule,
        named_id=named_id,
        asked_by=ctx.actor_id or "",
        asked_at=now,
    )
    ctx.session.add(approval)
    ctx.session.flush()
    for person in people:
        ctx.session.add(
            ApprovalDecider(team_id=ctx.team_id, approval_id=approval.id or 0, user_id=person)
        )
    ctx.session.flush()
    ctx.log(
        "approval.asked",
        project_id=project.id,
        subject=f"{subject_kind}:{subject_id}",
        version=version,
        deciders=len(people),
        rule=rule,
    )
    summary = subject(subject_kind).summaries(ctx, [approval])[approval.id or 0]
    payload = render(approval, summary)
    messages = [
        Outgoing(
            key=ask_key(approval, person),
            payload={"channel": person, **payload},
            subject=f"approval:{approval.id}",
            expires_at=now + RECORD_LIFETIME,
        )
        for person in people
    ]
    return approval, enqueue_many(ctx.session, team_id=ctx.team_id, messages=messages, now=now)


def retell_asks(
    ctx: Ctx,
    approval: Approval,
    people: Iterable[str],
    render: Callable[[str, dict[str, Any]], dict[str, Any]],
    tag: str,
) -> list[str]:
    """Rewrite the asking DMs of ``people``, each as ``render(person, what was sent)`` makes it:
    the channel and ts are those the outbox recorded when it sent that person's DM, never a
    request's.
    A DM not sent yet is withdrawn once the approval is closed (else it goes out as it is). The
    keys (``<ask key>:<tag>``) name what caused the rewrite, so it is queued once."""
    keys = {person: ask_key(approval, person) for person in dict.fromkeys(people)}
    sent = delivery.rows_by_key(ctx.session, list(keys.values()))
    closed = approval.status != ApprovalStatus.PENDING
    now = ctx.now()
    messages = []
    for person, key in keys.items():
        row = sent.get(key)
        if row is None or row.team_id != ctx.team_id or row.payload.get("channel") != person:
            continue
        if not row.channel or not row.ts:
            if closed:
                delivery.cancel(ctx.session, key=row.key, reason="decision closed before delivery")
            continue
        messages.append(
            Outgoing(
                key=f"{row.key}:{tag}",
                method="chat.update",
                payload={**render(person, row.payload), "channel": row.channel, "ts": row.ts},
                subject=row.subject,
                expires_at=now + RECORD_LIFETIME,
            )
        )
    return enqueue_many(ctx.session, team_id=ctx.team_id, messages=messages, now=now)


# -------------------------------------------------------------------------------- standing


@dataclass
class Standing:
    """Where an approval stands: who was asked, each one's decision, who has not decided."""

    approval: Approval
    deciders: list[str]
    decided: dict[str, str]
    answers: list[ApprovalAnswer]

    @property
    def waiting(self) -> list[str]:
        return [person for person in self.deciders if person not in self.decided]


def deciders_of(ctx: Ctx, approval: Approval) -> list[str]:
    return [
        str(person)
        for person in ctx.session.exec(
            select(ApprovalDecider.user_id)
            .where(
                ApprovalDecider.team_id == ctx.team_id,
                ApprovalDecider.approval_id == approval.id,
            )
            .order_by(col(ApprovalDecider.id))
        ).all()
    ]


def decisions(answers: Iterable[ApprovalAnswer]) -> dict[str, str]:
    """Each decider's decision (the first approve or reject: a decision is given once)."""
    decided: dict[str, str] = {}
    for row in answers:
        if row.answer in DECISIONS and row.user_id not in decided:
            decided[row.user_id] = row.answer
    return decided


def standing(ctx: Ctx, approval: Approval) -> Standing:
    answers = list(
        ctx.session.exec(
            ctx.select(ApprovalAnswer)
            .where(ApprovalAnswer.approval_id == approval.id)
            .order_by(col(ApprovalAnswer.id))
        ).all()
    )
    return Standing(approval, deciders_of(ctx, approval), decisions(answers), answers)


def latest(ctx: Ctx, subject_kind: str, subject_id: int) -> Approval | None:
    """The subject's latest approval (of its latest version asked), if any."""
    return ctx.session.exec(
        ctx.select(Approval)
        .where(Approval.subject_kind == subject_kind, Approval.subject_id == subject_id)
        .order_by(col(Approval.id).desc())
    ).first()


def history(ctx: Ctx, subject_kind: str, subject_id: int) -> list[tuple[Approval, ApprovalAnswer]]:
    """Every answer ever given about the subject, every version, oldest first (one query)."""
    rows = ctx.session.exec(
        select(Approval, ApprovalAnswer)
        .join(ApprovalAnswer, col(ApprovalAnswer.approval_id) == col(Approval.id))
        .where(
            Approval.team_id == ctx.team_id,
            Approval.subject_kind == subject_kind,
            Approval.subject_id == subject_id,
        )
        .order_by(col(ApprovalAnswer.id))
    ).all()
    return [(approval, answer) for approval, answer in rows]


def was_asked(ctx: Ctx, subject_kind: str, subject_id: int | None, user_id: str) -> bool:
    """Whether ``user_id`` was ever asked to decide about the subject (any of its versions)."""
    return (
        ctx.session.exec(
            ctx.select(ApprovalDecider)
            .join(Approval, col(Approval.id) == col(ApprovalDecider.approval_id))
            .where(
                Approval.subject_kind == subject_kind,
                Approval.subject_id == subject_id,
                ApprovalDecider.user_id == user_id,
            )
        ).first()
        is not None
    )


def is_decider(ctx: Ctx, approval: Approval, user_id: str | None) -> bool:
    if not user_id:
        return False
    return (
        ctx.session.exec(
            ctx.select(ApprovalDecider).where(
                ApprovalDecider.approval_id == approval.id, ApprovalDecider.user_id == user_id
            )
        ).first()
        is not None
    )


# ------------------------------------------------------------------------------- answering


def get_approval(ctx: Ctx, raw_id: Any) -> Approval:
    """An approval the acting person was asked to decide, by its id from a button or a form (an
    id that may be forged: anyone else's approval is not found)."""
    ident = fields.record_id(raw_id)
    approval = ctx.get(Approval, ident) if ident else None
    if approval is None or not is_decider(ctx, approval, ctx.actor_id):
        raise NotFound(Msg("approvals.errors.not_asked"))
    return approval


def require_open(ctx: Ctx, approval: Approval, version: int | None = None) -> None:
    """The approval still takes answers: pending, about the version shown (when one is named),
    and that version still the one awaiting a decision."""
    if approval.status != ApprovalStatus.PENDING:
        raise ValidationError({"comment": Msg("approvals.errors.closed")})
    current = subject_of(approval).current(ctx, approval.subject_id)
    if current != approval.version or (version is not None and version != approval.version):
        raise ValidationError({"comment": Msg("approvals.errors.stale")})


def offered(approval: Approval, answer: str) -> bool:
    """Whether the approval's subject offers ``answer`` (a forged button or form may name
    another)."""
    return answer in subject_of(approval).answers


def refusal(ctx: Ctx, approval: Approval, answer: str) -> Msg | None:
    """Why the subject refuses ``answer`` now (an approval while it is blocked), else None."""
    check = subject_of(approval).blocked
    if answer in ("approve", "remarks") and check is not None:
        return check(ctx, approval)
    return None


def earlier_decision(ctx: Ctx, approval: Approval, answer: str) -> str | None:
    """The acting person's decision already given, when ``answer`` would be a second one: the
    attempt is logged (the caller commits it and refuses in words)."""
    answer = "approve" if answer == "remarks" else answer
    if answer not in DECISIONS:
        return None
    given = standing(ctx, approval).decided.get(ctx.actor_id or "")
    if given is not None:
        ctx.log(
            "approval.second_decision_refused",
            project_id=approval.project_id,
            approval_id=approval.id,
            answer=answer,
            given=given,
        )
    return given


def answer(
    *,
    ctx: Ctx,
    approval: Approval,
    answer: str,
    comment: str = "",
    version: int | None = None,
) -> Answered:
    """Record the acting person's answer and what it makes of the approval; the subject's
    ``answered`` does what follows (its messages, its status). ``remarks`` is an approval with
    remarks (kept as ``approve``, its comment required)."""
    if not is_decider(ctx, approval, ctx.actor_id):
        raise PermissionDenied(Msg("approvals.errors.not_asked"))
    if answer not in CHOICES or not offered(approval, answer):
        raise ValidationError({"comment": Msg("approvals.errors.stale")})
    require_open(ctx, approval, version)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_LIMIT:
        raise ValidationError({"comment": Msg("errors.too_long", limit=COMMENT_LIMIT)})
    if answer in ("reject", "question", "remarks") and not comment:
        raise ValidationError({"comment": Msg(f"approvals.errors.{answer}_needs_comment")})
    refused = refusal(ctx, approval, answer)
    if refused is not None:
        raise ValidationError({"comment": refused})
    remarks = answer == "remarks"
    answer = "approve" if remarks else answer
    now_standing = standing(ctx, approval)
    person = ctx.actor_id or ""
    if answer in DECISIONS and person in now_standing.decided:
        # Told on the button (``earlier_decision`` records the attempt); a form opened before
        # the first decision is refused here.
        given = now_standing.decided[person]
        raise ValidationError({"comment": Msg("approvals.errors.decided", given=given)})
    row = ApprovalAnswer(
        team_id=ctx.team_id,
        approval_id=approval.id or 0,
        user_id=person,
        answer=answer,
        comment=comment or None,
        remarks=remarks,
        version=approval.version,
        at=ctx.now(),
    )
    ctx.session.add(row)
    ctx.session.flush()
    decided = dict(now_standing.decided)
    if answer in DECISIONS:
        decided[person] = answer
    result = outcome(approval, now_standing.deciders, decided)
    if result is not None:
        approval.status, approval.decided_at = result, ctx.now()
        ctx.session.add(approval)
    ctx.log(
        "approval.answered",
        project_id=approval.project_id,
        approval_id=approval.id,
        answer=answer,
        outcome=result,
    )
    answered = Answered(approval, row, result)
    answered.keys = subject_of(approval).answered(ctx, answered)
    return answered


def subjects_of(ctx: Ctx, asked: list[Approval], model: Any) -> dict[int, tuple[Any, Project]]:
    """The subject (a row of the table ``model``, of the team) and project of each approval, by
    approval id (one query)."""
    ids = {approval.subject_id for approval in asked}
    rows = ctx.session.exec(
        select(model, Project)
        .join(Project, col(Project.id) == col(model.project_id))
        .where(model.team_id == ctx.team_id, col(model.id).in_(ids or {0}))
    ).all()
    found = {subject.id: (subject, project) for subject, project in rows}
    return {approval.id or 0: found[approval.subject_id] for approval in asked}


# ------------------------------------------------------------------------- who is waiting


def no_decision() -> Any:
    """The condition that the decider of an ``ApprovalDecider`` row has not decided (for a
    domain's own joins)."""
    return ~exists().where(
        ApprovalAnswer.approval_id == ApprovalDecider.approval_id,
        ApprovalAnswer.user_id == ApprovalDecider.user_id,
        col(ApprovalAnswer.answer).in_(DECISIONS),
    )


def undecided() -> Any:
    """A select of (approval, decider) for every pending approval and each decider with no
    decision yet: a domain adds its joins, conditions and LIMIT (one statement)."""
    return (
        select(Approval, ApprovalDecider.user_id)
        .join(
            ApprovalDecider,
            and_(
                col(ApprovalDecider.approval_id) == col(Approval.id),
                col(ApprovalDecider.team_id) == col(Approval.team_id),
            ),
        )
        .where(Approval.status == ApprovalStatus.PENDING, no_decision())
    )


def waiting_select(
    kind: str,
    subject: Any,
    *,
    since: Any,
    where: Any,
    limit: int,
    outer: bool = False,
) -> Any:
    """What waits of one kind of subject, for a Home tab, as a select of plain columns (``kind``,
    id, number, title, project id, the decider, who created it, since when, the decider's row,
    the approval, whose answer form the Home tab's Decide opens):
    the subject table ``subject`` (with ``id``, ``team_id``, ``number``, ``title``,
    ``project_id`` and ``created_by``) joined to its pending approval and each decider without a
    decision, filtered by ``where`` (the team, the subject's status, whose turn it is), ordered
    by ``since`` (oldest first), at most ``limit``. ``outer`` keeps the subjects without a
    pending approval (their decider None) for ``where`` to pick."""
    return (
        select(
            literal(kind).label("kind"),
            col(subject.id).label("id"),
            col(subject.number).label("number"),
            col(subject.title).label("title"),
            col(subject.project_id).label("project_id"),
            col(ApprovalDecider.user_id).label("person"),
            col(subject.created_by).label("by"),
            since.label("since"),
            col(ApprovalDecider.id).label("row"),
            col(Approval.id).label("approval"),
        )
        .join(
            Approval,
            and_(
                col(Approval.subject_id) == col(subject.id),
                col(Approval.team_id) == col(subject.team_id),
                Approval.subject_kind == kind,
                Approval.status == ApprovalStatus.PENDING,
            ),
            isouter=outer,
        )
        .join(
            ApprovalDecider,
            and_(col(ApprovalDecider.approval_id) == col(Approval.id), no_decision()),
            isouter=outer,
        )
        .where(where)
        .order_by(since, col(subject.id), col(ApprovalDecider.id))
        .limit(limit)
    )


# ------------------------------------------------------------------------------ reminders


def working_days_after(moment: datetime, days: int, timezone: str) -> datetime:
    """The instant ``days`` working days (Monday to Friday, in ``timezone``) after ``moment``:
    asked on Thursday 10:00, two working days is Monday 10:00."""
    zone = ZoneInfo(timezone)
    local = moment.astimezone(zone)
    while local.weekday() >= 5:  # asked at the weekend: counted from Monday's start
        local = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    left = days
    while left:
        local += timedelta(days=1)
        if local.weekday() < 5:
            left -= 1
    return local


def reminders_due(ctx: Ctx) -> dict[str, list[tuple[Approval, Project]]]:
    """The deciders with no decision on a pending approval asked ``REMIND_AFTER_WORKING_DAYS``
    working days ago or more (in its project's timezone), each with their approvals, oldest
    first (one query)."""
    now = ctx.now()
    # Working days are never fewer calendar days: the query bounds, Python decides.
    horizon = now - timedelta(days=REMIND_AFTER_WORKING_DAYS)
    rows = ctx.session.exec(
        undecided()
        .add_columns(Project)
        .join(Project, col(Project.id) == col(Approval.project_id))
        .where(Approval.team_id == ctx.team_id, col(Approval.asked_at) <= horizon)
        .order_by(col(Approval.asked_at), col(Approval.id))
    ).all()
    due: dict[str, list[tuple[Approval, Project]]] = {}
    for approval, person, project in rows:
        since = working_days_after(approval.asked_at, REMIND_AFTER_WORKING_DAYS, project.timezone)
        if since <= now:
            due.setdefault(str(person), []).append((approval, project))
    return due


def summaries(ctx: Ctx, approvals: list[Approval]) -> dict[int, Summary]:
    """The domains' summaries of approvals of any kinds (one call per kind)."""
    found: dict[int, Summary] = {}
    by_kind: dict[str, list[Approval]] = {}
    for approval in approvals:
        by_kind.setdefault(approval.subject_kind, []).append(approval)
    for kind, theirs in by_kind.items():
        found.update(subject(kind).summaries(ctx, theirs))
    return found


__all__ = [
    "ANSWERS",
    "CHOICES",
    "RULES",
    "Answered",
    "Standing",
    "Subject",
    "Summary",
    "answer",
    "ask",
    "earlier_decision",
    "get_approval",
    "history",
    "latest",
    "no_decision",
    "outcome",
    "register",
    "refusal",
    "reminders_due",
    "retell_asks",
    "standing",
    "summaries",
    "undecided",
    "working_days_after",
]
