"""SQLModel tables. Every table carries ``team_id``: the Slack workspace the row belongs to.

Importing this package registers every table on ``SQLModel.metadata`` (Alembic and tests need it).
"""

from storage.models.approvals import (
    Approval,
    ApprovalAnswer,
    ApprovalDecider,
    ApprovalStatus,
)
from storage.models.calendar import (
    ATTENDED,
    Attendance,
    CalendarEvent,
    EventStatus,
    Invitation,
    Rsvp,
)
from storage.models.changes import (
    ChangeHistory,
    ChangeRequest,
    ChangeSettings,
    ChangeSpawn,
    ChangeStatus,
)
from storage.models.core import (
    HomeVisit,
    Interaction,
    KeyUser,
    ProcessedRequest,
    Project,
    ProjectMember,
    Workspace,
)
from storage.models.decisions import Decision, DecisionSettings
from storage.models.digest import DigestRun, DigestSettings, DigestTarget
from storage.models.endusers import EndUser, EndUserAttendance
from storage.models.golive import GoLiveSettings
from storage.models.issues import Issue, IssueHistory, IssueSettings, IssueStatus
from storage.models.meetings import (
    Meeting,
    MeetingActionItem,
    MeetingKind,
    MeetingOutcome,
    OccurrenceStatus,
    PlanEntry,
    PlanOccurrence,
)
from storage.models.notifications import DigestCopy, NotificationPreference, ReminderPace
from storage.models.outbox import OutboxMessage, OutboxStatus, RateBucket, Urgency
from storage.models.phases import ChecklistItem, ChecklistSettings, ItemStatus, PhaseMove
from storage.models.polls import (
    BallotBox,
    Poll,
    PollParticipant,
    PollQuestion,
    PollResponse,
    PollStatus,
    QuestionKind,
    Recurrence,
)
from storage.models.risks import (
    Risk,
    RiskAction,
    RiskAssessment,
    RiskHistory,
    RiskLink,
    RiskSettings,
    RiskStatus,
)
from storage.models.signoffs import (
    SignOff,
    SignOffIssue,
    SignOffSettings,
    SignOffStatus,
    SignOffVersion,
)
from storage.models.trainings import (
    PracticalAssessment,
    QuizAttempt,
    QuizKind,
    QuizQuestion,
    QuizRound,
    TrainingFormat,
    TrainingModule,
    TrainingSession,
)

__all__ = [
    "SignOff",
    "SignOffIssue",
    "SignOffSettings",
    "SignOffStatus",
    "SignOffVersion",
    "Approval",
    "ApprovalAnswer",
    "ApprovalDecider",
    "ApprovalStatus",
    "ChangeHistory",
    "ChangeRequest",
    "ChangeSettings",
    "ChangeSpawn",
    "ChangeStatus",
    "ATTENDED",
    "Attendance",
    "CalendarEvent",
    "EventStatus",
    "Invitation",
    "Rsvp",
    "Decision",
    "DecisionSettings",
    "DigestRun",
    "EndUser",
    "EndUserAttendance",
    "DigestSettings",
    "DigestTarget",
    "HomeVisit",
    "Interaction",
    "Issue",
    "IssueHistory",
    "IssueSettings",
    "IssueStatus",
    "KeyUser",
    "Meeting",
    "MeetingActionItem",
    "MeetingKind",
    "MeetingOutcome",
    "OccurrenceStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Urgency",
    "BallotBox",
    "PlanEntry",
    "PlanOccurrence",
    "Poll",
    "PollParticipant",
    "PollQuestion",
    "PollResponse",
    "PollStatus",
    "QuestionKind",
    "QuizAttempt",
    "QuizKind",
    "QuizQuestion",
    "QuizRound",
    "RateBucket",
    "ChecklistItem",
    "ChecklistSettings",
    "ItemStatus",
    "PhaseMove",
    "Risk",
    "RiskAction",
    "RiskAssessment",
    "RiskHistory",
    "RiskLink",
    "RiskSettings",
    "RiskStatus",
    "Recurrence",
    "PracticalAssessment",
    "ProcessedRequest",
    "Project",
    "ProjectMember",
    "TrainingFormat",
    "TrainingModule",
    "TrainingSession",
    "GoLiveSettings",
    "DigestCopy",
    "NotificationPreference",
    "ReminderPace",
    "Workspace",
]
