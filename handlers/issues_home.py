"""The issues part of the App Home tab (listed in ``handlers.home.HOME_PARTS``)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import issues as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import issues as views


def issues_part(ctx: Ctx, user_id: str, locale: str) -> list[Block]:
    """The Home part: someone's open issues; for a PM, each project's counts and overdue ones."""
    now = ctx.now()
    mine = service.open_issues_of(ctx, user_id)
    loggable = [p for p in project_service.list_projects(ctx) if service.can_log(ctx, p, user_id)]
    blocks = list(views.key_user_home_part(locale, mine, loggable, now))
    rows = [
        (
            project,
            service.counts_by_status(ctx, project),
            service.overdue_issues(ctx, project, limit=views.HOME_OVERDUE_LINES),
        )
        for project in project_service.projects_managed_by(ctx, user_id)
    ]
    blocks += views.pm_home_part(locale, rows, now)
    return blocks
