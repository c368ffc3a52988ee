"""What Liaison says about change requests, through the outbox, and the requests' part in the
shared approvals (``SUBJECT``: their summaries in the deciders' DMs and reminders, and what an
answer does).

Keys: ``change:<id>:post`` the request in the project's channel when it goes for review,
``change:<id>:step:<history>`` each step in that post's thread, ``change:<id>:<what>:<history>:
<person>`` a DM about a step (the PMs told of a key user's proposal, the requester and PMs told of
the decision, or of every step where the project has no channel). The deciders' DMs are the
approvals' own (``approval-ask:<approval>:<person>``), rewritten by ``bot.jobs.approvals`` after
an answer, a decision or a new version (``edit``).
"""

from __future__ import annotations

from typing import Any

from bot.delivery import RECORD_LIFETIME
from bot.i18n import plain
from bot.jobs import approvals as approval_notices
from bot.services import approvals
from bot.services import changes as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import changes as views
from storage.models import Approval, ChangeRequest, ChangeStatus, Project


def post_key(change: ChangeRequest) -> str:
    return f"change:{change.id}:post"


def _subject(change: ChangeRequest) -> str:
    return f"change:{change.id}"


def _tell(
    ctx: Ctx, step: service.Change, people: list[str], payload: dict[str, Any], what: str
) -> list[str]:
    change = step.change
    key = f"change:{change.id}:{what}:{step.history.id}"
    return approval_notices.dm(ctx, _subject(change), people, payload, key)


def step(ctx: Ctx, done: service.Change) -> list[str]:
    """A step of a request in its post's thread; without a channel, by DM to the requester and
    the PMs."""
    change, project = done.change, done.project
    reply = views.step_reply(
        project.locale, project, change, done.history, titled=not project.channel_id
    )
    return approval_notices.in_thread(
        ctx,
        project,
        post_key(change),
        _subject(change),
        reply,
        f"change:{change.id}:step:{done.history.id}",
        lambda: [change.requested_by, *project_service.pm_ids(ctx, project)],
    )


def announce_proposed(ctx: Ctx, done: service.Change) -> list[str]:
    """A key user's proposal: each PM by DM (the team sends it for review)."""
    change, project = done.change, done.project
    payload = views.proposed_dm(project.locale, project, change)
    return _tell(ctx, done, project_service.pm_ids(ctx, project), payload, "proposed")


def send_for_review(
    ctx: Ctx, change: ChangeRequest, project: Project, expected_version: int | None = None
) -> service.Change:
    """Under review: the deciders asked by DM, the request posted to the project's channel
    (or, without one, the step told to the requester and PMs)."""

    def render(approval: Approval, summary: approvals.Summary) -> dict[str, Any]:
        return views.approvals_ask(project.locale, approval, summary)

    done = service.send_for_review(
        ctx=ctx, change=change, project=project, render=render, expected_version=expected_version
    )
    if project.channel_id:
        post = views.channel_post(project.locale, project, change, service.rule_of(ctx, project))
        done.keys.append(
            ctx.enqueue(
                post_key(change),
                {"channel": project.channel_id, **post},
                subject=_subject(change),
                expires_at=ctx.now() + RECORD_LIFETIME,
            )
        )
    else:
        done.keys += step(ctx, done)
    return done


def edit(
    ctx: Ctx,
    change: ChangeRequest,
    project: Project,
    data: service.ChangeInput,
    expected_version: int | None = None,
) -> service.Change:
    """A new version of the request, told in its thread; under review, the deciders are asked
    again by new DMs and the DMs of the version it replaced say so (without buttons)."""

    def render(approval: Approval, summary: approvals.Summary) -> dict[str, Any]:
        return views.approvals_ask(project.locale, approval, summary)

    done = service.edit_change(
        ctx=ctx,
        change=change,
        project=project,
        data=data,
        render=render,
        expected_version=expected_version,
    )
    done.keys += approval_notices.superseded(ctx, done.superseded)
    if done.change.status == ChangeStatus.PROPOSED:
        # Not in the channel yet: the PMs, who send it for review, are told by DM.
        reply = views.step_reply(project.locale, project, done.change, done.history, titled=True)
        done.keys += _tell(ctx, done, project_service.pm_ids(ctx, project), reply, "edited")
    else:
        done.keys += step(ctx, done)
    return done


def create(ctx: Ctx, project: Project, data: service.ChangeInput) -> service.Change:
    """A new request: the team's goes for review at once, a key user's is told to the PMs."""
    done = service.create_change(ctx=ctx, project=project, data=data)
    if service.is_team(ctx, project):
        return send_for_review(ctx, done.change, project)
    done.keys = announce_proposed(ctx, done)
    return done


# ------------------------------------------------------------------ the approvals' subject


def summaries(ctx: Ctx, asked: list[Approval]) -> dict[int, approvals.Summary]:
    found = service.of_approvals(ctx, asked)
    return {
        ident: approvals.Summary(
            project=project,
            ref=plain(project.locale, "change.named", ref=service.change_ref(change)),
            title=change.title,
            details=views.detail_lines(project.locale, change),
        )
        for ident, (change, project) in found.items()
    }


def answered(ctx: Ctx, answer: approvals.Answered) -> list[str]:
    """An answer in the request's thread; the decision also to the requester and the PMs by DM
    (in the thread already when there is no channel)."""
    keys: list[str] = []
    for done in service.record_answer(ctx, answer):
        keys += step(ctx, done)
        if done.history.action in ("approved", "rejected") and done.project.channel_id:
            change, project = done.change, done.project
            reply = views.step_reply(project.locale, project, change, done.history, titled=True)
            people = [change.requested_by, *project_service.pm_ids(ctx, project)]
            keys += _tell(ctx, done, people, reply, "outcome")
    return keys


SUBJECT = approvals.register(
    approvals.Subject(
        kind=service.KIND,
        current=service.current_version,
        summaries=summaries,
        answered=answered,
    )
)
