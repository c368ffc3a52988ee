"""A failover drill: three `liaison scheduler` processes, one PostgreSQL database, the emulator.

A poll fans out to ``users`` key users and ``owners`` issue owners are reminded of their overdue
issues every day of a simulated month (the processes share a ``SimulatedClock``). Mid-fan-out the
leading scheduler is killed with SIGKILL; later the new leader's database connection is
terminated. Every outbox row must reach Slack exactly once, or (a day's reminder whose day ended
first: a simulated day lasts about a second) expire unsent with its reason: the drill counts the
messages the emulator holds per idempotency key, and times each takeover.
``tests/test_schedulers.py`` runs it in CI; ``bench/schedulers.py`` prints the same figures.

Sharded (``shards`` > 1, ``teams`` workspaces, at least one per shard): the processes run
``liaison scheduler --shards N`` and spread the shards; mid-fan-out the process leading shard 1 is
killed, and the takeover time is until every shard is led again by the others.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.clock import SimulatedClock
from bot.emulator.server import SlackEmulator
from bot.runtime import Runtime
from bot.scheduler import ADVISORY_LOCK_ID, MEMBER_KEY_BASE
from bot.settings import Settings
from bot.shards import shard_of
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus

TEAM = "T0DRILL1"
PM = "UPMDRILL1"
START = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


@dataclass
class DrillFigures:
    users: int
    owners: int
    days: int
    shards: int = 1
    teams: int = 1
    messages: int = 0  # outbox rows sent
    missing: int = 0  # outbox rows never sent, and not expired with a reason either
    expired: int = 0  # outbox rows past their deadline unsent, with the reason
    expired_in_slack: int = 0  # rows marked expired whose message is in Slack all the same
    duplicated: int = 0  # outbox keys found more than once in Slack
    invitations_per_person: Counter[int] = field(default_factory=Counter)
    reminder_days: int = 0  # distinct (owner, day) reminders in Slack
    reminders_expired: int = 0  # (owner, day) reminders whose day ended before they could go
    takeover_after_kill: float | None = None  # seconds
    takeover_after_terminate: float | None = None
    seconds: float = 0.0

    def table(self) -> str:
        rows = [
            ("workspaces, shards", f"{self.teams}, {self.shards}"),
            ("key users invited", str(self.users)),
            ("issue owners reminded daily", f"{self.owners} × {self.days} simulated days"),
            ("outbox messages sent", str(self.messages)),
            ("missing (never sent, no reason)", str(self.missing)),
            ("expired unsent, with the reason", str(self.expired)),
            ("expired, yet in Slack", str(self.expired_in_slack)),
            ("duplicated (same key twice in Slack)", str(self.duplicated)),
            ("invitations per person", dict(sorted(self.invitations_per_person.items())).__str__()),
            ("daily reminders in Slack (owner × day)", str(self.reminder_days)),
            ("daily reminders expired (owner × day)", str(self.reminders_expired)),
            ("takeover after kill -9 of the leader", _seconds(self.takeover_after_kill)),
            ("takeover after its DB connection died", _seconds(self.takeover_after_terminate)),
            ("drill took", f"{self.seconds:.1f} s"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _lock_holder(database: Database) -> tuple[int, str] | None:
    """(backend pid, application name) of the session holding the scheduler's lock."""
    with database.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT l.pid, a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = :key"
            ),
            {"key": ADVISORY_LOCK_ID},
        ).first()
    return (int(row[0]), str(row[1])) if row else None


def shard_holders(database: Database) -> dict[int, tuple[int, str]]:
    """Each led shard's index: (backend pid, application name) of the session holding its lock."""
    with database.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT l.objid, l.pid, a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :key "
                "AND l.objsubid = 2 AND l.objid < :members"
            ),
            {"key": ADVISORY_LOCK_ID, "members": MEMBER_KEY_BASE},
        ).all()
    return {int(objid) % 65536: (int(pid), str(name)) for objid, pid, name in rows}


def drill_teams(count: int, shards: int) -> list[str]:
    """``count`` team ids, every shard among the first ``shards`` (``TEAM`` first)."""
    teams = [TEAM]
    candidate = 1
    while len(teams) < count:
        candidate += 1
        team = f"T0DRILL{candidate}"
        covered = {shard_of(t, shards) for t in teams}
        if len(teams) < shards and shard_of(team, shards) in covered:
            continue
        teams.append(team)
    return teams


