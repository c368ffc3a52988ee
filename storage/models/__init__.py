"""SQLModel tables. Every table carries ``team_id``: the Slack workspace the row belongs to.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic and tests need it).
"""

from storage.models.core import (
    Interaction,
    KeyUser,
    ProcessedRequest,
    Project,
    ProjectMember,
    Workspace,
)
from storage.models.issues import Issue, IssueHistory, IssueSettings, IssueStatus
from storage.models.meetings import (
    MeetingActionItem,
    MeetingOutcome,
    OccurrenceStatus,
    PlanEntry,
    PlanOccurrence,
)
from storage.models.outbox import OutboxMessage, OutboxStatus
from storage.models.polls import (
    Poll,
    PollBallot,
    PollParticipant,
    PollQuestion,
    PollResponse,
    PollStatus,
    QuestionKind,
    Recurrence,
)

__all__ = [
    "Interaction",
    "Issue",
    "IssueHistory",
    "IssueSettings",
    "IssueStatus",
    "KeyUser",
    "MeetingActionItem",
    "MeetingOutcome",
    "OccurrenceStatus",
    "OutboxMessage",
    "OutboxStatus",
    "PlanEntry",
    "PlanOccurrence",
    "Poll",
    "PollBallot",
    "PollParticipant",
    "PollQuestion",
    "PollResponse",
    "PollStatus",
    "QuestionKind",
    "Recurrence",
    "ProcessedRequest",
    "Project",
    "ProjectMember",
    "Workspace",
]
