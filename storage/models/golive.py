"""The go-live gate's per-project thresholds (the verdicts themselves are computed from live data
whenever they are asked for, never stored)."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class GoLiveSettings(SQLModel, table=True):
    """Per project: what a module needs to be "go" and the margin within which it is "at risk".

    Shares are whole percentages. ``p2_margin``: how many open P2 issues still leave a module at
    risk rather than no-go."""

    __table_args__ = (UniqueConstraint("project_id", name="uq_golivesettings_project"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    key_user_go: int = Field(default=90)
    key_user_at_risk: int = Field(default=75)
    end_user_go: int = Field(default=80)
    end_user_at_risk: int = Field(default=60)
    p2_margin: int = Field(default=1)
