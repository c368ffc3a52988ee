"""Shards of workspaces: the stored hash, the shard predicate in SQL, the sender and the jobs of a
shard, statements that do not grow with the workspaces installed, and sharded schedulers that
spread the shards between them and take over a stopped one's."""

from __future__ import annotations

import threading
import time
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot import scheduler as scheduler_module
from bot.clock import MovableClock
from bot.delivery import Pacer, Sender, enqueue
from bot.jobs import JOB_TABLE, run_due
from bot.runtime import Runtime
from bot.scheduler import fair_share, run_sharded
from bot.services import issues as issue_service
from bot.services import keyusers as keyuser_service
from bot.services import projects as project_service
from bot.settings import SettingsError, load_settings
from bot.shards import Shard, all_shards, shard_hash, team_filter
from storage.db import Database, StatementCounter
from storage.migrate import upgrade
from storage.models import OutboxMessage, OutboxStatus, Workspace
from tests.conftest import PM

TEAMS = [f"T{index:04d}SH" for index in range(12)]
UNKNOWN = "T9999NOWS"  # a team with outbox rows but no workspace row


def crc(team_id: str) -> int:
    """The shard hash recomputed independently of bot.shards."""
    return zlib.crc32(team_id.encode()) % (2**31)


def make_workspace(runtime: Runtime, team_id: str, *, overdue: bool = False) -> None:
    """A workspace with a project, a key user and an issue (due today with an owner, or
    without either)."""
    with runtime.unit(team_id, PM) as ctx:
        project = project_service.create_project(
            ctx=ctx,
            data=project_service.ProjectInput(name="Rollout", code="ERP", pm_ids=[PM]),
        )
        keyuser_service.add_key_user(
            ctx=ctx,
            project=project,
            data=keyuser_service.KeyUserInput(user_id="UKEYSH001", display_name="Key"),
        )
        issue_service.create_issue(
            ctx=ctx,
            project=project,
            data=issue_service.IssueInput(
                title="Open item",
                priority="P4",
                reporter_id="UKEYSH001",
                owner_id="UOWNSH001" if overdue else None,
                due_date=ctx.now().date() if overdue else None,
            ),
        )


def test_the_stored_hash_is_crc32_and_the_shards_cover_every_team_once(
    runtime: Runtime, database: Database
) -> None:
    for team in TEAMS:
        make_workspace(runtime, team)
    with database.session() as session:
        stored = {w.team_id: w.shard_hash for w in session.exec(select(Workspace)).all()}
        for team in [*TEAMS, UNKNOWN]:
            enqueue(
                session,
                team_id=team,
                key=f"shard-test:{team}",
                payload={"channel": "C1", "text": "hi"},
                now=runtime.clock.now(),
                expires_at=runtime.clock.now() + timedelta(days=1),
            )
        session.commit()
    assert stored == {team: crc(team) for team in TEAMS}
    assert all(shard_hash(team) == crc(team) for team in [*TEAMS, UNKNOWN])
    for count in (1, 2, 3, 5):
        seen: list[str] = []
        for shard in all_shards(count):
            with database.session() as session:
                teams = session.exec(
                    select(OutboxMessage.team_id).where(team_filter(OutboxMessage.team_id, shard))
                ).all()
            expected = {t for t in TEAMS if crc(t) % count == shard.index}
            if shard.index == 0:
                expected.add(UNKNOWN)  # no workspace row: shard 0's
            assert set(teams) == expected
            assert all(shard.holds(t, known=t != UNKNOWN) for t in teams)
            seen += teams
        assert sorted(seen) == sorted([*TEAMS, UNKNOWN])  # each team in one shard


