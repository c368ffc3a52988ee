"""The shared approvals as a service: the rules decide as documented, a new version of a subject
restarts its decision (the earlier answers stay, about their version), answers are only ever
added, and only the asked deciders answer, once each."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.errors import NotFound, ValidationError
from bot.runtime import Runtime
from bot.services import approvals
from bot.services import changes as change_service
from bot.services import projects as project_service
from bot.services.keyusers import KeyUserInput, add_key_user
from storage.models import Approval, ApprovalAnswer, ChangeRequest
from tests.conftest import KEY_USERS, PM, TEAM
from tests.digest_helpers import make_project

SAM, DORA, ANNA = KEY_USERS[0], KEY_USERS[1], KEY_USERS[2]


def decide(rule: str, deciders: list[str], decided: dict[str, str]) -> str | None:
    approval = Approval(
        team_id=TEAM,
        project_id=1,
        subject_kind="change",
        subject_id=1,
        version=1,
        rule=rule,
        asked_by=PM,
        asked_at=None,  # type: ignore[arg-type]
    )
    return approvals.outcome(approval, deciders, decided)


@pytest.mark.parametrize(
    ("rule", "decided", "expected"),
    [
        ("all", {}, None),
        ("all", {"A": "approve"}, None),
        ("all", {"A": "approve", "B": "approve"}, "approved"),
        ("all", {"A": "approve", "B": "reject"}, "rejected"),
        ("all", {"B": "reject"}, "rejected"),
        ("any", {"A": "approve"}, "approved"),
        ("any", {"A": "reject"}, None),
        ("any", {"A": "reject", "B": "reject"}, "rejected"),
        ("any", {"A": "reject", "B": "approve"}, "approved"),
    ],
)
def test_the_rules(rule: str, decided: dict[str, str], expected: str | None) -> None:
    assert decide(rule, ["A", "B"], decided) == expected


def test_a_new_version_restarts_the_decision_and_answers_stay(runtime: Runtime) -> None:
    import bot.jobs.changes as notices

    with runtime.unit(TEAM, PM) as ctx:
        project = make_project(ctx, key_users=[])
        for person in (SAM, DORA):
            add_key_user(
                ctx=ctx, project=project, data=KeyUserInput(user_id=person, role="sponsor")
            )
        data = change_service.ChangeInput(title="T", reason="R", deciders=[SAM, DORA])
        change = notices.create(ctx, project, data).change
        first = approvals.latest(ctx, "change", change.id or 0)
        assert first is not None and first.version == change.version
        change_id, first_id = change.id, first.id
    with runtime.unit(TEAM, SAM) as ctx:
        approval = approvals.get_approval(ctx, first_id)
        approvals.answer(ctx=ctx, approval=approval, answer="approve", comment="ok")
        with pytest.raises(ValidationError):  # a decision is given once
            approvals.answer(ctx=ctx, approval=approval, answer="reject", comment="no")
    with runtime.unit(TEAM, ANNA) as ctx, pytest.raises(NotFound):
        approvals.get_approval(ctx, first_id)  # not asked of Anna
    # A new version (the request changed and goes for review again) is a new approval.
    with runtime.unit(TEAM, PM) as ctx:
        change = ctx.get(ChangeRequest, change_id)
        assert change is not None
        change.version += 1
        project = project_service.get_project(ctx, "ERP")
        second, _ = approvals.ask(
            ctx=ctx,
            subject_kind="change",
            subject_id=change.id or 0,
            version=change.version,
            project=project,
            deciders=[SAM, DORA],
            rule="any",
            render=lambda approval, summary: {"text": summary.title},
        )
        second_id = second.id
    with runtime.unit(TEAM, DORA) as ctx:
        old = approvals.get_approval(ctx, first_id)
        assert old.status == "superseded"
        with pytest.raises(ValidationError):
            approvals.answer(ctx=ctx, approval=old, answer="approve")
        done = approvals.answer(
            ctx=ctx, approval=approvals.get_approval(ctx, second_id), answer="approve"
        )
        assert done.outcome == "approved"
    with runtime.database.session() as session:
        kept = session.exec(select(ApprovalAnswer).order_by(ApprovalAnswer.id)).all()
        assert [(a.user_id, a.answer, a.approval_id, a.version) for a in kept] == [
            (SAM, "approve", first_id, 1 + 1),
            (DORA, "approve", second_id, 1 + 2),
        ]
    with runtime.unit(TEAM, PM) as ctx:
        assert ctx.get(ChangeRequest, change_id).status == "approved"  # type: ignore[union-attr]
        every = approvals.history(ctx, "change", change_id or 0)
        assert [(a.version, answer.user_id) for a, answer in every] == [(2, SAM), (3, DORA)]


def test_nothing_updates_an_answer() -> None:
    """Answers are added, never changed: the service offers no way to edit or remove one."""
    public = [name for name in dir(approvals) if not name.startswith("_")]
    assert not [n for n in public if n.startswith(("update", "edit", "delete", "remove", "set_"))]
