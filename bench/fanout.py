"""Fan a poll out to many key users against the Slack emulator and print how the outbox did.

    python bench/fanout.py --users 1000 --ceiling 50

The emulator applies Slack's rate limits (each method's tier, about one message a second per
channel), answers 429 (with Retry-After) once ``chat.postMessage`` exceeds ``--ceiling`` calls in
any one-second window (the workspace-wide posting ceiling), and fails ``--transient`` calls with a
503. The outbox's sender paces
itself below the ceiling (its token bucket is set to ``--headroom`` of it) and retries what fails.
Printed: messages per second achieved against the ceiling, 429s received, lost and duplicated
DMs (each person must get exactly one), and peak memory of the delivery (tracemalloc).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import SQLModel, select  # noqa: E402

import storage.models  # noqa: E402, F401
from bot.clock import SystemClock  # noqa: E402
from bot.delivery import Pacer, Sender  # noqa: E402
from bot.emulator.server import SlackEmulator  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.services import keyusers as keyuser_service  # noqa: E402
from bot.services import polls as poll_service  # noqa: E402
from bot.services import projects as project_service  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack_io import transport_for_client  # noqa: E402
from bot.views.polls import MESSAGES  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import OutboxMessage, OutboxStatus  # noqa: E402

TEAM = "T0BENCH1"
PM = "UPMBENCH1"


def seed(runtime: Runtime, emulator: SlackEmulator, users: int) -> list[str]:
    user_ids = [f"UBEN{index:06d}" for index in range(users)]
    emulator.add_user(PM, "pm")
    for user_id in user_ids:
        emulator.add_user(user_id, user_id.lower())
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(name="Bench", code="BENCH", pm_ids=[PM]),
        )
        for user_id in user_ids:
            keyuser_service.add_key_user(
                ctx=ctx,
                project=project,
                data=keyuser_service.KeyUserInput(user_id=user_id, display_name=user_id),
            )
    return user_ids


def open_poll(runtime: Runtime) -> list[str]:
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "BENCH")
        _poll, keys = poll_service.create_poll(
            ctx=ctx,
            project=project,
            data=poll_service.PollInput(
                title="Bench pulse",
                questions=[poll_service.QuestionInput("rating", "How is the rollout going?")],
            ),
            messages=MESSAGES,
        )
    return keys


def pending(database: Database) -> int:
    with database.session() as session:
        rows = session.exec(
            select(OutboxMessage).where(
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])  # type: ignore[attr-defined]
            )
        ).all()
        return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--ceiling", type=float, default=50.0, help="chat.postMessage calls/s")
    parser.add_argument("--headroom", type=float, default=0.9, help="pace at this share of it")
    parser.add_argument("--transient", type=int, default=5, help="503 answers to inject")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder, SlackEmulator(team_id=TEAM) as emulator:
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        SQLModel.metadata.create_all(database.engine)
        settings = Settings(bot_token="xoxb-bench", api_url=emulator.url, database_url="unused")
        runtime = Runtime(settings=settings, database=database, clock=SystemClock())
        print(f"seeding {args.users} key users…", flush=True)
        users = seed(runtime, emulator, args.users)
        keys = open_poll(runtime)
        emulator.reset_calls()
        emulator.use_rate_limits(True)
        emulator.limiter.posting_ceiling = (args.ceiling, args.ceiling)
        emulator.set_rate_ceiling("chat.postMessage", args.ceiling)
        if args.transient:
            emulator.http_error("chat.postMessage", status=503, times=args.transient)
        # Sustained rate plus burst must stay within the emulator's sliding one-second window.
        sustained = args.ceiling * args.headroom
        burst = max(1.0, args.ceiling - sustained)
        pacer = Pacer(rates={"chat.postMessage": (sustained, burst)})
        sender = Sender(
            database,
            runtime.clock,
            lambda team: transport_for_client(runtime.client(team)),
            pacer=pacer,
        )
        print(f"fanning out {len(keys)} invitations…", flush=True)
        tracemalloc.start()
        started = time.perf_counter()
        while True:
            sender.deliver_due(team_id=TEAM)
            if not pending(database):
                break
            time.sleep(0.2)  # rows rescheduled after a 429 or a 503 become due again
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        per_person = Counter(
            {
                u: sum(1 for m in emulator.dm_messages(u) if m.get("thread_ts") is None)
                for u in users
            }
        )
        calls = emulator.calls_to("chat.postMessage")
        statuses = Counter(call.status for call in calls)
        lost = sum(1 for count in per_person.values() if count == 0)
        duplicated = sum(count - 1 for count in per_person.values() if count > 1)
        rate = len(users) / elapsed if elapsed else 0.0
        rows = [
            ("key users", f"{len(users)}"),
            ("rate ceiling (chat.postMessage)", f"{args.ceiling:.0f}/s"),
            ("sender pacing", f"{sustained:.1f}/s, burst {burst:.0f}"),
            ("achieved", f"{rate:.1f} msg/s ({100 * rate / args.ceiling:.0f} % of ceiling)"),
            ("elapsed", f"{elapsed:.1f} s"),
            ("429 answers / 503 answers", f"{statuses[429]} / {statuses[503]}"),
            ("Web API calls", f"{len(calls)}"),
            ("lost (no DM)", f"{lost}"),
            ("duplicated (extra DMs)", f"{duplicated}"),
            ("peak memory (tracemalloc)", f"{peak / 1_048_576:.1f} MiB"),
        ]
        width = max(len(name) for name, _ in rows)
        print()
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
        database.dispose()
        return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
