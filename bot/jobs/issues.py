"""What Liaison says about issues, through the outbox, and the scheduled issue jobs.

Services (``bot.services.issues``) decide; this module renders (``bot.views.issues``) and enqueues
what people are told, in the same unit of work as the change, with keys that make every message
unique: ``issue:<id>:message`` for the issue's own message, ``issue:<id>:history:<entry>:<what>``
for each change, ``reminder:<owner>:<day>`` for an owner's daily reminder and
``escalation:<issue>:<kind>:<pm>`` for an escalation. A job that runs twice adds nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, literal
from sqlmodel import col, select

from bot.batches import chunked, write_batch_size
from bot.delivery import (
    ANSWER_LIFETIME,
    NOTICE_LIFETIME,
    RECORD_LIFETIME,
    Outgoing,
    enqueue_many,
    rows_by_key,
)
from bot.jobs.teams import daily_lists, per_team, teams_where
from bot.runtime import Runtime
from bot.services import issue_followup, notifications
from bot.services import issues as service
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.shards import in_shard
from bot.views import issues as views
from storage.models import Issue, IssueStatus, OutboxMessage, Project

# Up to this many escalations of one project in one run are also noted in each issue's thread.
THREAD_NOTES = 20


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
    ctx: Ctx,
    issue: Issue,
    key: str,
    payload: dict[str, Any],
    method: str = "chat.postMessage",
    *,
    lifetime: timedelta = RECORD_LIFETIME,
) -> str:
    """An issue's message; by default a record of the issue, worth sending for days."""
    return ctx.enqueue(
        key, payload, method=method, subject=_subject(issue), expires_at=ctx.now() + lifetime
    )


def announce_created(ctx: Ctx, change: service.Change) -> list[str]:
    """The issue's message in the project channel (or the reporter's DM when there is none)."""
    issue, project = change.issue, change.project
    target = project.channel_id or issue.reporter_id
    payload = views.issue_message(
        project.locale, project, issue, service.verbs_for_status(issue.status)
    )
    keys = [_enqueue(ctx, issue, message_key(issue), {"channel": target, **payload})]
    # A P1/P2 issue of a module whose test acceptance is being signed: its signers are told.
    from bot.jobs import signoffs as signoff_notices

    return keys + signoff_notices.issue_logged(ctx, issue, project)


def confirm_created(ctx: Ctx, issue: Issue, project: Project, permalink: str | None) -> list[str]:
    """The reporter's DM confirmation, linking to the issue's message once it was posted."""
    channel, _ = message_ref(ctx, issue)
    payload = views.created_confirmation(project.locale, project, issue, permalink, channel)
    key = f"issue:{issue.id}:created:dm"
    # The answer to the reporter's submission: stale once they have moved on.
    payload = {"channel": issue.reporter_id, **payload}
    return [_enqueue(ctx, issue, key, payload, lifetime=ANSWER_LIFETIME)]


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
        key = _enqueue(ctx, issue, f"{base}:dm", {"channel": issue.reporter_id, **dm})
        # Not the answer to the reporter's own click: it waits for the grouping step, so that a
        # morning's changes to their issues reach them in one DM, as they chose.
        notice = notifications.Notice(key, issue.reporter_id, project.timezone)
        notifications.hold(ctx.session, team_id=ctx.team_id, notices=[notice], now=ctx.now())
        keys.append(key)
    return keys


def deliver(runtime: Runtime, team_id: str, keys: list[str]) -> None:
    if keys:
        runtime.sender().deliver_due(team_id=team_id, keys=keys)


# ------------------------------------------------------------------------------------ jobs


def _teams_with_issues(runtime: Runtime, *conditions: Any) -> list[str]:
    """The workspaces (of the shard being run) with live issues meeting ``conditions``: one
    statement, so a run costs what is due, not the number of workspaces installed."""
    return teams_where(runtime, Issue.team_id, col(Issue.deleted_at).is_(None), *conditions)


def _teams_overdue(runtime: Runtime) -> list[str]:
    """Workspaces with an overdue issue whose owner has no reminder yet for the local day of the
    issue's project (``reminder:<team>:<owner>:<day>``, the key ``daily_lists`` gives): two
    statements (the projects' timezones, then the workspaces), so that once a day's reminders are
    queued a run costs nothing per workspace."""
    now = runtime.clock.now()
    with runtime.database.session() as session:
        zones = session.exec(
            select(Project.timezone).where(in_shard(Project.team_id)).distinct()
        ).all()
    if not zones:
        return []
    day = case(
        *(
            (Project.timezone == zone, literal(now.astimezone(ZoneInfo(zone)).date().isoformat()))
            for zone in zones
        ),
        else_=literal(""),
    )
    key = literal("reminder:") + Issue.team_id + literal(":") + Issue.owner_id + literal(":") + day
    reminded = (
        select(OutboxMessage.id)
        .where(OutboxMessage.key == key)
        .correlate_except(OutboxMessage)  # the issue and its project are the outer queries'
        .exists()
    )
    unreminded = select(Project.id).where(Project.id == Issue.project_id, ~reminded).exists()
    return _teams_with_issues(
        runtime,
        col(Issue.status).in_(issue_followup.OPEN_STATUSES),
        col(Issue.owner_id).is_not(None),
        col(Issue.due_at) <= now,
        unreminded,
    )


def _teams_breached(runtime: Runtime) -> list[str]:
    return _teams_with_issues(
        runtime,
        col(Issue.status).in_(issue_followup.OPEN_STATUSES),
        issue_followup.unescalated_breach(runtime.clock.now()),
    )


