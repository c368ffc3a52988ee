"""Liaison at scale: a project with 200 key users and 10,000 issues, on SQLite and PostgreSQL.

    python bench/scale.py                   # SQLite, plus PostgreSQL when BENCH_DATABASE_URL is set
    BENCH_DATABASE_URL=postgresql://user@host:5432/bench python bench/scale.py

The project, its PMs and team are made through the services; the 200 key users and 10,000 issues
(with their "created" history entries and their sent channel messages) are bulk-inserted, which
the output states. Then, for each database, every row of the table is timed and its SQL statements
counted (a SQLAlchemy ``before_cursor_execute`` listener): the escalation job's first run and a
rerun with nothing new, the reminder job, the auto-close job when nothing closes, the PM's Home
tab (after its first render: the first in a process also compiles templates, and its time is in
the note), and one page of ``/issue list``. Work that changes nothing (the rerun, the auto-close
job, the Home tab, the list page) is timed as the median of five runs; the first escalation run
and the reminder job change data, so they run once. Last, ``liaison serve`` is started under
gunicorn (master and one worker) next to a bare Bolt app on the same server
(``bench/bare_bolt.py``): wall time to the first 200 from GET /healthz (liveness), CPU time spent
by then, wall time to the first 200 from GET /readyz (the app loaded and the database checked),
and RSS of master plus worker once idle.
The PostgreSQL database given is emptied (its ``public`` schema is dropped) first.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlmodel import func, select  # noqa: E402

import storage.models  # noqa: E402, F401
from bench.machine import loop_ms, speed_line  # noqa: E402
from bot.clock import MovableClock  # noqa: E402
from bot.jobs import issues as issue_jobs  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services import issues as issue_service  # noqa: E402
from bot.services import projects as project_service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.views import issues as issue_views  # noqa: E402
from handlers.home import build_home  # noqa: E402
from storage.db import Database, StatementCounter  # noqa: E402
from storage.migrate import ensure_schema  # noqa: E402
from storage.models import (  # noqa: E402
    Issue,
    IssueHistory,
    IssueSettings,
    KeyUser,
    OutboxMessage,
)

TEAM = "T0SCALE01"
PMS = ["UPMSCALE1", "UPMSCALE2"]
OWNERS = [f"UOWN{index:05d}" for index in range(12)]
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # a Tuesday, 10:30 in Berlin
CHANNEL = "CSCALE001"
STATUSES = (
    ("new", 0.30),
    ("acknowledged", 0.20),
    ("in_progress", 0.22),
    ("reopened", 0.06),
    ("resolved", 0.12),
    ("closed", 0.10),
)


def _url(raw: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def fresh_database(url: str) -> Database:
    database = Database(url)
    if database.is_postgresql:
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    ensure_schema(database.engine)
    return database


def seed(runtime: Runtime, *, key_users: int, issues: int) -> dict[str, int]:
    """The project through the services; key users, issues, history and messages in bulk."""
    rng = random.Random(10_000)
    with runtime.unit(TEAM, PMS[0]) as ctx:
        ctx.ensure_workspace()
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(
                name="S/4HANA rollout",
                code="ERP",
                pm_ids=PMS,
                team_ids=OWNERS,
                channel_id=CHANNEL,
                timezone="Europe/Berlin",
            ),
        )
        project_id = project.id or 0
    people = [f"UKEY{index:05d}" for index in range(key_users)]
    started = NOW - timedelta(days=90)
    with runtime.database.session() as session:
        session.execute(
            insert(KeyUser),
            [
                {
                    "team_id": TEAM,
                    "project_id": project_id,
                    "user_id": user,
                    "display_name": f"Key user {number}",
                    "role": "key_user",
                    "department": ("Finance", "Sales", "Logistics", "HR")[number % 4],
                    "module": ("FI", "SD", "MM", "HCM")[number % 4],
                    "influence": ("high", "medium", "low")[number % 3],
                    "interest": ("high", "medium", "low")[(number // 3) % 3],
                    "preferred_channel": "dm",
                    "created_at": started,
                    "updated_at": started,
                }
                for number, user in enumerate(people)
            ],
        )
        weights = [weight for _, weight in STATUSES]
        rows: list[dict[str, Any]] = []
        for number in range(1, issues + 1):
            status = rng.choices([name for name, _ in STATUSES], weights)[0]
            priority = rng.choice(("P1", "P2", "P3", "P3", "P4"))
            created = started + timedelta(minutes=rng.randrange(0, 89 * 24 * 60))
            due = (created + timedelta(days=(1, 3, 10, 30)[int(priority[1]) - 1])).date()
            owner = None if status == "new" and rng.random() < 0.5 else rng.choice(OWNERS)
            responded = status != "new" and rng.random() < 0.8
            resolved = (
                NOW - timedelta(hours=rng.randrange(1, 6 * 24))
                if status == "resolved"
                else (created + timedelta(days=2) if status == "closed" else None)
            )
            rows.append(
                {
                    "team_id": TEAM,
                    "project_id": project_id,
                    "number": number,
                    "title": f"Issue {number}: posting run stops at {rng.choice(('MIRO', 'VA01'))}",
                    "kind": "issue",
                    "module": ("FI", "SD", "MM", "HCM")[number % 4],
                    "priority": priority,
                    "status": status,
                    "reporter_id": rng.choice(people),
                    "owner_id": owner,
                    "created_by": PMS[0],
                    "due_date": due,
                    "due_at": datetime.combine(due + timedelta(days=1), datetime.min.time(), UTC),
                    "first_response_due_at": created
                    + timedelta(hours=(2, 8, 24, 72)[int(priority[1]) - 1]),
                    "first_response_at": created + timedelta(hours=1) if responded else None,
                    "resolved_at": resolved,
                    "closed_at": resolved if status == "closed" else None,
                    "channel_id": CHANNEL,
                    "message_ts": f"{int(created.timestamp())}.{number:06d}",
                    "version": 1,
                    "created_at": created,
                    "updated_at": created,
                }
            )
        session.execute(insert(Issue), rows)
        session.add(IssueSettings(team_id=TEAM, project_id=project_id, next_number=issues + 1))
        session.flush()
        ids = session.exec(select(Issue.id, Issue.created_at).order_by(Issue.id)).all()
        session.execute(
            insert(IssueHistory),
            [
                {
                    "team_id": TEAM,
                    "issue_id": issue_id,
                    "actor_id": PMS[0],
                    "action": "created",
                    "to_status": "new",
                    "detail": {},
                    "at": created,
                }
                for issue_id, created in ids
            ],
        )
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "team_id": TEAM,
                    "key": f"issue:{issue_id}:message",
                    "method": "chat.postMessage",
                    "payload": {"channel": CHANNEL, "text": "…"},
                    "status": "sent",
                    "attempts": 1,
                    "created_at": created,
                    "next_attempt_at": created,
                    "sent_at": created,
                    "channel": CHANNEL,
                    "ts": f"{int(created.timestamp())}.{issue_id:06d}",
                }
                for issue_id, created in ids
            ],
        )
    with runtime.database.session() as session:
        open_count = session.exec(
            select(func.count()).select_from(Issue).where(Issue.status.in_(issue_service._OPEN))  # type: ignore[attr-defined]
        ).one()
    return {"key users": key_users, "issues": issues, "open issues": int(open_count)}


def measure(runtime: Runtime, action: Callable[[], Any]) -> tuple[float, int, Any]:
    with StatementCounter(runtime.database.engine) as counted:
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
    return elapsed, counted.count, result


REPEATS = 5


def measure_median(runtime: Runtime, action: Callable[[], Any]) -> tuple[float, int, Any]:
    """For work that changes nothing (a view, a job with nothing to do): the median time of
    ``REPEATS`` runs, and the most statements any of them sent (``bench/digest.py`` also prints
    the best time of the Home tab)."""
    runs = [measure(runtime, action) for _ in range(REPEATS)]
    times = sorted(elapsed for elapsed, _count, _result in runs)
    return times[len(times) // 2], max(count for _e, count, _r in runs), runs[-1][2]


def home_tab(runtime: Runtime) -> dict[str, Any]:
    """Whatever builds the Home tab: the PM's view, as published on app_home_opened (its modules
    are imported beforehand, as in a running app)."""
    return build_home(runtime, TEAM, PMS[0])


def issue_list_page(runtime: Runtime) -> dict[str, Any]:
    """What ``/issue list overdue`` answers, page 2: the handler's path without Slack."""
    query = issue_service.parse_list_query(["overdue"])
    with runtime.unit(TEAM, PMS[0]) as ctx:
        found = issue_service.list_issues(ctx, query, page=2, page_size=issue_views.LIST_PAGE_SIZE)
        return issue_views.list_message("en", found, query, "overdue", ctx.now())


