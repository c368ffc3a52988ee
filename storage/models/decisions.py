"""The decision log: what a project decided, who decided it, when, and where it came from (a
meeting's outcome, a change request, or typed in by the team).

The log is append-only in spirit: a correction is a new decision that supersedes the old one
(``supersedes_id``), never an edit. The one exception is a meeting's outcome recorded again
without a decision it held before: that entry is marked withdrawn (``withdrawn_at``), as the
outcome no longer says it was decided, and it stays in the export.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class DecisionSource:
    MANUAL = "manual"
    MEETING = "meeting"
    CHANGE = "change"


DECISION_SOURCES = (DecisionSource.MANUAL, DecisionSource.MEETING, DecisionSource.CHANGE)


class DecisionSettings(SQLModel, table=True):
    """Per project: the decision counter, read under a row lock when a decision is recorded."""

    __table_args__ = (UniqueConstraint("project_id", name="uq_decisionsettings_project"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    next_number: int = Field(default=1)


class Decision(SQLModel, table=True):
    """One decision of a project's log. ``source_id`` is the meeting's calendar event for a
    meeting's decision; ``change_id`` the change request a change decision is about."""

    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_decision_project_number"),
        Index("ix_decision_project_decided_on", "project_id", "decided_on"),
        Index("ix_decision_source", "team_id", "source", "source_id"),
        # "superseded by" is read for every decision listed: found by this index, not a scan.
        Index("ix_decision_supersedes", "supersedes_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    number: int
    text: str = Field(max_length=3000)
    decided_by: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    decided_by_names: str | None = Field(default=None, max_length=300)
    decided_on: date
    source: str = Field(max_length=16)
    source_id: int | None = Field(default=None)
    change_id: int | None = Field(default=None, foreign_key="changerequest.id", index=True)
    risk_id: int | None = Field(default=None, foreign_key="risk.id", index=True)
    issue_id: int | None = Field(default=None, foreign_key="issue.id", index=True)
    supersedes_id: int | None = Field(default=None, foreign_key="decision.id")
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    recorded_by: str = Field(max_length=32)
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
