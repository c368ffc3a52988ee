"""End-user readiness on seeded data: one statement whatever the number of end users, and every
figure equal to a recomputation in plain SQL; removed end users, cancelled sessions and sessions
of another module do not count."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from bench import end_users as bench
from bot.runtime import Runtime
from bot.services import end_user_readiness as service
from bot.services import projects as project_service
from storage.db import Database
from tests.test_flows_end_users import expected_readiness


def readiness(runtime: Runtime, database: Database) -> tuple[list[service.Cell], int]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with runtime.unit(bench.TEAM, bench.PM) as ctx:
        project = project_service.get_project(ctx, "BENCH")
        event.listen(database.engine, "before_cursor_execute", count)
        try:
            cells = service.readiness(ctx, project)
        finally:
            event.remove(database.engine, "before_cursor_execute", count)
    return cells, len(statements)


@pytest.mark.parametrize("people", [40, 400])
def test_readiness_is_one_statement_and_matches_plain_sql(
    runtime: Runtime, database: Database, people: int
) -> None:
    bench.seed(runtime, people)
    with database.engine.begin() as connection:
        # One end user removed, one session cancelled, one mark on a session of another module.
        connection.execute(text("UPDATE enduser SET removed_at = updated_at WHERE number = 1"))
        connection.execute(
            text("UPDATE calendarevent SET status = 'cancelled' WHERE title = 'Session 1-0'")
        )
    cells, statements = readiness(runtime, database)
    assert statements == 1
    shown = {(c.module, c.department): (c.end_users, c.ready) for c in cells}
    assert shown == expected_readiness(database)
    assert sum(c.end_users for c in cells) == people - 1
    assert 0 < sum(c.ready for c in cells) < people - 1


def test_the_digest_costs_the_same_statements_with_ten_times_the_end_users(
    runtime: Runtime, database: Database
) -> None:
    from bot.services import digest as digest_service

    bench.seed(runtime, 40)

    def digest_statements() -> tuple[int, Any]:
        statements: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            statements.append(statement)

        with runtime.unit(bench.TEAM, bench.PM) as ctx:
            project = project_service.get_project(ctx, "BENCH")
            event.listen(database.engine, "before_cursor_execute", count)
            try:
                digest = digest_service.build_digest(ctx, project, now=ctx.now())
            finally:
                event.remove(database.engine, "before_cursor_execute", count)
        return len(statements), digest.sections["end_user_readiness"]

    small, section = digest_statements()
    assert section.total == 40
    with database.engine.begin() as connection:
        for copy in range(1, 10):
            connection.execute(
                text(
                    "INSERT INTO enduser (team_id, project_id, number, name, user_id, department,"
                    " module_id, key_user_id, created_by, created_at, updated_at)"
                    " SELECT team_id, project_id, number + :shift, name, NULL, department,"
                    " module_id, key_user_id, created_by, created_at, updated_at FROM enduser"
                    " WHERE number <= 40"
                ),
                {"shift": 40 * copy},
            )
    large, section = digest_statements()
    assert section.total == 400 and large == small
    expected = expected_readiness(database)
    assert section.ready == sum(ready for _total, ready in expected.values())
    assert section.more == max(0, len(expected) - digest_service.END_USER_LINES)
