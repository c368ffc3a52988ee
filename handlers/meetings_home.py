"""The Home tab's parts for engagement and meetings (kept apart from ``handlers.home`` so that
module can list them without importing the listeners)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services.context import Ctx
from bot.services.home import Viewer
from bot.views import engagement as views
from bot.views import meetings as meeting_views
from bot.views.home import MAX_DASHBOARDS


def contacts_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """For a PM: the last contact with each key user of their projects (loaded once with the
    dashboards), for as many projects as the Home tab shows dashboards of."""
    projects = viewer.managed[:MAX_DASHBOARDS]
    if not projects:
        return []
    contacts = viewer.contacts(ctx, projects)
    return views.home_part(locale, [(p, contacts[p.id or 0]) for p in projects])


def meetings_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """Anyone invited: their next meetings with their answer."""
    return meeting_views.home_part(locale, viewer.upcoming(ctx, "meeting"))
