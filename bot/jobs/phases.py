"""What Liaison says when a project moves to another phase, through the outbox.

The PMs are told in the project channel (by DM when the project has none), once per move
(``phase-move:<move>:<where>``), naming what was still open at that moment. The owners' due
checklist items are not a job of their own: they join the communication plan's due DM
(``bot.jobs.meetings.plan_due``), one DM per person.
"""

from __future__ import annotations

from bot.delivery import NOTICE_LIFETIME, Outgoing, enqueue_many
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import phases as views
from storage.models import PhaseMove, Project


def announce_move(ctx: Ctx, project: Project, move: PhaseMove) -> list[str]:
    pms = project_service.pm_ids(ctx, project)
    payload = views.moved_notice(project.locale, project, move, pms)
    targets = [project.channel_id] if project.channel_id else pms
    messages = [
        Outgoing(
            key=f"phase-move:{move.id}:{target}",
            payload={"channel": target, **payload},
            subject=f"project:{project.id}",
            expires_at=ctx.now() + NOTICE_LIFETIME,
        )
        for target in targets
    ]
    return enqueue_many(ctx.session, team_id=ctx.team_id, messages=messages, now=ctx.now())
