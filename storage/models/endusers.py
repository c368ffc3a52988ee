"""End users: the people key users train once the system goes live.

An ``EndUser`` is registered in one project for one module, in a department, with the key user
responsible for training them. Someone without a Slack account is recorded by name
(``user_id`` empty). Removal is soft, so the numbers people type stay the same.

Sessions for end users are training sessions (``TrainingSession.audience_kind`` "end_users").
Those with Slack are invited through the calendar core (``Invitation``); those without are put on
the session's roster as an ``EndUserAttendance`` row, whose ``attendance`` the trainer's roll
call sets.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class EndUser(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_enduser_project_number"),
        Index("ix_enduser_project_module", "project_id", "module_id", "department"),
        Index("ix_enduser_keyuser", "key_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    number: int  # per project, what lists show and commands take
    name: str = Field(max_length=120)
    user_id: str | None = Field(default=None, max_length=32)  # None: not in Slack
    department: str = Field(max_length=80)
    module_id: int = Field(foreign_key="trainingmodule.id")
    key_user_id: int = Field(foreign_key="keyuser.id")  # the key user responsible
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class EndUserAttendance(SQLModel, table=True):
    """An end user without Slack on a session's roster, and whether they came (None: not yet
    marked)."""

    __table_args__ = (
        UniqueConstraint("event_id", "end_user_id", name="uq_enduserattendance_event"),
        Index("ix_enduserattendance_enduser", "end_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    event_id: int = Field(foreign_key="calendarevent.id")
    end_user_id: int = Field(foreign_key="enduser.id")
    attendance: str | None = Field(default=None, max_length=16)
    attendance_by: str | None = Field(default=None, max_length=32)
