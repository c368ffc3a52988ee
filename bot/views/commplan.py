"""Block Kit of the communication plan: the paged plan, the entry form, the owner's due DM, the
done and report forms (pure builders: data in, blocks out)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.i18n import escape_mrkdwn, joined, mention, plain, slack_date, t
from bot.ids import PlanId
from bot.services import commplan as service
from bot.services.commplan import DueItem, PlanEntryInput, ReportFigures
from bot.services.keyusers import ROLES, Quadrant
from bot.views import common as ui
from bot.views.keyusers import role_label
from bot.views.projects import phase_label
from storage.models import KeyUser, OccurrenceStatus, PlanEntry, Project

DUE_ITEMS_PER_MESSAGE = 12  # header, intro, then a section and an actions block per item


def kind_label(locale: str, kind: str) -> str:
    return plain(locale, f"plan.kinds.{kind}")


def channel_label(locale: str, channel: str) -> str:
    return plain(locale, f"plan.channels.{channel}")


def cadence_label(locale: str, rule: str) -> str:
    cadence = service.cadence_of(rule)
    return rule if cadence == "custom" else plain(locale, f"plan.cadences.{cadence}")


def audience_label(locale: str, entry: PlanEntry) -> str:
    """Who an entry is for, as mrkdwn."""
    if entry.audience_kind == "role":
        return t(locale, "plan.audience_role", role=role_label(locale, entry.audience_value))
    if entry.audience_kind == "module":
        return t(locale, "plan.audience_module", module=entry.audience_value)
    if entry.audience_kind == "quadrant":
        return t(
            locale,
            "plan.audience_quadrant",
            quadrant=plain(locale, f"quadrants.{entry.audience_value}"),
        )
    return str(mention(entry.audience_value))


def _local(moment: datetime, project: Project) -> str:
    return moment.astimezone(ZoneInfo(project.timezone)).strftime("%Y-%m-%d %H:%M")


def entry_line(locale: str, project: Project, entry: PlanEntry) -> str:
    return t(
        locale,
        "plan.line",
        kind=kind_label(locale, entry.kind),
        audience=ui_markup(audience_label(locale, entry)),
        cadence=cadence_label(locale, entry.rrule),
        channel=channel_label(locale, entry.channel),
        owner=entry.owner_id,
        next=slack_date(entry.next_due_at, project.timezone) if entry.next_due_at else None,
        note=entry.note,
    )


def ui_markup(text: str) -> Markup:
    """Mrkdwn already rendered (and escaped) by the catalog, passed into another message."""
    return Markup(text)


# ------------------------------------------------------------------------------- the plan


_PLAN_MODAL = ui.Modal(PlanId.PLAN_MODAL, "plan.plan_modal_title", None, "common.close")


def plan_modal(
    locale: str,
    project: Project,
    entries: list[PlanEntry],
    *,
    page: int,
    pages: int,
    total: int,
) -> dict[str, Any]:
    blocks: list[Block] = [ui.header(plain(locale, "plan.title", code=project.code))]
    if not total:
        blocks.append(ui.section(t(locale, "plan.empty", code=project.code)))
        blocks.append(ui.context(t(locale, "plan.template_summary")))
        blocks.append(
            ui.actions(
                ui.button(
                    plain(locale, "plan.use_template"),
                    PlanId.USE_TEMPLATE,
                    str(project.id),
                    style="primary",
                ),
                ui.button(plain(locale, "plan.add"), PlanId.ADD, str(project.id)),
                block_id="plan_start",
            )
        )
    else:
        blocks.append(ui.section(t(locale, "plan.intro", code=project.code, count=total)))
        for entry in entries:
            blocks.append(ui.divider())
            blocks.append(ui.section(entry_line(locale, project, entry)))
            blocks.append(
                ui.actions(
                    ui.button(plain(locale, "plan.edit"), PlanId.EDIT, str(entry.id)),
                    ui.button(
                        plain(locale, "plan.remove"),
                        PlanId.REMOVE,
                        str(entry.id),
                        style="danger",
                        confirm=ui.confirmed(
                            locale,
                            "plan.confirm_remove",
                            danger=True,
                            kind=kind_label(locale, entry.kind),
                            code=project.code,
                        ),
                    ),
                    block_id=f"plan_entry_{entry.id}",
                )
            )
        blocks.append(ui.divider())
        paging = [
            ui.button(plain(locale, "plan.add"), PlanId.ADD, str(project.id), style="primary")
        ]
        if page > 0:
            paging.append(ui.button(plain(locale, "plan.previous"), PlanId.PAGE, str(page - 1)))
        if page < pages - 1:
            paging.append(ui.button(plain(locale, "plan.next"), PlanId.PAGE, str(page + 1)))
        blocks.append(ui.actions(*paging, block_id="plan_paging"))
        if pages > 1:
            blocks.append(ui.context(t(locale, "plan.page", page=page + 1, pages=pages)))
    return _PLAN_MODAL(locale, blocks, {"project_id": project.id, "page": page})


_ENTRY_MODAL = ui.Modal(PlanId.ENTRY_MODAL, "plan.modal_title", "common.save")


def entry_modal(
    locale: str,
    project: Project,
    data: PlanEntryInput,
    *,
    entry_id: int | None = None,
    root_view_id: str | None = None,
) -> dict[str, Any]:
    first = data.first_date if isinstance(data.first_date, date) else None
    field = ui.Fields(locale, "plan")
    blocks: list[Block] = [
        ui.section(t(locale, "plan.title", code=project.code)),
        field.radio(
            "audience_kind",
            "plan.audience_kinds",
            service.AUDIENCE_KINDS,
            initial=data.audience_kind,
        ),
        field.choice(
            "role", "roles", ROLES, initial=data.role, optional=True, hint=field.hint("audience")
        ),
        field.choice(
            "quadrant",
            "quadrants",
            [q.value for q in Quadrant],
            initial=data.quadrant,
            optional=True,
        ),
        field.user("person", initial=data.person, optional=True),
        field.choice("kind", "plan.kinds", service.PLAN_KINDS, initial=data.kind),
        field.choice("cadence", "plan.cadences", service.CADENCES, initial=data.cadence),
        field.text(
            "custom_rule",
            initial=data.custom_rule,
            optional=True,
            max_length=200,
            hint=field.hint("custom_rule"),
        ),
        field.date("first_date", initial=first),
        field.time("first_time", initial=data.first_time or "09:00", timezone=project.timezone),
        field.choice("channel", "plan.channels", service.PLAN_CHANNELS, initial=data.channel),
        field.user("owner_id", initial=data.owner_id),
        field.paragraph("note", initial=data.note, max_length=service.NOTE_LIMIT),
    ]
    metadata: dict[str, Any] = {"project_id": project.id}
    if entry_id is not None:
        metadata["entry_id"] = entry_id
    if root_view_id:
        metadata["root_view_id"] = root_view_id
    return _ENTRY_MODAL(locale, blocks, metadata)


def saved_text(locale: str, project: Project, entry: PlanEntry) -> str:
    return t(
        locale,
        "plan.saved",
        code=project.code,
        kind=kind_label(locale, entry.kind),
        audience=ui_markup(audience_label(locale, entry)),
        cadence=cadence_label(locale, entry.rrule),
        first=slack_date(entry.first_at, project.timezone),
    )


# -------------------------------------------------------------------------- the owner's DM


def _people(locale: str, recipients: list[KeyUser]) -> str:
    if not recipients:
        return plain(locale, "plan.due.nobody")
    shown = joined(locale, (mention(k.user_id) for k in recipients[:8]))
    return shown + (f" +{len(recipients) - 8}" if len(recipients) > 8 else "")


def due_line(locale: str, item: DueItem) -> str:
    return t(
        locale,
        "plan.due.line",
        kind=kind_label(locale, item.entry.kind),
        code=item.project.code,
        audience=ui_markup(audience_label(locale, item.entry)),
        people=ui_markup(_people(locale, item.recipients)),
        channel=channel_label(locale, item.entry.channel),
        due=slack_date(item.occurrence.due_at, item.project.timezone),
        again=item.occurrence.times_told > 1,
        note=item.entry.note,
    )


def due_buttons(locale: str, item: DueItem) -> list[Any]:
    """ "Done" (and "Draft report" for a report) as buttons; snoozing and scheduling a meeting in
    the item's menu."""
    value = str(item.occurrence.id)
    buttons: list[Any] = [
        ui.button(plain(locale, "plan.due.done"), PlanId.DUE_DONE, value, style="primary"),
    ]
    if item.entry.kind in ("progress_report", "decision_material"):
        buttons.append(ui.button(plain(locale, "plan.due.draft"), PlanId.DUE_DRAFT, value))
    menu = ui.more_menu(
        PlanId.DUE_MORE,
        [
            (plain(locale, "plan.due.snooze"), PlanId.DUE_SNOOZE, value),
            (plain(locale, "plan.due.schedule"), PlanId.DUE_SCHEDULE, value),
        ],
    )
    return [*buttons, menu]


