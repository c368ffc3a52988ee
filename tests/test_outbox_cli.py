"""`liaison outbox status` and `liaison outbox retry`, run as the operator runs them: the real CLI
process against a SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import col, select

from bot import delivery
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus
from tests.conftest import TEAM
from tests.test_manifest_and_cli import run_cli

QUEUED = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def outbox_database(tmp_path: Path) -> tuple[dict[str, str], Database]:
    """A migrated database holding messages of every status, as a half-hour outage leaves them."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/liaison.db"}
    assert run_cli("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    database = Database(env["DATABASE_URL"])
    rows = [
        ("poll:4:invite:UKEY1", OutboxStatus.SENT, None, timedelta(days=3)),
        ("poll:4:invite:UKEY2", OutboxStatus.SENT, None, timedelta(days=3)),
        (
            "calendar:7:remind:UKEY1:15:1",
            OutboxStatus.EXPIRED,
            "service_unavailable",
            timedelta(hours=1),
        ),
        (
            "calendar:7:remind:UKEY2:15:1",
            OutboxStatus.EXPIRED,
            "service_unavailable",
            timedelta(hours=1),
        ),
        ("issue:3:created:dm", OutboxStatus.EXPIRED, None, delivery.ANSWER_LIFETIME),
        ("poll:4:invite:UGONE", OutboxStatus.FAILED, "user_disabled", timedelta(days=3)),
        (
            "digest:1:2026-W49:to:UPM1",
            OutboxStatus.PENDING,
            "service_unavailable",
            timedelta(days=5),
        ),
    ]
    with database.session() as session:
        for number, (key, status, error, lifetime) in enumerate(rows):
            queued = QUEUED + timedelta(minutes=number)
            row = delivery.enqueue(
                session,
                team_id=TEAM,
                key=key,
                payload={"channel": "D1", "text": key},
                now=queued,
                expires_at=queued + lifetime,
            )
            row.status, row.attempts = status, 3
            if status == OutboxStatus.EXPIRED:
                row.error = delivery.expiry_reason(error)
            else:
                row.error = error
            session.add(row)
    return env, database


def test_outbox_status_counts_messages_by_status_and_kind_with_the_oldest_waiting_and_reasons(
    tmp_path: Path,
) -> None:
    env, database = outbox_database(tmp_path)
    result = run_cli("outbox", "status", env=env, cwd=tmp_path)
    database.dispose()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "status     kind     messages",
        "expired    calendar        2",
        "expired    issue           1",
        "failed     poll            1",
        "pending    digest          1",
        "sent       poll            2",
        "oldest waiting: #7 digest:1:2026-W49:to:UPM1, queued 2026-12-01 08:06 UTC, 3 attempt(s),"
        " next 2026-12-01 08:06 UTC, expires 2026-12-06 08:06 UTC, last error: service_unavailable",
        "expired x2: deadline passed; last error: service_unavailable",
        "expired x1: deadline passed before it was sent",
        "failed x1: user_disabled",
    ]


def test_outbox_status_of_an_empty_outbox_says_so(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/liaison.db"}
    result = run_cli("outbox", "status", env=env, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "the outbox is empty\n")


def test_outbox_retry_puts_back_only_the_chosen_rows_with_a_fresh_deadline_and_says_so(
    tmp_path: Path,
) -> None:
    env, database = outbox_database(tmp_path)
    now = "2026-12-01T10:00:00+00:00"
    result = run_cli(
        "outbox", "retry", "--expired", "--kind", "calendar", "--now", now, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "#3 calendar:7:remind:UKEY1:15:1: expired (deadline passed; last error: "
        "service_unavailable) -> pending, until 2026-12-01 11:00 UTC",
        "#4 calendar:7:remind:UKEY2:15:1: expired (deadline passed; last error: "
        "service_unavailable) -> pending, until 2026-12-01 11:00 UTC",
        "put back 2 message(s); the sender sends them on its next run",
    ]
    result = run_cli(
        "outbox",
        "retry",
        "--failed",
        "--id",
        "6",
        "--id",
        "5",
        "--within",
        "30",
        "--now",
        now,
        env=env,
        cwd=tmp_path,
    )
    assert result.stdout.splitlines() == [
        "#6 poll:4:invite:UGONE: failed (user_disabled) -> pending, until 2026-12-01 10:30 UTC",
        "put back 1 message(s); the sender sends them on its next run",
    ]
    with database.session() as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        states = [(row.id, row.status, row.error, row.attempts) for row in rows]
        fresh = {row.id: (row.next_attempt_at, row.expires_at) for row in rows if row.id in (3, 6)}
    database.dispose()
    moment = datetime.fromisoformat(now)
    assert fresh == {
        3: (moment, moment + timedelta(hours=1)),
        6: (moment, moment + timedelta(minutes=30)),
    }
    # Attempts are kept, so the resend first looks in Slack for an earlier uncertain attempt.
    assert states == [
        (1, "sent", None, 3),
        (2, "sent", None, 3),
        (3, "pending", None, 3),
        (4, "pending", None, 3),
        (5, "expired", "deadline passed before it was sent", 3),
        (6, "pending", None, 3),
        (7, "pending", "service_unavailable", 3),
    ]
    result = run_cli("outbox", "retry", "--within", "0", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "liaison: --within must be a positive number of minutes"
    result = run_cli("outbox", "retry", "--failed", "--expired", env=env, cwd=tmp_path)
    assert result.returncode == 2 and "not allowed with argument" in result.stderr
