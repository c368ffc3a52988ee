"""Many workspaces on one database: a full job cycle at 100 and 1,000 workspaces, and sharded
scheduler processes against the Slack emulator.

    python bench/tenants.py                                    # SQLite
    python bench/tenants.py --database-url postgresql://user@host:5432/throwaway

Each workspace has an installation whose bot token is stored encrypted (as in OAuth mode), a
project, 50 key users, 300 issues (a third of them open and past their due date, with an owner),
a weekly poll (opening next week) and a weekly meeting; one more workspace has 5,000 key users.
Workspaces, installations, key users and issues are bulk-inserted; the project, poll and meeting
of each workspace are made through the services.

Printed, for each size:
- the first ``run_due`` cycle of the day (every workspace's owners get their daily reminder, the
  breaches are escalated, the meetings' invitations go out) and the next cycle five minutes later
  (nothing new is due): wall time and SQL statements. ``deliver_outbox`` sends, in these cycles, to
  an in-process stand-in for Slack (no HTTP), so the figures are the database's and the jobs'.

Then, with ``liaison scheduler --shards 4`` processes (OAuth mode: each workspace's token
decrypted from the store) sending to the emulator, whose workspace-wide posting ceiling is set to
``--ceiling`` messages a second (every bench workspace posts into the one emulated workspace, so
the ceiling is the whole bench's):
- messages/s delivered by 1, 2 and 4 processes (``--messages`` DMs over 200 workspaces, from the
  first to the last message Slack received);
- the big workspace's poll opens to its 5,000 key users while reminders fall due, one every
  ``--urgent-every`` seconds, in other workspaces and in the big one: p50/p99 lateness of the
  reminders (Slack's receipt minus the moment the row became due);
- kill -9 of one of three processes: the time until all its shards are led by the others;
- lost (a row never in Slack, and not expired with a reason) and duplicated (a key twice in
  Slack), counted from what the emulator holds against the outbox.

A PostgreSQL database given is emptied (its ``public`` schema is dropped) first.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import storage.models  # noqa: E402, F401
from bench.anonymous_answers import database_for  # noqa: E402
from bench.machine import loop_ms, speed_line  # noqa: E402
from bot.clock import MovableClock, SimulatedClock  # noqa: E402
from bot.crypto import EncryptedInstallationStore, new_key  # noqa: E402
from bot.delivery import Pacer, Sender  # noqa: E402
from bot.emulator.drill import shard_holders  # noqa: E402
from bot.emulator.server import SlackEmulator  # noqa: E402
from bot.jobs import run_due  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.scheduler import ADVISORY_LOCK_ID, shard_lock_key, sqlite_lock_path  # noqa: E402
from bot.services import meetings as meeting_service  # noqa: E402
from bot.services import polls as poll_service  # noqa: E402
from bot.services import projects as project_service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.shards import all_shards, shard_hash  # noqa: E402
from bot.views.meetings import MESSAGES as MEETING_MESSAGES  # noqa: E402
from bot.views.polls import MESSAGES as POLL_MESSAGES  # noqa: E402
from storage.db import Database, StatementCounter  # noqa: E402
from storage.models import (  # noqa: E402
    Issue,
    IssueSettings,
    KeyUser,
    OutboxMessage,
    OutboxStatus,
    Project,
    Workspace,
)

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # a Tuesday, 10:30 in Berlin
PM = "UPMTENANT"
OWNERS = [f"UOWNT{index:03d}" for index in range(5)]
BIG = "TBIGFAN01"
CLIENT_ID = "111.222"
SHARDS = 4


@dataclass(frozen=True)
class Size:
    workspaces: int
    key_users: int = 50
    issues: int = 300
    big_key_users: int = 5000


@dataclass
class Figures:
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, what: str, value: str) -> None:
        self.rows.append((what, value))
        print(f"  {what}: {value}", file=sys.stderr, flush=True)

    def table(self) -> str:
        width = max(len(what) for what, _ in self.rows)
        return "\n".join(f"{what:<{width}}  {value}" for what, value in self.rows)


def team_of(number: int) -> str:
    return f"T{number:07d}"


# ------------------------------------------------------------------------------------ seeding


def seed(runtime: Runtime, size: Size, keys: tuple[str, ...]) -> list[str]:
    """The workspaces of ``size`` and the big one; returns their team ids (the big one last)."""
    teams = [team_of(number) for number in range(size.workspaces)] + [BIG]
    database, now = runtime.database, runtime.clock.now()
    store = EncryptedInstallationStore(client_id=CLIENT_ID, engine=database.engine, keys=keys)
    store.create_tables()
    with database.engine.begin() as connection:
        connection.execute(
            insert(Workspace),
            [
                {"team_id": t, "name": t, "created_at": now, "shard_hash": shard_hash(t)}
                for t in teams
            ],
        )
        connection.execute(  # encrypted by the store's column type, as an install does
            insert(store.bots),
            [
                {
                    "client_id": CLIENT_ID,
                    "app_id": "A0BENCH",
                    "team_id": t,
                    "team_name": t,
                    "bot_token": f"xoxb-bench-{t}",
                    "bot_id": "B0BENCH",
                    "bot_user_id": "U0BENCHBOT",
                    "bot_scopes": "chat:write,im:write",
                    "is_enterprise_install": False,
                    "installed_at": now,
                }
                for t in teams
            ],
        )
    projects: dict[str, int] = {}
    for team in teams:
        with runtime.unit(team, PM) as ctx:
            project = project_service.create_project(
                ctx=ctx,
                data=project_service.ProjectInput(
                    name="S/4HANA rollout",
                    code="ERP",
                    pm_ids=[PM],
                    team_ids=OWNERS,
                    timezone="Europe/Berlin",
                    digest_weekday=2,  # Wednesdays: bench/digest.py measures the digests
                ),
            )
            projects[team] = project.id or 0
    with database.engine.begin() as connection:
        for team in teams:
            people = size.big_key_users if team == BIG else size.key_users
            connection.execute(insert(KeyUser), key_user_rows(team, projects[team], people, now))
        for chunk in range(0, len(teams), 50):
            rows = [
                row
                for team in teams[chunk : chunk + 50]
                for row in issue_rows(team, projects[team], size.issues, now)
            ]
            connection.execute(insert(Issue), rows)
    with database.session() as session:
        session.add_all(
            IssueSettings(team_id=t, project_id=projects[t], next_number=size.issues + 1)
            for t in teams
        )
        session.commit()
    for team in teams:
        with runtime.unit(team, PM) as ctx:
            project = ctx.get(Project, projects[team])
            assert project is not None
            poll_service.create_poll(
                ctx=ctx,
                project=project,
                data=poll_service.PollInput(
                    title="Weekly pulse",
                    opens_at=now + timedelta(days=6),
                    closes_at=now + timedelta(days=8),
                    recurrence="weekly",
                    questions=[poll_service.QuestionInput("rating", "How is it going?")],
                ),
                messages=POLL_MESSAGES,
            )
            meeting_service.create_meeting(
                ctx=ctx,
                project=project,
                data=meeting_service.MeetingInput(
                    title="Weekly steering",
                    starts_at=now + timedelta(days=1, hours=1),
                    duration_minutes=60,
                    people=[OWNERS[0]],
                    repeat="weekly",
                    count="10",
                ),
                messages=MEETING_MESSAGES,
            )
    return teams


def key_user_rows(team: str, project_id: int, count: int, now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "team_id": team,
            "project_id": project_id,
            "user_id": key_user_id(team, number),
            "display_name": f"Key user {number}",
            "role": "key_user",
            "department": ("Finance", "Sales", "Logistics", "HR")[number % 4],
            "module": ("FI", "SD", "MM", "HCM")[number % 4],
            "influence": ("high", "medium", "low")[number % 3],
            "interest": ("high", "medium", "low")[(number // 3) % 3],
            "preferred_channel": "dm",
            "created_at": now,
            "updated_at": now,
        }
        for number in range(count)
    ]


def key_user_id(team: str, number: int) -> str:
    return f"UK{team[1:]}{number:05d}"


def issue_rows(team: str, project_id: int, count: int, now: datetime) -> list[dict[str, Any]]:
    """A third open and past their due date with an owner, a third open and not yet due, a
    third closed."""
    rows = []
    for number in range(1, count + 1):
        kind = number % 3
        created = now - timedelta(days=20, minutes=number)
        due = (now - timedelta(days=3)) if kind == 0 else (now + timedelta(days=10))
        rows.append(
            {
                "team_id": team,
                "project_id": project_id,
                "number": number,
                "title": f"Issue {number}",
                "kind": "issue",
                "module": "FI",
                "priority": ("P2", "P3", "P4")[number % 3],
                "status": "closed" if kind == 2 else "in_progress",
                "reporter_id": key_user_id(team, number % 50),
                "owner_id": OWNERS[number % len(OWNERS)],
                "created_by": PM,
                "due_date": due.date(),
                "due_at": due,
                "first_response_due_at": created + timedelta(hours=8),
                "first_response_at": created + timedelta(hours=1),
                "resolved_at": created + timedelta(days=2) if kind == 2 else None,
                "closed_at": created + timedelta(days=2) if kind == 2 else None,
                "version": 1,
                "created_at": created,
                "updated_at": created,
            }
        )
    return rows


# ----------------------------------------------------------------------------- the job cycle


class StandInRuntime(Runtime):
    """A runtime whose sender answers as Slack would, in process: the cycle's figures are the
    database's and the jobs', not an HTTP server's."""

    def sender(self) -> Sender:
        sent = [0]

        def transport(row: OutboxMessage) -> dict[str, Any]:
            sent[0] += 1
            return {"ok": True, "channel": "D0STANDIN", "ts": f"1700000000.{sent[0]:06d}"}

        moment = [0.0]
        pacer = Pacer(
            rates={},
            per_channel=None,
            monotonic=lambda: moment[0],
            sleep=lambda seconds: moment.__setitem__(0, moment[0] + seconds),
        )
        return Sender(self.database, self.clock, lambda team: transport, pacer=pacer)