def due_dm(locale: str, items: list[DueItem], extra: Sequence[Block] = ()) -> dict[str, Any]:
    """One DM for all of an owner's due items (the first dozen with buttons, then a count), and
    ``extra``: what else is due for them (their phase checklist items), in the same DM."""
    shown = items[:DUE_ITEMS_PER_MESSAGE]
    intro = t(locale, "plan.due.intro", count=len(items)) if items else ""
    blocks: list[Block] = [ui.header(plain(locale, "plan.due.title"))] if items else []
    if items:
        blocks.append(ui.section(intro))
    for item in shown:
        blocks.append(
            ui.section(due_line(locale, item), block_id=f"plan_item_{item.occurrence.id}")
        )
        state = item_state(locale, item)
        if state is None:
            blocks.append(
                ui.actions(*due_buttons(locale, item), block_id=f"plan_due_{item.occurrence.id}")
            )
        else:
            blocks.append(ui.context(state))
    if len(items) > len(shown):
        blocks.append(ui.context(t(locale, "plan.due.more", count=len(items) - len(shown))))
    blocks.extend(extra)
    if items:
        text = ui.list_text(locale, intro, due_line(locale, items[0]))
    else:
        text = next((str(b.text.text) for b in extra if getattr(b, "text", None)), "")
    return ui.message(text, blocks)