def test_a_shards_sender_sends_its_workspaces_messages_only(
    runtime: Runtime, database: Database
) -> None:
    with database.session() as session:
        for team in [*TEAMS, UNKNOWN]:
            if team != UNKNOWN:
                session.add(Workspace(team_id=team, created_at=runtime.clock.now()))
            for number in range(3):
                enqueue(
                    session,
                    team_id=team,
                    key=f"shard-test:{team}:{number}",
                    payload={"channel": "C1", "text": "hi"},
                    now=runtime.clock.now(),
                    expires_at=runtime.clock.now() + timedelta(days=1),
                )
        session.commit()
    sent: list[str] = []

    def transport(row: OutboxMessage) -> dict[str, Any]:
        sent.append(row.key)
        return {"ok": True, "channel": "C1", "ts": f"1.{len(sent)}"}

    moment = [0.0]  # the pacer's clock: sleeping moves it, so pacing costs no real time
    count = 3
    by_shard: dict[int, set[str]] = {}
    for shard in all_shards(count):
        before = len(sent)
        sender = Sender(
            database,
            runtime.clock,
            lambda team: transport,
            pacer=Pacer(
                monotonic=lambda: moment[0],
                sleep=lambda seconds: moment.__setitem__(0, moment[0] + seconds),
            ),
            shard=shard,
        )
        assert sender.deliver_due().sent == len(sent) - before
        by_shard[shard.index] = {key.split(":")[1] for key in sent[before:]}
    for index, teams in by_shard.items():
        expected = {t for t in TEAMS if crc(t) % count == index} | (
            {UNKNOWN} if not index else set()
        )
        assert teams == expected
    assert sorted(sent) == sorted(
        f"shard-test:{t}:{n}" for t in [*TEAMS, UNKNOWN] for n in range(3)
    )
    with database.session() as session:
        statuses = {row.status for row in session.exec(select(OutboxMessage)).all()}
    assert statuses == {OutboxStatus.SENT}


def test_a_shards_jobs_remind_its_workspaces_only(
    runtime: Runtime, database: Database, clock: MovableClock
) -> None:
    for team in TEAMS:
        make_workspace(runtime, team, overdue=True)
    clock.advance(days=2, hours=2)  # 10:00 UTC two days on: the owners' reminders are due
    count = 3
    for shard in all_shards(count):
        run_due(runtime.for_shard(shard))
        with database.session() as session:
            reminded = set(
                session.exec(
                    select(OutboxMessage.team_id).where(
                        OutboxMessage.key.startswith("reminder:")  # type: ignore[attr-defined]
                    )
                ).all()
            )
        done = {t for t in TEAMS if crc(t) % count <= shard.index}
        assert reminded == done  # this shard's and the earlier shards', nothing more
    # Every workspace once: a whole run afterwards has nothing left to remind.
    before = _outbox_keys(database)
    run_due(runtime)
    assert {k for k in _outbox_keys(database) - before if k.startswith("reminder:")} == set()


def _outbox_keys(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.exec(select(OutboxMessage.key)).all())


def _cycle_statements(runtime: Runtime) -> int:
    with StatementCounter(runtime.database.engine) as counted:
        run_due(runtime)
    return counted.count


def test_a_cycle_with_nothing_due_costs_the_same_at_3_and_at_12_workspaces(
    runtime: Runtime, clock: MovableClock
) -> None:
    for team in TEAMS[:3]:
        make_workspace(runtime, team)
    run_due(runtime)  # what creating the projects queued goes out first
    clock.advance(minutes=1)
    few = _cycle_statements(runtime)
    for team in TEAMS[3:]:
        make_workspace(runtime, team)
    run_due(runtime)
    clock.advance(minutes=1)
    many = _cycle_statements(runtime)
    assert many == few
    sharded = runtime.for_shard(Shard(1, 3))
    assert _cycle_statements(sharded) == few  # one statement per job and shard, as unsharded


def test_shards_setting_and_option_are_checked() -> None:
    assert load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}).shards == 1
    assert load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "LIAISON_SHARDS": "4"}).shards == 4
    for wrong in ("0", "many", "65"):
        with pytest.raises(SettingsError, match="LIAISON_SHARDS"):
            load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "LIAISON_SHARDS": wrong})
    assert [fair_share(6, n) for n in (0, 1, 2, 3, 4, 7)] == [6, 6, 3, 2, 2, 1]


