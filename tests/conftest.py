"""Fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set), a movable clock,
the Slack emulator, the real Bolt app and a driver that posts to it as Slack would."""

from __future__ import annotations

import io
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import storage.models  # noqa: F401 - registers every table
from bot import logs
from bot.app import build_app
from bot.clock import MovableClock
from bot.delivery import Pacer
from bot.emulator.driver import SlackDriver, TrackingExecutor
from bot.emulator.server import SlackEmulator
from bot.i18n import LOCALES, t
from bot.runtime import Runtime
from bot.services.context import Ctx
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade
from tests import surfaces

TEAM = "T0001"
OTHER_TEAM = "T0002"
SIGNING_SECRET = "test-signing-secret"
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday
PM = "UPM00001"
PM2 = "UPM00002"
OUTSIDER = "UOUT0001"
ADMIN = "UADM0001"
KEY_USERS = ["UKEY00001", "UKEY00002", "UKEY00003", "UKEY00004", "UKEY00005", "UKEY00006"]
PROJECT_CHANNEL = "CERP00001"


UNEXPECTED_ERROR_TEXTS = tuple(t(locale, "errors.unexpected") for locale in LOCALES)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Every test that used the emulator ends with Slack's rules kept: no violation recorded (a
    refused Block Kit payload, a missing scope, a late acknowledgement, a wrong upload length) and
    no "something went wrong" reply to anyone. A test that provokes either on purpose says so with
    ``@pytest.mark.expects_violations`` or ``@pytest.mark.expects_error_reply``."""
    result = yield
    emulator = getattr(item, "funcargs", {}).get("emulator")
    if isinstance(emulator, SlackEmulator):
        if item.get_closest_marker("expects_violations") is None:
            assert emulator.violations == [], "the emulator saw Slack's rules broken"
        if item.get_closest_marker("expects_error_reply") is None:
            said = [place for text in UNEXPECTED_ERROR_TEXTS for place in emulator.find_text(text)]
            assert said == [], "someone was told that something went wrong"
        if item.get_closest_marker("expects_design_exception") is None:
            broken = surfaces.problems_in(surfaces.surfaces(emulator))
            assert broken == [], "a message or view breaks the house rules (tests/surfaces.py)"
    return result


def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def worker_database(url: str, worker: str) -> str:
    """The PostgreSQL database of one parallel test worker (``pytest -n 2``): ``<db>_gw0``,
    ``<db>_gw1``…, so that workers never truncate each other's tables. Created, empty, when it
    does not exist yet, through the server's ``postgres`` maintenance database."""
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    maintenance = parsed.set(drivername="postgresql+psycopg", database="postgres")
    engine = create_engine(maintenance, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--skip-slow",
        action="store_true",
        help="skip the drills marked slow (several processes, kill -9; a minute or more); "
        "CI runs them",
    )


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests that read a played demo share one worker (``--dist loadgroup``), so that each
    play happens once, not once per worker. ``--skip-slow`` skips the tests marked ``slow``, each
    reported as skipped with the reason."""
    for item in items:
        reads_demo = "played_demo" in getattr(item, "fixturenames", ())
        if reads_demo or item.path.name.startswith("test_demo"):
            item.add_marker(pytest.mark.xdist_group("demo"))
    if not config.getoption("--skip-slow"):
        return
    skip = pytest.mark.skip(reason="slow drill, skipped by --skip-slow (CI runs it)")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


def pytest_configure(config: pytest.Config) -> None:
    """A parallel worker tests on its own PostgreSQL database: from here on TEST_DATABASE_URL
    names it, for the fixtures, for the tests that read it and for the processes they start."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("TEST_DATABASE_URL")
    if worker and url:
        os.environ["TEST_DATABASE_URL"] = worker_database(url, worker)


@pytest.fixture(scope="session")
def _postgres() -> Iterator[Database | None]:
    url = postgres_url()
    if not url:
        yield None
        return
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
        # A throwaway database: a commit need not wait until the disk has it.
        name = database.engine.url.database
        connection.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    database.dispose()  # new connections take the setting
    upgrade(database.engine)
    yield database
    database.dispose()


