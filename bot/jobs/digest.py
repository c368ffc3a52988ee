"""The weekly digest's scheduled work and what it queues (listed in ``bot.jobs.JOB_TABLE``).

``send_digests`` finds every project whose digest of the current week is due and unclaimed, claims
the week it covers (the ISO week that ended) and queues the digest (to the project channel and/or
each PM) and, when the latest poll has two rounds or more, its trend chart, all in one unit of
work per project. Outbox keys are ``digest:<project>:<covered week>:to:<recipient>`` (and
``…:chart:<recipient>``), so neither a rerun nor a second scheduler adds a message.
"""

from __future__ import annotations

import logging
from typing import Any
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from bot.services import digest as service
from bot.services import digest_schedule, issue_levels, notifications
from bot.services import projects as project_service
from bot.services.context import Ctx
from bot.views import digest as views
from bot.views import issues as issue_views
from bot.views import notifications as notification_views
from bot.views import risks as risk_views
from storage.models import Project

log = logging.getLogger(__name__)


def subject(project: Project) -> str:
    return f"digest:{project.id}"


def queue_digest(
    ctx: Ctx, digest: service.Digest, *, key_base: str, target: str, scheduled: bool = True
) -> list[str]:
    """The digest's messages (and trend chart) to everyone the target names, in the outbox, each
    worth sending until the end of the week it is sent in: the project channel gets the copy
    without the key users' names (they read it too), without the coming training sessions and
    with only the risks that may be shown there; the PMs also get the risk heat grid. A scheduled
    digest's DM copies wait for each PM's grouping step (with what else they get in the run, as
    they chose); one sent by a PM's command goes at once."""
    project = digest.project
    expires_at = digest_schedule.end_of_week(project, ctx.now())
    for_pms = views.digest_message(digest)
    for_channel = views.digest_message(service.for_channel(ctx, digest), in_channel=True)
    polls = digest.sections.get("polls")
    chart: bytes | None = None
    if polls is not None and len(polls.rounds) >= 2:
        from bot import charts  # matplotlib loads only when a chart is drawn

        chart = charts.trend_chart(polls.title, polls.rounds, project.locale)
    risks = digest.sections.get("project_risks")
    grid: bytes | None = None
    if risks is not None:
        from bot import risk_charts  # matplotlib loads only when a grid is drawn

        grid = risk_charts.heat_grid(project.code, risks.thresholds, risks.grid, project.locale)
    keys: list[str] = []
    held: list[notifications.Notice] = []
    for recipient in digest_schedule.recipients(ctx, project, target):
        start = len(keys)
        copy = for_channel if recipient == project.channel_id else for_pms
        keys.append(
            ctx.enqueue(
                f"{key_base}:to:{recipient}",
                {"channel": recipient, **copy},
                subject=subject(project),
                expires_at=expires_at,
            )
        )
        if chart is not None:
            payload = views.chart_payload(
                project.locale, project, polls.title, chart, recipient, digest.week
            )
            keys.append(
                ctx.enqueue(
                    f"{key_base}:chart:{recipient}",
                    payload,
                    method="files.upload_v2",
                    subject=subject(project),
                    expires_at=expires_at,
                )
            )
        if grid is not None and recipient != project.channel_id:  # the PMs' copy only
            keys.append(
                ctx.enqueue(
                    f"{key_base}:risks:{recipient}",
                    risk_views.grid_payload(project.locale, project, grid, recipient, digest.week),
                    method="files.upload_v2",
                    subject=subject(project),
                    expires_at=expires_at,
                )
            )
        if (
            scheduled and recipient != project.channel_id
        ):  # a person's copy: with what else they get
            held += [notifications.Notice(k, recipient, project.timezone) for k in keys[start:]]
    notifications.hold(ctx.session, team_id=ctx.team_id, notices=held, now=ctx.now())
    return keys


