"""Small Block Kit builders reused by every domain's views (typed ``slack_sdk.models``).

``to_dict()`` on slack_sdk's objects validates lengths of nested elements too; ``message()`` adds
the 50-blocks-per-message check slack_sdk lacks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ChannelSelectElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    DatePickerElement,
    DateTimePickerElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    InputInteractiveElement,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.i18n import escape_mrkdwn, plain, say, t
from bot.ids import Action

TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")  # a timepicker's HH:mm

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
SECTION_TEXT_LIMIT = 3000


class FileInputElement(InputInteractiveElement):
    """Slack's ``file_input`` (modals only), which slack_sdk has no class for."""

    type = "file_input"

    @property
    def attributes(self) -> set[str]:  # type: ignore[override]
        return super().attributes.union({"filetypes", "max_files"})

    def __init__(self, *, action_id: str, filetypes: list[str], max_files: int = 1) -> None:
        super().__init__(type=self.type, action_id=action_id)
        self.filetypes = filetypes
        self.max_files = max_files


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, 150), emoji=True))


def mrkdwn(text: str) -> dict[str, str]:
    """A mrkdwn text object as a plain dict, for payloads built in bulk (``text`` is short)."""
    return {"type": "mrkdwn", "text": clip(text, SECTION_TEXT_LIMIT)}


def section(text: str, *, accessory: Any = None, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(
        text=MarkdownTextObject(text=clip(text, SECTION_TEXT_LIMIT)),
        accessory=accessory,
        block_id=block_id,
    )


def line_sections(lines: Sequence[str]) -> list[SectionBlock]:
    """Lines gathered into as few sections as the section text limit allows (a long list in
    few blocks keeps a message within Slack's 50 blocks)."""
    sections: list[SectionBlock] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > SECTION_TEXT_LIMIT - 10:
            sections.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        sections.append(section("\n".join(chunk)))
    return sections


def titled_lines(
    locale: str, title: str, lines: Sequence[str], *, total: int | None = None
) -> list[Block]:
    """A part of a page: its header and one section per line, then "… and N more" when ``total``
    counts more than the lines shown; nothing at all when there are no lines."""
    blocks: list[Block] = [section(line) for line in lines]
    if lines and total is not None and total > len(lines):
        blocks.append(context(t(locale, "common.more", count=total - len(lines))))
    return titled(title, blocks)


def paged_list(
    locale: str,
    prefix: str,
    title: str,
    lines: Sequence[str],
    *,
    empty: str,
    hint: str | None,
    page: int,
    pages: int,
    action: str,
    value: str,
    extra: Sequence[ButtonElement] = (),
) -> dict[str, Any]:
    """A paged list message: ``title``, one section per line and the ``hint`` under them (or
    ``empty`` alone when there are no lines); on more than one page, "page N of M" (the
    catalog's ``<prefix>.list.page``) and Previous/Next buttons (``<prefix>.list.previous`` and
    ``.next``, action ids ``<action>_previous`` and ``<action>_next``, valued
    ``<value>|<page>``), then the ``extra`` buttons, in the block ``<prefix>_list_pages``."""
    blocks: list[Block] = [section(title)]
    if not lines:
        blocks.append(context(empty))
        if extra:
            blocks.append(actions(*extra, block_id=f"{prefix}_list_pages"))
        return message(title, blocks)
    blocks += line_sections(lines)
    if hint is not None:
        blocks.append(context(hint))
    buttons: list[ButtonElement] = []
    if pages > 1:
        for step, label in ((-1, "previous"), (1, "next")):
            target = page + step
            if 1 <= target <= pages:
                buttons.append(
                    button(
                        plain(locale, f"{prefix}.list.{label}"),
                        f"{action}_{label}",
                        f"{value}|{target}",
                    )
                )
        blocks.append(context(t(locale, f"{prefix}.list.page", page=page, pages=pages)))
    buttons += extra
    if buttons:
        blocks.append(actions(*buttons, block_id=f"{prefix}_list_pages"))
    return message(title, blocks)


# A Home tab's section that only informs (figures, a grid, someone's readiness) says so in its
# block id; every other section of the Home tab lists something to act on and carries its action
# (an accessory, or an actions block after it in the same part): ``tests/surfaces.py`` checks it.
INFO_BLOCK = "info:"


def info(text: str, key: str) -> SectionBlock:
    """A section of figures or facts with nothing to do about them here (``INFO_BLOCK``); ``key``
    makes its block id unique on the page."""
    return section(text, block_id=f"{INFO_BLOCK}{key}")


def fields(items: Sequence[str]) -> SectionBlock:
    return SectionBlock(fields=[MarkdownTextObject(text=clip(item, 2000)) for item in items[:10]])


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(t, 2000)) for t in texts[:10]])


