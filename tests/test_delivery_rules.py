"""Rules of the outbox and its sender, driven without Slack: a transport that answers as it is
told and pacers on a virtual clock (tests/test_delivery.py runs the same path against the
emulator). Each rule here was found unguarded, or guarded only by a slow fan-out, by mutation
testing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import col, select

from bot import delivery
from bot.clock import MovableClock
from bot.delivery import (
    CLAIM_TIMEOUT,
    MAX_BACKOFF,
    Outgoing,
    Pacer,
    PermanentError,
    Sender,
    SharedPacer,
    TransientError,
)
from storage.db import Database, StatementCounter
from storage.models import OutboxMessage, OutboxStatus, RateBucket, Urgency
from tests.conftest import OTHER_TEAM, TEAM

DAY = timedelta(days=1)


class FakeTime:
    """A monotonic clock that sleeping moves forward, so pacing costs no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def pacer_on(fake: FakeTime, **kwargs: Any) -> Pacer:
    return Pacer(monotonic=fake.monotonic, sleep=fake.sleep, **kwargs)


class Slack:
    """A transport: raises for a key what ``script`` lists for it, one error a call, then answers
    with the channel and a ts. With ``found``, it has ``find_sent`` and finds those answers."""

    def __init__(
        self,
        script: dict[str, list[Exception]] | None = None,
        found: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.script = script or {}
        self.calls: list[str] = []
        self.sent: list[str] = []
        self.looked_up: list[str] = []
        if found is not None:
            self.found = found
            self.find_sent = self._find_sent

    def __call__(self, row: OutboxMessage) -> dict[str, Any]:
        self.calls.append(row.key)
        errors = self.script.get(row.key) or []
        if errors:
            raise errors.pop(0)
        self.sent.append(row.key)
        return {"channel": row.payload["channel"], "ts": f"{len(self.sent)}.000100"}

    def _find_sent(self, row: OutboxMessage) -> dict[str, Any] | None:
        self.looked_up.append(row.key)
        return self.found.get(row.key)


class Lookups(Pacer):
    """A pacer that also notes which methods it was asked for, and for which workspace."""

    def __init__(self, fake: FakeTime) -> None:
        super().__init__(monotonic=fake.monotonic, sleep=fake.sleep)
        self.asked: list[str] = []
        self.teams: set[str] = set()

    def try_acquire(self, team_id: str, method: str, channel: str | None = None) -> delivery.Budget:
        budget = super().try_acquire(team_id, method, channel)
        if budget.wait <= 0:  # a token taken (a wait for one is asked again)
            self.asked.append(method)
            self.teams.add(team_id)
        return budget


def sender_of(
    database: Database, clock: MovableClock, slack: Slack, pacer: Pacer, **kwargs: Any
) -> Sender:
    return Sender(database, clock, lambda _team: slack, pacer=pacer, **kwargs)


def add(
    database: Database,
    clock: MovableClock,
    key: str,
    *,
    team: str = TEAM,
    method: str = "chat.postMessage",
    channel: str = "D1",
    **fields: Any,
) -> None:
    with database.session() as session:
        delivery.enqueue(
            session,
            team_id=team,
            key=key,
            method=method,
            payload={"channel": channel, "text": key},
            now=clock.now(),
            **{"expires_at": clock.now() + DAY, **fields},
        )


def row_of(database: Database, key: str) -> OutboxMessage:
    with database.session() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


# ------------------------------------------------------------------------------ the pacer


def test_a_method_may_burst_then_keeps_its_rate_and_a_rest_refills_only_up_to_the_burst(
    fake: FakeTime,
) -> None:
    pacer = pacer_on(fake, rates={"chat.update": (2.0, 3.0)}, per_channel=None)
    moments = []
    for _ in range(5):
        pacer.acquire(TEAM, "chat.update")
        moments.append(fake.now)
    assert moments == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0])
    assert pacer.waited == pytest.approx(1.0)
    for _ in range(3):  # another workspace has its own budget
        pacer.acquire(OTHER_TEAM, "chat.update")
    for _ in range(100):  # a method without a rate is not held up
        pacer.acquire(TEAM, "users.info")
    assert fake.now == pytest.approx(1.0)
    fake.now += 100  # a long rest gives back the burst, not more
    moments = []
    for _ in range(4):
        pacer.acquire(TEAM, "chat.update")
        moments.append(fake.now)
    assert moments == pytest.approx([101.0, 101.0, 101.0, 101.5])
    assert fake.slept == pytest.approx([0.5, 0.5, 0.5])


def test_the_default_rates_are_slacks_tiers(fake: FakeTime) -> None:
    pacer = pacer_on(fake, per_channel=None)
    for method, (rate, burst) in {
        "chat.postMessage": (5.0, 20),
        "chat.update": (50 / 60, 20),
        "chat.postEphemeral": (100 / 60, 20),
        "files.upload_v2": (30 / 60, 5),
        "conversations.history": (50 / 60, 10),
        "conversations.replies": (50 / 60, 10),
        "conversations.open": (50 / 60, 20),
        "files.list": (50 / 60, 10),
    }.items():
        start = fake.now
        for _ in range(burst + 1):
            pacer.acquire(TEAM, method)
        assert fake.now - start == pytest.approx(1 / rate), method


