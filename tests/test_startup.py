"""Starting Liaison: a light gunicorn master, migrations only when the schema is behind, one clear
line for each missing or half-given setting, no misleading Bolt warning, helpful --help."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.settings import Settings, SettingsError, load_settings
from storage import migrate
from storage.db import make_engine

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LIAISON_"))}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_the_gunicorn_master_imports_no_app_database_or_slack_code() -> None:
    code = (
        "import sys, bot.cli, bot.server;"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'slack_bolt', 'alembic', 'jinja2',"
        " 'matplotlib', 'requests') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stderr


def test_migration_heads_are_read_from_the_files_as_alembic_reads_them() -> None:
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    engine = make_engine("sqlite://")
    heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    assert migrate.script_heads() == heads


def test_a_current_schema_is_not_migrated_again(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert migrate.database_heads(engine) == set()
    assert migrate.ensure_schema(engine) is True
    assert migrate.database_heads(engine) == migrate.script_heads()

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("Alembic ran on a current schema")

    monkeypatch.setattr(migrate, "upgrade", refuse)
    assert migrate.ensure_schema(engine) is False
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0001')"))
    with pytest.raises(AssertionError, match="Alembic ran"):
        migrate.ensure_schema(engine)
    engine.dispose()


def test_scheduler_refuses_to_start_without_a_bot_token(tmp_path: Path) -> None:
    result = run_cli("scheduler", env={"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "liaison: SLACK_BOT_TOKEN is not set; see README: Connect a real workspace"
    )
    assert not (tmp_path / "x.db").exists()  # refused before touching anything


def test_the_readme_section_named_by_the_hint_exists() -> None:
    assert "## Connect a real workspace" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"SLACK_CLIENT_ID": "111.222"},
            "SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not: set both for the "
            "multi-workspace install, or neither",
        ),
        (
            {"SLACK_CLIENT_SECRET": "shh"},
            "SLACK_CLIENT_SECRET is set but SLACK_CLIENT_ID is not: set both for the "
            "multi-workspace install, or neither",
        ),
    ],
)
def test_half_an_oauth_setting_is_refused(env: dict[str, str], line: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert str(caught.value) == line


def test_building_the_app_logs_no_token_will_be_unused_warning(
    database,
    clock,
    monkeypatch,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    from bot.app import build_app
    from bot.runtime import Runtime

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    runtime = Runtime(
        settings=Settings(bot_token="xoxb-from-env", signing_secret="s"),
        database=database,
        clock=clock,
    )
    with caplog.at_level(logging.WARNING):
        build_app(runtime)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_serve_help_describes_every_option() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0
    for words in (
        "TCP port to listen on",
        "address to bind",
        "worker processes",
        "requests each worker handles at once",
        "GET /healthz",
    ):
        assert words in " ".join(result.stdout.split())


def test_a_missing_subcommand_names_the_command_not_an_internal_name() -> None:
    result = run_cli("jobs")
    assert result.returncode == 2
    assert "jobs_command" not in result.stderr
    assert "the following arguments are required: COMMAND" in result.stderr