def send_digests(runtime: Runtime) -> dict[str, Any]:
    """Every project's digest at its weekday and time, once per ISO week of its timezone."""
    now = runtime.clock.now()
    with runtime.database.session() as session:
        due = digest_schedule.due_digests(session, now)
    sent = late = failed = 0
    for item in due:
        try:
            if not _send_scheduled(runtime, item):
                continue
        except Exception:  # one project's failure must not hold back the others' digests
            log.exception("the digest of project %s failed", item.project.id)
            failed += 1
            continue
        sent += 1
        late += int(item.late)
    return {"digests": sent, "late_digests": late, "digests_failed": failed}


def _send_scheduled(runtime: Runtime, item: digest_schedule.DueDigest) -> bool:
    """Claim the week and queue its digest in one unit of work; False if it was claimed already
    (by another scheduler process, or ``/digest send``)."""
    with runtime.unit(item.project.team_id) as ctx:
        project = ctx.get(Project, item.project.id)
        if project is None:
            return False
        run = digest_schedule.claim_week(
            ctx, project, week=item.week, due_at=item.due_at, late=item.late, trigger="schedule"
        )
        if run is None:
            return False
        digest = service.build_digest(
            ctx, project, now=ctx.now(), late=item.late, due_at=item.due_at
        )
        target = digest_schedule.settings_of(ctx, project).target
        queue_digest(ctx, digest, key_base=f"digest:{project.id}:{item.week}", target=target)
        ctx.log("digest.sent", project_id=project.id, week=item.week, late=item.late)
    return True


def send_now(ctx: Ctx, project: Project) -> tuple[list[str], bool]:
    """``/digest send``: the digest now. It is this week's digest if that had not gone out yet
    (the scheduled one then stays quiet); otherwise an extra one. Returns keys and which."""
    project_service.require_pm(ctx, project)
    now = ctx.now()
    week = digest_schedule.covered_week_label(project, now)
    due = digest_schedule.due_in_week(project, now)
    run = digest_schedule.claim_week(
        ctx, project, week=week, due_at=due, late=False, trigger="command"
    )
    if run is not None:
        key_base = f"digest:{project.id}:{week}"
    else:
        key_base = f"digest:{project.id}:{week}:extra:{now.isoformat()}"
    digest = service.build_digest(ctx, project, now=now)
    target = digest_schedule.settings_of(ctx, project).target
    keys = queue_digest(ctx, digest, key_base=key_base, target=target, scheduled=False)
    ctx.log(
        "digest.sent", project_id=project.id, week=week, by_command=True, counted=run is not None
    )
    return keys, run is not None


def remind_owners(ctx: Ctx, project: Project) -> list[str]:
    """The digest's "remind owners" button: one DM per owner listing their overdue issues of the
    project, at most once per owner and day (a second click sends nothing)."""
    project_service.require_pm(ctx, project)
    day = ctx.now().astimezone(ZoneInfo(project.timezone)).date()
    keys = []
    held: list[notifications.Notice] = []
    for owner_id, items in service.overdue_by_owner(ctx, project).items():
        payload = issue_views.reminder_dm(
            project.locale, owner_id, [(issue, project) for issue in items], day, project.timezone
        )
        keys.append(
            ctx.enqueue(
                f"digest-remind:{project.id}:{owner_id}:{day.isoformat()}",
                {"channel": owner_id, **payload},
                subject=f"reminder:{owner_id}",
                expires_at=issue_levels.end_of_local_day(project, day),  # the day's list
            )
        )
        held.append(notifications.Notice(keys[-1], owner_id, project.timezone))
    # The owners get it now, with what else is due for them, unless they chose otherwise (their
    # morning summary, a quiet day): it is not the PM's answer.
    notifications.hold(ctx.session, team_id=ctx.team_id, notices=held, now=ctx.now())
    keys += notifications.group_due(
        ctx.session,
        team_id=ctx.team_id,
        now=ctx.now(),
        render=lambda parts: notification_views.grouped_dm(project.locale, parts),
        people=[notice.person for notice in held],
    )
    ctx.log("digest.owners_reminded", project_id=project.id, owners=len(keys))
    return keys
