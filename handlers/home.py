"""The App Home tab: published on ``app_home_opened`` and after changes that affect it.

Each capability contributes a part: a function ``(ctx, user_id, locale) -> list[Block]``, listed in
``HOME_PARTS`` in the order they appear. A part that pages ("Show more") also takes ``pages``: the
page of each of its lists, carried by the button that asked for it. Each part bounds its own
blocks, so the whole stays within Slack's 100 (``bot.views.home.home_view``).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from bot.runtime import Runtime
from bot.services import digest as digest_service
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


def pm_dashboard_part(
    ctx: Ctx, user_id: str, locale: str, pages: dict[str, int] | None = None
) -> list[Block]:
    """Each managed project's dashboard (the chosen one first), at most ``MAX_DASHBOARDS``."""
    pages = pages or {}
    projects = project_service.projects_managed_by(ctx, user_id)
    chosen = pages.get("project")
    projects.sort(key=lambda project: project.id != chosen)
    dashboards = []
    for project in projects[: views.MAX_DASHBOARDS]:
        page = max(pages.get(f"risk:{project.id}", 0), 0)
        dashboards.append(
            digest_service.project_dashboard(
                ctx, project, at_risk_limit=views.RISK_PAGE, at_risk_offset=page * views.RISK_PAGE
            )
        )
    return views.pm_dashboards(locale, dashboards, sorted(projects, key=lambda p: p.code))


# The PM's dashboards first: they matter most to whoever has them.
HOME_PARTS: list[HomePart] = [
    pm_dashboard_part,
    key_user_projects_part,
    meetings_part,
    contacts_part,
    issues_part,
    polls_part,
    trainings_part,
]


def _call(part: HomePart, ctx: Ctx, user_id: str, locale: str, pages: dict[str, int]) -> Any:
    if "pages" in inspect.signature(part).parameters:
        return part(ctx, user_id, locale, pages=pages)  # type: ignore[call-arg]
    return part(ctx, user_id, locale)


def build_home(
    runtime: Runtime, team_id: str, user_id: str, pages: dict[str, int] | None = None
) -> dict[str, Any]:
    locale = runtime.settings.locale
    with runtime.unit(team_id, user_id) as ctx:
        parts = [_call(part, ctx, user_id, locale, pages or {}) for part in HOME_PARTS]
        manages = bool(project_service.projects_managed_by(ctx, user_id))
    parts.append(
        views.welcome_part(
            locale, runtime.settings.commands, has_anything=any(parts), manages_projects=manages
        )
    )
    return views.home_view(parts)


def publish_home(
    runtime: Runtime,
    client: WebClient,
    team_id: str,
    user_id: str,
    pages: dict[str, int] | None = None,
) -> None:
    """Refresh someone's Home tab; a failure is logged, since the change itself already stands."""
    try:
        client.views_publish(user_id=user_id, view=build_home(runtime, team_id, user_id, pages))
    except SlackApiError as error:
        log.warning("views.publish for %s failed: %s", user_id, slack_error_code(error))


def register(app: App, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    def show_home(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        publish_home(runtime, client, context.team_id or "", event["user"])
