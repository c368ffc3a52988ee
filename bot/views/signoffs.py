"""Sign-offs: the forms (a new sign-off, a new version), the view with its signers, blocking issues
and trail, the channel post and its thread replies, the signers' DM, lists and the Home part
(pure builders: data in, Block Kit out)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.i18n import escape_mrkdwn, plain, t
from bot.ids import SignOffId
from bot.services import approvals
from bot.services import issues as issue_service
from bot.services import keyusers as keyuser_service
from bot.services.signoffs import (
    KINDS,
    LINK_LIMIT,
    MODULE_LIMIT,
    RULES,
    TEXT_LIMIT,
    TITLE_LIMIT,
    Detail,
    Page,
    TrailEntry,
    Waiting,
    local_time,
    ref,
)
from bot.views import approvals as approval_views
from bot.views import common as ui
from bot.views import golive as golive_views
from storage.models import Approval, Issue, Project, SignOff, SignOffVersion

LIST_PAGE_SIZE = 15
TRAIL_SHOWN = 20
ISSUES_SHOWN = 10
HOME_SHOWN = 10
NEW_MODAL = ui.Modal(SignOffId.NEW_MODAL, "signoff.modal.new_title", "common.send")
VERSION_MODAL = ui.Modal(SignOffId.VERSION_MODAL, "signoff.modal.version_title", "common.send")


def kind_label(locale: str, kind: str) -> str:
    return plain(locale, f"signoff.kind.{kind}")


def status_label(locale: str, status: str) -> str:
    return plain(locale, f"signoff.status.{status}")


def rule_line(locale: str, signoff: SignOff) -> str:
    return t(locale, f"signoff.rule.{signoff.rule}", person=signoff.named_id or "")


# -------------------------------------------------------------------------------- the forms


def new_modal(locale: str, *, project: Project) -> dict[str, Any]:
    """What is signed, its text or link, who signs, the rule, the due date."""
    form = ui.Fields(locale, "signoff")
    blocks: list[Any] = [
        ui.context(t(locale, "signoff.modal.in_project", code=project.code)),
        form.choice("kind", "signoff.kind", KINDS, initial="blueprint"),
        form.text("title", max_length=TITLE_LIMIT),
        form.text("text", multiline=True, optional=True, max_length=TEXT_LIMIT),
        form.text("link", optional=True, max_length=LINK_LIMIT, hint=form.hint("link")),
        form.text("module", optional=True, max_length=MODULE_LIMIT, hint=form.hint("module")),
        form.users("people", optional=True),
        form.multi(
            "roles",
            ui.labelled(locale, "roles", keyuser_service.ROLES),
            [],
        ),
        form.checkboxes(
            "module_key_users",
            [("yes", plain(locale, "signoff.field.module_key_users_yes"))],
        ),
        form.radio("rule", "signoff.rules", RULES, initial="all"),
        form.user("named", optional=True),
        form.date("due_on", optional=True),
    ]
    return NEW_MODAL(locale, blocks, {"project_id": project.id})


def version_modal(
    locale: str, *, project: Project, signoff: SignOff, current: SignOffVersion | None
) -> dict[str, Any]:
    """A new version: its text or link; the signers are asked again."""
    form = ui.Fields(locale, "signoff")
    blocks: list[Any] = [
        ui.section(
            t(
                locale,
                "signoff.modal.version_about",
                ref=ref(signoff),
                code=project.code,
                title=signoff.title,
                version=signoff.version + 1,
            )
        ),
        form.text(
            "text",
            multiline=True,
            optional=True,
            max_length=TEXT_LIMIT,
            initial=(current.text if current else None),
        ),
        form.text(
            "link",
            optional=True,
            max_length=LINK_LIMIT,
            initial=(current.link if current else None),
        ),
    ]
    metadata = {"project_id": project.id, "signoff_id": signoff.id, "version": signoff.version}
    return VERSION_MODAL(locale, blocks, metadata)


# ------------------------------------------------------------------------ what it says


def issue_refs(project: Project, issues: list[Issue]) -> str:
    return ", ".join(issue_service.issue_key(project, issue) for issue in issues[:ISSUES_SHOWN])


def detail_lines(
    locale: str,
    project: Project,
    signoff: SignOff,
    version: SignOffVersion | None,
    blocking: list[Issue],
    *,
    gate: bool = True,
) -> list[str]:
    """What is signed: kind, module, version, text, link, due date, what blocks it and, for a
    go-live sign-off, the go-live gate the version kept (``gate``: not in the project's channel,
    where people who may not see the gate read)."""
    lines = [
        t(
            locale,
            "signoff.card.what",
            kind=kind_label(locale, signoff.kind),
            module=signoff.module or "",
            version=signoff.version,
            due=signoff.due_on.isoformat() if signoff.due_on else "",
        )
    ]
    if version is not None and version.text:
        lines.append(escape_mrkdwn(version.text))  # as the requester wrote it
    if version is not None and version.link:
        lines.append(t(locale, "signoff.card.link", link=version.link))
    if gate and version is not None and version.gate:
        lines += golive_views.snapshot_lines(locale, version.gate)
    if blocking:
        lines.append(
            t(
                locale,
                "signoff.card.blocking",
                count=len(blocking),
                issues=issue_refs(project, blocking),
            )
        )
    return lines


def trail_line(locale: str, project: Project, entry: TrailEntry) -> str:
    return t(
        locale,
        f"signoff.trail.{entry.answer}",
        version=entry.version,
        when=local_time(project, entry.at).strftime("%Y-%m-%d %H:%M"),
        by=entry.user_id,
        comment=entry.comment or "",
    )


def card(locale: str, found: Detail) -> dict[str, Any]:
    """A sign-off with its signers, blocking issues, full trail and, for the team, New version."""
    signoff, project = found.signoff, found.project
    title = plain(
        locale, "signoff.card.title", ref=ref(signoff), code=project.code, title=signoff.title
    )
    blocks: list[Block] = [ui.header(title)]
    blocks.append(
        ui.section(t(locale, "signoff.card.status", status=status_label(locale, signoff.status)))
    )
    blocks += ui.line_sections(
        detail_lines(locale, project, signoff, found.version, found.blocking)
    )
    if found.version is not None:
        made = found.version
        blocks.append(
            ui.context(
                t(
                    locale,
                    "signoff.card.version_by",
                    version=made.version,
                    by=made.created_by,
                    when=local_time(project, made.created_at).strftime("%Y-%m-%d %H:%M"),
                )
            )
        )
    standing = found.standing
    if standing is not None:
        lines = [rule_line(locale, signoff)]
        for person in standing.deciders:
            decided = standing.decided.get(person)
            lines.append(
                t(
                    locale,
                    "signoff.card.signer",
                    person=person,
                    answer=plain(locale, f"signoff.answer.{decided or 'waiting'}"),
                )
            )
        blocks.append(ui.section(t(locale, "signoff.card.signers_title")))
        blocks += ui.line_sections(lines)
    if found.issues:
        blocks.append(
            ui.context(
                t(
                    locale,
                    "signoff.card.linked",
                    count=len(found.issues),
                    issues=issue_refs(project, found.issues),
                )
            )
        )
    lines = [trail_line(locale, project, entry) for entry in found.trail]
    shown = lines[-TRAIL_SHOWN:]
    blocks.append(ui.section(t(locale, "signoff.card.trail_title", count=len(lines))))
    if len(lines) > len(shown):
        blocks.append(
            ui.context(t(locale, "signoff.card.trail_more", count=len(lines) - len(shown)))
        )
    if not lines:
        blocks.append(ui.context(t(locale, "signoff.card.trail_empty")))
    blocks += ui.line_sections(shown)
    if found.can_manage and signoff.status != "approved":
        blocks.append(
            ui.actions(
                ui.button(
                    plain(locale, "signoff.verb.new_version"),
                    SignOffId.NEW_VERSION,
                    f"{signoff.id}:{signoff.version}",
                ),
                block_id=f"signoff_{signoff.id}",
            )
        )
    blocks.append(
        ui.context(
            t(
                locale,
                "signoff.card.footer",
                ref=ref(signoff),
                code=project.code,
                by=signoff.created_by,
            )
        )
    )
    return ui.message(title, blocks)


def done_text(locale: str, project: Project, signoff: SignOff, what: str) -> str:
    return t(
        locale,
        f"signoff.done.{what}",
        ref=ref(signoff),
        code=project.code,
        title=signoff.title,
        count=len(signoff.signers),
        version=signoff.version,
    )


# ----------------------------------------------------------------- channel, thread, DMs


def _open_button(locale: str, signoff: SignOff) -> Any:
    return ui.button(plain(locale, "signoff.open"), SignOffId.OPEN, str(signoff.id))


def channel_post(
    locale: str, project: Project, signoff: SignOff, version: SignOffVersion | None
) -> dict[str, Any]:
    """The sign-off in the project's channel; its thread records every answer."""
    title = t(
        locale,
        "signoff.post.title",
        ref=ref(signoff),
        code=project.code,
        title=signoff.title,
        kind=kind_label(locale, signoff.kind),
    )
    blocks: list[Block] = [ui.section(title, accessory=_open_button(locale, signoff))]
    blocks += ui.line_sections(detail_lines(locale, project, signoff, version, [], gate=False))
    blocks.append(
        ui.context(
            t(
                locale,
                "signoff.post.signers",
                people=signoff.signers,
                rule=Markup(rule_line(locale, signoff)),
            )
        )
    )
    text = ui.notification(
        locale, title, by=signoff.created_by, state=t(locale, f"signoff.status.{signoff.status}")
    )
    return ui.message(text, blocks)


