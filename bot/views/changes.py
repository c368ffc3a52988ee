"""Change requests: the form, the settings form, the card with its history and buttons, the
channel post and its thread replies, lists, DMs and the Home part (pure builders: data in, Block
Kit out)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.i18n import joined, plain, t
from bot.ids import ChangeId
from bot.services import approvals
from bot.services.changes import (
    ESTIMATE_LIMIT,
    MAX_HOURS,
    PROCESSES_LIMIT,
    REASON_LIMIT,
    RULES,
    TITLE_LIMIT,
    ChangeInput,
    ChangePage,
    Detail,
    change_ref,
    local_time,
)
from bot.views import approvals as approval_views
from bot.views import common as ui
from storage.models import Approval, ChangeHistory, ChangeRequest, Project, TrainingModule

LIST_PAGE_SIZE = 15
HISTORY_SHOWN = 15
SPAWN_BUTTONS = 5
ESTIMATES = ("impact_scope", "impact_schedule", "impact_cost", "impact_training")
NEW_MODAL = ui.Modal(ChangeId.NEW_MODAL, "change.modal.new_title", "common.create")
EDIT_MODAL = ui.Modal(ChangeId.EDIT_MODAL, "change.modal.edit_title", "common.save")
SETTINGS_MODAL = ui.Modal(ChangeId.SETTINGS_MODAL, "change.modal.settings_title", "common.save")
HOME_SHOWN = 10


def card_value(change: ChangeRequest) -> str:
    return f"{change.id}:{change.version}"


def status_label(locale: str, status: str) -> str:
    return plain(locale, f"change.status.{status}")


# -------------------------------------------------------------------------------- the forms


def new_change_modal(
    locale: str,
    *,
    project: Project,
    defaults: ChangeInput,
    team: bool,
    modules: list[TrainingModule],
    own_module: str | None,
    editing: ChangeRequest | None = None,
) -> dict[str, Any]:
    """A change request: what, why, modules and processes, impact, requester, decision makers.
    A key user's form has their module fixed and no requester choice. ``editing``: the request
    a new version is made of (its id and version in the metadata, checked again on saving)."""
    form = ui.Fields(locale, "change")
    metadata: dict[str, Any] = {"project_id": project.id}
    if defaults.issue_id:
        metadata["issue_id"] = defaults.issue_id
    blocks: list[Any] = [ui.context(t(locale, "change.modal.in_project", code=project.code))]
    if editing is not None:
        metadata.update(change_id=editing.id, version=editing.version)
        under_review = editing.status == "under_review"
        blocks.append(
            ui.context(
                t(
                    locale,
                    "change.modal.editing",
                    ref=change_ref(editing),
                    review=under_review,
                )
            )
        )
    blocks += [
        form.text("title", initial=defaults.title or None, max_length=TITLE_LIMIT),
        form.text(
            "reason", initial=defaults.reason or None, multiline=True, max_length=REASON_LIMIT
        ),
    ]
    if team:
        blocks.append(
            form.text(
                "modules",
                initial=defaults.modules or None,
                optional=True,
                max_length=300,
                hint=plain(locale, "change.hint.modules"),
            )
        )
    else:
        blocks.append(ui.context(t(locale, "change.modal.own_module", module=own_module or "—")))
    blocks.append(
        form.text(
            "processes",
            initial=defaults.processes or None,
            optional=True,
            max_length=PROCESSES_LIMIT,
        )
    )
    for name in ESTIMATES:
        blocks.append(
            form.text(
                name,
                initial=getattr(defaults, name) or None,
                optional=True,
                max_length=ESTIMATE_LIMIT,
                placeholder=plain(locale, f"change.hint.{name}"),
            )
        )
    if modules:
        blocks.append(
            form.select(
                "training_module",
                [(str(m.id), m.name) for m in modules],
                optional=True,
                initial=str(defaults.training_module) if defaults.training_module else None,
                hint=plain(locale, "change.hint.training_module"),
            )
        )
        blocks.append(
            form.number(
                "training_hours",
                initial=defaults.training_hours or None,
                optional=True,
                decimal=True,
                low=0,
                high=MAX_HOURS,
            )
        )
    if team:
        blocks.append(form.user("requested_by", initial=defaults.requested_by))
    blocks.append(ui.users_input("deciders", form.label("deciders"), initial=defaults.deciders))
    return (NEW_MODAL if editing is None else EDIT_MODAL)(locale, blocks, metadata)


def settings_modal(locale: str, project: Project, rule: str) -> dict[str, Any]:
    form = ui.Fields(locale, "change")
    blocks = [
        ui.context(t(locale, "change.modal.in_project", code=project.code)),
        form.radio("rule", "change.rules", RULES, initial=rule),
    ]
    return SETTINGS_MODAL(locale, blocks, {"project_id": project.id})


# ------------------------------------------------------------------------ what it says


def detail_lines(locale: str, change: ChangeRequest) -> list[str]:
    """The request's substance: why, modules and processes, impact, requester."""
    lines = [t(locale, "change.card.reason", text=change.reason)]
    if change.modules or change.processes:
        lines.append(
            t(
                locale,
                "change.card.affects",
                modules=joined(locale, change.modules) if change.modules else "—",
                processes=change.processes or "—",
            )
        )
    estimates = [
        t(locale, f"change.card.{name}", value=getattr(change, name))
        for name in ESTIMATES
        if getattr(change, name)
    ]
    if change.training_hours:
        estimates.append(
            t(locale, "change.card.training_hours", hours=f"{change.training_hours:g}")
        )
    if estimates:
        lines.append(" · ".join(estimates))
    lines.append(t(locale, "change.card.requested_by", person=change.requested_by))
    return lines


