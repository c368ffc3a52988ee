"""What Liaison says about risks, through the outbox, and the daily review reminder.

Keys make every message unique: ``risk-high:<risk>:<assessment>:<pm>`` for the PMs' DM when an
assessment makes a risk high (a rerun, a double click or a retried form adds nothing; a risk that
falls and becomes high again is told again), ``risk-review:<team>:<owner>:<day>`` for an owner's
one DM a day listing their risks whose review is due.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col

from bot.delivery import NOTICE_LIFETIME, Outgoing, enqueue_many
from bot.jobs.teams import daily_lists, per_team, teams_where
from bot.runtime import Runtime
from bot.services import projects as project_service
from bot.services import risks as service
from bot.services.context import Ctx
from bot.views import risks as views
from storage.models import Risk, RiskStatus


def announce_high(ctx: Ctx, change: service.Change) -> list[str]:
    """The project's PMs, each by DM, when a risk has just become high."""
    if not change.became_high or change.assessment is None:
        return []
    risk, project = change.risk, change.project
    payload = views.high_dm(project.locale, project, risk, ctx.actor_id)
    messages = [
        Outgoing(
            key=f"risk-high:{risk.id}:{change.assessment.id}:{pm}",
            payload={"channel": pm, **payload},
            subject=f"risk:{risk.id}",
            expires_at=ctx.now() + NOTICE_LIFETIME,
        )
        for pm in project_service.pm_ids(ctx, project)
    ]
    return enqueue_many(ctx.session, team_id=ctx.team_id, messages=messages, now=ctx.now())


def remind_reviews(runtime: Runtime) -> dict[str, Any]:
    """Once a day per owner: one DM listing every open risk of theirs whose review day has come,
    from 09:00 in the timezone of the project of the first of them. Only the workspaces with a
    review due are visited; in each, found in one query and queued in one insert."""
    now = runtime.clock.now()
    horizon = now.date() + timedelta(days=1)  # every project's day is within a day of UTC's
    teams = teams_where(
        runtime,
        Risk.team_id,
        Risk.status == RiskStatus.OPEN,
        col(Risk.owner_id).is_not(None),
        col(Risk.review_on) <= horizon,
    )
    return {"risk_reviews": per_team(runtime, teams, lambda ctx: queue_reviews(ctx, now))}


def queue_reviews(ctx: Ctx, now: datetime) -> list[str]:
    def render(owner_id: str, items: list[Any], day: date) -> dict[str, Any]:
        return views.review_dm(items[0][1].locale, items, day)

    return daily_lists(ctx, now, service.reviews_due(ctx), kind="risk-review", render=render)
