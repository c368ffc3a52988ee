"""Approvals, generic over what is approved: a subject (``subject_kind`` such as ``change`` and
``subject_id``) at one version is put to deciders under a rule; every answer is kept.

An ``Approval`` asks one version of a subject; its ``ApprovalDecider`` rows are the people asked;
``ApprovalAnswer`` is append-only (nothing updates or deletes an answer). A new version of the
subject is a new ``Approval`` (the earlier one is superseded), so answers always name the version
they were given about.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class Approval(SQLModel, table=True):
    """One version of a subject put to its deciders. ``rule`` says how their answers decide
    (``all``, ``any``; ``named_id`` is the person a rule that names one would read)."""

    __table_args__ = (
        UniqueConstraint("subject_kind", "subject_id", "version", name="uq_approval_subject"),
        Index("ix_approval_status_subject", "status", "subject_kind", "subject_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    subject_kind: str = Field(max_length=30)
    subject_id: int
    version: int
    rule: str = Field(max_length=16)
    named_id: str | None = Field(default=None, max_length=32)
    status: str = Field(default=ApprovalStatus.PENDING, max_length=16)
    asked_by: str = Field(max_length=32)
    asked_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class ApprovalDecider(SQLModel, table=True):
    """A person asked to decide one approval."""

    __table_args__ = (UniqueConstraint("approval_id", "user_id", name="uq_approvaldecider_person"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    approval_id: int = Field(foreign_key="approval.id", index=True)
    user_id: str = Field(max_length=32, index=True)


class ApprovalAnswer(SQLModel, table=True):
    """Append-only: every answer a decider gave (``approve``, ``reject``, ``question``), with
    the version of the subject it was about; ``remarks`` marks an approval given with remarks."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    approval_id: int = Field(foreign_key="approval.id", index=True)
    user_id: str = Field(max_length=32)
    answer: str = Field(max_length=16)
    comment: str | None = Field(default=None, max_length=1000)
    # An approval given with remarks (``answer`` is ``approve``: it counts as one).
    remarks: bool = Field(default=False)
    version: int
    at: datetime = Field(sa_type=UTCDateTime, nullable=False)
