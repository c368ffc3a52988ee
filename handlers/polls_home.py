"""The polls part of the App Home tab (listed in ``handlers.home.HOME_PARTS``)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import polls as service
from bot.services.context import Ctx
from bot.services.home import Viewer
from bot.views import polls as views

# Polls per list: the Home tab shares Slack's 100 blocks with every other part.
HOME_LIMIT = 5


def polls_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """A key user's polls awaiting their answer; for a PM, each open poll's response rate (the
    first ``HOME_LIMIT`` of each)."""
    by_id = {project.id: project for project in viewer.projects}
    awaiting = [
        (poll, by_id[poll.project_id])
        for poll in service.awaiting_answer(ctx, viewer.user_id, limit=HOME_LIMIT)
    ]
    blocks = list(views.home_awaiting(locale, awaiting))
    blocks += views.home_pm(locale, service.response_rates(ctx, viewer.managed, limit=HOME_LIMIT))
    return blocks
