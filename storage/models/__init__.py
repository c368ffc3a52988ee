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
from storage.models.outbox import OutboxMessage, OutboxStatus

__all__ = [
    "Interaction",
    "KeyUser",
    "OutboxMessage",
    "OutboxStatus",
    "ProcessedRequest",
    "Project",
    "ProjectMember",
    "Workspace",
]
