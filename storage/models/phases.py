"""Phase checklists and phase moves: each project's checklist items (per phase, numbered per
project), the per-project counter, and every move from one phase to another with what was still
open at that moment."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class ItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    NOT_APPLICABLE = "not_applicable"


class ChecklistSettings(SQLModel, table=True):
    """Per project: the checklist counter (read under a row lock when an item is added)."""

    __table_args__ = (UniqueConstraint("project_id", name="uq_checklistsettings_project"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    next_number: int = Field(default=1)


class ChecklistItem(SQLModel, table=True):
    """One item of a phase's checklist."""

    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_checklistitem_project_number"),
        Index("ix_checklistitem_project_phase", "project_id", "phase"),
        Index("ix_checklistitem_status_due", "status", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    phase: str = Field(max_length=60)
    number: int
    text: str = Field(max_length=300)
    owner_id: str | None = Field(default=None, max_length=32, index=True)
    due_on: date | None = Field(default=None)
    status: str = Field(default=ItemStatus.OPEN, max_length=16)
    evidence: str | None = Field(default=None, max_length=1000)
    marked_by: str | None = Field(default=None, max_length=32)
    marked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # The owner's local day they were last told about it (one DM per person and day).
    reminded_on: date | None = Field(default=None)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PhaseMove(SQLModel, table=True):
    """Append-only: a project moved from one phase to another, by whom, when, how (the command,
    the edit form) and what stood in the way at that moment (``blockers``: open items, …)."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    from_phase: str = Field(max_length=60)
    to_phase: str = Field(max_length=60)
    actor_id: str | None = Field(default=None, max_length=32)
    via: str = Field(max_length=16)
    blockers: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