def answer_reply(
    locale: str, project: Project, signoff: SignOff, entry: TrailEntry, outcome: str | None
) -> dict[str, Any]:
    """One answer in the post's thread (and, with an outcome, the sign-off's end)."""
    text = t(
        locale,
        "signoff.step.answer",
        ref=ref(signoff),
        code=project.code,
        line=Markup(trail_line(locale, project, entry)),
        outcome=outcome or "",
        status=status_label(locale, outcome) if outcome else "",
    )
    return ui.message(text, [ui.section(text)])


def version_reply(locale: str, project: Project, signoff: SignOff) -> dict[str, Any]:
    text = t(
        locale,
        "signoff.step.version",
        ref=ref(signoff),
        code=project.code,
        version=signoff.version,
        by=signoff.created_by,
        count=len(signoff.signers),
    )
    return ui.message(text, [ui.section(text)])


def blocked_notice(locale: str, project: Project, signoff: SignOff, issue: Issue) -> dict[str, Any]:
    """A P1/P2 issue logged against the module whose test acceptance is being signed."""
    text = t(
        locale,
        "signoff.blocked_notice",
        issue=issue_service.issue_key(project, issue),
        priority=issue.priority,
        module=signoff.module or "",
        ref=ref(signoff),
        code=project.code,
        title=signoff.title,
    )
    return ui.message(text, [ui.section(text, accessory=_open_button(locale, signoff))])