def item_state(locale: str, item: DueItem) -> str | None:
    """What replaces an item's buttons once its owner acted on it (None: still to do)."""
    occurrence = item.occurrence
    if occurrence.status == OccurrenceStatus.SNOOZED and occurrence.snoozed_until:
        until = slack_date(occurrence.snoozed_until, item.project.timezone)
        return answer_text(locale, item, "snoozed", until=until)
    if occurrence.status != OccurrenceStatus.DONE:
        return None
    if occurrence.outcome == "report_sent":
        channel, people = service.report_targets(item)
        if channel:
            return answer_text(locale, item, "report_sent_channel", channel=channel)
        return answer_text(locale, item, "report_sent", count=len(people))
    if occurrence.outcome == "meeting":
        return answer_text(locale, item, "meeting")
    return answer_text(locale, item, "done", note=occurrence.note or "")


def occurrence_ids_in(blocks: list[dict[str, Any]]) -> list[int]:
    """The items a due DM lists, read back from its block ids (``plan_item_<id>``)."""
    ids = []
    for block in blocks:
        block_id = str(block.get("block_id") or "")
        if block_id.startswith("plan_item_") and block_id[10:].isdigit():
            ids.append(int(block_id[10:]))
    return ids


_DONE_MODAL = ui.Modal(PlanId.DONE_MODAL, "plan.done_modal.title", "plan.done_modal.submit")


def done_modal(locale: str, item: DueItem, *, source: dict[str, Any]) -> dict[str, Any]:
    blocks = [
        ui.section(
            t(
                locale,
                "plan.done_modal.intro",
                kind=kind_label(locale, item.entry.kind),
                audience=ui_markup(audience_label(locale, item.entry)),
                code=item.project.code,
            )
        ),
        ui.text_input(
            "note", plain(locale, "plan.done_modal.note"), max_length=service.DONE_NOTE_LIMIT
        ),
    ]
    return _DONE_MODAL(locale, blocks, {"occurrence_id": item.occurrence.id, **source})