# Children before parents, so that no foreign key is broken on the way.
_EMPTY_TABLES = "; ".join(
    f'DELETE FROM "{table.name}"' for table in reversed(SQLModel.metadata.sorted_tables)
)
# The tables other libraries make on demand (the OAuth installation store's, APScheduler's).
_EMPTY_OTHER_TABLES = (
    "DO $$ DECLARE name text; BEGIN "
    "FOREACH name IN ARRAY ARRAY['slack_bots', 'slack_installations', 'slack_oauth_states', "
    "'apscheduler_jobs'] LOOP "
    "IF to_regclass(name) IS NOT NULL THEN EXECUTE format('DELETE FROM %I', name); END IF; "
    "END LOOP; END $$"
)
# The sequences of those tables' serial and identity columns start again at 1.
_RESTART_SEQUENCES = (
    "SELECT setval(s.oid, 1, false) FROM pg_class s "
    "JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i') "
    "JOIN pg_class t ON t.oid = d.refobjid "
    "WHERE s.relkind = 'S' AND t.relnamespace = 'public'::regnamespace AND t.relname IN ("
    + ", ".join(f"'{name}'" for name in SQLModel.metadata.tables)
    + ")"
)


def _throwaway(dbapi_connection: Any, _record: Any) -> None:
    """A test's SQLite file is thrown away: a commit need not wait until the disk has it."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite store with every table, made once: each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "liaison-test.db"
    database = Database(f"sqlite:///{path}")
    SQLModel.metadata.create_all(database.engine)
    database.dispose()  # the last connection closed: the WAL is folded into the file
    return path


@pytest.fixture(scope="session")
def _sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One SQLite engine for the whole session, at one path: each test finds a fresh copy of the
    template there. SQLAlchemy caches compiled statements per engine, so sharing it saves every
    test compiling the same statements again (a fifth of a flow test's time)."""
    path = tmp_path_factory.mktemp("store") / "liaison-test.db"
    database = Database(f"sqlite:///{path}")
    event.listen(database.engine, "connect", _throwaway)
    yield database
    database.dispose()


@pytest.fixture
def database(_postgres: Database | None, request: pytest.FixtureRequest) -> Iterator[Database]:
    """The store under test: PostgreSQL when TEST_DATABASE_URL is set, else a fresh SQLite file."""
    if _postgres is not None:
        # Emptied as TRUNCATE ... RESTART IDENTITY would, but faster on a few rows: TRUNCATE
        # replaces every table's files (a tenth of a second per test).
        with _postgres.engine.begin() as connection:
            connection.execute(text(_EMPTY_TABLES))
            connection.execute(text(_EMPTY_OTHER_TABLES))
            connection.execute(text(_RESTART_SEQUENCES))
        yield _postgres
        return
    database: Database = request.getfixturevalue("_sqlite_store")
    path = database.sqlite_path
    assert path is not None
    database.dispose()
    # Unlinked, not overwritten: a connection a test left open keeps the old file to itself.
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    """The workspace's Slack. Its rate limits are off: tests click faster than people do. The
    delivery tests and benchmarks turn them on (``use_rate_limits``), on a virtual clock."""
    emu = SlackEmulator(team_id=TEAM, team_name="acme", rate_limits=False).start()
    emu.add_user(PM, "pia.pm", real_name="Pia Project-Manager")
    emu.add_user(PM2, "paul.pm", real_name="Paul Second-PM")
    emu.add_user(OUTSIDER, "olaf", real_name="Olaf Outsider")
    emu.add_user(ADMIN, "ada.admin", real_name="Ada Admin", is_admin=True)
    for index, user_id in enumerate(KEY_USERS, start=1):
        emu.add_user(
            user_id, f"key{index}", real_name=f"Key User {index}", email=f"key{index}@acme.test"
        )
    emu.add_user("UBOTOTHER", "otherbot", real_name="Other Bot")
    emu.add_channel(PROJECT_CHANNEL, "erp-rollout", members=[PM, *KEY_USERS])
    emu.add_channel("CNOBOT001", "no-bot-here", members=[PM], bot_is_member=False)
    emu.add_channel("C0GENERAL", "general", members=[PM, OUTSIDER])
    yield emu
    emu.stop()


