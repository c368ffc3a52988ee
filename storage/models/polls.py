"""Satisfaction polls: polls and their rounds, questions, who was asked, and what was answered.

Anonymous means unlinkable, so participation and answers live in different tables:

* ``PollParticipant`` says *who* was asked and whether they have answered (for the dedupe of
  answers and for reminders). It carries no answer and no time of answering.
* ``PollResponse`` holds a *named* poll's answers, tied to the person on purpose.
* ``BallotBox`` holds an *anonymous* poll's answers, never one ballot per row: each row is a
  shuffled list of whole ballots with a random id, no timestamp, no person and no participant id.
  An answer rewrites only the poll's one open box; once it holds ``2 * BOX_SIZE`` ballots, a
  random half is sealed into a new box. So every row written when someone answers holds at least
  ``BOX_SIZE`` ballots (or all of them, before there are that many), and neither row order
  (SQLite rowid, PostgreSQL ctid) nor transaction ids (PostgreSQL xmin) single a ballot out.

See ``bot/services/polls.py`` and ``docs/POLLS.md`` for the whole argument and its limits.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class PollStatus(StrEnum):
    SCHEDULED = "scheduled"  # created, opens later
    OPEN = "open"
    CLOSED = "closed"


class QuestionKind(StrEnum):
    RATING = "rating"  # 1-5
    NPS = "nps"  # 0-10
    SINGLE = "single"
    MULTIPLE = "multiple"
    TEXT = "text"


class Recurrence(StrEnum):
    NONE = "none"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class Poll(SQLModel, table=True):
    """One round of a poll. Recurring polls share ``series_id``; ``round_number`` counts from 1."""

    __table_args__ = (
        UniqueConstraint("team_id", "series_id", "round_number", name="uq_poll_series_round"),
        Index("ix_poll_status_opens", "status", "opens_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    series_id: str = Field(max_length=36)
    round_number: int = Field(default=1)
    title: str = Field(max_length=150)
    intro: str | None = Field(default=None, max_length=2000)
    template: str | None = Field(default=None, max_length=40)
    audience_kind: str = Field(default="all", max_length=16)  # all, role, quadrant, people
    audience_values: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    anonymous: bool = Field(default=False)
    recurrence: str = Field(default=Recurrence.NONE, max_length=16)
    remind_hours: int | None = Field(default=None)  # hours before close; None: no reminder
    status: str = Field(default=PollStatus.SCHEDULED, max_length=16)
    opens_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    closes_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    next_round_id: int | None = Field(default=None)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class PollQuestion(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    position: int
    kind: str = Field(max_length=16)
    text: str = Field(max_length=300)
    options: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    required: bool = Field(default=True)


class PollParticipant(SQLModel, table=True):
    """Someone a poll round was sent to. Holds no answer and no time of answering."""

    __table_args__ = (UniqueConstraint("poll_id", "user_id", name="uq_poll_participant"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    user_id: str = Field(max_length=32)
    key_user_id: int | None = Field(default=None, foreign_key="keyuser.id")
    # True once an answer is stored (reminders skip them; a second anonymous ballot is refused).
    answered: bool = Field(default=False)


class PollResponse(SQLModel, table=True):
    """A named poll's answers of one person: ``{question_id: value}``."""

    __table_args__ = (UniqueConstraint("poll_id", "user_id", name="uq_poll_response"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    user_id: str = Field(max_length=32)
    key_user_id: int | None = Field(default=None, foreign_key="keyuser.id")
    answers: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    submitted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class BallotBox(SQLModel, table=True):
    """Whole anonymous ballots of one poll, mixed: no person, no time, a random id.

    ``ballots`` is a shuffled list of ``{question_id: value}``. The poll has one open box (where
    answers go) and any number of sealed ones (never written again)."""

    id: str = Field(primary_key=True, max_length=32)  # uuid4().hex
    team_id: str = Field(max_length=32, index=True)
    poll_id: int = Field(foreign_key="poll.id", index=True)
    sealed: bool = Field(default=False)
    ballots: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