def divider() -> DividerBlock:
    return DividerBlock()


def titled(title: str, blocks: Sequence[Block]) -> list[Block]:
    """A header over ``blocks``; nothing at all when there are none (a Home tab's part)."""
    return [header(title), *blocks] if blocks else []


def button(
    text: str,
    action_id: str,
    value: str = "",
    *,
    style: str | None = None,
    url: str | None = None,
    confirm: ConfirmObject | None = None,
    accessibility_label: str | None = None,
) -> ButtonElement:
    """``accessibility_label``: what a screen reader says instead of a short label."""
    return ButtonElement(
        text=PlainTextObject(text=clip(text, 75), emoji=True),
        action_id=action_id,
        value=value or None,
        style=style,
        url=url,
        confirm=confirm,
        accessibility_label=clip(accessibility_label, 75) if accessibility_label else None,
    )


def confirm_dialog(
    title: str, text: str, yes: str, no: str, *, danger: bool = False
) -> ConfirmObject:
    """Slack's own "are you sure?" dialog before a button acts (``bot.ids.CONFIRMED``): ``text``
    says what will happen and to whom; its "yes" is red only for what destroys (``danger``)."""
    return ConfirmObject(
        title=PlainTextObject(text=clip(title, 100)),
        text=MarkdownTextObject(text=clip(text, 300)),
        confirm=PlainTextObject(text=clip(yes, 30)),
        deny=PlainTextObject(text=clip(no, 30)),
        style="danger" if danger else None,
    )


def confirmed(locale: str, prefix: str, *, danger: bool = False, **params: Any) -> ConfirmObject:
    """The confirm dialog worded by the catalog's ``<prefix>.title``, ``.text`` (with
    ``params``) and ``.yes``; "no" is ``common.cancel``."""
    return confirm_dialog(
        plain(locale, f"{prefix}.title", **params),
        t(locale, f"{prefix}.text", **params),
        plain(locale, f"{prefix}.yes", **params),
        plain(locale, "common.cancel"),
        danger=danger,
    )


def more_menu(
    action_id: str, choices: Sequence[tuple[str, str, str]]
) -> OverflowMenuElement | None:
    """An overflow menu ("…") of ``(label, action id, value)`` choices, each option valued
    ``<action id>|<value>`` (``handlers.listeners.menu`` runs it as that button); None for fewer
    than two (Slack's overflow holds 2 to 5 options: more are cut)."""
    if len(choices) < 2:
        return None
    options = [option(f"{action}|{value}"[:150], label) for label, action, value in choices[:5]]
    return OverflowMenuElement(action_id=action_id, options=options)


def actions(*buttons: Any, block_id: str | None = None) -> ActionsBlock:
    return ActionsBlock(elements=list(buttons)[:25], block_id=block_id)


def primary_action(text: str, action_id: str, value: str, *, block_id: str) -> ActionsBlock:
    """One primary button in its own actions block."""
    return actions(button(text, action_id, value, style="primary"), block_id=block_id)


def option(value: str, label: str) -> Option:
    return Option(value=value, text=PlainTextObject(text=clip(label, 75)))


def _input(
    block_id: str,
    label: str,
    element: InputInteractiveElement,
    *,
    optional: bool,
    hint: str | None = None,
    dispatch: bool = False,
) -> InputBlock:
    """An input block; ``dispatch``: choosing a value tells the app at once (``dispatch_action``),
    which redraws the form with what applies to the choice (``Form.refresh``)."""
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        optional=optional,
        hint=PlainTextObject(text=hint) if hint else None,
        element=element,
        dispatch_action=dispatch or None,
    )


