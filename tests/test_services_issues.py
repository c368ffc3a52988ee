"""The issue service: due dates in the project's timezone, service levels per project, the allowed
moves and who may make them, short ids, and the workspace boundary."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest

from bot.clock import MovableClock
from bot.errors import NotFound, PermissionDenied, ValidationError
from bot.runtime import Runtime
from bot.services import issue_levels, issues, keyusers, projects
from bot.services.context import Ctx
from bot.services.issues import IssueInput, Verb
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.settings import Settings
from storage.db import Database
from storage.models import Issue, Project
from tests.conftest import KEY_USERS, OTHER_TEAM, PM, TEAM, postgres_url

ANNA, BEN = KEY_USERS[0], KEY_USERS[1]
TOM = "UTOM00001"


def make_project(ctx: Ctx, timezone: str = "Europe/Berlin", code: str = "ERP") -> Project:
    project = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Rollout", code=code, pm_ids=[PM], timezone=timezone)
    )
    for user in (ANNA, BEN):
        keyusers.add_key_user(ctx=ctx, project=project, data=KeyUserInput(user_id=user))
    projects.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    return project


def as_user(ctx: Ctx, user_id: str) -> Ctx:
    return Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=user_id, clock=ctx.clock)


def log(ctx: Ctx, project: Project, user: str = ANNA, **values: object) -> Issue:
    data = IssueInput(title="Something broke", **values)  # type: ignore[arg-type]
    return issues.create_issue(ctx=as_user(ctx, user), project=project, data=data).issue


def test_resolution_is_due_at_the_end_of_the_local_day(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx, timezone="Asia/Shanghai")
    clock.set(datetime(2026, 12, 1, 17, 30, tzinfo=UTC))  # already 2 December in Shanghai
    issue = log(ctx, project, priority="P1")
    assert issue.due_date == date(2026, 12, 3)  # the local day after the local day it was logged
    assert issue.due_at == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    assert issue.first_response_due_at == datetime(2026, 12, 1, 19, 30, tzinfo=UTC)


def test_service_levels_are_configurable_per_project(ctx: Ctx) -> None:
    project = make_project(ctx)
    other = make_project(ctx, code="CRM")
    issue_levels.set_service_levels(
        ctx=ctx, project=project, first_response_hours={"P3": 4}, resolution_days={"P3": 5}
    )
    levels = issue_levels.service_levels(ctx, project)
    assert (levels.first_response_hours["P3"], levels.resolution_days["P3"]) == (4, 5)
    assert levels.first_response_hours["P1"] == 2  # the default stays for the rest
    assert issue_levels.service_levels(ctx, other).resolution_days["P3"] == 10
    issue = log(ctx, project)
    assert (issue.due_date - date(2026, 12, 1)).days == 5
    with pytest.raises(ValidationError) as error:
        issue_levels.set_service_levels(ctx=ctx, project=project, resolution_days={"P3": 0})
    assert "resolution_days" in error.value.errors
    with pytest.raises(PermissionDenied):
        issue_levels.set_service_levels(ctx=as_user(ctx, TOM), project=project, auto_close_days=3)


def test_only_allowed_moves_are_offered(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    assert issues.verbs_for_status("new") == [
        Verb.ACK,
        Verb.START,
        Verb.ASSIGN,
        Verb.PRIORITY,
        Verb.DUE,
        Verb.UPDATE,
        Verb.RESOLVE,
        Verb.CLOSE,
    ]
    assert issues.verbs_for_status("closed") == [Verb.REOPEN]
    assert issues.allowed_verbs(as_user(ctx, ANNA), project, issue) == [Verb.UPDATE]
    assert Verb.RESOLVE not in issues.allowed_verbs(as_user(ctx, TOM), project, issue)
    assert Verb.DELETE in issues.allowed_verbs(ctx, project, issue)


@pytest.mark.parametrize(
    ("user", "verb", "allowed"),
    [
        (ANNA, Verb.ACK, False),
        (ANNA, Verb.UPDATE, True),
        (BEN, Verb.UPDATE, False),  # another key user's issue
        (TOM, Verb.ACK, True),
        (TOM, Verb.RESOLVE, False),  # team, not owner
        (TOM, Verb.CLOSE, False),
        (PM, Verb.RESOLVE, True),
        (PM, Verb.CLOSE, True),
        (PM, Verb.DELETE, True),
    ],
)
def test_who_may_do_what(ctx: Ctx, user: str, verb: str, allowed: bool) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    actor = as_user(ctx, user)
    kwargs = {"text": "note"}
    if allowed:
        change = issues.apply(ctx=actor, issue=issue, project=project, verb=verb, **kwargs)
        assert change is not None and change.history is not None
    else:
        with pytest.raises(PermissionDenied):
            issues.apply(ctx=actor, issue=issue, project=project, verb=verb, **kwargs)


def test_the_owner_resolves_and_the_reporter_reopens(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    issues.apply(ctx=ctx, issue=issue, project=project, verb=Verb.ASSIGN, owner_id=TOM)
    change = issues.apply(
        ctx=as_user(ctx, TOM), issue=issue, project=project, verb=Verb.RESOLVE, text="fixed"
    )
    assert change is not None and change.tell_reporter and issue.status == "resolved"
    issues.apply(ctx=as_user(ctx, ANNA), issue=issue, project=project, verb=Verb.REOPEN)
    assert issue.status == "reopened" and issue.resolved_at is None
    with pytest.raises(PermissionDenied) as error:
        issues.apply(ctx=ctx, issue=issue, project=project, verb=Verb.REOPEN)
    assert error.value.reason.key == "issues.refused.status"


def test_a_repeated_click_changes_nothing(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    version = issue.version
    first = issues.apply(
        ctx=ctx, issue=issue, project=project, verb=Verb.ACK, expected_version=version
    )
    again = issues.apply(
        ctx=ctx, issue=issue, project=project, verb=Verb.ACK, expected_version=version
    )
    assert first is not None and again is None
    assert [h.action for h in issues.history(ctx, issue)] == ["created", "ack"]
    with pytest.raises(PermissionDenied):  # an outdated message's other button
        issues.apply(
            ctx=ctx, issue=issue, project=project, verb=Verb.START, expected_version=version
        )


def test_rating_is_for_the_reporter_and_resolved_issues(ctx: Ctx) -> None:
    project = make_project(ctx)
    issue = log(ctx, project)
    with pytest.raises(PermissionDenied):
        issues.rate(ctx=as_user(ctx, ANNA), issue=issue, project=project, rating=5)
    issues.apply(ctx=ctx, issue=issue, project=project, verb=Verb.RESOLVE, text="done")
    with pytest.raises(PermissionDenied):
        issues.rate(ctx=ctx, issue=issue, project=project, rating=5)
    with pytest.raises(ValidationError):
        issues.rate(ctx=as_user(ctx, ANNA), issue=issue, project=project, rating=6)
    issues.rate(ctx=as_user(ctx, ANNA), issue=issue, project=project, rating=3, comment="ok")
    assert (issue.rating, issue.rating_comment) == (3, "ok")


def test_bad_input_is_refused_whole(ctx: Ctx) -> None:
    project = make_project(ctx)
    with pytest.raises(ValidationError) as error:
        issues.create_issue(
            ctx=as_user(ctx, ANNA),
            project=project,
            data=IssueInput(title="", kind="rant", priority="P9", due_date="tomorrow"),
        )
    assert set(error.value.errors) == {"title", "kind", "priority", "due_date"}
    with pytest.raises(ValidationError) as error:
        issues.create_issue(
            ctx=as_user(ctx, ANNA), project=project, data=IssueInput(title="x", reporter_id=BEN)
        )
    assert "reporter_id" in error.value.errors  # key users log only for themselves


def test_issues_stay_in_their_workspace(ctx: Ctx, database: Database, clock: MovableClock) -> None:
    project = make_project(ctx)
    log(ctx, project)
    ctx.session.commit()
    runtime = Runtime(settings=Settings(), database=database, clock=clock)
    with runtime.unit(OTHER_TEAM, PM) as other:
        with pytest.raises(NotFound):
            issues.find_issue(other, "ERP-1")
        assert issues.list_issues(other, issues.ListQuery(scope="all")).items == []


def test_concurrent_logging_never_shares_a_short_id(
    database: Database, clock: MovableClock
) -> None:
    if not postgres_url():
        pytest.skip("row locks are a PostgreSQL matter (SQLite serialises writers)")
    runtime = Runtime(settings=Settings(), database=database, clock=clock)
    with runtime.unit(TEAM, PM) as ctx:
        project_id = make_project(ctx).id
    errors: list[Exception] = []

    def worker() -> None:
        try:
            with runtime.unit(TEAM, ANNA) as ctx:
                project = projects.get_project_by_id(ctx, project_id or 0)
                issues.create_issue(ctx=ctx, project=project, data=IssueInput(title="race"))
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with runtime.unit(TEAM, PM) as ctx:
        numbers = sorted(i.number for i in ctx.session.exec(ctx.select(Issue)).all())
    assert numbers == list(range(1, 9))
