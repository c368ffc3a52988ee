"""Migrations build the schema the models describe, from an empty database, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlmodel import Session, SQLModel, select

import storage.models  # noqa: F401
from storage.db import make_engine
from storage.migrate import current_heads, upgrade
from storage.models import OutboxMessage
from tests.conftest import postgres_url


def assert_schema_matches_models(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables


@contextmanager
def isolated_schema(schema: str) -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL schema of the test database, dropped afterwards (skips
    without TEST_DATABASE_URL)."""
    url = postgres_url()
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    isolated = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield isolated
    finally:
        isolated.dispose()
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def test_upgrade_from_empty_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    assert_schema_matches_models(engine)
    upgrade(engine)  # a second run is a no-op
    assert current_heads(engine)
    engine.dispose()


def test_upgrade_from_empty_postgresql() -> None:
    with isolated_schema("migration_check") as isolated:
        upgrade(isolated)
        assert_schema_matches_models(isolated)


def test_three_processes_migrate_a_fresh_postgresql_database_at_once(tmp_path: Path) -> None:
    """A first deploy starts web and worker together: every `liaison db upgrade` ends cleanly."""
    import os
    import subprocess
    import sys
    import uuid

    url = postgres_url()
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"trust_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    fresh = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        environment = {**os.environ, "DATABASE_URL": fresh}
        for variable in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
            environment.pop(variable, None)
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "db", "upgrade"],
                env=environment,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in processes]
        assert [code for code, _ in outcomes] == [0, 0, 0], [err for _, err in outcomes]
        assert not any("UniqueViolation" in err for _, err in outcomes)
        engine = make_engine(fresh)
        try:
            assert_schema_matches_models(engine)
        finally:
            engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_history_is_one_line_with_a_single_head() -> None:
    from storage.migrate import script_heads

    assert len(script_heads()) == 1


def _outbox_rows_get_a_deadline_and_a_kind(engine) -> None:  # type: ignore[no-untyped-def]
    upgrade(engine, "0009")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO outboxmessage (team_id, key, method, payload, status, attempts,"
                " created_at, next_attempt_at) VALUES ('T1', 'poll:4:invite:U1',"
                " 'chat.postMessage', '{}', 'pending', 2, :queued, :queued)"
            ),
            {"queued": datetime(2026, 12, 1, 8, 0, 0, 250000)},
        )
    upgrade(engine)
    assert_schema_matches_models(engine)
    with Session(engine) as session:
        row = session.exec(select(OutboxMessage)).one()
    assert (row.kind, row.status, row.attempts) == ("poll", "pending", 2)
    assert row.expires_at == datetime(2026, 12, 8, 8, 0, 0, 250000, tzinfo=UTC)


def test_messages_queued_before_deadlines_get_a_week_and_their_kind_on_sqlite(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _outbox_rows_get_a_deadline_and_a_kind(engine)
    finally:
        engine.dispose()


def test_messages_queued_before_deadlines_get_a_week_and_their_kind_on_postgresql() -> None:
    with isolated_schema("outbox_deadlines") as isolated:
        _outbox_rows_get_a_deadline_and_a_kind(isolated)


def test_digest_claims_move_to_the_week_their_digest_covered(tmp_path: Path) -> None:
    """Before 0011 a claim named the week the digest was sent in; now the week it covers, the one
    before. Moved, next Monday's digest is not mistaken for last Monday's."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    sent = {  # the week each digest was sent in: consecutive ones, across a 53-week year
        1: "2026-W49",
        2: "2026-W50",
        3: "2027-W01",
        4: "2026-W53",
    }
    try:
        upgrade(engine, "0010")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO project (id, team_id, code, name, timezone, locale, phase,"
                    " phases, digest_weekday, digest_time, created_at, updated_at, created_by)"
                    " VALUES (1, 'T1', 'ERP', 'ERP', 'UTC', 'en', 'preparation', '[]', 0,"
                    " '09:00', :now, :now, 'U1')"
                ),
                {"now": datetime(2026, 11, 1)},
            )
            for row_id, week in sent.items():
                connection.execute(
                    text(
                        "INSERT INTO digestrun (id, team_id, project_id, week, due_at, claimed_at,"
                        " late, trigger) VALUES (:id, 'T1', 1, :week, :now, :now, false,"
                        " 'schedule')"
                    ),
                    {"id": row_id, "week": week, "now": datetime(2026, 12, 7)},
                )
        upgrade(engine)
        with engine.connect() as connection:
            weeks = dict(connection.execute(text("SELECT id, week FROM digestrun")).all())
    finally:
        engine.dispose()
    expected = {}
    for row_id, week in sent.items():
        year, number = week.split("-W")
        covered = date.fromisocalendar(int(year), int(number), 1) - timedelta(days=7)
        expected[row_id] = f"{covered.isocalendar()[0]}-W{covered.isocalendar()[1]:02d}"
    assert weeks == expected == {1: "2026-W48", 2: "2026-W49", 3: "2026-W53", 4: "2026-W52"}