def labelled(locale: str, prefix: str, values: Iterable[str]) -> list[tuple[str, str]]:
    """``(value, label)`` choices whose labels are the catalog's ``<prefix>.<value>``."""
    return [(value, plain(locale, f"{prefix}.{value}")) for value in values]


def project_choices(projects: Iterable[Any]) -> list[tuple[str, str]]:
    """Projects to pick from, as "CODE · Name"."""
    return [(str(p.id), f"{p.code} · {p.name}") for p in projects]


def text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    multiline: bool = False,
    optional: bool = False,
    max_length: int | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
) -> InputBlock:
    element = PlainTextInputElement(
        action_id=Action.INPUT,
        initial_value=initial or None,
        multiline=multiline,
        max_length=max_length,
        placeholder=PlainTextObject(text=clip(placeholder, 150)) if placeholder else None,
    )
    return _input(block_id, label, element, optional=optional, hint=hint)


def select_input(
    block_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    *,
    initial: str | None = None,
    optional: bool = False,
    hint: str | None = None,
    dispatch: bool = False,
) -> InputBlock:
    options = [option(value, text) for value, text in choices][:100]
    chosen = next((o for o in options if o.value == initial), None)
    element = StaticSelectElement(action_id=Action.INPUT, options=options, initial_option=chosen)
    return _input(block_id, label, element, optional=optional, hint=hint, dispatch=dispatch)


def radio_input(
    block_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    *,
    initial: str | None = None,
    optional: bool = False,
) -> InputBlock:
    options = [option(value, text) for value, text in choices][:10]
    chosen = next((o for o in options if o.value == initial), None)
    element = RadioButtonsElement(action_id=Action.INPUT, options=options, initial_option=chosen)
    return _input(block_id, clip(label, 2000), element, optional=optional)


def multi_select_input(
    block_id: str, label: str, choices: Sequence[tuple[str, str]], initial: Sequence[str]
) -> InputBlock:
    """An optional multi-select of fixed choices (up to 100)."""
    options = [option(value, text) for value, text in choices][:100]
    chosen = [o for o in options if o.value in initial] or None
    element = StaticMultiSelectElement(
        action_id=Action.INPUT, options=options, initial_options=chosen
    )
    return _input(block_id, label, element, optional=True)


def date_input(
    block_id: str,
    label: str,
    *,
    initial: date | None = None,
    optional: bool = False,
    hint: str = "",
) -> InputBlock:
    """A date picker (its value is ``YYYY-MM-DD``)."""
    initial_date = initial.isoformat() if initial else None
    element = DatePickerElement(action_id=Action.INPUT, initial_date=initial_date)
    return _input(block_id, label, element, optional=optional, hint=hint)


def time_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    optional: bool = False,
    hint: str | None = None,
    timezone: str | None = None,
) -> InputBlock:
    """A time picker (its value is 24-hour ``HH:mm``); every time of day a form asks is one.
    ``timezone`` (an IANA name): the time is of that zone, whatever the reader's own."""
    initial_time = initial if initial and TIME_OF_DAY.match(initial) else None
    element = TimePickerElement(
        action_id=Action.INPUT, initial_time=initial_time, timezone=timezone or None
    )
    return _input(block_id, label, element, optional=optional, hint=hint)


def number_text(value: float | int | None) -> str | None:
    """A number as a number input shows it: 2, 1.5 (never 2.0 or 1e3)."""
    if value is None or value == "":
        return None
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.6f}".rstrip("0").rstrip(".")


def number_input(
    block_id: str,
    label: str,
    *,
    initial: float | int | str | None = None,
    low: float | int | None = None,
    high: float | int | None = None,
    decimal: bool = False,
    optional: bool = False,
    hint: str | None = None,
) -> InputBlock:
    """A number (counts, hours, marks, thresholds): Slack's client takes only a number in range;
    the service checks again (a request may be forged)."""
    shown = None
    if initial not in (None, ""):
        try:
            number = float(str(initial))
        except ValueError:
            number = math.nan
        inside = (low is None or number >= low) and (high is None or number <= high)
        whole = decimal or (math.isfinite(number) and number.is_integer())
        shown = number_text(number) if math.isfinite(number) and inside and whole else None
    element = NumberInputElement(
        action_id=Action.INPUT,
        is_decimal_allowed=decimal,
        initial_value=shown,
        min_value=number_text(low),
        max_value=number_text(high),
    )
    return _input(block_id, label, element, optional=optional, hint=hint)


