"""The polls part of the App Home tab (listed in ``handlers.home.HOME_PARTS``)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import polls as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import polls as views


def polls_part(ctx: Ctx, user_id: str, locale: str) -> list[Block]:
    """A key user's polls awaiting their answer; for a PM, each open poll's response rate."""
    awaiting = [
        (poll, service.project_of(ctx, poll)) for poll in service.awaiting_answer(ctx, user_id)
    ]
    blocks = list(views.home_awaiting(locale, awaiting))
    rows = []
    for project in project_service.projects_managed_by(ctx, user_id):
        for poll in service.open_polls_of(ctx, project):
            people = service.participants_of(ctx, poll)
            rows.append((poll, project, len(people), sum(1 for p in people if p.answered)))
    blocks += views.home_pm(locale, rows)
    return blocks
