"""What Liaison says about issues, through the outbox, and the scheduled issue jobs.

Services (``bot.services.issues``) decide; this module renders (``bot.views.issues``) and enqueues
what people are told, in the same unit of work as the change, with keys that make every message
unique: ``issue:<id>:message`` for the issue's own message, ``issue:<id>:history:<entry>:<what>``
for each change, ``reminder:<owner>:<day>`` for an owner's daily reminder and
``escalation:<issue>:<kind>:<pm>`` for an escalation. A job that runs twice adds nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.delivery import enqueue
from bot.runtime import Runtime
from bot.services import issues as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import issues as views
from storage.models import Issue, OutboxMessage, Project, Workspace

REMINDER_HOUR = 9  # owners are reminded from 09:00 in the workspace's timezone


def message_key(issue: Issue) -> str:
    return f"issue:{issue.id}:message"


def _subject(issue: Issue) -> str:
    return f"issue:{issue.id}"


def message_ref(ctx: Ctx, issue: Issue) -> tuple[str | None, str | None]:
    """Channel and ts of the issue's own message, copied from its outbox row once it was sent."""
    if issue.message_ts:
        return issue.channel_id, issue.message_ts
    row = ctx.session.exec(
        select(OutboxMessage).where(OutboxMessage.key == message_key(issue))
    ).first()
    if row is not None and row.ts:
        issue.channel_id, issue.message_ts = row.channel, row.ts
        ctx.session.add(issue)
        return row.channel, row.ts
    return None, None


def _enqueue(
    ctx: Ctx, issue: Issue, key: str, payload: dict[str, Any], method: str = "chat.postMessage"
) -> str:
    enqueue(
        ctx.session,
        team_id=ctx.team_id,
        key=key,
        method=method,
        payload=payload,
        now=ctx.now(),
        subject=_subject(issue),
    )
    return key


def announce_created(ctx: Ctx, change: service.Change) -> list[str]:
    """The issue's message in the project channel (or the reporter's DM when there is none)."""
    issue, project = change.issue, change.project
    target = project.channel_id or issue.reporter_id
    payload = views.issue_message(
        project.locale, project, issue, service.verbs_for_status(issue.status)
    )
    return [_enqueue(ctx, issue, message_key(issue), {"channel": target, **payload})]


def confirm_created(ctx: Ctx, issue: Issue, project: Project, permalink: str | None) -> list[str]:
    """The reporter's DM confirmation, linking to the issue's message once it was posted."""
    channel, _ = message_ref(ctx, issue)
    payload = views.created_confirmation(project.locale, project, issue, permalink, channel)
    key = f"issue:{issue.id}:created:dm"
    return [_enqueue(ctx, issue, key, {"channel": issue.reporter_id, **payload})]


def announce_change(ctx: Ctx, change: service.Change, permalink: str | None = None) -> list[str]:
    """A change: a reply in the issue's thread, the issue message updated, the reporter told."""
    issue, project, entry = change.issue, change.project, change.history
    assert entry is not None
    locale = project.locale
    base = f"issue:{issue.id}:history:{entry.id}"
    keys: list[str] = []
    channel, ts = message_ref(ctx, issue)
    if channel and ts:
        reply = views.thread_reply(locale, project, issue, entry)
        keys.append(
            _enqueue(ctx, issue, f"{base}:thread", {"channel": channel, "thread_ts": ts, **reply})
        )
        verbs = [] if issue.deleted_at else service.verbs_for_status(issue.status)
        card = views.issue_message(locale, project, issue, verbs)
        keys.append(
            _enqueue(
                ctx, issue, f"{base}:update", {"channel": channel, "ts": ts, **card}, "chat.update"
            )
        )
    if change.verb == service.Verb.RESOLVE:
        ask = views.rating_request(locale, project, issue, entry)
        keys.append(_enqueue(ctx, issue, f"{base}:rate", {"channel": issue.reporter_id, **ask}))
    elif change.tell_reporter and (project.channel_id or not channel):
        # Without a project channel the issue's own message is in the reporter's DM, whose
        # thread already told them.
        dm = views.change_dm(locale, project, issue, entry, permalink)
        keys.append(_enqueue(ctx, issue, f"{base}:dm", {"channel": issue.reporter_id, **dm}))
    return keys


