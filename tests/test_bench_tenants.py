"""The many-workspaces benchmark at a tiny size, so that it cannot rot: what it seeds is what it
says (tokens stored encrypted, a project, key users, issues, a weekly poll and meeting in every
workspace, the big workspace's key users), the day's first cycle reminds every owner of an overdue
issue once, and the next cycle sends the same statements at two sizes."""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import text
from sqlmodel import SQLModel

from bench import tenants as bench
from bot.crypto import EncryptedInstallationStore, new_key
from storage.db import Database

SMALL = bench.Size(workspaces=2, key_users=4, issues=9, big_key_users=12)
LARGE = bench.Size(workspaces=6, key_users=4, issues=9, big_key_users=12)
KEYS = (new_key(),)


def scalar(database: Database, sql: str, **params: Any) -> Any:
    with database.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def emptied(database: Database) -> None:
    with database.engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(text(f'DELETE FROM "{table.name}"'))
        if "slack_bots" in database.engine.dialect.get_table_names(connection):
            connection.execute(text("DELETE FROM slack_bots"))


def test_the_bench_seeds_what_it_says_and_its_steady_cycle_is_flat(database: Database) -> None:
    steady: list[int] = []
    for size in (SMALL, LARGE):
        emptied(database)
        runtime, teams, _seeded, first, again = bench.measure_cycles(database, size, KEYS)
        steady.append(again[1])
        count = size.workspaces + 1
        assert len(teams) == count and teams[-1] == bench.BIG
        with database.engine.connect() as connection:
            hashes = dict(
                connection.execute(text("SELECT team_id, shard_hash FROM workspace")).all()
            )
            raw = connection.execute(text("SELECT bot_token FROM slack_bots")).scalars().all()
        assert hashes == {t: zlib.crc32(t.encode()) & 0x7FFFFFFF for t in teams}
        assert len(raw) == count and not any("xoxb" in token for token in raw)  # encrypted
        store = EncryptedInstallationStore(
            client_id=bench.CLIENT_ID, engine=database.engine, keys=KEYS
        )
        assert store.token_for(teams[0]) == f"xoxb-bench-{teams[0]}"
        assert scalar(database, "SELECT count(*) FROM project") == count
        assert scalar(database, "SELECT count(*) FROM keyuser") == (
            size.workspaces * size.key_users + size.big_key_users
        )
        assert scalar(database, "SELECT count(*) FROM issue") == count * size.issues
        assert scalar(database, "SELECT count(*) FROM poll WHERE recurrence = 'weekly'") == count
        assert scalar(database, "SELECT count(DISTINCT team_id) FROM meeting") == count
        # The first cycle reminded each owner of an overdue open issue once per workspace.
        owners = scalar(
            database,
            "SELECT count(*) FROM (SELECT DISTINCT team_id, owner_id FROM issue"
            " WHERE status NOT IN ('resolved', 'closed') AND owner_id IS NOT NULL"
            " AND due_at <= :now) AS due",
            now=bench.NOW,
        )
        reminders = scalar(
            database, "SELECT count(*) FROM outboxmessage WHERE key LIKE 'reminder:%'"
        )
        assert owners > 0 and reminders == owners
        assert first[2] == scalar(
            database, "SELECT count(*) FROM outboxmessage WHERE status = 'sent'"
        )
        assert again[2] == 0
        runtime.database.engine.dispose()
    assert steady[0] == steady[1]
