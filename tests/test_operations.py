"""Operations: what an attacker's unparsable request gets, readiness, logs that leak nothing,
settings that print no secret, and installation tokens encrypted at rest."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.clock import MovableClock
from bot.crypto import (
    BOT_TOKENS,
    INSTALLATION_TOKENS,
    EncryptedInstallationStore,
    TokenCipher,
    new_key,
)
from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.logs import configure_logging, tagged
from bot.runtime import Runtime
from bot.server import wsgi_app
from bot.settings import Settings, SettingsError, load_settings
from storage.db import Database
from storage.migrate import upgrade
from tests.conftest import PM, PROJECT_CHANNEL, SIGNING_SECRET
from tests.polls_helpers import project_with_key_users


def test_a_tampered_form_stays_open_with_an_error(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    project_with_key_users(slack)
    slack.slash_command(PM, "/poll", "new", channel_id=PROJECT_CHANNEL)
    slack.submit_view(PM, {"title": "Pulse"})
    view = emulator.top_view(PM)
    assert view is not None
    for metadata in ("not json", "[1, 2]", json.dumps({"p": "x"}), json.dumps({"q": []})):
        response = slack.submit_view(
            PM,
            {"question_text": "How?", "then": "create"},
            view={**view, "private_metadata": metadata},
        )
        assert response.status == 200
        assert (response.json or {}).get("response_action") == "errors", metadata
        assert emulator.top_view(PM) is not None  # the modal is still open, the input kept
    assert emulator.violations == []


def test_readyz_says_whether_the_database_answers_and_is_migrated(
    tmp_path: Path, emulator: SlackEmulator, clock: MovableClock
) -> None:
    from bot.app import build_app

    settings = Settings(bot_token="xoxb-x", signing_secret=SIGNING_SECRET, api_url=emulator.url)

    def ready(database: Database) -> tuple[int, str]:
        runtime = Runtime(settings=settings, database=database, clock=clock)
        environ = {"PATH_INFO": "/readyz", "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
        status: list[str] = []
        body = b"".join(
            wsgi_app(build_app(runtime), runtime)(environ, lambda s, h: status.append(s))
        )
        return int(status[0].split()[0]), body.decode()

    migrated = Database(f"sqlite:///{tmp_path / 'migrated.db'}")
    upgrade(migrated.engine)
    assert ready(migrated) == (200, "ready")
    with migrated.engine.begin() as connection:
        connection.execute(  # as if the newest migration had not run
            text(
                "UPDATE alembic_version SET version_num = '0001' "
                "WHERE version_num = (SELECT MAX(version_num) FROM alembic_version)"
            )
        )
    code, reason = ready(migrated)
    assert code == 503 and "migrations" in reason
    unmigrated = Database(f"sqlite:///{tmp_path / 'bare.db'}")
    SQLModel.metadata.create_all(unmigrated.engine)
    assert ready(unmigrated)[0] == 503
    gone = Database(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    code, reason = ready(gone)
    assert code == 503 and reason.startswith("database")
    for database in (migrated, unmigrated, gone):
        database.dispose()


def test_no_log_line_at_any_level_carries_a_token_a_secret_or_a_web_api_body(
    log_output: io.StringIO, slack: SlackDriver, settings: Settings
) -> None:
    configure_logging(level="DEBUG", secrets=settings.secrets(), stream=log_output)
    project_with_key_users(slack)  # DEBUG: every Web API call of a whole flow is logged
    log = logging.getLogger("liaison.test")
    log.debug("refresh with xoxe.xoxp-1-abcdef and xapp-1-A1-xyz, Bearer xoxb-9-9-9")
    try:
        raise RuntimeError(f"failed with token {settings.bot_token}")
    except RuntimeError:
        log.exception("a failure whose message holds the token")
    log.info("connecting to postgresql://liaison:hunter2@db:5432/liaison?code=abc123")
    written = log_output.getvalue()
    assert "Sending a request - url:" in written and "chat.postMessage" in written
    for leaked in (
        settings.bot_token,
        SIGNING_SECRET,
        "xoxe.xoxp-1-abcdef",
        "xapp-1-A1-xyz",
        "xoxb-9-9-9",
        "hunter2",
        "abc123",
        "json_body",  # Web API bodies (what people typed) are withheld whole
        "Key User 1",
    ):
        assert leaked not in written, leaked
    assert "[redacted]" in written and "Traceback" in written


def test_json_logs_carry_request_and_job_ids(log_output: io.StringIO) -> None:
    configure_logging(level="INFO", json_lines=True, stream=log_output)
    log = logging.getLogger("liaison.test")
    with tagged(request="req-1"):
        log.info("in a request")
    with tagged(job="poll_remind"):
        log.warning("in a job")
    first, second = [json.loads(line) for line in log_output.getvalue().splitlines()]
    assert first["request_id"] == "req-1" and first["message"] == "in a request"
    assert second["job_id"].startswith("poll_remind:") and second["level"] == "WARNING"


def test_a_listener_logs_with_the_id_of_its_request(log_output: io.StringIO) -> None:
    from bot.logs import ContextExecutor, tag_request

    configure_logging(level="INFO", json_lines=True, stream=log_output)
    log = logging.getLogger("liaison.test")
    pool = ContextExecutor(max_workers=1)

    def dispatch() -> None:  # what Bolt does: the middleware, then the listener in its pool
        tag_request(lambda: None)
        pool.submit(log.info, "in the listener").result()

    for _ in range(2):
        dispatch()
    pool.shutdown()
    ids = [json.loads(line).get("request_id") for line in log_output.getvalue().splitlines()]
    assert len(ids) == 2 and all(ids) and ids[0] != ids[1]


def test_settings_never_print_secrets() -> None:
    key = new_key()
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-1-secret-bot",
            "SLACK_SIGNING_SECRET": "signing-secret-value",
            "SLACK_APP_TOKEN": "xapp-1-secret-app",
            "SLACK_CLIENT_ID": "111.222",
            "SLACK_CLIENT_SECRET": "client-secret-value",
            "LIAISON_ENCRYPTION_KEYS": key,
            "DATABASE_URL": "postgresql://liaison:db-password@db:5432/liaison",
        }
    )
    for shown in (repr(settings), str(settings), f"{settings!r}"):
        for secret in (
            "xoxb-1-secret-bot",
            "signing-secret-value",
            "xapp-1-secret-app",
            "client-secret-value",
            key,
            "db-password",
        ):
            assert secret not in shown
    assert "111.222" in repr(settings)


def test_neither_settings_nor_log_lines_show_a_secret_of_the_database_url(
    log_output: io.StringIO,
) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://liaison:db-password@db:5432/liaison"
            "?sslmode=require&sslpassword=key-passphrase-7&auth_token=url-token-9"
        }
    )
    configure_logging(level="DEBUG", secrets=settings.secrets(), stream=log_output)
    logging.getLogger("liaison.test").info("connecting to %s", settings.database_url)
    logging.getLogger("sqlalchemy.engine").info("connect %s", settings.database_url)
    for shown in (repr(settings), str(settings), log_output.getvalue()):
        for secret in ("db-password", "key-passphrase-7", "url-token-9"):
            assert secret not in shown, shown
    assert "db:5432/liaison?sslmode=require" in repr(settings)


def test_oauth_mode_refuses_to_start_without_an_encryption_key(
    database: Database, clock: MovableClock, emulator: SlackEmulator
) -> None:
    from bot.app import build_app

    with pytest.raises(SettingsError, match="LIAISON_ENCRYPTION_KEYS"):
        load_settings({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "x"})
    with pytest.raises(SettingsError, match="not a Fernet key"):
        load_settings({"LIAISON_ENCRYPTION_KEYS": "not-a-key"})
    settings = Settings(
        signing_secret="s", client_id="1.2", client_secret="x", api_url=emulator.url
    )
    with pytest.raises(SettingsError):
        build_app(Runtime(settings=settings, database=database, clock=clock))


def test_installation_tokens_are_encrypted_at_rest_and_keys_rotate(database: Database) -> None:
    old, new = new_key(), new_key()
    store = EncryptedInstallationStore(client_id="1.2", engine=database.engine, keys=[old])
    store.create_tables()
    tokens = {
        "bot_token": "xoxb-1-bot-token-value",
        "bot_refresh_token": "xoxe-1-bot-refresh-" + "r" * 150,
        "user_token": "xoxp-1-user-token-value",
        "user_refresh_token": "xoxe-1-user-refresh-value",
    }
    store.save(Installation(app_id="A1", team_id="T9", user_id="U9", **tokens))

    def rows(table: str) -> list[dict[str, str]]:
        with database.engine.connect() as connection:
            return [
                dict(row._mapping) for row in connection.execute(text(f"SELECT * FROM {table}"))
            ]

    def stored() -> str:
        return json.dumps(rows("slack_installations") + rows("slack_bots"), default=str)

    at_rest = stored()
    assert not any(token in at_rest for token in tokens.values())
    # Each token column holds a ciphertext that the key turns back into that very token.
    cipher = TokenCipher([old])
    for table, names in (("slack_installations", INSTALLATION_TOKENS), ("slack_bots", BOT_TOKENS)):
        [row] = rows(table)
        assert {name: cipher.decrypt(row[name]) for name in names} == {
            name: tokens[name] for name in names
        }
    bot = store.find_bot(enterprise_id=None, team_id="T9")
    assert bot is not None and bot.bot_token == tokens["bot_token"]
    found = store.find_installation(enterprise_id=None, team_id="T9", user_id="U9")
    assert found is not None and found.user_refresh_token == tokens["user_refresh_token"]
    # Rotation: the new key first, every token re-encrypted, then the old key can go.
    rotating = EncryptedInstallationStore(client_id="1.2", engine=database.engine, keys=[new, old])
    assert rotating.rotate() == 2
    assert stored() != at_rest
    only_new = EncryptedInstallationStore(client_id="1.2", engine=database.engine, keys=[new])
    bot = only_new.find_bot(enterprise_id=None, team_id="T9")
    assert bot is not None and bot.bot_refresh_token == tokens["bot_refresh_token"]
