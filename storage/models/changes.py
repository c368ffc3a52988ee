"""Change requests of a project: what changes and why, its estimated impact, the decision (through
``storage.models.approvals``), what it spawned and its history; each project's change settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class ChangeStatus(StrEnum):
    PROPOSED = "proposed"
    UNDER_REVIEW = "under_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    IMPLEMENTED = "implemented"
    VERIFIED = "verified"


class ChangeSettings(SQLModel, table=True):
    """Per project: the change counter and the approval rule (``all`` or ``any``)."""

    __table_args__ = (UniqueConstraint("project_id", name="uq_changesettings_project"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    next_number: int = Field(default=1)
    rule: str = Field(default="all", max_length=16)


class ChangeRequest(SQLModel, table=True):
    """One change request of a project, as it stands."""

    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_changerequest_project_number"),
        Index("ix_changerequest_project_status", "project_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    number: int
    title: str = Field(max_length=150)
    reason: str = Field(max_length=2000)
    modules: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    processes: str | None = Field(default=None, max_length=500)
    impact_scope: str | None = Field(default=None, max_length=200)
    impact_schedule: str | None = Field(default=None, max_length=200)
    impact_cost: str | None = Field(default=None, max_length=200)
    impact_training: str | None = Field(default=None, max_length=200)
    training_hours: float | None = Field(default=None)
    training_module_id: int | None = Field(default=None, foreign_key="trainingmodule.id")
    requested_by: str = Field(max_length=32, index=True)
    deciders: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    issue_id: int | None = Field(default=None, foreign_key="issue.id")
    status: str = Field(default=ChangeStatus.PROPOSED, max_length=16)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Bumped on every change: buttons carry it, so a click on an old card acts on nothing.
    version: int = Field(default=1)


class ChangeSpawn(SQLModel, table=True):
    """What an approved change spawned, once each: an issue per module, the training hours, the
    communication-plan items (``kind`` issue, training, plan; ``target_id`` the record made)."""

    __table_args__ = (UniqueConstraint("change_id", "kind", "module", name="uq_changespawn_once"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    change_id: int = Field(foreign_key="changerequest.id", index=True)
    kind: str = Field(max_length=16)
    module: str = Field(default="", max_length=120)
    target_id: int | None = Field(default=None)
    actor_id: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class ChangeHistory(SQLModel, table=True):
    """Append-only: every step of a change request, who took it and what it was."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    change_id: int = Field(foreign_key="changerequest.id", index=True)
    actor_id: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=30)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
