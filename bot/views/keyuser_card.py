"""The key user's card (``bot.services.keyuser_card``): a header, then one page of its sections at
a time, with Previous/Next, within Block Kit's limits (a page is a dozen blocks at most; every
list is at most ``SHOWN`` lines, gathered in sections of at most 3000 characters)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, StaticSelectElement
from slack_sdk.models.blocks.basic_components import PlainTextObject

from bot.i18n import has_key, plain, t
from bot.ids import CardId
from bot.services.keyuser_card import Card, Listed
from bot.views import common as ui

PAGES = ("contacts", "events", "training", "risks")  # what each page shows, in order
CARD_VIEW = "keyuser_card"


def _day(card: Card, moment: Any) -> str:
    return moment.astimezone(ZoneInfo(card.project.timezone)).date().isoformat()


def _words(locale: str, key: str, fallback: str) -> str:
    return plain(locale, key) if has_key(key) else fallback


def _list(locale: str, title: str, listed: Listed, lines: list[str], empty: str) -> list[Block]:
    blocks: list[Block] = [ui.section(t(locale, title, count=listed.total))]
    if not lines:
        return blocks + [ui.context(t(locale, empty))]
    blocks += ui.line_sections(lines)
    if listed.total > len(lines):
        blocks.append(ui.context(t(locale, "common.more", count=listed.total - len(lines))))
    return blocks


def profile(locale: str, card: Card) -> list[Block]:
    key_user = card.key_user
    lines = [
        t(
            locale,
            "card.profile",
            role=plain(locale, f"roles.{key_user.role}"),
            department=key_user.department or "",
            module=key_user.module or "",
        )
    ]
    if not card.own:
        lines.append(
            t(
                locale,
                "card.standing",
                quadrant=plain(locale, f"quadrants.{card.quadrant.value}") if card.quadrant else "",
                influence=plain(locale, f"levels.{key_user.influence}"),
                interest=plain(locale, f"levels.{key_user.interest}"),
                cadence=card.cadence_days,
            )
        )
        lines.append(
            t(
                locale,
                "card.engagement",
                last=_day(card, card.last_contact_at) if card.last_contact_at else "",
                debt=_day(card, card.in_debt_since) if card.in_debt_since else "",
            )
        )
    return [ui.section("\n".join(lines))]


def _contacts(locale: str, card: Card) -> list[Block]:
    lines = [
        t(
            locale,
            "card.contact_line",
            day=_day(card, entry.at),
            kind=_words(locale, f"card.contact.{entry.kind.replace('.', '_')}", entry.kind),
            actor=entry.actor_id,
            note=entry.note,
        )
        for entry in card.contacts.items
    ]
    return _list(locale, "card.contacts_title", card.contacts, lines, "card.none")


def _events(locale: str, card: Card) -> list[Block]:
    lines = [
        t(
            locale,
            "card.event_line",
            day=_day(card, entry.starts_at),
            kind=entry.kind,
            title=entry.title,
            late=entry.attendance == "late",
        )
        for entry in card.events.items
    ]
    return _list(locale, "card.events_title", card.events, lines, "card.none")


def _issues(locale: str, card: Card) -> list[Block]:
    code = card.project.code
    lines = [
        t(
            locale,
            "card.issue_line",
            ref=f"{code}-{entry.number}",
            title=entry.title,
            status=_words(locale, f"issues.status.{entry.status}", entry.status),
            rating=entry.rating,
        )
        for entry in card.issues.items
    ]
    rated, mean = card.ratings
    blocks = _list(locale, "card.issues_title", card.issues, lines, "card.none")
    if rated:
        blocks.append(ui.context(t(locale, "card.ratings", rated=rated, mean=f"{mean:.1f}")))
    return blocks


def _readiness(locale: str, card: Card) -> list[Block]:
    lines = [
        t(
            locale,
            "card.readiness_line",
            module=entry.module,
            hours=f"{entry.hours:g}",
            planned=f"{entry.planned_hours:g}",
            quiz=entry.quiz_score,
            quiz_passed=entry.quiz_passed,
            practical=entry.practical,
            practical_passed=entry.practical_passed,
            ready=entry.ready,
        )
        for entry in card.readiness
    ]
    listed = Listed(card.readiness, len(card.readiness))
    return _list(locale, "card.readiness_title", listed, lines, "card.none")


def _answer(locale: str, kind: str, value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return ui.clip(str(value), 100)


def _polls(locale: str, card: Card) -> list[Block]:
    lines = [
        t(
            locale,
            "card.poll_line",
            day=_day(card, entry.submitted_at),
            title=entry.title,
            round=entry.round_number,
            answers="; ".join(
                f"{ui.clip(question, 60)}: {_answer(locale, kind, value)}"
                for question, kind, value in entry.answers
            ),
        )
        for entry in card.polls.items
    ]
    return _list(locale, "card.polls_title", card.polls, lines, "card.none")


def _risks(locale: str, card: Card) -> list[Block]:
    lines = [
        t(
            locale,
            "card.risk_line",
            number=entry.number,
            title=entry.title,
            level=entry.level,
            closed=entry.status != "open",
        )
        for entry in card.risks.items
    ]
    return _list(locale, "card.risks_title", card.risks, lines, "card.none")


def _changes(locale: str, card: Card) -> list[Block]:
    lines = [
        t(
            locale,
            "card.change_line",
            number=entry.number,
            title=entry.title,
            status=_words(locale, f"change.status.{entry.status}", entry.status),
        )
        for entry in card.changes
    ]
    listed = Listed(card.changes, len(card.changes))
    return _list(locale, "card.changes_title", listed, lines, "card.none")


def page_blocks(locale: str, card: Card, page: int) -> list[Block]:
    """The card's header and the sections of ``page`` (0-based), then the page buttons."""
    page = min(max(page, 0), len(PAGES) - 1)
    key_user = card.key_user
    blocks: list[Block] = [
        ui.section(
            t(
                locale,
                "card.title_own" if card.own else "card.title",
                user=key_user.user_id,
                code=card.project.code,
            )
        )
    ]
    part = PAGES[page]
    if part == "contacts":
        blocks += profile(locale, card) + _contacts(locale, card)
    elif part == "events":
        blocks += _events(locale, card) + _issues(locale, card)
    elif part == "training":
        blocks += _readiness(locale, card) + _polls(locale, card)
    else:
        blocks += _risks(locale, card) + _changes(locale, card)
    blocks.append(ui.context(t(locale, "card.page", page=page + 1, pages=len(PAGES))))
    buttons = []
    for step, label in ((-1, "previous"), (1, "next")):
        target = page + step
        if 0 <= target < len(PAGES):
            buttons.append(
                ui.button(
                    plain(locale, f"card.{label}"),
                    f"{CardId.PAGE}_{label}",
                    f"{card.project.id}:{key_user.user_id}:{target}",
                )
            )
    blocks.append(ui.actions(*buttons, block_id="keyuser_card_pages"))
    return blocks


def card_message(locale: str, card: Card, page: int = 0) -> dict[str, Any]:
    text = plain(locale, "card.fallback", code=card.project.code)
    return ui.message(text, page_blocks(locale, card, page))


def card_modal(locale: str, card: Card, page: int = 0) -> dict[str, Any]:
    return ui.modal(
        callback_id=CARD_VIEW,
        title=plain(locale, "card.modal_title"),
        close=plain(locale, "common.close"),
        blocks=page_blocks(locale, card, page),
    )


def card_select(locale: str, project_id: int, people: list[tuple[str, str]]) -> Any:
    """The "Card of…" menu of a list of key users (``people``: Slack id and name), at most 100:
    under the register and the PM Home's list of key users and their last contacts."""
    return StaticSelectElement(
        action_id=CardId.OPEN,
        placeholder=PlainTextObject(text=plain(locale, "card.open")),
        options=[
            ui.option(f"{project_id}:{user_id}", ui.clip(name, 75)) for user_id, name in people
        ][:100],
    )
