# ruff: noqa: F811 - the issue fixtures are imported from tests.test_flows_issues
"""An operator's first run of the real `liaison` process: `db upgrade` says what it did, `serve`
and `socket` name every missing setting at once, the scheduler leaves no lock file in the working
folder, and `jobs run-due` says what it did in one sentence (its counters with --verbose)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import MovableClock
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from storage import migrate
from storage.db import Database
from tests.conftest import postgres_url
from tests.test_flows_issues import erp, log_issue  # noqa: F401 - fixtures
from tests.test_jobs_issues import two_overdue_issues_for_tom

ROOT = Path(__file__).resolve().parent.parent


def _environment(env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LIAISON_"))}
    clean.pop("DATABASE_URL", None)
    return {**clean, "PYTHONPATH": str(ROOT), **env}


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=_environment(env or {}),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def _url(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


def test_db_upgrade_says_it_created_the_schema_then_upgraded_it_then_had_nothing_to_do(
    tmp_path: Path,
) -> None:
    head = ", ".join(sorted(migrate.script_heads()))
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'liaison.db'}"}
    created = run_cli("db", "upgrade", cwd=tmp_path, env=env)
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines() == [
        f"created the schema at revision {head}: sqlite:///{tmp_path / 'liaison.db'}"
    ]
    again = run_cli("db", "upgrade", cwd=tmp_path, env=env)
    assert again.stdout.startswith(f"the schema was already at revision {head}; nothing to do")
    assert "up to date" not in created.stdout + again.stdout

    older = tmp_path / "older.db"
    engine = Database(f"sqlite:///{older}").engine
    migrate.upgrade(engine, "0008")
    engine.dispose()
    upgraded = run_cli("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{older}"})
    assert upgraded.stdout.startswith(f"upgraded the schema from revision 0008 to {head}: ")


@pytest.mark.skipif(postgres_url() is None, reason="a PostgreSQL database already migrated")
def test_db_upgrade_on_a_current_postgresql_database_says_it_had_nothing_to_do(
    database: Database, tmp_path: Path
) -> None:
    head = ", ".join(sorted(migrate.script_heads()))
    result = run_cli("db", "upgrade", cwd=tmp_path, env={"DATABASE_URL": _url(database)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"the schema was already at revision {head}; nothing to do")


@pytest.mark.parametrize(
    ("command", "missing"),
    [
        ("serve", "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"),
        ("socket", "SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set"),
    ],
)
def test_a_mode_names_every_missing_setting_in_one_line(
    command: str, missing: str, tmp_path: Path
) -> None:
    result = run_cli(command, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"liaison: {missing}; see README: Connect a real workspace"
    ]
    assert list(tmp_path.iterdir()) == []  # refused before touching anything


def test_three_missing_settings_are_named_together(tmp_path: Path) -> None:
    from bot.settings import Settings, SettingsError

    with pytest.raises(SettingsError) as refused:
        Settings().require("bot_token", "signing_secret", "app_token")
    assert str(refused.value).startswith(
        "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_APP_TOKEN are not set;"
    )


def test_the_scheduler_on_the_default_store_leaves_no_lock_file_in_the_working_folder(
    tmp_path: Path, emulator: SlackEmulator
) -> None:
    from bot.scheduler import sqlite_lock_path

    env = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_API_URL": emulator.url}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "scheduler"],
        env=_environment(env),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    said = ""
    try:
        watch = selectors.DefaultSelector()
        watch.register(process.stderr, selectors.EVENT_READ)  # type: ignore[arg-type]
        deadline = time.monotonic() + 60
        while "scheduler leads" not in said and time.monotonic() < deadline:
            if watch.select(timeout=1) and process.stderr is not None:
                said += process.stderr.readline()
        assert "scheduler leads" in said, said
        lock = sqlite_lock_path((tmp_path / "liaison.db").resolve())
        assert lock.exists()  # the lead is held, just not from the working folder
        leftovers = sorted(p.name for p in tmp_path.iterdir())
        assert [name for name in leftovers if "lock" in name] == []
        assert leftovers[0] == "liaison.db"  # the default store itself (and its -wal, -shm)
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert [p.name for p in tmp_path.iterdir() if "lock" in p.name] == []
    assert "*.scheduler.lock" in (ROOT / ".gitignore").read_text().splitlines()


def _stamp_current(database: Database) -> None:
    """The test database is made from the models; the CLI should find its schema current."""
    from alembic import command

    if migrate.database_heads(database.engine) != migrate.script_heads():
        command.stamp(migrate.alembic_config(database.engine), "heads")


def test_jobs_run_due_prints_the_readable_summary_the_demo_shows(
    erp: SlackDriver,  # noqa: F811
    database: Database,
    clock: MovableClock,
    emulator: SlackEmulator,
    tmp_path: Path,
) -> None:
    two_overdue_issues_for_tom(erp)
    _stamp_current(database)
    env = {
        "DATABASE_URL": _url(database),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_API_URL": emulator.url,
        "LIAISON_TIMEZONE": "Europe/Berlin",
    }
    later = (clock.now() + timedelta(days=4)).isoformat()
    result = run_cli("jobs", "run-due", "--now", later, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Done: 2 service-level breaches escalated to the PMs; 1 owner reminded of overdue "
        "issues; 4 held messages released, one DM per person; 6 messages sent."
    ]
    result = run_cli("jobs", "run-due", "--now", later, "--verbose", cwd=tmp_path, env=env)
    lines = result.stdout.splitlines()
    assert lines[0] == "Nothing was due."  # the same instant again: nothing new
    assert "  deliver_outbox: sent=0, failed=0, retried=0, expired=0" in lines[1:]
    assert len(lines) > 10  # every job's counters
