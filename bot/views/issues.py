"""Issue modals, the issue message with its buttons, thread replies, DMs, lists and Home parts
(pure builders: data in, Block Kit out)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DatePickerElement,
    PlainTextObject,
)

from bot.i18n import escape_mrkdwn, plain, slack_date, t
from bot.ids import CONFIRMED, ChangeId, DigestId, IssueId
from bot.services.issue_followup import BREACH_KINDS, Breach
from bot.services.issue_levels import PRIORITIES, ServiceLevels
from bot.services.issues import (
    COMMENT_LIMIT,
    DESCRIPTION_LIMIT,
    KINDS,
    MODULE_LIMIT,
    TEXT_LIMIT,
    TITLE_LIMIT,
    IssueInput,
    IssuePage,
    ListQuery,
    Verb,
    is_overdue,
    issue_key,
)
from bot.views import common as ui
from bot.views.keyusers import module_input
from storage.models import Issue, IssueHistory, Project
from storage.models.issues import IssueStatus

LIST_PAGE_SIZE = 15
STATUS_EMOJI = {
    "new": ":new:",
    "acknowledged": ":eyes:",
    "in_progress": ":hammer_and_wrench:",
    "resolved": ":white_check_mark:",
    "closed": ":lock:",
    "reopened": ":leftwards_arrow_with_hook:",
}
PRIMARY_VERBS = (Verb.ACK, Verb.START, Verb.RESOLVE)


def verb_action_id(verb: str) -> str:
    return f"{IssueId.DO_PREFIX}{verb}"


def button_value(issue: Issue) -> str:
    return f"{issue.id}:{issue.version}"


def status_label(locale: str, status: str) -> str:
    return plain(locale, f"issues.status.{status}")


def kind_label(locale: str, kind: str) -> str:
    return plain(locale, f"issues.kind.{kind}")


# -------------------------------------------------------------------------------- the modals


_NEW_ISSUE_MODAL = ui.Modal(IssueId.NEW_MODAL, "issues.modal.new_title", "common.create")


def new_issue_modal(
    locale: str,
    *,
    projects: list[Project],
    project: Project | None,
    defaults: IssueInput,
    reporter_choice: bool,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Log an issue. ``source`` (channel, ts) when logged from a message, kept for its permalink."""
    field = ui.Fields(locale, "issues")
    blocks: list[Any] = []
    metadata: dict[str, Any] = dict(source or {})
    if project is not None:
        metadata["project_id"] = project.id
        blocks.append(ui.context(t(locale, "issues.modal.logging_in", code=project.code)))
    else:
        blocks.append(field.project(projects))
    if source:
        blocks.append(ui.context(t(locale, "issues.modal.from_message")))
    blocks += [
        field.text("title", initial=defaults.title, max_length=TITLE_LIMIT),
        field.paragraph(
            "description",
            initial=defaults.description,
            max_length=DESCRIPTION_LIMIT,
        ),
        field.choice("kind", "issues.kind", KINDS, initial=defaults.kind or "issue"),
        module_input(field, defaults.module, MODULE_LIMIT),
        field.choice("priority", "issues.priority", PRIORITIES, initial=defaults.priority or "P3"),
    ]
    if reporter_choice:
        blocks.append(field.user("reporter_id", label="reporter", initial=defaults.reporter_id))
    blocks += [
        field.user("owner_id", label="owner", optional=True),
        field.date("due_date", label="due", optional=True, hint=field.hint("due")),
    ]
    return _NEW_ISSUE_MODAL(locale, blocks, metadata)


