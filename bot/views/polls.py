"""Poll modals (create in steps, answer), the DMs a poll sends, results and lists (pure builders).

``MESSAGES`` implements ``bot.services.polls.PollMessages``: the Block Kit the services put into the
outbox (invitations, reminders, "closed" updates, results).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    InputBlock,
    PlainTextObject,
)

from bot.i18n import escape_mrkdwn, joined, mention, plain, slack_date, t
from bot.ids import Action, PollId
from bot.services.keyusers import ROLES, Quadrant
from bot.services.polls import (
    INTRO_LIMIT,
    QUESTION_LIMIT,
    REMIND_CHOICES,
    TEMPLATES,
    TITLE_LIMIT,
    QuestionInput,
)
from bot.views import common as ui
from storage.models import Poll, PollQuestion, Project, QuestionKind, Recurrence

BUTTON_VALUE_LIMIT = 2000


_SETTINGS_MODAL = ui.Modal(PollId.NEW_MODAL, "poll.modal.new_title", "common.next")


def settings_modal(
    locale: str,
    *,
    projects: list[Project],
    project: Project | None,
    template: str | None = None,
    typed: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Step 1: what, to whom, when. Questions come next (templates pre-fill them). The audience
    shows the roles, quadrants or people only for the kind picked, the form drawn again with
    what was ``typed`` when the kind changes."""
    field = ui.Fields(locale, "poll")
    typed = typed or {}
    blocks: list[Any] = []
    metadata: dict[str, Any] = {}
    if project is not None:
        metadata["project_id"] = project.id
        blocks.append(ui.context(t(locale, "poll.new_for", code=project.code, name=project.name)))
    else:
        blocks.append(field.project(projects, initial=typed.get("project")))
    templates = ui.labelled(locale, "poll.template", ["none", *TEMPLATES])
    reminders = [(str(h), plain(locale, "poll.remind_choice", hours=h)) for h in REMIND_CHOICES]
    blocks += [
        field.select(
            "template",
            templates,
            initial=typed.get("template") or template or "none",
            hint=field.hint("template"),
        ),
        field.text(
            "title",
            initial=typed.get("title"),
            optional=True,
            max_length=TITLE_LIMIT,
            hint=field.hint("title"),
        ),
        field.paragraph("intro", initial=typed.get("intro"), max_length=INTRO_LIMIT),
        *ui.audience_inputs(
            locale,
            ui.read_audience(typed),
            roles=ROLES,
            quadrants=[q.value for q in Quadrant],
            applicable_only=True,
        ),
        field.choice(
            "anonymous",
            "poll.anonymous",
            ["no", "yes"],
            initial=typed.get("anonymous") or "no",
            hint=field.hint("anonymous"),
        ),
        field.datetime("opens_at", _instant(typed.get("opens_at"))),
        field.datetime("closes_at", _instant(typed.get("closes_at"))),
        field.choice(
            "recurrence",
            "poll.recurrence",
            [r.value for r in Recurrence],
            initial=typed.get("recurrence") or "none",
        ),
        field.select("remind_hours", reminders, initial=typed.get("remind_hours") or "24"),
    ]
    return _SETTINGS_MODAL(locale, blocks, metadata)


def _instant(raw: Any) -> int | None:
    """A date-time picker's value typed so far (seconds), else None."""
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _question_line(locale: str, position: int, question: QuestionInput) -> str:
    return t(
        locale,
        "poll.question_line",
        number=position + 1,
        text=question.text,
        kind=plain(locale, f"poll.kind.{question.kind}"),
        options=joined(locale, question.options),
        required=question.required,
    )


_QUESTIONS_MODAL = ui.Modal(PollId.QUESTIONS_MODAL, "poll.modal.questions_title", "common.save")


