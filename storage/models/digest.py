"""The weekly digest: each project's delivery target and the claim of each week's digest."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.issues import Issue
from storage.types import UTCDateTime


class DigestTarget(StrEnum):
    CHANNEL = "channel"  # the project channel
    PMS = "pms"  # a DM to each PM
    BOTH = "both"


class DigestSettings(SQLModel, table=True):
    """Where a project's digest goes (its day and time live on the project)."""

    __table_args__ = (UniqueConstraint("project_id", name="uq_digestsettings_project"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    target: str = Field(default=DigestTarget.BOTH, max_length=16)
    updated_by: str | None = Field(default=None, max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class DigestRun(SQLModel, table=True):
    """The claim of one project's digest for one ISO week (in the project's timezone).

    The unique constraint is what makes the digest go out once per week, however many scheduler
    processes race for it: the row and the digest's outbox rows commit together, so whoever
    inserts it first sends, and everyone else finds it.
    """

    __table_args__ = (UniqueConstraint("project_id", "week", name="uq_digestrun_project_week"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    week: str = Field(max_length=8)  # ISO week, e.g. 2026-W49
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    claimed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    late: bool = Field(default=False)
    trigger: str = Field(default="schedule", max_length=16)  # schedule | command
    actor_id: str | None = Field(default=None, max_length=32)


# The digest's week figures read issues by when they were logged, answered, resolved and due; these
# indexes let each figure read its week's rows instead of the project's whole history.
for _name, _column in (
    ("created", Issue.created_at),  # type: ignore[attr-defined]
    ("first_response", Issue.first_response_at),  # type: ignore[attr-defined]
    ("resolved", Issue.resolved_at),  # type: ignore[attr-defined]
    ("due", Issue.due_at),  # type: ignore[attr-defined]
    ("first_response_due", Issue.first_response_due_at),  # type: ignore[attr-defined]
):
    Index(f"ix_issue_project_{_name}_at", Issue.project_id, _column)  # type: ignore[attr-defined]
