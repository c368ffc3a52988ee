"""Trainings: a project's curriculum of modules, quiz question banks, quiz rounds and attempts,
monthly practical assessments.

Sessions are calendar events (``storage.models.calendar``); ``TrainingSession`` links one to its
module and trainer. Attendance lives on the calendar core's ``Invitation``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import JSONType, UTCDateTime


class TrainingFormat(StrEnum):
    LECTURE = "lecture"
    HANDS_ON = "hands_on"
    CASE_STUDY = "case_study"
    DISCUSSION = "discussion"


class TrainingModuleBase(SQLModel):
    name: str = Field(max_length=120)
    description: str | None = Field(default=None, max_length=2000)
    planned_hours: float = Field(default=8.0)
    formats: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # Key-user roles the module is for; empty: every key user of the project.
    audience_roles: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    has_practical: bool = Field(default=False)
    pass_mark: int = Field(default=60)  # percent, for quizzes and the practical assessment


class TrainingModule(TrainingModuleBase, table=True):
    """One module of a project's curriculum, in ``position`` order."""

    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_training_module_name"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    position: int = Field(default=0)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class QuizKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"


class QuizQuestion(SQLModel, table=True):
    """A question of a module's bank; ``correct`` holds the indexes of the right options."""

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    module_id: int = Field(foreign_key="trainingmodule.id", index=True)
    kind: str = Field(default=QuizKind.SINGLE, max_length=16)
    text: str = Field(max_length=300)
    options: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    correct: list[int] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class QuizRound(SQLModel, table=True):
    """One quiz sent to a module's trainees; ``question_ids`` is the questions drawn for it."""

    __table_args__ = (Index("ix_quizround_open_deadline", "closed_at", "deadline"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    module_id: int = Field(foreign_key="trainingmodule.id", index=True)
    question_ids: list[int] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    pass_mark: int = Field(default=60)
    opens_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    deadline: datetime = Field(sa_type=UTCDateTime, nullable=False)
    remind_hours: int | None = Field(default=None)  # hours before the deadline; None: no reminder
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    # The weekly quiz: a week after this round opened, the next one goes out by itself.
    repeat_weekly: bool = Field(default=False)
    next_round_id: int | None = Field(default=None)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class QuizAttempt(SQLModel, table=True):
    """Someone a quiz round went to; scored when ``submitted_at`` is set (one attempt a round)."""

    __table_args__ = (
        UniqueConstraint("round_id", "user_id", name="uq_quiz_attempt"),
        Index("ix_quizattempt_module_keyuser", "module_id", "key_user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    round_id: int = Field(foreign_key="quizround.id", index=True)
    module_id: int = Field(foreign_key="trainingmodule.id")
    user_id: str = Field(max_length=32)
    key_user_id: int | None = Field(default=None, foreign_key="keyuser.id")
    answers: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    score: int | None = Field(default=None)  # percent
    passed: bool | None = Field(default=None)
    missed: list[int] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class PracticalAssessment(SQLModel, table=True):
    """The monthly practical assessment of one key user on one module (``period`` = YYYY-MM)."""

    __table_args__ = (
        UniqueConstraint("module_id", "key_user_id", "period", name="uq_practical_period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    module_id: int = Field(foreign_key="trainingmodule.id", index=True)
    key_user_id: int = Field(foreign_key="keyuser.id")
    user_id: str = Field(max_length=32)
    period: str = Field(max_length=7)
    score: int
    pass_mark: int
    passed: bool
    comment: str | None = Field(default=None, max_length=2000)
    assessed_by: str = Field(max_length=32)
    assessed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class TrainingSession(SQLModel, table=True):
    """A training session: a calendar event (kind "training") of one module, given by a trainer.

    ``hours`` is the event's duration, kept here so hours planned, delivered and attended are
    summed in SQL. ``feedback_sent_at`` is set when the session's end has been handled (the
    feedback poll created, or nobody attended)."""

    __table_args__ = (UniqueConstraint("event_id", name="uq_trainingsession_event"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, index=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    module_id: int = Field(foreign_key="trainingmodule.id", index=True)
    event_id: int = Field(foreign_key="calendarevent.id")
    trainer_id: str = Field(max_length=32)
    hours: float
    audience_kind: str = Field(default="all", max_length=16)  # all, role, quadrant, people
    audience_values: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    feedback_poll_id: int | None = Field(default=None, foreign_key="poll.id")
    feedback_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
