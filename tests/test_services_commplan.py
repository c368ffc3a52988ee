"""The communication plan and engagement, at the service level (no Slack)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from bot.errors import PermissionDenied, ValidationError
from bot.services import commplan, engagement, keyusers, projects, recurrence
from bot.services.commplan import PlanEntryInput
from bot.services.context import Ctx
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from storage.models import Interaction, OccurrenceStatus, PlanOccurrence
from tests.conftest import KEY_USERS, OUTSIDER, PM

BERLIN = ZoneInfo("Europe/Berlin")


def make_project(ctx: Ctx) -> object:
    return projects.create_project(
        ctx=ctx,
        data=ProjectInput(name="Rollout", code="ERP", pm_ids=[PM], timezone="Europe/Berlin"),
    )


def add(ctx: Ctx, project: object, user_id: str, **values: str) -> object:
    return keyusers.add_key_user(
        ctx=ctx, project=project, data=KeyUserInput(user_id=user_id, **values)
    )


def test_weekly_cadence_keeps_local_time_across_daylight_saving() -> None:
    first = datetime(2027, 3, 15, 9, 0, tzinfo=BERLIN)  # a Monday before summer time
    moments = []
    moment = first.astimezone(UTC)
    for _ in range(3):
        moment = recurrence.next_after("FREQ=WEEKLY", first, "Europe/Berlin", moment)
        moments.append(moment)
    assert [m.astimezone(BERLIN).strftime("%a %H:%M") for m in moments] == ["Mon 09:00"] * 3
    assert [m.hour for m in moments] == [8, 7, 7]  # UTC moves by an hour on 28 March
    assert recurrence.monthly_same_weekday(first.date()) == "FREQ=MONTHLY;BYDAY=+3MO"


def test_series_must_end_within_a_hundred_occurrences() -> None:
    first = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    assert (
        len(recurrence.check_rule("FREQ=WEEKLY;COUNT=5", first, "UTC", field="r", bounded=True))
        == 5
    )
    for rule, key in (
        ("FREQ=WEEKLY", "meeting.errors.series_endless"),
        ("FREQ=DAILY;COUNT=101", "meeting.errors.series_too_long"),
        ("FREQ=SOMETIMES", "meeting.errors.bad_rule"),
        ("every monday", "meeting.errors.bad_rule"),
    ):
        with pytest.raises(ValidationError) as caught:
            recurrence.check_rule(rule, first, "UTC", field="r", bounded=True)
        assert caught.value.errors["r"].key == key


def test_plan_entry_rejects_bad_input_and_stores_nothing(ctx: Ctx) -> None:
    project = make_project(ctx)
    with pytest.raises(ValidationError) as caught:
        commplan.add_entry(
            ctx=ctx,
            project=project,
            data=PlanEntryInput(
                audience_kind="person",
                person=OUTSIDER,
                cadence="custom",
                custom_rule="FREQ=NEVER",
                owner_id=OUTSIDER,
                first_date="2026-11-01",
            ),
        )
    assert {"person", "owner_id", "first_date", "custom_rule"} <= set(caught.value.errors)
    assert commplan.active_entries(ctx, project) == []


def test_only_the_project_team_plans(ctx: Ctx) -> None:
    project = make_project(ctx)
    ctx.actor_id = OUTSIDER
    with pytest.raises(PermissionDenied):
        commplan.add_entry(ctx=ctx, project=project, data=PlanEntryInput(role="key_user"))


def test_ready_made_plan_follows_the_guidance_once(ctx: Ctx) -> None:
    project = make_project(ctx)
    entries = commplan.apply_template(ctx=ctx, project=project, locale="en")
    summary = {(e.audience_value, e.kind, commplan.cadence_of(e.rrule), e.channel) for e in entries}
    assert summary == {
        ("decision_maker", "progress_report", "biweekly", "dm"),
        ("sponsor", "steering_review", "monthly", "meeting"),
        ("business_representative", "working_meeting", "weekly", "meeting"),
        ("business_representative", "workshop", "monthly", "meeting"),
        ("key_user", "progress_report", "weekly", "project_channel"),
    }
    assert all(e.owner_id == PM for e in entries)
    with pytest.raises(ValidationError):
        commplan.apply_template(ctx=ctx, project=project, locale="en")


def test_due_entry_is_told_once_then_moves_to_its_next_time(ctx: Ctx, clock) -> None:  # type: ignore[no-untyped-def]
    project = make_project(ctx)
    add(ctx, project, KEY_USERS[0], role="decision_maker")
    add(ctx, project, KEY_USERS[1], role="decision_maker")
    add(ctx, project, KEY_USERS[2], role="key_user")
    entry = commplan.add_entry(
        ctx=ctx,
        project=project,
        data=PlanEntryInput(
            role="decision_maker", cadence="biweekly", owner_id=PM, first_date="2026-12-02"
        ),
    )
    first_due = entry.next_due_at
    assert first_due is not None
    assert commplan.fall_due(ctx) == {}  # not yet: due tomorrow at 09:00 Berlin
    clock.set(first_due + timedelta(minutes=1))
    due = commplan.fall_due(ctx)
    [item] = due[PM]
    assert sorted(k.user_id for k in item.recipients) == KEY_USERS[:2]
    assert commplan.fall_due(ctx) == {}  # a rerun finds nothing new
    assert entry.next_due_at == first_due + timedelta(days=14)
    commplan.snooze(ctx=ctx, occurrence_id=item.occurrence.id)
    clock.advance(timedelta(days=commplan.SNOOZE_DAYS, minutes=1))
    [again] = commplan.fall_due(ctx)[PM]
    assert again.occurrence.id == item.occurrence.id and again.occurrence.times_told == 2
    with pytest.raises(ValidationError):
        commplan.mark_done(ctx=ctx, occurrence_id=item.occurrence.id, note="  ")
    commplan.mark_done(ctx=ctx, occurrence_id=item.occurrence.id, note="Sent the deck by mail")
    row = ctx.get(PlanOccurrence, item.occurrence.id)
    assert (row.status, row.note, row.done_by) == (
        OccurrenceStatus.DONE,
        "Sent the deck by mail",
        PM,
    )
    ctx.actor_id = OUTSIDER
    with pytest.raises(PermissionDenied):
        commplan.snooze(ctx=ctx, occurrence_id=item.occurrence.id)


def test_report_figures_come_from_live_data_and_sending_is_a_touchpoint(ctx: Ctx, clock) -> None:  # type: ignore[no-untyped-def]
    from bot.services import issues
    from bot.services.issues import IssueInput

    project = make_project(ctx)
    dm = add(ctx, project, KEY_USERS[0], role="decision_maker")
    issues.create_issue(ctx=ctx, project=project, data=IssueInput(title="Posting fails"))
    issues.create_issue(
        ctx=ctx, project=project, data=IssueInput(title="Old one", due_date="2026-12-02")
    )
    clock.advance(timedelta(days=3))
    entry = commplan.add_entry(
        ctx=ctx, project=project, data=PlanEntryInput(role="decision_maker", owner_id=PM)
    )
    clock.set(entry.next_due_at + timedelta(minutes=5))
    [item] = commplan.fall_due(ctx)[PM]
    figures = commplan.report_figures(ctx, project, commplan.report_since(ctx, item))
    assert (figures.opened, figures.resolved, figures.open_now, figures.overdue) == (2, 0, 2, 1)
    assert figures.top_overdue == [("ERP-2", "Old one")]
    commplan.record_report_sent(ctx=ctx, item=item, text="Status: two open issues.")
    received = ctx.session.exec(
        ctx.select(Interaction).where(Interaction.kind == "report.received")
    ).all()
    assert [(r.key_user_id, r.touchpoint) for r in received] == [(dm.id, True)]
    assert ctx.get(PlanOccurrence, item.occurrence.id).outcome == "report_sent"


def test_engagement_debt_is_one_aggregate_query_with_since(ctx: Ctx, clock) -> None:  # type: ignore[no-untyped-def]
    project = make_project(ctx)
    for user_id in KEY_USERS:
        add(ctx, project, user_id, influence="high", interest="high")  # every 7 days
    registered = ctx.now()
    clock.advance(timedelta(days=3))
    engagement.log_contact(
        ctx=ctx, project=project, user_id=KEY_USERS[0], kind="phone", note="Talked cut-over"
    )
    clock.advance(timedelta(days=6))
    ctx.session.flush()
    statements: list[str] = []
    engine = ctx.session.get_bind()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        debt = engagement.engagement_debt(ctx, project.id, ctx.now())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1  # key users joined with the latest touchpoint of each
    assert [d.user_id for d in debt] == KEY_USERS[1:]
    assert debt[0].in_debt_since == registered + timedelta(days=7)
    [contact] = [c for c in engagement.last_contacts(ctx, project.id, ctx.now()) if not c.in_debt]
    assert contact.last_contact_at == registered + timedelta(days=3)


def test_contact_log_needs_the_team_a_key_user_and_a_note(ctx: Ctx) -> None:
    project = make_project(ctx)
    add(ctx, project, KEY_USERS[0])
    with pytest.raises(ValidationError) as caught:
        engagement.log_contact(ctx=ctx, project=project, user_id=OUTSIDER, kind="fax", note="")
    assert set(caught.value.errors) == {"user_id", "kind", "note"}
    _, entry = engagement.log_contact(
        ctx=ctx, project=project, user_id=KEY_USERS[0], kind="f2f", note="Coffee <!channel>"
    )
    assert (entry.kind, entry.touchpoint, entry.detail["note"]) == (
        "contact.face_to_face",
        True,
        "Coffee <!channel>",
    )
    ctx.actor_id = OUTSIDER
    with pytest.raises(PermissionDenied):
        engagement.log_contact(
            ctx=ctx, project=project, user_id=KEY_USERS[0], kind="call", note="x"
        )


def test_nudges_group_debt_per_pm(ctx: Ctx, clock) -> None:  # type: ignore[no-untyped-def]
    project = make_project(ctx)
    add(ctx, project, KEY_USERS[0])
    add(ctx, project, KEY_USERS[1], influence="high", interest="high")
    clock.advance(timedelta(days=8))
    [nudge] = engagement.nudges_due(ctx, ctx.now())
    assert nudge.pm_id == PM
    assert [c.user_id for _, contacts in nudge.items for c in contacts] == [KEY_USERS[1]]
