"""The shared approvals' messages: the DM asking a decider (the subject's summary, the rule, the
buttons of the answers the subject offers: Approve, Approve with remarks, Reject, Ask a
question), the answer form, and the daily reminder."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

from bot.i18n import plain, t
from bot.ids import ApprovalId
from bot.services.approvals import COMMENT_LIMIT, DECISIONS, Summary
from bot.views import common as ui
from storage.models import Approval, ApprovalAnswer, ApprovalStatus

# Each opens the answer form, which asks before anything is recorded: none is red.
ANSWER_BUTTONS = (
    ("approve", ApprovalId.APPROVE, "primary"),
    ("remarks", ApprovalId.APPROVE_REMARKS, None),
    ("reject", ApprovalId.REJECT, None),
    ("question", ApprovalId.QUESTION, None),
)
ANSWER_OF_ACTION = {action: answer for answer, action, _ in ANSWER_BUTTONS}
REMINDER_LINES = 20
ANSWER_MODAL = ui.Modal(ApprovalId.ANSWER_MODAL, "approvals.modal.title", "common.send")


def rule_text(locale: str, approval: Approval) -> str:
    return t(locale, f"approvals.rule.{approval.rule}", person=approval.named_id or "")


def answer_buttons(locale: str, approval: Approval, answers: tuple[str, ...]) -> Block:
    """A button per answer the subject offers (``Summary.answers``)."""
    value = str(approval.id)
    elements = [
        ui.button(plain(locale, f"approvals.verb.{answer}"), action, value, style=style)
        for answer, action, style in ANSWER_BUTTONS
        if answer in answers
    ]
    return ui.actions(*elements, block_id=f"approval_{approval.id}")


def _ask_title(locale: str, approval: Approval, summary: Summary) -> str:
    return t(
        locale,
        "approvals.ask.title",
        ref=summary.ref,
        code=summary.project.code,
        title=summary.title,
        by=approval.asked_by,
    )


def _ask_text(locale: str, approval: Approval, summary: Summary, state: str | None = None) -> str:
    """The asking DM's notification: what is asked, by whom, by when, and where it stands."""
    due = summary.due
    return ui.notification(
        locale,
        _ask_title(locale, approval, summary),
        when=t(locale, "approvals.notify.due", due=due.isoformat()) if due else None,
        state=state,
    )


def ask_dm(locale: str, approval: Approval, summary: Summary) -> dict[str, Any]:
    """To each decider: what is asked of them, the rule, and a button per answer the subject
    offers."""
    title = _ask_title(locale, approval, summary)
    blocks: list[Block] = [ui.section(title)]
    blocks += ui.line_sections(summary.details)
    blocks.append(ui.context(rule_text(locale, approval)))
    blocks.append(answer_buttons(locale, approval, summary.answers))
    return ui.message(_ask_text(locale, approval, summary), blocks)


def retold_dm(
    locale: str,
    sent: dict[str, Any],
    approval: Approval,
    summary: Summary,
    mine: list[ApprovalAnswer],
) -> dict[str, Any]:
    """A decider's asking DM (``sent``: as the app posted it, so it still shows the version
    asked) after an answer (``mine``: theirs, oldest first), a decision or a new version: what
    they answered and when, then where the decision stands. The buttons stay while the approval
    is pending and they have not decided (a question leaves it open)."""
    zone = ZoneInfo(summary.project.timezone)
    said = [
        t(
            locale,
            f"approvals.retold.{row.answer}",
            when=row.at.astimezone(zone).date().isoformat(),
            comment=row.comment or "",
        )
        for row in mine
    ]
    decided = any(row.answer in DECISIONS for row in mine)
    pending = approval.status == ApprovalStatus.PENDING
    if not pending:
        said.append(t(locale, f"approvals.retold.{approval.status}", ref=summary.ref))
    elif decided:
        said.append(t(locale, "approvals.retold.waiting"))
    asked = f"approval_{approval.id}"
    blocks = [b for b in Block.parse_all(sent.get("blocks") or []) if b.block_id != asked]
    blocks += ui.line_sections(said)
    if pending and not decided:
        blocks.append(answer_buttons(locale, approval, summary.answers))
    # The notification follows the state: what was asked, then the latest word on it.
    text = _ask_text(locale, approval, summary, said[-1] if said else None)
    return ui.message(text, blocks[: ui.MESSAGE_BLOCK_LIMIT])


def answer_modal(locale: str, approval: Approval, summary: Summary, answer: str) -> dict[str, Any]:
    """The small form of one answer: a comment (the reason of a rejection, the question)."""
    form = ui.Fields(locale, "approvals")
    about = ui.section(
        t(
            locale,
            "approvals.modal.about",
            ref=summary.ref,
            code=summary.project.code,
            title=summary.title,
        )
    )
    needed = answer in ("reject", "question", "remarks")
    comment = form.text(
        "comment",
        label=f"comment_{answer}",
        multiline=True,
        optional=not needed,
        max_length=COMMENT_LIMIT,
    )
    metadata = {"approval_id": approval.id, "answer": answer, "version": approval.version}
    return ANSWER_MODAL(locale, [about, comment], metadata)


def answered_text(locale: str, summary: Summary, answer: str, outcome: str | None) -> str:
    """The decider's confirmation."""
    return t(
        locale,
        f"approvals.done.{answer}",
        ref=summary.ref,
        code=summary.project.code,
        title=summary.title,
        outcome=outcome or "",
    )


def reminder_dm(locale: str, items: list[tuple[Approval, Summary]], today: date) -> dict[str, Any]:
    """One DM a day per decider listing what still waits for their decision."""
    shown = items[:REMINDER_LINES]
    title = t(locale, "approvals.reminder.title", count=len(items))
    blocks: list[Block] = [ui.section(title)]
    for approval, summary in shown:
        line = t(
            locale,
            "approvals.reminder.line",
            ref=summary.ref,
            code=summary.project.code,
            title=summary.title,
            since=approval.asked_at.date().isoformat(),
            days=(today - approval.asked_at.date()).days,
        )
        button = ui.button(plain(locale, "approvals.verb.open"), ApprovalId.OPEN, str(approval.id))
        blocks.append(ui.section(line, accessory=button, block_id=f"approval_{approval.id}"))
    if len(items) > len(shown):
        blocks.append(ui.context(t(locale, "common.more", count=len(items) - len(shown))))
    first = next((str(b.text.text) for b in blocks[1:2] if getattr(b, "text", None)), None)
    return ui.message(ui.list_text(locale, title, first), blocks)