def cycle(runtime: Runtime) -> tuple[float, int, int]:
    """One run_due: seconds, statements, messages sent."""
    with StatementCounter(runtime.database.engine) as counted:
        started = time.perf_counter()
        results = run_due(runtime)
        elapsed = time.perf_counter() - started
    return elapsed, counted.count, int(results["deliver_outbox"]["sent"])


def measure_cycles(database: Database, size: Size, keys: tuple[str, ...]) -> Any:
    """Seeds ``size`` into an empty, migrated ``database``; then the day's first cycle and the
    next one."""
    clock = MovableClock(NOW)
    settings = Settings(database_url=database.url, timezone="Europe/Berlin")
    runtime = StandInRuntime(settings=settings, database=database, clock=clock)
    started = time.perf_counter()
    teams = seed(runtime, size, keys)
    seeded = time.perf_counter() - started
    clock.advance(minutes=1)
    first = cycle(runtime)
    clock.advance(minutes=5)
    steady = cycle(runtime)
    return runtime, teams, seeded, first, steady


# ------------------------------------------------------------------------ live: the processes


@dataclass
class Live:
    database: Database
    emulator: SlackEmulator
    clock: SimulatedClock
    keys: tuple[str, ...]
    log_dir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, count: int, shards: int = SHARDS) -> list[subprocess.Popen[bytes]]:
        url = make_url(self.database.url)
        started = []
        for _ in range(count):
            name = f"tenants-scheduler-{len(self.workers)}"
            query = dict(url.query) | {"application_name": name}
            database_url = (
                url.set(query=query) if self.database.is_postgresql else url
            ).render_as_string(hide_password=False)
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "SLACK_CLIENT_ID": CLIENT_ID,
                "SLACK_CLIENT_SECRET": "bench-secret",
                "LIAISON_ENCRYPTION_KEYS": ",".join(self.keys),
                "SLACK_API_URL": self.emulator.url,
                "LIAISON_SIMULATED_CLOCK": self.clock.spec(),
                "LIAISON_STANDBY_SECONDS": "1",
                "LIAISON_RATE_SCALE": "100",
                "LIAISON_LOG_LEVEL": "INFO",
            }
            for variable in ("SLACK_BOT_TOKEN", "LIAISON_LOG_JSON", "LIAISON_SHARDS"):
                env.pop(variable, None)
            log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with it
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "scheduler", "--shards", str(shards)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
            self.workers.append(worker)
            started.append(worker)
        return started

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.workers = []


