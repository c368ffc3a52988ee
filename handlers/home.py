"""The App Home tab: published on ``app_home_opened`` and after changes that affect it.

Each capability contributes a part: a function ``(ctx, viewer, locale, pages) -> list[Block]``,
listed in ``HOME_PARTS`` in the order they appear. ``viewer`` (``bot.services.home``) says where
the person stands in each project, loaded once for every part, and shares what several parts
read; ``pages`` is the page of each paged list ("Show more"), carried by the button that asked for
it. Each part bounds its own blocks, so the whole stays within Slack's 100
(``bot.views.home.home_view``).
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
from bot.services import digest as digest_service
from bot.services import golive as golive_service
from bot.services import home as home_service
from bot.services import home_visits
from bot.services import phases as phase_service
from bot.services.context import Ctx
from bot.services.home import Viewer, viewer_of
from bot.slack_io import slack_error_code
from bot.views import golive as golive_views
from bot.views import home as views
from bot.views import phases as phase_views
from handlers.changes_home import changes_part
from handlers.issues_home import issues_part
from handlers.meetings_home import contacts_part, meetings_part
from handlers.notifications_home import notifications_part
from handlers.polls_home import polls_part
from handlers.risks_home import risks_part
from handlers.trainings_home import trainings_part

log = logging.getLogger(__name__)

HomePart = Callable[[Ctx, Viewer, str, dict[str, int]], list[Block]]


def key_user_projects_part(
    ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]
) -> list[Block]:
    return views.key_user_part(locale, viewer.user_id, viewer.key_user_projects)


def pm_dashboard_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """Each managed project's dashboard (the chosen one first), at most ``MAX_DASHBOARDS``."""
    projects = viewer.managed
    chosen = pages.get("project")
    shown = sorted(projects, key=lambda project: project.id != chosen)[: views.MAX_DASHBOARDS]
    contacts = viewer.contacts(ctx, shown)
    dashboards = [
        digest_service.project_dashboard(
            ctx,
            project,
            at_risk_limit=views.RISK_PAGE,
            at_risk_offset=max(pages.get(f"risk:{project.id}", 0), 0) * views.RISK_PAGE,
            contacts=contacts[project.id or 0],
        )
        for project in shown
    ]
    # A project without key users shows its next steps (one statement, only for such projects).
    new = [d.project for d in dashboards if not sum(d.quadrants.values())]
    steps = home_service.setup_steps(ctx, new)
    for dashboard in dashboards:
        dashboard.setup = steps.get(dashboard.project.id or 0)
    return views.pm_dashboards(locale, dashboards, projects)


def phase_checklists_part(
    ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]
) -> list[Block]:
    """The current phase's checklist progress of each project the person manages (one
    aggregate statement for all of them)."""
    projects = viewer.managed[: phase_views.HOME_PROJECTS]
    found = phase_service.progress(ctx, projects)
    return phase_views.home_part(locale, [(p, found[p.id or 0]) for p in projects])


# Checklist items listed on an owner's Home tab.
OWNED_ITEMS = 5


def owned_items_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """The checklist items the person owns in their projects' current phases, each with Mark
    (one bounded statement)."""
    rows, total = phase_service.owned_items(ctx, viewer.user_id, limit=OWNED_ITEMS)
    return phase_views.home_owned(locale, rows, total, ctx.now())


def golive_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """A line and a button per managed project from final preparation on: no statement (the
    phase is on the project rows the viewer holds); the button computes the gate."""
    projects = [p for p in viewer.managed if golive_service.in_final_preparation(p)]
    return golive_views.home_part(locale, projects)


# The PM's dashboards first: they matter most to whoever has them.
HOME_PARTS: list[HomePart] = [
    pm_dashboard_part,
    risks_part,
    phase_checklists_part,
    owned_items_part,
    golive_part,
    key_user_projects_part,
    meetings_part,
    contacts_part,
    issues_part,
    changes_part,
    polls_part,
    trainings_part,
    # The person's own settings (what they receive and when) come last, after what waits for them.
    notifications_part,
]


def build_home(
    runtime: Runtime, team_id: str, user_id: str, pages: dict[str, int] | None = None
) -> dict[str, Any]:
    locale = runtime.settings.locale
    with runtime.unit(team_id, user_id) as ctx:
        viewer = viewer_of(ctx, user_id)
        parts = [part(ctx, viewer, locale, pages or {}) for part in HOME_PARTS]
    parts.append(
        views.welcome_part(
            locale,
            runtime.settings.commands,
            has_anything=any(parts),
            manages_projects=bool(viewer.managed),
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
        with runtime.unit(context.team_id or "", event["user"]) as ctx:
            home_visits.note_opened(ctx, event["user"])
        publish_home(runtime, client, context.team_id or "", event["user"])