def history_line(locale: str, project: Project, entry: ChangeHistory) -> str:
    detail = entry.detail or {}
    edited = [name for name in detail.get("fields") or [] if isinstance(name, str)]
    return t(
        locale,
        f"change.history.{entry.action}",
        when=local_time(project, entry.at).strftime("%Y-%m-%d %H:%M"),
        by=entry.actor_id,
        comment=detail.get("comment") or "",
        version=detail.get("version") or "",
        rule=Markup(t(locale, f"approvals.rule.{detail['rule']}")) if detail.get("rule") else "",
        issue=detail.get("issue") or "",
        module=detail.get("module") or "",
        hours=f"{float(detail['hours']):g}" if detail.get("hours") else "",
        modules=joined(locale, detail.get("modules") or []),
        count=len(detail.get("deciders") or []),
        item=detail.get("item") or "",
        fields=joined(locale, [plain(locale, f"change.field.{_field(name)}") for name in edited]),
        review=bool(detail.get("review")),
    )


def _field(name: str) -> str:
    """A request's column as the form labels it."""
    return "training_module" if name == "training_module_id" else name


def _standing_lines(locale: str, found: Detail) -> list[str]:
    standing = found.standing
    if standing is None:
        return []
    lines = [approval_views.rule_text(locale, standing.approval)]
    for person in standing.deciders:
        decided = standing.decided.get(person)
        lines.append(
            t(
                locale,
                "change.card.decider",
                person=person,
                answer=plain(locale, f"change.answer.{decided or 'waiting'}"),
            )
        )
    return lines


