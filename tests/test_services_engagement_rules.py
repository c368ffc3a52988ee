"""Engagement in detail: what a contact row holds, which interactions count as touchpoints, the
moment debt starts, who may be logged (this project's active key users only), the contact kinds
people type, and the weekly nudge's order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import MovableClock
from bot.errors import Msg, PermissionDenied, ValidationError
from bot.services import engagement, keyusers, projects
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput, Quadrant
from bot.services.projects import ProjectInput
from storage.models import Interaction, KeyUser, Project
from tests.conftest import KEY_USERS, OUTSIDER, PM

ANNA, BEN, CARL = KEY_USERS[0], KEY_USERS[1], KEY_USERS[2]


def project_with(ctx: Ctx, code: str = "ERP") -> Project:
    return projects.create_project(
        ctx=ctx, data=ProjectInput(name=code, code=code, pm_ids=[PM], timezone="Europe/Berlin")
    )


def add(ctx: Ctx, project: Project, user_id: str, **values: str) -> KeyUser:
    return keyusers.add_key_user(
        ctx=ctx, project=project, data=KeyUserInput(user_id=user_id, **values)
    )


def touchpoints(ctx: Ctx) -> list[Interaction]:
    return list(
        ctx.session.exec(
            ctx.select(Interaction).where(Interaction.touchpoint == True)  # noqa: E712
        ).all()
    )


def test_a_contact_holds_the_register_fields_its_quadrant_and_cadence(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = project_with(ctx)
    registered = ctx.now()
    anna = keyusers.add_key_user(
        ctx=ctx,
        project=project,
        data=KeyUserInput(
            user_id=ANNA,
            role="decision_maker",
            influence="high",
            interest="low",
            display_name="Anna A.",
        ),
    )
    ben = add(ctx, project, BEN, influence="low", interest="high")
    clock.advance(timedelta(days=2))
    ctx.log("contact.call", project_id=project.id, key_user_id=ben.id, touchpoint=True)
    clock.advance(timedelta(days=1))
    [first, second] = engagement.last_contacts(ctx, project.id or 0, ctx.now())
    assert first == engagement.Contact(
        project_id=project.id or 0,
        key_user_id=anna.id or 0,
        user_id=ANNA,
        display_name="Anna A.",
        role="decision_maker",
        quadrant=Quadrant.KEEP_SATISFIED,
        cadence_days=14,
        last_contact_at=None,  # being registered is no touchpoint
        registered_at=registered,
        in_debt_since=None,
    )
    assert (second.user_id, second.quadrant, second.cadence_days, second.role) == (
        BEN,
        Quadrant.KEEP_INFORMED,
        14,
        "key_user",
    )
    assert second.last_contact_at == registered + timedelta(days=2)
    ben.cadence_days = 1  # the PM's override wins over the quadrant's 14 days
    ctx.session.add(ben)
    ctx.session.flush()
    clock.advance(timedelta(hours=1))
    [_anna, ben_now] = engagement.last_contacts(ctx, project.id or 0, ctx.now())
    assert (ben_now.cadence_days, ben_now.in_debt_since) == (1, registered + timedelta(days=3))


def test_each_key_user_has_their_own_latest_touchpoint(ctx: Ctx, clock: MovableClock) -> None:
    project = project_with(ctx)
    people = [add(ctx, project, user) for user in (ANNA, BEN, CARL)]
    start = ctx.now()
    for days, person in ((1, people[1]), (2, people[0]), (3, people[1])):
        clock.set(start + timedelta(days=days))
        ctx.log("meeting_attended", project_id=project.id, key_user_id=person.id, touchpoint=True)
    ctx.log("keyuser.updated", project_id=project.id, key_user_id=people[2].id)  # no touchpoint
    contacts = engagement.last_contacts(ctx, project.id or 0, ctx.now())
    assert [(c.user_id, c.last_contact_at) for c in contacts] == [
        (CARL, None),  # never contacted: their registration, the oldest, first
        (ANNA, start + timedelta(days=2)),
        (BEN, start + timedelta(days=3)),
    ]


def test_debt_starts_after_the_cadence_not_on_its_last_moment(
    ctx: Ctx, clock: MovableClock
) -> None:
    project = project_with(ctx)
    add(ctx, project, ANNA, influence="high", interest="high")  # every 7 days
    due = ctx.now() + timedelta(days=7)
    assert engagement.engagement_debt(ctx, project.id or 0, due) == []
    [late] = engagement.engagement_debt(ctx, project.id or 0, due + timedelta(seconds=1))
    assert late.in_debt_since == due


def test_removed_key_users_are_neither_listed_nor_logged(ctx: Ctx, clock: MovableClock) -> None:
    project = project_with(ctx)
    add(ctx, project, ANNA)
    ben = add(ctx, project, BEN)
    keyusers.remove_key_user(ctx=ctx, key_user=ben)
    clock.advance(timedelta(days=60))
    assert [c.user_id for c in engagement.last_contacts(ctx, project.id or 0, ctx.now())] == [ANNA]
    assert [c.user_id for c in engagement.engagement_debt(ctx, project.id or 0, ctx.now())] == [
        ANNA
    ]
    with pytest.raises(ValidationError) as caught:
        engagement.log_contact(ctx=ctx, project=project, user_id=BEN, kind="call", note="Hi")
    assert list(caught.value.errors) == ["user_id"]
    assert engagement.log_touchpoints(ctx, project.id or 0, [ANNA, BEN], "meeting.attended") == 1


def test_a_key_user_of_another_project_is_not_logged_in_this_one(ctx: Ctx) -> None:
    project = project_with(ctx)
    other = project_with(ctx, "HR")
    add(ctx, other, BEN)
    anna = add(ctx, project, ANNA)
    add(ctx, project, CARL)  # not among those who received the report
    with pytest.raises(ValidationError) as caught:
        engagement.log_contact(ctx=ctx, project=project, user_id=BEN, kind="call", note="Hi")
    assert caught.value.errors == {"user_id": Msg("engagement.errors.not_key_user", code="ERP")}
    logged = engagement.log_touchpoints(
        ctx, project.id or 0, [ANNA, BEN, OUTSIDER], "report.received", report=4
    )
    assert logged == 1
    [entry] = touchpoints(ctx)
    assert (entry.kind, entry.project_id, entry.key_user_id, entry.actor_id) == (
        "report.received",
        project.id,
        anna.id,
        PM,
    )
    assert entry.detail == {"user_id": ANNA, "report": 4}
    assert engagement.log_touchpoints(ctx, project.id or 0, [], "report.received") == 0


def test_a_contact_log_refusal_says_why_on_each_field(ctx: Ctx) -> None:
    project = project_with(ctx)
    add(ctx, project, ANNA)
    with pytest.raises(ValidationError) as caught:
        engagement.log_contact(ctx=ctx, project=project, user_id=OUTSIDER, kind="fax", note=" ")
    assert caught.value.errors == {
        "user_id": Msg("engagement.errors.not_key_user", code="ERP"),
        "kind": Msg("errors.choice", choices="call, email, face_to_face"),
        "note": Msg("errors.required"),
    }
    longest = "x" * engagement.NOTE_LIMIT
    _key_user, entry = engagement.log_contact(
        ctx=ctx, project=project, user_id=ANNA, kind="email", note=longest
    )
    assert entry.detail == {"user_id": ANNA, "note": longest}
    with pytest.raises(ValidationError) as caught:
        engagement.log_contact(
            ctx=ctx, project=project, user_id=ANNA, kind="email", note=longest + "x"
        )
    assert caught.value.errors == {"note": Msg("errors.too_long", limit=engagement.NOTE_LIMIT)}
    outsider = Ctx(session=ctx.session, team_id=ctx.team_id, actor_id=OUTSIDER, clock=ctx.clock)
    with pytest.raises(PermissionDenied) as refused:
        engagement.log_contact(ctx=outsider, project=project, user_id=ANNA, kind="call", note="x")
    assert refused.value.reason == Msg("engagement.errors.not_team", code="ERP")


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("call", "call"),
        ("email", "email"),
        ("face_to_face", "face_to_face"),
        (" Face-to-Face ", "face_to_face"),
        ("face to face", "face_to_face"),
        ("Phone", "call"),
        ("mail", "email"),
        ("F2F", "face_to_face"),
        ("meeting", "face_to_face"),
        ("fax", None),
        ("", None),
    ],
)
def test_the_contact_kinds_people_type(typed: str, kind: str | None) -> None:
    assert engagement.normalize_kind(typed) == kind


def test_a_pms_nudge_lists_their_projects_in_code_order(ctx: Ctx, clock: MovableClock) -> None:
    """Made ZZZ first, then AAA: the weekly nudge lists AAA first, as the Home tab does."""
    for code in ("ZZZ", "AAA"):
        add(ctx, project_with(ctx, code), ANNA)
    clock.advance(timedelta(days=120))
    [nudge] = engagement.nudges_due(ctx, ctx.now())
    assert [project.code for project, _contacts in nudge.items] == ["AAA", "ZZZ"]