def _wait(condition, timeout: float, step: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None


def _sent(database: Database, prefix: str) -> int:
    with database.session() as session:
        rows = session.exec(
            select(OutboxMessage.key).where(
                OutboxMessage.status == OutboxStatus.SENT,
                OutboxMessage.key.startswith(prefix),  # type: ignore[attr-defined]
            )
        ).all()
    return len(rows)


def seed(
    runtime: Runtime,
    emulator: SlackEmulator,
    users: int,
    owners: int,
    team: str = TEAM,
    tag: str = "",
) -> list[str]:
    from bot.services import issues as issue_service
    from bot.services import keyusers as keyuser_service
    from bot.services import polls as poll_service
    from bot.services import projects as project_service
    from bot.views.polls import MESSAGES

    people = [f"UDRL{tag}{index:05d}" for index in range(users)]
    owner_ids = [f"UOWN{tag}{index:04d}" for index in range(owners)]
    emulator.add_user(PM, "pm")
    for user_id in people + owner_ids:
        emulator.add_user(user_id, user_id.lower())
    with runtime.unit(team, PM) as ctx:
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(name="Drill", code="DRL", pm_ids=[PM]),
        )
        project_service.set_team_members(ctx=ctx, project=project, user_ids=owner_ids)
        for user_id in people:
            keyuser_service.add_key_user(
                ctx=ctx,
                project=project,
                data=keyuser_service.KeyUserInput(user_id=user_id, display_name=user_id),
            )
        for owner in owner_ids:
            issue_service.create_issue(
                ctx=ctx,
                project=project,
                data=issue_service.IssueInput(
                    title=f"Open item of {owner}",
                    priority="P4",
                    reporter_id=people[0],
                    owner_id=owner,
                    due_date=START.date(),
                ),
            )
        poll_service.create_poll(
            ctx=ctx,
            project=project,
            data=poll_service.PollInput(
                title="Drill pulse",
                remind_hours=None,
                closes_at=START + timedelta(days=60),
                questions=[poll_service.QuestionInput("rating", "How is it going?")],
            ),
            messages=MESSAGES,
        )
    return people


def run_drill(
    database_url: str,
    *,
    users: int = 500,
    owners: int = 10,
    days: int = 31,
    month_seconds: float = 30.0,
    processes: int = 3,
    shards: int = 1,
    teams: int = 1,
    log_dir: Path,
) -> DrillFigures:
    """Run the drill against a migrated, empty PostgreSQL database at ``database_url``; the
    ``users`` and ``owners`` are split between ``teams`` workspaces."""
    began = time.monotonic()
    teams = max(teams, shards)
    figures = DrillFigures(users=users, owners=owners, days=days, shards=shards, teams=teams)
    database = Database(database_url)
    emulator = SlackEmulator(team_id=TEAM, team_name="drill").start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        boot = 4.0 + processes
        end = START + timedelta(days=days)
        clock = SimulatedClock(START, time.time() + boot, days * 86400 / month_seconds, end)
        settings = Settings(bot_token="xoxb-drill", api_url=emulator.url, database_url="unused")
        runtime = Runtime(settings=settings, database=database, clock=clock)
        people: list[str] = []
        for number, team in enumerate(drill_teams(teams, shards)):
            share = users // teams + (1 if number < users % teams else 0)
            owned = owners // teams + (1 if number < owners % teams else 0)
            tag = f"{number:02d}" if teams > 1 else ""
            people += seed(runtime, emulator, share, owned, team, tag)
        url = make_url(database_url)
        for index in range(processes):
            name = f"drill-scheduler-{index}"
            query = dict(url.query) | {"application_name": name}
            env = {
                **os.environ,
                "DATABASE_URL": url.set(query=query).render_as_string(hide_password=False),
                "SLACK_BOT_TOKEN": "xoxb-drill",
                "SLACK_API_URL": emulator.url,
                "LIAISON_SIMULATED_CLOCK": clock.spec(),
                "LIAISON_STANDBY_SECONDS": "0.5",
                "LIAISON_CLAIM_TIMEOUT_SECONDS": "3",
                "LIAISON_RATE_SCALE": "20",
                "LIAISON_LOG_LEVEL": "INFO",
            }
            for variable in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "LIAISON_LOG_JSON"):
                env.pop(variable, None)
            log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "scheduler", "--shards", str(shards)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        by_name = {f"drill-scheduler-{i}": worker for i, worker in enumerate(workers)}
        if shards > 1:
            _kill_a_shard_leader(figures, database, by_name, users)
        else:
            _kill_the_leader_then_cut_its_successor(
                figures, database, by_name, users, month_seconds
            )
        # 3. Let the month run out (the clock then stands still) and the outbox drain.
        _drain(database, clock, end, month_seconds)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        emulator.stop()
    _count(figures, database, emulator, people)
    database.dispose()
    figures.seconds = time.monotonic() - began
    return figures


