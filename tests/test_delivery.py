"""The outbox and its sender against the emulator: pacing, 429 with Retry-After, transient and
permanent failures, crash and resume, and never a second send."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot import delivery
from bot.clock import MovableClock
from bot.delivery import CLAIM_TIMEOUT, Pacer, Sender
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.jobs import run_due
from bot.jobs.summary import describe_run
from bot.runtime import Runtime
from bot.slack_io import transport_for_client
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from tests.conftest import KEY_USERS, PM, TEAM
from tests.flows import last_response, texts
from tests.polls_helpers import (
    create_poll,
    open_poll_for_everyone,
    project_with_key_users,
    project_with_many_key_users,
)


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


@pytest.fixture(autouse=True)
def fake_time(emulator: SlackEmulator, runtime: Runtime) -> FakeTime:
    """One virtual clock for the pacers and for Slack's rate limits, which are on in these tests:
    pacing costs no real time, and the emulator answers 429 whenever a sender goes faster than
    Slack allows."""
    fake = FakeTime()
    emulator.use_rate_limits(monotonic=fake.monotonic)
    runtime.pacer.monotonic = fake.monotonic
    runtime.pacer.sleep = fake.sleep
    return fake


def fake_pacer(fake: FakeTime, **kwargs: Any) -> tuple[Pacer, FakeTime]:
    return Pacer(monotonic=fake.monotonic, sleep=fake.sleep, **kwargs), fake


def sender_for(runtime: Runtime, pacer: Pacer, transport: Any = None) -> Sender:
    def transport_for(team_id: str) -> Any:
        return transport or transport_for_client(runtime.client(team_id))

    return Sender(runtime.database, runtime.clock, transport_for, pacer=pacer)


def statuses(database: Database) -> Counter[str]:
    with database.session() as session:
        return Counter(row.status for row in session.exec(select(OutboxMessage)).all())


def deliver_until_done(sender: Sender, database: Database, clock: MovableClock) -> int:
    """Run the sender as the deliver_outbox job would, moving time, until nothing is left."""
    for rounds in range(1, 30):
        sender.deliver_due(team_id=TEAM)
        left = statuses(database)
        if not left[OutboxStatus.PENDING] and not left[OutboxStatus.SENDING]:
            return rounds
        clock.advance(minutes=10)
    raise AssertionError(f"outbox never drained: {statuses(database)}")


def dms_per_person(emulator: SlackEmulator, user_ids: list[str], marker: str) -> Counter[str]:
    return Counter(
        {
            user_id: sum(1 for m in emulator.dm_messages(user_id) if marker in texts([m]))
            for user_id in user_ids
        }
    )


def test_fan_out_to_100_key_users_through_429s_and_transient_failures_sends_each_one_dm(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    # More than a batch (50) and five times the burst (20): a hundred is enough to see batching
    # and pacing, and keeps the test fast.
    users = project_with_many_key_users(runtime, emulator, 100)
    _poll_id, keys = open_poll_for_everyone(runtime, title="Big pulse")
    assert len(keys) == 100
    # 4 answers a row in place: two rows exhaust their in-place retries, the third gets through.
    emulator.rate_limit("chat.postMessage", retry_after=1, times=9)
    emulator.http_error("chat.postMessage", status=503, times=3)
    emulator.fail_next("chat.postMessage", "internal_error", times=2)
    emulator.rate_limit("chat.postMessage", retry_after=1, times=4)  # one more exhausts them
    pacer, fake = fake_pacer(fake_time)
    deliver_until_done(sender_for(runtime, pacer), database, clock)

    assert dms_per_person(emulator, users, "Big pulse") == Counter({u: 1 for u in users})
    assert statuses(database) == Counter({OutboxStatus.SENT: 100})
    calls = emulator.calls_to("chat.postMessage")
    assert Counter(call.status for call in calls)[429] == 13
    assert len([c for c in calls if c.status == 200]) == 100 + 2  # 2 answered ok: false
    # Paced below the ceiling: 100 posts at 5/s with a burst of 20 take at least 16 s (fake),
    # more than the 13 one-second pauses after the 429s alone.
    assert fake.now >= (100 - 20) / 5
    assert any(seconds >= 1 for seconds in fake.slept)  # Retry-After was honoured
    with database.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert all(row.ts and row.channel for row in rows)


class Crash(BaseException):
    """The process dies (not an Exception: nothing in the sender may catch it)."""


def test_a_crash_mid_fan_out_resumes_after_restart_without_sending_twice(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    users = project_with_many_key_users(runtime, emulator, 60)
    open_poll_for_everyone(runtime, title="Crash pulse")
    real = transport_for_client(runtime.client(TEAM))
    sent = {"count": 0}

    def dies_after_slack_answers(row: OutboxMessage) -> dict[str, Any]:
        answer = real(row)
        sent["count"] += 1
        if sent["count"] == 30:
            raise Crash("killed between Slack's answer and marking the row sent")
        return answer

    dies_after_slack_answers.find_sent = real.find_sent  # type: ignore[attr-defined]
    pacer, _fake = fake_pacer(fake_time)
    with pytest.raises(Crash):
        sender_for(runtime, pacer, dies_after_slack_answers).deliver_due(team_id=TEAM)
    left = statuses(database)
    # 29 sent; the rows of the claim it was working on stay claimed, the others wait (the rows
    # whose budget was spent went back to the outbox unclaimed).
    claimed = left[OutboxStatus.SENDING]
    assert left[OutboxStatus.SENT] == 29 and claimed > 0
    assert claimed + left[OutboxStatus.PENDING] == 60 - 29

    restarted = sender_for(runtime, pacer)
    restarted.deliver_due(team_id=TEAM)  # fresh claims are left alone; unclaimed rows go out
    assert statuses(database)[OutboxStatus.SENDING] == claimed
    clock.advance(CLAIM_TIMEOUT + timedelta(seconds=1))
    deliver_until_done(restarted, database, clock)

    assert dms_per_person(emulator, users, "Crash pulse") == Counter({u: 1 for u in users})
    assert len([c for c in emulator.calls_to("chat.postMessage") if c.status == 200]) == 60
    assert emulator.calls_to("conversations.history")  # the resumed rows were checked first


def test_permanent_errors_are_recorded_not_retried_and_shown_to_the_pm(
    slack: SlackDriver,
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
) -> None:
    # Slack's limits stay off here: the listeners' own calls would meet them on the virtual clock,
    # which only the pacer moves, and slack_sdk would wait out the Retry-After in real time.
    emulator.use_rate_limits(False)
    project_with_key_users(slack)
    emulator.add_user(KEY_USERS[3], "key4", real_name="Key User 4", deleted=True)  # left
    create_poll(slack)
    with database.session() as session:
        failed = session.exec(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        ).all()
        assert [(row.key, row.error) for row in failed] == [
            (f"poll:1:invite:{KEY_USERS[3]}", "user_disabled")
        ]
        assert [r.key for r in delivery.failures(session, team_id=TEAM, subject="poll:1")] == [
            f"poll:1:invite:{KEY_USERS[3]}"
        ]
    calls = len(emulator.calls_to("chat.postMessage"))
    clock.advance(hours=1)
    run_due(runtime)
    assert len(emulator.calls_to("chat.postMessage")) == calls  # never retried
    slack.slash_command(PM, "/poll", "results 1")
    shown = texts([last_response(slack)])
    assert (
        "Could not be reached in Slack" in shown
        and f"<@{KEY_USERS[3]}> (account deactivated)" in shown
    )


def test_running_the_sender_again_sends_nothing_twice(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    project_with_many_key_users(runtime, emulator, 5)
    open_poll_for_everyone(runtime)
    pacer, _fake = fake_pacer(fake_time)
    sender = sender_for(runtime, pacer)
    assert sender.deliver_due(team_id=TEAM).sent == 5
    clock.advance(CLAIM_TIMEOUT * 3)
    assert sender.deliver_due(team_id=TEAM).sent == 0
    assert len(emulator.calls_to("chat.postMessage")) == 5


def test_a_retry_after_an_uncertain_failure_finds_the_message_already_posted(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    [user] = project_with_many_key_users(runtime, emulator, 1)
    open_poll_for_everyone(runtime, title="Lost answer")
    real = transport_for_client(runtime.client(TEAM))

    def answer_lost(row: OutboxMessage) -> dict[str, Any]:
        real(row)  # Slack posts it, but the connection breaks before its answer arrives
        raise delivery.TransientError("TimeoutError")

    answer_lost.find_sent = real.find_sent  # type: ignore[attr-defined]
    pacer, _fake = fake_pacer(fake_time)
    sender_for(runtime, pacer, answer_lost).deliver_due(team_id=TEAM)
    clock.advance(minutes=5)
    sender_for(runtime, pacer).deliver_due(team_id=TEAM)
    assert dms_per_person(emulator, [user], "Lost answer")[user] == 1
    with database.session() as session:
        [row] = session.exec(select(OutboxMessage)).all()
    assert row.status == OutboxStatus.SENT and row.ts == emulator.dm_messages(user)[-1]["ts"]


def test_a_chart_upload_that_crashed_after_sharing_is_not_shared_twice(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    from bot.services.poll_closing import chart_payload
    from storage.models import Poll, Project

    project_with_many_key_users(runtime, emulator, 1)
    open_poll_for_everyone(runtime, title="Chart poll")
    with database.session() as session:
        poll = session.exec(select(Poll)).one()
        project = session.exec(select(Project)).one()
        for row in session.exec(select(OutboxMessage)).all():
            row.status = OutboxStatus.SENT  # the invitations are not what this test is about
            session.add(row)
        delivery.enqueue(
            session,
            team_id=TEAM,
            key=f"poll:{poll.id}:chart:{PM}",
            method="files.upload_v2",
            payload=chart_payload(project, poll, b"\x89PNG fake", PM),
            now=clock.now(),
            expires_at=clock.now() + delivery.RECORD_LIFETIME,
        )
    real = transport_for_client(runtime.client(TEAM))

    def dies_after_the_share(row: OutboxMessage) -> dict[str, Any]:
        real(row)  # Slack shares the file, then the process dies before marking the row sent
        raise delivery.TransientError("ConnectionResetError")

    dies_after_the_share.find_sent = real.find_sent  # type: ignore[attr-defined]
    pacer, _fake = fake_pacer(fake_time)
    assert sender_for(runtime, pacer, dies_after_the_share).deliver_due(team_id=TEAM).retried == 1
    clock.advance(minutes=10)
    assert sender_for(runtime, pacer).deliver_due(team_id=TEAM).sent == 1
    assert len(emulator.files) == 1
    assert len(emulator.calls_to("files.completeUploadExternal")) == 1
    with database.session() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.key.contains("chart"))).one()  # type: ignore[attr-defined]
    assert row.status == OutboxStatus.SENT and row.ts == emulator.files[0]["id"]
    assert emulator.violations == []


def test_the_pacer_keeps_a_channel_near_one_message_a_second_and_honours_a_pause(
    fake_time: FakeTime,
) -> None:
    pacer, fake = fake_pacer(
        fake_time, rates={"chat.postMessage": (100.0, 100.0)}, per_channel=(1.0, 4.0)
    )
    for _ in range(10):
        pacer.acquire(TEAM, "chat.postMessage", "D1")
    assert fake.now == pytest.approx(6.0)  # a burst of 4, then one a second
    for _ in range(4):
        pacer.acquire(TEAM, "chat.postMessage", f"D{_ + 2}")  # other channels are not held up
    assert fake.now == pytest.approx(6.0)
    pacer.pause(TEAM, "chat.update", 3)
    pacer.acquire(TEAM, "chat.update", "D1")
    assert fake.now == pytest.approx(9.0)


def test_a_fan_out_paced_by_the_outbox_gets_no_429_from_slacks_rate_limits(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    # More than the burst of Slack's workspace-wide limit (100): a sender that did not pace would
    # meet it.
    users = project_with_many_key_users(runtime, emulator, 120)
    open_poll_for_everyone(runtime, title="Paced pulse")
    pacer, _fake = fake_pacer(fake_time)
    deliver_until_done(sender_for(runtime, pacer), database, clock)
    assert dms_per_person(emulator, users, "Paced pulse") == Counter({u: 1 for u in users})
    assert [c for c in emulator.calls if c.status == 429] == []


def test_slacks_limits_answer_429_to_a_sender_too_fast_for_one_channel_and_nothing_is_lost(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    with runtime.unit(TEAM) as ctx:
        for number in range(30):
            delivery.enqueue(
                ctx.session,
                team_id=TEAM,
                key=f"burst:{number}",
                payload={"channel": "C0GENERAL", "text": f"Burst {number}"},
                now=clock.now(),
                expires_at=clock.now() + delivery.RECORD_LIFETIME,
            )
    # A pacer that ignores the per-channel limit: Slack's own limit must stop it.
    pacer, _fake = fake_pacer(
        fake_time, rates={"chat.postMessage": (100.0, 100.0)}, per_channel=None
    )
    deliver_until_done(sender_for(runtime, pacer), database, clock)
    limited = [c for c in emulator.calls_to("chat.postMessage") if c.status == 429]
    assert limited, "posting 30 messages into one channel at once must meet Slack's limit"
    posted = [m["text"] for m in emulator.messages("C0GENERAL")]
    assert sorted(posted) == sorted(f"Burst {number}" for number in range(30))


def test_enqueueing_a_key_twice_keeps_the_first_message_and_adds_no_row(
    runtime: Runtime, database: Database, clock: MovableClock
) -> None:
    with runtime.unit(TEAM) as ctx:
        first = delivery.enqueue(
            ctx.session,
            team_id=TEAM,
            key="reminder:7:2026-12-01",
            payload={"channel": PM, "text": "first"},
            now=clock.now(),
            expires_at=clock.now() + delivery.RECORD_LIFETIME,
        )
        again = delivery.enqueue(
            ctx.session,
            team_id=TEAM,
            key="reminder:7:2026-12-01",
            payload={"channel": PM, "text": "second"},
            now=clock.now(),
            expires_at=clock.now() + delivery.RECORD_LIFETIME,
        )
        assert again.id == first.id and again.payload["text"] == "first"
    with database.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert [(row.key, row.payload["text"]) for row in rows] == [("reminder:7:2026-12-01", "first")]


def test_failures_and_expired_messages_are_listed_per_workspace_and_subject(
    runtime: Runtime, database: Database, clock: MovableClock
) -> None:
    def row(team: str, key: str, subject: str, status: str) -> OutboxMessage:
        return OutboxMessage(
            team_id=team,
            key=key,
            method="chat.postMessage",
            payload={"channel": PM, "text": key},
            status=status,
            created_at=clock.now(),
            next_attempt_at=clock.now(),
            expires_at=clock.now() + delivery.RECORD_LIFETIME,
            subject=subject,
        )

    with database.session() as session:
        session.add(row(TEAM, "mine", "poll:1", OutboxStatus.FAILED))
        session.add(row(TEAM, "sent", "poll:1", OutboxStatus.SENT))
        session.add(row(TEAM, "mine, stale", "poll:1", OutboxStatus.EXPIRED))
        session.add(row(TEAM, "waiting", "poll:1", OutboxStatus.PENDING))
        session.add(row(TEAM, "other poll", "poll:2", OutboxStatus.FAILED))
        session.add(row("T0002", "other workspace", "poll:1", OutboxStatus.FAILED))
        session.commit()
        assert [r.key for r in delivery.failures(session, team_id=TEAM, subject="poll:1")] == [
            "mine",
            "mine, stale",
        ]


def test_a_pause_before_any_call_keeps_the_methods_own_pace_afterwards(
    fake_time: FakeTime,
) -> None:
    pacer, fake = fake_pacer(fake_time, rates={"chat.update": (0.5, 10.0)})
    pacer.pause(TEAM, "chat.update", 1)
    moments = []
    for _ in range(3):
        pacer.acquire(TEAM, "chat.update", "C1")
        moments.append(fake.now)
    # After a 429 the burst is gone: one call when the pause ends, then the method's own pace of
    # one every 2 s (what refilled during the pause counts).
    assert moments == pytest.approx([1.0, 2.0, 4.0])


def test_slacks_retry_after_is_honoured_to_the_second(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    [user] = project_with_many_key_users(runtime, emulator, 1)
    open_poll_for_everyone(runtime, title="Patient pulse")
    emulator.rate_limit("chat.postMessage", retry_after=7)
    pacer, fake = fake_pacer(fake_time)
    before = fake.now
    sender_for(runtime, pacer).deliver_due(team_id=TEAM)
    assert dms_per_person(emulator, [user], "Patient pulse")[user] == 1
    assert fake.now - before >= 7  # it waited Slack's Retry-After, not a default second


# ------------------------------------------------------- fencing, lookup, shared budget


def test_a_sender_whose_claim_went_stale_sends_nothing_another_sender_took_over(
    runtime: Runtime,
    emulator: SlackEmulator,
    database: Database,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    people = project_with_many_key_users(runtime, emulator, 3)
    _poll_id, keys = open_poll_for_everyone(runtime)
    slow = sender_for(runtime, fake_pacer(fake_time)[0])
    rows = slow._claim(TEAM, keys)  # claimed, then the process stalls past the claim timeout
    assert len(rows) == 3
    clock.advance(CLAIM_TIMEOUT + timedelta(minutes=1))
    sender_for(runtime, fake_pacer(fake_time)[0]).deliver_due(team_id=TEAM)
    outcome = delivery.SendOutcome()
    for row in rows:  # the stalled sender wakes up and goes on with its batch from memory
        slow._send_one(row, outcome)
    assert outcome.sent == 0
    assert dms_per_person(emulator, people, "Pulse") == Counter({person: 1 for person in people})
    assert statuses(database) == Counter({OutboxStatus.SENT: 3})


def test_a_resend_finds_the_message_however_many_came_after_it(
    runtime: Runtime,
    emulator: SlackEmulator,
    database: Database,
    clock: MovableClock,
    fake_time: FakeTime,
) -> None:
    [person] = project_with_many_key_users(runtime, emulator, 1)
    _poll_id, [key] = open_poll_for_everyone(runtime)
    sender_for(runtime, fake_pacer(fake_time)[0]).deliver_due(team_id=TEAM)
    # The answer was lost (a timeout): the row looks unsent, and 150 messages came since.
    with database.session() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()
        row.status, row.ts, row.next_attempt_at = OutboxStatus.PENDING, None, clock.now()
        session.add(row)
    channel = emulator.dm_channel_id(person)
    for index in range(150):
        emulator.add_message(channel, person, f"chatter {index}")
    sender_for(runtime, fake_pacer(fake_time)[0]).deliver_due(team_id=TEAM)
    assert dms_per_person(emulator, [person], "Pulse") == Counter({person: 1})
    with database.session() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()
    assert row.status == OutboxStatus.SENT and row.ts is not None


def test_the_send_budget_is_shared_by_every_process(database: Database) -> None:
    fake = FakeTime()
    rates = {"chat.postMessage": (1.0, 2.0)}

    def process() -> delivery.SharedPacer:
        return delivery.SharedPacer(
            database, rates=rates, per_channel=None, wall=fake.monotonic, sleep=fake.sleep
        )

    web, scheduler = process(), process()
    web.acquire(TEAM, "chat.postMessage")
    web.acquire(TEAM, "chat.postMessage")  # the burst is spent
    scheduler.acquire(TEAM, "chat.postMessage")  # another process: it must wait its turn
    assert fake.slept and sum(fake.slept) == pytest.approx(1.0, abs=0.01)
    scheduler.pause(TEAM, "chat.postMessage", 30)
    web.acquire(TEAM, "chat.postMessage")  # a 429 seen by one process pauses the other
    assert sum(fake.slept) >= 30


def keys_in_slack(emulator: SlackEmulator) -> Counter[str]:
    """How many messages in Slack carry each outbox key (in their metadata), threads included."""
    with emulator.workspace.lock:
        messages = [m for stored in emulator.workspace.messages.values() for m in stored]
    return Counter(
        str(((m.get("metadata") or {}).get("event_payload") or {}).get("key"))
        for m in messages
        if m.get("metadata")
    )


def test_a_half_hour_slack_outage_delivers_every_timely_message_once_and_expires_the_stale(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
) -> None:
    from bot.calendar import service as calendar
    from bot.jobs import issues as issue_notices
    from bot.services import issues as issue_service
    from bot.services import meetings as meeting_service
    from bot.services import projects as project_service
    from bot.views.meetings import MESSAGES as MEETING_MESSAGES

    told: list[str] = []  # what each run says it did
    expired_in_runs = 0

    def run_until(moment: datetime) -> None:
        nonlocal expired_in_runs
        while clock.now() < moment:
            results = run_due(runtime)
            expired_in_runs += results["deliver_outbox"]["expired"]
            told.append(describe_run("en", results))
            clock.advance(minutes=1)

    fans = project_with_many_key_users(runtime, emulator, 3)
    start = clock.now()
    outage, recovery = start + timedelta(minutes=10), start + timedelta(minutes=40)
    events = {}
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "FAN")
        # Their reminders (15 minutes before) fall due during the outage; the stand-up begins
        # before Slack is back, the steering meeting after.
        for title, minutes in (("Stand-up", 35), ("Steering", 50)):
            [meeting], _keys = meeting_service.create_meeting(
                ctx=ctx,
                project=project,
                data=meeting_service.MeetingInput(
                    title=title,
                    starts_at=start + timedelta(minutes=minutes),
                    duration_minutes=10,
                    people=fans[:2],
                    reminders=[15],
                ),
                messages=MEETING_MESSAGES,
            )
            events[title] = f"calendar:{meeting.event_id}"
    run_until(outage)  # the invitations arrive; the two invited accept
    for fan in fans[:2]:
        with runtime.unit(TEAM, fan) as ctx:
            for subject in events.values():
                calendar.respond(
                    ctx=ctx,
                    event_id=int(subject.split(":")[1]),
                    user_id=fan,
                    response="accepted",
                    messages=MEETING_MESSAGES,
                )
    emulator.outage(clock.now, until=recovery)  # every call answers 503 service_unavailable
    open_poll_for_everyone(runtime, title="Outage pulse")  # open for days: must arrive
    with runtime.unit(TEAM, PM) as ctx:
        # An issue logged as the form does: its message is a record; the confirmation to the
        # reporter answers their submission and is stale after a few minutes.
        change = issue_service.create_issue(
            ctx=ctx,
            project=project_service.get_project(ctx, "FAN"),
            data=issue_service.IssueInput(title="Printer on fire", reporter_id=PM),
        )
        issue_notices.announce_created(ctx, change)
        issue_notices.confirm_created(ctx, change.issue, change.project, None)
    run_until(recovery + timedelta(minutes=20))

    failed_calls = [index for index, call in enumerate(emulator.calls) if call.status == 503]
    assert len(failed_calls) > 20 and all(
        call.status != 503 for call in emulator.calls[failed_calls[-1] + 1 :]
    )
    with database.session() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    # Nothing is left waiting and nothing is lost silently: sent, or expired with the reason.
    assert {row.status for row in rows} == {OutboxStatus.SENT, OutboxStatus.EXPIRED}
    expired = {row.key: row.error for row in rows if row.status == OutboxStatus.EXPIRED}
    # What was stale when Slack came back: the stand-up's reminders (it had begun) and the
    # confirmation of the issue. Never sent, each with its reason.
    confirmation = f"issue:{change.issue.id}:created:dm"
    reminders = [
        row.key for row in rows if row.subject == events["Stand-up"] and ":remind:" in row.key
    ]
    assert len(reminders) == 2
    last_error = "deadline passed; last error: service_unavailable"
    assert expired == {key: last_error for key in [*reminders, confirmation]}
    assert expired_in_runs == 3
    assert any("1 message not sent before its deadline, marked expired" in line for line in told)
    in_slack = keys_in_slack(emulator)
    assert not any(in_slack[key] for key in expired)
    # Every timely message arrived exactly once: the poll's invitations, the steering meeting's
    # reminders, the issue's message in the project channel.
    sent = [row for row in rows if row.status == OutboxStatus.SENT]
    posted = [row.key for row in sent if row.method == "chat.postMessage"]
    assert {key: in_slack[key] for key in posted} == {key: 1 for key in posted}
    assert all(row.ts for row in sent)
    assert dms_per_person(emulator, fans, "Outage pulse") == Counter({fan: 1 for fan in fans})
    assert dms_per_person(emulator, fans[:2], "Steering") == Counter({fan: 2 for fan in fans[:2]})
    assert (
        len([row for row in sent if row.subject == events["Steering"] and ":remind:" in row.key])
        == 2
    )
    assert in_slack[f"issue:{change.issue.id}:message"] == 1
    # Only when an operator asks does an expired message go out, once, with a fresh deadline.
    with database.session() as session:
        [again] = delivery.requeue(session, now=clock.now(), kinds=["issue"])
    assert (again.key, again.was) == (confirmation, OutboxStatus.EXPIRED)
    run_until(clock.now() + timedelta(minutes=2))
    assert keys_in_slack(emulator)[confirmation] == 1


def test_an_outage_answering_a_proxys_html_page_is_recorded_as_its_http_status(
    runtime: Runtime,
    database: Database,
    emulator: SlackEmulator,
    clock: MovableClock,
) -> None:
    [user] = project_with_many_key_users(runtime, emulator, 1)
    page = "<html><body><h1>503 Service Temporarily Unavailable</h1>" + "x" * 2000
    emulator.outage(clock.now, until=clock.now() + timedelta(minutes=10), page=page)
    open_poll_for_everyone(runtime, title="Behind a proxy")
    run_due(runtime)
    with database.session() as session:
        [row] = session.exec(select(OutboxMessage)).all()
    # What operators and the PM read is the status, not a page of HTML.
    assert (row.status, row.error) == (OutboxStatus.PENDING, "http_503")
    for _minute in range(15):
        clock.advance(minutes=1)
        run_due(runtime)
    assert dms_per_person(emulator, [user], "Behind a proxy")[user] == 1


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "en",
            [
                "account deactivated",
                "not in the workspace",
                "not sent in time: Slack was unavailable",
                "Slack refused the message",
            ],
        ),
        (
            "zh-CN",
            [
                "账号已停用",
                "不在工作区中",
                "未能按时发送：Slack 当时不可用",
                "Slack 拒绝了这条消息",
            ],
        ),
    ],
)
def test_a_pm_reads_why_an_invitation_never_arrived_in_words_not_slack_codes(
    locale: str, expected: list[str]
) -> None:
    from bot.views.polls import failure_reason

    errors = [
        "user_disabled",
        "channel_not_found",
        "deadline passed; last error: service_unavailable",
        "http_503",
    ]
    assert [failure_reason(locale, error) for error in errors] == expected
