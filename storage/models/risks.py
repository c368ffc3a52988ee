"""The project-risk register: each project's risks, every assessment of them, their response
actions, what they are linked to, their history and each project's risk settings.

A project risk (风险) is something that may harm the project; it is not a key user "at risk" of
disengagement (需要关注的关键用户), which the engagement and digest modules compute.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class RiskStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class RiskSettings(SQLModel, table=True):
    """Per project: the risk counter (per-project numbers, read under a row lock when a risk is
    created) and how a level (probability × impact) is graded: low up to ``low_max``, medium up
    to ``medium_max``, high above. ``categories`` empty means the six default categories."""

    __table_args__ = (UniqueConstraint("project_id", name="uq_risksettings_project"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    next_number: int = Field(default=1)
    low_max: int = Field(default=4)
    medium_max: int = Field(default=12)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))


class Risk(SQLModel, table=True):
    """One risk of a project, as last assessed."""

    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_risk_project_number"),
        Index("ix_risk_project_status_level", "project_id", "status", "level"),
        Index("ix_risk_status_review", "status", "review_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    number: int
    title: str = Field(max_length=150)
    description: str | None = Field(default=None, max_length=3000)
    category: str = Field(max_length=40)
    module: str | None = Field(default=None, max_length=120)
    probability: int
    impact: int
    # probability × impact, kept with them so lists filter and sort by it in SQL.
    level: int
    owner_id: str | None = Field(default=None, max_length=32, index=True)
    strategy: str = Field(max_length=16)
    review_on: date | None = Field(default=None)
    status: str = Field(default=RiskStatus.OPEN, max_length=16)
    closed_reason: str | None = Field(default=None, max_length=2000)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    visible_in_channel: bool = Field(default=False)
    created_by: str = Field(max_length=32, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # Bumped on every change: buttons carry it, so a click on an old card acts on nothing.
    version: int = Field(default=1)


class RiskAssessment(SQLModel, table=True):
    """Append-only: every assessment of a risk (the first one when it was raised)."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    risk_id: int = Field(foreign_key="risk.id", index=True)
    probability: int
    impact: int
    level: int
    grade: str = Field(max_length=8)
    actor_id: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=2000)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RiskAction(SQLModel, table=True):
    """A response action of a risk; ``issue_id`` once it became an issue."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    risk_id: int = Field(foreign_key="risk.id", index=True)
    text: str = Field(max_length=500)
    owner_id: str | None = Field(default=None, max_length=32)
    done: bool = Field(default=False)
    issue_id: int | None = Field(default=None, foreign_key="issue.id")
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class RiskLink(SQLModel, table=True):
    """A risk linked to a key user of its project or to an issue (one of the two)."""

    __table_args__ = (
        UniqueConstraint("risk_id", "key_user_id", "issue_id", name="uq_risklink_target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    risk_id: int = Field(foreign_key="risk.id", index=True)
    key_user_id: int | None = Field(default=None, foreign_key="keyuser.id", index=True)
    issue_id: int | None = Field(default=None, foreign_key="issue.id", index=True)


class RiskHistory(SQLModel, table=True):
    """Append-only: every change to a risk, who made it and what it was."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    risk_id: int = Field(foreign_key="risk.id", index=True)
    actor_id: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=30)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
