"""The manifest validates against Slack's schema; settings fail with one clear line; CLI works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from bot.manifest import build_manifest
from bot.settings import Settings, SettingsError, load_settings

SCHEMA = json.loads((Path(__file__).parent / "data" / "manifest.schema.1.0.0.json").read_text())


def validate(manifest: dict) -> None:
    jsonschema.validate(manifest, SCHEMA, cls=jsonschema.Draft7Validator)


def test_socket_mode_manifest_is_valid() -> None:
    manifest = build_manifest(load_settings({}))
    validate(manifest)
    assert manifest["settings"]["socket_mode_enabled"] is True
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert {"/project", "/keyuser"} <= commands
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_http_mode_manifest_points_slack_at_slack_events() -> None:
    settings = load_settings(
        {"LIAISON_SOCKET_MODE": "false", "LIAISON_PUBLIC_URL": "https://liaison.acme.example"}
    )
    manifest = build_manifest(settings)
    validate(manifest)
    url = "https://liaison.acme.example/slack/events"
    assert manifest["settings"]["interactivity"]["request_url"] == url
    assert manifest["settings"]["event_subscriptions"]["request_url"] == url
    assert all(c["url"] == url for c in manifest["features"]["slash_commands"])


def test_renamed_commands_follow_into_the_manifest() -> None:
    settings = load_settings({"LIAISON_COMMAND_PROJECT": "/erp-project"})
    manifest = build_manifest(settings)
    validate(manifest)
    assert "/erp-project" in {c["command"] for c in manifest["features"]["slash_commands"]}


def test_a_chinese_workspaces_shortcut_is_named_in_chinese() -> None:
    english = build_manifest(load_settings({}))["features"]["shortcuts"][0]
    chinese = build_manifest(load_settings({"LIAISON_LOCALE": "zh-CN"}))["features"]["shortcuts"]
    assert english["name"] == "Log as key-user issue"
    assert chinese[0] == {
        "name": "登记为关键用户问题",
        "type": "message",
        "callback_id": "log_issue_from_message",
        "description": "将这条消息登记为关键用户的问题",
    }
    assert {(s["callback_id"], s["name"]) for s in chinese[1:]} == {
        ("log_risk_from_message", "登记为风险")
    }


def test_http_manifest_needs_a_public_url() -> None:
    with pytest.raises(SettingsError, match="LIAISON_PUBLIC_URL"):
        build_manifest(Settings(socket_mode=False))


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SLACK_BOT_TOKEN": "abc"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_APP_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN"),
        ({"SLACK_API_URL": "slack"}, "SLACK_API_URL"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"LIAISON_TIMEZONE": "Mars/Base"}, "LIAISON_TIMEZONE"),
        ({"LIAISON_LOCALE": "fr"}, "LIAISON_LOCALE"),
        ({"LIAISON_SOCKET_MODE": "maybe"}, "LIAISON_SOCKET_MODE"),
        ({"LIAISON_COMMAND_POLL": "/project"}, "LIAISON_COMMAND"),
    ],
)
def test_malformed_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_settings_defaults_and_postgres_url() -> None:
    settings = load_settings({"DATABASE_URL": "postgres://u@db/liaison"})
    assert settings.database_url == "postgresql+psycopg://u@db/liaison"
    assert settings.api_url == "https://slack.com/api/"
    assert load_settings({}).database_url == "sqlite:///liaison.db"


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    import os

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LIAISON_"))}
    environment.pop("DATABASE_URL", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
    )


def test_cli_prints_a_valid_manifest() -> None:
    result = run_cli("manifest")
    assert result.returncode == 0
    validate(json.loads(result.stdout))


def test_cli_stops_on_a_bad_setting_with_one_line(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", env={"LIAISON_LOCALE": "klingon"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "liaison: LIAISON_LOCALE must be one of en, zh-CN"
    ]


def test_cli_socket_mode_needs_its_tokens(tmp_path: Path) -> None:
    result = run_cli("socket", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN and SLACK_APP_TOKEN are not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_upgrades_the_database_and_runs_due_jobs(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/liaison.db"}
    result = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    result = run_cli("jobs", "run-due", "--now", "2026-12-01T09:00:00+01:00", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Nothing was due.\n"
    result = run_cli("jobs", "run-due", "--now", "yesterday", env=env, cwd=tmp_path)
    assert result.returncode == 2 and "--now must be an ISO-8601 time" in result.stderr
