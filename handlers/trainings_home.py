"""The trainings part of the App Home tab (listed in ``handlers.home.HOME_PARTS``)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.calendar import service as calendar
from bot.services import projects as project_service
from bot.services import training_readiness as readiness_service
from bot.services import training_sessions as session_service
from bot.services import trainings as service
from bot.services.context import Ctx
from bot.views import trainings as views

# Items per list: the Home tab shares Slack's 100 blocks with every other part.
HOME_LIMIT = 5


def trainings_part(ctx: Ctx, user_id: str, locale: str) -> list[Block]:
    """A key user's upcoming sessions with their answer, quizzes to take and their own readiness
    (a PM's readiness per module and coming sessions are on the project dashboard)."""
    blocks = views.home_sessions(
        locale, calendar.upcoming_for(ctx, user_id, kind=session_service.KIND, limit=HOME_LIMIT)
    )
    quizzes = service.quizzes_to_take(ctx, user_id)
    projects = {
        p.id: p
        for p in project_service.list_projects(ctx)
        if p.id in {quiz.project_id for quiz, _module in quizzes}
    }
    blocks += views.home_quizzes(
        locale,
        [(quiz, module, projects[quiz.project_id]) for quiz, module in quizzes[:HOME_LIMIT]],
    )
    blocks += views.home_own_readiness(locale, readiness_service.own_readiness(ctx, user_id))
    return blocks
