"""The decisions' part of the App Home tab (listed in ``handlers.home.HOME_PARTS``): the change
requests and the sign-offs waiting for the person's decision or signature, and, for a PM, what
waits for whom in their projects. Both are read in one statement."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import awaiting
from bot.services import changes as service
from bot.services.context import Ctx
from bot.services.home import Viewer
from bot.views import changes as views
from bot.views import signoffs as signoff_views


def changes_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """One bounded statement, for anyone in a project (nothing for the others)."""
    if not viewer.roles and not viewer.key_users:
        return []
    managed = [project.id or 0 for project in viewer.managed]
    projects = {project.id or 0: project for project in viewer.projects}
    changes, signoffs = awaiting.home_rows(ctx, viewer.user_id, managed, projects)
    return [
        *views.home_part(locale, viewer.user_id, service.waiting_rows(changes, projects)),
        *signoff_views.home_part(locale, viewer.user_id, signoffs),
    ]
