"""What Liaison says about sign-offs, through the outbox, and the sign-offs' part in the shared
approvals (``SUBJECT``: their summaries in the signers' DMs and reminders, what an answer does,
and what blocks an approval: a module's open P1 or P2 issues).

Keys: ``signoff:<id>:post`` the sign-off in the project's channel, ``signoff:<id>:answer:<answer>``
each answer in that post's thread, ``signoff:<id>:version:<n>`` a new version there,
``signoff:<id>:<what>:<n>:<person>`` a DM (the requester and PMs told of the outcome, or of every
step where the project has no channel). The signers' DMs are the approvals' own
(``approval-ask:<approval>:<person>``).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.delivery import RECORD_LIFETIME
from bot.i18n import plain
from bot.jobs import approvals as approval_notices
from bot.services import approvals
from bot.services import projects as project_service
from bot.services import signoffs as service
from bot.services.context import Ctx
from bot.views import signoffs as views
from storage.models import Approval, Issue, Project, SignOff, SignOffIssue, SignOffStatus


def post_key(signoff: SignOff) -> str:
    return f"signoff:{signoff.id}:post"


def _subject(signoff: SignOff) -> str:
    return f"signoff:{signoff.id}"


def _dm(
    ctx: Ctx, signoff: SignOff, people: list[str], payload: dict[str, Any], what: str
) -> list[str]:
    key = f"signoff:{signoff.id}:{what}"
    return approval_notices.dm(ctx, _subject(signoff), people, payload, key)


def _told(ctx: Ctx, signoff: SignOff, project: Project) -> list[str]:
    return [signoff.created_by, *project_service.pm_ids(ctx, project)]


def _thread(
    ctx: Ctx, signoff: SignOff, project: Project, payload: dict[str, Any], what: str
) -> list[str]:
    """A step in the post's thread; without a channel, by DM to the requester and the PMs."""
    key = f"signoff:{signoff.id}:{what}"
    return approval_notices.in_thread(
        ctx,
        project,
        post_key(signoff),
        _subject(signoff),
        payload,
        key,
        lambda: _told(ctx, signoff, project),
    )


def _render(project: Project) -> service.Render:
    def render(approval: Approval, summary: approvals.Summary) -> dict[str, Any]:
        return views.ask_dm(project.locale, approval, summary)

    return render


def create(ctx: Ctx, project: Project, data: service.SignOffInput) -> service.Done:
    """A new sign-off: the signers asked by DM, the sign-off posted to the project's channel
    (or, without one, told to the requester and PMs)."""
    done = service.create(ctx=ctx, project=project, data=data, render=_render(project))
    signoff = done.signoff
    version = service.versions_of(ctx, [signoff.id or 0]).get((signoff.id or 0, 1))
    post = views.channel_post(project.locale, project, signoff, version)
    if project.channel_id:
        done.keys.append(
            ctx.enqueue(
                post_key(signoff),
                {"channel": project.channel_id, **post},
                subject=_subject(signoff),
                expires_at=ctx.now() + RECORD_LIFETIME,
            )
        )
    else:
        done.keys += _dm(ctx, signoff, _told(ctx, signoff, project), post, "post:1")
    return done


def new_version(ctx: Ctx, signoff: SignOff, project: Project, text: Any, link: Any) -> service.Done:
    """A new version: the signers asked again, told in the thread."""
    done = service.new_version(
        ctx=ctx, signoff=signoff, project=project, text=text, link=link, render=_render(project)
    )
    reply = views.version_reply(project.locale, project, signoff)
    done.keys += _thread(ctx, signoff, project, reply, f"version:{signoff.version}")
    return done


def issue_logged(ctx: Ctx, issue: Issue, project: Project) -> list[str]:
    """A P1 or P2 issue linked to open test acceptances: told in each one's thread, and by DM to
    its signers who have not decided (two statements, whatever the number)."""
    if not service.is_blocking(issue):
        return []
    signoffs = list(
        ctx.session.exec(
            select(SignOff)
            .join(SignOffIssue, col(SignOffIssue.signoff_id) == col(SignOff.id))
            .where(
                SignOff.team_id == ctx.team_id,
                SignOffIssue.issue_id == issue.id,
                SignOff.status == SignOffStatus.OPEN,
            )
            .order_by(col(SignOff.number))
        ).all()
    )
    if not signoffs:
        return []
    waiting: dict[int, list[str]] = {}
    for approval, person in ctx.session.exec(
        approvals.undecided().where(
            Approval.team_id == ctx.team_id,
            Approval.subject_kind == service.KIND,
            col(Approval.subject_id).in_([s.id or 0 for s in signoffs]),
        )
    ).all():
        waiting.setdefault(approval.subject_id, []).append(str(person))
    keys: list[str] = []
    for signoff in signoffs:
        notice = views.blocked_notice(project.locale, project, signoff, issue)
        keys += _thread(ctx, signoff, project, notice, f"blocked:{issue.id}")
        keys += _dm(
            ctx, signoff, waiting.get(signoff.id or 0, []), notice, f"blocked-dm:{issue.id}"
        )
    return keys


# ------------------------------------------------------------------ the approvals' subject


def summaries(ctx: Ctx, asked: list[Approval]) -> dict[int, approvals.Summary]:
    found = service.of_approvals(ctx, asked)
    ids = [signoff.id or 0 for signoff, _ in found.values()]
    versions = service.versions_of(ctx, ids)
    blocking = service.blocking(ctx, ids)
    result = {}
    by_id = {approval.id or 0: approval for approval in asked}
    for ident, (signoff, project) in found.items():
        approval = by_id[ident]
        version = versions.get((signoff.id or 0, approval.version))
        result[ident] = approvals.Summary(
            project=project,
            ref=plain(project.locale, "signoff.named", ref=service.ref(signoff)),
            title=signoff.title,
            details=views.detail_lines(
                project.locale, project, signoff, version, blocking.get(signoff.id or 0, [])
            ),
            answers=service.ANSWERS,
            due=signoff.due_on,
        )
    return result


def answered(ctx: Ctx, answer: approvals.Answered) -> list[str]:
    """An answer in the sign-off's thread; the outcome also to the requester and the PMs by DM
    (in the thread already when there is no channel)."""
    signoff, project = service.record_answer(ctx, answer)
    row = answer.answer
    entry = service.TrailEntry(
        row.version, row.user_id, row.at, "remarks" if row.remarks else row.answer, row.comment
    )
    reply = views.answer_reply(project.locale, project, signoff, entry, answer.outcome)
    keys = _thread(ctx, signoff, project, reply, f"answer:{row.id}")
    if answer.outcome is not None and project.channel_id:
        keys += _dm(ctx, signoff, _told(ctx, signoff, project), reply, f"outcome:{row.id}")
    return keys


SUBJECT = approvals.register(
    approvals.Subject(
        kind=service.KIND,
        current=service.current_version,
        summaries=summaries,
        answered=answered,
        blocked=service.blocked,
        answers=service.ANSWERS,
    )
)
