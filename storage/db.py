"""The engine and units of work: one session per request or job, committed or rolled back whole."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

# A form's answer is due within Slack's 3 s, the store's outage included: a connection that cannot
# be made (libpq's shortest wait) or taken from the pool in this time is an outage, said at once.
CONNECT_TIMEOUT_SECONDS = 2
POOL_TIMEOUT_SECONDS = 2


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,  # bound values are what people answered: never in a log line
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # pysqlite's own transaction handling breaks SAVEPOINTs (releasing one commits);
            # let SQLAlchemy emit BEGIN itself, as its documentation recommends.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        hide_parameters=True,
        pool_timeout=POOL_TIMEOUT_SECONDS,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def store_unavailable(error: BaseException) -> str | None:
    """Why the database cannot be used right now, in one line, when ``error`` says so: it cannot
    be reached or refuses connections, the connection was lost, it is locked or no pooled
    connection came free in time. None for any other error (a bug, a constraint)."""
    if isinstance(error, exc.TimeoutError):
        return "no database connection came free in time"
    if not isinstance(error, exc.DBAPIError):
        return None
    if not (
        error.connection_invalidated or isinstance(error, exc.OperationalError | exc.InterfaceError)
    ):
        return None
    return str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__


class Database:
    """Owns the engine; ``session()`` is the unit of work every handler and job runs in."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @property
    def sqlite_path(self) -> Path | None:
        if self.engine.dialect.name != "sqlite":
            return None
        database = self.engine.url.database
        if not database or database == ":memory:":
            return None
        return Path(database).resolve()

    @contextmanager
    def session(self) -> Iterator[Session]:
        session = Session(self.engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


class StatementCounter:
    """Counts the SQL statements an engine runs while in use (``with StatementCounter(engine) as
    counted: ...; counted.count``): benchmarks and tests keep work set-based with it. A multi-row
    insert counts once per statement the driver is given."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _count(self, *_args: object, **_kwargs: object) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)