def action_modal(locale: str, project: Project, issue: Issue, verb: str) -> dict[str, Any]:
    """Ask what a change needs: an owner, a priority, a date, an update or a resolution."""
    key = issue_key(project, issue)
    blocks: list[Any] = [
        ui.section(t(locale, "issues.modal.action_intro", ref=key, title=issue.title))
    ]
    field = ui.Fields(locale, "issues")
    if verb == Verb.ASSIGN:
        blocks.append(field.user("owner_id", label="owner", initial=issue.owner_id))
    elif verb == Verb.PRIORITY:
        blocks.append(
            field.choice("priority", "issues.priority", PRIORITIES, initial=issue.priority)
        )
    elif verb == Verb.DUE:
        blocks.append(field.date("due_date", label="due", initial=issue.due_date))
    elif verb == Verb.UPDATE:
        blocks.append(field.text("text", label="update", multiline=True, max_length=TEXT_LIMIT))
    elif verb == Verb.RESOLVE:
        blocks.append(field.text("resolution", multiline=True, max_length=TEXT_LIMIT))
    submit = plain(locale, "common.save")
    if verb_action_id(verb) in CONFIRMED:  # chosen in a menu, which asks nothing: this form asks
        params = {"ref": key, "title": issue.title}
        blocks.append(ui.section(t(locale, f"issues.confirm.{verb}.text", **params)))
        submit = plain(locale, f"issues.confirm.{verb}.yes", **params)
    return ui.modal(
        callback_id=IssueId.ACTION_MODAL,
        title=plain(locale, f"issues.verb.{verb}"),
        submit=submit,
        close=plain(locale, "common.cancel"),
        blocks=blocks,
        private_metadata={"issue_id": issue.id, "verb": verb, "version": issue.version},
    )


_RATING_MODAL = ui.Modal(IssueId.RATING_MODAL, "issues.modal.rating_title", "common.save")


def rating_modal(locale: str, project: Project, issue: Issue, rating: int | None) -> dict[str, Any]:
    blocks = [
        ui.section(
            t(
                locale,
                "issues.rating.question",
                ref=issue_key(project, issue),
                title=issue.title,
            )
        ),
        ui.select_input(
            "rating",
            plain(locale, "issues.field.rating"),
            [(str(n), plain(locale, f"issues.rating.label{n}")) for n in range(1, 6)],
            initial=str(rating) if rating else None,
        ),
        ui.text_input(
            "comment",
            plain(locale, "issues.field.comment"),
            multiline=True,
            optional=True,
            max_length=COMMENT_LIMIT,
        ),
    ]
    return _RATING_MODAL(locale, blocks, {"issue_id": issue.id})


# ----------------------------------------------------------------------- the issue's message


def _summary_fields(locale: str, project: Project, issue: Issue) -> list[str]:
    items = [
        t(
            locale,
            "issues.card.status",
            status=STATUS_EMOJI.get(issue.status, "") + " " + status_label(locale, issue.status),
        ),
        t(
            locale,
            "issues.card.priority",
            priority=plain(locale, f"issues.priority.{issue.priority}"),
        ),
        t(locale, "issues.card.kind", kind=kind_label(locale, issue.kind)),
        t(locale, "issues.card.module", module=issue.module or "—"),
        t(locale, "issues.card.reporter", reporter=issue.reporter_id),
        t(locale, "issues.card.owner", owner=issue.owner_id),
        t(locale, "issues.card.due", due=issue.due_date.isoformat()),
    ]
    if issue.rating:
        items.append(t(locale, "issues.card.rating", rating=issue.rating))
    return items


def issue_message(
    locale: str, project: Project, issue: Issue, verbs: list[str], *, personal: bool = False
) -> dict[str, Any]:
    """The issue with the buttons of ``verbs``: in its channel (read by everyone) the next step and
    the common ones, the rest in a menu; ``personal`` (shown to one person: ``verbs`` are theirs)
    every one."""
    key = issue_key(project, issue)
    title = plain(locale, "issues.card.title", ref=key, title=issue.title)
    blocks: list[Block] = [ui.header(title)]
    if issue.description:
        blocks.append(ui.section(t(locale, "issues.card.description", text=issue.description)))
    blocks.append(ui.fields(_summary_fields(locale, project, issue)))
    if issue.resolution:
        blocks.append(ui.section(t(locale, "issues.card.resolution", text=issue.resolution)))
    context = [t(locale, "issues.card.logged", ref=key, by=issue.created_by)]
    if issue.source_permalink:
        context.append(t(locale, "issues.card.source", url=issue.source_permalink))
    blocks.append(ui.context(*context))
    if verbs and personal:
        blocks.append(_verb_buttons(locale, project, issue, verbs, block_id=f"issue_{issue.id}"))
    elif verbs:
        blocks.append(_card_buttons(locale, project, issue, verbs, block_id=f"issue_{issue.id}"))
    if issue.kind == "change_request" and verbs:
        label = plain(locale, "issues.open_change_request")
        button = ui.button(label, ChangeId.FROM_ISSUE, str(issue.id))
        blocks.append(ui.actions(button, block_id=f"issue_change_{issue.id}"))
    return ui.message(card_text(locale, project, issue), blocks)


