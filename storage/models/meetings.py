"""The communication plan (entries and their due occurrences) and what meetings leave behind
(outcomes and action items).

A meeting itself is a ``CalendarEvent`` of kind "meeting" (the shared calendar core); this module
keeps only what is particular to meetings and to the plan.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class OccurrenceStatus(StrEnum):
    DUE = "due"
    SNOOZED = "snoozed"
    DONE = "done"


class PlanEntry(SQLModel, table=True):
    """One line of a project's communication plan: who hears what, how often, how, from whom.

    ``audience_kind`` is ``role``, ``quadrant`` or ``person`` (``audience_value`` a role, a quadrant
    or a Slack user id). ``rrule`` is an iCalendar recurrence rule without DTSTART; ``first_at`` is
    the first occurrence, whose local wall time (in the project's timezone) every later occurrence
    keeps. ``next_due_at`` is the next occurrence not yet handed to its owner.
    """

    __table_args__ = (Index("ix_planentry_due", "team_id", "next_due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    audience_kind: str = Field(max_length=16)
    audience_value: str = Field(max_length=40)
    kind: str = Field(max_length=32)
    rrule: str = Field(max_length=200)
    first_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    channel: str = Field(max_length=20)
    owner_id: str = Field(max_length=32)
    note: str | None = Field(default=None, max_length=1000)
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class PlanOccurrence(SQLModel, table=True):
    """One time a plan entry fell due: told to its owner, then done (with a note) or snoozed.

    The unique (entry, due_at) pair makes the due job idempotent: a rerun finds the row."""

    __table_args__ = (
        UniqueConstraint("entry_id", "due_at", name="uq_planoccurrence_entry_due"),
        Index("ix_planoccurrence_status", "team_id", "status", "snoozed_until"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    project_id: int = Field(foreign_key="project.id", index=True)
    entry_id: int = Field(foreign_key="planentry.id", index=True)
    owner_id: str = Field(max_length=32)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(default=OccurrenceStatus.DUE, max_length=16)
    snoozed_until: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    times_told: int = Field(default=0)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    done_by: str | None = Field(default=None, max_length=32)
    outcome: str | None = Field(default=None, max_length=32)  # done, report_sent, meeting
    note: str | None = Field(default=None, max_length=300)
    meeting_event_id: int | None = Field(default=None)


class MeetingKind(StrEnum):
    WORKING_MEETING = "working_meeting"
    WORKSHOP = "workshop"
    PROGRESS_REVIEW = "progress_review"
    DECISION_REVIEW = "decision_review"
    STEERING_COMMITTEE = "steering_committee"


class Meeting(SQLModel, table=True):
    """What a meeting occurrence adds to its ``CalendarEvent`` (kind "meeting"): its kind, who is
    invited (resolved when it was planned: named people, roles, quadrants, all key users and team
    members) and when invitations went out. The agenda is the event's description.

    A series has one row per occurrence, sharing the event's ``series_uid``; each occurrence's
    invitations go out ``INVITE_AHEAD`` before it (the first at once, with the series' calendar
    file)."""

    __table_args__ = (
        UniqueConstraint("event_id", name="uq_meeting_event"),
        Index("ix_meeting_invite_due", "team_id", "invited_at", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    event_id: int = Field(foreign_key="calendarevent.id")
    series_uid: str | None = Field(default=None, max_length=255, index=True)
    position: int = Field(default=1)  # 1-based place in its series
    kind: str = Field(max_length=32)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # copy, for the invite job
    attendees: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    audience: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    announce: bool = Field(default=False)
    invited_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    outcome_asked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    plan_occurrence_id: int | None = Field(default=None, foreign_key="planoccurrence.id")


class MeetingActionItem(SQLModel, table=True):
    """An action item from a meeting's outcome; ``issue_id`` once it became a key-user issue."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    event_id: int = Field(foreign_key="calendarevent.id", index=True)
    position: int = Field(default=0)
    text: str = Field(max_length=150)
    owner_id: str | None = Field(default=None, max_length=32)
    due_date: date | None = Field(default=None)
    issue_id: int | None = Field(default=None, foreign_key="issue.id")
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class MeetingOutcome(SQLModel, table=True):
    """What the organizer recorded after a meeting: who attended, minutes and decisions."""

    __table_args__ = (UniqueConstraint("event_id", name="uq_meetingoutcome_event"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    event_id: int = Field(foreign_key="calendarevent.id")
    attended: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    minutes: str | None = Field(default=None, max_length=3000)
    decisions: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    recorded_by: str = Field(max_length=32)
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
