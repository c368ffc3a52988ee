"""The deciders' daily reminder of the shared approvals: one DM per decider and local day, from
09:00 in the timezone of the project of their oldest waiting approval, listing every approval
still without their decision two working days or more after they were asked (keyed
``approval-reminder:<team>:<person>:<day>`` by ``daily_lists``: a rerun adds nothing)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bot.jobs.teams import daily_lists, per_team, teams_where
from bot.runtime import Runtime
from bot.services import approvals as service
from bot.services.context import Ctx
from bot.views import approvals as views
from storage.models import Approval, ApprovalStatus


def remind_deciders(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    teams = teams_where(
        runtime,
        Approval.team_id,
        Approval.status == ApprovalStatus.PENDING,
        Approval.asked_at <= now - timedelta(days=service.REMIND_AFTER_WORKING_DAYS),
    )
    return {"approval_reminders": per_team(runtime, teams, lambda ctx: queue_reminders(ctx, now))}


def queue_reminders(ctx: Ctx, now: datetime) -> list[str]:
    due = service.reminders_due(ctx)
    every = [approval for items in due.values() for approval, _ in items]
    summaries = service.summaries(ctx, list({a.id: a for a in every}.values()))

    def render(person: str, items: list[Any], day: date) -> dict[str, Any]:
        listed = [(approval, summaries[approval.id or 0]) for approval, _ in items]
        return views.reminder_dm(items[0][1].locale, listed, day)

    return daily_lists(ctx, now, due, kind="approval-reminder", render=render)