def card_text(locale: str, project: Project, issue: Issue) -> str:
    """The card's notification text: the issue, when it is due and where it stands."""
    return ui.notification(
        locale,
        t(locale, "issues.card.title", ref=issue_key(project, issue), title=issue.title),
        when=t(locale, "issues.notify.due", due=issue.due_date.isoformat()),
        state=t(
            locale,
            "issues.notify.state",
            status=status_label(locale, issue.status),
            priority=plain(locale, f"issues.priority.{issue.priority}"),
            owner=issue.owner_id,
        ),
    )


def _next_step(verbs: list[str]) -> str | None:
    """The lifecycle's next move among ``verbs``, the one primary button."""
    return next((verb for verb in PRIMARY_VERBS if verb in verbs), None)


def verb_button(
    locale: str, project: Project, issue: Issue, verb: str, *, primary: bool = False
) -> ButtonElement:
    """A verb's button; one that cannot be undone (``CONFIRMED``) asks first, naming the issue."""
    action = verb_action_id(verb)
    confirm = None
    if action in CONFIRMED:
        confirm = ui.confirmed(
            locale,
            f"issues.confirm.{verb}",
            danger=verb == Verb.DELETE,
            ref=issue_key(project, issue),
            title=issue.title,
        )
    return ui.button(
        plain(locale, f"issues.verb.{verb}"),
        action,
        button_value(issue),
        style="primary" if primary else None,
        confirm=confirm,
    )


def _verb_buttons(
    locale: str, project: Project, issue: Issue, verbs: list[str], *, block_id: str
) -> ActionsBlock:
    primary = _next_step(verbs)
    return ui.actions(
        *[verb_button(locale, project, issue, verb, primary=verb == primary) for verb in verbs],
        block_id=block_id,
    )


# On the channel's card: the next step and these, when the state allows them; the rest in the menu.
CARD_VERBS = (Verb.ASSIGN, Verb.UPDATE, Verb.REOPEN)


def _card_buttons(
    locale: str, project: Project, issue: Issue, verbs: list[str], *, block_id: str
) -> ActionsBlock:
    """The card everyone in the channel reads: the next step (primary) and the common verbs as
    buttons, the others in an overflow menu, last "Details and all actions…" (the issue's detail
    with the reader's own actions). A menu option that cannot be undone opens its form, which
    asks first (the handler sees to it)."""
    primary = _next_step(verbs)
    shown = [verb for verb in verbs if verb == primary or verb in CARD_VERBS]
    rest = [verb for verb in verbs if verb not in shown]
    choices = [
        (plain(locale, f"issues.verb.{verb}"), verb_action_id(verb), button_value(issue))
        for verb in rest[:4]
    ]
    choices.append((plain(locale, "issues.menu.more"), IssueId.HOME_OPEN, str(issue.id)))
    elements: list[Any] = [
        verb_button(locale, project, issue, verb, primary=verb == primary) for verb in shown
    ]
    menu = ui.more_menu(IssueId.MORE, choices)
    if menu is not None:
        elements.append(menu)
    return ui.actions(*elements, block_id=block_id)


def history_text(locale: str, project: Project, issue: Issue, entry: IssueHistory) -> str:
    """One history entry as people read it in the thread and in DMs."""
    detail = entry.detail or {}
    return t(
        locale,
        f"issues.history.{entry.action}",
        ref=issue_key(project, issue),
        actor=entry.actor_id,
        status=status_label(locale, entry.to_status or issue.status),
        text=detail.get("text", ""),
        owner=detail.get("owner"),
        priority=detail.get("priority", ""),
        due=detail.get("due", ""),
        rating=detail.get("rating", ""),
        comment=detail.get("comment", ""),
        breach=plain(locale, f"issues.breach.{detail.get('breach', 'resolution')}"),
        days=detail.get("days", ""),
        title=issue.title,
    )


def change_confirmation(
    locale: str, project: Project, issue: Issue, entry: IssueHistory | None
) -> str:
    """What the person who made a change is told: the change in the words of its history entry
    ("@pia assigned ERP-2 to @tom."), and the status the issue is in now."""
    status = status_label(locale, issue.status)
    if entry is None:
        return t(locale, "issues.now", ref=issue_key(project, issue), status=status)
    return t(
        locale,
        "issues.done",
        change=Markup(history_text(locale, project, issue, entry)),
        status=status,
    )