def test_posts_into_one_channel_are_held_to_its_own_pace_and_nothing_else_is(
    fake: FakeTime,
) -> None:
    pacer = pacer_on(fake, rates={"chat.postMessage": (100.0, 100.0)}, per_channel=(1.0, 2.0))
    moments = []
    for _ in range(4):
        pacer.acquire(TEAM, "chat.postMessage", "C1")
        moments.append(fake.now)
    assert moments == pytest.approx([0.0, 0.0, 1.0, 2.0])
    pacer.acquire(TEAM, "chat.postMessage", "C2")  # another channel
    pacer.acquire(OTHER_TEAM, "chat.postMessage", "C1")  # the same id in another workspace
    pacer.acquire(TEAM, "chat.postMessage")  # no channel named
    for _ in range(3):
        pacer.acquire(TEAM, "chat.update", "C1")  # an update is no new post
    assert fake.now == pytest.approx(2.0)
    unlimited = pacer_on(fake, rates={"chat.postMessage": (100.0, 100.0)}, per_channel=None)
    for _ in range(5):
        unlimited.acquire(TEAM, "chat.postMessage", "C1")
    assert fake.now == pytest.approx(2.0)


def test_a_pause_holds_the_method_to_its_end_in_one_wait_and_a_shorter_one_does_not_cut_it(
    fake: FakeTime,
) -> None:
    pacer = pacer_on(fake, rates={"chat.update": (10.0, 10.0)})
    pacer.pause(TEAM, "chat.update", 5)
    pacer.pause(TEAM, "chat.update", 2)
    pacer.acquire(OTHER_TEAM, "chat.update")  # another workspace goes on
    pacer.acquire(TEAM, "chat.postMessage")  # and so do other methods
    assert fake.now == 0.0
    pacer.acquire(TEAM, "chat.update")
    assert fake.slept == pytest.approx([5.0])


def test_after_a_pause_the_burst_is_gone_and_the_method_keeps_its_own_pace(
    fake: FakeTime,
) -> None:
    pacer = pacer_on(fake, rates={"chat.update": (0.5, 10.0)})
    pacer.pause(TEAM, "chat.update", 1)  # before any call
    moments = []
    for _ in range(3):
        pacer.acquire(TEAM, "chat.update")
        moments.append(fake.now)
    # The one token kept, then what refilled during the pause, then one call every 2 s.
    assert moments == pytest.approx([1.0, 2.0, 4.0])


# ------------------------------------------------------------------- the shared budget


def test_the_shared_budget_keeps_a_bucket_per_workspace_method_and_channel(
    database: Database, fake: FakeTime
) -> None:
    pacer = SharedPacer(
        database,
        rates={"chat.postMessage": (1.0, 2.0)},
        per_channel=(0.5, 1.0),
        wall=fake.monotonic,
        sleep=fake.sleep,
    )
    pacer.acquire(TEAM, "chat.postMessage", "C1")
    pacer.acquire(TEAM, "chat.postMessage", "C2")
    pacer.acquire(OTHER_TEAM, "chat.postMessage", "C1")
    pacer.acquire(TEAM, "chat.update", "C1")  # no channel bucket for an update
    pacer.acquire(TEAM, "users.info")  # a method without a rate keeps no bucket
    assert fake.slept == []
    pacer.acquire(TEAM, "chat.postMessage", "C1")  # the method needs 1 s, the channel 2 s
    assert fake.slept == pytest.approx([2.0])
    assert pacer.waited == pytest.approx(2.0)
    with database.session() as session:
        buckets = {
            (row.team_id, row.key): (row.tokens, row.updated_at)
            for row in session.exec(select(RateBucket)).all()
        }
    assert buckets == {
        (TEAM, "chat.postMessage"): (1.0, 2.0),
        (TEAM, "#C1"): (0.0, 2.0),
        (TEAM, "#C2"): (0.0, 0.0),
        (TEAM, "chat.update"): (19.0, 0.0),
        (OTHER_TEAM, "chat.postMessage"): (1.0, 0.0),
        (OTHER_TEAM, "#C1"): (0.0, 0.0),
    }
    pacer.acquire(TEAM, "chat.postMessage", "C1")
    assert pacer.waited == pytest.approx(4.0)  # every wait counts


def test_a_pause_in_the_shared_budget_starts_with_one_call_and_is_never_cut_short(
    database: Database, fake: FakeTime
) -> None:
    def process() -> SharedPacer:
        return SharedPacer(
            database,
            rates={"chat.update": (0.5, 5.0)},
            per_channel=None,
            wall=fake.monotonic,
            sleep=fake.sleep,
        )

    web, scheduler = process(), process()
    web.pause(TEAM, "chat.update", 4)  # before any call: the bucket is made paused
    scheduler.pause(TEAM, "chat.update", 1)
    with database.session() as session:
        [row] = session.exec(select(RateBucket)).all()
    assert (row.team_id, row.key, row.tokens, row.paused_until) == (TEAM, "chat.update", 1.0, 4)
    moments = []
    for _ in range(4):
        scheduler.acquire(TEAM, "chat.update")
        moments.append(fake.now)
    # The burst is gone: the one token kept, and the two that refilled during the pause.
    assert moments == pytest.approx([4.0, 4.0, 4.0, 6.0])
    web.acquire(OTHER_TEAM, "chat.update")
    assert fake.now == pytest.approx(6.0)


