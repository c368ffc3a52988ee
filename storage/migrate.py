"""Schema migrations (Alembic), run by ``liaison db upgrade`` and at start-up of the app.

Several processes start at once on a first deploy (the Procfile's web and worker, or a rolling
restart): on PostgreSQL an advisory lock makes them migrate one after the other, and each one
after the first finds the schema current and does nothing.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine

SCRIPT_LOCATION = "storage:migrations"
MIGRATION_LOCK_ID = 0x4C494D47  # "LIMG"; the scheduler's leader lock is another key


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))  # configparser escaping
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
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
