"""`liaison` subcommands: serve, socket, scheduler, db upgrade, manifest, jobs run-due, outbox
status and retry, keys, demo."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.clock import MovableClock, SystemClock
from bot.settings import Settings, SettingsError, load_settings, parse_shards, shown_url

if TYPE_CHECKING:
    from sqlmodel import Session

# The demo's files (database, charts) go to the temporary directory, never into the working copy;
# one set per language, so that playing the demo in one does not overwrite the other's.
DEMO_FOLDER = Path(tempfile.gettempdir()) / "liaison-demo"


def demo_database(locale: str) -> Path:
    return DEMO_FOLDER / f"liaison-demo-{locale}.db"


def _runtime(settings: Settings, clock: MovableClock | None = None):  # type: ignore[no-untyped-def]
    from bot.clock import SimulatedClock
    from bot.runtime import Runtime
    from storage.db import Database

    if clock is None and settings.simulated_clock:
        clock = SimulatedClock.parse(settings.simulated_clock)  # type: ignore[assignment]
    return Runtime(
        settings=settings, database=Database(settings.database_url), clock=clock or SystemClock()
    )


def scheduler_runtime(settings: Settings):  # type: ignore[no-untyped-def]
    """The scheduler's runtime: in OAuth mode each workspace's messages go with the bot token of
    its installation (decrypted from the store), as the web process's do."""
    runtime = _runtime(settings)
    if settings.oauth_enabled and settings.encryption_keys:
        from bot.crypto import EncryptedInstallationStore

        store = EncryptedInstallationStore(
            client_id=settings.client_id or "",
            engine=runtime.database.engine,
            keys=settings.encryption_keys,
        )
        runtime.token_for = store.token_for
    return runtime


def _upgrade(settings: Settings) -> set[str]:
    """Bring the schema to the migration files' heads; returns the revisions it was at before."""
    from storage.db import make_engine
    from storage.migrate import database_heads, ensure_schema

    engine = make_engine(settings.database_url)
    try:
        before = database_heads(engine)
        ensure_schema(engine)
        return before
    finally:
        engine.dispose()


