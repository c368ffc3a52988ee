"""Sign-offs of a project: what is signed (a blueprint, a module's test acceptance, a document, a
phase exit, go-live), each version of its text or link (append-only), and the issues linked to a
module's test acceptance. The signatures themselves are the shared approvals' answers
(``storage.models.approvals``: one ``Approval`` per version, subject kind ``signoff``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class SignOffStatus:
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"


class SignOffSettings(SQLModel, table=True):
    """Per project: the sign-off counter."""

    __table_args__ = (UniqueConstraint("project_id", name="uq_signoffsettings_project"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    next_number: int = Field(default=1)


class SignOff(SQLModel, table=True):
    """One sign-off of a project as it stands: its current version is the one being signed."""

    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_signoff_project_number"),
        Index("ix_signoff_project_status", "project_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id")
    number: int
    kind: str = Field(max_length=16)
    title: str = Field(max_length=150)
    module: str | None = Field(default=None, max_length=120)
    rule: str = Field(max_length=16)
    named_id: str | None = Field(default=None, max_length=32)
    signers: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    due_on: date | None = Field(default=None)
    status: str = Field(default=SignOffStatus.OPEN, max_length=16)
    version: int = Field(default=1)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class SignOffVersion(SQLModel, table=True):
    """Append-only: the text and link of each version of a sign-off, who made it and when."""

    __table_args__ = (UniqueConstraint("signoff_id", "version", name="uq_signoffversion"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    signoff_id: int = Field(foreign_key="signoff.id", index=True)
    version: int
    text: str | None = Field(default=None, max_length=3000)
    link: str | None = Field(default=None, max_length=500)
    # A go-live sign-off's version: the go-live gate as it stood when the version was made
    # (``bot.services.golive.Gate.snapshot``), what its signers sign; None for other kinds.
    gate: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class SignOffIssue(SQLModel, table=True):
    """An issue logged against a module while the module's test acceptance was being signed."""

    __table_args__ = (UniqueConstraint("signoff_id", "issue_id", name="uq_signoffissue"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    signoff_id: int = Field(foreign_key="signoff.id", index=True)
    issue_id: int = Field(foreign_key="issue.id", index=True)
    linked_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
