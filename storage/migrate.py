"""Schema migrations (Alembic), run by ``liaison db upgrade`` and at start-up of the app.

Several processes start at once on a first deploy (the Procfile's web and worker, or a rolling
restart): on PostgreSQL an advisory lock makes them migrate one after the other, and each one
after the first finds the schema current and does nothing.

At start-up the schema is nearly always current already: ``ensure_schema`` compares the database's
revision with the heads named in the migration files' headers and imports and runs Alembic only
when they differ (Alembic's import and script scan are a third of a cold start).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = "storage:migrations"
MIGRATION_LOCK_ID = 0x4C494D47  # "LIMG"; the scheduler's leader lock is another key
VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION_RE = re.compile(r"^revision(?:\s*:[^=]*)?=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN_REVISION_RE = re.compile(r"^down_revision(?:\s*:[^=]*)?=\s*(.+)$", re.MULTILINE)


def script_heads() -> set[str]:
    """The head revisions, read from the migration files' ``revision``/``down_revision`` lines."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION_RE.search(source)
        if revision is None:
            continue
        revisions.add(revision.group(1))
        down = _DOWN_REVISION_RE.search(source)
        if down is not None:
            parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    return revisions - parents


def database_heads(engine: Engine) -> set[str]:
    """The revisions the database is at (empty for a new database)."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError as error:
        if "alembic_version" in str(error.orig):
            return set()
        raise
    return {row[0] for row in rows}


def ensure_schema(engine: Engine) -> bool:
    """Bring the schema to the heads; True when migrations ran, False when it was current."""
    if database_heads(engine) == script_heads():
        return False
    upgrade(engine)
    return True


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    from alembic import command

    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(engine), revision)  # SQLite: one writer at a time anyway
        return
    with engine.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_ID})
        try:
            command.upgrade(alembic_config(engine), revision)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_ID})
            lock.commit()


def current_heads(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())
