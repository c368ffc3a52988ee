"""The job table: named, idempotent jobs that the scheduler runs on an interval.

A job is a thin wrapper over services: ``job(runtime) -> summary``. Each computes what is due at
``runtime.clock.now()`` and records what it did, so running it twice at the same instant does
nothing new. ``liaison jobs run-due --now T`` runs every job once at T.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.jobs import approvals as approval_jobs
from bot.jobs import calendar as calendar_jobs
from bot.jobs import digest as digest_jobs
from bot.jobs import issues as issue_jobs
from bot.jobs import meetings as meeting_jobs
from bot.jobs import notifications as notification_jobs
from bot.jobs import polls as poll_jobs
from bot.jobs import risks as risk_jobs
from bot.jobs import trainings as training_jobs
from bot.logs import tagged
from bot.runtime import Runtime
from bot.shards import running

JobFunction = Callable[[Runtime], dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    function: JobFunction
    every: timedelta


def deliver_outbox(runtime: Runtime) -> dict[str, Any]:
    outcome = runtime.sender().deliver_due()
    return {
        "sent": outcome.sent,
        "failed": outcome.failed,
        "retried": outcome.retried,
        "expired": outcome.expired,
    }


# Order matters within one run-due: jobs that enqueue messages come before delivery, which is last.
JOB_TABLE: list[JobSpec] = [
    JobSpec("issue_auto_close", issue_jobs.auto_close_resolved, timedelta(minutes=30)),
    JobSpec("issue_escalations", issue_jobs.escalate_breaches, timedelta(minutes=5)),
    JobSpec("issue_reminders", issue_jobs.remind_overdue_owners, timedelta(minutes=15)),
    JobSpec("poll_open", poll_jobs.open_polls, poll_jobs.EVERY_MINUTE),
    JobSpec("poll_remind", poll_jobs.remind_polls, poll_jobs.EVERY_MINUTE),
    JobSpec("poll_close", poll_jobs.close_polls, poll_jobs.EVERY_MINUTE),
    JobSpec("poll_rounds", poll_jobs.poll_rounds, timedelta(minutes=5)),
    JobSpec("meeting_invitations", meeting_jobs.meeting_invitations, timedelta(minutes=15)),
    JobSpec("calendar_reminders", calendar_jobs.send_reminders, timedelta(minutes=1)),
    JobSpec("quiz_remind", training_jobs.remind_quizzes, training_jobs.EVERY_MINUTE),
    JobSpec("quiz_close", training_jobs.close_quizzes, training_jobs.EVERY_MINUTE),
    JobSpec("quiz_repeat", training_jobs.repeat_quizzes, timedelta(minutes=5)),
    JobSpec("training_feedback", training_jobs.feedback_polls, training_jobs.EVERY_MINUTE),
    JobSpec("meeting_outcomes", meeting_jobs.meeting_outcomes, timedelta(minutes=15)),
    JobSpec("plan_due", meeting_jobs.plan_due, timedelta(minutes=5)),
    JobSpec("engagement_nudges", meeting_jobs.engagement_nudges, timedelta(minutes=30)),
    JobSpec("digests", digest_jobs.send_digests, timedelta(minutes=5)),
    JobSpec("risk_reviews", risk_jobs.remind_reviews, timedelta(minutes=15)),
    JobSpec("approval_reminders", approval_jobs.remind_deciders, timedelta(minutes=15)),
    # Whatever the jobs above held for a person goes out in one DM (after them, before delivery).
    JobSpec("notices", notification_jobs.send_grouped, notification_jobs.EVERY),
    # Every second: a reminder queued ahead is sent at its moment, not up to a run later (a run
    # that is still sending takes newly due rows itself, and the next is skipped meanwhile).
    JobSpec("deliver_outbox", deliver_outbox, timedelta(seconds=1)),
]


def job_named(name: str) -> JobSpec:
    for spec in JOB_TABLE:
        if spec.name == name:
            return spec
    raise KeyError(name)


def run_job(runtime: Runtime, spec: JobSpec) -> dict[str, Any]:
    """Run one job for the runtime's shard of workspaces (every workspace when it has none)."""
    with running(runtime.shard), tagged(job=spec.name):  # every log line carries the job's id
        return spec.function(runtime)


def run_due(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Run every job once at the runtime clock's instant; returns each job's summary."""
    return {spec.name: run_job(runtime, spec) for spec in JOB_TABLE}