def received(emulator: SlackEmulator, prefix: str) -> dict[str, list[float]]:
    """Slack's receipt times (its message ts) of every message whose outbox key has ``prefix``."""
    found: dict[str, list[float]] = {}
    with emulator.workspace.lock:
        stored = [m for messages in emulator.workspace.messages.values() for m in messages]
    for message in stored:
        key = ((message.get("metadata") or {}).get("event_payload") or {}).get("key") or ""
        if key.startswith(prefix):
            found.setdefault(key, []).append(float(message["ts"]))
    return found


def sent_count(database: Database, prefix: str, keys: list[str] | None = None) -> int:
    """Outbox rows sent whose key has ``prefix``: what the waits poll (reading the emulator's
    messages would hold its lock, and slow what is measured, several times a second)."""
    with database.engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.SENT,
                    OutboxMessage.key.startswith(prefix),  # type: ignore[attr-defined]
                    OutboxMessage.key.in_(keys) if keys is not None else True,  # type: ignore[attr-defined]
                )
            ).scalar()
            or 0
        )


def wait_for(condition: Callable[[], Any], timeout: float, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None


def queue_dms(database: Database, clock: SimulatedClock, teams: list[str], prefix: str, count: int):  # type: ignore[no-untyped-def]
    now = clock.now()
    rows = []
    for number in range(count):
        team = teams[number % len(teams)]
        user = key_user_id(team, (number // len(teams)) % 50)
        rows.append(outbox_row(team, f"{prefix}:{team}:{number}", user, now))
    with database.engine.begin() as connection:
        connection.execute(insert(OutboxMessage), rows)


def outbox_row(team: str, key: str, user: str, now: datetime) -> dict[str, Any]:
    return {
        "team_id": team,
        "key": key,
        "kind": key.split(":", 1)[0],
        "method": "chat.postMessage",
        "payload": {"channel": user, "text": "Bench message"},
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "expires_at": now + timedelta(days=1),
    }


def throughput(live: Live, teams: list[str], processes: int, messages: int) -> float:
    prefix = f"bench{processes}"
    queue_dms(live.database, live.clock, teams, prefix, messages)
    live.start(processes)
    done = wait_for(lambda: sent_count(live.database, prefix + ":") >= messages, 600, step=0.5)
    live.stop()
    times = sorted(t for ts in received(live.emulator, prefix + ":").values() for t in ts)
    if not done or len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


def lateness(
    live: Live, runtime: Runtime, teams: list[str], every: float
) -> tuple[dict[str, list[float]], int]:
    """The big poll opens; reminders fall due meanwhile. Each reminder's lateness (seconds), in the
    fan-out's workspace and in the others."""
    live.start(2)
    # Once both processes deliver (a scheduler's first outbox run comes after its interval).
    warm = [t for t in teams if t != BIG][:8]
    queue_dms(live.database, live.clock, warm, "warmup", len(warm))
    wait_for(lambda: sent_count(live.database, "warmup:") >= len(warm), 120)
    runtime.clock = live.clock
    with runtime.unit(BIG, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        _poll, keys = poll_service.create_poll(
            ctx=ctx,
            project=project,
            data=poll_service.PollInput(
                title="Go-live readiness",
                closes_at=ctx.now() + timedelta(days=3),
                questions=[poll_service.QuestionInput("rating", "Ready?")],
            ),
            messages=POLL_MESSAGES,
        )
    queued = sum(1 for key in keys if ":invite:" in key)
    due: dict[str, float] = {}
    others = [t for t in teams if t != BIG]
    number = 0
    while sent_count(live.database, "poll:") < queued * 0.9 and number < 200:
        team = BIG if number % 4 == 0 else others[(number * 7) % len(others)]
        key = f"calendar:{900000 + number}:remind:{key_user_id(team, 0)}:15:bench"
        with live.database.engine.begin() as connection:
            connection.execute(
                insert(OutboxMessage),
                [outbox_row(team, key, key_user_id(team, 1), live.clock.now())],
            )
        due[key] = time.time()
        number += 1
        time.sleep(every)
    wait_for(lambda: sent_count(live.database, "calendar:", list(due)) >= len(due), 600, step=0.5)
    wait_for(lambda: sent_count(live.database, "poll:") >= queued, 900, step=0.5)
    live.stop()
    got = received(live.emulator, "calendar:")
    late: dict[str, list[float]] = {"the fan-out's workspace": [], "other workspaces": []}
    for key, at in due.items():
        if key in got:
            where = "the fan-out's workspace" if key_user_id(BIG, 0) in key else "other workspaces"
            late[where].append(max(0.0, min(got[key]) - at))
    return late, queued


def led(live: Live, count: int) -> dict[int, str]:
    """The shards led now: by which process (PostgreSQL's lock table), or "?" (SQLite: a lock
    file that cannot be locked is held by some process)."""
    if live.database.is_postgresql:
        return {shard: name for shard, (_pid, name) in shard_holders(live.database).items()}
    held = {}
    for shard in all_shards(count):
        keys = (ADVISORY_LOCK_ID, shard_lock_key(shard))
        with open(sqlite_lock_path(live.database.sqlite_path, keys), "w") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held[shard.index] = "?"
                continue
            fcntl.flock(probe, fcntl.LOCK_UN)
    return held


def leader_in_logs(live: Live, shard: int, count: int) -> str | None:
    """The process whose log last says it leads ``shard`` (and has not let it go since)."""
    leader = None
    for path in sorted(live.log_dir.glob("tenants-scheduler-*.log")):
        lines = path.read_text(errors="replace").splitlines()
        for line in lines:
            if f"leads shard {shard + 1}/{count}" in line:
                leader = path.stem
            elif leader == path.stem and f"shard {shard + 1}/{count} back" in line:
                leader = None
    return leader


def takeover(live: Live) -> float | None:
    by_name = {}
    for worker in live.start(3, shards=3):
        by_name[f"tenants-scheduler-{live.workers.index(worker)}"] = worker

    def spread() -> str | None:
        if len(led(live, 3)) < 3:
            return None
        if live.database.is_postgresql:
            holders = led(live, 3)
            return holders[1] if len(set(holders.values())) == 3 else None
        return leader_in_logs(live, 1, 3)

    victim = wait_for(spread, 90)
    if victim is None:
        live.stop()
        return None
    killed = time.monotonic()
    by_name[victim].send_signal(signal.SIGKILL)
    by_name[victim].wait()

    def again() -> bool:
        holders = led(live, 3)
        return len(holders) == 3 and victim not in holders.values()

    done = wait_for(again, 60, step=0.02)
    seconds = time.monotonic() - killed if done else None
    live.stop()
    return seconds


def lost_and_duplicated(live: Live, first_live_id: int) -> tuple[int, int, int]:
    """(rows, lost, duplicated) over the rows queued once the processes ran."""
    in_slack: Counter[str] = Counter()
    for key, times in received(live.emulator, "").items():
        in_slack[key] += len(times)
    with live.database.engine.connect() as connection:
        rows = connection.execute(
            select(OutboxMessage.key, OutboxMessage.status, OutboxMessage.error).where(
                OutboxMessage.method == "chat.postMessage",
                OutboxMessage.id > first_live_id,  # type: ignore[operator]
            )
        ).all()
    live_rows = list(rows)
    lost = sum(
        1
        for key, status, error in live_rows
        if in_slack[key] == 0 and not (status == OutboxStatus.EXPIRED and error)
    )
    duplicated = sum(1 for count in in_slack.values() if count > 1)
    return len(live_rows), lost, duplicated


def live_figures(
    figures: Figures,
    database: Database,
    runtime: Runtime,
    teams: list[str],
    keys: tuple[str, ...],
    args: argparse.Namespace,
    folder: str,
) -> None:
    # What the cycles queued went to the stand-in: the processes' figures count the rows after.
    with database.engine.connect() as connection:
        first_live_id = int(connection.execute(select(func.max(OutboxMessage.id))).scalar() or 0)
    emulator = SlackEmulator(team_id="T0EMULATE", team_name="tenants").start()
    try:
        emulator.limiter.posting_ceiling = (float(args.ceiling), float(args.ceiling))
        emulator.use_rate_limits(True)
        for team in teams:
            people = args.big if team == BIG else 50
            for number in range(people):
                user = key_user_id(team, number)
                emulator.add_user(user, user.lower())
        start = runtime.clock.now() + timedelta(minutes=10)
        clock = SimulatedClock(start, time.time(), 1.0)
        for user in [PM, *OWNERS]:
            emulator.add_user(user, user.lower())
        live = Live(database, emulator, clock, keys, Path(folder))
        spread = [t for t in teams if t != BIG][:200]
        rates = {n: throughput(live, spread, n, args.messages) for n in (1, 2, 4)}
        ratio = f"  (2 processes: {rates[2] / rates[1]:.2f}× one)" if rates[1] else ""
        figures.add(
            f"messages/s, 1 / 2 / 4 processes (ceiling {args.ceiling}/s)",
            " / ".join(f"{rates[n]:.0f}" for n in (1, 2, 4)) + ratio,
        )
        late, queued = lateness(live, runtime, teams, args.urgent_every)
        for where, seconds_late in late.items():
            if len(seconds_late) < 2:
                continue
            quantiles = statistics.quantiles(seconds_late, n=100, method="inclusive")
            figures.add(
                f"reminders in {where} during a {queued:,}-DM fan-out, p50 / p99 lateness",
                f"{statistics.median(seconds_late):.2f} s / {quantiles[98]:.2f} s"
                f" ({len(seconds_late)} reminders)",
            )
        seconds = takeover(live)
        figures.add(
            "takeover after kill -9 of 1 of 3 processes (standby 1 s)",
            "—" if seconds is None else f"{seconds:.2f} s",
        )
        sent, lost, duplicated = lost_and_duplicated(live, first_live_id)
        figures.add(
            "messages through the processes; lost; duplicated", f"{sent:,}; {lost}; {duplicated}"
        )
    finally:
        emulator.stop()


def run(url: str | None, sizes: list[Size], args: argparse.Namespace) -> str:
    figures = Figures()
    keys = (new_key(),)
    kind = "PostgreSQL" if url else "SQLite"
    last: Any = None
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            print(f"{kind}: {size.workspaces:,} workspaces…", file=sys.stderr, flush=True)
            if last is not None:
                last[0].dispose()
            place = Path(folder) / str(size.workspaces)
            place.mkdir()
            database = database_for(url, str(place), migrate=True)
            runtime, teams, seeded, first, steady = measure_cycles(database, size, keys)
            last = (database, runtime, teams)
            label = f"{size.workspaces:,} workspaces"
            figures.add(f"{label}: seeded in", f"{seeded:.1f} s")
            figures.add(
                f"{label}: first cycle of the day (time; statements; sent)",
                f"{first[0]:.2f} s; {first[1]:,}; {first[2]:,}",
            )
            figures.add(
                f"{label}: next cycle, nothing new due (time; statements)",
                f"{steady[0]:.2f} s; {steady[1]:,}",
            )
        if not args.skip_live:
            database, runtime, teams = last
            live_figures(figures, database, runtime, teams, keys, args, folder)
        last[0].dispose()
    return f"{kind}\n" + figures.table()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a throwaway PostgreSQL database (else SQLite)")
    parser.add_argument("--sizes", default="100,1000", help="workspace counts (100,1000)")
    parser.add_argument("--key-users", type=int, default=50)
    parser.add_argument("--issues", type=int, default=300)
    parser.add_argument("--big", type=int, default=5000, help="key users of the fan-out")
    parser.add_argument("--messages", type=int, default=3000, help="DMs per throughput run")
    parser.add_argument("--ceiling", type=int, default=300, help="emulator posts per second")
    parser.add_argument("--urgent-every", type=float, default=0.5)
    parser.add_argument("--skip-live", action="store_true", help="the cycles only")
    args = parser.parse_args(argv)
    sizes = [
        Size(int(n), key_users=args.key_users, issues=args.issues, big_key_users=args.big)
        for n in args.sizes.split(",")
    ]
    before = loop_ms()
    table = run(args.database_url, sizes, args)
    print(speed_line(before, loop_ms()))
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
