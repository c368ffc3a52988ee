"""The App Home tab: published on ``app_home_opened`` and after changes that affect it.

Each capability contributes a part: a function ``(ctx, user_id, locale) -> list[Block]``, listed in
``HOME_PARTS`` in the order they appear.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.runtime import Runtime
from bot.services import engagement
from bot.services import keyusers as keyuser_service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.slack_io import slack_error_code
from bot.views import home as views
from handlers.issues_home import issues_part
from handlers.meetings_home import contacts_part, meetings_part
from handlers.polls_home import polls_part
from handlers.trainings_home import trainings_part

log = logging.getLogger(__name__)

HomePart = Callable[[Ctx, str, str], list[Block]]


def key_user_projects_part(ctx: Ctx, user_id: str, locale: str) -> list[Block]:
    return views.key_user_part(locale, project_service.projects_of_key_user(ctx, user_id))


def pm_projects_part(ctx: Ctx, user_id: str, locale: str) -> list[Block]:
    rows = []
    for project in project_service.projects_managed_by(ctx, user_id):
        grouped = keyuser_service.register(ctx, project)
        per_quadrant = {q: len(entries) for q, entries in grouped.items()}
        debt = len(engagement.engagement_debt(ctx, project.id or 0, ctx.now()))
        rows.append((project, per_quadrant, debt))
    return views.pm_part(locale, rows)


HOME_PARTS: list[HomePart] = [
    key_user_projects_part,
    meetings_part,
    pm_projects_part,
    contacts_part,
    issues_part,
    polls_part,
    trainings_part,
]


def build_home(runtime: Runtime, team_id: str, user_id: str) -> dict[str, Any]:
    locale = runtime.settings.locale
    with runtime.unit(team_id, user_id) as ctx:
        parts = [part(ctx, user_id, locale) for part in HOME_PARTS]
        manages = bool(project_service.projects_managed_by(ctx, user_id))
    parts.append(
        views.welcome_part(
            locale, runtime.settings.commands, has_anything=any(parts), manages_projects=manages
        )
    )
    return views.home_view(parts)


def publish_home(runtime: Runtime, client: WebClient, team_id: str, user_id: str) -> None:
    """Refresh someone's Home tab; a failure is logged, since the change itself already stands."""
    try:
        client.views_publish(user_id=user_id, view=build_home(runtime, team_id, user_id))
    except SlackApiError as error:
        log.warning("views.publish for %s failed: %s", user_id, slack_error_code(error))


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    def show_home(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(runtime, client, context.team_id or "", event["user"])
