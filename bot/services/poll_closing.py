"""Closing a poll round: by its closing time or by a PM. Invitations say "closed", anonymous
answers' touchpoints are logged all at once, and the round's figures (``bot.services.poll_results``)
with a chart go to the PMs. Polls themselves are in ``bot.services.polls``.
"""

from __future__ import annotations

import secrets
from typing import Any
from zoneinfo import ZoneInfo

from bot import delivery
from bot.errors import Msg
from bot.i18n import plain
from bot.services import poll_results
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.services.polls import (
    PollClosed,
    PollMessages,
    get_poll,
    invite_key,
    log_answered,
    number_of,
    participants_of,
    project_of,
    require_poll_pm,
    subject,
)
from storage.models import Poll, PollStatus, Project, Recurrence

# ----------------------------------------------------------------------------------- closing


def close_poll(*, ctx: Ctx, poll: Poll, messages: PollMessages) -> list[str]:
    """Close: DMs say "closed", results with a chart go to the PMs. Idempotent by state."""
    from bot import charts

    if poll.status == PollStatus.CLOSED:
        return []
    now = ctx.now()
    project = project_of(ctx, poll)
    was_open = poll.status == PollStatus.OPEN
    poll.status = PollStatus.CLOSED
    poll.closed_at = now
    ctx.session.add(poll)
    ctx.session.flush()
    people = participants_of(ctx, poll)
    # The invitations' messages in one query, the "closed" updates in one insert.
    sent = delivery.rows_by_key(ctx.session, [invite_key(poll, p.user_id) for p in people])
    closed = {
        answered: messages.closed(project.locale, poll, answered, project=project)
        for answered in (True, False)
    }
    outgoing = []
    for person in people:
        invitation = sent.get(invite_key(poll, person.user_id))
        if invitation is None:
            continue
        if invitation.ts is None:
            delivery.cancel(ctx.session, key=invitation.key, reason="poll closed before delivery")
            continue
        outgoing.append(
            delivery.Outgoing(
                key=f"poll:{poll.id}:closed:{person.user_id}",
                method="chat.update",
                payload={
                    "channel": invitation.channel,
                    "ts": invitation.ts,
                    **closed[bool(person.answered)],
                },
                subject=subject(poll),
                expires_at=now + delivery.RECORD_LIFETIME,
            )
        )
    keys = delivery.enqueue_many(ctx.session, team_id=ctx.team_id, messages=outgoing, now=now)
    if poll.anonymous:
        # The touchpoints withheld at answer time, all at once and in a random order.
        respondents = [p for p in people if p.answered and p.key_user_id is not None]
        secrets.SystemRandom().shuffle(respondents)
        for person in respondents:
            log_answered(ctx, poll, person)
    ctx.log("poll.closed", project_id=project.id, poll_id=poll.id, was_open=was_open)
    if was_open:
        figures = poll_results.compute(ctx, poll)
        report = messages.results(project.locale, figures, project=project)
        chart = charts.results_chart(figures, project.locale)
        expires_at = now + delivery.RECORD_LIFETIME
        for pm in project_service.pm_ids(ctx, project):
            results = {"channel": pm, **report}
            keys.append(
                ctx.enqueue(
                    f"poll:{poll.id}:results:{pm}",
                    results,
                    subject=subject(poll),
                    expires_at=expires_at,
                )
            )
            keys.append(
                ctx.enqueue(
                    f"poll:{poll.id}:chart:{pm}",
                    chart_payload(project, poll, chart, pm),
                    method="files.upload_v2",
                    subject=subject(poll),
                    expires_at=expires_at,
                )
            )
    return keys


def chart_payload(project: Project, poll: Poll, png: bytes, channel: str) -> dict[str, Any]:
    """A ``files.upload_v2`` outbox payload of a round's chart. Its file name, which people see,
    names the project, the day the round opened and the round, never a database id; with the
    title it stays unique in a PM's DM, as a resend's lookup needs."""
    import base64

    locale = project.locale
    opened = poll.opens_at.astimezone(ZoneInfo(project.timezone)).date().isoformat()
    return {
        "channel": channel,
        "content_base64": base64.b64encode(png).decode("ascii"),
        "filename": f"poll-{project.code}-{opened}-round-{poll.round_number}.png",
        "title": plain(locale, "poll.chart_title", title=poll.title, round=poll.round_number),
        "alt_txt": plain(locale, "poll.chart_alt", title=poll.title),
    }


def close_by_pm(*, ctx: Ctx, poll_id: int | str, messages: PollMessages) -> tuple[Poll, list[str]]:
    """A PM closes a poll before its time. For a recurring poll that ends the series: this round
    is the last, and no next round is scheduled (a PM who wants rounds again creates a poll)."""
    poll = get_poll(ctx, poll_id)
    require_poll_pm(ctx, poll)
    if poll.status == PollStatus.CLOSED:
        raise PollClosed(Msg("poll.errors.already_closed", id=number_of(ctx, poll)))
    if poll.recurrence != Recurrence.NONE and poll.next_round_id is None:
        ctx.log("poll.series_ended", project_id=poll.project_id, poll_id=poll.id)
        poll.recurrence = Recurrence.NONE
    return poll, close_poll(ctx=ctx, poll=poll, messages=messages)


def close_due(*, ctx: Ctx, messages: PollMessages) -> list[str]:
    due = ctx.session.exec(
        ctx.select(Poll).where(Poll.status == PollStatus.OPEN, Poll.closes_at <= ctx.now())
    ).all()
    keys: list[str] = []
    for poll in due:
        keys += close_poll(ctx=ctx, poll=poll, messages=messages)
    return keys
