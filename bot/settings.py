"""The environment, read once into one typed Settings object.

Every setting Liaison reads lives here. A missing or malformed value raises ``SettingsError`` with
one line naming the variable; the CLI prints that line and exits, never a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLACK_API_URL = "https://slack.com/api/"
SUPPORTED_LOCALES = ("en", "zh-CN")
COMMAND_NAMES = ("project", "keyuser", "issue", "training", "poll", "meeting", "digest")
_COMMAND_RE = re.compile(r"^/[a-z0-9][a-z0-9_-]{0,31}$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


@dataclass(frozen=True)
class Settings:
    bot_token: str | None = None
    signing_secret: str | None = None
    app_token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    api_url: str = SLACK_API_URL
    database_url: str = "sqlite:///liaison.db"
    timezone: str = "UTC"
    locale: str = "en"
    app_name: str = "Liaison"
    socket_mode: bool = True
    public_url: str | None = None
    commands: dict[str, str] = field(default_factory=lambda: {n: f"/{n}" for n in COMMAND_NAMES})

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def command(self, name: str) -> str:
        return self.commands[name]

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    def require(self, *names: str) -> None:
        """Stop start-up with one clear line when a setting a mode needs is absent."""
        env_names = {
            "bot_token": "SLACK_BOT_TOKEN",
            "signing_secret": "SLACK_SIGNING_SECRET",
            "app_token": "SLACK_APP_TOKEN",
        }
        for name in names:
            if not getattr(self, name):
                raise SettingsError(
                    f"{env_names[name]} is not set; see README: Connect a real workspace"
                )


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name)
        return value.strip() if value and value.strip() else None

    bot_token = get("SLACK_BOT_TOKEN")
    if bot_token and not bot_token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    app_token = get("SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")

    api_url = get("SLACK_API_URL") or SLACK_API_URL
    if not re.match(r"^https?://[^\s/]+", api_url):
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL, got {api_url!r}")
    if not api_url.endswith("/"):
        api_url += "/"

    database_url = get("DATABASE_URL") or "sqlite:///liaison.db"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://") :]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", database_url):
        raise SettingsError("DATABASE_URL must be a sqlite:/// or postgresql:// URL")

    timezone = get("LIAISON_TIMEZONE") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"LIAISON_TIMEZONE is not a known IANA timezone: {timezone!r}"
        ) from None

    locale = get("LIAISON_LOCALE") or "en"
    if locale not in SUPPORTED_LOCALES:
        raise SettingsError(f"LIAISON_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")

    commands = {}
    for name in COMMAND_NAMES:
        value = get(f"LIAISON_COMMAND_{name.upper()}") or f"/{name}"
        if not value.startswith("/"):
            value = "/" + value
        if not _COMMAND_RE.match(value):
            raise SettingsError(f"LIAISON_COMMAND_{name.upper()} is not a valid slash command")
        commands[name] = value
    if len(set(commands.values())) != len(commands):
        raise SettingsError("LIAISON_COMMAND_* settings give two commands the same name")

    socket_raw = get("LIAISON_SOCKET_MODE")
    socket_mode = _bool("LIAISON_SOCKET_MODE", socket_raw) if socket_raw else True
    public_url = get("LIAISON_PUBLIC_URL")
    if public_url and not public_url.startswith("https://"):
        raise SettingsError("LIAISON_PUBLIC_URL must start with https://")

    client_id, client_secret = get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET")
    if bool(client_id) != bool(client_secret):
        given, missing = (
            ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
            if client_id
            else ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID")
        )
        raise SettingsError(
            f"{given} is set but {missing} is not: set both for the multi-workspace install, "
            "or neither"
        )

    return Settings(
        bot_token=bot_token,
        signing_secret=get("SLACK_SIGNING_SECRET"),
        app_token=app_token,
        client_id=client_id,
        client_secret=client_secret,
        api_url=api_url,
        database_url=database_url,
        timezone=timezone,
        locale=locale,
        app_name=get("LIAISON_APP_NAME") or "Liaison",
        socket_mode=socket_mode,
        public_url=public_url.rstrip("/") if public_url else None,
        commands=commands,
    )
