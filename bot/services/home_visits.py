"""Who has a Home tab to look at. Slack fires ``app_home_opened`` each time someone opens the tab,
and the Home is built fresh then; a change made elsewhere refreshes only the tabs of people who
have opened theirs, not those of key users who never look (each refresh costs a ``views.publish``
from the workspace's budget and a build of every part)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select

from bot.services.context import Ctx
from storage.models import HomeVisit


def note_opened(ctx: Ctx, user_id: str) -> None:
    visit = ctx.session.get(HomeVisit, (ctx.team_id, user_id))
    if visit is None:
        ctx.session.add(HomeVisit(team_id=ctx.team_id, user_id=user_id, opened_at=ctx.now()))
    else:
        visit.opened_at = ctx.now()
        ctx.session.add(visit)


def lookers(ctx: Ctx, people: Iterable[str]) -> list[str]:
    """Those of ``people`` (in their order) who have opened their Home tab."""
    wanted = list(dict.fromkeys(person for person in people if person))
    if not wanted:
        return []
    seen = set(
        ctx.session.exec(
            select(HomeVisit.user_id).where(
                HomeVisit.team_id == ctx.team_id, col(HomeVisit.user_id).in_(wanted)
            )
        ).all()
    )
    return [person for person in wanted if person in seen]
