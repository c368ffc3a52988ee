"""The trainings part of the App Home tab (listed in ``handlers.home.HOME_PARTS``)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.services import training_quizzes
from bot.services import training_readiness as readiness_service
from bot.services import training_sessions as session_service
from bot.services.context import Ctx
from bot.services.home import Viewer
from bot.views import training_sessions as session_views
from bot.views import trainings as views

# Items per list: the Home tab shares Slack's 100 blocks with every other part.
HOME_LIMIT = 5


def trainings_part(ctx: Ctx, viewer: Viewer, locale: str, pages: dict[str, int]) -> list[Block]:
    """Anyone invited: their upcoming sessions with their answer. A key user: quizzes to take and
    their own readiness (a PM's readiness per module and coming sessions are on the project
    dashboard)."""
    blocks = session_views.home_sessions(locale, viewer.upcoming(ctx, session_service.KIND))
    if not viewer.is_key_user:
        return blocks  # quizzes and readiness are a key user's
    by_id = {project.id: project for project in viewer.projects}
    quizzes = training_quizzes.quizzes_to_take(ctx, viewer.user_id, limit=HOME_LIMIT)
    blocks += views.home_quizzes(
        locale, [(quiz, module, by_id[quiz.project_id]) for quiz, module in quizzes]
    )
    blocks += views.home_own_readiness(
        locale, readiness_service.own_readiness(ctx, viewer.key_user_projects)
    )
    return blocks