def datetime_input(
    block_id: str, label: str, initial: int | None, hint: str, *, optional: bool = True
) -> InputBlock:
    """A date and time picker (its value is a Unix timestamp in the reader's timezone)."""
    element = DateTimePickerElement(action_id=Action.INPUT, initial_date_time=initial)
    return _input(block_id, label, element, optional=optional, hint=hint)


def user_input(
    block_id: str, label: str, *, initial: str | None = None, optional: bool = False
) -> InputBlock:
    element = UserSelectElement(action_id=Action.INPUT, initial_user=initial)
    return _input(block_id, label, element, optional=optional)


def users_input(
    block_id: str, label: str, *, initial: Sequence[str] = (), optional: bool = False
) -> InputBlock:
    element = UserMultiSelectElement(action_id=Action.INPUT, initial_users=list(initial) or None)
    return _input(block_id, label, element, optional=optional)


def channel_input(
    block_id: str, label: str, *, initial: str | None = None, optional: bool = False
) -> InputBlock:
    element = ChannelSelectElement(action_id=Action.INPUT, initial_channel=initial)
    return _input(block_id, label, element, optional=optional)


def file_input(
    block_id: str, label: str, *, filetypes: Sequence[str], optional: bool
) -> InputBlock:
    element = FileInputElement(action_id=Action.INPUT, filetypes=list(filetypes), max_files=1)
    return _input(block_id, label, element, optional=optional)


def checkboxes_input(
    block_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    initial: Sequence[str] = (),
    *,
    optional: bool = True,
) -> InputBlock:
    """Checkboxes of fixed choices (Slack shows at most 10)."""
    options = [option(value, text) for value, text in choices][:10]
    chosen = [o for o in options if o.value in initial] or None
    element = CheckboxesElement(action_id=Action.INPUT, options=options, initial_options=chosen)
    return _input(block_id, clip(label, 2000), element, optional=optional)


AUDIENCE_KINDS = ("all", "role", "quadrant", "people")


@dataclass(frozen=True)
class AudiencePick:
    """Who a poll asks or an event invites, as picked in a form: all key users, those of some
    roles, of some quadrants, or named people (``none``: no group, for a form that names people
    elsewhere)."""

    kind: str = "all"
    roles: tuple[str, ...] = ()
    quadrants: tuple[str, ...] = ()
    people: tuple[str, ...] = ()


def audience_inputs(
    locale: str,
    pick: AudiencePick,
    *,
    roles: Sequence[str],
    quadrants: Sequence[str],
    kinds: Sequence[str] = AUDIENCE_KINDS,
    applicable_only: bool = False,
) -> list[InputBlock]:
    """The one audience picker: how (``audience_kind``) and then the roles
    (``audience_roles``), quadrants (``audience_quadrants``) or people (``audience_people``).
    ``applicable_only``: only the input the chosen kind needs, the form redrawn when the kind
    changes (its `Form.refresh`); otherwise all of them, each hinted with when it counts."""
    chosen_kind = pick.kind if pick.kind in kinds else kinds[0]
    blocks = [
        select_input(
            "audience_kind",
            plain(locale, "audience.field.kind"),
            labelled(locale, "audience.kinds", kinds),
            initial=chosen_kind,
            dispatch=applicable_only,
        )
    ]

    def shown(kind: str) -> bool:
        return kind in kinds and (not applicable_only or chosen_kind == kind)

    def hint(kind: str) -> str | None:
        return None if applicable_only else plain(locale, f"audience.hint.{kind}")

    if shown("role"):
        choices = labelled(locale, "roles", roles)
        block = multi_select_input(
            "audience_roles", plain(locale, "audience.field.roles"), choices, pick.roles
        )
        block.hint = PlainTextObject(text=hint("role")) if hint("role") else None
        blocks.append(block)
    if shown("quadrant"):
        choices = labelled(locale, "quadrants", quadrants)
        block = multi_select_input(
            "audience_quadrants", plain(locale, "audience.field.quadrants"), choices, pick.quadrants
        )
        block.hint = PlainTextObject(text=hint("quadrant")) if hint("quadrant") else None
        blocks.append(block)
    if shown("people"):
        block = users_input(
            "audience_people",
            plain(locale, "audience.field.people"),
            initial=pick.people,
            optional=True,
        )
        block.hint = PlainTextObject(text=hint("people")) if hint("people") else None
        blocks.append(block)
    return blocks