def database_rows(url: str, *, key_users: int, issues: int) -> tuple[str, list[tuple[str, ...]]]:
    database = fresh_database(url)
    clock = MovableClock(NOW)
    settings = Settings(bot_token="xoxb-bench", database_url=url, timezone="Europe/Berlin")
    runtime = Runtime(settings=settings, database=database, clock=clock)
    started = time.perf_counter()
    seeded = seed(runtime, key_users=key_users, issues=issues)
    seeding = time.perf_counter() - started
    rows: list[tuple[str, ...]] = []

    def row(what: str, elapsed: float, statements: int, note: str = "") -> None:
        rows.append((what, f"{elapsed * 1000:,.0f} ms", f"{statements:,}", note))

    # The first render in a process also compiles the catalog's templates, once: it is timed
    # apart (in the note), and the row is a render as every later one in a running app.
    first_home, _, _ = measure(runtime, lambda: home_tab(runtime))
    home_time, home_statements, home = measure_median(runtime, lambda: home_tab(runtime))
    list_time, list_statements, page = measure_median(runtime, lambda: issue_list_page(runtime))
    elapsed, statements, result = measure(runtime, lambda: issue_jobs.escalate_breaches(runtime))
    breaches = result["escalated"]
    with database.session() as session:

        def queued(condition: Any) -> int:
            query = select(func.count()).select_from(OutboxMessage).where(condition)
            return int(session.exec(query).one())

        dms = queued(OutboxMessage.key.startswith("escalations:"))  # type: ignore[attr-defined]
        threads = queued(OutboxMessage.key.endswith(":thread"))  # type: ignore[attr-defined]
    row(
        f"SLA escalation job, first run ({breaches:,} breaches)",
        elapsed,
        statements,
        f"{dms} DMs (one per PM), {threads:,} thread replies",
    )
    elapsed, statements, result = measure_median(
        runtime, lambda: issue_jobs.escalate_breaches(runtime)
    )
    row("same job when nothing is new", elapsed, statements, f"escalated {result['escalated']}")
    elapsed, statements, result = measure(
        runtime, lambda: issue_jobs.remind_overdue_owners(runtime)
    )
    row("reminder job, first run of the day", elapsed, statements, f"{result['reminded']} DMs")
    elapsed, statements, result = measure_median(
        runtime, lambda: issue_jobs.auto_close_resolved(runtime)
    )
    row("auto-close job when nothing closes", elapsed, statements, f"closed {result['closed']}")
    row(
        "PM's Home tab",
        home_time,
        home_statements,
        f"{len(home['blocks'])} blocks; first in the process {first_home * 1000:,.0f} ms",
    )
    row("`/issue list overdue`, one page", list_time, list_statements, page["text"][:40])
    database.dispose()
    seeded_note = (
        f"seeded {seeded['key users']} key users and {seeded['issues']:,} issues "
        f"({seeded['open issues']:,} open) by bulk insert in {seeding:.1f} s"
    )
    return seeded_note, rows


