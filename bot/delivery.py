"""The one path by which jobs and fan-outs send messages: a persistent outbox and its sender.

Services call ``enqueue`` inside the unit of work that causes a message, so the message exists if
and only if the change committed. ``Sender.deliver_due`` then sends due rows:

* A row is claimed (PENDING -> SENDING, by a conditional update, so two senders never both take it)
  before it is sent and marked SENT with Slack's ``channel`` and ``ts`` right after.
* Every row has an urgency, set when it is queued (``urgency_of``, in one place): urgent (the
  answer to a person's click or command, a reminder of what starts within the hour, an
  escalation), normal, or bulk (poll invitations, digests, nudges, daily lists). A claim takes due
  rows urgent first, then normal, then bulk, and within each round-robin over workspaces (each
  workspace's rows ranked by urgency, due time and id), in one statement on either database; so one
  workspace's fan-out never holds back another's messages, nor its own urgent ones.
* Sending is paced *below* Slack's limits by ``Pacer``: a token bucket per (workspace, method) at
  the method's tier, and one per channel for posting (about 1 message per second per channel, short
  bursts allowed). A row whose bucket has no token yet is not waited for: it goes back to the
  outbox, due when the bucket allows, and the sender goes on with other rows; it sleeps only when
  nothing else is sendable (a second at most, so rows falling due meanwhile are taken promptly).
  A 429 pauses that method's bucket for ``Retry-After`` seconds and puts the row back until then.
* Every row carries a deadline, ``expires_at``, set by what queues it from what the message is
  about (a reminder: its event's start; an invitation: its poll's close; an answer to a click: a
  few minutes). Transient failures (5xx, connection errors, timeouts) are rescheduled with
  exponential backoff (capped at ``MAX_BACKOFF``) and jitter, and retried until the deadline. A row
  not sent by then is marked EXPIRED with the reason instead of being sent stale; an operator may
  put it back (``liaison outbox retry``).
* Permanent errors (user deactivated, channel gone, cannot DM) are recorded on the row and never
  retried; ``failures()`` lists them so features can show the PM who could not be reached.
* A row claimed by a sender that crashed is taken again after ``CLAIM_TIMEOUT``. Each claim
  carries a fresh token: right before a send the sender renews its claim (a conditional update on
  the token), and it records the outcome only where the row still holds its token. A sender that
  was slow, paused or cut off therefore never sends a row another sender has taken over.
* The send budget is shared by every process (``SharedPacer``: the buckets live in the database),
  so web workers and the scheduler together stay under Slack's limits.

Never a second send. A retry after an *uncertain* failure (a timeout or 5xx, where Slack may have
posted the message before the connection broke) or of a stale claim (the sender died between
Slack's answer and marking the row sent) could post twice. So every ``chat.postMessage`` carries
the row's idempotency key in its message ``metadata``, and before such a retry the transport looks
at the conversation's recent history (or the thread's replies) for a message carrying that key; if
one is there, the row is marked sent with that message's ``ts`` instead of posting again. The
lookup pages through the whole conversation (or thread), not only its latest messages.
``chat.update`` is idempotent by nature. A file (``files.upload_v2``, a poll's chart) carries no
metadata, so before its resend the transport lists the files shared in the conversation and looks
for one with the row's file name and title (unique per row, e.g.
``poll-ERP-2026-12-30-round-2.png``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, literal, tuple_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.shards import Shard, team_filter
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, RateBucket, Urgency
from storage.types import UTCDateTime

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_BACKOFF = 300.0  # seconds between two attempts after a transient failure, at most
# How long a message stays worth sending when nothing it is about sets its deadline.
ANSWER_LIFETIME = timedelta(minutes=5)  # the answer to a click: later it answers nothing
NOTICE_LIFETIME = timedelta(days=1)  # a nudge or a day's list: tomorrow brings a fresh one
RECORD_LIFETIME = timedelta(days=7)  # a record (an issue's thread, results): late beats never
# The longest a sender sleeps while rows it put back wait for their budget: rows that fall due
# meanwhile (a reminder queued ahead of its time) are taken within it.
IDLE_STEP = 1.0  # seconds
# The longest a sender works on one claim before putting the rest back and claiming afresh, so
# that an urgent row falling due is not stuck behind a batch of slow sends.
CLAIM_SLICE = timedelta(seconds=1)
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "account_inactive",
        "invalid_auth",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "message_not_found",
        "cant_update_message",
        "not_authed",
        "team_access_not_granted",
    }
)
SUPPORTED_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "files.upload_v2")
# Methods whose resend first looks in Slack for what an uncertain attempt may have left there.
VERIFIED_METHODS = ("chat.postMessage", "files.upload_v2")

# (sustained calls per second, burst) per method and workspace. Slack's tiers: Tier 3 = 50+/min,
# Tier 4 = 100+/min; chat.postMessage has its own limit (1/s per channel, a workspace-wide ceiling
# of several hundred per minute). files.upload_v2 is three calls (two of them Tier 4).
DEFAULT_RATES: dict[str, tuple[float, float]] = {
    "chat.postMessage": (5.0, 20.0),
    "chat.update": (50 / 60, 20.0),
    "chat.postEphemeral": (100 / 60, 20.0),
    "files.upload_v2": (30 / 60, 5.0),
    "conversations.history": (50 / 60, 10.0),
    "conversations.replies": (50 / 60, 10.0),
    "conversations.open": (50 / 60, 20.0),
    "files.list": (50 / 60, 10.0),
}
PER_CHANNEL_RATE: tuple[float, float] = (1.0, 4.0)  # chat.postMessage per channel


def scaled_rates(scale: float) -> dict[str, tuple[float, float]]:
    """The default rates times ``scale`` (the setting ``rate_scale``), bursts unchanged."""
    return {method: (rate * scale, burst) for method, (rate, burst) in DEFAULT_RATES.items()}


MIN_WAIT = 0.001  # seconds; a shorter wait could be lost in the clock's float rounding


@dataclass(frozen=True)
class Budget:
    """What ``try_acquire`` found: ``wait`` 0 when a token was taken, else the seconds until one is
    free in the bucket ``key`` (the method's, or ``#<channel>`` for the per-channel limit)."""

    wait: float
    key: str

    @property
    def method_wide(self) -> bool:
        """The method's own bucket is spent (not only one channel's): every row of it waits."""
        return not self.key.startswith("#")


class _Bucket:
    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now
        self.paused_until = 0.0

    def wait_needed(self, now: float) -> float:
        """Seconds until a token is free (0: take it now)."""
        if now < self.paused_until:
            return max(self.paused_until - now, MIN_WAIT)
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1 - 1e-9:  # float rounding must not leave a token forever "almost" there
            return 0.0
        return max((1 - self.tokens) / self.rate, MIN_WAIT)

    def take(self) -> None:
        self.tokens -= 1


class Pacer:
    """Token buckets per (workspace, method) and per channel, shared by every sender of a runtime
    (one per process).

    ``monotonic`` and ``sleep`` are injectable so tests and benchmarks can pace without waiting in
    real time. Thread-safe: concurrent senders wait for the same buckets.
    """

    def __init__(
        self,
        *,
        rates: dict[str, tuple[float, float]] | None = None,
        per_channel: tuple[float, float] | None = PER_CHANNEL_RATE,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rates = {**DEFAULT_RATES, **(rates or {})}
        self.per_channel = per_channel
        self.monotonic = monotonic
        self.sleep = sleep
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds slept, for benchmarks

    def _bucket(self, key: tuple[str, str], rate: tuple[float, float], now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate[0], rate[1], now)
        return bucket

    def try_acquire(self, team_id: str, method: str, channel: str | None = None) -> Budget:
        """Take a token for ``method`` in ``team_id`` (and ``channel``) if there is one now;
        otherwise take nothing and say how long until there is."""
        with self._lock:
            now = self.monotonic()
            buckets = []
            if method in self.rates:
                buckets.append((method, self._bucket((team_id, method), self.rates[method], now)))
            if channel and method == "chat.postMessage" and self.per_channel:
                key = "#" + channel
                buckets.append((key, self._bucket((team_id, key), self.per_channel, now)))
            waits = [(bucket.wait_needed(now), key) for key, bucket in buckets]
            wait, key = max(waits, default=(0.0, method))
            if wait <= 0:
                for _key, bucket in buckets:
                    bucket.take()
                return Budget(0.0, method)
            return Budget(wait, key)

    def acquire(self, team_id: str, method: str, channel: str | None = None) -> None:
        """Block until ``method`` may be called in ``team_id`` (and posted into ``channel``)."""
        while True:
            wait = self.try_acquire(team_id, method, channel).wait
            if wait <= 0:
                return
            self.waited += wait
            self.sleep(wait)

    def pause(self, team_id: str, method: str, seconds: float) -> None:
        """Slack answered 429 for ``method``: nobody calls it in this workspace for ``seconds``."""
        with self._lock:
            now = self.monotonic()
            rate = self.rates.get(method, (1.0, 1.0))
            bucket = self._bucket((team_id, method), rate, now)
            bucket.paused_until = max(bucket.paused_until, now + seconds)
            bucket.tokens = min(bucket.tokens, 1.0)


class SharedPacer(Pacer):
    """The same buckets, kept in the database so that every process draws on one budget.

    Each ``acquire`` locks the buckets it needs (in key order, so two processes never deadlock),
    refills them from the wall clock, takes a token or learns how long to wait, and commits."""

    def __init__(
        self,
        database: Database,
        *,
        rates: dict[str, tuple[float, float]] | None = None,
        per_channel: tuple[float, float] | None = PER_CHANNEL_RATE,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(rates=rates, per_channel=per_channel, monotonic=wall, sleep=sleep)
        self.database = database

    def _wanted(
        self, team_id: str, method: str, channel: str | None
    ) -> dict[str, tuple[float, float]]:
        wanted: dict[str, tuple[float, float]] = {}
        if method in self.rates:
            wanted[method] = self.rates[method]
        if channel and method == "chat.postMessage" and self.per_channel:
            wanted["#" + channel] = self.per_channel
        return wanted

    def _locked(self, session: Session, team_id: str, keys: list[str]) -> dict[str, RateBucket]:
        query = (
            select(RateBucket)
            .where(tuple_(RateBucket.team_id, RateBucket.key).in_([(team_id, k) for k in keys]))
            .order_by(col(RateBucket.key))
            .with_for_update()
        )
        return {row.key: row for row in session.exec(query).all()}

    def _step(self, team_id: str, wanted: dict[str, tuple[float, float]], take: bool) -> Budget:
        with self.database.session() as session:
            now = self.monotonic()
            rows = self._locked(session, team_id, sorted(wanted))
            budget = Budget(0.0, "")
            buckets: list[tuple[RateBucket, _Bucket]] = []
            for key, (rate, burst) in sorted(wanted.items()):
                row = rows.get(key)
                if row is None:
                    row = RateBucket(team_id=team_id, key=key, tokens=burst, updated_at=now)
                    session.add(row)
                bucket = _Bucket(rate, burst, row.updated_at)
                bucket.tokens, bucket.paused_until = row.tokens, row.paused_until
                wait = bucket.wait_needed(now)
                if wait > budget.wait:
                    budget = Budget(wait, key)
                buckets.append((row, bucket))
            for row, bucket in buckets:
                if budget.wait <= 0 and take:
                    bucket.take()
                row.tokens, row.updated_at = bucket.tokens, bucket.updated
                session.add(row)
            return budget

    def try_acquire(self, team_id: str, method: str, channel: str | None = None) -> Budget:
        wanted = self._wanted(team_id, method, channel)
        if not wanted:
            return Budget(0.0, method)
        while True:
            try:
                return self._step(team_id, wanted, take=True)
            except (IntegrityError, OperationalError) as error:
                # Another process created the same bucket at the same moment: read it again.
                log.debug("send budget contention: %s", type(error).__name__)

    def pause(self, team_id: str, method: str, seconds: float) -> None:
        rate = self.rates.get(method, (1.0, 1.0))
        while True:
            try:
                with self.database.session() as session:
                    now = self.monotonic()
                    row = self._locked(session, team_id, [method]).get(method)
                    if row is None:
                        row = RateBucket(
                            team_id=team_id, key=method, tokens=rate[1], updated_at=now
                        )
                    row.paused_until = max(row.paused_until, now + seconds)
                    row.tokens = min(row.tokens, 1.0)
                    session.add(row)
                return
            except IntegrityError:
                continue


def kind_of(key: str) -> str:
    """What a message is, read from its key: ``poll:4:invite:U1`` is a ``poll`` message."""
    return key.split(":", 1)[0][:40]


# Set in ``Session.info`` by the unit of work of a person's request (a click, a command, a form):
# what it queues answers them, so it is urgent unless it is a fan-out.
ANSWERING = "liaison.answering"
# A reminder of something starting within this long of when it is due is urgent.
SOON = timedelta(hours=1)
# What a message is (its kind, and a word of its key after the kind; None: any) -> its urgency.
# The first rule that matches wins; a key no rule matches is normal (urgent when it answers).
URGENCY_RULES: tuple[tuple[str, str | None, Urgency], ...] = (
    ("escalation", None, Urgency.URGENT),  # an issue past its response or resolution target
    ("escalations", None, Urgency.URGENT),  # the PM's list of them
    ("poll", "invite", Urgency.BULK),
    ("poll", "remind", Urgency.BULK),
    ("poll", "closed", Urgency.BULK),  # the results, to everyone asked
    ("training", "invite", Urgency.BULK),  # a quiz, to a session's attendees
    ("training", "remind", Urgency.BULK),
    ("digest", None, Urgency.BULK),
    ("engagement", None, Urgency.BULK),  # nudges
    ("reminder", None, Urgency.BULK),  # the daily lists of what is due
    ("risk-review", None, Urgency.BULK),
    ("approval-reminder", None, Urgency.BULK),
)
# Reminders of something that starts at the message's deadline: urgent when it starts SOON.
TIME_BOUND: tuple[tuple[str, str], ...] = (("calendar", "remind"),)


def urgency_of(
    key: str, *, due: datetime, expires_at: datetime, answering: bool = False
) -> Urgency:
    """How urgent the message ``key`` is, due at ``due`` and stale at ``expires_at``: the one
    place that decides it (``enqueue`` takes an explicit ``urgency`` to override)."""
    kind, *words = key.split(":")
    for rule_kind, word, urgency in URGENCY_RULES:
        if kind == rule_kind and (word is None or word in words):
            return urgency
    for rule_kind, word in TIME_BOUND:
        if kind == rule_kind and word in words:
            return Urgency.URGENT if expires_at - due <= SOON else Urgency.NORMAL
    return Urgency.URGENT if answering else Urgency.NORMAL


def answering(session: Session) -> None:
    """Mark ``session`` as the unit of work of a person's request (see ``ANSWERING``)."""
    session.info[ANSWERING] = True


def enqueue(
    session: Session,
    *,
    team_id: str,
    key: str,
    method: str = "chat.postMessage",
    payload: dict[str, Any],
    now: datetime,
    subject: str | None = None,
    not_before: datetime | None = None,
    expires_at: datetime,
    urgency: Urgency | None = None,
) -> OutboxMessage:
    """Add a message to the outbox unless one with ``key`` is already there (then return that).

    ``expires_at``: the last moment the message is worth sending; past it the row expires.
    ``urgency``: by default what ``urgency_of`` says."""
    if method not in SUPPORTED_METHODS:
        raise ValueError(f"the outbox cannot send {method}")
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()
    if existing is not None:
        return existing
    due = not_before or now
    if urgency is None:
        urgency = urgency_of(
            key, due=due, expires_at=expires_at, answering=bool(session.info.get(ANSWERING))
        )
    row = OutboxMessage(
        team_id=team_id,
        key=key,
        kind=kind_of(key),
        method=method,
        payload=payload,
        urgency=urgency,
        created_at=now,
        next_attempt_at=due,
        expires_at=expires_at,
        subject=subject,
    )
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class Outgoing:
    """One message for ``enqueue_many``."""

    key: str
    payload: dict[str, Any]
    method: str = "chat.postMessage"
    subject: str | None = None
    _: KW_ONLY
    expires_at: datetime
    not_before: datetime | None = None  # queued ahead: not sent before this moment
    urgency: Urgency | None = None  # by default what ``urgency_of`` says


def enqueue_many(
    session: Session,
    *,
    team_id: str,
    messages: list[Outgoing],
    now: datetime,
    replace_cancelled: bool = False,
) -> list[str]:
    """``enqueue`` for many messages at once: one query for the keys already there and one
    multi-row insert per thousand messages. Returns the keys it added.

    ``replace_cancelled``: a row with the same key that was withdrawn (cancelled) is replaced by
    the new message, as when a reminder withdrawn for a declined invitation is wanted again."""
    added: list[str] = []
    answers = bool(session.info.get(ANSWERING))
    for start in range(0, len(messages), 1000):
        batch = messages[start : start + 1000]
        for message in batch:
            if message.method not in SUPPORTED_METHODS:
                raise ValueError(f"the outbox cannot send {message.method}")
        if replace_cancelled:
            session.execute(
                delete(OutboxMessage).where(
                    col(OutboxMessage.key).in_([message.key for message in batch]),
                    col(OutboxMessage.status) == OutboxStatus.CANCELLED,
                )
            )
        existing = set(
            session.exec(
                select(OutboxMessage.key).where(
                    col(OutboxMessage.key).in_([message.key for message in batch])
                )
            ).all()
        )
        rows = []
        for message in batch:
            if message.key in existing:
                continue
            existing.add(message.key)
            due = message.not_before or now
            urgency = message.urgency
            if urgency is None:
                urgency = urgency_of(
                    message.key, due=due, expires_at=message.expires_at, answering=answers
                )
            rows.append(
                {
                    "team_id": team_id,
                    "key": message.key,
                    "kind": kind_of(message.key),
                    "method": message.method,
                    "payload": message.payload,
                    "urgency": int(urgency),
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": due,
                    "expires_at": message.expires_at,
                    "subject": message.subject,
                }
            )
            added.append(message.key)
        if rows:
            session.connection().execute(OutboxMessage.__table__.insert(), rows)  # type: ignore[attr-defined]
    return added


@dataclass
class SendOutcome:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    expired: int = 0
    errors: dict[str, str] = field(default_factory=dict)


class TransientError(Exception):
    """Slack was unreachable or answered 5xx / 429: try again after ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# A transport sends one outbox row and returns Slack's answer (channel, ts); it raises
# TransientError or PermanentError. The Slack one lives in bot.slack_io; tests may pass their own.
# A transport may also have ``find_sent(row) -> answer | None``: the message Slack already holds
# for this row (looked up by the idempotency key in its metadata), used before any resend.
Transport = Callable[[OutboxMessage], dict[str, Any]]


EXPIRED_UNSENT = "deadline passed before it was sent"
EXPIRED_AFTER = "deadline passed; last error: "


def expiry_reason(last_error: str | None) -> str:
    return EXPIRED_UNSENT if last_error is None else (EXPIRED_AFTER + last_error)[:500]


class Expired(Exception):
    """The row's deadline passed before it could be sent: it is stale, so it is not sent."""

    def __init__(self, last_error: str | None) -> None:
        super().__init__(last_error)
        self.last_error = last_error


class ClaimLost(Exception):
    """Another sender took this row over (our claim went stale): do not send it."""


def _update_if(session: Session, row: OutboxMessage, *conditions: Any, **values: Any) -> bool:
    """Update ``row`` only while ``conditions`` still hold (one conditional UPDATE, which no
    other sender can interleave with); whether it did."""
    statement = update(OutboxMessage).where(col(OutboxMessage.id) == row.id, *conditions)
    result = session.execute(statement.values(**values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class Sender:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        transport_for: Callable[[str], Transport],
        *,
        batch_size: int = 50,
        pacer: Pacer,
        claim_timeout: timedelta = CLAIM_TIMEOUT,
        shard: Shard | None = None,
    ) -> None:
        self.claim_timeout = claim_timeout
        # A sharded scheduler's sender claims and expires the rows of its shard's workspaces only.
        self.shard = shard
        self.database = database
        self.clock = clock
        self.transport_for = transport_for
        # Small batches: a claim must be sent well within CLAIM_TIMEOUT even at Tier 3 pace.
        self.batch_size = batch_size
        self.pacer = pacer
        self._transports: dict[str, Transport] = {}
        # While a run lasts: when it started, how long it slept for its budget, which
        # (workspace, method) budgets are spent until when (pacer time), and when the rows it put
        # back fall due again.
        self._started: datetime | None = None
        self._slept = 0.0
        self._spent: dict[tuple[str, str], float] = {}
        self._later: list[datetime] = []

    def _now(self) -> datetime:
        """The clock's time, or as much later as this run has slept waiting for its budget when
        the clock did not move with the sleep (a pacer on a virtual clock of its own)."""
        now = self.clock.now()
        if self._started is None:
            return now
        return max(now, self._started + timedelta(seconds=self._slept))

    def _due(self, now: datetime) -> Any:
        return (
            (col(OutboxMessage.status) == OutboxStatus.PENDING)
            & (col(OutboxMessage.next_attempt_at) <= now)
        ) | (
            (col(OutboxMessage.status) == OutboxStatus.SENDING)
            & (col(OutboxMessage.claimed_at) <= now - self.claim_timeout)
        )

    def _claim(
        self,
        team_id: str | None,
        keys: list[str] | None,
        *,
        skip: Collection[tuple[str, str]] = (),
    ) -> list[OutboxMessage]:
        """Claim up to a batch of due rows in one statement and return them in sending order:
        urgent before normal before bulk, and within each, round-robin over workspaces (each
        workspace's rows ranked by urgency, due time and id). ``skip``: (workspace, method) pairs
        whose budget is spent. The update repeats the due condition, so a row another sender
        claimed meanwhile is not taken (on PostgreSQL, rows locked by another claim are skipped)."""
        now = self._now()
        token = uuid.uuid4().hex
        due = self._due(now)
        conditions = [due]
        if team_id is not None:
            conditions.append(col(OutboxMessage.team_id) == team_id)
        if keys is not None:
            conditions.append(col(OutboxMessage.key).in_(keys))
        if self.shard is not None:
            conditions.append(team_filter(OutboxMessage.team_id, self.shard))
        if skip:
            pairs = tuple_(col(OutboxMessage.team_id), col(OutboxMessage.method))
            conditions.append(~pairs.in_(sorted(skip)))
        rank = (
            func.row_number()
            .over(
                partition_by=col(OutboxMessage.team_id),
                order_by=(
                    col(OutboxMessage.urgency),
                    col(OutboxMessage.next_attempt_at),
                    col(OutboxMessage.id),
                ),
            )
            .label("rank")
        )
        ranked = (
            select(col(OutboxMessage.id).label("id"), col(OutboxMessage.urgency), rank)
            .where(*conditions)
            .subquery()
        )
        chosen = (
            select(ranked.c.id)
            .order_by(ranked.c.urgency, ranked.c.rank, ranked.c.id)
            .limit(self.batch_size)
        )
        if self.database.is_postgresql:
            chosen = (
                select(OutboxMessage.id)
                .where(col(OutboxMessage.id).in_(chosen.scalar_subquery()))
                .with_for_update(skip_locked=True)
            )
        with self.database.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(chosen.scalar_subquery()), due)
                .values(
                    status=OutboxStatus.SENDING,
                    claimed_at=now,
                    claim_token=token,
                    attempts=col(OutboxMessage.attempts) + 1,
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()
            rows = list(
                session.exec(select(OutboxMessage).where(OutboxMessage.claim_token == token)).all()
            )
        return in_sending_order(rows)

    def deliver_due(
        self,
        *,
        team_id: str | None = None,
        keys: list[str] | None = None,
    ) -> SendOutcome:
        """Send every due row (or only ``keys``) and say what happened. Safe to run concurrently.

        A row whose budget is spent goes back until the budget allows, and the run goes on with
        the next; it sleeps only when nothing is sendable, and ends when nothing due is left
        (rows that failed are due again later, for a later run)."""
        outcome = SendOutcome()
        if keys is not None and not keys:
            return outcome
        self._transports = {}
        self._started, self._slept, self._spent, self._later = self.clock.now(), 0.0, {}, []
        try:
            outcome.expired += self._expire_stale(team_id, keys)
            while True:
                moment = self.pacer.monotonic()
                self._spent = {
                    pair: at for pair, at in self._spent.items() if at > moment + MIN_WAIT
                }
                rows = self._claim(team_id, keys, skip=self._spent)
                if rows:
                    self._work(rows, outcome)
                    continue
                now = self._now()
                self._later = [at for at in self._later if at > now]
                if not self._later:
                    break
                # Nothing sendable now, but rows this run put back wait for their budget: until
                # the first is due again, or better until a spent budget has refilled (so that a
                # claim sends more than one row), and a second at most (so that rows falling due
                # meanwhile, a reminder queued ahead, are taken promptly).
                first = (min(self._later) - now).total_seconds()
                refill = min((self._refill(pair) for pair in self._spent), default=0.0)
                self._sleep(max(min(IDLE_STEP, max(first, refill)), MIN_WAIT))
        finally:
            self._started = None
        return outcome

    def _refill(self, pair: tuple[str, str]) -> float:
        """Seconds in which the budget of (workspace, method) refills its burst."""
        rate, burst = self.pacer.rates.get(pair[1], (1.0, 1.0))
        return burst / rate if rate > 0 else IDLE_STEP

    def _sleep(self, seconds: float) -> None:
        self.pacer.waited += seconds
        self._slept += seconds
        self.pacer.sleep(seconds)

    def _work(self, rows: list[OutboxMessage], outcome: SendOutcome) -> None:
        """Send the claimed ``rows`` in order. A row whose budget is spent goes back (due when
        the budget allows) instead of being waited for; after ``CLAIM_SLICE`` the rest goes back
        as it was, and the run claims afresh (an urgent row may have fallen due)."""
        back: dict[int, datetime | None] = {}
        slice_ends = self.clock.now() + CLAIM_SLICE
        for index, row in enumerate(rows):
            if self.clock.now() >= slice_ends:
                back.update({later.id or 0: None for later in rows[index:]})
                break
            pair = (row.team_id, row.method)
            moment = self.pacer.monotonic()
            if self._spent.get(pair, 0.0) > moment + MIN_WAIT:
                wait = self._spent[pair] - moment
            else:
                wait = self._send_one(row, outcome, paced=True)
            if wait > 0:
                back[row.id or 0] = self._now() + timedelta(seconds=wait)
        self._put_back(rows, back)

    def _put_back(self, rows: list[OutboxMessage], back: dict[int, datetime | None]) -> None:
        """Release the claim on rows not sent (one statement): pending again, due at the moment
        given (None: as they were), their attempt not counted (Slack was not called)."""
        if not back:
            return
        moments = {row_id: at for row_id, at in back.items() if at is not None}
        self._later.extend(moments.values())
        tokens = {row.claim_token for row in rows if row.id in back}
        due = col(OutboxMessage.next_attempt_at)
        with self.database.session() as session:
            session.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id).in_(sorted(back)),
                    col(OutboxMessage.claim_token).in_(sorted(t for t in tokens if t)),
                    col(OutboxMessage.status) == OutboxStatus.SENDING,
                )
                .values(
                    status=OutboxStatus.PENDING,
                    claim_token=None,
                    claimed_at=None,
                    attempts=col(OutboxMessage.attempts) - 1,
                    next_attempt_at=case(
                        {row_id: literal(at, UTCDateTime()) for row_id, at in moments.items()},
                        value=col(OutboxMessage.id),
                        else_=due,
                    )
                    if moments
                    else due,
                )
                .execution_options(synchronize_session=False)
            )

    def _expire_stale(self, team_id: str | None, keys: list[str] | None) -> int:
        """Waiting rows past their deadline become EXPIRED, with the last error as their reason."""
        now = self._now()
        reason = case(
            (col(OutboxMessage.error).is_(None), literal(EXPIRED_UNSENT)),
            else_=func.substr(literal(EXPIRED_AFTER) + col(OutboxMessage.error), 1, 500),
        )
        query = (
            update(OutboxMessage)
            .where(
                col(OutboxMessage.status) == OutboxStatus.PENDING,
                col(OutboxMessage.expires_at) <= now,
            )
            .values(status=OutboxStatus.EXPIRED, error=reason)
        )
        if team_id is not None:
            query = query.where(col(OutboxMessage.team_id) == team_id)
        if keys is not None:
            query = query.where(col(OutboxMessage.key).in_(keys))
        if self.shard is not None:
            query = query.where(team_filter(OutboxMessage.team_id, self.shard))
        with self.database.session() as session:
            expired = int(session.execute(query).rowcount)  # type: ignore[attr-defined]
        if expired:
            log.warning("outbox: %d messages passed their deadline unsent: expired", expired)
        return expired

    def _already_sent(self, transport: Transport, row: OutboxMessage) -> dict[str, Any] | None:
        """After an uncertain failure or a crash, the message Slack may already hold for ``row``."""
        find_sent = getattr(transport, "find_sent", None)
        if row.attempts <= 1 or row.method not in VERIFIED_METHODS or find_sent is None:
            return None
        lookup = "files.list" if row.method == "files.upload_v2" else "conversations.history"
        self.pacer.acquire(row.team_id, lookup)
        found: dict[str, Any] | None = find_sent(row)
        if found is not None:
            log.info("outbox %s was already in Slack (ts %s): not sent again", row.key, found)
        return found

    def _under_claim(self, row: OutboxMessage, **values: Any) -> bool:
        """Update ``row`` only while it still holds this sender's claim (its token, SENDING)."""
        with self.database.session() as session:
            return _update_if(
                session,
                row,
                col(OutboxMessage.claim_token) == row.claim_token,
                col(OutboxMessage.status) == OutboxStatus.SENDING,
                **values,
            )

    def _renew(self, row: OutboxMessage) -> None:
        """Right before a send: the row must still hold our claim, which starts afresh now, so the
        send happens well within CLAIM_TIMEOUT of it however long the batch has taken."""
        if not self._under_claim(row, claimed_at=self.clock.now()):
            raise ClaimLost(row.key)

    def _send_one(self, row: OutboxMessage, outcome: SendOutcome, *, paced: bool = False) -> float:
        """Send one claimed row and record what happened. ``paced``: when its budget has no
        token now, send nothing and return the seconds until it has (the caller puts the row
        back); otherwise wait for the token. Returns 0 once the row was dealt with."""
        transport = self._transports.get(row.team_id) or self.transport_for(row.team_id)
        self._transports[row.team_id] = transport
        values: dict[str, Any]
        try:
            answer = self._already_sent(transport, row)
            if answer is None:
                if row.expires_at <= self.clock.now():
                    raise Expired(row.error)
                channel = row.payload.get("channel") if isinstance(row.payload, dict) else None
                if paced:
                    moment = self.pacer.monotonic()
                    budget = self.pacer.try_acquire(row.team_id, row.method, channel)
                    if budget.wait > 0:
                        if budget.method_wide:  # every row of the method waits as long
                            self._spent[(row.team_id, row.method)] = moment + budget.wait
                        return budget.wait
                else:
                    self.pacer.acquire(row.team_id, row.method, channel)
                self._renew(row)
                answer = transport(row)
        except ClaimLost:
            log.warning("outbox %s: another sender took it over; not sent here", row.key)
            return 0.0
        except PermanentError as error:
            values = {"status": OutboxStatus.FAILED, "error": error.reason[:500]}
            outcome.failed += 1
            outcome.errors[row.key] = error.reason
            log.warning("outbox %s failed for good: %s", row.key, error.reason)
        except Expired as expired:
            values = {"status": OutboxStatus.EXPIRED, "error": expiry_reason(expired.last_error)}
            outcome.expired += 1
            outcome.errors[row.key] = values["error"]
        except TransientError as error:
            limited = error.reason == "ratelimited"
            delay = error.retry_after
            if limited:
                # Slack posted nothing: nobody calls the method here until Retry-After has passed,
                # and the row goes back until then (not counted as an attempt: nothing to look up).
                delay = delay or 1.0
                self.pacer.pause(row.team_id, row.method, delay)
                self._spent[(row.team_id, row.method)] = self.pacer.monotonic() + delay
            if delay is None:
                delay = min(2**row.attempts, MAX_BACKOFF) * (0.5 + random.random() / 2)
            retry_at = (self._now() if limited else self.clock.now()) + timedelta(seconds=delay)
            if retry_at >= row.expires_at:
                # The next attempt would come too late: the message is stale by then.
                values = {"status": OutboxStatus.EXPIRED, "error": expiry_reason(error.reason)}
                outcome.expired += 1
                outcome.errors[row.key] = values["error"]
                log.warning("outbox %s expired unsent: %s", row.key, error.reason)
            else:
                values = {
                    "status": OutboxStatus.PENDING,
                    "next_attempt_at": retry_at,
                    "error": error.reason[:500],
                }
                if limited:
                    values["attempts"] = max(row.attempts - 1, 0)
                    if self._started is not None:
                        self._later.append(retry_at)  # this run sends it once the pause ends
                outcome.retried += 1
        else:
            values = {
                "status": OutboxStatus.SENT,
                "sent_at": self.clock.now(),
                "channel": answer.get("channel"),
                "ts": answer.get("ts"),
                "error": None,
            }
            outcome.sent += 1
        if not self._under_claim(row, **values):
            log.error("outbox %s: claim lost while sending; outcome not recorded", row.key)
        return 0.0


def in_sending_order(rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """Claimed rows as the claim ranked them: by urgency, then round-robin over workspaces."""
    rank: dict[int | None, int] = {}
    by_team: dict[str, int] = {}
    for row in sorted(rows, key=lambda r: (r.urgency, r.next_attempt_at, r.id or 0)):
        by_team[row.team_id] = by_team.get(row.team_id, 0) + 1
        rank[row.id] = by_team[row.team_id]
    return sorted(rows, key=lambda r: (r.urgency, rank[r.id], r.id or 0))


def failures(session: Session, *, team_id: str, subject: str) -> list[OutboxMessage]:
    """Rows for ``subject`` that failed for good or expired unsent, to show the PM who could not
    be reached."""
    return list(
        session.exec(
            select(OutboxMessage).where(
                OutboxMessage.team_id == team_id,
                OutboxMessage.subject == subject,
                col(OutboxMessage.status).in_([OutboxStatus.FAILED, OutboxStatus.EXPIRED]),
            )
        ).all()
    )


def sent_row(session: Session, *, key: str) -> OutboxMessage | None:
    """The outbox row with ``key`` (to find the ``channel``/``ts`` of a message sent earlier)."""
    return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()


@dataclass(frozen=True)
class SentMessage:
    """A message the app posted, as its outbox row recorded it: the only kind of message a click
    or a form may have the app rewrite or answer under. A channel and ts read from a request are
    anyone's to forge (another project's card, another person's DM)."""

    channel: str
    ts: str
    payload: dict[str, Any]  # what was posted (its blocks say what the message lists)


def sent_message(
    session: Session,
    *,
    team_id: str,
    to: str,
    key: str,
    subject: str | None = None,
    ts: str | None = None,
) -> SentMessage | None:
    """The message the app posted to person ``to`` (their DM) under outbox ``key``, or None.

    A key ending in ``:`` names several messages (one per send, e.g. each due-items DM of an
    owner): then the one among those about ``subject`` at ``ts``, which a request may name but
    only the database confirms."""
    query = select(OutboxMessage).where(
        OutboxMessage.team_id == team_id,
        OutboxMessage.method == "chat.postMessage",
        col(OutboxMessage.ts).is_not(None),
    )
    if key.endswith(":"):
        if not subject or not ts:
            return None
        query = query.where(OutboxMessage.subject == subject, OutboxMessage.ts == ts)
    else:
        query = query.where(OutboxMessage.key == key)
    for row in session.exec(query).all():
        if row.key.startswith(key) and row.channel and row.ts and to:
            if row.payload.get("channel") == to:
                return SentMessage(channel=row.channel, ts=row.ts, payload=row.payload)
    return None


def rows_by_key(session: Session, keys: list[str]) -> dict[str, OutboxMessage]:
    """The outbox rows with these keys, in one query (for jobs that thread under many messages)."""
    if not keys:
        return {}
    found: dict[str, OutboxMessage] = {}
    for start in range(0, len(keys), 500):
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.key).in_(keys[start : start + 500]))
        ).all()
        found.update({row.key: row for row in rows})
    return found


