"""Migrations build the schema the models describe, from an empty database, on both stores."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import make_engine
from storage.migrate import current_heads, upgrade
from tests.conftest import postgres_url


def assert_schema_matches_models(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables


def test_upgrade_from_empty_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgrade(engine)
    assert_schema_matches_models(engine)
    upgrade(engine)  # a second run is a no-op
    assert current_heads(engine)
    engine.dispose()


def test_upgrade_from_empty_postgresql() -> None:
    url = postgres_url()
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    engine = make_engine(url)
    schema = "migration_check"
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    isolated = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(isolated)
        assert_schema_matches_models(isolated)
    finally:
        isolated.dispose()
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


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