def questions_modal(locale: str, draft: dict[str, Any]) -> dict[str, Any]:
    """Step 2..n: the questions so far and the inputs of one more; "then" adds or creates."""
    questions = [QuestionInput.from_compact(q) for q in draft.get("q", [])]
    blocks: list[Any] = [ui.section(t(locale, "poll.questions_intro", title=draft["s"]["title"]))]
    if questions:
        blocks += [ui.section(_question_line(locale, i, q)) for i, q in enumerate(questions)]
    else:
        blocks.append(ui.context(t(locale, "poll.no_questions_yet")))
    field = ui.Fields(locale, "poll")
    kinds = [k.value for k in QuestionKind]
    blocks += [
        ui.divider(),
        field.choice("question_kind", "poll.kind", kinds, initial=QuestionKind.RATING),
        field.text("question_text", optional=True, max_length=QUESTION_LIMIT),
        field.paragraph(
            "question_options",
            max_length=1000,
            hint=field.hint("question_options"),
        ),
        field.choice("question_required", "poll", ["yes", "no"], initial="yes"),
        field.choice(
            "then", "poll.then", ["add", "create"], initial="create" if questions else "add"
        ),
    ]
    return _QUESTIONS_MODAL(locale, blocks, draft)


# ------------------------------------------------------------------------------ answering


def _value(poll: Poll, **extra: Any) -> str:
    return json.dumps({"p": poll.id, **extra}, separators=(",", ":"))


read_value = ui.json_value


def _closes_line(locale: str, poll: Poll, tz: str = "UTC") -> str:
    return t(
        locale,
        "poll.closes_line",
        closes=slack_date(poll.closes_at, tz),
        anonymous=poll.anonymous,
        round=poll.round_number,
    )


def _tz(project: Project | None) -> str:
    return project.timezone if project is not None else "UTC"


def notify_text(locale: str, poll: Poll, project: Project | None, state: str) -> str:
    """A poll message's text: the project, the poll, when it closes, who asks, and ``state``
    (the catalog's ``poll.notify.<state>``)."""
    return ui.notification(
        locale,
        t(locale, "poll.notify.what", title=poll.title),
        code=project.code if project is not None else None,
        when=t(locale, "poll.notify.closes", closes=slack_date(poll.closes_at, _tz(project))),
        by=poll.created_by,
        state=t(locale, f"poll.notify.{state}"),
    )


def _scale_button(locale: str, poll: Poll, question: PollQuestion, value: int) -> Any:
    """One value of a scale, in words where words help (the ends of 0…10, every rating), with
    what a screen reader says of it."""
    if question.kind == QuestionKind.RATING:
        label = plain(locale, f"poll.rating.r{value}")
        spoken = plain(locale, "poll.scale.rating_label", label=label)
    else:
        key = {0: "nps0", 10: "nps10"}.get(value, "nps_number")
        label = plain(locale, f"poll.scale.{key}", value=value)
        spoken = plain(locale, "poll.scale.nps_label", value=value)
    action = f"{PollId.RATE_PREFIX}{question.id}:{value}"
    return ui.button(label, action, _value(poll), accessibility_label=spoken)


def _rating_buttons(locale: str, poll: Poll, question: PollQuestion) -> Any:
    scale = range(1, 6) if question.kind == QuestionKind.RATING else range(0, 11)
    return ui.actions(
        *[_scale_button(locale, poll, question, v) for v in scale],
        block_id=f"rate_{question.id}",
    )


def _asked_by(locale: str, poll: Poll, project: Project | None) -> list[Block]:
    """The project and who asks, under the poll's title."""
    if project is None:
        return []
    line = t(locale, "poll.asked_by", code=project.code, name=project.name, user=poll.created_by)
    return [ui.context(line)]


def invite(
    locale: str, poll: Poll, questions: list[PollQuestion], *, project: Project | None = None
) -> dict[str, Any]:
    """The invitation DM: who asks in which project, the intro, the rating questions as
    buttons, and "Answer…" for the form."""
    tz = _tz(project)
    blocks: list[Block] = [ui.header(poll.title), *_asked_by(locale, poll, project)]
    if poll.intro:
        blocks.append(ui.section(t(locale, "poll.plain_text", text=poll.intro)))
    blocks.append(ui.context(_closes_line(locale, poll, tz)))
    quick = [q for q in questions if q.kind in (QuestionKind.RATING, QuestionKind.NPS)][:8]
    for question in quick:
        blocks.append(ui.section(t(locale, "poll.quick_question", text=question.text)))
        blocks.append(_rating_buttons(locale, poll, question))
    blocks.append(
        ui.actions(
            ui.button(
                plain(locale, "poll.answer_button"), PollId.ANSWER, _value(poll), style="primary"
            )
        )
    )
    return ui.message(notify_text(locale, poll, project, "invite"), blocks)