def read_audience(values: dict[str, Any], default: str = "all") -> AudiencePick:
    """What the audience picker holds (its values read by ``read_values``)."""
    return AudiencePick(
        kind=str(values.get("audience_kind") or default),
        roles=tuple(str(r) for r in values.get("audience_roles") or []),
        quadrants=tuple(str(q) for q in values.get("audience_quadrants") or []),
        people=tuple(str(p) for p in values.get("audience_people") or []),
    )


class Fields:
    """The inputs of one form, each labelled by the catalog's ``<prefix>.field.<name>``: the block
    id, unless ``label`` names another key. Options are those of the matching ``*_input``."""

    def __init__(self, locale: str, prefix: str) -> None:
        self.locale = locale
        self.prefix = prefix

    def label(self, name: str) -> str:
        return plain(self.locale, f"{self.prefix}.field.{name}")

    def hint(self, name: str, **params: Any) -> str:
        return plain(self.locale, f"{self.prefix}.hint.{name}", **params)

    def text(self, block_id: str, *, label: str = "", **options: Any) -> InputBlock:
        return text_input(block_id, self.label(label or block_id), **options)

    def paragraph(self, block_id: str, *, label: str = "", **options: Any) -> InputBlock:
        """An optional text of several lines."""
        return self.text(block_id, label=label, multiline=True, optional=True, **options)

    def select(
        self, block_id: str, choices: Sequence[tuple[str, str]], *, label: str = "", **options: Any
    ) -> InputBlock:
        return select_input(block_id, self.label(label or block_id), choices, **options)

    def project(self, projects: Iterable[Any], initial: str | None = None) -> InputBlock:
        """The ``project`` select, for a form opened where the project is not known."""
        return select_input(
            "project", self.label("project"), project_choices(projects), initial=initial
        )

    def choice(
        self, block_id: str, prefix: str, values: Iterable[str], *, label: str = "", **options: Any
    ) -> InputBlock:
        """A select of ``values`` labelled by the catalog's ``<prefix>.<value>``."""
        choices = labelled(self.locale, prefix, values)
        return select_input(block_id, self.label(label or block_id), choices, **options)

    def radio(
        self, block_id: str, prefix: str, values: Iterable[str], *, label: str = "", **options: Any
    ) -> InputBlock:
        choices = labelled(self.locale, prefix, values)
        return radio_input(block_id, self.label(label or block_id), choices, **options)

    def multi(
        self,
        block_id: str,
        choices: Sequence[tuple[str, str]],
        initial: Sequence[str],
        *,
        label: str = "",
    ) -> InputBlock:
        return multi_select_input(block_id, self.label(label or block_id), choices, initial)

    def checkboxes(
        self,
        block_id: str,
        choices: Sequence[tuple[str, str]],
        initial: Sequence[str] = (),
        *,
        label: str = "",
        **options: Any,
    ) -> InputBlock:
        name = label or block_id
        return checkboxes_input(block_id, self.label(name), choices, initial, **options)

    def datetime(
        self, block_id: str, initial: int | None, *, label: str = "", **options: Any
    ) -> InputBlock:
        """A date and time picker hinted by ``<prefix>.hint.<block id>``."""
        name = label or block_id
        return datetime_input(block_id, self.label(name), initial, self.hint(name), **options)

    def date(self, block_id: str, *, label: str = "", **options: Any) -> InputBlock:
        return date_input(block_id, self.label(label or block_id), **options)

    def time(self, block_id: str, *, label: str = "", **options: Any) -> InputBlock:
        return time_input(block_id, self.label(label or block_id), **options)

    def number(self, block_id: str, *, label: str = "", **options: Any) -> InputBlock:
        return number_input(block_id, self.label(label or block_id), **options)

    def user(self, block_id: str, *, label: str = "", **options: Any) -> InputBlock:
        return user_input(block_id, self.label(label or block_id), **options)

    def users(self, block_id: str, *, label: str = "", **options: Any) -> InputBlock:
        return users_input(block_id, self.label(label or block_id), **options)

    def channel(self, block_id: str, *, label: str = "", **options: Any) -> InputBlock:
        return channel_input(block_id, self.label(label or block_id), **options)


