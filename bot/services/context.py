"""The context every service call runs in: one unit of work, one workspace, one acting person.

``Ctx`` is how the workspace boundary is kept: services query through ``ctx.select`` and fetch
through ``ctx.get``, both of which add the workspace's ``team_id``, so a request can never reach
another workspace's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from bot import delivery
from bot.clock import Clock
from storage.models import Interaction, ProcessedRequest, Urgency, Workspace

M = TypeVar("M", bound=SQLModel)


@dataclass
class Ctx:
    session: Session
    team_id: str
    actor_id: str | None
    clock: Clock
    # Asked only when a permission depends on it (a workspace admin may manage any project).
    admin_check: Callable[[str], bool] = field(default=lambda _user: False)
    locale: str = "en"
    _admin: bool | None = None

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def actor_is_admin(self) -> bool:
        if self._admin is None:
            self._admin = bool(self.actor_id) and self.admin_check(self.actor_id or "")
        return self._admin

    def select(self, model: type[M]) -> SelectOfScalar[M]:
        return select(model).where(model.team_id == self.team_id)  # type: ignore[attr-defined]

    def get(self, model: type[M], ident: Any) -> M | None:
        row = self.session.get(model, ident)
        if row is None or getattr(row, "team_id", None) != self.team_id:
            return None
        return row

    def ensure_workspace(self) -> Workspace:
        workspace = self.session.get(Workspace, self.team_id)
        if workspace is None:
            workspace = Workspace(team_id=self.team_id, created_at=self.now())
            self.session.add(workspace)
            self.session.flush()
        return workspace

    def log(
        self,
        kind: str,
        *,
        project_id: int | None = None,
        key_user_id: int | None = None,
        touchpoint: bool = False,
        **detail: Any,
    ) -> Interaction:
        entry = Interaction(
            team_id=self.team_id,
            project_id=project_id,
            key_user_id=key_user_id,
            actor_id=self.actor_id,
            kind=kind,
            touchpoint=touchpoint,
            detail=detail,
            at=self.now(),
        )
        self.session.add(entry)
        return entry

    def enqueue(
        self,
        key: str,
        payload: dict[str, Any],
        *,
        subject: str | None,
        expires_at: datetime,
        method: str = "chat.postMessage",
        urgency: Urgency | None = None,
    ) -> str:
        """Queue one message of this workspace in the outbox (once per ``key``); returns the key.
        ``urgency``: by default what ``delivery.urgency_of`` says."""
        delivery.enqueue(
            self.session,
            team_id=self.team_id,
            key=key,
            method=method,
            payload=payload,
            now=self.now(),
            subject=subject,
            expires_at=expires_at,
            urgency=urgency,
        )
        return key

    def claim(self, key: str) -> bool:
        """Record that the request ``key`` is being acted on; False if it already was.

        The row commits with the change it guards, so a retry of a failed request is not blocked,
        and a concurrent duplicate fails on the unique constraint.
        """
        existing = self.session.exec(
            select(ProcessedRequest).where(
                ProcessedRequest.team_id == self.team_id, ProcessedRequest.key == key
            )
        ).first()
        if existing is not None:
            return False
        try:
            with self.session.begin_nested():
                self.session.add(ProcessedRequest(team_id=self.team_id, key=key, at=self.now()))
        except IntegrityError:
            return False
        return True
