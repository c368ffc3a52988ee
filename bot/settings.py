"""The environment, read once into one typed Settings object.

Every setting Liaison reads lives here. A missing or malformed value raises ``SettingsError`` with
one line naming the variable; the CLI prints that line and exits, never a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLACK_API_URL = "https://slack.com/api/"
SUPPORTED_LOCALES = ("en", "zh-CN")
SECRET_FIELDS = ("bot_token", "signing_secret", "app_token", "client_secret", "encryption_keys")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
COMMAND_NAMES = (
    "project",
    "keyuser",
    "issue",
    "training",
    "poll",
    "meeting",
    "risk",
    "change",
    "signoff",
    "digest",
)
_COMMAND_RE = re.compile(r"^/[a-z0-9][a-z0-9_-]{0,31}$")
# 32 bytes in url-safe base64: 43 characters and one optional "=" of padding.
_FERNET_KEY_RE = re.compile(r"[A-Za-z0-9_-]{43}=?")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


def check_keys(keys: tuple[str, ...]) -> None:
    """Each key must be a Fernet key: 32 bytes, url-safe base64-encoded (whitespace is ignored and
    the final padding may be left out, as Fernet itself allows)."""
    for index, key in enumerate(keys, start=1):
        if not _FERNET_KEY_RE.fullmatch(re.sub(r"[ \t\n\r\f\v]", "", key)):
            raise SettingsError(
                f"LIAISON_ENCRYPTION_KEYS: key {index} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; `liaison keys new` makes one)"
            )


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
    # Fernet keys (newest first) that encrypt OAuth installation tokens at rest.
    encryption_keys: tuple[str, ...] = ()
    log_level: str = "INFO"
    log_json: bool = False
    standby_seconds: float = 10.0  # how often a standby scheduler tries to take the lead
    shards: int = 1  # workspaces split among this many scheduler leads (bot.shards)
    claim_timeout_seconds: float = 300.0  # an outbox claim older than this is taken over
    rate_scale: float = 1.0  # multiplies every send rate (workspaces with higher Slack limits)
    body_timeout_seconds: float = 5.0  # HTTP mode: a request body not all in by then gets 408
    simulated_clock: str | None = None  # "start,anchor,speed": a rehearsal's shared fast clock

    def __repr__(self) -> str:
        """Every setting, with secrets shown only as set or not (and no database password)."""
        parts = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in SECRET_FIELDS:
                shown = "<set>" if value else None
                parts.append(f"{item.name}={shown!r}" if shown is None else f"{item.name}={shown}")
            elif item.name == "database_url":
                parts.append(f"database_url={shown_url(value)!r}")
            else:
                parts.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__

    def secrets(self) -> list[str]:
        """Every secret value, for the log redaction."""
        values = [self.bot_token, self.signing_secret, self.app_token, self.client_secret]
        values += list(self.encryption_keys)
        values += _url_secrets(self.database_url)
        return [v for v in values if v]

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def command(self, name: str) -> str:
        return self.commands[name]

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    def require(self, *names: str) -> None:
        """Stop start-up with one clear line naming every setting a mode needs that is absent."""
        env_names = {
            "bot_token": "SLACK_BOT_TOKEN",
            "signing_secret": "SLACK_SIGNING_SECRET",
            "app_token": "SLACK_APP_TOKEN",
        }
        missing = [env_names[name] for name in names if not getattr(self, name)]
        if not missing:
            return
        listed = " and ".join([", ".join(missing[:-1]), missing[-1]] if missing[:-1] else missing)
        verb = "is" if len(missing) == 1 else "are"
        raise SettingsError(f"{listed} {verb} not set; see README: Connect a real workspace")


_URL_PASSWORD = re.compile(r"^([^:]+://[^:/@]+:)([^@]+)@")
# A query key naming a secret (sslpassword, password, passfile's passphrase, a token, ...).
_SECRET_QUERY = re.compile(r"([?&][^=&]*(?:pass|secret|token)[^=&]*=)([^&#]*)", re.I)


def _url_secrets(url: str) -> list[str]:
    """The secrets a database URL holds: its password and every secret query value."""
    password = _URL_PASSWORD.match(url)
    found = [password.group(2)] if password else []
    return found + [m.group(2) for m in _SECRET_QUERY.finditer(url) if m.group(2)]


def shown_url(url: str) -> str:
    """A database URL as it may be shown: its password and secret query values as ``***``."""
    return _SECRET_QUERY.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


def _bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _seconds(
    get: Callable[[str], str | None], name: str, default: str, low: float, high: float
) -> float:
    """The setting ``name``, a number of seconds from ``low`` to ``high``."""
    try:
        seconds = float(get(name) or default)
    except ValueError:
        seconds = -1.0
    if not low <= seconds <= high:
        raise SettingsError(f"{name} must be a number of seconds from {low} to {high}")
    return seconds


def parse_shards(raw: str, name: str) -> int:
    from bot.shards import MAX_SHARDS

    try:
        count = int(raw)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_SHARDS:
        raise SettingsError(f"{name} must be a whole number from 1 to {MAX_SHARDS}")
    return count


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

    encryption_keys = tuple(
        key.strip() for key in (get("LIAISON_ENCRYPTION_KEYS") or "").split(",") if key.strip()
    )
    if encryption_keys:
        check_keys(encryption_keys)
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
    if client_id and client_secret and not encryption_keys:
        raise SettingsError(
            "LIAISON_ENCRYPTION_KEYS is not set: OAuth mode stores installation tokens encrypted; "
            "create a key with `liaison keys new`"
        )
    log_level = (get("LIAISON_LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise SettingsError(f"LIAISON_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    log_raw = get("LIAISON_LOG_JSON")
    standby_seconds = _seconds(get, "LIAISON_STANDBY_SECONDS", "10", 0.1, 30)
    shards = parse_shards(get("LIAISON_SHARDS") or "1", "LIAISON_SHARDS")

    claim_raw = get("LIAISON_CLAIM_TIMEOUT_SECONDS") or "300"
    rate_raw = get("LIAISON_RATE_SCALE") or "1"
    try:
        claim_timeout = float(claim_raw)
        rate_scale = float(rate_raw)
    except ValueError:
        raise SettingsError(
            "LIAISON_CLAIM_TIMEOUT_SECONDS and LIAISON_RATE_SCALE must be numbers"
        ) from None
    if not 1 <= claim_timeout <= 3600:
        raise SettingsError("LIAISON_CLAIM_TIMEOUT_SECONDS must be from 1 to 3600")
    if not 0.01 <= rate_scale <= 100:
        raise SettingsError("LIAISON_RATE_SCALE must be from 0.01 to 100")
    body_timeout = _seconds(get, "LIAISON_BODY_TIMEOUT_SECONDS", "5", 0.1, 60)
    simulated = get("LIAISON_SIMULATED_CLOCK")
    if simulated:
        from bot.clock import SimulatedClock

        try:
            SimulatedClock.parse(simulated)
        except ValueError:
            raise SettingsError(
                "LIAISON_SIMULATED_CLOCK must be 'ISO start,Unix anchor,speed[,ISO until]'"
            ) from None

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
        encryption_keys=encryption_keys,
        log_level=log_level,
        log_json=_bool("LIAISON_LOG_JSON", log_raw) if log_raw else False,
        standby_seconds=standby_seconds,
        shards=shards,
        claim_timeout_seconds=claim_timeout,
        rate_scale=rate_scale,
        body_timeout_seconds=body_timeout,
        simulated_clock=simulated,
    )
