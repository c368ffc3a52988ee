"""The communication plan in detail: what an entry accepts and the words of each refusal, what it
stores and logs, cadences and the form's choice read back, the ready-made plan's dates and notes,
who receives an entry, falling due (exact moments, a missed backlog, snoozes), who may act on an
occurrence, done notes and the contacts they count, and the progress report's figures, period and
targets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from bot.calendar import service as calendar
from bot.calendar.service import EventInput
from bot.clock import MovableClock
from bot.errors import Msg, NotFound, PermissionDenied, ValidationError
from bot.i18n import plain
from bot.services import commplan, issues, keyusers, poll_closing, projects
from bot.services import polls as poll_service
from bot.services.commplan import PlanEntryInput
from bot.services.context import Ctx
from bot.services.issues import IssueInput
from bot.services.keyusers import KeyUserInput
from bot.services.projects import ProjectInput
from bot.views.polls import MESSAGES as POLL_MESSAGES
from storage.models import Interaction, Issue, OccurrenceStatus, PlanEntry, PlanOccurrence, Project
from tests.conftest import KEY_USERS, OUTSIDER, PM, PM2, PROJECT_CHANNEL, START

BERLIN = ZoneInfo("Europe/Berlin")
MARIA, ANNA, BEN, CARL = KEY_USERS[:4]


def make_project(ctx: Ctx, code: str = "ERP", **values: Any) -> Project:
    return projects.create_project(
        ctx=ctx,
        data=ProjectInput(name=code, code=code, pm_ids=[PM], timezone="Europe/Berlin", **values),
    )


def add(ctx: Ctx, project: Project, user_id: str, **values: Any) -> Any:
    return keyusers.add_key_user(
        ctx=ctx, project=project, data=KeyUserInput(user_id=user_id, **values)
    )


@pytest.fixture
def project(ctx: Ctx) -> Project:
    project = make_project(ctx, team_ids=[PM2])
    add(ctx, project, MARIA, role="decision_maker", influence="high", interest="high")
    add(ctx, project, ANNA, role="decision_maker")
    add(ctx, project, BEN)
    return project


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def entry_input(**values: Any) -> PlanEntryInput:
    data = PlanEntryInput(role="decision_maker", owner_id=PM)
    for name, value in values.items():
        setattr(data, name, value)
    return data


def add_entry(ctx: Ctx, project: Project, **values: Any) -> PlanEntry:
    return commplan.add_entry(ctx=ctx, project=project, data=entry_input(**values))


def refusal(ctx: Ctx, project: Project, **values: Any) -> dict[str, Msg]:
    with pytest.raises(ValidationError) as caught:
        add_entry(ctx, project, **values)
    return caught.value.errors  # type: ignore[return-value]


def logged(ctx: Ctx, kind: str) -> list[Interaction]:
    return list(ctx.session.exec(select(Interaction).where(Interaction.kind == kind)).all())


def as_user(ctx: Ctx, user_id: str) -> Ctx:
    ctx.actor_id = user_id
    ctx._admin = None
    return ctx


def due_now(ctx: Ctx, clock: MovableClock, entry: PlanEntry) -> commplan.DueItem:
    clock.set(entry.next_due_at)  # type: ignore[arg-type]
    [item] = [i for i in commplan.fall_due(ctx)[entry.owner_id] if i.entry.id == entry.id]
    return item


# ----------------------------------------------------------------------------------- entries


def test_each_refusal_names_its_field_in_words(ctx: Ctx, project: Project) -> None:
    other = make_project(ctx, "MES")
    add(ctx, other, CARL)
    keyusers.remove_key_user(ctx=ctx, key_user=keyusers.get_key_user(ctx, project, BEN))
    assert refusal(ctx, project, audience_kind="everyone") == {
        "audience_kind": Msg("errors.choice", choices="role, quadrant, person")
    }
    assert refusal(ctx, project, role="boss") == {"role": Msg("plan.errors.role_needed")}
    assert refusal(ctx, project, audience_kind="quadrant", quadrant="loud") == {
        "quadrant": Msg("plan.errors.quadrant_needed")
    }
    not_key_user = {"person": Msg("plan.errors.person_not_key_user", code="ERP")}
    for person in (OUTSIDER, CARL, BEN, None):  # a stranger, another project's, one who left
        assert refusal(ctx, project, audience_kind="person", person=person) == not_key_user
    assert refusal(ctx, project, kind="chat") == {
        "kind": Msg("errors.choice", choices=", ".join(commplan.PLAN_KINDS))
    }
    assert refusal(ctx, project, channel="fax") == {
        "channel": Msg("errors.choice", choices=", ".join(commplan.PLAN_CHANNELS))
    }
    assert refusal(ctx, project, owner_id=None) == {"owner_id": Msg("errors.required")}
    assert refusal(ctx, project, owner_id=MARIA) == {
        "owner_id": Msg("plan.errors.owner_not_team", code="ERP")
    }
    assert refusal(ctx, project, note="n" * 1001) == {"note": Msg("errors.too_long", limit=1000)}
    assert refusal(ctx, project, cadence="daily") == {
        "cadence": Msg("errors.choice", choices=", ".join(commplan.CADENCES))
    }
    assert refusal(ctx, project, cadence="custom", custom_rule="  ") == {
        "custom_rule": Msg("plan.errors.rule_needed")
    }
    assert refusal(ctx, project, first_date="1.12.2026") == {
        "first_date": Msg("plan.errors.date_format")
    }
    assert refusal(ctx, project, first_time="9 Uhr") == {"first_time": Msg("errors.time_format")}
    assert commplan.active_entries(ctx, project) == []


def test_the_first_day_is_checked_against_the_projects_today(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    clock.set(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))  # 2 December, 00:30 in Berlin
    assert refusal(ctx, project, first_date="2026-12-01") == {
        "first_date": Msg("plan.errors.first_past")
    }
    entry = add_entry(ctx, project, first_date="", first_time="")
    assert entry.first_at == local(2026, 12, 2)


def test_an_entry_stores_the_forms_values_and_logs_them(ctx: Ctx, project: Project) -> None:
    entry = add_entry(
        ctx,
        project,
        audience_kind="person",
        person=ANNA,
        role="sponsor",  # ignored: the audience is a person
        kind="one_to_one",
        cadence="custom",
        custom_rule="  RRULE:FREQ=WEEKLY;BYDAY=TH ",
        first_date=date(2026, 12, 3),
        first_time="14:30:59",
        channel="phone",
        owner_id=PM2,
        note="  Ask about the cut-over  ",
    )
    assert (entry.audience_kind, entry.audience_value, entry.kind, entry.rrule) == (
        "person",
        ANNA,
        "one_to_one",
        "FREQ=WEEKLY;BYDAY=TH",
    )
    assert (entry.channel, entry.owner_id, entry.note) == ("phone", PM2, "Ask about the cut-over")
    assert entry.first_at == entry.next_due_at == local(2026, 12, 3, 14, 30)
    assert (entry.created_by, entry.created_at, entry.updated_at) == (PM, START, START)
    [log] = logged(ctx, "plan.entry_added")
    assert log.project_id == project.id
    assert log.detail == {
        "entry_id": entry.id,
        "audience_kind": "person",
        "audience_value": ANNA,
        "entry_kind": "one_to_one",
        "rrule": "FREQ=WEEKLY;BYDAY=TH",
        "first_at": local(2026, 12, 3, 14, 30).isoformat(),
        "channel": "phone",
        "owner_id": PM2,
        "note": "Ask about the cut-over",
    }
    assert commplan.entry_input(entry, project) == PlanEntryInput(
        audience_kind="person",
        person=ANNA,
        kind="one_to_one",
        cadence="custom",
        custom_rule="FREQ=WEEKLY;BYDAY=TH",
        first_date=date(2026, 12, 3),
        first_time="14:30",
        channel="phone",
        owner_id=PM2,
        note="Ask about the cut-over",
    )
    assert commplan.get_entry(ctx, entry.id or 0) == (entry, project)
    quadrant = add_entry(ctx, project, audience_kind="quadrant", quadrant="monitor", note="")
    assert (quadrant.audience_kind, quadrant.audience_value, quadrant.note) == (
        "quadrant",
        "monitor",
        None,
    )
    assert len(add_entry(ctx, project, note="n" * 1000).note or "") == 1000
    for stored, audience in ((quadrant, {"quadrant": "monitor"}), (entry, {"person": ANNA})):
        form = commplan.entry_input(stored, project)
        assert (form.role, form.quadrant, form.person) == (
            audience.get("role"),
            audience.get("quadrant"),
            audience.get("person"),
        )
    role = add_entry(ctx, project, role="sponsor", note="")
    form = commplan.entry_input(role, project)
    assert (form.audience_kind, form.role, form.quadrant, form.person, form.note) == (
        "role",
        "sponsor",
        None,
        None,
        "",
    )


def test_cadences_and_the_choice_read_back_from_a_rule(ctx: Ctx, project: Project) -> None:
    monday = date(2026, 12, 7)  # the first Monday of December
    assert commplan.cadence_rule("quarterly", "", monday) == "FREQ=MONTHLY;INTERVAL=3;BYDAY=+1MO"
    assert commplan.cadence_rule("custom", "RRULE:FREQ=DAILY", monday) == "FREQ=DAILY"
    assert commplan.cadence_rule("custom", " ", monday) is None
    for cadence in ("weekly", "biweekly", "monthly", "quarterly"):
        rule = commplan.cadence_rule(cadence, "", monday)
        assert commplan.cadence_of(rule or "") == cadence
        assert commplan.cadence_of((rule or "").lower()) == cadence
    for rule in ("FREQ=DAILY;INTERVAL=2", "FREQ=MONTHLY;BYDAY=+1MO;COUNT=3", "FREQ=YEARLY"):
        assert commplan.cadence_of(rule) == "custom"
    entry = add_entry(
        ctx, project, cadence="custom", custom_rule="FREQ=DAILY;INTERVAL=2", first_date=monday
    )
    form = commplan.entry_input(entry, project)
    assert (form.cadence, form.custom_rule, form.first_date, form.first_time) == (
        "custom",
        "FREQ=DAILY;INTERVAL=2",
        monday,
        "09:00",
    )
    quarterly = add_entry(ctx, project, cadence="quarterly", first_date=monday)
    assert quarterly.rrule == "FREQ=MONTHLY;INTERVAL=3;BYDAY=+1MO"
    assert commplan.entry_input(quarterly, project).custom_rule == ""


def test_the_plan_lists_this_projects_entries_still_in_it(ctx: Ctx, project: Project) -> None:
    other = make_project(ctx, "MES")
    add(ctx, other, CARL, role="decision_maker")
    first = add_entry(ctx, project)
    gone = add_entry(ctx, project, role="key_user")
    add_entry(ctx, other)
    commplan.remove_entry(ctx=ctx, entry=gone)
    assert commplan.active_entries(ctx, project) == [first]
    [log] = logged(ctx, "plan.entry_removed")
    assert (log.project_id, log.detail) == (project.id, {"entry_id": gone.id})
    for missing in (gone.id or 0, 9999):
        with pytest.raises(NotFound) as caught:
            commplan.get_entry(ctx, missing)
        assert caught.value.message == Msg("plan.errors.entry_gone")


def test_only_the_team_or_an_admin_plans_edits_removes_and_reads(
    ctx: Ctx, project: Project
) -> None:
    entry = add_entry(ctx, project)
    refused = Msg("plan.errors.not_team", code="ERP")
    as_user(ctx, MARIA)
    for attempt in (
        lambda: add_entry(ctx, project),
        lambda: commplan.update_entry(ctx=ctx, entry=entry, data=entry_input(kind="workshop")),
        lambda: commplan.remove_entry(ctx=ctx, entry=entry),
        lambda: commplan.plan_page(ctx, project, 0),
        lambda: commplan.apply_template(ctx=ctx, project=project, locale="en"),
    ):
        with pytest.raises(PermissionDenied) as caught:
            attempt()
        assert caught.value.reason == refused
    as_user(ctx, OUTSIDER)
    ctx.admin_check = lambda user: user == OUTSIDER
    assert commplan.plan_page(ctx, project, 0) == ([entry], 1)


def test_an_edit_restarts_the_entry_from_its_new_first_time(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entry = add_entry(ctx, project, first_date="2026-12-07")
    clock.advance(timedelta(hours=1))
    as_user(ctx, PM2)
    commplan.update_entry(
        ctx=ctx,
        entry=entry,
        data=entry_input(kind="workshop", cadence="weekly", first_date="2026-12-09"),
    )
    assert (entry.kind, entry.rrule, entry.first_at, entry.next_due_at) == (
        "workshop",
        "FREQ=WEEKLY",
        local(2026, 12, 9),
        local(2026, 12, 9),
    )
    assert (entry.created_by, entry.updated_at) == (PM, ctx.now())
    [log] = logged(ctx, "plan.entry_updated")
    assert (log.project_id, log.detail["entry_id"], log.detail["entry_kind"]) == (
        project.id,
        entry.id,
        "workshop",
    )
    commplan.remove_entry(ctx=ctx, entry=entry)
    assert (entry.removed_at, entry.next_due_at) == (ctx.now(), None)
    clock.advance(timedelta(hours=1))
    commplan.remove_entry(ctx=ctx, entry=entry)  # twice: nothing more
    assert entry.removed_at == ctx.now() - timedelta(hours=1)
    assert len(logged(ctx, "plan.entry_removed")) == 1


def test_the_plan_is_shown_eight_entries_a_page(ctx: Ctx, project: Project) -> None:
    assert commplan.plan_page(ctx, project, 3) == ([], 1)
    entries = [add_entry(ctx, project, note=str(n)) for n in range(9)]
    assert commplan.plan_page(ctx, project, 0) == (entries[:8], 2)
    assert commplan.plan_page(ctx, project, 1) == (entries[8:], 2)
    assert commplan.plan_page(ctx, project, 5) == (entries[8:], 2)
    assert commplan.plan_page(ctx, project, -1) == (entries[:8], 2)


# ----------------------------------------------------------------------------- the template


def test_the_ready_made_plan_starts_next_monday_in_the_projects_language(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    # Sunday 6 December, 23:30 UTC, is Monday 7 December in Berlin: the plan starts on the 14th.
    clock.set(datetime(2026, 12, 6, 23, 30, tzinfo=UTC))
    entries = commplan.apply_template(ctx=ctx, project=project, locale="zh-CN")
    assert {e.first_at for e in entries} == {local(2026, 12, 14)}
    assert [e.note for e in entries] == [plain("zh-CN", key) for *_, key in commplan.TEMPLATE]
    assert [e.audience_kind for e in entries] == ["role"] * 5
    [log] = logged(ctx, "plan.template_applied")
    assert (log.project_id, log.detail) == (project.id, {"entries": 5})
    with pytest.raises(ValidationError) as caught:
        commplan.apply_template(ctx=ctx, project=project, locale="en")
    assert caught.value.errors == {"plan": Msg("plan.errors.template_not_empty", code="ERP")}


def test_the_ready_made_plan_made_on_a_tuesday_starts_the_next_monday(
    ctx: Ctx, project: Project
) -> None:
    entries = commplan.apply_template(ctx=ctx, project=project, locale="en")  # Tue 1 December
    assert {e.first_at for e in entries} == {local(2026, 12, 7)}


# ------------------------------------------------------------------------------- recipients


def test_recipients_are_this_projects_active_key_users_by_name_then_user_id(
    ctx: Ctx, project: Project
) -> None:
    for user_id, name in ((KEY_USERS[5], "Bea"), (KEY_USERS[4], "Bea"), (CARL, "Zed")):
        add(ctx, project, user_id, role="sponsor", display_name=name)
    left = add(ctx, project, "UKEY00009", role="sponsor", display_name="Al")
    keyusers.remove_key_user(ctx=ctx, key_user=left)
    other = make_project(ctx, "MES")
    add(ctx, other, "UKEY00010", role="sponsor", display_name="Al")
    entry = add_entry(ctx, project, role="sponsor")
    assert [k.user_id for k in commplan.recipients_by_entry(ctx, [entry])[entry.id or 0]] == [
        KEY_USERS[4],
        KEY_USERS[5],
        CARL,
    ]


def test_an_entry_of_a_project_without_key_users_falls_due_for_nobody(
    ctx: Ctx, clock: MovableClock
) -> None:
    empty = make_project(ctx, "NEW")
    entry = add_entry(ctx, empty)
    first = entry.next_due_at
    clock.set(first)  # type: ignore[arg-type]
    assert commplan.fall_due(ctx) == {}
    assert entry.next_due_at == first + timedelta(days=14)  # type: ignore[operator]
    assert ctx.session.exec(select(PlanOccurrence)).all() == []


# ------------------------------------------------------------------------------ falling due


def test_an_entry_falls_due_at_its_moment_and_a_missed_backlog_is_one_occurrence(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entry = add_entry(ctx, project, cadence="weekly", first_date="2026-12-07")
    clock.set(local(2026, 12, 7) - timedelta(seconds=1))
    assert commplan.fall_due(ctx) == {}
    clock.set(local(2026, 12, 7))
    [item] = commplan.fall_due(ctx)[PM]
    assert item.occurrence.due_at == local(2026, 12, 7)
    assert (item.occurrence.owner_id, item.occurrence.project_id) == (PM, project.id)
    assert entry.next_due_at == local(2026, 12, 14)
    # Three weeks without the job: one occurrence, the latest, due exactly now.
    clock.set(local(2027, 1, 4))
    [late] = commplan.fall_due(ctx)[PM]
    assert late.occurrence.due_at == local(2027, 1, 4)
    assert entry.next_due_at == local(2027, 1, 11)
    assert late.occurrence.times_told == 1


def test_a_snoozed_occurrence_comes_back_when_the_snooze_ends(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entry = add_entry(ctx, project, first_date="2026-12-07")
    item = due_now(ctx, clock, entry)
    commplan.snooze(ctx=ctx, occurrence_id=item.occurrence.id or 0, days=3)
    until = ctx.now() + timedelta(days=3)
    [log] = logged(ctx, "plan.snoozed")
    assert log.project_id == project.id
    assert log.detail == {
        "entry_id": entry.id,
        "occurrence_id": item.occurrence.id,
        "until": until.isoformat(),
    }
    clock.set(until - timedelta(seconds=1))
    assert commplan.fall_due(ctx) == {}
    clock.set(until)
    [again] = commplan.fall_due(ctx)[PM]
    assert again.occurrence.id == item.occurrence.id
    assert (again.occurrence.status, again.occurrence.snoozed_until) == (OccurrenceStatus.DUE, None)


def test_an_entry_for_nobody_does_not_hold_up_the_next(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    add_entry(ctx, project, role="sponsor", first_date="2026-12-07")  # no sponsor registered
    wanted = add_entry(ctx, project, first_date="2026-12-07")
    clock.set(local(2026, 12, 7))
    assert [i.entry.id for i in commplan.fall_due(ctx)[PM]] == [wanted.id]


def test_an_owners_items_still_waiting_are_the_due_and_the_snoozed(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entries = [
        add_entry(ctx, project, first_date="2026-12-07", **audience)
        for audience in (
            {"role": "decision_maker"},
            {"role": "key_user"},
            {"audience_kind": "person", "person": ANNA},
        )
    ]
    clock.set(local(2026, 12, 7))
    done, snoozed, due = commplan.fall_due(ctx)[PM]
    commplan.mark_done(ctx=ctx, occurrence_id=done.occurrence.id or 0, note="Done")
    commplan.snooze(ctx=ctx, occurrence_id=snoozed.occurrence.id or 0)
    waiting = commplan.due_items_of(ctx, PM)
    assert [i.occurrence.id for i in waiting] == [snoozed.occurrence.id, due.occurrence.id]
    assert len(entries) == 3 and commplan.due_items_of(ctx, PM2) == []


def test_an_owners_items_come_soonest_first(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    later = add_entry(ctx, project, first_date="2026-12-08")
    sooner = add_entry(ctx, project, role="key_user", first_date="2026-12-07")
    clock.set(local(2026, 12, 9))
    items = commplan.fall_due(ctx)[PM]
    assert [i.entry.id for i in items] == [sooner.id, later.id]
    assert [i.entry.id for i in commplan.due_items_of(ctx, PM)] == [sooner.id, later.id]


# ------------------------------------------------------------------------ acting on an item


def test_the_owner_or_a_pm_acts_on_an_occurrence(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entry = add_entry(ctx, project, owner_id=PM2)
    item = due_now(ctx, clock, entry)
    occurrence_id = item.occurrence.id or 0
    as_user(ctx, PM2)  # the owner, in the team but no PM
    assert commplan.occurrence_for_owner(ctx, occurrence_id).occurrence.id == occurrence_id
    as_user(ctx, PM)  # a PM, not the owner
    assert commplan.occurrence_for_owner(ctx, occurrence_id).occurrence.id == occurrence_id
    as_user(ctx, ANNA)
    with pytest.raises(PermissionDenied) as caught:
        commplan.occurrence_for_owner(ctx, occurrence_id)
    assert caught.value.reason == Msg("plan.errors.not_owner")


def test_done_needs_a_note_of_at_most_300_characters_and_is_logged(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entry = add_entry(ctx, project)
    item = due_now(ctx, clock, entry)
    occurrence_id = item.occurrence.id or 0
    with pytest.raises(ValidationError) as caught:
        commplan.mark_done(ctx=ctx, occurrence_id=occurrence_id, note="  ")
    assert caught.value.errors == {"note": Msg("errors.required")}
    with pytest.raises(ValidationError) as caught:
        commplan.mark_done(ctx=ctx, occurrence_id=occurrence_id, note="n" * 301)
    assert caught.value.errors == {"note": Msg("errors.too_long", limit=300)}
    clock.advance(timedelta(hours=2))
    commplan.mark_done(ctx=ctx, occurrence_id=occurrence_id, note=" Sent   the deck " + "n" * 286)
    row = ctx.get(PlanOccurrence, occurrence_id)
    note = "Sent the deck " + "n" * 286
    assert len(note) == 300
    assert (row.status, row.outcome, row.note, row.done_at, row.done_by) == (
        OccurrenceStatus.DONE,
        "done",
        note,
        ctx.now(),
        PM,
    )
    [log] = logged(ctx, "plan.done")
    assert log.project_id == project.id
    assert log.detail == {"entry_id": entry.id, "occurrence_id": occurrence_id, "note": note}
    with pytest.raises(ValidationError) as caught:
        commplan.snooze(ctx=ctx, occurrence_id=occurrence_id)
    assert caught.value.errors == {"note": Msg("plan.errors.already_done")}


def test_done_outside_slack_counts_a_contact_with_each_recipient(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    kinds = {}
    for channel in ("phone", "face_to_face", "email", "dm", "meeting"):
        entry = add_entry(ctx, project, channel=channel, first_date="2026-12-07")
        kinds[channel] = entry
    clock.set(local(2026, 12, 7))
    items = {i.entry.channel: i for i in commplan.fall_due(ctx)[PM]}
    for channel, item in items.items():
        commplan.mark_done(ctx=ctx, occurrence_id=item.occurrence.id or 0, note=f"By {channel}")
    contacts = ctx.session.exec(select(Interaction).where(col_kind_startswith("contact."))).all()
    found = sorted((c.kind, c.key_user_id, c.detail["note"]) for c in contacts)
    maria = keyusers.get_key_user(ctx, project, MARIA).id
    anna = keyusers.get_key_user(ctx, project, ANNA).id
    assert found == sorted(
        (kind, person, note)
        for kind, note in (
            ("contact.call", "By phone"),
            ("contact.face_to_face", "By face_to_face"),
            ("contact.email", "By email"),
        )
        for person in (maria, anna)
    )
    assert all(c.detail["plan_entry"] in {e.id for e in kinds.values()} for c in contacts)


def test_a_meeting_or_a_report_done_by_phone_counts_no_contact(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entry = add_entry(ctx, project, channel="phone")
    item = due_now(ctx, clock, entry)
    done = commplan.mark_done(
        ctx=ctx, occurrence_id=item.occurrence.id or 0, note="", outcome="meeting", meeting_id=42
    )
    row = done.occurrence
    assert (row.outcome, row.note, row.meeting_event_id) == ("meeting", None, 42)
    assert [log.detail["note"] for log in logged(ctx, "plan.meeting")] == [""]
    assert ctx.session.exec(select(Interaction).where(col_kind_startswith("contact."))).all() == []


def col_kind_startswith(prefix: str) -> Any:
    return col(Interaction.kind).startswith(prefix)


# ---------------------------------------------------------------------------- the report


def test_report_figures_count_this_projects_live_issues_since_the_period_start(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    other = make_project(ctx, "MES")
    since = ctx.now()

    def issue(target: Project, title: str, **fields: Any) -> Issue:
        change = issues.create_issue(ctx=ctx, project=target, data=IssueInput(title=title))
        row = ctx.get(Issue, change.issue.id)
        for name, value in fields.items():
            setattr(row, name, value)
        ctx.session.add(row)
        return row

    clock.set(since - timedelta(seconds=1))
    issue(project, "Before", status="resolved", resolved_at=since - timedelta(seconds=1))
    clock.set(since)
    now = since + timedelta(days=3)
    issue(project, "At the start", resolved_at=since, status="resolved")
    issue(project, "Due now", due_at=now)
    issue(project, "Due later", due_at=now + timedelta(seconds=1))
    for days in (3, 1, 2):
        issue(project, f"Late {days}", due_at=now - timedelta(days=days))
    issue(project, "Deleted", deleted_at=since, due_at=since, resolved_at=since, status="resolved")
    issue(project, "Deleted open", deleted_at=since, due_at=since)  # neither open nor overdue
    later = since + timedelta(hours=1)
    issue(project, "Resolved late", status="resolved", resolved_at=later, due_at=since)
    issue(other, "Elsewhere", due_at=since, resolved_at=since)
    clock.set(now)
    figures = commplan.report_figures(ctx, project, since)
    assert (figures.project, figures.since) == (project, since)
    assert (figures.opened, figures.resolved, figures.open_now, figures.overdue) == (7, 2, 5, 4)
    assert figures.top_overdue == [("ERP-5", "Late 3"), ("ERP-7", "Late 2"), ("ERP-6", "Late 1")]
    assert figures.last_poll_title is None and figures.upcoming == []


def test_report_figures_take_the_projects_last_closed_poll_and_coming_events(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    other = make_project(ctx, "MES")
    add(ctx, other, CARL)

    def closed_poll(
        target: Project, title: str, days: int, *, close: bool = True, rating: str = ""
    ) -> None:
        poll, _ = poll_service.create_poll(
            ctx=ctx,
            project=target,
            data=poll_service.PollInput(
                title=title,
                closes_at=ctx.now() + timedelta(days=days),
                questions=[poll_service.QuestionInput("rating", "How is it going?")],
            ),
            messages=POLL_MESSAGES,
        )
        if rating:
            [question] = poll_service.questions_of(ctx, poll)
            poll_service.submit_answers(
                ctx=ctx, poll_id=poll.id or 0, user_id=ANNA, raw={f"q{question.id}": rating}
            )
        if close:
            poll_closing.close_poll(ctx=ctx, poll=poll, messages=POLL_MESSAGES)

    closed_poll(project, "First", 2)
    closed_poll(project, "Second", 3, rating="5")  # planned to close last
    closed_poll(other, "Elsewhere", 5)
    closed_poll(project, "Still open", 9, close=False)
    for days in range(1, 13):
        calendar.create_event(
            ctx=ctx,
            project=project,
            data=EventInput(
                kind="meeting",
                title=f"Meeting {days}",
                starts_at=ctx.now() + timedelta(days=days),
                duration_minutes=30,
                organizer_id=PM,
            ),
        )
    figures = commplan.report_figures(ctx, project, ctx.now() - timedelta(days=14))
    assert figures.last_poll_title == "Second"
    assert (figures.last_poll_rate, figures.last_poll_csat) == (pytest.approx(100 / 3), 100.0)
    assert [title for title, _ in figures.upcoming] == [f"Meeting {d}" for d in range(1, 11)]
    window = commplan.upcoming_events(
        ctx, project, ctx.now() + timedelta(days=2), ctx.now() + timedelta(days=4)
    )
    assert window == [
        ("Meeting 2", ctx.now() + timedelta(days=2)),
        ("Meeting 3", ctx.now() + timedelta(days=3)),
    ]


def test_a_report_covers_the_time_since_the_entrys_previous_report(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entry = add_entry(ctx, project, cadence="weekly", first_date="2026-12-07")
    other = add_entry(ctx, project, cadence="weekly", first_date="2026-12-07", role="key_user")
    clock.set(local(2026, 12, 7))
    items = {i.entry.id: i for i in commplan.fall_due(ctx)[PM]}
    first = items[entry.id]
    assert commplan.report_since(ctx, first) == ctx.now() - timedelta(days=14)
    clock.advance(timedelta(hours=1))
    commplan.record_report_sent(ctx=ctx, item=first, text="Week one")
    sent_at = ctx.now()
    commplan.mark_done(ctx=ctx, occurrence_id=items[other.id].occurrence.id or 0, note="Called")
    clock.set(local(2026, 12, 14))
    second = {i.entry.id: i for i in commplan.fall_due(ctx)[PM]}
    assert commplan.report_since(ctx, second[entry.id]) == sent_at
    assert commplan.report_since(ctx, second[other.id]) == ctx.now() - timedelta(days=14)
    # Its own occurrence, once sent, is not its previous report.
    clock.advance(timedelta(hours=1))
    commplan.record_report_sent(ctx=ctx, item=second[entry.id], text="Week two")
    assert commplan.report_since(ctx, second[entry.id]) == sent_at
    # The latest of the previous reports.
    clock.set(local(2026, 12, 21))
    third = {i.entry.id: i for i in commplan.fall_due(ctx)[PM]}
    assert commplan.report_since(ctx, third[entry.id]) == local(2026, 12, 14, 10)


def test_a_report_goes_to_the_channel_or_to_each_recipient(ctx: Ctx, clock: MovableClock) -> None:
    project = make_project(ctx, channel_id=PROJECT_CHANNEL)
    silent = make_project(ctx, "MES")
    for target in (project, silent):
        add(ctx, target, MARIA, role="decision_maker")
    in_channel = add_entry(ctx, project, channel="project_channel", first_date="2026-12-07")
    by_dm = add_entry(ctx, project, channel="dm", first_date="2026-12-07")
    no_channel = add_entry(ctx, silent, channel="project_channel", first_date="2026-12-07")
    clock.set(local(2026, 12, 7))
    items = {i.entry.id: i for i in commplan.fall_due(ctx)[PM]}
    assert commplan.report_targets(items[in_channel.id]) == (PROJECT_CHANNEL, [])
    assert commplan.report_targets(items[by_dm.id]) == (None, [MARIA])
    assert commplan.report_targets(items[no_channel.id]) == (None, [MARIA])
    for entry, via in ((in_channel, "channel"), (by_dm, "dm")):
        commplan.record_report_sent(ctx=ctx, item=items[entry.id], text="  Status  ")
        row = ctx.get(PlanOccurrence, items[entry.id].occurrence.id)
        assert (row.outcome, row.note) == ("report_sent", None)
        [received] = [
            r
            for r in logged(ctx, "report.received")
            if r.detail["occurrence_id"] == items[entry.id].occurrence.id
        ]
        assert (received.project_id, received.detail["via"]) == (project.id, via)


def test_a_report_needs_a_text_of_at_most_2900_characters_and_someone_to_read_it(
    ctx: Ctx, clock: MovableClock, project: Project
) -> None:
    entry = add_entry(ctx, project)
    item = due_now(ctx, clock, entry)
    for text, message in (
        ("", Msg("errors.required")),
        ("  ", Msg("errors.required")),
        ("r" * 2901, Msg("errors.too_long", limit=2900)),
    ):
        with pytest.raises(ValidationError) as caught:
            commplan.record_report_sent(ctx=ctx, item=item, text=text)
        assert caught.value.errors == {"report": message}
    nobody = commplan.DueItem(item.occurrence, item.entry, item.project, [])
    with pytest.raises(ValidationError) as caught:
        commplan.record_report_sent(ctx=ctx, item=nobody, text="Status")
    assert caught.value.errors == {"report": Msg("plan.errors.no_recipients")}
    commplan.record_report_sent(ctx=ctx, item=item, text="r" * 2900)
    assert ctx.get(PlanOccurrence, item.occurrence.id).status == OccurrenceStatus.DONE