def deliver(runtime: Runtime, team_id: str, keys: list[str]) -> None:
    if keys:
        runtime.sender().deliver_due(team_id=team_id, keys=keys)


# ------------------------------------------------------------------------------------ jobs


def _team_ids(runtime: Runtime) -> list[str]:
    with runtime.database.session() as session:
        return [row.team_id for row in session.exec(select(Workspace)).all()]


def remind_overdue_owners(runtime: Runtime) -> dict[str, Any]:
    """Once a day per owner: one DM listing every overdue issue they own (unless snoozed)."""
    zone = ZoneInfo(runtime.settings.timezone)
    local_now = runtime.clock.now().astimezone(zone)
    if local_now.hour < REMINDER_HOUR:
        return {"reminded": 0}
    day = local_now.date()
    reminded = 0
    for team_id in _team_ids(runtime):
        with runtime.unit(team_id) as ctx:
            grouped = service.reminders_due(
                ctx, lambda project: service.local_today(project, ctx.now())
            )
            for owner_id, items in grouped.items():
                key = f"reminder:{team_id}:{owner_id}:{day.isoformat()}"
                if ctx.session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first():
                    continue
                locale = items[0][1].locale
                payload = views.reminder_dm(locale, owner_id, items, day, runtime.settings.timezone)
                enqueue(
                    ctx.session,
                    team_id=team_id,
                    key=key,
                    payload={"channel": owner_id, **payload},
                    now=ctx.now(),
                    subject=f"reminder:{owner_id}",
                )
                reminded += 1
            ctx.session.commit()
    return {"reminded": reminded}


def escalate_breaches(runtime: Runtime) -> dict[str, Any]:
    """Each service-level breach goes once to the project's PMs, noted in the issue's history."""
    escalated = 0
    for team_id in _team_ids(runtime):
        with runtime.unit(team_id) as ctx:
            for breach in service.breaches(ctx):
                entry = service.record_escalation(ctx, breach)
                if entry is None:
                    continue
                issue, project = breach.issue, breach.project
                channel, ts = message_ref(ctx, issue)
                if channel and ts:
                    reply = views.thread_reply(project.locale, project, issue, entry)
                    _enqueue(
                        ctx,
                        issue,
                        f"issue:{issue.id}:history:{entry.id}:thread",
                        {"channel": channel, "thread_ts": ts, **reply},
                    )
                for pm in project_service.pm_ids(ctx, project):
                    payload = views.escalation_dm(project.locale, project, issue, breach.kind, None)
                    _enqueue(
                        ctx,
                        issue,
                        f"escalation:{issue.id}:{breach.kind}:{pm}",
                        {"channel": pm, **payload},
                    )
                escalated += 1
            ctx.session.commit()
    return {"escalated": escalated}


def auto_close_resolved(runtime: Runtime) -> dict[str, Any]:
    """Resolved issues unanswered for the project's delay close themselves, with a note."""
    closed = 0
    for team_id in _team_ids(runtime):
        with runtime.unit(team_id) as ctx:
            for issue, project in service.auto_close_due(ctx):
                change = service.auto_close(ctx=ctx, issue=issue, project=project)
                announce_change(ctx, change)
                closed += 1
            ctx.session.commit()
    return {"closed": closed}


def tomorrow(runtime: Runtime) -> date:
    """The day after today in the workspace's timezone ("remind me tomorrow")."""
    zone = ZoneInfo(runtime.settings.timezone)
    return (runtime.clock.now().astimezone(zone) + timedelta(days=1)).date()