def ask_dm(locale: str, approval: Approval, summary: approvals.Summary) -> dict[str, Any]:
    return approval_views.ask_dm(locale, approval, summary)


# ------------------------------------------------------------------------------ lists


def list_line(locale: str, signoff: SignOff) -> str:
    return t(
        locale,
        "signoff.list.line",
        ref=ref(signoff),
        title=signoff.title,
        kind=kind_label(locale, signoff.kind),
        status=status_label(locale, signoff.status),
        version=signoff.version,
        due=signoff.due_on.isoformat() if signoff.due_on else "",
    )


def list_message(locale: str, found: Page, command: str) -> dict[str, Any]:
    project = found.project
    title = t(
        locale,
        "signoff.list.title",
        code=project.code,
        scope=plain(locale, f"signoff.list.scope_{found.scope}"),
        count=found.total,
    )
    return ui.paged_list(
        locale,
        "signoff",
        title,
        [list_line(locale, s) for s in found.items],
        empty=t(locale, "signoff.list.empty", command=command),
        hint=t(locale, "signoff.list.hint", command=command, code=project.code),
        page=found.page,
        pages=found.pages,
        action=SignOffId.LIST_PAGE,
        value=f"{project.id}|{found.scope}",
    )


# ---------------------------------------------------------------------------- Home tab


def home_part(locale: str, user_id: str, rows: list[Waiting]) -> list[Block]:
    """What waits for the person's signature (Sign: the sign-off and its answers), then (for a
    PM) whose signatures their projects' sign-offs wait for (Open: its card)."""
    from bot.ids import ApprovalId

    mine = [row for row in rows if row.person == user_id]
    others: dict[int, tuple[Waiting, list[str]]] = {}
    for row in rows:
        if row.person != user_id:
            others.setdefault(row.id, (row, []))[1].append(row.person)
    sign = plain(locale, "signoff.home.sign")
    blocks: list[Block] = [
        ui.section(
            t(
                locale,
                "signoff.home.yours",
                ref=f"#{row.number}",
                code=row.project.code,
                title=row.title,
            ),
            accessory=ui.button(sign, ApprovalId.OPEN, str(row.approval), style="primary"),
            block_id=f"signoff_sign_{row.approval}",
        )
        for row in mine[:HOME_SHOWN]
    ]
    blocks += [
        ui.section(
            t(
                locale,
                "signoff.home.waiting",
                ref=f"#{row.number}",
                code=row.project.code,
                title=row.title,
                people=people,
            ),
            accessory=ui.button(plain(locale, "approvals.verb.open"), SignOffId.OPEN, str(row.id)),
            block_id=f"signoff_waiting_{row.id}",
        )
        for row, people in list(others.values())[:HOME_SHOWN]
    ]
    return ui.titled(plain(locale, "signoff.home.title"), blocks)