class Racing(SharedPacer):
    """A process whose first write of a bucket fails as it does when another process has just
    created the same bucket (a duplicate key), or while the database is busy."""

    def __init__(self, database: Database, fake: FakeTime, error: Exception) -> None:
        super().__init__(database, per_channel=None, wall=fake.monotonic, sleep=fake.sleep)
        self.error: Exception | None = error

    def _locked(self, session: Any, team_id: str, keys: list[str]) -> dict[str, RateBucket]:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return super()._locked(session, team_id, keys)


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT", {}, Exception("duplicate key")),
        OperationalError("SELECT", {}, Exception("database is locked")),
    ],
)
def test_a_process_that_loses_the_race_to_create_a_bucket_reads_it_again(
    database: Database, fake: FakeTime, error: Exception
) -> None:
    racing = Racing(database, fake, error)
    racing.acquire(TEAM, "chat.update")
    for _ in range(20):
        racing.acquire(TEAM, "chat.update")
    assert fake.slept == pytest.approx([1.2])  # one token was taken each time, no more
    for _ in range(21):  # a wait under a second takes no token before it is over either
        racing.acquire(TEAM, "chat.postEphemeral")
    assert fake.slept == pytest.approx([1.2, 0.6])
    if isinstance(error, IntegrityError):
        late = Racing(database, fake, error)
        late.pause(OTHER_TEAM, "chat.update", 3)
        with database.session() as session:
            row = session.get(RateBucket, (OTHER_TEAM, "chat.update"))
            assert row is not None and row.paused_until == pytest.approx(fake.now + 3)


# ------------------------------------------------------------------------------ the outbox


def test_a_message_is_queued_with_every_field_and_a_key_only_once(
    database: Database, clock: MovableClock
) -> None:
    later = clock.now() + timedelta(hours=2)
    with database.session() as session:
        first = delivery.enqueue(
            session,
            team_id=TEAM,
            key="k1",
            method="chat.update",
            payload={"channel": "C1", "ts": "1.1", "text": "first"},
            now=clock.now(),
            subject="poll:1",
            not_before=later,
            expires_at=later + DAY,
        )
        again = delivery.enqueue(
            session, team_id=TEAM, key="k1", payload={"text": "second"}, now=later, expires_at=later
        )
        assert first.id is not None and again.id == first.id
        plain = delivery.enqueue(
            session, team_id=OTHER_TEAM, key="k2", payload={}, now=later, expires_at=later + DAY
        )
        with pytest.raises(ValueError, match="cannot send conversations.open"):
            delivery.enqueue(
                session,
                team_id=TEAM,
                key="k3",
                method="conversations.open",
                payload={},
                now=later,
                expires_at=later + DAY,
            )
    row = row_of(database, "k1")
    assert (row.team_id, row.method, row.payload, row.subject, row.kind) == (
        TEAM,
        "chat.update",
        {"channel": "C1", "ts": "1.1", "text": "first"},
        "poll:1",
        "k1",
    )
    assert row.expires_at == later + DAY
    assert (row.status, row.attempts, row.created_at, row.next_attempt_at) == (
        OutboxStatus.PENDING,
        0,
        clock.now(),
        later,
    )
    assert (plain.method, plain.next_attempt_at, plain.subject) == ("chat.postMessage", later, None)


def test_many_messages_are_queued_at_once_skipping_keys_already_there(
    database: Database, clock: MovableClock
) -> None:
    add(database, clock, "a")
    later = clock.advance(minutes=1)
    messages = [
        Outgoing("a", {"text": "again"}, expires_at=later),
        Outgoing("b", {"text": "b"}, expires_at=later + DAY),
        Outgoing("b", {"text": "b twice"}, expires_at=later),
        Outgoing(
            "c:1", {"channel": "C1"}, method="files.upload_v2", subject="poll:2", expires_at=later
        ),
    ]
    with database.session() as session:
        added = delivery.enqueue_many(session, team_id=OTHER_TEAM, messages=messages, now=later)
        assert delivery.enqueue_many(session, team_id=TEAM, messages=[], now=later) == []
        with pytest.raises(ValueError, match="cannot send users.info"):
            delivery.enqueue_many(
                session,
                team_id=TEAM,
                messages=[Outgoing("d", {}, "users.info", expires_at=later)],
                now=later,
            )
    assert added == ["b", "c:1"]
    with database.session() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        fields = [
            (r.team_id, r.key, r.method, r.payload, r.status, r.attempts, r.subject) for r in rows
        ]
    assert fields == [
        (TEAM, "a", "chat.postMessage", {"channel": "D1", "text": "a"}, "pending", 0, None),
        (OTHER_TEAM, "b", "chat.postMessage", {"text": "b"}, "pending", 0, None),
        (OTHER_TEAM, "c:1", "files.upload_v2", {"channel": "C1"}, "pending", 0, "poll:2"),
    ]
    assert [(r.created_at, r.next_attempt_at) for r in rows[1:]] == [(later, later)] * 2
    assert [(r.kind, r.expires_at) for r in rows[1:]] == [("b", later + DAY), ("c", later)]