def change_card(locale: str, found: Detail) -> dict[str, Any]:
    """A request with its decision, history and the buttons the person may use."""
    change, project = found.change, found.project
    ref = change_ref(change)
    title = plain(locale, "change.card.title", ref=ref, code=project.code, title=change.title)
    blocks: list[Block] = [ui.header(title)]
    blocks.append(
        ui.section(t(locale, "change.card.status", status=status_label(locale, change.status)))
    )
    blocks += ui.line_sections(detail_lines(locale, change))
    if found.origin:
        blocks.append(ui.context(t(locale, "change.card.origin", issue=found.origin)))
    if found.training_module:
        blocks.append(
            ui.context(t(locale, "change.card.training_module", module=found.training_module))
        )
    standing = _standing_lines(locale, found)
    if standing:
        blocks.append(ui.section(t(locale, "change.card.decision_title")))
        blocks += ui.line_sections(standing)
    lines = [history_line(locale, project, entry) for entry in found.history]
    shown = lines[-HISTORY_SHOWN:]
    blocks.append(ui.section(t(locale, "change.card.history_title")))
    if len(lines) > len(shown):
        blocks.append(ui.context(t(locale, "common.more", count=len(lines) - len(shown))))
    blocks += ui.line_sections(shown)
    value = card_value(change)
    buttons = []
    if found.can_manage:
        if change.status == "proposed":
            buttons.append(
                ui.button(
                    plain(locale, "change.verb.send"),
                    ChangeId.SEND,
                    value,
                    style="primary",
                    confirm=ui.confirmed(locale, "change.confirm_send", ref=ref, code=project.code),
                )
            )
        if change.status == "approved":
            buttons.append(
                ui.button(
                    plain(locale, "change.verb.implemented"),
                    ChangeId.IMPLEMENTED,
                    value,
                    style="primary",
                )
            )
        if change.status == "implemented":
            buttons.append(
                ui.button(
                    plain(locale, "change.verb.verified"), ChangeId.VERIFIED, value, style="primary"
                )
            )
        if change.status in ("approved", "implemented", "verified"):
            buttons += _spawn_buttons(locale, found, value)
    if buttons:
        blocks.append(ui.actions(*buttons, block_id=f"change_{change.id}"))
    blocks.append(
        ui.context(
            t(locale, "change.card.footer", ref=ref, code=project.code, by=change.created_by)
        )
    )
    return ui.message(title, blocks)


def _spawn_buttons(locale: str, found: Detail, value: str) -> list[Any]:
    change = found.change
    done = {(s.kind, s.module) for s in found.spawns}
    buttons = []
    for index, module in enumerate((change.modules or [""])[:SPAWN_BUTTONS]):
        if ("issue", module) not in done:
            label = plain(locale, "change.verb.spawn_issue", module=module)
            action = f"{ChangeId.SPAWN_ISSUE}_{index}"  # action ids are unique in a message
            buttons.append(ui.button(label, action, f"{value}:{module}"))
    if change.training_module_id and change.training_hours and ("training", "") not in done:
        buttons.append(
            ui.button(
                plain(locale, "change.verb.spawn_training", hours=f"{change.training_hours:g}"),
                ChangeId.SPAWN_TRAINING,
                value,
            )
        )
    if change.modules and ("plan", "") not in done:
        buttons.append(
            ui.button(plain(locale, "change.verb.spawn_plan"), ChangeId.SPAWN_PLAN, value)
        )
    return buttons


def done_text(locale: str, project: Project, change: ChangeRequest, what: str, **extra: Any) -> str:
    """The answer to a change, for the person who made it."""
    return t(
        locale,
        f"change.done.{what}",
        ref=change_ref(change),
        code=project.code,
        title=change.title,
        **extra,
    )


def settings_text(locale: str, project: Project, rule: str) -> str:
    return t(
        locale,
        "change.done.settings",
        code=project.code,
        rule=Markup(t(locale, f"approvals.rule.{rule}")),
    )


# ----------------------------------------------------------------- channel, thread, DMs


def _open_button(locale: str, change: ChangeRequest) -> Any:
    return ui.button(plain(locale, "change.open"), ChangeId.OPEN, str(change.id))


def channel_post(locale: str, project: Project, change: ChangeRequest, rule: str) -> dict[str, Any]:
    """The request in the project's channel when it goes for review; its thread gets each step."""
    title = t(
        locale, "change.post.title", ref=change_ref(change), code=project.code, title=change.title
    )
    blocks: list[Block] = [ui.section(title, accessory=_open_button(locale, change))]
    blocks += ui.line_sections(detail_lines(locale, change))
    blocks.append(
        ui.context(
            t(
                locale,
                "change.post.deciders",
                people=change.deciders,
                rule=Markup(t(locale, f"approvals.rule.{rule}")),
            )
        )
    )
    text = ui.notification(
        locale, title, by=change.created_by, state=t(locale, f"change.status.{change.status}")
    )
    return ui.message(text, blocks)


# Steps whose line says the status they lead to: no "now …" after them.
SAYS_STATUS = ("approved", "rejected", "implemented", "verified")


