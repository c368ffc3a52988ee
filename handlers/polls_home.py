"""The polls part of the App Home tab (listed in ``handlers.home.HOME_PARTS``)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import polls as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import polls as views

# Polls per list: the Home tab shares Slack's 100 blocks with every other part.
HOME_LIMIT = 5


def polls_part(ctx: Ctx, user_id: str, locale: str) -> list[Block]:
    """A key user's polls awaiting their answer; for a PM, each open poll's response rate (the
    first ``HOME_LIMIT`` of each)."""
    awaiting = [
        (poll, service.project_of(ctx, poll))
        for poll in service.awaiting_answer(ctx, user_id)[:HOME_LIMIT]
    ]
    blocks = list(views.home_awaiting(locale, awaiting))
    rows = []
    for project in project_service.projects_managed_by(ctx, user_id):
        for poll in service.open_polls_of(ctx, project)[: HOME_LIMIT - len(rows)]:
            people = service.participants_of(ctx, poll)
            rows.append((poll, project, len(people), sum(1 for p in people if p.answered)))
        if len(rows) >= HOME_LIMIT:
            break
    blocks += views.home_pm(locale, rows)
    return blocks
