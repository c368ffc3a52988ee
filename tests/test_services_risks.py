"""The risk service: levels and grades (computed here again, independently), per-project numbers
and thresholds, who may raise, see, assess and close, the history every change leaves, actions
that become issues once, lists, the reviews falling due, and the workspace boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.clock import MovableClock
from bot.errors import NotFound, PermissionDenied, ValidationError
from bot.runtime import Runtime
from bot.services import keyusers, projects
from bot.services import risks as service
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.services.risks import RiskInput
from bot.settings import Settings
from storage.db import Database
from storage.models import Project, Risk, RiskAssessment, RiskSettings
from tests.conftest import KEY_USERS, OTHER_TEAM, OUTSIDER, PM, TEAM

ANNA, BEN = KEY_USERS[0], KEY_USERS[1]
TOM = "UTOM00001"


def make_project(ctx: Ctx, code: str = "ERP", timezone: str = "Europe/Berlin") -> Project:
    project = projects.create_project(
        ctx=ctx, data=ProjectInput(name="Rollout", code=code, pm_ids=[PM], timezone=timezone)
    )
    for user, module in ((ANNA, "FI"), (BEN, "MM")):
        data = KeyUserInput(user_id=user, module=module)
        keyusers.add_key_user(ctx=ctx, project=project, data=data)
    projects.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
    return project


def as_user(ctx: Ctx, user_id: str) -> Ctx:
    return Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=user_id, clock=ctx.clock)


def raise_one(
    ctx: Ctx,
    project: Project,
    user: str = PM,
    probability: int = 3,
    impact: int = 4,
    **values: object,
) -> service.Change:
    data = RiskInput(
        title="Open items migrate late",
        category="data",
        probability=probability,
        impact=impact,
        **values,  # type: ignore[arg-type]
    )
    return service.create_risk(ctx=as_user(ctx, user), project=project, data=data)


def expected_grade(level: int, low_max: int = 4, medium_max: int = 12) -> str:
    return "low" if level <= low_max else "medium" if level <= medium_max else "high"


@pytest.mark.parametrize("probability", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("impact", [1, 2, 3, 4, 5])
def test_every_cell_of_the_grid_is_graded_as_the_readme_says(probability: int, impact: int) -> None:
    level = service.level_of(probability, impact)
    assert level == probability * impact
    assert service.Thresholds().grade(level) == expected_grade(probability * impact)


def test_the_defaults_are_low_to_4_medium_to_12_high_from_15() -> None:
    grades = service.Thresholds()
    levels = sorted({p * i for p in range(1, 6) for i in range(1, 6)})
    by_grade = {g: [lv for lv in levels if grades.grade(lv) == g] for g in service.GRADES}
    assert by_grade == {
        "low": [1, 2, 3, 4],
        "medium": [5, 6, 8, 9, 10, 12],
        "high": [15, 16, 20, 25],
    }


def test_a_risk_is_numbered_per_project_with_its_first_assessment(ctx: Ctx) -> None:
    erp, crm = make_project(ctx), make_project(ctx, code="CRM")
    first = raise_one(ctx, erp).risk
    second = raise_one(ctx, erp, probability=5, impact=5)
    other = raise_one(ctx, crm).risk
    assert [first.number, second.risk.number, other.number] == [1, 2, 1]
    assert (first.level, first.owner_id, first.status) == (12, PM, "open")
    assert second.became_high and second.grade == "high"
    [assessment] = ctx.session.exec(
        ctx.select(RiskAssessment).where(RiskAssessment.risk_id == first.id)
    ).all()
    assert (assessment.probability, assessment.impact, assessment.level) == (3, 4, 12)
    assert assessment.grade == expected_grade(12)


def test_thresholds_are_the_projects_own(ctx: Ctx) -> None:
    project = make_project(ctx)
    row = projects.settings_row(ctx, RiskSettings, project)
    row.low_max, row.medium_max = 2, 6
    ctx.session.add(row)
    change = raise_one(ctx, project, probability=2, impact=4)
    assert change.grade == expected_grade(8, 2, 6) == "high" and change.became_high
    found = service.list_risks(ctx, project, "high")
    assert [r.number for r in found.items] == [1]


def test_reassessing_keeps_every_assessment_and_says_when_it_becomes_high(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = make_project(ctx)
    risk = raise_one(ctx, project).risk
    steps = [(4, 4, True), (5, 4, False), (2, 2, False), (5, 3, True)]
    for probability, impact, becomes_high in steps:
        clock.advance(hours=1)
        change = service.assess(
            ctx=ctx, risk=risk, project=project, probability=probability, impact=impact
        )
        assert change.became_high is becomes_high, (probability, impact)
        assert change.grade == expected_grade(probability * impact)
    assessments = ctx.session.exec(
        ctx.select(RiskAssessment)
        .where(RiskAssessment.risk_id == risk.id)
        .order_by(RiskAssessment.id)  # type: ignore[arg-type]
    ).all()
    assert [a.level for a in assessments] == [12, 16, 20, 4, 15]
    assert risk.level == 15 and risk.version == 1 + len(steps)
    actions = [h.action for h in service.detail(ctx, risk, project).history]
    assert actions == ["raised"] + ["assessed"] * len(steps)


def test_bad_assessments_change_nothing(ctx: Ctx) -> None:
    project = make_project(ctx)
    risk = raise_one(ctx, project).risk
    for probability, impact in ((0, 3), (6, 1), ("x", 2), (3, None)):
        with pytest.raises(ValidationError):
            service.assess(
                ctx=ctx, risk=risk, project=project, probability=probability, impact=impact
            )
    with pytest.raises(ValidationError):
        service.assess(
            ctx=ctx, risk=risk, project=project, probability=2, impact=2, review_on="2026-11-01"
        )
    with pytest.raises(ValidationError):  # a version the person did not see
        service.assess(
            ctx=ctx, risk=risk, project=project, probability=2, impact=2, expected_version=7
        )
    assert (risk.level, risk.version) == (12, 1)


def test_who_may_raise_see_assess_and_close(ctx: Ctx) -> None:
    project = make_project(ctx)
    with pytest.raises(PermissionDenied):
        raise_one(ctx, project, user=OUTSIDER)
    with pytest.raises(ValidationError) as refused:
        raise_one(ctx, project, user=ANNA, module="MM")  # not her module
    assert "module" in refused.value.errors
    with pytest.raises(ValidationError) as refused:
        raise_one(ctx, project, user=ANNA, owner_id=BEN)  # owners are chosen by the team
    assert "owner_id" in refused.value.errors
    anna = raise_one(ctx, project, user=ANNA).risk
    assert (anna.module, anna.owner_id) == ("FI", None)
    team = raise_one(ctx, project, user=TOM, owner_id=BEN).risk
    # Ben owns the team's risk: he sees and assesses it, but does not close it or see Anna's.
    ben = as_user(ctx, BEN)
    assert service.find_risk(ben, project, "#2") is team
    with pytest.raises(NotFound):
        service.find_risk(ben, project, 1)
    service.assess(ctx=ben, risk=team, project=project, probability=1, impact=1)
    with pytest.raises(PermissionDenied):
        service.close(ctx=ben, risk=team, project=project, reason="done")
    with pytest.raises(PermissionDenied):
        service.assess(ctx=as_user(ctx, ANNA), risk=team, project=project, probability=1, impact=1)
    with pytest.raises(PermissionDenied):
        service.set_owner(ctx=ben, risk=team, project=project, owner_id=ANNA)
    with pytest.raises(PermissionDenied):
        service.export_csv(ben, project)
    # The key users' lists show what concerns them; the team's every risk.
    assert [r.number for r in service.list_risks(ben, project).items] == [2]
    assert [r.number for r in service.list_risks(as_user(ctx, ANNA), project).items] == [1]
    assert service.list_risks(as_user(ctx, TOM), project, "all").total == 2


def test_a_linked_key_user_sees_the_risk(ctx: Ctx) -> None:
    project = make_project(ctx)
    risk = raise_one(ctx, project, key_user_ids=[BEN]).risk
    assert service.find_risk(as_user(ctx, BEN), project, 1) is risk
    with pytest.raises(NotFound):
        service.find_risk(as_user(ctx, ANNA), project, 1)
    with pytest.raises(ValidationError):
        raise_one(ctx, project, key_user_ids=[OUTSIDER])


def test_close_reopen_and_owner_leave_history(ctx: Ctx) -> None:
    project = make_project(ctx)
    risk = raise_one(ctx, project).risk
    with pytest.raises(ValidationError):
        service.close(ctx=ctx, risk=risk, project=project, reason="  ")
    service.close(ctx=ctx, risk=risk, project=project, reason="mitigated")
    with pytest.raises(ValidationError):
        service.close(ctx=ctx, risk=risk, project=project, reason="again")
    with pytest.raises(ValidationError):  # a closed risk is not assessed
        service.assess(ctx=ctx, risk=risk, project=project, probability=1, impact=1)
    service.reopen(ctx=ctx, risk=risk, project=project)
    with pytest.raises(ValidationError):
        service.set_owner(ctx=ctx, risk=risk, project=project, owner_id=OUTSIDER)
    service.set_owner(ctx=ctx, risk=risk, project=project, owner_id=ANNA)
    found = service.detail(ctx, risk, project)
    assert [h.action for h in found.history] == ["raised", "closed", "reopened", "owner"]
    assert found.history[1].detail == {"reason": "mitigated"}
    assert (risk.status, risk.closed_reason, risk.owner_id) == ("open", None, ANNA)


def test_an_action_becomes_an_issue_once_and_only_for_the_team(ctx: Ctx) -> None:
    project = make_project(ctx)
    risk = raise_one(ctx, project, module="FI").risk
    _, action = service.add_action(
        ctx=ctx, risk=risk, project=project, text="Second load rehearsal", owner_id=TOM
    )
    with pytest.raises(NotFound):  # a key user with no part in it: not even found
        service.action_to_issue(ctx=as_user(ctx, ANNA), action_id=action.id)
    with pytest.raises(NotFound):
        service.action_to_issue(ctx=ctx, action_id="abc")
    done, _, change = service.action_to_issue(ctx=ctx, action_id=str(action.id))
    assert (change.issue.title, change.issue.owner_id, change.issue.module) == (
        "Second load rehearsal",
        TOM,
        "FI",
    )
    assert done.issue_id == change.issue.id
    with pytest.raises(ValidationError):
        service.action_to_issue(ctx=ctx, action_id=action.id)
    found = service.detail(ctx, risk, project)
    assert found.issue_refs == {change.issue.id: "ERP-1"}


def test_reviews_due_are_grouped_by_owner_in_the_projects_day(
    ctx: Ctx, clock: MovableClock
) -> None:
    erp = make_project(ctx)
    shanghai = make_project(ctx, code="CN", timezone="Asia/Shanghai")
    raise_one(ctx, erp, owner_id=TOM, review_on="2026-12-02")
    raise_one(ctx, erp, owner_id=TOM, review_on="2026-12-03", probability=5, impact=5)
    raise_one(ctx, shanghai, owner_id=TOM, review_on="2026-12-02")
    raise_one(ctx, erp, owner_id=BEN, review_on="2026-12-01")
    closed = raise_one(ctx, erp, owner_id=BEN, review_on="2026-12-01").risk
    service.close(ctx=ctx, risk=closed, project=erp, reason="gone")
    assert {
        owner: [r.number for r, _ in items] for owner, items in service.reviews_due(ctx).items()
    } == {BEN: [3]}
    clock.set(datetime(2026, 12, 1, 17, 0, tzinfo=UTC))  # 2 December in Shanghai, not in Berlin
    due = service.reviews_due(ctx)
    assert [(p.code, r.number) for r, p in due[TOM]] == [("CN", 1)]
    clock.set(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    due = service.reviews_due(ctx)
    assert [(p.code, r.number) for r, p in due[TOM]] == [("ERP", 1), ("CN", 1), ("ERP", 2)]
    assert date(2026, 12, 3) == service.local_today(erp, clock.now())


def test_the_workspace_boundary_holds(database: Database, clock: MovableClock, ctx: Ctx) -> None:
    project = make_project(ctx)
    risk = raise_one(ctx, project).risk
    ctx.session.commit()
    runtime = Runtime(settings=Settings(), database=database, clock=clock)
    with runtime.unit(OTHER_TEAM, PM) as other:
        with pytest.raises(NotFound):
            service.get_risk(other, risk.id or 0)
    assert isinstance(risk, Risk) and TEAM == risk.team_id
