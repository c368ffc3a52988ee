"""The shared approvals' buttons and answer form: a decider's Approve / Approve with remarks /
Reject / Ask a question open the small form, which records the answer through
``bot.services.approvals``; Open (in a reminder) brings the asking DM back. What the subject
does with an answer is its own domain's."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.errors import Msg, NotFound, ValidationError
from bot.i18n import plain, say
from bot.ids import ApprovalId
from bot.jobs import approvals as notices
from bot.runtime import Runtime
from bot.services import approvals as service
from bot.services import fields
from bot.services.context import Ctx
from bot.views import approvals as views
from bot.views import common as ui
from handlers import listeners
from handlers.common import dm, view_errors
from handlers.listeners import Click, Form, FormCall, clicks


def _summary(ctx: Ctx, approval: Any) -> service.Summary:
    return service.summaries(ctx, [approval])[approval.id or 0]


def open_answer(click: Click) -> str | None:
    """A decider's button: the answer form, if the approval is theirs and still takes answers;
    a second decision is refused in words (and the attempt logged)."""
    answer = views.ANSWER_OF_ACTION[ApprovalId(click.action_id)]
    with click.unit() as ctx:
        approval = service.get_approval(ctx, click.value)
        summary = _summary(ctx, approval)
        click.locale = summary.project.locale
        if not service.offered(approval, answer):
            raise NotFound(Msg("approvals.errors.not_asked"))
        service.require_open(ctx, approval)
        given = service.earlier_decision(ctx, approval, answer)
        if given is not None:
            return say(summary.project.locale, Msg("approvals.errors.decided", given=given))
        refused = service.refusal(ctx, approval, answer)
        if refused is not None:
            return say(summary.project.locale, refused)
        view = views.answer_modal(summary.project.locale, approval, summary, answer)
    click.open(view)
    return None


def reopen_ask(click: Click) -> None:
    """A reminder's Open: the asking DM again, with its buttons; the Home tab's Decide or Sign:
    the same in a modal, whose buttons open the answer form over it."""
    with click.unit() as ctx:
        approval = service.get_approval(ctx, click.value)
        summary = _summary(ctx, approval)
        click.locale = summary.project.locale
        service.require_open(ctx, approval)
        message = views.ask_dm(summary.project.locale, approval, summary)
    if click.on_home:
        locale = summary.project.locale
        title = plain(locale, "approvals.ask.modal_title")
        click.open(ui.tool_modal(title, message, plain(locale, "common.close")))
        return
    dm(click.client, click.user_id, message)


Said = tuple[str, list[str]]


def save_answer(call: FormCall, ctx: Ctx) -> Said | None:
    approval = service.get_approval(ctx, call.metadata.get("approval_id"))
    summary = _summary(ctx, approval)
    call.locale = summary.project.locale
    answer = str(call.metadata.get("answer") or "")
    if answer not in service.CHOICES:
        raise ValidationError({"comment": Msg("approvals.errors.stale")})
    service.require_open(ctx, approval, fields.whole_number(call.metadata.get("version")))
    given = service.earlier_decision(ctx, approval, answer)
    if given is not None:
        # A form opened before the first decision was recorded: refused in the form, the
        # attempt kept in the log (so the unit commits, with nothing else stored).
        refused = ValidationError({"comment": Msg("approvals.errors.decided", given=given)})
        call.answer = {
            "response_action": "errors",
            "errors": view_errors(call.locale, refused, call.view),
        }
        return None
    done = service.answer(
        ctx=ctx,
        approval=approval,
        answer=answer,
        comment=call.values.get("comment") or "",
        version=fields.whole_number(call.metadata.get("version")),
    )
    text = views.answered_text(summary.project.locale, summary, answer, done.outcome)
    return text, done.keys + notices.answered(ctx, done)


def tell(call: FormCall, said: Said | None) -> None:
    if said is None:
        return
    text, keys = said
    call.deliver(keys)
    dm(call.client, call.user_id, ui.message(text, [ui.section(text)]))
    call.refresh_home()


ANSWER_FORM = Form(ApprovalId.ANSWER_MODAL, submit=save_answer, after=tell)
FORMS = (ANSWER_FORM,)


def register(app: App, runtime: Runtime) -> None:
    listeners.register(app, runtime, forms=FORMS)
    for action_id in views.ANSWER_OF_ACTION:
        clicks(app.action(action_id), runtime)(open_answer)
    clicks(app.action(ApprovalId.OPEN), runtime)(reopen_ask)


__all__ = ["FORMS", "register"]
