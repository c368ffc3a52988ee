"""The issues part of the App Home tab (listed in ``handlers.home.HOME_PARTS``)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import issues as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import issues as views


def issues_part(
    ctx: Ctx, user_id: str, locale: str, pages: dict[str, int] | None = None
) -> list[Block]:
    """The Home part: someone's open issues with status and due date, a page at a time (a PM's
    figures and overdue issues are on their project dashboards)."""
    now = ctx.now()
    mine = service.open_issues_of(ctx, user_id)
    loggable = [p for p in project_service.list_projects(ctx) if service.can_log(ctx, p, user_id)]
    page = max((pages or {}).get("issues", 0), 0)
    return list(views.key_user_home_part(locale, mine, loggable, now, page=page))
