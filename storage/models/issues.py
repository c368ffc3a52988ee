"""Key users' issues and requests: the issues, their history and each project's issue settings."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class IssueStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


OPEN_STATUSES = (
    IssueStatus.NEW,
    IssueStatus.ACKNOWLEDGED,
    IssueStatus.IN_PROGRESS,
    IssueStatus.REOPENED,
)


class IssueSettings(SQLModel, table=True):
    """Per project: the issue counter (short ids) and service-level overrides.

    ``first_response_hours`` / ``resolution_days`` map a priority (``P1``..``P4``) to a number; a
    priority left out uses the default. ``next_number`` is read under a row lock when an issue is
    created, so concurrent creations on PostgreSQL never share a short id.
    """

    __table_args__ = (UniqueConstraint("project_id", name="uq_issuesettings_project"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    next_number: int = Field(default=1)
    first_response_hours: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    resolution_days: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    auto_close_days: int = Field(default=7)


class Issue(SQLModel, table=True):
    """One issue or request raised by a key user, with its lifecycle state and clocks."""

    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_issue_project_number"),
        Index("ix_issue_project_status", "project_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    number: int
    title: str = Field(max_length=150)
    description: str | None = Field(default=None, max_length=3000)
    kind: str = Field(max_length=20)
    module: str | None = Field(default=None, max_length=120)
    priority: str = Field(max_length=2)
    status: str = Field(default=IssueStatus.NEW, max_length=16)
    reporter_id: str = Field(max_length=32, index=True)
    owner_id: str | None = Field(default=None, max_length=32, index=True)
    created_by: str = Field(max_length=32)
    # The resolution target: a day in the project's timezone; ``due_at`` is that day's end.
    due_date: date
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    first_response_due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    first_response_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    resolution: str | None = Field(default=None, max_length=3000)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # The message the issue was logged from (message shortcut).
    source_permalink: str | None = Field(default=None, max_length=500)
    # The issue's own message (project channel, or the reporter's DM), known once delivered.
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    # Bumped on every change: buttons carry it, so a double click acts once.
    version: int = Field(default=1)
    snoozed_until: date | None = Field(default=None)
    rating: int | None = Field(default=None)
    rating_comment: str | None = Field(default=None, max_length=2000)
    rated_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class IssueHistory(SQLModel, table=True):
    """Append-only: every change to an issue, who made it, and the status before and after."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    actor_id: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=30)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
