"""The key user's card through the emulator: `/keyuser show` for the PMs and team (every figure
recomputed here from the rows), the key user's own card without how the team rates and follows
them, refusals in words, the register's menu and the PM Home's picker opening it in a modal,
Previous/Next within Block Kit's limits, forged values, and a statement count that does not grow
with the history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from statistics import mean
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from bot.ids import Action, CardId
from bot.jobs import changes as change_jobs
from bot.runtime import Runtime
from bot.services import changes as change_service
from bot.services import keyuser_card as card_service
from bot.services import projects as project_service
from bot.services import risks as risk_service
from bot.services import training_readiness, trainings
from bot.services.engagement import CONTACT_INTERACTIONS, ISSUE_REPLIES
from bot.services.keyusers import cadence_days
from storage.db import Database
from storage.models import (
    Approval,
    ApprovalDecider,
    CalendarEvent,
    ChangeRequest,
    Interaction,
    Invitation,
    Issue,
    KeyUser,
    Poll,
    PollResponse,
    Project,
    ProjectMember,
    Risk,
    RiskLink,
)
from tests.conftest import KEY_USERS, OUTSIDER, PM, PROJECT_CHANNEL, TEAM
from tests.digest_helpers import add_event, add_issue, add_round
from tests.flows import add_key_user, create_project, last_response, last_response_text, texts

ANNA, BEN = KEY_USERS[:2]
TOM = "UTOM00001"
NOW = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)


def history(runtime: Runtime, scale: int = 1, first: int = 0) -> None:
    """Anna's history in ERP, ``scale`` times over: contacts (and touchpoints that are not),
    meetings and trainings, issues and ratings, named and anonymous poll answers, linked risks."""
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        anna = ctx.session.exec(ctx.select(KeyUser).where(KeyUser.user_id == ANNA)).one()
        for index in range(first, first + scale):
            at = NOW - timedelta(days=20 + index)
            for kind, actor, note in (
                ("contact.email", TOM, f"Mail {index}"),
                # A bot's escalation and the key user's own update are touchpoints, not contacts.
                ("issue.escalate", None, ""),
                ("issue.update", ANNA, ""),
            ):
                ctx.session.add(
                    Interaction(
                        team_id=TEAM,
                        project_id=project.id,
                        key_user_id=anna.id,
                        actor_id=actor,
                        kind=kind,
                        touchpoint=True,
                        detail={"note": note},
                        at=at,
                    )
                )
            add_event(
                ctx,
                project,
                kind="meeting",
                title=f"Steering {index}",
                starts=at,
                attendance={ANNA: "present", BEN: "present"},
            )
            add_event(
                ctx,
                project,
                kind="training",
                title=f"FI basics {index}",
                starts=at,
                attendance={ANNA: "late"},
            )
            add_event(
                ctx,
                project,
                kind="meeting",
                title=f"Missed {index}",
                starts=at,
                attendance={ANNA: "absent"},
            )
            for offset in range(3):
                issue = add_issue(
                    ctx,
                    project,
                    100 * index + offset + 1,
                    created=at,
                    reporter=ANNA,
                    title=f"Issue {index}.{offset}",
                )
                issue.rating = (4, 2, None)[offset]
                ctx.session.add(issue)
            add_issue(ctx, project, 100 * index + 50, created=at, reporter=BEN)
            add_round(
                ctx,
                project,
                series=f"named{index}",
                number=1,
                opens=at,
                answers={ANNA: {"rating": 4, "nps": 9}},
                title=f"Pulse {index}",
            )
            add_round(
                ctx,
                project,
                series=f"secret{index}",
                number=1,
                opens=at,
                anonymous=True,
                answers={ANNA: {"rating": 1, "nps": 0}},
                title=f"Secret {index}",
            )
            risk_service.create_risk(
                ctx=ctx,
                project=project,
                data=risk_service.RiskInput(
                    title=f"Risk {index}",
                    category="data",
                    probability=2,
                    impact=3,
                    key_user_ids=[ANNA],
                ),
            )
        ctx.session.flush()


@pytest.fixture
def erp(slack: SlackDriver, emulator: SlackEmulator, runtime: Runtime, clock: Any) -> SlackDriver:
    clock.set(NOW - timedelta(days=40))
    emulator.add_user(TOM, "tom.consultant", real_name="Tom Consultant")
    create_project(slack)
    add_key_user(slack, ANNA, module="FI", influence="high", interest="high")
    add_key_user(slack, BEN, module="MM")
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        project_service.set_team_members(ctx=ctx, project=project, user_ids=[TOM])
        trainings.adopt_standard_curriculum(ctx=ctx, project=project)
    clock.set(NOW)
    history(runtime)
    emulator.reset_calls()
    return slack


def show(slack: SlackDriver, user: str, words: str) -> dict[str, Any]:
    slack.slash_command(user, "/keyuser", words, channel_id=PROJECT_CHANNEL)
    return last_response(slack)


def turn(slack: SlackDriver, user: str, message: dict[str, Any]) -> dict[str, Any]:
    slack.block_action(
        user, f"{CardId.PAGE}_next", message={**message, "ts": "1.0"}, channel_id=PROJECT_CHANNEL
    )
    return last_response(slack)


def expected(database: Database, runtime: Runtime) -> dict[str, Any]:
    """Anna's figures, from the rows, without the card's code."""
    with database.session() as session:
        project = session.exec(select(Project).where(Project.code == "ERP")).one()
        anna = session.exec(select(KeyUser).where(KeyUser.user_id == ANNA)).one()
        team = {
            m.user_id
            for m in session.exec(
                select(ProjectMember).where(ProjectMember.project_id == project.id)
            ).all()
        }
        touchpoints = session.exec(
            select(Interaction).where(
                Interaction.key_user_id == anna.id,
                Interaction.touchpoint == True,  # noqa: E712
            )
        ).all()
        contacts = [
            i
            for i in touchpoints
            if i.kind in CONTACT_INTERACTIONS
            or (i.kind in ISSUE_REPLIES and i.actor_id in team and i.actor_id != ANNA)
        ]
        attended = session.exec(
            select(CalendarEvent)
            .join(Invitation, Invitation.event_id == CalendarEvent.id)
            .where(
                Invitation.user_id == ANNA,
                Invitation.attendance.in_(["present", "late"]),  # type: ignore[attr-defined]
                CalendarEvent.project_id == project.id,
            )
        ).all()
        issues = session.exec(
            select(Issue).where(Issue.reporter_id == ANNA, Issue.project_id == project.id)
        ).all()
        named = session.exec(
            select(PollResponse)
            .join(Poll, Poll.id == PollResponse.poll_id)
            .where(PollResponse.user_id == ANNA, Poll.anonymous == False)  # noqa: E712
        ).all()
        risks = session.exec(
            select(Risk)
            .join(RiskLink, RiskLink.risk_id == Risk.id)
            .where(RiskLink.key_user_id == anna.id)
        ).all()
        last = max(i.at for i in contacts)
        due = last + timedelta(days=cadence_days(anna))
    with runtime.unit(TEAM, PM) as ctx:
        matrix = training_readiness.readiness_for(ctx, project_service.get_project(ctx, "ERP"))
        [row] = [r for r in matrix.rows if r.key_user.user_id == ANNA]
        modules = [
            (module.name, cell.hours, module.planned_hours)
            for module, cell in zip(matrix.modules, row.cells, strict=True)
            if cell.applicable
        ]
    rated = [i.rating for i in issues if i.rating is not None]
    return {
        "contacts": len(contacts),
        "last": last.date().isoformat(),
        "debt": due.date().isoformat() if NOW > due else None,
        "events": len(attended),
        "issues": len(issues),
        "rated": len(rated),
        "mean": f"{mean(rated):.1f}",
        "polls": len(named),
        "risks": len(risks),
        "modules": modules,
    }


def test_the_team_sees_every_figure_of_the_card_page_by_page(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    erp.slash_command(
        TOM,
        "/keyuser",
        f"touch ERP <@{ANNA}> call Cut-over plan agreed",
        channel_id=PROJECT_CHANNEL,
    )
    figures = expected(database, runtime)
    pages = [show(erp, TOM, f"show ERP <@{ANNA}>")]
    for _ in range(3):
        pages.append(turn(erp, TOM, pages[-1]))
    shown = [texts([page]) for page in pages]
    first, second, third, fourth = shown
    assert f"<@{ANNA}> in ERP" in first and "Page 1 of 4" in first
    assert "*Quadrant:* Manage closely" in first and "contact every 7 days" in first
    assert f"*Last contact:* {figures['last']}" in first
    assert (
        f"in engagement debt since {figures['debt']}" if figures["debt"] else "no engagement debt"
    ) in first
    assert f"*Contacts* ({figures['contacts']})" in first
    assert "call" in first and "Cut-over plan agreed" in first and f"<@{TOM}>" in first
    assert "issue.escalate" not in first and "escalat" not in first.lower()
    assert f"*Meetings and training sessions attended* ({figures['events']})" in second
    assert "Steering 0" in second and "FI basics 0* (late)" in second and "Missed" not in second
    assert f"*Issues reported* ({figures['issues']})" in second
    assert f"{figures['rated']} rated issues, {figures['mean']}/5 on average" in second
    assert f"*Training readiness* ({len(figures['modules'])} modules)" in third
    for name, hours, planned in figures["modules"]:
        assert f"*{name}*" in third and f"attended {hours:g} of {planned:g} h" in third
    assert f"*Answers to named polls* ({figures['polls']})" in third
    assert "Pulse 0" in third and "Would you recommend it?: 9" in third
    assert "Secret" not in "".join(shown)  # an anonymous poll's answers never show
    assert f"*Project risks linked to them* ({figures['risks']})" in fourth
    assert "Risk 0" in fourth and "*Change requests linked to them* (0)" in fourth
    for page in pages:
        assert len(page["blocks"]) <= 50
        assert all(len((b.get("text") or {}).get("text", "")) <= 3000 for b in page["blocks"])
    assert erp.emulator.violations == []


def test_a_key_user_sees_their_own_card_without_the_teams_view_of_them(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    erp.slash_command(ANNA, "/keyuser", "show", channel_id="C0GENERAL")
    own = texts([last_response(erp)])
    assert "Your card in ERP" in own and "*Contacts*" in own
    for hidden in (
        "Quadrant",
        "influence",
        "interest",
        "engagement debt",
        "Last contact",
        "contact every",
    ):
        assert hidden not in own
    assert "Your card in ERP" in texts([show(erp, ANNA, f"show ERP <@{ANNA}>")])
    show(erp, ANNA, f"show ERP <@{BEN}>")
    assert "is for its PMs and team" in last_response_text(erp)
    show(erp, OUTSIDER, f"show ERP <@{ANNA}>")
    assert "is for its PMs and team" in last_response_text(erp)
    show(erp, PM, f"show ERP <@{OUTSIDER}>")
    assert "is not a key user of *ERP*" in last_response_text(erp)
    erp.slash_command(PM, "/keyuser", "help")
    assert "/keyuser show [CODE] [@person]" in last_response_text(erp)


def test_the_register_menu_and_the_home_picker_open_the_card_and_forged_values_are_refused(
    erp: SlackDriver, database: Database, runtime: Runtime
) -> None:
    emulator = erp.emulator
    register = show(erp, PM, "list ERP")
    with runtime.unit(TEAM, PM) as ctx:
        project_id = project_service.get_project(ctx, "ERP").id
    erp.block_action(
        PM,
        CardId.OPEN,
        message={**register, "ts": "1.0"},
        channel_id=PROJECT_CHANNEL,
        selected_option={
            "value": f"{project_id}:{ANNA}",
            "text": {"type": "plain_text", "text": ANNA},
        },
    )
    modal = emulator.top_view(PM)
    assert modal is not None and f"<@{ANNA}> in ERP" in texts([modal])
    erp.click(PM, f"{CardId.PAGE}_next", view=modal)
    modal = emulator.top_view(PM)
    assert "Page 2 of 4" in texts([modal]) and "*Issues reported*" in texts([modal])
    # The PM's Home lists the key users with their last contact: the same menu there.
    erp.open_home(PM)
    home = emulator.home(PM)
    erp.block_action(
        PM,
        CardId.OPEN,
        view=home,
        block_id=f"contacts_{project_id}",
        selected_option={
            "value": f"{project_id}:{BEN}",
            "text": {"type": "plain_text", "text": BEN},
        },
    )
    assert f"<@{BEN}> in ERP" in texts([emulator.top_view(PM)])
    # The register's window from the Home tab: the card goes over it, the register stays below.
    erp.click(PM, Action.HOME_SHOW_REGISTER, view=home, value=str(project_id))
    register_view = emulator.top_view(PM)
    assert register_view is not None and "Card of…" in str(register_view)
    erp.block_action(
        PM,
        CardId.OPEN,
        view=register_view,
        selected_option={
            "value": f"{project_id}:{ANNA}",
            "text": {"type": "plain_text", "text": ANNA},
        },
    )
    stack = emulator.open_views(PM)
    assert f"<@{ANNA}> in ERP" in texts([stack[-1]]) and stack[-2]["id"] == register_view["id"]
    erp.click(PM, f"{CardId.PAGE}_next", view=stack[-1])
    assert "Page 2 of 4" in texts([emulator.top_view(PM)])
    # Forged: someone outside the project, a project id that is not theirs, a value unread.
    erp.block_action(
        OUTSIDER, f"{CardId.PAGE}_next", value=f"{project_id}:{ANNA}:1", channel_id="C0GENERAL"
    )
    answer = texts([emulator.responses[-1]])
    assert "is for its PMs and team" in answer and "Steering" not in answer
    erp.block_action(PM, f"{CardId.PAGE}_next", value=f"999:{ANNA}:1", channel_id="C0GENERAL")
    assert "Steering" not in texts([emulator.responses[-1]])
    erp.block_action(PM, f"{CardId.PAGE}_next", value="<@U1>|x", channel_id="C0GENERAL")
    assert "could not be read" in texts([emulator.responses[-1]])
    assert emulator.violations == []


def _statements_of(runtime: Runtime, work: Callable[[], object]) -> int:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")):
            seen.append(statement)

    event.listen(runtime.database.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        event.remove(runtime.database.engine, "before_cursor_execute", count)
    return len(seen)


def test_the_card_costs_the_same_statements_whatever_the_history(
    erp: SlackDriver, runtime: Runtime
) -> None:
    def build() -> None:
        with runtime.unit(TEAM, TOM) as ctx:
            card_service.card(ctx, project_service.get_project(ctx, "ERP"), ANNA)

    small = _statements_of(runtime, build)
    history(runtime, scale=12, first=1)
    assert _statements_of(runtime, build) == small
    with runtime.unit(TEAM, TOM) as ctx:
        card = card_service.card(ctx, project_service.get_project(ctx, "ERP"), ANNA)
    assert len(card.issues.items) == card_service.SHOWN and card.issues.total == 39
    assert card.changes == []
    assert small <= 15, small


def test_a_chinese_project_shows_the_card_and_the_log_in_chinese(
    erp: SlackDriver, runtime: Runtime
) -> None:
    create_project(erp, code="CN", name="中国推广", channel_id=None, locale="zh-CN")
    add_key_user(erp, BEN, code="CN", influence="high", interest="low")
    erp.slash_command(PM, "/keyuser", f"show CN <@{BEN}>")
    card = last_response(erp)
    shown = texts([card])
    assert (
        f"<@{BEN}> *在 CN*" in shown and "象限：令其满意" in shown and "每 14 天联络一次" in shown
    )
    assert "联络（0）" in shown and "第 1 页，共 4 页" in shown
    for _ in range(3):
        card = turn(erp, PM, card)
    assert "关联的风险（0）" in texts([card]) and "关联的变更请求（0）" in texts([card])
    erp.slash_command(PM, "/project", "decisions CN")
    assert "CN 的决议记录（共 0 条" in last_response_text(erp)
    assert erp.emulator.violations == []


def test_the_card_lists_the_change_requests_that_concern_the_key_user(
    erp: SlackDriver, runtime: Runtime, database: Database
) -> None:
    """Requests Anna asked for, is asked to decide, or that touch her module (FI, written in
    other cases and beside a Chinese module name) are on her card; Ben's MM request is not."""
    made = [
        ("Extra approval step", "MM", ANNA, []),
        ("New aging report", "fi, 资产", PM, []),
        ("Vendor master workflow", "MM", BEN, [ANNA]),
        ("Stock transfer layout", "MM", BEN, []),
        ("Intercompany billing", "资产", PM, []),
    ]
    with runtime.unit(TEAM, PM) as ctx:
        project = project_service.get_project(ctx, "ERP")
        for title, modules, requester, deciders in made:
            change_jobs.create(
                ctx,
                project,
                change_service.ChangeInput(
                    title=title,
                    reason="Asked for in the fit-gap workshop",
                    modules=modules,
                    requested_by=requester,
                    deciders=deciders or [PM],
                ),
            )
    # Expected, from the rows: requested or created by Anna, a decider row of hers, or FI among
    # the modules (any case).
    with database.session() as session:
        asked = set(
            session.exec(
                select(Approval.subject_id)
                .join(ApprovalDecider, ApprovalDecider.approval_id == Approval.id)
                .where(Approval.subject_kind == "change", ApprovalDecider.user_id == ANNA)
            ).all()
        )
        wanted = [
            (change.number, change.title)
            for change in session.exec(select(ChangeRequest)).all()
            if ANNA in (change.requested_by, change.created_by)
            or change.id in asked
            or any(module.lower() == "fi" for module in change.modules)
        ]
    wanted.sort(reverse=True)
    page = show(erp, PM, f"show ERP <@{ANNA}>")
    for _ in range(3):
        page = turn(erp, PM, page)
    shown = texts([page])
    assert f"*Change requests linked to them* ({len(wanted)})" in shown
    for number, title in wanted:
        assert f"*#{number}* {title} · " in shown
    assert "Stock transfer layout" not in shown and "Intercompany billing" not in shown
    assert len(wanted) == 3