def thread_reply(
    locale: str, project: Project, issue: Issue, entry: IssueHistory
) -> dict[str, Any]:
    text = history_text(locale, project, issue, entry)
    return ui.message(text, [ui.section(text)])


def escalation_replies(locale: str, project: Project, kind: str) -> Callable[[Issue], dict]:
    """The thread reply noting an escalation (the words ``thread_reply`` gives its history entry)
    as plain payloads, rendered once per project and kind: a first run can queue thousands."""
    marker = "\x00ref\x00"
    text = t(
        locale,
        "issues.history.escalated",
        ref=Markup(marker),
        breach=plain(locale, f"issues.breach.{kind}"),
    )

    def reply(issue: Issue) -> dict[str, Any]:
        filled = text.replace(marker, escape_mrkdwn(issue_key(project, issue)))
        return {"text": filled, "blocks": [{"type": "section", "text": ui.mrkdwn(filled)}]}

    return reply


def created_confirmation(
    locale: str, project: Project, issue: Issue, permalink: str | None, channel_id: str | None
) -> dict[str, Any]:
    text = t(
        locale,
        "issues.dm.created",
        ref=issue_key(project, issue),
        title=issue.title,
        due=issue.due_date.isoformat(),
        channel=channel_id,
        url=permalink or "",
    )
    return ui.message(text, [ui.section(text)])


def change_dm(
    locale: str, project: Project, issue: Issue, entry: IssueHistory, permalink: str | None
) -> dict[str, Any]:
    text = history_text(locale, project, issue, entry)
    blocks: list[Block] = [ui.section(text)]
    if permalink:
        blocks.append(ui.context(t(locale, "issues.dm.see_issue", url=permalink)))
    return ui.message(text, blocks)


def rating_request(
    locale: str, project: Project, issue: Issue, entry: IssueHistory
) -> dict[str, Any]:
    """To the reporter on resolution: rate 1–5, comment, or reopen."""
    key = issue_key(project, issue)
    text = t(
        locale,
        "issues.rating.ask",
        ref=key,
        title=issue.title,
        resolution=issue.resolution or "",
        actor=entry.actor_id,
    )
    value = f"{issue.id}"
    stars = [
        ui.button(
            label,
            f"{IssueId.RATE}_{n}",
            f"{value}:{n}",
            accessibility_label=plain(locale, "issues.rating.spoken", label=label),
        )
        for n, label in ((n, plain(locale, f"issues.rating.label{n}")) for n in range(1, 6))
    ]
    return ui.message(
        text,
        [
            ui.section(text),
            ui.actions(*stars, block_id=f"rate_{issue.id}"),
            ui.actions(
                ui.button(plain(locale, "issues.rating.comment"), IssueId.RATE_COMMENT, value),
                ui.button(
                    plain(locale, "issues.rating.reopen"),
                    IssueId.RATE_REOPEN,
                    button_value(issue),
                ),
                block_id=f"rate_more_{issue.id}",
            ),
        ],
    )


def rated_message(locale: str, project: Project, issue: Issue) -> dict[str, Any]:
    text = t(
        locale, "issues.rating.thanks", ref=issue_key(project, issue), rating=issue.rating or 0
    )
    return ui.message(text, [ui.section(text)])


# ----------------------------------------------------------------------- reminders, escalation


