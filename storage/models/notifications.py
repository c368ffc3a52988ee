"""What each person chooses to receive: their notification preferences (one row per person and
workspace; no row means the defaults)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ReminderPace(StrEnum):
    DAILY = "daily"  # as things fall due, grouped into one DM per run
    MORNING = "morning"  # everything non-urgent held for one morning summary


class DigestCopy(StrEnum):
    PROJECT = "project"  # as the project's digest settings say
    CHANNEL = "channel"  # the channel only (a DM still when the project has no channel)
    DM = "dm"  # also a copy by DM


class NotificationPreference(SQLModel, table=True):
    """A person's choices: how reminders reach them, at which local hour (in the timezone of the
    project a message is about) the morning summary comes, whether they want the digest by DM,
    and their quiet days (ISO weekdays 1-7, comma-separated: nothing non-urgent on those days)."""

    __table_args__ = (UniqueConstraint("team_id", "person_id", name="uq_notificationpref_person"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    person_id: str = Field(max_length=32)
    reminders: str = Field(default=ReminderPace.DAILY, max_length=16)
    morning_hour: int = Field(default=9)
    digest: str = Field(default=DigestCopy.PROJECT, max_length=16)
    quiet_days: str = Field(default="", max_length=20)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
