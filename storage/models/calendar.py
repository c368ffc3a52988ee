"""Calendar events and invitations: the core that trainings and meetings share.

A ``CalendarEvent`` is one occurrence (a training session, one meeting of a series). A recurring
series is several rows sharing ``series_uid``, each with its own ``uid``; ``rrule`` keeps the rule
the series was made from, for the calendar file. An ``Invitation`` is one person's place at an
event: their answer, their place on the waitlist and whether they came.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class EventStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class Rsvp(StrEnum):
    PENDING = "pending"  # invited, no answer yet
    ACCEPTED = "accepted"
    MAYBE = "maybe"
    DECLINED = "declined"
    WAITLISTED = "waitlisted"  # accepted while the event was full
    REMOVED = "removed"  # taken off the invitation list by the organizer


class Attendance(StrEnum):
    """The four statuses of an attendance register."""

    PRESENT = "present"
    LATE = "late"
    EXCUSED = "excused"
    ABSENT = "absent"


ATTENDED = (Attendance.PRESENT, Attendance.LATE)


class CalendarEvent(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("uid", name="uq_calendarevent_uid"),
        Index("ix_calendarevent_project_start", "team_id", "project_id", "starts_at"),
        Index("ix_calendarevent_status_start", "status", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    kind: str = Field(max_length=16)  # "training" or "meeting"
    title: str = Field(max_length=150)
    description: str | None = Field(default=None, max_length=3000)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    timezone: str = Field(max_length=64)  # the project's, for calendar files and fallback times
    location: str | None = Field(default=None, max_length=200)
    video_url: str | None = Field(default=None, max_length=500)
    organizer_id: str = Field(max_length=32)  # the trainer or the meeting's organizer
    capacity: int | None = Field(default=None)  # None: no limit
    rsvp_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    allow_maybe: bool = Field(default=False)
    check_in: bool = Field(default=False)  # self check-in offered in the invitation
    reminder_minutes: list[int] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    status: str = Field(default=EventStatus.SCHEDULED, max_length=16)
    uid: str = Field(max_length=255)  # stable calendar UID of this occurrence
    sequence: int = Field(default=0)  # raised on every change the calendar file shows
    series_uid: str | None = Field(default=None, max_length=255, index=True)
    rrule: str | None = Field(default=None, max_length=255)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class Invitation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_invitation_event_user"),
        Index("ix_invitation_user", "team_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    event_id: int = Field(foreign_key="calendarevent.id", index=True)
    user_id: str = Field(max_length=32)
    response: str = Field(default=Rsvp.PENDING, max_length=16)
    invited_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    responded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    waitlisted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    attendance: str | None = Field(default=None, max_length=16)
    attendance_by: str | None = Field(default=None, max_length=32)
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
