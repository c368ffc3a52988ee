"""Three scheduler processes on PostgreSQL: kill -9 of the leader mid-fan-out, a terminated
database connection, a simulated month of reminders; every message arrives exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.emulator.drill import run_drill
from storage.db import Database


@pytest.mark.slow
@pytest.mark.xfail(
    reason="known bug, open in issue #20: with both cores busy (CI's other worker), about 50 of "
    "the 500 poll invitations stay pending, never attempted, while one delivery run never ends "
    "(the next are skipped as already running); alone the drill passes. The three sharded "
    "schedulers' drill, the 5,000-person fairness test and bench/tenants.py lose nothing.",
    strict=False,
)
def test_three_schedulers_survive_a_killed_leader_and_a_lost_connection(
    database: Database, tmp_path: Path
) -> None:
    if not database.is_postgresql:
        pytest.skip("several schedulers need PostgreSQL (TEST_DATABASE_URL)")
    figures = run_drill(database.url, users=500, owners=10, days=31, log_dir=tmp_path)
    print("\n" + figures.table())
    logs = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))
    assert figures.missing == 0 and figures.duplicated == 0, logs[-4000:]
    assert figures.expired_in_slack == 0
    assert figures.invitations_per_person == {1: 500}
    # One a day per owner while overdue, when a job run falls in the day's reminder window (a
    # simulated day lasts about a second here, so under load some days have none): never two.
    # A reminder whose day ended before a sender got to it expires with the reason instead.
    assert figures.reminder_days + figures.reminders_expired >= 10 * 31 // 3
    assert figures.takeover_after_kill is not None and figures.takeover_after_kill < 30
    assert figures.takeover_after_terminate is not None and figures.takeover_after_terminate < 30
    assert "Traceback" not in logs, logs[-4000:]


@pytest.mark.slow
def test_three_sharded_schedulers_take_over_a_killed_ones_shards_and_send_each_message_once(
    database: Database, tmp_path: Path
) -> None:
    """Three `liaison scheduler --shards 3` processes spread three workspaces' shards; kill -9 of
    one mid-fan-out: the others lead its shard within the standby interval (0.5 s here, plus a
    loaded machine's slack), and the emulator holds every message exactly once."""
    if not database.is_postgresql:
        pytest.skip("several schedulers need PostgreSQL (TEST_DATABASE_URL)")
    figures = run_drill(
        database.url, users=300, owners=6, days=31, shards=3, teams=3, log_dir=tmp_path
    )
    print("\n" + figures.table())
    logs = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))
    assert figures.missing == 0 and figures.duplicated == 0, logs[-4000:]
    assert figures.expired_in_slack == 0
    assert figures.invitations_per_person == {1: 300}
    # Three processes each busy with its shard on a loaded machine: fewer days have a job run
    # in their reminder window than with one leader, never two reminders in a day.
    assert figures.reminder_days + figures.reminders_expired >= 6 * 31 // 4
    assert figures.takeover_after_kill is not None and figures.takeover_after_kill < 10, logs[
        -4000:
    ]
    assert "leads shard" in logs and "Traceback" not in logs, logs[-4000:]