def reminder_dm(
    locale: str, owner_id: str, items: list[tuple[Issue, Project]], today: date, tz: str
) -> dict[str, Any]:
    """One DM per owner per day listing all their overdue issues, with snooze controls."""
    shown = items[:30]
    title = t(locale, "issues.reminder.title", count=len(items))
    lines = [
        t(
            locale,
            "issues.reminder.line",
            ref=issue_key(project, issue),
            title=issue.title,
            priority=issue.priority,
            due=issue.due_date.isoformat(),
            days=(today - issue.due_date).days,
            status=status_label(locale, issue.status),
        )
        for issue, project in shown
    ]
    ids = ",".join(str(issue.id) for issue, _ in shown)
    blocks: list[Block] = [ui.section(title), ui.section("\n".join(lines))]
    if len(items) > len(shown):
        blocks.append(ui.context(t(locale, "common.more", count=len(items) - len(shown))))
    blocks.append(
        ActionsBlock(
            block_id=f"snooze:{ids}"[:255],
            elements=[
                ui.button(plain(locale, "issues.reminder.tomorrow"), IssueId.REMIND_TOMORROW, ids),
                DatePickerElement(
                    action_id=IssueId.SNOOZE_UNTIL,
                    placeholder=PlainTextObject(text=plain(locale, "issues.reminder.snooze")),
                ),
            ],
        )
    )
    first_issue, first_project = shown[0]
    example = {"ref": issue_key(first_project, first_issue), "day": today + timedelta(days=7)}
    blocks.append(ui.context(t(locale, "issues.reminder.hint", **example)))
    return ui.message(ui.list_text(locale, title, lines[0].removeprefix("• ")), blocks)


ESCALATION_BUTTONS = 10  # the worst breaches get an "Open" button each
ESCALATION_LINES = 40  # then plain lines; the rest are counted


def escalation_line(locale: str, breach: Breach) -> str:
    issue, project = breach.issue, breach.project
    return t(
        locale,
        f"issues.escalation.{breach.kind}",
        ref=issue_key(project, issue),
        title=issue.title,
        priority=issue.priority,
        owner=issue.owner_id,
        reporter=issue.reporter_id,
        due=issue.due_date.isoformat(),
        when=slack_date(issue.created_at, project.timezone),
    )


def escalation_dm(locale: str, found: list[Breach]) -> dict[str, Any]:
    """One DM per PM per run: how many breaches, by kind, then the worst first (highest priority,
    longest past its level); the first ones with a button that opens the issue."""
    ordered = sorted(found, key=Breach.worst_first)
    kinds = {kind: sum(1 for b in found if b.kind == kind) for kind in BREACH_KINDS}
    title = t(locale, "issues.escalation.title", count=len(found))
    summary = t(locale, "issues.escalation.summary", **kinds)
    worst = escalation_line(locale, ordered[0]) if ordered else None
    blocks: list[Block] = [ui.section(title), ui.context(summary)]
    for breach in ordered[:ESCALATION_BUTTONS]:
        blocks.append(
            ui.section(
                escalation_line(locale, breach),
                accessory=ui.button(
                    plain(locale, "issues.home.open"), IssueId.HOME_OPEN, str(breach.issue.id)
                ),
            )
        )
    rest = [escalation_line(locale, b) for b in ordered[ESCALATION_BUTTONS:ESCALATION_LINES]]
    blocks += ui.line_sections(rest)
    if len(ordered) > ESCALATION_LINES:
        blocks.append(ui.context(t(locale, "common.more", count=len(ordered) - ESCALATION_LINES)))
    blocks.append(ui.context(t(locale, "issues.escalation.hint")))
    return ui.message(ui.list_text(locale, f"{title} {summary}", worst), blocks)


# ----------------------------------------------------------------------------- lists, Home


def issue_line(locale: str, project: Project, issue: Issue, now: datetime) -> str:
    return t(
        locale,
        "issues.list.line",
        ref=issue_key(project, issue),
        title=issue.title,
        status=STATUS_EMOJI.get(issue.status, "") + " " + status_label(locale, issue.status),
        priority=issue.priority,
        owner=issue.owner_id,
        due=issue.due_date.isoformat(),
        overdue=is_overdue(issue, now),
    )


def list_message(
    locale: str, found: IssuePage, query: ListQuery, raw_query: str, now: datetime
) -> dict[str, Any]:
    total, page, pages, shown = found.total, found.page, found.pages, found.items
    title = t(
        locale,
        "issues.list.title",
        scope=plain(locale, f"issues.list.scope_{query.scope}"),
        count=total,
    )
    blocks: list[Block] = [ui.section(title)]
    if not shown:
        blocks.append(ui.context(t(locale, "issues.list.empty")))
        return ui.message(title, blocks)
    blocks.append(ui.section("\n".join(issue_line(locale, p, i, now) for i, p in shown)))
    if pages > 1:
        buttons = []
        if page > 1:
            buttons.append(
                ui.button(
                    plain(locale, "issues.list.previous"),
                    f"{IssueId.LIST_PAGE}_prev",
                    f"{page - 1}|{raw_query}"[:2000],
                )
            )
        if page < pages:
            buttons.append(
                ui.button(
                    plain(locale, "issues.list.next"),
                    f"{IssueId.LIST_PAGE}_next",
                    f"{page + 1}|{raw_query}"[:2000],
                )
            )
        blocks.append(ui.context(t(locale, "issues.list.page", page=page, pages=pages)))
        blocks.append(ui.actions(*buttons, block_id="issue_list_pages"))
    return ui.message(title, blocks)


