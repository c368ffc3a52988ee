"""The shared approvals' messages after the asking: the deciders' daily reminder, and their asking
DMs rewritten once they answered, the approval was decided or a new version replaced it.

The reminder: one DM per decider and local day, from 09:00 in the timezone of the project of
their oldest waiting approval, listing every approval still without their decision two working
days or more after they were asked (keyed ``approval-reminder:<team>:<person>:<day>`` by
``daily_lists``: a rerun adds nothing).

The asking DMs: ``approval-ask:<approval>:<person>:<tag>`` rewrites the DM sent under
``approval-ask:<approval>:<person>`` (``answer<id>`` after one of their answers, ``decided`` and
``superseded`` for everyone asked), where the outbox recorded it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from bot.delivery import RECORD_LIFETIME, Outgoing, enqueue_many, sent_row
from bot.jobs.teams import daily_lists, per_team, teams_where
from bot.runtime import Runtime
from bot.services import approvals as service
from bot.services.context import Ctx
from bot.views import approvals as views
from storage.models import Approval, ApprovalStatus, Project


def dm(ctx: Ctx, subject: str, people: list[str], payload: dict[str, Any], key: str) -> list[str]:
    """``payload`` to each of ``people`` by DM (once each, none for an empty id), keyed
    ``<key>:<person>``, about ``subject`` (``change:<id>``)."""
    messages = [
        Outgoing(
            key=f"{key}:{person}",
            payload={"channel": person, **payload},
            subject=subject,
            expires_at=ctx.now() + RECORD_LIFETIME,
        )
        for person in dict.fromkeys(people)
        if person
    ]
    return enqueue_many(ctx.session, team_id=ctx.team_id, messages=messages, now=ctx.now())


def in_thread(
    ctx: Ctx,
    project: Project,
    post: str,
    subject: str,
    payload: dict[str, Any],
    key: str,
    told: Callable[[], list[str]],
) -> list[str]:
    """``payload`` in the thread of the post sent under the key ``post`` (in the project's
    channel while that post is not recorded), keyed ``key``; without a channel, by DM to the
    people ``told()`` names."""
    if not project.channel_id:
        return dm(ctx, subject, told(), payload, key)
    posted = sent_row(ctx.session, key=post)
    place: dict[str, Any] = {"channel": project.channel_id}
    if posted is not None and posted.channel and posted.ts:
        place = {"channel": posted.channel, "thread_ts": posted.ts}
    return [
        ctx.enqueue(
            key, {**place, **payload}, subject=subject, expires_at=ctx.now() + RECORD_LIFETIME
        )
    ]


def retell(ctx: Ctx, approval: Approval, people: list[str] | None, tag: str) -> list[str]:
    """Rewrite the asking DMs of ``people`` (None: every decider) with what each answered and
    where the approval stands."""
    now = service.standing(ctx, approval)
    summary = service.summaries(ctx, [approval])[approval.id or 0]

    def render(person: str, sent: dict[str, Any]) -> dict[str, Any]:
        mine = [row for row in now.answers if row.user_id == person]
        return views.retold_dm(summary.project.locale, sent, approval, summary, mine)

    asked = now.deciders if people is None else people
    return service.retell_asks(ctx, approval, asked, render, tag)


def answered(ctx: Ctx, done: service.Answered) -> list[str]:
    """After an answer: the decider's DM says what they answered (a question keeps its
    buttons); a decision that settles the approval rewrites every decider's DM."""
    if done.outcome is None:
        return retell(ctx, done.approval, [done.answer.user_id], f"answer{done.answer.id}")
    return retell(ctx, done.approval, None, "decided")


def superseded(ctx: Ctx, earlier: list[Approval]) -> list[str]:
    """A new version replaced these approvals: their deciders' DMs say so, without buttons."""
    keys: list[str] = []
    for approval in earlier:
        keys += retell(ctx, approval, None, "superseded")
    return keys


def remind_deciders(runtime: Runtime) -> dict[str, Any]:
    now = runtime.clock.now()
    teams = teams_where(
        runtime,
        Approval.team_id,
        Approval.status == ApprovalStatus.PENDING,
        Approval.asked_at <= now - timedelta(days=service.REMIND_AFTER_WORKING_DAYS),
    )
    return {"approval_reminders": per_team(runtime, teams, lambda ctx: queue_reminders(ctx, now))}


def queue_reminders(ctx: Ctx, now: datetime) -> list[str]:
    due = service.reminders_due(ctx)
    every = [approval for items in due.values() for approval, _ in items]
    summaries = service.summaries(ctx, list({a.id: a for a in every}.values()))

    def render(person: str, items: list[Any], day: date) -> dict[str, Any]:
        listed = [(approval, summaries[approval.id or 0]) for approval, _ in items]
        return views.reminder_dm(items[0][1].locale, listed, day)

    return daily_lists(ctx, now, due, kind="approval-reminder", render=render)