def test_the_shard_hash_is_backfilled_by_the_migration(tmp_path: Path) -> None:
    from storage.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "0018")
        with engine.begin() as connection:
            for team in TEAMS[:4]:
                connection.execute(
                    text("INSERT INTO workspace (team_id, created_at) VALUES (:t, :now)"),
                    {"t": team, "now": "2026-11-01 00:00:00"},
                )
        upgrade(engine)
        with engine.connect() as connection:
            stored = dict(
                connection.execute(text("SELECT team_id, shard_hash FROM workspace")).all()
            )
    finally:
        engine.dispose()
    assert stored == {team: crc(team) for team in TEAMS[:4]}


def _wait_for(condition, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_sharded_schedulers_spread_the_shards_and_take_over_a_stopped_ones(
    runtime: Runtime,
) -> None:
    """Two sharded schedulers share three shards; when one stops, the other leads all three."""
    runtime.settings = runtime.settings.with_overrides(standby_seconds=0.2)
    leading: dict[str, set[int]] = {"first": set(), "second": set()}
    lock = threading.Lock()
    original = scheduler_module.ShardLead

    class Tracked(original):  # type: ignore[misc, valid-type]
        def __init__(self, rt: Runtime, shard: Shard, leadership: Any) -> None:
            super().__init__(rt, shard, leadership)
            self.name = threading.current_thread().name
            with lock:
                leading[self.name].add(shard.index)

        def stop(self) -> None:
            with lock:
                leading[self.name].discard(self.shard.index)
            super().stop()

    def own_runtime() -> Runtime:
        if not runtime.database.is_postgresql:
            return runtime  # file locks: one per open file, within one process too
        return Runtime(
            settings=runtime.settings,
            database=Database(runtime.database.url),
            clock=runtime.clock,
            pacer=runtime.pacer,
        )

    scheduler_module.ShardLead = Tracked  # type: ignore[misc]
    runtimes = {name: own_runtime() for name in leading}
    stops = {name: threading.Event() for name in leading}
    threads = {
        name: threading.Thread(
            target=run_sharded, args=(runtimes[name], 3, stops[name]), name=name, daemon=True
        )
        for name in leading
    }
    try:
        threads["first"].start()
        assert _wait_for(lambda: leading["first"] == {0, 1, 2})  # alone: every shard
        threads["second"].start()
        # Two members: at most two shards each; between them, every shard once.
        assert _wait_for(
            lambda: (
                len(leading["second"]) >= 1
                and leading["first"].isdisjoint(leading["second"])
                and leading["first"] | leading["second"] == {0, 1, 2}
            )
        ), leading
        assert len(leading["first"]) <= 2 and len(leading["second"]) <= 2
        stops["first"].set()
        threads["first"].join(timeout=20)
        assert _wait_for(lambda: leading["second"] == {0, 1, 2}), leading
    finally:
        for stop in stops.values():
            stop.set()
        for thread in threads.values():
            thread.join(timeout=20)
        scheduler_module.ShardLead = original  # type: ignore[misc]
        for rt in runtimes.values():
            if rt is not runtime:
                rt.database.dispose()
    assert len(JOB_TABLE) > 0


def test_an_install_writes_the_workspace_row_with_its_hash(database: Database) -> None:
    from slack_sdk.oauth.installation_store import Installation

    from bot.crypto import EncryptedInstallationStore, new_key

    store = EncryptedInstallationStore(
        client_id="111.222", engine=database.engine, keys=(new_key(),)
    )
    store.create_tables()
    store.save(
        Installation(
            app_id="A0SHARDS",
            enterprise_id=None,
            team_id="T0INSTALL",
            team_name="Acme",
            bot_token="xoxb-install",
            bot_id="B0SHARDS",
            bot_user_id="U0SHARDS",
            bot_scopes=["chat:write"],
            user_id="U0INSTALLER",
            installed_at=1_764_000_000.0,
        )
    )
    with database.session() as session:
        workspace = session.get(Workspace, "T0INSTALL")
    assert workspace is not None and workspace.name == "Acme"
    assert workspace.shard_hash == crc("T0INSTALL")
    assert store.token_for("T0INSTALL") == "xoxb-install"
