"""Installation tokens encrypted at rest (Fernet, with key rotation through MultiFernet).

In OAuth mode every workspace's bot, user and refresh tokens live in the database. They are
stored encrypted with the keys of ``LIAISON_ENCRYPTION_KEYS`` (comma-separated, newest first): the
newest key encrypts, every listed key decrypts, so a key is rotated by putting a new one first and
running ``liaison keys rotate``, which re-encrypts every stored token with it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Column, Integer, MetaData, Table, Text, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

INSTALLATION_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
BOT_TOKENS = ("bot_token", "bot_refresh_token")
TOKEN_CACHE_SECONDS = 60.0


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


class TokenCipher:
    def __init__(self, keys: Iterable[str]) -> None:
        fernets = [Fernet(key.encode("ascii")) for key in keys]
        if not fernets:
            raise ValueError("no encryption key")
        self._fernet = MultiFernet(fernets)

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return self._fernet.decrypt(value.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            raise InvalidToken(
                "a stored token cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, value: str | None) -> str | None:
        if value is None:
            return None
        if value.startswith("xox"):  # stored before encryption was turned on
            return self.encrypt(value)
        return self._fernet.rotate(value.encode("ascii")).decode("ascii")


class EncryptedText(TypeDecorator[str]):
    """A text column whose values are Fernet-encrypted on the way in, decrypted on the way out."""

    impl = Text
    cache_ok = False

    def __init__(self, cipher: TokenCipher) -> None:
        super().__init__()
        self.cipher = cipher

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return self.cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return self.cipher.decrypt(value)


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy store whose token columns are encrypted: the database never holds a
    usable bot, user or refresh token."""

    def __init__(self, *, client_id: str, engine: Engine, keys: Iterable[str], **kwargs: Any):
        self.cipher = TokenCipher(keys)
        self._tokens: dict[str, tuple[str | None, float]] = {}
        super().__init__(client_id=client_id, engine=engine, **kwargs)

    def _encrypt_columns(self, table: Table, names: Iterable[str]) -> Table:
        for name in names:
            table.c[name].type = EncryptedText(self.cipher)
        return table

    # Instance methods on purpose (slack_sdk's are classmethods called through self): the columns
    # need this store's keys.
    def build_installations_table(self, metadata: MetaData, table_name: str) -> Table:  # type: ignore[override]
        table = SQLAlchemyInstallationStore.build_installations_table(metadata, table_name)
        return self._encrypt_columns(table, INSTALLATION_TOKENS)

    def build_bots_table(self, metadata: MetaData, table_name: str) -> Table:  # type: ignore[override]
        table = SQLAlchemyInstallationStore.build_bots_table(metadata, table_name)
        return self._encrypt_columns(table, BOT_TOKENS)

    def save(self, installation: Installation) -> None:
        """The installation, and its workspace's row (with the shard hash the sharded schedulers
        select workspaces by), written at install time."""
        super().save(installation)
        if installation.team_id:
            from storage.models import Workspace

            installed = datetime.fromtimestamp(installation.installed_at, UTC)
            with Session(self.engine) as session:
                if session.get(Workspace, installation.team_id) is None:
                    name = installation.team_name
                    session.add(
                        Workspace(team_id=installation.team_id, name=name, created_at=installed)
                    )
                    session.commit()

    def token_for(self, team_id: str) -> str | None:
        """The workspace's bot token, decrypted (kept for a minute: one look-up per workspace and
        minute, not one per message)."""
        now = time.monotonic()
        cached = self._tokens.get(team_id)
        if cached is not None and now - cached[1] < TOKEN_CACHE_SECONDS:
            return cached[0]
        bot = self.find_bot(enterprise_id=None, team_id=team_id)
        token = bot.bot_token if bot else None
        self._tokens[team_id] = (token, now)
        return token

    def rotate(self) -> int:
        """Re-encrypt every stored token with the newest key; returns the rows rewritten."""
        count = 0
        with self.engine.begin() as connection:
            for table, names in (
                (self.installations, INSTALLATION_TOKENS),
                (self.bots, BOT_TOKENS),
            ):
                # The same table seen without decryption: the ciphertexts themselves.
                raw = Table(
                    table.name,
                    MetaData(),
                    Column("id", Integer, primary_key=True),
                    *[Column(name, Text) for name in names],
                )
                for row in connection.execute(select(raw)).mappings().all():
                    values = {name: self.cipher.rotate(row[name]) for name in names}
                    connection.execute(update(raw).where(raw.c.id == row["id"]).values(**values))
                    count += 1
        return count
