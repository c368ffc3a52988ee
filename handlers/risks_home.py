"""The project-risk part of the App Home tab (listed in ``handlers.home.HOME_PARTS``): for a PM,
each managed project's open risks on the 5 × 5 grid and the highest of them."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import risks as service
from bot.services.context import Ctx
from bot.services.home import Viewer
from bot.views import home as home_views
from bot.views import risks as views


def risks_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """The projects whose dashboards are shown (the chosen one first), read in two statements
    whatever their number of risks."""
    chosen = pages.get("project")
    shown = sorted(viewer.managed, key=lambda project: project.id != chosen)
    shown = shown[: home_views.MAX_DASHBOARDS]
    if not shown:
        return []
    found = service.overviews(ctx, shown)
    return views.home_part(locale, [found[p.id or 0] for p in shown if (p.id or 0) in found])
