"""The Home tab's "Notifications" part: what the person chose to receive, and the button to
change it (for anyone with a place in a project; a newcomer sees the welcome instead)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import notifications as service
from bot.services.context import Ctx
from bot.services.home import Viewer
from bot.views import notifications as views


def notifications_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """One statement: the person's preferences (the defaults when they chose nothing)."""
    if not (viewer.roles or viewer.key_users):
        return []
    return views.home_part(locale, service.preference(ctx, viewer.user_id))