def step_reply(
    locale: str,
    project: Project,
    change: ChangeRequest,
    entry: ChangeHistory,
    *,
    titled: bool = False,
) -> dict[str, Any]:
    """One step of a request: an answer, the decision, a move. ``titled`` (a DM, away from the
    request's post) names the request's title too; the status follows unless the step says it."""
    text = t(
        locale,
        "change.step",
        ref=change_ref(change),
        code=project.code,
        title=change.title if titled else "",
        line=Markup(history_line(locale, project, entry)),
        status=status_label(locale, change.status) if entry.action not in SAYS_STATUS else "",
    )
    return ui.message(text, [ui.section(text)])


def proposed_dm(locale: str, project: Project, change: ChangeRequest) -> dict[str, Any]:
    """To each PM: a key user proposed a change; the team sends it for review."""
    text = t(
        locale,
        "change.proposed_dm",
        ref=change_ref(change),
        code=project.code,
        title=change.title,
        by=change.created_by,
    )
    section = ui.section(
        text, accessory=_open_button(locale, change), block_id=f"change_{change.id}"
    )
    return ui.message(text, [section])


def approvals_ask(locale: str, approval: Approval, summary: approvals.Summary) -> dict[str, Any]:
    return approval_views.ask_dm(locale, approval, summary)


# ------------------------------------------------------------------------------ lists


def change_line(locale: str, change: ChangeRequest) -> str:
    return t(
        locale,
        "change.list.line",
        ref=change_ref(change),
        title=change.title,
        status=status_label(locale, change.status),
        by=change.requested_by,
        modules=joined(locale, change.modules),
    )


def list_message(locale: str, found: ChangePage, command: str) -> dict[str, Any]:
    project = found.project
    title = t(
        locale,
        "change.list.title",
        code=project.code,
        scope=plain(locale, f"change.list.scope_{found.scope}"),
        count=found.total,
    )
    return ui.paged_list(
        locale,
        "change",
        title,
        [change_line(locale, c) for c in found.items],
        empty=t(locale, "change.list.empty", command=command),
        hint=t(locale, "change.list.hint", command=command, code=project.code),
        page=found.page,
        pages=found.pages,
        action=ChangeId.LIST_PAGE,
        value=f"{project.id}|{found.scope}",
    )


# ---------------------------------------------------------------------------- Home tab


def home_part(
    locale: str,
    user_id: str,
    rows: list[tuple[ChangeRequest, Project, str | None, int | None]],
) -> list[Block]:
    """What waits for the person's decision (Decide: the request and its answers), then what
    waits for whom in their projects, then the proposals waiting for the team to send them
    (Open: the request's card)."""
    from bot.ids import ApprovalId

    mine = [(c, p, a) for c, p, person, a in rows if person == user_id]
    others: dict[int, tuple[ChangeRequest, Project, list[str]]] = {}
    proposals = [(c, p) for c, p, person, _a in rows if person is None]
    for change, project, person, _approval in rows:
        if person is not None and person != user_id:
            others.setdefault(change.id or 0, (change, project, []))[2].append(person)
    decide = plain(locale, "change.home.decide")
    open_card = plain(locale, "approvals.verb.open")
    blocks: list[Block] = [
        ui.section(
            t(locale, "change.home.yours", ref=change_ref(c), code=p.code, title=c.title),
            accessory=ui.button(decide, ApprovalId.OPEN, str(approval), style="primary"),
            block_id=f"change_decide_{approval}",
        )
        for c, p, approval in mine[:HOME_SHOWN]
    ]
    blocks += [
        ui.section(
            t(
                locale,
                "change.home.waiting",
                ref=change_ref(c),
                code=p.code,
                title=c.title,
                people=people,
            ),
            accessory=ui.button(open_card, ChangeId.OPEN, str(c.id)),
            block_id=f"change_waiting_{c.id}",
        )
        for c, p, people in list(others.values())[:HOME_SHOWN]
    ]
    blocks += [
        ui.section(
            t(
                locale,
                "change.home.proposed",
                ref=change_ref(c),
                code=p.code,
                title=c.title,
                by=c.created_by,
            ),
            accessory=ui.button(open_card, ChangeId.OPEN, str(c.id)),
            block_id=f"change_proposed_{c.id}",
        )
        for c, p in proposals[:HOME_SHOWN]
    ]
    return ui.titled(plain(locale, "change.home.title"), blocks)
