"""Workspaces, projects, their members, key users, the interaction log, processed requests and
who has looked at their Home tab."""

from __future__ import annotations

import zlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


def shard_hash(team_id: str) -> int:
    """A workspace's stable hash (``bot.shards``): CRC-32 of the team id, in 31 bits (it fits
    PostgreSQL's integer and is never negative, so ``%`` means the same in both databases)."""
    return zlib.crc32(team_id.encode("utf-8")) & 0x7FFFFFFF


def _utc_field(nullable: bool = False, **kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, **kwargs)


class Workspace(SQLModel, table=True):
    """A Slack workspace (team) that installed Liaison."""

    team_id: str = Field(primary_key=True, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = _utc_field()
    # CRC-32 of team_id (bot.shards.shard_hash), set whenever a row is written: a sharded
    # scheduler's jobs select its workspaces by ``shard_hash % N`` in SQL.
    shard_hash: int = Field(
        default=None,
        sa_column_kwargs={
            "default": lambda context: shard_hash(context.get_current_parameters()["team_id"])
        },
    )


class ProjectBase(SQLModel):
    name: str = Field(max_length=120)
    code: str = Field(max_length=16)
    phase: str = Field(max_length=60)
    phases: list[str] = Field(sa_column=Column(JSONType, nullable=False))
    channel_id: str | None = Field(default=None, max_length=32)
    timezone: str = Field(max_length=64)
    locale: str = Field(max_length=8)
    digest_weekday: int = Field(default=0)  # Monday = 0
    digest_time: str = Field(default="09:00", max_length=5)  # HH:MM in the project's timezone


class Project(ProjectBase, table=True):
    __table_args__ = (UniqueConstraint("team_id", "code", name="uq_project_team_code"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    created_by: str = Field(max_length=32)
    created_at: datetime = _utc_field()
    updated_at: datetime = _utc_field()


class MemberRole(StrEnum):
    PM = "pm"
    TEAM = "team"


class ProjectMember(SQLModel, table=True):
    """A project manager or project-team member (consultant, developer, administrator)."""

    __table_args__ = (
        UniqueConstraint("project_id", "user_id", "role", name="uq_member_project_user_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    user_id: str = Field(max_length=32)
    role: str = Field(max_length=16)
    added_at: datetime = _utc_field()


class KeyUserBase(SQLModel):
    role: str = Field(max_length=40)
    department: str | None = Field(default=None, max_length=120)
    module: str | None = Field(default=None, max_length=120)
    influence: str = Field(default="medium", max_length=8)
    interest: str = Field(default="medium", max_length=8)
    preferred_channel: str = Field(default="dm", max_length=20)
    cadence_days: int | None = Field(default=None)  # None: the quadrant's default cadence
    notes: str | None = Field(default=None, max_length=2000)


class KeyUser(KeyUserBase, table=True):
    """A key user of one project. Removal is soft: ``removed_at`` is set and history stays."""

    __table_args__ = (UniqueConstraint("project_id", "user_id", name="uq_keyuser_project_user"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    user_id: str = Field(max_length=32, index=True)
    display_name: str | None = Field(default=None, max_length=200)
    created_at: datetime = _utc_field()
    updated_at: datetime = _utc_field()
    removed_at: datetime | None = _utc_field(nullable=True, default=None)

    @property
    def active(self) -> bool:
        return self.removed_at is None


class Interaction(SQLModel, table=True):
    """Append-only log of touchpoints and changes (the audit trail and engagement source).

    ``touchpoint`` rows concern a key user (meeting attended, poll answered, issue update, report
    sent); engagement counts only the human contacts among them (``engagement.is_contact``). The
    others are audit entries (key user added, project edited, ...).
    """

    __table_args__ = (Index("ix_interaction_keyuser_at", "key_user_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int | None = Field(default=None, foreign_key="project.id", index=True)
    key_user_id: int | None = Field(default=None, foreign_key="keyuser.id")
    actor_id: str | None = Field(default=None, max_length=32)
    kind: str = Field(max_length=60)
    touchpoint: bool = Field(default=False)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    at: datetime = _utc_field()


class ProcessedRequest(SQLModel, table=True):
    """Keys of requests already acted on (Slack event ids, submitted view ids, button clicks).

    Written in the same transaction as the change a request causes, so a Slack retry or a double
    click finds the key and changes nothing.
    """

    __table_args__ = (UniqueConstraint("team_id", "key", name="uq_processed_team_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    key: str = Field(max_length=255)
    at: datetime = _utc_field()


class HomeVisit(SQLModel, table=True):
    """When someone last opened the app's Home tab. A change refreshes only the Home tabs of people
    who have one to look at: the others' is built fresh when they first open it."""

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    opened_at: datetime = _utc_field()
