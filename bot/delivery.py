"""The one path by which jobs and fan-outs send messages: a persistent outbox and its sender.

Services call ``enqueue`` inside the unit of work that causes a message, so the message exists if
and only if the change committed. ``Sender.deliver_due`` then sends due rows: a row is claimed
before it is sent and marked sent with Slack's ``ts`` right after, Slack's rate limits are honoured
(429 and Retry-After) and transient failures retried with backoff; a permanent error (user
deactivated, channel gone, cannot DM) is recorded on the row and never retried. A row claimed by a
sender that crashed is resumed after ``CLAIM_TIMEOUT``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.clock import Clock
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_ATTEMPTS = 8
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "account_inactive",
        "invalid_auth",
        "token_revoked",
        "missing_scope",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "restricted_action",
        "message_not_found",
        "cant_update_message",
        "not_authed",
        "team_access_not_granted",
    }
)
SUPPORTED_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "files.upload_v2")


def enqueue(
    session: Session,
    *,
    team_id: str,
    key: str,
    method: str = "chat.postMessage",
    payload: dict[str, Any],
    now: datetime,
    subject: str | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Add a message to the outbox unless one with ``key`` is already there (then return that)."""
    if method not in SUPPORTED_METHODS:
        raise ValueError(f"the outbox cannot send {method}")
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()
    if existing is not None:
        return existing
    row = OutboxMessage(
        team_id=team_id,
        key=key,
        method=method,
        payload=payload,
        created_at=now,
        next_attempt_at=not_before or now,
        subject=subject,
    )
    session.add(row)
    session.flush()
    return row


@dataclass
class SendOutcome:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    errors: dict[str, str] = field(default_factory=dict)


class TransientError(Exception):
    """Slack was unreachable or answered 5xx / 429: try again after ``retry_after`` seconds."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# A transport sends one outbox row and returns Slack's answer (channel, ts); it raises
# TransientError or PermanentError. The Slack one lives in bot.slack_io; tests may pass their own.
Transport = Callable[[OutboxMessage], dict[str, Any]]


class Sender:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        transport_for: Callable[[str], Transport],
        *,
        batch_size: int = 200,
    ) -> None:
        self.database = database
        self.clock = clock
        self.transport_for = transport_for
        self.batch_size = batch_size

    def _claim(self, team_id: str | None, keys: list[str] | None) -> list[OutboxMessage]:
        now = self.clock.now()
        with self.database.session() as session:
            due = (
                (col(OutboxMessage.status) == OutboxStatus.PENDING)
                & (col(OutboxMessage.next_attempt_at) <= now)
            ) | (
                (col(OutboxMessage.status) == OutboxStatus.SENDING)
                & (col(OutboxMessage.claimed_at) <= now - CLAIM_TIMEOUT)
            )
            query = select(OutboxMessage).where(due)
            if team_id is not None:
                query = query.where(OutboxMessage.team_id == team_id)
            if keys is not None:
                query = query.where(col(OutboxMessage.key).in_(keys))
            rows = session.exec(query.order_by(col(OutboxMessage.id)).limit(self.batch_size)).all()
            claimed = []
            for row in rows:
                # A conditional update, so two senders never both claim the same row.
                result = session.execute(
                    update(OutboxMessage)
                    .where(
                        col(OutboxMessage.id) == row.id,
                        col(OutboxMessage.status) == row.status,
                        col(OutboxMessage.attempts) == row.attempts,
                    )
                    .values(status=OutboxStatus.SENDING, claimed_at=now, attempts=row.attempts + 1)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    claimed.append(row.id)
            session.commit()
            return list(
                session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.id).in_(claimed))
                    .order_by(col(OutboxMessage.id))
                ).all()
            )

    def deliver_due(
        self, *, team_id: str | None = None, keys: list[str] | None = None
    ) -> SendOutcome:
        """Send every due row (or only ``keys``) and say what happened; safe to run concurrently."""
        outcome = SendOutcome()
        while True:
            rows = self._claim(team_id, keys)
            if not rows:
                return outcome
            for row in rows:
                self._send_one(row, outcome)
            if len(rows) < self.batch_size:
                return outcome

    def _send_one(self, row: OutboxMessage, outcome: SendOutcome) -> None:
        transport = self.transport_for(row.team_id)
        values: dict[str, Any]
        try:
            answer = transport(row)
        except PermanentError as error:
            values = {"status": OutboxStatus.FAILED, "error": error.reason[:500]}
            outcome.failed += 1
            outcome.errors[row.key] = error.reason
            log.warning("outbox %s failed for good: %s", row.key, error.reason)
        except TransientError as error:
            if row.attempts >= MAX_ATTEMPTS:
                values = {"status": OutboxStatus.FAILED, "error": f"gave up: {error.reason}"[:500]}
                outcome.failed += 1
                outcome.errors[row.key] = error.reason
            else:
                delay = error.retry_after
                if delay is None:
                    delay = min(2**row.attempts, 300) * (0.5 + random.random() / 2)
                values = {
                    "status": OutboxStatus.PENDING,
                    "next_attempt_at": self.clock.now() + timedelta(seconds=delay),
                    "error": error.reason[:500],
                }
                outcome.retried += 1
        else:
            values = {
                "status": OutboxStatus.SENT,
                "sent_at": self.clock.now(),
                "channel": answer.get("channel"),
                "ts": answer.get("ts"),
                "error": None,
            }
            outcome.sent += 1
        with self.database.session() as session:
            session.execute(
                update(OutboxMessage).where(col(OutboxMessage.id) == row.id).values(**values)
            )


def failures(session: Session, *, team_id: str, subject: str) -> list[OutboxMessage]:
    """Rows for ``subject`` that failed for good, to show the PM who could not be reached."""
    return list(
        session.exec(
            select(OutboxMessage).where(
                OutboxMessage.team_id == team_id,
                OutboxMessage.subject == subject,
                OutboxMessage.status == OutboxStatus.FAILED,
            )
        ).all()
    )