def _parse_now(raw: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise SettingsError(f"--now must be an ISO-8601 time, got {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def serve_application(settings: Settings):  # type: ignore[no-untyped-def]
    """The WSGI app, built in each gunicorn worker: the master stays small (it only supervises),
    and the schema is checked before the worker answers anything."""
    from bot.app import build_app
    from bot.server import wsgi_app

    _upgrade(settings)
    runtime = _runtime(settings)
    return wsgi_app(build_app(runtime), runtime)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot.server import serve

    if not settings.oauth_enabled:
        settings.require("bot_token", "signing_secret")
    else:
        settings.require("signing_secret")
    return serve(
        lambda: serve_application(settings),
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
    )


def cmd_socket(args: argparse.Namespace, settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import build_app

    settings.require("bot_token", "app_token")
    _upgrade(settings)
    runtime = _runtime(settings)
    SocketModeHandler(build_app(runtime), settings.app_token).start()
    return 0


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    from bot.scheduler import run_forever

    if not settings.oauth_enabled:
        settings.require("bot_token")
    shards = settings.shards
    if getattr(args, "shards", None) is not None:
        shards = parse_shards(args.shards, "--shards")
    _upgrade(settings)
    # Ctrl-C and SIGTERM ask the loop to stop between steps: an interrupt raised inside a
    # database call could leave a connection holding SQLite's write lock, and a running job
    # would then wait on it while the process exits.
    stop = threading.Event()
    for asked in (signal.SIGINT, signal.SIGTERM):
        signal.signal(asked, lambda *_: stop.set())
    return run_forever(scheduler_runtime(settings), stop, shards)


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from storage.migrate import script_heads

    before, after = _upgrade(settings), script_heads()
    where = shown_url(settings.database_url).split("@")[-1]
    if not before:
        done = f"created the schema at revision {_revisions(after)}"
    elif before != after:
        done = f"upgraded the schema from revision {_revisions(before)} to {_revisions(after)}"
    else:
        done = f"the schema was already at revision {_revisions(after)}; nothing to do"
    print(f"{done}: {where}")
    return 0


def _revisions(heads: set[str]) -> str:
    return ", ".join(sorted(heads))


def cmd_manifest(args: argparse.Namespace, settings: Settings) -> int:
    from bot.manifest import build_manifest

    print(json.dumps(build_manifest(settings), indent=2, ensure_ascii=False))
    return 0


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    from bot.jobs import run_due
    from bot.jobs.summary import describe_run

    now = _parse_now(args.now) if args.now else SystemClock().now()
    _upgrade(settings)
    runtime = _runtime(settings, MovableClock(now))
    results = run_due(runtime)
    print(describe_run(settings.locale, results))
    if args.verbose:
        for name, summary in results.items():
            details = ", ".join(f"{key}={value}" for key, value in summary.items()) or "nothing due"
            print(f"  {name}: {details}")
    return 0


def _moment(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def cmd_outbox(args: argparse.Namespace, settings: Settings) -> int:
    from bot import delivery
    from storage.db import Database

    _upgrade(settings)
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            if args.outbox_command == "status":
                _print_status(session)
                return 0
            now = _parse_now(args.now) if args.now else SystemClock().now()
            statuses = {"failed": ("failed",), "expired": ("expired",)}.get(
                args.only or "", delivery.GIVEN_UP
            )
            if args.within is not None and args.within <= 0:
                raise SettingsError("--within must be a positive number of minutes")
            within = timedelta(minutes=args.within) if args.within else None
            done = delivery.requeue(
                session, now=now, statuses=statuses, kinds=args.kind, ids=args.id, within=within
            )
            for row in done:
                print(
                    f"#{row.id} {row.key}: {row.was} ({row.reason or 'no reason recorded'})"
                    f" -> pending, until {_moment(row.expires_at)}"
                )
            print(f"put back {len(done)} message(s); the sender sends them on its next run")
    finally:
        database.dispose()
    return 0


def _print_status(session: Session) -> None:
    from bot import delivery

    counts = delivery.tally(session)
    if not counts:
        print("the outbox is empty")
        return
    width = max(len("kind"), *(len(kind) for _status, kind, _rows in counts))
    print(f"{'status':<10} {'kind':<{width}} {'messages':>8}")
    for status, kind, rows in counts:
        print(f"{status:<10} {kind:<{width}} {rows:>8}")
    oldest = delivery.oldest_waiting(session)
    if oldest is None:
        print("nothing is waiting to be sent")
    else:
        print(
            f"oldest waiting: #{oldest.id} {oldest.key}, queued {_moment(oldest.created_at)},"
            f" {oldest.attempts} attempt(s), next {_moment(oldest.next_attempt_at)},"
            f" expires {_moment(oldest.expires_at)}"
            + (f", last error: {oldest.error}" if oldest.error else "")
        )
    for status, reason, rows in delivery.reasons(session):
        print(f"{status} x{rows}: {reason or 'no reason recorded'}")


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    from bot.crypto import EncryptedInstallationStore, new_key

    if args.keys_command == "new":
        print(new_key())
        return 0
    if not settings.encryption_keys:
        raise SettingsError("LIAISON_ENCRYPTION_KEYS is not set: nothing to rotate to")
    from storage.db import make_engine

    _upgrade(settings)
    engine = make_engine(settings.database_url)
    try:
        store = EncryptedInstallationStore(
            client_id=settings.client_id or "", engine=engine, keys=settings.encryption_keys
        )
        store.create_tables()
        print(f"re-encrypted {store.rotate()} installation rows with the newest key")
    finally:
        engine.dispose()
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from bot.demo import run_demo

    database = args.database or str(demo_database(settings.locale))
    Path(database).resolve().parent.mkdir(parents=True, exist_ok=True)
    return run_demo(database_path=database, settings=settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liaison", description="Liaison, the key-user desk in Slack"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="HTTP mode: Slack's requests at POST /slack/events",
        description="HTTP mode behind gunicorn: Slack posts to /slack/events, load balancers "
        "check GET /healthz. Needs SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (or SLACK_CLIENT_ID "
        "and SLACK_CLIENT_SECRET for the multi-workspace install).",
    )
    serve.add_argument("--port", type=int, default=3000, help="TCP port to listen on (3000)")
    serve.add_argument(
        "--host", default="0.0.0.0", help="address to bind (0.0.0.0: every interface)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (1); more than one needs PostgreSQL",
    )
    serve.add_argument(
        "--threads", type=int, default=8, help="requests each worker handles at once (8)"
    )
    serve.set_defaults(func=cmd_serve)

    sub.add_parser(
        "socket",
        help="Socket Mode: no public URL needed",
        description="Socket Mode: connects out to Slack, so no public URL is needed. Needs "
        "SLACK_BOT_TOKEN and SLACK_APP_TOKEN.",
    ).set_defaults(func=cmd_socket)
    scheduler = sub.add_parser(
        "scheduler",
        help="run reminders, escalations, polls and send what they queue",
        description="Runs the scheduled jobs (reminders, escalations, poll rounds) and sends "
        "what they queue. Needs SLACK_BOT_TOKEN (or the OAuth install's settings).",
    )
    scheduler.add_argument(
        "--shards",
        help="split the workspaces into N shards, each led by one of the running schedulers "
        "(every scheduler of a database must be given the same N; default LIAISON_SHARDS or 1)",
    )
    scheduler.set_defaults(func=cmd_scheduler)

    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_sub.add_parser("upgrade", help="apply schema migrations").set_defaults(func=cmd_db)

    sub.add_parser("manifest", help="print the Slack app manifest (JSON)").set_defaults(
        func=cmd_manifest
    )

    jobs = sub.add_parser("jobs", help="scheduled jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="COMMAND")
    run_due = jobs_sub.add_parser("run-due", help="run every job once at --now")
    run_due.add_argument("--now", help="ISO-8601 instant, e.g. 2026-12-01T09:00:00+01:00")
    run_due.add_argument("--verbose", action="store_true", help="also print every job's counters")
    run_due.set_defaults(func=cmd_jobs)

    outbox = sub.add_parser("outbox", help="messages waiting, sent, failed or expired")
    outbox_sub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="COMMAND")
    outbox_sub.add_parser(
        "status",
        help="count the outbox's messages by status and kind, the oldest waiting, the reasons",
    ).set_defaults(func=cmd_outbox)
    retry = outbox_sub.add_parser(
        "retry",
        help="put failed or expired messages back to be sent, with a fresh deadline",
        description="Puts failed and expired messages (or only those chosen) back to pending "
        "with a fresh deadline; the scheduler sends them on its next run. Nothing is put back "
        "unless an operator asks: a message sent late may be stale.",
    )
    which = retry.add_mutually_exclusive_group()
    which.add_argument(
        "--failed", dest="only", action="store_const", const="failed", help="failed ones only"
    )
    which.add_argument(
        "--expired", dest="only", action="store_const", const="expired", help="expired ones only"
    )
    retry.add_argument(
        "--kind", action="append", help="only this kind (as `outbox status` shows it); repeatable"
    )
    retry.add_argument("--id", type=int, action="append", help="only this message; repeatable")
    retry.add_argument(
        "--within",
        type=int,
        metavar="MINUTES",
        help="the new deadline, minutes from now (default: each message's first allowance again)",
    )
    retry.add_argument("--now", help="ISO-8601 instant to count the new deadline from")
    retry.set_defaults(func=cmd_outbox)

    keys = sub.add_parser("keys", help="encryption keys for installation tokens (OAuth mode)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser("new", help="print a new key for LIAISON_ENCRYPTION_KEYS").set_defaults(
        func=cmd_keys
    )
    keys_sub.add_parser(
        "rotate", help="re-encrypt stored tokens with the first key of LIAISON_ENCRYPTION_KEYS"
    ).set_defaults(func=cmd_keys)

    demo = sub.add_parser(
        "demo",
        help="play a project's week against the local Slack emulator",
        description="Plays a project's week through the real app against a local Slack "
        "emulator. LIAISON_LOCALE=zh-CN plays it in Chinese.",
    )
    demo.add_argument(
        "--database",
        help="SQLite file for the demo; its charts are saved next to it (default: "
        f"{demo_database('<language>')})",
    )
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    from bot.logs import configure_logging

    configure_logging()
    args = build_parser().parse_args(argv)
    if args.command == "keys" and args.keys_command == "new":
        return cmd_keys(args, Settings())  # needs no settings: it makes the one that may be missing
    try:
        settings = load_settings()
        configure_logging(
            level=settings.log_level, json_lines=settings.log_json, secrets=settings.secrets()
        )
        return int(args.func(args, settings) or 0)
    except SettingsError as error:
        print(f"liaison: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        reason = database_unreachable(error)
        if reason is None:
            raise
        print(f"liaison: cannot reach the database: {reason}", file=sys.stderr)
        return 2


def database_unreachable(error: BaseException) -> str | None:
    """One line saying why the database cannot be reached, or None for any other error
    (SQLAlchemy is imported only by commands that use the database: without it, none was)."""
    if "sqlalchemy" not in sys.modules:
        return None
    from storage.db import store_unavailable

    return store_unavailable(error)


if __name__ == "__main__":
    sys.exit(main())