def test_a_thousand_and_one_messages_take_two_reads_and_two_inserts(
    database: Database, clock: MovableClock
) -> None:
    messages = [
        Outgoing(f"m{number}", {"text": str(number)}, expires_at=clock.now() + DAY)
        for number in range(1001)
    ]
    with database.session() as session:
        session.exec(select(OutboxMessage)).all()  # the unit of work has begun
        with StatementCounter(database.engine) as counted:
            added = delivery.enqueue_many(session, team_id=TEAM, messages=messages, now=clock.now())
    assert counted.count == 4
    assert added == [message.key for message in messages]
    with database.session() as session:
        assert len(session.exec(select(OutboxMessage.key)).all()) == 1001


# ------------------------------------------------------------------------------ the sender


def test_due_rows_are_sent_in_order_and_marked_with_slacks_answer(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    for key in ("first", "second"):
        add(database, clock, key)
    add(database, clock, "later", not_before=clock.now() + timedelta(seconds=1))
    add(database, clock, "elsewhere", team=OTHER_TEAM, channel="D9")
    slack = Slack()
    outcome = sender_of(database, clock, slack, pacer_on(fake)).deliver_due(team_id=TEAM)
    assert (outcome.sent, outcome.failed, outcome.retried, outcome.errors) == (2, 0, 0, {})
    assert slack.calls == ["first", "second"]
    row = row_of(database, "second")
    assert (row.status, row.channel, row.ts, row.sent_at, row.attempts, row.error) == (
        OutboxStatus.SENT,
        "D1",
        "2.000100",
        clock.now(),
        1,
        None,
    )
    assert row_of(database, "later").status == OutboxStatus.PENDING
    clock.advance(seconds=1)  # due now, exactly
    assert sender_of(database, clock, slack, pacer_on(fake)).deliver_due().sent == 2
    assert slack.calls == ["first", "second", "later", "elsewhere"]


def test_only_the_keys_asked_for_are_sent_and_none_when_none_are_asked(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    for key in ("a", "b", "c"):
        add(database, clock, key)
    slack = Slack()
    sender = sender_of(database, clock, slack, pacer_on(fake))
    assert sender.deliver_due(keys=[]).sent == 0
    assert sender.deliver_due(keys=["b"]).sent == 1
    assert slack.calls == ["b"]


def test_a_run_goes_through_every_batch(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    for number in range(5):
        add(database, clock, f"m{number}")
    slack = Slack()
    outcome = sender_of(database, clock, slack, pacer_on(fake), batch_size=2).deliver_due()
    assert outcome.sent == 5
    assert slack.calls == [f"m{number}" for number in range(5)]
    with database.session() as session:
        messages = [
            Outgoing(f"n{number}", {"channel": "D1"}, expires_at=clock.now() + DAY)
            for number in range(51)
        ]
        delivery.enqueue_many(session, team_id=TEAM, messages=messages, now=clock.now())
    # A claim takes fifty rows at most, so that each is sent well within the claim's timeout.
    assert len(sender_of(database, clock, slack, pacer_on(fake))._claim(TEAM, None)) == 50


def test_a_claimed_row_is_left_alone_until_its_claim_is_stale(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "claimed")
    too_late = Slack()
    crashed = sender_of(database, clock, too_late, pacer_on(fake))
    [row] = crashed._claim(TEAM, None)  # claimed, then its sender died
    slack = Slack()
    sender = sender_of(database, clock, slack, pacer_on(fake), claim_timeout=timedelta(minutes=1))
    clock.advance(seconds=59)
    assert sender.deliver_due().sent == 0
    clock.advance(seconds=1)  # exactly the claim timeout
    assert sender.deliver_due().sent == 1
    assert row_of(database, "claimed").attempts == 2
    crashed._send_one(row, delivery.SendOutcome())  # it wakes up: nothing sent, nothing changed
    assert too_late.calls == [] and slack.calls == ["claimed"]
    assert row_of(database, "claimed").ts == "1.000100"


def test_a_stalled_sender_does_not_send_a_row_another_sender_holds_now(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "contested")
    stalled_slack, slack = Slack(), Slack()
    stalled = sender_of(database, clock, stalled_slack, pacer_on(fake))
    [row] = stalled._claim(TEAM, None)
    clock.advance(CLAIM_TIMEOUT)
    sender = sender_of(database, clock, slack, pacer_on(fake))
    [taken] = sender._claim(TEAM, None)  # taken over, not yet sent
    stalled._send_one(row, delivery.SendOutcome())
    assert stalled_slack.calls == []
    sender._send_one(taken, delivery.SendOutcome())
    assert slack.calls == ["contested"]
    assert row_of(database, "contested").status == OutboxStatus.SENT


def test_a_row_handed_back_to_the_queue_is_not_sent_by_the_sender_that_held_it(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "retry")
    slack = Slack({"retry": [TransientError("internal_error", retry_after=60)]})
    sender = sender_of(database, clock, slack, pacer_on(fake))
    [row] = sender._claim(TEAM, None)
    sender._send_one(row, delivery.SendOutcome())  # rescheduled: pending again
    sender._send_one(row, delivery.SendOutcome())  # the same row from a stale list
    assert slack.calls == ["retry"]
    assert row_of(database, "retry").status == OutboxStatus.PENDING


def test_a_claim_starts_afresh_right_before_the_send(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "slow batch")
    seen: list[Any] = []

    def transport(row: OutboxMessage) -> dict[str, Any]:
        seen.append(row_of(database, row.key).claimed_at)
        return {"channel": "D1", "ts": "1.1"}

    sender = Sender(database, clock, lambda _team: transport, pacer=pacer_on(fake))
    [row] = sender._claim(TEAM, None)
    clock.advance(minutes=4)  # the rows before it took this long
    sender._send_one(row, delivery.SendOutcome())
    assert seen == [clock.now()]


def test_every_row_that_fails_or_expires_in_a_run_is_counted(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    for key in ("gone", "left"):
        add(database, clock, key)
    for key in ("flaky", "flakier"):  # any backoff takes them past their deadline
        add(database, clock, key, expires_at=clock.now() + timedelta(milliseconds=1))
    slack = Slack(
        {
            "gone": [PermanentError("user_disabled")],
            "left": [PermanentError("account_inactive")],
            "flaky": [TransientError("internal_error")],
            "flakier": [TransientError("internal_error")],
        }
    )
    pacer = pacer_on(fake)
    outcome = sender_of(database, clock, slack, pacer).deliver_due(keys=["gone", "left"])
    assert (outcome.failed, outcome.errors) == (
        2,
        {"gone": "user_disabled", "left": "account_inactive"},
    )
    outcome = sender_of(database, clock, slack, pacer).deliver_due(keys=["flaky", "flakier"])
    assert (outcome.failed, outcome.expired, outcome.retried) == (0, 2, 0)
    reason = "deadline passed; last error: internal_error"
    assert outcome.errors == {"flaky": reason, "flakier": reason}


def test_a_permanent_error_fails_the_row_for_good_with_its_reason(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "gone")
    reason = "user_disabled " + "x" * 600
    slack = Slack({"gone": [PermanentError(reason)]})
    outcome = sender_of(database, clock, slack, pacer_on(fake)).deliver_due()
    assert (outcome.sent, outcome.failed, outcome.retried) == (0, 1, 0)
    assert outcome.errors == {"gone": reason}
    row = row_of(database, "gone")
    assert (row.status, row.error, row.sent_at) == (OutboxStatus.FAILED, reason[:500], None)
    clock.advance(days=1)
    assert sender_of(database, clock, slack, pacer_on(fake)).deliver_due().failed == 0
    assert slack.calls == ["gone"]


class Jitter:
    """``random`` for the backoff: the lowest jitter, then the highest."""

    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


def test_a_transient_error_is_retried_after_a_growing_capped_delay_until_its_deadline(
    database: Database, clock: MovableClock, fake: FakeTime, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadline = clock.now() + timedelta(minutes=30)
    add(database, clock, "flaky", expires_at=deadline)
    reason = "internal_error " + "x" * 600
    slack = Slack({"flaky": [TransientError(reason) for _ in range(100)]})
    monkeypatch.setattr(delivery, "random", Jitter(0.0, 1.0, *[0.0] * 98))
    sender = sender_of(database, clock, slack, pacer_on(fake))
    delays = []
    while True:
        outcome = sender.deliver_due()
        row = row_of(database, "flaky")
        if row.status != OutboxStatus.PENDING:
            break
        assert (outcome.sent, outcome.failed, outcome.retried) == (0, 0, 1)
        assert (row.attempts, row.error) == (len(delays) + 1, reason[:500])
        delays.append((row.next_attempt_at - clock.now()).total_seconds())
        clock.set(row.next_attempt_at - timedelta(microseconds=1))
        assert sender.deliver_due().retried == 0  # not before its time
        clock.set(row.next_attempt_at)
    # 2 ** attempts seconds, times a jitter between one half and one, at most MAX_BACKOFF: no
    # fixed number of attempts, the retries go on as long as the message is worth sending.
    assert delays[:9] == [1.0, 4.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, MAX_BACKOFF / 2]
    assert set(delays[9:]) == {MAX_BACKOFF / 2} and len(delays) == 18
    # The next try would come after the deadline: the row expires now, with the reason, unsent.
    assert clock.now() + timedelta(seconds=MAX_BACKOFF / 2) >= deadline > clock.now()
    assert (outcome.expired, outcome.failed, outcome.retried) == (1, 0, 0)
    assert (row.status, row.sent_at) == (OutboxStatus.EXPIRED, None)
    assert row.error == f"deadline passed; last error: {reason}"[:500]
    assert slack.sent == []
    clock.advance(days=1)
    assert sender.deliver_due().expired == 0 and len(slack.calls) == 19


def test_a_row_past_its_deadline_is_expired_unsent_with_its_last_error_and_others_are_sent(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    soon = clock.now() + timedelta(minutes=5)
    add(database, clock, "late answer", expires_at=soon)
    add(database, clock, "never tried", expires_at=soon)
    add(database, clock, "other team", team=OTHER_TEAM, expires_at=soon)
    add(database, clock, "still timely", expires_at=soon + timedelta(hours=1))
    slack = Slack({"late answer": [TransientError("service_unavailable")]})
    sender = sender_of(database, clock, slack, pacer_on(fake))
    assert sender.deliver_due(keys=["late answer"]).retried == 1
    clock.set(soon)
    outcome = sender.deliver_due(team_id=TEAM)
    assert (outcome.sent, outcome.expired) == (1, 2)
    assert slack.sent == ["still timely"]
    assert {
        key: (row_of(database, key).status, row_of(database, key).error)
        for key in ("late answer", "never tried", "other team")
    } == {
        "late answer": ("expired", "deadline passed; last error: service_unavailable"),
        "never tried": ("expired", "deadline passed before it was sent"),
        "other team": ("pending", None),  # another workspace's run expires it
    }


def test_a_stale_claim_past_its_deadline_is_not_sent_but_found_if_slack_has_it(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    soon = clock.now() + timedelta(minutes=1)
    add(database, clock, "posted", expires_at=soon)
    add(database, clock, "lost", expires_at=soon)
    slack = Slack(found={"posted": {"channel": "D1", "ts": "9.000100"}})
    sender = sender_of(database, clock, slack, pacer_on(fake))
    assert len(sender._claim(TEAM, None)) == 2  # then the sender dies
    clock.advance(CLAIM_TIMEOUT)
    outcome = sender.deliver_due()
    assert (outcome.sent, outcome.expired, slack.calls) == (1, 1, [])
    assert (row_of(database, "posted").status, row_of(database, "posted").ts) == (
        "sent",
        "9.000100",
    )
    assert row_of(database, "lost").status == OutboxStatus.EXPIRED


def test_a_transient_error_that_names_its_wait_is_retried_after_it(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "busy")
    slack = Slack({"busy": [TransientError("service_unavailable", retry_after=30)]})
    sender_of(database, clock, slack, pacer_on(fake)).deliver_due()
    assert row_of(database, "busy").next_attempt_at == clock.now() + timedelta(seconds=30)
    assert fake.now == 0.0  # not a 429: the method is not paused


def ratelimited(retry_after: float | None) -> TransientError:
    return TransientError("ratelimited", retry_after=retry_after)


def test_a_429_puts_the_row_back_until_retry_after_and_other_workspaces_go_on_meanwhile(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "patient")
    add(database, clock, "unlucky", team=OTHER_TEAM, channel="D2")
    slack = Slack(
        {
            "patient": [ratelimited(7), ratelimited(None), ratelimited(2)],
            "unlucky": [ratelimited(3), ratelimited(3), ratelimited(3), ratelimited(5)],
        }
    )
    pacer = pacer_on(fake)
    moments: list[tuple[str, float]] = []
    real_call = slack.__call__

    def noted(row: OutboxMessage) -> dict[str, Any]:
        moments.append((row.key, fake.now))
        return real_call(row)

    outcome = sender_of(database, clock, noted, pacer).deliver_due()  # type: ignore[arg-type]
    # Each 429 pauses the method in its workspace for Retry-After (a second without one) and puts
    # the row back until then; nothing waits for one workspace's pause but that workspace.
    assert moments == [
        ("patient", 0.0),
        ("unlucky", 0.0),  # not held up by the other workspace's pause of 7 s
        ("unlucky", 3.0),
        ("unlucky", 6.0),
        ("patient", 7.0),
        ("patient", 8.0),
        ("unlucky", 9.0),
        ("patient", 10.0),
        ("unlucky", 14.0),
    ]
    assert (outcome.sent, outcome.retried) == (2, 7)
    # The sender slept only while nothing was sendable, a second at a time.
    assert fake.slept == pytest.approx([delivery.IDLE_STEP] * 14)
    for key in ("patient", "unlucky"):
        row = row_of(database, key)
        # A 429 is no attempt: Slack posted nothing, so no lookup precedes the resend.
        assert (row.status, row.error, row.attempts) == (OutboxStatus.SENT, None, 1)


def test_a_429_without_retry_after_pauses_the_method_a_second(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "hasty")
    slack = Slack({"hasty": [ratelimited(None) for _ in range(4)]})
    pacer = pacer_on(fake)
    sender_of(database, clock, slack, pacer).deliver_due()
    assert fake.slept == pytest.approx([1.0, 1.0, 1.0, 1.0])
    assert slack.sent == ["hasty"]
    pacer.pause(TEAM, "chat.postMessage", 1.0)
    pacer.acquire(TEAM, "chat.postMessage")
    assert fake.slept == pytest.approx([1.0, 1.0, 1.0, 1.0, 1.0])


def test_a_resend_first_looks_in_slack_for_what_an_uncertain_attempt_left(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "posted")
    add(database, clock, "lost", channel="D2")
    add(database, clock, "chart", method="files.upload_v2", channel="D3")
    add(database, clock, "edit", method="chat.update", channel="C1")
    slack = Slack(
        {
            key: [TransientError("TimeoutError", retry_after=1)]
            for key in ("posted", "lost", "chart", "edit")
        },
        found={"posted": {"channel": "D1", "ts": "9.000900"}, "chart": {"ts": "F1"}},
    )
    pacer = Lookups(fake)
    sender = sender_of(database, clock, slack, pacer)
    assert sender.deliver_due().retried == 4
    assert slack.looked_up == []  # a first attempt has nothing to look for
    clock.advance(seconds=1)
    outcome = sender.deliver_due()
    assert outcome.sent == 4
    assert slack.looked_up == ["posted", "lost", "chart"]  # an update is safe to repeat
    assert slack.sent == ["lost", "edit"]
    row = row_of(database, "posted")
    assert (row.status, row.channel, row.ts) == (OutboxStatus.SENT, "D1", "9.000900")
    assert row_of(database, "chart").ts == "F1"
    second_run = pacer.asked[4:]
    assert second_run == [
        "conversations.history",
        "conversations.history",
        "chat.postMessage",
        "files.list",
        "chat.update",
    ]
    assert pacer.teams == {TEAM}  # the lookups are paced in the row's workspace


def test_a_transport_without_a_lookup_simply_sends_again(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "again")
    slack = Slack({"again": [TransientError("TimeoutError", retry_after=1)]})
    sender = sender_of(database, clock, slack, pacer_on(fake))
    sender.deliver_due()
    clock.advance(seconds=1)
    assert sender.deliver_due().sent == 1
    assert slack.calls == ["again", "again"]
    row = row_of(database, "again")
    assert (row.status, row.error, row.attempts) == (OutboxStatus.SENT, None, 2)


def test_each_workspace_gets_its_transport_once_a_run(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    for key, team in (("a", TEAM), ("b", OTHER_TEAM), ("c", TEAM), ("d", OTHER_TEAM)):
        add(database, clock, key, team=team, channel=f"D{key}")
    asked: list[str] = []
    transports: dict[str, Slack] = {TEAM: Slack(), OTHER_TEAM: Slack()}

    def transport_for(team_id: str) -> Slack:
        asked.append(team_id)
        return transports[team_id]

    sender = Sender(database, clock, transport_for, pacer=pacer_on(fake))
    assert sender.deliver_due().sent == 4
    assert asked == [TEAM, OTHER_TEAM]
    assert (transports[TEAM].sent, transports[OTHER_TEAM].sent) == (["a", "c"], ["b", "d"])


def test_posts_are_paced_per_channel_named_in_their_payload(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    for key, channel in (("one", "C1"), ("two", "C1"), ("three", "C2")):
        add(database, clock, key, channel=channel)
    pacer = pacer_on(fake, per_channel=(1.0, 1.0))
    assert sender_of(database, clock, Slack(), pacer).deliver_due().sent == 3
    assert fake.slept == pytest.approx([1.0])


def test_a_claim_lost_before_the_outcome_is_recorded_leaves_the_row_to_its_new_sender(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "contested")

    def taken_over_meanwhile(row: OutboxMessage) -> dict[str, Any]:
        with database.session() as session:
            stored = session.get(OutboxMessage, row.id)
            assert stored is not None
            stored.claim_token = "another sender"
            session.add(stored)
        return {"channel": "D1", "ts": "1.1"}

    sender = Sender(database, clock, lambda _team: taken_over_meanwhile, pacer=pacer_on(fake))
    sender.deliver_due()
    row = row_of(database, "contested")
    assert (row.status, row.claim_token, row.ts) == (OutboxStatus.SENDING, "another sender", None)


# ------------------------------------------------------------------------ reading the outbox


def test_rows_are_read_by_key_by_subject_and_withdrawn_before_they_are_sent(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    add(database, clock, "invite:1", subject="poll:1")
    add(database, clock, "invite:2", subject="poll:1")
    add(database, clock, "refused", subject="poll:1")
    add(database, clock, "other", subject="poll:2")
    add(database, clock, "elsewhere", team=OTHER_TEAM, subject="poll:1")
    add(database, clock, "waiting", subject="poll:3")
    refusals = {key: [PermanentError("user_disabled")] for key in ("refused", "other", "elsewhere")}
    slack = Slack(refusals)
    sender_of(database, clock, slack, pacer_on(fake)).deliver_due(keys=["invite:2", *refusals])
    with database.session() as session:
        assert delivery.sent_row(session, key="invite:2").ts == "1.000100"  # type: ignore[union-attr]
        assert delivery.sent_row(session, key="nothing") is None
        assert delivery.rows_by_key(session, []) == {}
        found = delivery.rows_by_key(session, ["other", "invite:1", "nothing"])
        assert {key: row.key for key, row in found.items()} == {
            "other": "other",
            "invite:1": "invite:1",
        }
        listed = delivery.rows_for(session, team_id=TEAM, subject="poll:1")
        assert [row.key for row in listed] == ["invite:1", "invite:2", "refused"]
        failed = delivery.failures(session, team_id=TEAM, subject="poll:1")
        assert [(row.key, row.error) for row in failed] == [("refused", "user_disabled")]
        reason = "poll closed " + "x" * 600
        assert delivery.cancel(session, key="invite:1", reason=reason) is True
        assert delivery.cancel(session, key="invite:2", reason="too late") is False  # sent
        assert delivery.cancel(session, key="nothing", reason="none") is False
    row = row_of(database, "invite:1")
    assert (row.status, row.error) == (OutboxStatus.CANCELLED, reason[:500])
    assert row_of(database, "invite:2").status == OutboxStatus.SENT
    assert row_of(database, "waiting").status == OutboxStatus.PENDING  # only the key named


def test_rows_are_read_by_key_five_hundred_keys_a_query(
    database: Database, clock: MovableClock
) -> None:
    keys = [f"k{number}" for number in range(501)]
    with database.session() as session:
        messages = [Outgoing(key, {"channel": "D1"}, expires_at=clock.now() + DAY) for key in keys]
        delivery.enqueue_many(session, team_id=TEAM, messages=messages, now=clock.now())
    with database.session() as session:
        session.exec(select(OutboxMessage.id)).first()  # the unit of work has begun
        with StatementCounter(database.engine) as counted:
            found = delivery.rows_by_key(session, keys)
    assert counted.count == 2
    assert sorted(found) == sorted(keys) and found["k500"].key == "k500"


# ------------------------------------------------------------------ urgency and fair claims


@pytest.mark.parametrize(
    ("key", "starts_in", "answering", "expected"),
    [
        ("escalation:4:response:thread", None, False, Urgency.URGENT),
        ("calendar:7:remind:U1:15:1796112000", timedelta(minutes=15), False, Urgency.URGENT),
        ("calendar:7:remind:U1:1440:1796112000", timedelta(hours=24), False, Urgency.NORMAL),
        ("poll:3:invite:U1", None, True, Urgency.BULK),  # a fan-out, even from a command
        ("digest:2:2026-W49:U1", None, False, Urgency.BULK),
        ("reminder:T1:U1:2026-12-01", None, False, Urgency.BULK),
        ("issue:9:created:dm", None, True, Urgency.URGENT),  # the answer to a submitted form
        ("issue:9:message", None, False, Urgency.NORMAL),
    ],
)
def test_a_messages_urgency_comes_from_what_it_is(
    database: Database,
    clock: MovableClock,
    key: str,
    starts_in: timedelta | None,
    answering: bool,
    expected: Urgency,
) -> None:
    with database.session() as session:
        if answering:
            delivery.answering(session)
        row = delivery.enqueue(
            session,
            team_id=TEAM,
            key=key,
            payload={"channel": "D1", "text": key},
            now=clock.now(),
            expires_at=clock.now() + (starts_in or DAY),
        )
        assert row.urgency == expected
        overridden = delivery.enqueue(
            session,
            team_id=TEAM,
            key=key + ":again",
            payload={"channel": "D1", "text": key},
            now=clock.now(),
            expires_at=clock.now() + DAY,
            urgency=Urgency.BULK,
        )
        assert overridden.urgency == Urgency.BULK


def test_a_claim_takes_urgent_first_and_each_workspace_in_turn(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    for index in range(6):
        add(database, clock, f"A-bulk-{index}", urgency=Urgency.BULK, channel=f"DA{index}")
    add(database, clock, "A-urgent", urgency=Urgency.URGENT, channel="DA9")
    for index in range(2):
        add(database, clock, f"B-normal-{index}", team=OTHER_TEAM, channel=f"DB{index}")
    add(database, clock, "C-bulk", team="T0003", urgency=Urgency.BULK, channel="DC0")
    sender = sender_of(database, clock, Slack(), pacer_on(fake), batch_size=5)
    claimed = [row.key for row in sender._claim(None, None)]
    # Urgent, then normal, then bulk, and within each a workspace's first row before any
    # workspace's second (A's urgent one was its first, so C's bulk row goes before A's).
    assert claimed == ["A-urgent", "B-normal-0", "B-normal-1", "C-bulk", "A-bulk-0"]
    assert [row.key for row in sender._claim(None, None)] == [f"A-bulk-{i}" for i in range(1, 6)]
    assert sender._claim(None, None) == []  # every row is claimed once


def test_a_spent_budget_puts_its_rows_back_and_the_sender_goes_on_with_other_workspaces(
    database: Database, clock: MovableClock, fake: FakeTime
) -> None:
    for index in range(5):
        add(database, clock, f"A-{index}", channel=f"DA{index}")
    add(database, clock, "B-0", team=OTHER_TEAM, channel="DB0")
    slack = Slack()
    moments: list[tuple[str, float]] = []

    def noted(row: OutboxMessage) -> dict[str, Any]:
        moments.append((row.key, fake.now))
        return slack(row)

    pacer = pacer_on(fake, rates={"chat.postMessage": (1.0, 2.0)})
    outcome = sender_of(database, clock, noted, pacer).deliver_due()  # type: ignore[arg-type]
    assert outcome.sent == 6
    # A's budget (a burst of 2, then one a second) never holds up B, which goes at once.
    assert [key for key, moment in moments if moment == 0.0] == ["A-0", "B-0", "A-1"]
    assert [moment for key, moment in moments if key.startswith("A-")] == pytest.approx(
        [0.0, 0.0, 1.0, 2.0, 3.0]
    )
    assert [row_of(database, key).attempts for key in ("A-4", "B-0")] == [1, 1]  # no lookups
