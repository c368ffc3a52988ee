"""The outbox: every message a job or fan-out sends is a row here before it reaches Slack."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender; a stale claim is resumed after a crash
    SENT = "sent"
    FAILED = "failed"  # permanent error (user deactivated, cannot DM...): shown, never retried
    CANCELLED = "cancelled"  # withdrawn before it was sent (e.g. its poll closed first)
    EXPIRED = "expired"  # not sent before its deadline (``expires_at``): stale, never sent late
    # A person's notice waiting for the grouping step (``bot.services.notifications``): released
    # at ``next_attempt_at`` alone, or sent within one DM with their other notices (GROUPED).
    HELD = "held"
    GROUPED = "grouped"  # sent as a section of a grouped DM (its key names that DM in ``error``)


class Urgency(IntEnum):
    """Which rows a sender takes first (lower first). Set once, when the row is queued."""

    URGENT = 0  # answers to a click or command, reminders of what starts soon, escalations
    NORMAL = 1
    BULK = 2  # poll invitations, digests, nudges, daily lists: fan-outs that may wait


class OutboxMessage(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("key", name="uq_outbox_key"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The claim: due rows, the most urgent first (and when the next urgent one falls due).
        Index("ix_outbox_claim", "status", "urgency", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    key: str = Field(max_length=255)  # idempotency key, unique across the table
    method: str = Field(max_length=60)  # chat.postMessage, chat.update, files.upload_v2, ...
    # What the message is, for operators: its key up to the first colon (poll, calendar, digest...).
    kind: str = Field(default="", max_length=40)
    payload: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    urgency: int = Field(default=Urgency.NORMAL)  # see ``Urgency``
    attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The last moment the message is still worth sending (its event's start, its poll's close...).
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # Fences a send: a sender may send and finish a row only while the row still holds its token.
    claim_token: str | None = Field(default=None, max_length=32)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    channel: str | None = Field(default=None, max_length=32)  # as Slack answered
    ts: str | None = Field(default=None, max_length=32)  # the message's ts, as Slack answered
    error: str | None = Field(default=None, max_length=500)
    # Which record caused the message, so features can show delivery failures to the PM.
    subject: str | None = Field(default=None, max_length=120, index=True)


class RateBucket(SQLModel, table=True):
    """A token bucket of the send budget, shared by every process (web workers and scheduler).

    ``key`` is a Web API method (``chat.postMessage``) or ``#<channel>`` for the per-channel
    posting limit. Times are Unix seconds (every process must agree on them)."""

    team_id: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=80)
    tokens: float
    updated_at: float
    paused_until: float = Field(default=0.0)