def answered(locale: str, poll: Poll, *, project: Project | None = None) -> dict[str, Any]:
    """The DM once answered: thanks, and "Edit" (named polls only: anonymous answers are final)."""
    blocks: list[Block] = [
        ui.header(poll.title),
        *_asked_by(locale, poll, project),
        ui.section(t(locale, "poll.answered_thanks", anonymous=poll.anonymous)),
        ui.context(_closes_line(locale, poll, _tz(project))),
    ]
    if not poll.anonymous:
        blocks.append(
            ui.actions(ui.button(plain(locale, "poll.edit_button"), PollId.EDIT, _value(poll)))
        )
    return ui.message(notify_text(locale, poll, project, "answered"), blocks)


def closed(
    locale: str, poll: Poll, was_answered: bool, *, project: Project | None = None
) -> dict[str, Any]:
    blocks: list[Block] = [
        ui.header(poll.title),
        *_asked_by(locale, poll, project),
        ui.section(t(locale, "poll.closed_dm", answered=was_answered)),
    ]
    return ui.message(notify_text(locale, poll, project, "closed"), blocks)


def reminder(locale: str, poll: Poll, *, project: Project | None = None) -> dict[str, Any]:
    text = t(
        locale, "poll.reminder", title=poll.title, closes=slack_date(poll.closes_at, _tz(project))
    )
    fallback = ui.notification(
        locale, text, code=project.code if project is not None else None, by=poll.created_by
    )
    return ui.message(fallback, [ui.section(text)])


def _question_input(locale: str, question: PollQuestion, current: Any) -> InputBlock:
    block_id = f"q{question.id}"
    label = PlainTextObject(text=ui.clip(question.text, 2000))
    optional = not question.required
    initial = str(current) if current is not None and not isinstance(current, list) else None
    if question.kind == QuestionKind.RATING:
        choices = [(str(v), plain(locale, f"poll.rating.r{v}")) for v in range(1, 6)]
        return ui.radio_input(block_id, question.text, choices, initial=initial, optional=optional)
    if question.kind == QuestionKind.NPS:
        return ui.select_input(
            block_id,
            question.text,
            [(str(v), plain(locale, "poll.nps_choice", value=v)) for v in range(0, 11)],
            initial=initial,
            optional=optional,
            hint=plain(locale, "poll.hint.nps"),
        )
    if question.kind == QuestionKind.SINGLE:
        choices = [(str(i), text) for i, text in enumerate(question.options)]
        return ui.radio_input(block_id, question.text, choices, initial=initial, optional=optional)
    if question.kind == QuestionKind.MULTIPLE:
        options = [ui.option(str(i), o) for i, o in enumerate(question.options)]
        picked = [o for o in options if current and int(o.value or -1) in current] or None
        return InputBlock(
            block_id=block_id,
            label=label,
            optional=optional,
            element=CheckboxesElement(
                action_id=Action.INPUT, options=options, initial_options=picked
            ),
        )
    return ui.text_input(
        block_id,
        ui.clip(question.text, 2000),
        initial=str(current) if current else None,
        multiline=True,
        optional=optional,
        max_length=2000,
    )


def answer_modal(
    locale: str,
    poll: Poll,
    questions: list[PollQuestion],
    current: dict[str, Any],
    metadata: dict[str, Any],
) -> dict[str, Any]:
    blocks: list[Any] = []
    if poll.intro:
        blocks.append(ui.section(t(locale, "poll.plain_text", text=poll.intro)))
    blocks.append(ui.context(_closes_line(locale, poll)))
    blocks += [_question_input(locale, q, current.get(str(q.id))) for q in questions]
    return ui.modal(
        callback_id=PollId.ANSWER_MODAL,
        title=ui.clip(poll.title, 24),
        submit=plain(locale, "poll.modal.send"),
        close=plain(locale, "common.cancel"),
        blocks=blocks,
        private_metadata=metadata,
    )