def _kill_the_leader_then_cut_its_successor(
    figures: DrillFigures,
    database: Database,
    by_name: dict[str, subprocess.Popen[bytes]],
    users: int,
    month_seconds: float,
) -> None:
    # 1. kill -9 the leader once a fifth of the invitations went out.
    invited = "poll:"
    if _wait(lambda: _sent(database, invited) >= users // 5, timeout=60) is None:
        raise RuntimeError("the fan-out never started; see the scheduler logs")
    holder = _lock_holder(database)
    if holder is None:
        raise RuntimeError("no scheduler holds the lock during the fan-out")
    killed_at = time.monotonic()
    by_name[holder[1]].send_signal(signal.SIGKILL)
    new = _wait(lambda: (h := _lock_holder(database)) and h[1] != holder[1] and h, 30)
    if new:
        figures.takeover_after_kill = time.monotonic() - killed_at
    # 2. A while later, terminate the new leader's database connection.
    time.sleep(month_seconds / 4)
    holder = _lock_holder(database)
    if holder is not None:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder[0]})
            connection.commit()
        terminated_at = time.monotonic()
        again = _wait(lambda: (h := _lock_holder(database)) and h[0] != holder[0] and h, 30)
        if again:
            figures.takeover_after_terminate = time.monotonic() - terminated_at


def _kill_a_shard_leader(
    figures: DrillFigures,
    database: Database,
    by_name: dict[str, subprocess.Popen[bytes]],
    users: int,
) -> None:
    """kill -9 the process leading shard 1 once a fifth of the invitations went out; the
    takeover lasts until every shard is led again, by the other processes."""
    if _wait(lambda: _sent(database, "poll:") >= users // 5, timeout=60) is None:
        raise RuntimeError("the fan-out never started; see the scheduler logs")
    if _wait(lambda: len(shard_holders(database)) == figures.shards, timeout=30) is None:
        raise RuntimeError("the shards were never all led; see the scheduler logs")
    victim = shard_holders(database)[min(1, figures.shards - 1)][1]
    killed_at = time.monotonic()
    by_name[victim].send_signal(signal.SIGKILL)

    def all_led_again() -> bool:
        holders = shard_holders(database)
        return len(holders) == figures.shards and all(n != victim for _, n in holders.values())

    if _wait(all_led_again, 30):
        figures.takeover_after_kill = time.monotonic() - killed_at


def _drain(database: Database, clock: SimulatedClock, end: datetime, month_seconds: float) -> None:
    _wait(lambda: clock.now() >= end, timeout=month_seconds * 3, step=0.2)

    def drained() -> bool:
        with database.session() as session:
            left = session.exec(
                select(OutboxMessage.id).where(
                    OutboxMessage.status.in_(  # type: ignore[attr-defined]
                        [OutboxStatus.PENDING, OutboxStatus.SENDING]
                    )
                )
            ).all()
        return not left

    _wait(drained, timeout=480, step=0.2)  # a loaded machine (CI's other worker) drains slower


def _count(
    figures: DrillFigures, database: Database, emulator: SlackEmulator, people: list[str]
) -> None:
    in_slack: Counter[str] = Counter()
    with emulator.workspace.lock:
        stored = [m for messages in emulator.workspace.messages.values() for m in messages]
    for message in stored:
        key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key")
        if key:
            in_slack[key] += 1
    with database.session() as session:
        rows = session.exec(
            select(OutboxMessage).where(OutboxMessage.method == "chat.postMessage")
        ).all()
    figures.messages = sum(1 for row in rows if row.status == OutboxStatus.SENT)
    expired = [row for row in rows if row.status == OutboxStatus.EXPIRED and row.error]
    # A notice grouped into a DM that expired unsent expired with it, for the same reason.
    expired_keys = {row.key for row in expired}
    expired += [
        row for row in rows if row.status == OutboxStatus.GROUPED and row.error in expired_keys
    ]
    figures.expired = len(expired)
    figures.expired_in_slack = sum(1 for row in expired if in_slack[row.key])
    figures.reminders_expired = sum(1 for row in expired if row.key.startswith("reminder:"))

    def delivered(row: OutboxMessage) -> bool:
        """In Slack under its own key, or as a section of the grouped DM its ``error`` names."""
        if row.status == OutboxStatus.GROUPED:
            return in_slack[row.error or ""] > 0
        return in_slack[row.key] > 0

    # Not lost: expired with the reason, withdrawn with the reason (a newer list superseded it),
    # or held for the person's morning summary.
    accounted = {row.id for row in expired} | {
        row.id
        for row in rows
        if row.status == OutboxStatus.HELD or (row.status == OutboxStatus.CANCELLED and row.error)
    }
    figures.missing = sum(1 for row in rows if not delivered(row) and row.id not in accounted)
    figures.duplicated = sum(1 for count in in_slack.values() if count > 1)
    invitations = Counter(
        key.rsplit(":", 1)[-1] for key in in_slack.elements() if ":invite:" in key
    )
    figures.invitations_per_person = Counter(invitations[person] for person in people)
    figures.reminder_days = sum(
        1 for row in rows if row.key.startswith("reminder:") and delivered(row)
    )