# ----------------------------------------------------------------------------- start-up


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _process_tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(int(child) for child in children)]


def _rss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:  # refused while the worker boots, or 503 while the app loads
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()[-2000:]) from None  # type: ignore[union-attr]
            time.sleep(0.005)


def start_server(
    command: list[str], env: dict[str, str], port: int
) -> tuple[float, float, float, float]:
    """Wall seconds to the first 200 from /healthz, CPU seconds used by then, wall seconds to the
    first 200 from /readyz (the app loaded, the database checked), idle RSS (MiB)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/healthz", process)
        wall = time.perf_counter() - started
        cpu = _cpu_seconds(_process_tree(process.pid))
        _wait_for(f"http://127.0.0.1:{port}/readyz", process)
        ready = time.perf_counter() - started
        time.sleep(3)  # idle
        rss = _rss_mib(_process_tree(process.pid))
        return wall, cpu, ready, rss
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def startup_rows(database_url: str, runs: int) -> list[tuple[str, ...]]:
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LIAISON_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET="bench-secret",
        DATABASE_URL=database_url,
        LIAISON_SOCKET_MODE="false",
    )
    servers = {
        "liaison serve": lambda port: [
            str(bin_dir / "liaison"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        "bare Bolt app": lambda port: [
            str(bin_dir / "gunicorn"),
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT / "bench"),
            "bare_bolt:application",
        ],
    }
    # The schema is migrated once beforehand: a restart, not a first install, is measured.
    subprocess.run(
        [str(bin_dir / "liaison"), "db", "upgrade"], env=env, check=True, capture_output=True
    )
    results: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in servers}
    for _ in range(runs):
        for name, command in servers.items():
            port = _free_port()
            results[name].append(start_server(command(port), env, port))
    rows = []
    for name, samples in results.items():
        walls = sorted(sample[0] for sample in samples)
        cpus = sorted(sample[1] for sample in samples)
        readies = sorted(sample[2] for sample in samples)
        rss = max(sample[3] for sample in samples)
        rows.append(
            (
                name,
                f"{walls[len(walls) // 2] * 1000:,.0f} ms (best {walls[0] * 1000:,.0f})",
                f"{cpus[len(cpus) // 2] * 1000:,.0f} ms",
                f"{readies[len(readies) // 2] * 1000:,.0f} ms",
                f"{rss:,.0f} MiB",
            )
        )
    return rows


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [
        "| "
        + " | ".join(f"{cell:<{width}}" for cell, width in zip(line, widths, strict=True))
        + " |"
        for line in (header, *rows)
    ]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--key-users", type=int, default=200)
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--start-runs", type=int, default=5, help="starts per server (median)")
    parser.add_argument("--skip-start", action="store_true", help="leave out the start-up rows")
    args = parser.parse_args(argv)
    speed_before = loop_ms()
    with tempfile.TemporaryDirectory() as folder:
        targets = [("SQLite", f"sqlite:///{Path(folder) / 'scale.db'}")]
        if os.environ.get("BENCH_DATABASE_URL"):
            targets.append(("PostgreSQL", _url(os.environ["BENCH_DATABASE_URL"])))
        for name, url in targets:
            note, rows = database_rows(url, key_users=args.key_users, issues=args.issues)
            print(f"\n## {name}: {note}\n", flush=True)
            print(table(("what", "time", "statements", "note"), rows), flush=True)
            if not args.skip_start:
                start = startup_rows(url, args.start_runs)
                print(
                    f"\n{name}: gunicorn, master + 1 worker, median of {args.start_runs} starts\n"
                )
                header = (
                    "server",
                    "cold start to /healthz",
                    "CPU by then",
                    "to /readyz (app loaded)",
                    "idle RSS",
                )
                print(table(header, start), flush=True)
    print(f"\nload average while measuring: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(speed_line(speed_before, loop_ms()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
