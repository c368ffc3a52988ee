"""The Home tab's parts for engagement and meetings (kept apart from ``handlers.home`` so that
module can list them without importing the listeners)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.calendar import service as calendar
from bot.services import engagement
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import engagement as views
from bot.views import meetings as meeting_views
from bot.views.home import MAX_DASHBOARDS


def contacts_part(ctx: Ctx, user_id: str, locale: str) -> list[Block]:
    """For a PM: the last contact with each key user of their projects (one query for all), for
    as many projects as the Home tab shows dashboards of."""
    projects = project_service.projects_managed_by(ctx, user_id)[:MAX_DASHBOARDS]
    if not projects:
        return []
    contacts = engagement.contacts_by_project(ctx, [p.id or 0 for p in projects], ctx.now())
    return views.home_part(locale, [(p, contacts.get(p.id or 0, [])) for p in projects])


def meetings_part(ctx: Ctx, user_id: str, locale: str) -> list[Block]:
    """Anyone invited: their next meetings with their answer (one query)."""
    upcoming = calendar.upcoming_for(ctx, user_id, kind="meeting", limit=5)
    return meeting_views.home_part(locale, upcoming)
