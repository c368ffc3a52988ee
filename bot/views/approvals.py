"""The shared approvals' messages: the DM asking a decider (the subject's summary, the rule, the
buttons of the answers the subject offers: Approve, Approve with remarks, Reject, Ask a
question), the answer form, and the daily reminder."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_sdk.models.blocks import Block

from bot.i18n import plain, t
from bot.ids import ApprovalId
from bot.services.approvals import COMMENT_LIMIT, Summary
from bot.views import common as ui
from storage.models import Approval

ANSWER_BUTTONS = (
    ("approve", ApprovalId.APPROVE, "primary"),
    ("remarks", ApprovalId.APPROVE_REMARKS, None),
    ("reject", ApprovalId.REJECT, "danger"),
    ("question", ApprovalId.QUESTION, None),
)
ANSWER_OF_ACTION = {action: answer for answer, action, _ in ANSWER_BUTTONS}
REMINDER_LINES = 20
ANSWER_MODAL = ui.Modal(ApprovalId.ANSWER_MODAL, "approvals.modal.title", "approvals.modal.send")


def rule_text(locale: str, approval: Approval) -> str:
    return t(locale, f"approvals.rule.{approval.rule}", person=approval.named_id or "")


def ask_dm(locale: str, approval: Approval, summary: Summary) -> dict[str, Any]:
    """To each decider: what is asked of them, the rule, and a button per answer the subject
    offers."""
    title = t(
        locale,
        "approvals.ask.title",
        ref=summary.ref,
        code=summary.project.code,
        title=summary.title,
        by=approval.asked_by,
    )
    blocks: list[Block] = [ui.section(title)]
    blocks += ui.line_sections(summary.details)
    blocks.append(ui.context(rule_text(locale, approval)))
    value = str(approval.id)
    buttons = [
        ui.button(plain(locale, f"approvals.verb.{answer}"), action, value, style=style)
        for answer, action, style in ANSWER_BUTTONS
        if answer in summary.answers
    ]
    blocks.append(ui.actions(*buttons, block_id=f"approval_{approval.id}"))
    return ui.message(title, blocks)


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
    return ui.message(title, blocks)
