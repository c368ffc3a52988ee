"""The issues part of the App Home tab (listed in ``handlers.home.HOME_PARTS``)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import issues as service
from bot.services.context import Ctx
from bot.services.home import Viewer
from bot.views import issues as views


def issues_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """The Home part: someone's open issues with status and due date, a page at a time (a PM's
    figures and overdue issues are on their project dashboards)."""
    items, total, page = service.open_issues_of(
        ctx, viewer.user_id, page=pages.get("issues", 0), page_size=views.HOME_PAGE
    )
    loggable = [p for p in viewer.projects if viewer.can_log(p)]
    return list(
        views.key_user_home_part(
            locale, viewer.user_id, items, total, loggable, ctx.now(), page=page
        )
    )