HOME_PAGE = 5  # issues per page of the Home tab


def key_user_home_part(
    locale: str,
    user_id: str,
    items: list[tuple[Issue, Project]],
    total: int,
    projects: list[Project],
    now: datetime,
    *,
    page: int = 0,
) -> list[Block]:
    """Someone's open issues: ``items`` is page ``page`` (``HOME_PAGE`` at a time) of ``total``,
    with "Show more". At most 9 blocks."""
    if not items and not projects:
        return []
    blocks: list[Block] = [ui.header(plain(locale, "issues.home.mine_title", count=total))]
    pages = max((total + HOME_PAGE - 1) // HOME_PAGE, 1)
    if items:
        for issue, project in items[:HOME_PAGE]:
            # A resolved issue waits for its reporter's rating: given from here.
            waits_for_rating = issue.status == IssueStatus.RESOLVED and issue.reporter_id == user_id
            accessory = (
                ui.button(plain(locale, "issues.home.rate"), IssueId.RATE_COMMENT, str(issue.id))
                if waits_for_rating
                else ui.button(plain(locale, "issues.home.open"), IssueId.HOME_OPEN, str(issue.id))
            )
            blocks.append(ui.section(issue_line(locale, project, issue, now), accessory=accessory))
    else:
        blocks.append(ui.context(t(locale, "issues.home.none")))
    buttons = [ui.button(plain(locale, "issues.home.log"), IssueId.HOME_LOG, "", style="primary")]
    if total > HOME_PAGE:
        first, last = page * HOME_PAGE + 1, min((page + 1) * HOME_PAGE, total)
        blocks.append(ui.context(t(locale, "dashboard.page", first=first, last=last, total=total)))
        if page + 1 < pages:
            buttons.append(
                ui.button(
                    plain(locale, "dashboard.show_more"), DigestId.HOME_PAGE, f"issues:0:{page + 1}"
                )
            )
        if page:
            buttons.append(
                ui.button(
                    plain(locale, "dashboard.show_less"),
                    DigestId.HOME_PAGE_BACK,
                    f"issues:0:{page - 1}",
                )
            )
    blocks.append(ui.actions(*buttons, block_id="issue_home_log"))
    return blocks


def issue_detail_modal(
    locale: str, project: Project, issue: Issue, verbs: list[str], entries: list[IssueHistory]
) -> dict[str, Any]:
    """An issue opened from the Home tab: details, recent history and what the viewer may do."""
    message = issue_message(locale, project, issue, [])
    blocks: list[Any] = [Block.parse(b) for b in message.get("blocks", [])]
    recent = entries[-8:]
    if recent:
        blocks.append(ui.divider())
        blocks.append(
            ui.section("\n".join(history_text(locale, project, issue, e) for e in recent))
        )
    if verbs:
        blocks.append(
            _verb_buttons(
                locale,
                project,
                issue,
                [v for v in verbs if v != Verb.DELETE],
                block_id=f"detail_{issue.id}",
            )
        )
    return ui.modal(
        callback_id=IssueId.DETAIL_MODAL,
        title=issue_key(project, issue),
        close=plain(locale, "common.close"),
        blocks=blocks,
        private_metadata={"issue_id": issue.id},
    )


def service_levels_text(
    locale: str, project: Project, levels: ServiceLevels, *, changed: bool
) -> str:
    lines = [
        t(
            locale,
            "issues.sla.line",
            priority=plain(locale, f"issues.priority.{priority}"),
            hours=levels.first_response_hours[priority],
            days=levels.resolution_days[priority],
        )
        for priority in PRIORITIES
    ]
    return (
        t(
            locale,
            "issues.sla.title",
            code=project.code,
            changed=changed,
            timezone=project.timezone,
            auto_close=levels.auto_close_days,
        )
        + "\n"
        + "\n".join(lines)
    )