def _teams_resolved(runtime: Runtime) -> list[str]:
    return _teams_with_issues(
        runtime,
        Issue.status == IssueStatus.RESOLVED,
        col(Issue.rating).is_(None),
        col(Issue.resolved_at).is_not(None),
    )


def message_refs(ctx: Ctx, issues: list[Issue]) -> dict[int, tuple[str, str]]:
    """``message_ref`` for many issues: those not yet copied from the outbox in a few queries."""
    refs = {
        issue.id or 0: (issue.channel_id, issue.message_ts)
        for issue in issues
        if issue.channel_id and issue.message_ts
    }
    missing = [message_key(issue) for issue in issues if (issue.id or 0) not in refs]
    for key, row in rows_by_key(ctx.session, missing).items():
        if row.channel and row.ts:
            refs[int(key.split(":")[1])] = (row.channel, row.ts)
    return refs


def remind_overdue_owners(runtime: Runtime) -> dict[str, Any]:
    """Once a day per owner: one DM listing every overdue issue they own (unless snoozed), from
    09:00 in the timezone of the project of their most overdue issue."""
    now = runtime.clock.now()

    def remind(ctx: Ctx) -> list[str]:
        def render(owner_id: str, items: list[Any], day: date) -> dict[str, Any]:
            project = items[0][1]
            return views.reminder_dm(project.locale, owner_id, items, day, project.timezone)

        due = issue_followup.reminders_due(ctx)
        return daily_lists(ctx, now, due, kind="reminder", render=render)

    return {"reminded": per_team(runtime, _teams_overdue(runtime), remind)}


def escalate_breaches(runtime: Runtime) -> dict[str, Any]:
    """Each service-level breach goes once to the project's PMs, noted in the issue's history and
    (unless a project has more than ``THREAD_NOTES`` in the run) its thread. Each PM gets one DM
    per run listing their breaches, worst first.

    Found in a few queries, then recorded in batches (``bot.batches.write_batch_size``: short on
    SQLite, whose one write lock would hold up requests; up to 25,000 on PostgreSQL, whose row
    locks hold up nobody), each committed on its own. The PMs' DMs are queued with the first
    batch: if the job dies between batches, the next run escalates what is left in a new DM.
    """
    escalated = 0
    now = runtime.clock.now()
    for team_id in _teams_breached(runtime):
        with runtime.unit(team_id) as ctx:
            found = issue_followup.breaches(ctx)
            if not found:
                continue
            pms = project_service.pm_ids_by_project(ctx, {b.issue.project_id for b in found})
            per_project = Counter(b.issue.project_id for b in found)
            # A backlog escalated at once is told to the PMs only: thousands of thread replies
            # would hold the project channel for hours at Slack's one message a second.
            threaded = [b.issue for b in found if per_project[b.issue.project_id] <= THREAD_NOTES]
            refs = message_refs(ctx, threaded)
        found.sort(key=issue_followup.Breach.worst_first)
        per_pm: dict[str, list[issue_followup.Breach]] = {}
        for breach in found:
            for pm in pms.get(breach.issue.project_id, []):
                per_pm.setdefault(pm, []).append(breach)
        reply_for: dict[tuple[int | None, str], Callable[[Issue], dict[str, Any]]] = {}
        for number, batch in enumerate(chunked(found, write_batch_size(runtime.database))):
            with runtime.unit(team_id) as ctx:
                issue_followup.record_escalations(ctx, list(batch))
                messages = []
                for breach in batch:
                    issue, project = breach.issue, breach.project
                    if issue.id in refs:
                        channel, ts = refs[issue.id or 0]
                        replies = (project.id, breach.kind)
                        if replies not in reply_for:
                            reply_for[replies] = views.escalation_replies(
                                project.locale, project, breach.kind
                            )
                        reply = reply_for[replies](issue)
                        messages.append(
                            Outgoing(
                                key=f"escalation:{issue.id}:{breach.kind}:thread",
                                payload={"channel": channel, "thread_ts": ts, **reply},
                                subject=_subject(issue),
                                expires_at=now + RECORD_LIFETIME,
                            )
                        )
                urgent: list[notifications.Notice] = []
                if number == 0:
                    for pm, theirs in per_pm.items():
                        worst = theirs[0]  # found is sorted worst first
                        messages.append(
                            Outgoing(
                                key=f"escalations:{team_id}:{pm}:{now.isoformat()}",
                                payload={
                                    "channel": pm,
                                    **views.escalation_dm(worst.project.locale, theirs),
                                },
                                subject=f"escalations:{pm}",
                                expires_at=now + NOTICE_LIFETIME,
                            )
                        )
                        urgent.append(
                            notifications.Notice(
                                messages[-1].key, pm, worst.project.timezone, urgent=True
                            )
                        )
                enqueue_many(ctx.session, team_id=team_id, messages=messages, now=now)
                # Urgent: sent in this run, but in one DM with whatever else the PM gets in it.
                notifications.hold(ctx.session, team_id=team_id, notices=urgent, now=now)
            escalated += len(batch)
    return {"escalated": escalated}


def auto_close_resolved(runtime: Runtime) -> dict[str, Any]:
    """Resolved issues unanswered for the project's delay close themselves, with a note; in
    batches, each committed on its own."""
    closed = 0
    for team_id in _teams_resolved(runtime):
        with runtime.unit(team_id) as ctx:
            due = issue_followup.auto_close_due(ctx)
        for batch in chunked(due, 200):
            with runtime.unit(team_id) as ctx:
                for issue, project in batch:
                    ctx.session.add(issue)
                    change = issue_followup.auto_close(ctx=ctx, issue=issue, project=project)
                    announce_change(ctx, change)
                    closed += 1
    return {"closed": closed}