def answer_text(locale: str, item: DueItem, what: str, **params: Any) -> str:
    return t(
        locale,
        f"plan.answer.{what}",
        kind=kind_label(locale, item.entry.kind),
        audience=ui_markup(audience_label(locale, item.entry)),
        code=item.project.code,
        **params,
    )


# ------------------------------------------------------------------------ progress report


def report_draft(
    locale: str, figures: ReportFigures, names: Callable[[str], str] | None = None
) -> str:
    """The draft's text (plain: the owner edits it in a text input; sent as mrkdwn, where a
    mention would show as typed, so owners are named: ``names`` gives a person's name when the
    key-user register has none)."""
    project = figures.project
    zone = ZoneInfo(project.timezone)
    lines = [
        plain(locale, "plan.report.heading", code=project.code, name=project.name),
        plain(
            locale,
            "plan.report.period",
            since=figures.since.astimezone(zone).strftime("%Y-%m-%d"),
            phase=phase_label(locale, project.phase),
        ),
        plain(
            locale,
            "plan.report.issues",
            opened=figures.opened,
            resolved=figures.resolved,
            open_now=figures.open_now,
            overdue=figures.overdue,
        ),
    ]
    lines += [
        plain(locale, "plan.report.overdue_item", ref=r, title=x) for r, x in figures.top_overdue
    ]
    if figures.last_poll_title is not None:
        lines.append(
            plain(
                locale,
                "plan.report.poll",
                title=figures.last_poll_title,
                rate=round(figures.last_poll_rate or 0),
                csat=None if figures.last_poll_csat is None else round(figures.last_poll_csat),
            )
        )
    else:
        lines.append(plain(locale, "plan.report.no_poll"))
    if figures.upcoming:
        lines.append(plain(locale, "plan.report.upcoming_title"))
        lines += [
            plain(
                locale,
                "plan.report.upcoming_item",
                date=start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                title=title,
            )
            for title, start in figures.upcoming
        ]
    else:
        lines.append(plain(locale, "plan.report.no_upcoming"))
    lines += _report_risks(locale, figures, names)
    lines.append(plain(locale, "plan.report.closing"))
    return "\n".join(lines)


def _report_risks(
    locale: str, figures: ReportFigures, names: Callable[[str], str] | None
) -> list[str]:
    risks = figures.risks
    if risks is None or not risks.total:
        return [plain(locale, "plan.report.no_risks")]
    grades = risks.by_grade()
    lines = [plain(locale, "plan.report.risks", count=risks.total, **grades)]
    for item in risks.top:
        owner = item.owner_name or (names(item.owner_id) if names and item.owner_id else "")
        lines.append(
            plain(
                locale,
                "plan.report.risk_item",
                ref=item.ref,
                title=item.title,
                level=item.level,
                grade=plain(locale, f"risk.grade.{risks.thresholds.grade(item.level)}"),
                owner=owner or "",
            )
        )
    return lines


_REPORT_MODAL = ui.Modal(PlanId.REPORT_MODAL, "plan.report.modal_title", "common.send")


def report_modal(
    locale: str, item: DueItem, draft: str, *, source: dict[str, Any]
) -> dict[str, Any]:
    channel, people = service.report_targets(item)
    target = (
        t(locale, "plan.report.target_channel", channel=channel)
        if channel
        else t(
            locale,
            "plan.report.target_dm",
            people=ui_markup(_people(locale, item.recipients)),
        )
    )
    blocks = [
        ui.section(
            t(locale, "plan.report.intro", code=item.project.code, target=ui_markup(target))
        ),
        ui.text_input(
            "report",
            plain(locale, "plan.report.field"),
            initial=draft,
            multiline=True,
            max_length=2900,
        ),
    ]
    return _REPORT_MODAL(locale, blocks, {"occurrence_id": item.occurrence.id, **source})


def report_message(locale: str, project: Project, owner_id: str, text: str) -> dict[str, Any]:
    """The report as its recipients see it; the owner's reviewed text is escaped like any other
    user-typed text."""
    heading = t(locale, "plan.report.message", owner=owner_id, code=project.code)
    body = escape_mrkdwn(text)
    return ui.message(heading, [ui.section(heading), ui.section(body)])
