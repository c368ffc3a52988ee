"""The grouping step: each person's held notices whose moment came go out, several in one DM
(``bot.services.notifications``). Listed in ``JOB_TABLE`` right before the outbox is delivered,
so whatever the jobs of one run queued for a person reaches them as one DM."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col

from bot.jobs.teams import teams_where
from bot.runtime import Runtime
from bot.services import notifications as service
from bot.views import notifications as views
from storage.models import OutboxMessage, OutboxStatus

EVERY = timedelta(minutes=1)


def send_grouped(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    locale = runtime.settings.locale
    teams = teams_where(
        runtime,
        OutboxMessage.team_id,
        col(OutboxMessage.status) == OutboxStatus.HELD,
        col(OutboxMessage.next_attempt_at) <= now,
    )
    queued = 0
    for team_id in teams:
        with runtime.unit(team_id) as ctx:
            queued += len(
                service.group_due(
                    ctx.session,
                    team_id=team_id,
                    now=now,
                    render=lambda parts: views.grouped_dm(locale, parts),
                )
            )
    return {"notices": queued}