# -------------------------------------------------------------------------------- results


def _figure(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def results(locale: str, figures: Any, *, project: Project | None = None) -> dict[str, Any]:
    poll: Poll = figures.poll
    blocks: list[Block] = [
        ui.header(plain(locale, "poll.results_title", title=poll.title, round=poll.round_number)),
        ui.section(
            t(
                locale,
                "poll.results_summary",
                answered=figures.answered,
                invited=figures.invited,
                rate=_figure(figures.response_rate),
                csat=_figure(figures.csat),
                nps=_figure(figures.nps),
                average=_figure(figures.average, 2),
                status=plain(locale, f"poll.status.{poll.status}"),
            )
        ),
    ]
    if figures.withheld:
        blocks.append(ui.context(t(locale, "poll.results_withheld")))
    for item in figures.questions[:12]:
        question = item.question
        if item.texts:
            listed = "\n".join(f"• {text}" for text in item.texts[:20])
            more = max(0, len(item.texts) - 20)
            blocks.append(
                ui.section(
                    t(locale, "poll.results_texts", text=question.text, answers=listed, more=more)
                )
            )
        elif item.distribution:
            total = max(1, item.answered)
            bars = "\n".join(
                f"`{escape_mrkdwn(label[:20]):<20}` {'█' * round(10 * count / total)} {count}"
                for label, count in item.distribution
            )
            blocks.append(
                ui.section(
                    t(
                        locale,
                        "poll.results_question",
                        text=question.text,
                        answered=item.answered,
                        average=_figure(item.average, 2),
                        csat=_figure(item.csat),
                        nps=_figure(item.nps),
                        has_average=item.average is not None,
                        has_csat=item.csat is not None,
                        has_nps=item.nps is not None,
                    )
                    + "\n"
                    + bars
                )
            )
        else:
            blocks.append(
                ui.section(t(locale, "poll.results_texts", text=question.text, answers="—", more=0))
            )
    if len(figures.trend) > 1:
        lines = "\n".join(
            t(
                locale,
                "poll.trend_line",
                round=r.round_number,
                date=r.opens_at.date().isoformat(),
                rate=_figure(r.response_rate),
                csat=_figure(r.csat),
                nps=_figure(r.nps),
            )
            for r in figures.trend[-8:]
        )
        blocks.append(ui.section(t(locale, "poll.trend_title") + "\n" + lines))
    if figures.not_answered is not None:
        if figures.not_answered:
            people = [mention(u) for u in figures.not_answered[:60]]
            blocks.append(ui.context(t(locale, "poll.not_answered_named", people=people)))
    elif figures.not_answered_count:
        blocks.append(
            ui.context(t(locale, "poll.not_answered_count", count=figures.not_answered_count))
        )
    if figures.failures:
        people = joined(
            locale,
            (
                Markup(t(locale, "poll.failure_of", person=mention(user), reason=reason))
                for user, reason in ((u, failure_reason(locale, e)) for u, e in figures.failures)
            ),
        )
        blocks.append(ui.context(t(locale, "poll.delivery_failures") + " " + people))
    text = ui.notification(
        locale,
        t(locale, "poll.notify.results", title=poll.title, round=poll.round_number),
        code=project.code if project is not None else None,
        state=t(
            locale,
            "poll.notify.answered_count",
            answered=figures.answered,
            invited=figures.invited,
        ),
    )
    return ui.message(text, blocks[: ui.MESSAGE_BLOCK_LIMIT])


# Slack's codes for a person the app cannot write to, in the words a PM reads.
FAILURE_REASONS = {
    "user_disabled": "inactive",
    "account_inactive": "inactive",
    "user_not_found": "not_found",
    "channel_not_found": "not_found",
    "users_not_found": "not_found",
}


def failure_reason(locale: str, error: str) -> str:
    """Why an invitation never reached someone, from the outbox's stored error (a Slack code, or
    the reason it expired unsent), in the reader's language: never the raw code."""
    if error.startswith("deadline passed"):
        return plain(locale, "poll.failure.expired")
    return plain(locale, f"poll.failure.{FAILURE_REASONS.get(error, 'refused')}")


def poll_list(
    locale: str, project: Project, rows: list[tuple[Poll, int, int]], numbers: dict[int, int]
) -> dict[str, Any]:
    """``rows``: poll, people asked, people who answered; ``numbers``: each poll's number."""
    blocks: list[Block] = [ui.header(plain(locale, "poll.list_title", code=project.code))]
    if not rows:
        blocks.append(ui.section(t(locale, "poll.list_empty", code=project.code)))
    for poll, invited, answered_count in rows[:40]:
        blocks.append(
            ui.section(
                t(
                    locale,
                    "poll.list_line",
                    id=numbers[poll.id or 0],
                    title=poll.title,
                    round=poll.round_number,
                    status=plain(locale, f"poll.status.{poll.status}"),
                    answered=answered_count,
                    invited=invited,
                    opens=slack_date(poll.opens_at),
                    closes=slack_date(poll.closes_at),
                    anonymous=poll.anonymous,
                )
            )
        )
    if len(rows) > 40:
        blocks.append(ui.context(t(locale, "common.more", count=len(rows) - 40)))
    return ui.message(plain(locale, "poll.list_title", code=project.code), blocks)


def home_awaiting(locale: str, polls: list[tuple[Poll, Project]]) -> list[Block]:
    """The polls waiting for the person's answer, each with Answer: the same answer form as the
    poll's DM (and the same anonymity: the form says what is kept)."""
    blocks: list[Block] = [
        ui.section(
            t(
                locale,
                "poll.home_awaiting_line",
                title=poll.title,
                code=project.code,
                closes=slack_date(poll.closes_at),
            ),
            accessory=ui.button(plain(locale, "poll.answer_button"), PollId.ANSWER, _value(poll)),
            block_id=f"poll_answer_{poll.id}",
        )
        for poll, project in polls[:10]
    ]
    return ui.titled(plain(locale, "poll.home_awaiting_title"), blocks)


def home_pm(locale: str, rows: list[tuple[Poll, Project, int, int, int]]) -> list[Block]:
    """``rows``: poll, project, people asked, people who answered, the poll's number."""
    lines = []
    for poll, project, invited, answered_count, number in rows[:10]:
        rate = 100 * answered_count / invited if invited else 0
        lines.append(
            t(
                locale,
                "poll.home_pm_line",
                id=number,
                title=poll.title,
                code=project.code,
                answered=answered_count,
                invited=invited,
                rate=f"{rate:.0f}",
                closes=slack_date(poll.closes_at),
            )
        )
    # Response rates: figures; the PM acts on a poll from its results and `/poll` commands.
    blocks: list[Block] = [ui.info(line, f"poll_rate_{n}") for n, line in enumerate(lines)]
    return ui.titled(plain(locale, "poll.home_pm_title"), blocks)


class _Messages:
    """``bot.services.polls.PollMessages`` for the services and jobs."""

    def invite(
        self,
        locale: str,
        poll: Poll,
        questions: list[PollQuestion],
        *,
        project: Project | None = None,
    ) -> dict[str, Any]:
        return invite(locale, poll, questions, project=project)

    def reminder(
        self, locale: str, poll: Poll, *, project: Project | None = None
    ) -> dict[str, Any]:
        return reminder(locale, poll, project=project)

    def closed(
        self, locale: str, poll: Poll, answered: bool, *, project: Project | None = None
    ) -> dict[str, Any]:
        return closed(locale, poll, answered, project=project)

    def results(
        self, locale: str, figures: Any, *, project: Project | None = None
    ) -> dict[str, Any]:
        return results(locale, figures, project=project)


MESSAGES = _Messages()


def epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None