@pytest.fixture
def settings(emulator: SlackEmulator) -> Settings:
    return Settings(
        bot_token="xoxb-test-token",
        signing_secret=SIGNING_SECRET,
        api_url=emulator.url,
        database_url="unused",
        timezone="Europe/Berlin",
        locale="en",
    )


def virtual_pacer() -> Pacer:
    """The outbox paces itself below Slack's limits; in tests on a virtual clock, so nothing waits
    in real time (tests/test_delivery.py checks the pacing itself)."""
    moment = [0.0]

    def sleep(seconds: float) -> None:
        moment[0] += seconds

    return Pacer(monotonic=lambda: moment[0], sleep=sleep)


@pytest.fixture
def runtime(settings: Settings, database: Database, clock: MovableClock) -> Runtime:
    return Runtime(settings=settings, database=database, clock=clock, pacer=virtual_pacer())


@pytest.fixture
def executor() -> Iterator[TrackingExecutor]:
    pool = TrackingExecutor()
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture
def app(runtime: Runtime, executor: TrackingExecutor):  # type: ignore[no-untyped-def]
    return build_app(runtime, listener_executor=executor)


@pytest.fixture
def slack(app, emulator: SlackEmulator, executor: TrackingExecutor) -> SlackDriver:  # type: ignore[no-untyped-def]
    return SlackDriver(app, SIGNING_SECRET, emulator, executor=executor)


@pytest.fixture
def ctx(database: Database, clock: MovableClock) -> Iterator[Ctx]:
    """A service context acting as the first PM, for service-level tests (no Slack involved)."""
    with Runtime(settings=Settings(), database=database, clock=clock).unit(TEAM, PM) as context:
        yield context


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """A stream for ``configure_logging(stream=...)``; the root logger is restored afterwards.
    Lines start with no request or job id: one that a request dispatched in this thread by an
    earlier test left behind (Bolt's middleware sets it for the listener that follows) is not
    this test's."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    tokens = (logs.request_id.set(None), logs.job_id.set(None))
    stream = io.StringIO()
    yield stream
    logs.request_id.reset(tokens[0])
    logs.job_id.reset(tokens[1])
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


@dataclass(frozen=True)
class PlayedDemo:
    text: str  # what the demo printed
    database: Path  # its SQLite file; its charts are saved beside it, named after it
    surfaces: list[surfaces.Surface]  # every message and view it sent
    warnings: list[str]  # what Python warned about while it played (a glyph missing in a chart)

    @property
    def folder(self) -> Path:
        return self.database.parent

    def chart(self, name: str) -> Path:
        """A chart the demo saved, e.g. ``chart("poll-chart")``."""
        return self.folder / f"{self.database.stem}-{name}.png"


@pytest.fixture(scope="session")
def played_demo(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], PlayedDemo]:
    """``played_demo(locale)``: ``liaison demo`` as an operator runs it (the command line, its
    default database; English with no LIAISON_LOCALE), played once per language and test session
    (each act's test reads its part of the same transcript). Both languages play in one folder,
    as they would on one machine."""
    plays: dict[str, PlayedDemo] = {}
    folder = tmp_path_factory.mktemp("demo")

    def play(locale: str) -> PlayedDemo:
        if locale not in plays:
            import bot.demo
            from bot import cli

            out = io.StringIO()
            sent: list[surfaces.Surface] = []
            run_demo = bot.demo.run_demo

            def watch(emulator: SlackEmulator) -> None:
                sent.extend(surfaces.surfaces(emulator))

            def watched(**options: Any) -> int:
                return run_demo(**options, watch=watch)

            with (
                pytest.MonkeyPatch.context() as patch,
                warnings.catch_warnings(record=True) as caught,
                redirect_stdout(out),
            ):
                warnings.simplefilter("always")
                patch.setattr(cli, "DEMO_FOLDER", folder)
                patch.setattr(bot.demo, "run_demo", watched)
                for name in ("LIAISON_LOCALE", "DATABASE_URL", "LIAISON_TIMEZONE"):
                    patch.delenv(name, raising=False)
                if locale != "en":
                    patch.setenv("LIAISON_LOCALE", locale)
                assert cli.main(["demo"]) == 0
            database = cli.demo_database(locale)
            plays[locale] = PlayedDemo(
                out.getvalue(), folder / database.name, sent, [str(w.message) for w in caught]
            )
        return plays[locale]

    return play
