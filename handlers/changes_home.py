"""The change requests' part of the App Home tab (listed in ``handlers.home.HOME_PARTS``): what
waits for the person's decision, and, for a PM, what waits for whom in their projects."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import changes as service
from bot.services.context import Ctx
from bot.services.home import Viewer
from bot.views import changes as views


def changes_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """One bounded statement, for anyone in a project (nothing for the others)."""
    if not viewer.roles and not viewer.key_users:
        return []
    managed = [project.id or 0 for project in viewer.managed]
    rows = service.waiting(ctx, viewer.user_id, managed)
    return views.home_part(locale, viewer.user_id, rows)