def modal(
    *,
    callback_id: str,
    title: str,
    blocks: Sequence[Block],
    submit: str | None = None,
    close: str | None = None,
    private_metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if len(blocks) > VIEW_BLOCK_LIMIT:
        raise ValueError(f"a modal holds at most {VIEW_BLOCK_LIMIT} blocks, got {len(blocks)}")
    view = View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=clip(title, 24)),
        submit=PlainTextObject(text=clip(submit, 24)) if submit else None,
        close=PlainTextObject(text=clip(close, 24)) if close else None,
        blocks=list(blocks),
        private_metadata=json.dumps(private_metadata) if private_metadata else None,
    )
    return view.to_dict()


@dataclass(frozen=True)
class Modal:
    """One modal form's callback id and the catalog keys of its title and buttons; called with
    the locale and the blocks, it builds the modal (``submit`` None: a modal with Close only)."""

    callback_id: str
    title: str
    submit: str | None
    close: str = "common.cancel"

    def __call__(
        self, locale: str, blocks: Sequence[Block], private_metadata: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return modal(
            callback_id=self.callback_id,
            title=plain(locale, self.title),
            submit=plain(locale, self.submit) if self.submit else None,
            close=plain(locale, self.close),
            blocks=blocks,
            private_metadata=private_metadata,
        )


# The callback id of a tool's modal (a list, a matrix, a card people come back to): it submits
# nothing, so no form listens to it.
TOOL_MODAL = "liaison_tool"


def tool_modal(title: str, payload: dict[str, Any], close: str) -> dict[str, Any]:
    """A tool's message (``message()``'s payload: a curriculum, a readiness matrix, a list with
    its Previous and Next buttons) shown in a modal instead of an ephemeral answer, which would
    vanish on reload: the same blocks, paged in place (a click in it updates the modal), with
    Close only. Its ``text`` becomes a section when it has no blocks."""
    blocks = payload.get("blocks") or [section(str(payload.get("text") or "")).to_dict()]
    shown = [block if isinstance(block, dict) else block.to_dict() for block in blocks]
    if len(shown) > VIEW_BLOCK_LIMIT:
        raise ValueError(f"a modal holds at most {VIEW_BLOCK_LIMIT} blocks, got {len(shown)}")
    return {
        "type": "modal",
        "callback_id": TOOL_MODAL,
        "title": {"type": "plain_text", "text": clip(title, 24)},
        "close": {"type": "plain_text", "text": clip(close, 24)},
        "blocks": shown,
    }


def home(blocks: Sequence[Block]) -> dict[str, Any]:
    if len(blocks) > VIEW_BLOCK_LIMIT:
        raise ValueError(f"the Home tab holds at most {VIEW_BLOCK_LIMIT} blocks")
    return View(type="home", blocks=list(blocks)).to_dict()


def message(text: str, blocks: Sequence[Block] = ()) -> dict[str, Any]:
    """Arguments for chat.postMessage / respond(): a short fallback ``text`` plus checked blocks."""
    if len(blocks) > MESSAGE_BLOCK_LIMIT:
        raise ValueError(f"a message holds at most {MESSAGE_BLOCK_LIMIT} blocks, got {len(blocks)}")
    payload: dict[str, Any] = {"text": clip(text, 3000)}
    if blocks:
        payload["blocks"] = [block.to_dict() for block in blocks]
    return payload


# Between the parts of a notification's text, in both languages (after a full stop, a colon or
# an emphasis a middle dot reads right where a comma would not).
NOTIFY_JOIN = " · "


def notification(
    locale: str,
    what: str,
    *,
    code: str | None = None,
    when: str | None = None,
    where: str | None = None,
    by: str | None = None,
    state: str | None = None,
) -> str:
    """A message's ``text``, which push notifications and screen readers read instead of its
    blocks: enough to decide from the lock screen. The project's ``code``, ``what`` it is about,
    ``when`` (a ``slack_date`` token, with the project's time as its fallback), ``where`` (a
    place as typed, escaped here), ``by`` whom (a user id) and the message's ``state`` as it
    stands now (answered, accepted, closed…), each part left out when it is empty. ``what``,
    ``when`` and ``state`` are mrkdwn already rendered by a catalog."""
    parts = [
        escape_mrkdwn(code) if code else "",
        what,
        when or "",
        t(locale, "notify.where", place=where) if where else "",
        t(locale, "notify.by", user=by) if by else "",
        state or "",
    ]
    return NOTIFY_JOIN.join(part.strip() for part in parts if part.strip())


def list_text(locale: str, headline: str, first: str | None, *, code: str | None = None) -> str:
    """The notification text of a message that lists things: its headline and its first line
    (the most urgent, with its time), ``code`` being that line's project."""
    state = t(locale, "notify.first", line=Markup(first)) if first else None
    return notification(locale, headline.rstrip().rstrip(":："), code=code, state=state)


def json_value(raw: str | None) -> dict[str, Any]:
    """A button's JSON value as a dict; anything unreadable reads as empty."""
    try:
        data = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    """The view's private_metadata; anything but a JSON object is refused (a tampered form)."""
    from bot.errors import Msg, ValidationError

    raw = view.get("private_metadata") or ""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ValidationError({"": Msg("security.form_unreadable")})
    return data


def read_values(view: dict[str, Any]) -> dict[str, Any]:
    """``view.state.values`` as ``{block_id: plain value}`` whatever the element type."""
    result: dict[str, Any] = {}
    for block_id, elements in (view.get("state") or {}).get("values", {}).items():
        for element in elements.values():
            result[block_id] = _element_value(element)
    return result


def _element_value(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("static_select", "external_select", "radio_buttons"):
        chosen = element.get("selected_option")
        return chosen["value"] if chosen else None
    if kind in ("multi_static_select", "checkboxes", "multi_external_select"):
        return [o["value"] for o in element.get("selected_options") or []]
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "multi_users_select":
        return list(element.get("selected_users") or [])
    if kind == "channels_select":
        return element.get("selected_channel")
    if kind == "conversations_select":
        return element.get("selected_conversation")
    if kind == "multi_conversations_select":
        return list(element.get("selected_conversations") or [])
    if kind == "multi_channels_select":
        return list(element.get("selected_channels") or [])
    if kind == "datepicker":
        return element.get("selected_date")
    if kind == "timepicker":
        return element.get("selected_time")
    if kind == "datetimepicker":
        return element.get("selected_date_time")
    if kind == "file_input":
        return list(element.get("files") or [])
    return element.get("value")


def import_report(locale: str, prefix: str, code: str, report: Any) -> dict[str, Any]:
    """What a CSV import did (``report``: ``added``, ``updated`` and ``errors`` as (line, field,
    Msg)), the first 40 refused lines listed; the catalog's ``<prefix>.import_summary`` and
    ``<prefix>.import_error_line`` word it."""
    summary = t(
        locale,
        f"{prefix}.import_summary",
        code=code,
        added=len(report.added),
        updated=len(report.updated),
        rejected=len(report.errors),
    )
    blocks: list[Block] = [section(summary)]
    if report.errors:
        lines = [
            t(
                locale,
                f"{prefix}.import_error_line",
                line=line,
                field=field or "",
                message=Markup(say(locale, msg)),  # a Msg, rendered and escaped once
            )
            for line, field, msg in report.errors[:40]
        ]
        blocks.append(section("\n".join(lines)))
        if len(report.errors) > 40:
            blocks.append(context(t(locale, "common.more", count=len(report.errors) - 40)))
    return message(summary, blocks)


def built_features(locale: str) -> str:
    """The built capabilities in words ("the key-user register, issues and requests and
    satisfaction polls"), so greetings and help promise only what exists."""
    from bot.manifest import built_capabilities

    return plain(
        locale,
        "features.list",
        items=[plain(locale, f"features.{name}") for name in built_capabilities()],
    )


def channel_posts(locale: str) -> str:
    """What Liaison will post in a project's channel, from the built capabilities."""
    from bot.manifest import CHANNEL_POSTS, built_capabilities

    built = built_capabilities()
    items = [plain(locale, f"channel_posts.{name}") for name in CHANNEL_POSTS if name in built]
    return plain(locale, "features.list", items=items) if items else ""