def rows_for(session: Session, *, team_id: str, subject: str) -> list[OutboxMessage]:
    """Every outbox row caused by ``subject``, oldest first."""
    return list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.team_id == team_id, OutboxMessage.subject == subject)
            .order_by(col(OutboxMessage.id))
        ).all()
    )


def cancel(session: Session, *, key: str, reason: str) -> bool:
    """Withdraw a row not yet sent (e.g. an invitation to a poll that closed first)."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.key) == key,
            col(OutboxMessage.status) == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.CANCELLED, error=reason[:500])
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def cancel_many(session: Session, *, keys: list[str], reason: str) -> int:
    """``cancel`` for many rows at once (one update per thousand keys); how many it withdrew."""
    withdrawn = 0
    for start in range(0, len(keys), 1000):
        result = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.key).in_(keys[start : start + 1000]),
                col(OutboxMessage.status) == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.CANCELLED, error=reason[:500])
        )
        withdrawn += int(result.rowcount)  # type: ignore[attr-defined]
    return withdrawn


# ----------------------------------------------------------------------- for operators (CLI)

GIVEN_UP = (OutboxStatus.FAILED, OutboxStatus.EXPIRED)


def tally(session: Session) -> list[tuple[str, str, int]]:
    """(status, kind, rows) for every status and kind in the outbox."""
    query = (
        select(OutboxMessage.status, OutboxMessage.kind, func.count())
        .group_by(col(OutboxMessage.status), col(OutboxMessage.kind))
        .order_by(col(OutboxMessage.status), col(OutboxMessage.kind))
    )
    return [(status, kind, int(rows)) for status, kind, rows in session.exec(query).all()]


def reasons(session: Session, *, limit: int = 10) -> list[tuple[str, str, int]]:
    """(status, reason, rows) of the rows that failed or expired, the most frequent first."""
    rows = func.count().label("rows")
    query = (
        select(OutboxMessage.status, OutboxMessage.error, rows)
        .where(col(OutboxMessage.status).in_(GIVEN_UP))
        .group_by(col(OutboxMessage.status), col(OutboxMessage.error))
        .order_by(rows.desc(), col(OutboxMessage.status), col(OutboxMessage.error))
        .limit(limit)
    )
    return [(status, error or "", int(count)) for status, error, count in session.exec(query)]


def oldest_waiting(session: Session) -> OutboxMessage | None:
    """The row waiting longest to be sent (pending, or claimed by a sender)."""
    return session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
        .limit(1)
    ).first()


@dataclass(frozen=True)
class Requeued:
    id: int
    key: str
    was: str  # the status it had
    reason: str  # why it had not been sent
    expires_at: datetime  # its new deadline


def requeue(
    session: Session,
    *,
    now: datetime,
    statuses: tuple[str, ...] = GIVEN_UP,
    kinds: list[str] | None = None,
    ids: list[int] | None = None,
    within: timedelta | None = None,
) -> list[Requeued]:
    """Put failed or expired rows back to pending, because an operator asked: each gets a fresh
    deadline, ``within`` from now (by default, as long again as it was first given). Its attempts
    are kept, so the resend first looks in Slack for a message an uncertain attempt left there."""
    if not set(statuses) <= set(GIVEN_UP):
        raise ValueError("only failed or expired messages are put back")
    query = select(OutboxMessage).where(col(OutboxMessage.status).in_(statuses))
    if kinds:
        query = query.where(col(OutboxMessage.kind).in_(kinds))
    if ids:
        query = query.where(col(OutboxMessage.id).in_(ids))
    done: list[Requeued] = []
    for row in session.exec(query.order_by(col(OutboxMessage.id))).all():
        allowance = within or max(row.expires_at - row.created_at, ANSWER_LIFETIME)
        done.append(Requeued(row.id or 0, row.key, row.status, row.error or "", now + allowance))
        row.status = OutboxStatus.PENDING
        row.next_attempt_at = now
        row.expires_at = now + allowance
        row.error = None
        row.claimed_at = row.claim_token = None
        session.add(row)
    session.flush()
    return done
