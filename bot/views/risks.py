"""Risk forms, the risk's card with its buttons, lists and DMs (pure builders: data in, Block
Kit out)."""

from __future__ import annotations

from datetime import date
from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import Block

from bot.i18n import has_key, plain, t
from bot.ids import RiskId
from bot.services.risks import (
    ACTION_LIMIT,
    CATEGORIES,
    CSV_COLUMNS,
    DESCRIPTION_LIMIT,
    MAX_CATEGORIES,
    MODULE_LIMIT,
    NOTE_LIMIT,
    REASON_LIMIT,
    SCALE,
    STRATEGIES,
    TITLE_LIMIT,
    Detail,
    RiskInput,
    RiskOverview,
    RiskPage,
    Thresholds,
    TopRisk,
    risk_ref,
)
from bot.views import common as ui
from bot.widths import display_width
from storage.models import Project, Risk, RiskAssessment, RiskHistory

LIST_PAGE_SIZE = 15
GRADE_EMOJI = {
    "low": ":large_green_circle:",
    "medium": ":large_yellow_circle:",
    "high": ":red_circle:",
}
HISTORY_SHOWN = 10
ACTION_BUTTONS = 5  # open actions with an "→ issue" button each; the rest are plain lines


def card_value(risk: Risk) -> str:
    return f"{risk.id}:{risk.version}"


def grade_label(locale: str, grade: str) -> str:
    return GRADE_EMOJI.get(grade, "") + " " + plain(locale, f"risk.grade.{grade}")


def category_label(locale: str, category: str) -> str:
    key = f"risk.category.{category}"
    return plain(locale, key) if has_key(key) else category  # a project's own: as named


def level_text(locale: str, risk: Risk, grade: str, *, labelled: bool = True) -> str:
    """``4 × 4 = 16 · high``, under the card's "Level" label unless ``labelled`` is False (in a
    sentence)."""
    return t(
        locale,
        "risk.card.level" if labelled else "risk.level",
        probability=risk.probability,
        impact=risk.impact,
        level=risk.level,
        grade=Markup(grade_label(locale, grade)),
    )


SCALE_VALUES = [str(n) for n in SCALE]
NEW_MODAL = ui.Modal(RiskId.NEW_MODAL, "risk.modal.new_title", "common.create")
ASSESS_MODAL = ui.Modal(RiskId.ASSESS_MODAL, "risk.modal.assess_title", "common.save")
CLOSE_MODAL = ui.Modal(RiskId.CLOSE_MODAL, "risk.modal.close_title", "risk.verb.close")
ACTION_MODAL = ui.Modal(RiskId.ACTION_MODAL, "risk.modal.action_title", "common.save")


# -------------------------------------------------------------------------------- the forms


def _scales(form: ui.Fields, probability: Any, impact: Any, **options: Any) -> list[Any]:
    """The probability and impact selects, 1–5, each value with its words."""
    chosen = {"probability": probability, "impact": impact}
    return [
        form.choice(
            what,
            f"risk.{what}",
            SCALE_VALUES,
            initial=str(chosen[what]) if chosen[what] else None,
            **(options if what == "impact" else {}),
        )
        for what in ("probability", "impact")
    ]


def new_risk_modal(
    locale: str,
    *,
    projects: list[Project],
    project: Project | None,
    defaults: RiskInput,
    categories: tuple[str, ...],
    team: bool,
    thresholds: Thresholds,
    meeting: tuple[int, str, str] | None = None,
) -> dict[str, Any]:
    """Raise a risk. A key user's form has no owner or channel choice (the team sets them).
    ``meeting``: (its event id, title, local date) when raised from a meeting's outcome."""
    form = ui.Fields(locale, "risk")
    metadata: dict[str, Any] = {}
    if project is not None:
        metadata["project_id"] = project.id
        blocks: list[Any] = [ui.context(t(locale, "risk.modal.raising_in", code=project.code))]
    else:
        blocks = [form.project(projects)]
    if meeting is not None:
        metadata["meeting"] = meeting[0]
        blocks.append(
            ui.context(t(locale, "risk.modal.from_meeting", title=meeting[1], date=meeting[2]))
        )
    grades = plain(
        locale, "risk.modal.grades", low=thresholds.low_max, medium=thresholds.medium_max
    )
    blocks += [
        form.text("title", initial=defaults.title or None, max_length=TITLE_LIMIT),
        form.paragraph(
            "description", initial=defaults.description or None, max_length=DESCRIPTION_LIMIT
        ),
        form.select(
            "category",
            [(c, category_label(locale, c)) for c in categories],
            initial=defaults.category or None,
        ),
        form.text(
            "module", initial=defaults.module or None, optional=True, max_length=MODULE_LIMIT
        ),
        *_scales(form, defaults.probability, defaults.impact, hint=grades),
        form.choice("strategy", "risk.strategy", STRATEGIES, initial=defaults.strategy or "reduce"),
    ]
    if team:
        blocks.append(
            form.user("owner_id", label="owner", initial=defaults.owner_id, optional=True)
        )
    code = project.code if project is not None else "ERP"
    blocks += [
        form.paragraph(
            "actions",
            initial=defaults.actions or None,
            max_length=3000,
            hint=plain(locale, "risk.modal.actions_hint"),
        ),
        form.date("review_on", optional=True),
        form.users("key_user_ids", label="key_users", optional=True),
        form.text(
            "issue_refs",
            label="issues",
            initial=defaults.issue_refs or None,
            optional=True,
            max_length=500,
            placeholder=plain(locale, "risk.modal.issues_hint", code=code),
        ),
    ]
    if team:
        blocks.append(
            form.checkboxes(
                "visible_in_channel",
                [("yes", form.label("visible_in_channel"))],
                label="visibility",
            )
        )
    return NEW_MODAL(locale, blocks, metadata)


def _risk_modal(locale: str, modal: ui.Modal, risk: Risk, fields: list[Any]) -> dict[str, Any]:
    """A form about one risk: what it is about, its fields, the risk and version it was opened
    on (an old version is refused when it is submitted)."""
    about = ui.section(t(locale, "risk.modal.about", ref=risk_ref(risk), title=risk.title))
    return modal(locale, [about, *fields], {"risk_id": risk.id, "version": risk.version})


def assess_modal(locale: str, project: Project, risk: Risk) -> dict[str, Any]:
    form = ui.Fields(locale, "risk")
    return _risk_modal(
        locale,
        ASSESS_MODAL,
        risk,
        [
            *_scales(form, risk.probability, risk.impact),
            form.paragraph("note", max_length=NOTE_LIMIT),
            form.date("review_on", label="next_review", initial=risk.review_on, optional=True),
        ],
    )


def close_modal(locale: str, project: Project, risk: Risk) -> dict[str, Any]:
    form = ui.Fields(locale, "risk")
    reason = form.text("reason", multiline=True, max_length=REASON_LIMIT)
    return _risk_modal(locale, CLOSE_MODAL, risk, [reason])


def action_modal(locale: str, project: Project, risk: Risk) -> dict[str, Any]:
    form = ui.Fields(locale, "risk")
    fields = [
        form.text("text", label="action", max_length=ACTION_LIMIT),
        form.user("owner_id", label="action_owner", optional=True),
    ]
    return _risk_modal(locale, ACTION_MODAL, risk, fields)


# ---------------------------------------------------------------------------------- the card


def history_line(locale: str, entry: RiskHistory, assessment: RiskAssessment | None) -> str:
    when = entry.at.date().isoformat()
    detail = entry.detail or {}
    if entry.action in ("raised", "assessed") and assessment is not None:
        line = t(
            locale,
            f"risk.history.{entry.action}",
            when=when,
            by=entry.actor_id,
            probability=assessment.probability,
            impact=assessment.impact,
            level=assessment.level,
            grade=plain(locale, f"risk.grade.{assessment.grade}"),
            note=assessment.note or "",
        )
        if detail.get("meeting"):  # raised from a meeting's outcome: named by title and date
            line += t(
                locale,
                "risk.history.from_meeting",
                title=detail["meeting"],
                date=detail.get("meeting_on") or "",
            )
        return line
    if entry.action == "imported":
        return t(locale, "risk.history.imported", when=when, by=entry.actor_id)
    return t(
        locale,
        f"risk.history.{entry.action}",
        when=when,
        by=entry.actor_id,
        owner=detail.get("owner") or "",
        text=detail.get("text") or detail.get("reason") or "",
        issue=detail.get("issue") or "",
    )


def risk_card(locale: str, found: Detail) -> dict[str, Any]:
    """A risk with its assessments, actions and history, and the buttons the person may use."""
    risk, project = found.risk, found.project
    ref = risk_ref(risk)
    title = plain(locale, "risk.card.title", ref=ref, code=project.code, title=risk.title)
    blocks: list[Block] = [ui.header(title)]
    if risk.description:
        blocks.append(ui.section(t(locale, "errors.plain", text=risk.description)))
    items = [
        level_text(locale, risk, found.grade),
        t(locale, "risk.card.status", status=plain(locale, f"risk.status.{risk.status}")),
        t(locale, "risk.card.category", category=category_label(locale, risk.category)),
        t(locale, "risk.card.module", module=risk.module or "—"),
        t(locale, "risk.card.owner", owner=risk.owner_id),
        t(locale, "risk.card.strategy", strategy=plain(locale, f"risk.strategy.{risk.strategy}")),
        t(locale, "risk.card.review", review=risk.review_on.isoformat() if risk.review_on else ""),
    ]
    if found.key_users:
        items.append(t(locale, "risk.card.key_users", people=found.key_users))
    if found.linked_issues:
        refs = [found.issue_refs[ident] for ident in found.linked_issues]
        items.append(t(locale, "risk.card.issues", refs=", ".join(refs)))
    blocks.append(ui.fields(items))
    if risk.closed_reason:
        blocks.append(ui.section(t(locale, "risk.card.closed_reason", text=risk.closed_reason)))
    open_risk = risk.status == "open"
    if found.actions:
        blocks.append(ui.section(t(locale, "risk.card.actions_title", count=len(found.actions))))
        buttons_left = ACTION_BUTTONS if (found.can_manage and open_risk) else 0
        plain_lines = []
        for action in found.actions:
            line = t(
                locale,
                "risk.card.action_line",
                text=action.text,
                owner=action.owner_id,
                issue=found.issue_refs.get(action.issue_id or 0, ""),
            )
            if action.issue_id is None and buttons_left:
                buttons_left -= 1
                button = ui.button(
                    plain(locale, "risk.verb.to_issue"), RiskId.ACTION_TO_ISSUE, str(action.id)
                )
                blocks.append(
                    ui.section(line, accessory=button, block_id=f"risk_action_{action.id}")
                )
            else:
                plain_lines.append(line)
        blocks += ui.line_sections(plain_lines)
    assessments = iter(found.assessments)
    lines = []
    for entry in found.history:
        assessment = next(assessments, None) if entry.action in ("raised", "assessed") else None
        lines.append(history_line(locale, entry, assessment))
    if lines:
        shown = lines[-HISTORY_SHOWN:]
        blocks.append(ui.section(t(locale, "risk.card.history_title")))
        blocks += ui.line_sections(shown)
        if len(lines) > len(shown):
            blocks.append(ui.context(t(locale, "common.more", count=len(lines) - len(shown))))
    blocks.append(
        ui.context(t(locale, "risk.card.raised", ref=ref, by=risk.created_by, code=project.code))
    )
    buttons = []
    value = card_value(risk)
    if open_risk and found.can_assess:
        buttons.append(
            ui.button(plain(locale, "risk.verb.assess"), RiskId.ASSESS, value, style="primary")
        )
        buttons.append(ui.button(plain(locale, "risk.verb.action"), RiskId.ADD_ACTION, value))
    if found.can_manage:
        if open_risk:
            confirm = ui.confirmed(locale, "risk.confirm_close", ref=ref, code=project.code)
            buttons.append(
                ui.button(plain(locale, "risk.verb.close"), RiskId.CLOSE, value, confirm=confirm)
            )
        else:
            buttons.append(ui.button(plain(locale, "risk.verb.reopen"), RiskId.REOPEN, value))
    if buttons:
        blocks.append(ui.actions(*buttons, block_id=f"risk_{risk.id}"))
    return ui.message(title, blocks)


# ------------------------------------------------------------------------------ answers


def change_text(locale: str, project: Project, risk: Risk, what: str, **extra: Any) -> str:
    """The answer to a change, for the person who made it."""
    return t(
        locale,
        f"risk.done.{what}",
        ref=risk_ref(risk),
        code=project.code,
        title=risk.title,
        **extra,
    )


def assessed_text(locale: str, project: Project, risk: Risk, grade: str) -> str:
    return change_text(
        locale,
        project,
        risk,
        "assessed",
        level=Markup(level_text(locale, risk, grade, labelled=False)),
    )


# ------------------------------------------------------------------------------ lists


def risk_line(locale: str, risk: Risk, grades: Thresholds) -> str:
    return t(
        locale,
        "risk.list.line",
        ref=risk_ref(risk),
        title=risk.title,
        level=risk.level,
        grade=Markup(grade_label(locale, grades.grade(risk.level))),
        owner=risk.owner_id,
        review=risk.review_on.isoformat() if risk.review_on else "",
        closed=risk.status != "open",
    )


def list_message(locale: str, found: RiskPage, command: str) -> dict[str, Any]:
    project = found.project
    title = t(
        locale,
        "risk.list.title",
        code=project.code,
        scope=plain(locale, f"risk.list.scope_{found.scope}"),
        count=found.total,
    )
    if not found.items:
        hint = None
    else:
        first = found.items[0].number
        hint = t(locale, "risk.list.hint", command=command, code=project.code, number=first)
    return ui.paged_list(
        locale,
        "risk",
        title,
        [risk_line(locale, r, found.thresholds) for r in found.items],
        empty=t(locale, "risk.list.empty", command=command),
        hint=hint,
        page=found.page,
        pages=found.pages,
        action=RiskId.LIST_PAGE,
        value=f"{project.id}|{found.scope}",
    )


# ----------------------------------------------------------------------------- DMs


def _open_button(locale: str, risk: Risk) -> Any:
    return ui.button(plain(locale, "risk.open"), RiskId.OPEN, str(risk.id))


def high_dm(locale: str, project: Project, risk: Risk, by: str | None) -> dict[str, Any]:
    """To each PM: a risk of their project has become high."""
    text = t(
        locale,
        "risk.high.text",
        ref=risk_ref(risk),
        code=project.code,
        title=risk.title,
        level=risk.level,
        probability=risk.probability,
        impact=risk.impact,
        by=by,
        owner=risk.owner_id,
    )
    section = ui.section(text, accessory=_open_button(locale, risk), block_id=f"risk_{risk.id}")
    return ui.message(text, [section])


REVIEW_LINES = 30


def review_dm(locale: str, items: list[tuple[Risk, Project]], today: date) -> dict[str, Any]:
    """One DM per owner per day listing every risk of theirs whose review is due."""
    shown = items[:REVIEW_LINES]
    title = t(locale, "risk.review.title", count=len(items))
    lines = [
        t(
            locale,
            "risk.review.line",
            ref=risk_ref(risk),
            code=project.code,
            title=risk.title,
            level=risk.level,
            due=risk.review_on.isoformat() if risk.review_on else "",
            days=(today - risk.review_on).days if risk.review_on else 0,
        )
        for risk, project in shown
    ]
    blocks: list[Block] = [ui.section(title), *ui.line_sections(lines)]
    if len(items) > len(shown):
        blocks.append(ui.context(t(locale, "common.more", count=len(items) - len(shown))))
    risk, project = shown[0]
    blocks.append(ui.context(t(locale, "risk.review.hint", ref=risk.number, code=project.code)))
    return ui.message(ui.list_text(locale, title, lines[0].removeprefix("• ")), blocks)


# ----------------------------------------------------------------------------- settings

SETTINGS_MODAL = ui.Modal(RiskId.SETTINGS_MODAL, "risk.modal.settings_title", "common.save")
IMPORT_MODAL = ui.Modal(RiskId.IMPORT_MODAL, "risk.modal.import_title", "common.import")


def settings_modal(
    locale: str, project: Project, categories: list[str], thresholds: Thresholds
) -> dict[str, Any]:
    """The project's categories (one a line; empty: the six defaults) and grade thresholds."""
    form = ui.Fields(locale, "risk")
    defaults = ", ".join(category_label(locale, c) for c in CATEGORIES)
    blocks = [
        ui.section(t(locale, "risk.modal.settings_intro", code=project.code)),
        form.paragraph(
            "categories",
            initial="\n".join(categories) or None,
            max_length=MAX_CATEGORIES * 41,
            hint=plain(locale, "risk.modal.categories_hint", defaults=defaults),
        ),
        form.number(
            "low_max",
            initial=thresholds.low_max,
            low=1,
            high=23,
            hint=plain(locale, "risk.modal.low_hint"),
        ),
        form.number(
            "medium_max",
            initial=thresholds.medium_max,
            low=2,
            high=24,
            hint=plain(locale, "risk.modal.medium_hint"),
        ),
    ]
    return SETTINGS_MODAL(locale, blocks, {"project_id": project.id})


def settings_saved(
    locale: str, project: Project, categories: list[str], low: int, medium: int
) -> str:
    shown = ", ".join(category_label(locale, c) for c in (categories or CATEGORIES))
    return t(
        locale,
        "risk.done.settings",
        code=project.code,
        low=low,
        medium=medium,
        categories=shown,
        defaults=not categories,
    )


def import_modal(locale: str, project: Project) -> dict[str, Any]:
    form = ui.Fields(locale, "risk")
    blocks = [
        ui.section(t(locale, "risk.modal.import_intro", code=project.code)),
        ui.file_input("csv_file", form.label("csv_file"), filetypes=["csv"], optional=True),
        form.paragraph(
            "csv", label="csv_text", max_length=3000, placeholder=",".join(CSV_COLUMNS[:6])
        ),
    ]
    return IMPORT_MODAL(locale, blocks, {"project_id": project.id})


def import_report(locale: str, project: Project, report: Any) -> dict[str, Any]:
    return ui.import_report(locale, "risk", project.code, report)


# --------------------------------------------------------------- the grid and the top risks

GRADE_SQUARE = {
    "low": ":large_green_square:",
    "medium": ":large_yellow_square:",
    "high": ":large_red_square:",
}


def grid_text(locale: str, thresholds: Thresholds, grid: dict[tuple[int, int], int]) -> str:
    """The 5 × 5 grid as text (impact 5 at the top, probability 1 to 5 left to right): each
    cell the colour of its grade, its grade's mark in words (not the colour alone) and the count
    of open risks in it."""
    marks = {grade: plain(locale, f"risk.grid.mark.{grade}") for grade in GRADE_SQUARE}
    pad = " " * max(display_width(mark) for mark in marks.values())
    rows = []
    for weight in reversed(SCALE):
        cells = []
        for chance in SCALE:
            grade = thresholds.grade(chance * weight)
            count = grid.get((chance, weight), 0)
            shown = f"{count:>2}" if count else "  "
            cells.append(f"{GRADE_SQUARE[grade]}`{marks[grade]}{shown}`")
        rows.append(f"`{weight}` " + " ".join(cells))
    rows.append("`  ` " + " ".join(f"   `{pad}{chance:>2}`" for chance in SCALE))
    legend = t(locale, "risk.grid.legend", **marks)
    return t(locale, "risk.grid.axes") + "\n" + "\n".join(rows) + "\n" + legend


def top_line(locale: str, item: TopRisk, thresholds: Thresholds, *, names: bool = True) -> str:
    return t(
        locale,
        "risk.top.line",
        ref=item.ref,
        title=item.title,
        level=item.level,
        grade=Markup(grade_label(locale, thresholds.grade(item.level))),
        owner=item.owner_id if names else None,
    )


def overview_text(locale: str, overview: RiskOverview) -> str:
    counts = overview.by_grade()
    return t(
        locale,
        "risk.top.summary",
        code=overview.project.code,
        count=overview.total,
        high=counts["high"],
        medium=counts["medium"],
        low=counts["low"],
    )


def home_part(locale: str, overviews: list[RiskOverview]) -> list[Block]:
    """The PM's Home: each managed project's open risks, its grid and its top risks."""
    blocks: list[Block] = []
    for overview in overviews:
        if not overview.total:
            continue
        blocks.append(ui.section(overview_text(locale, overview)))
        blocks.append(ui.section(grid_text(locale, overview.thresholds, overview.grid)))
        lines = [top_line(locale, item, overview.thresholds) for item in overview.top]
        blocks += ui.line_sections(lines)
        project_id = overview.project.id
        button = ui.button(plain(locale, "risk.top.home_list"), RiskId.HOME_LIST, str(project_id))
        blocks.append(ui.actions(button, block_id=f"risk_home_{project_id}"))
    return ui.titled(plain(locale, "risk.top.home_title"), blocks)


# ------------------------------------------------------------------ a meeting's summary

MEETING_BUTTONS = 15  # decisions and action items with a "Raise a risk" button each


def meeting_buttons(
    locale: str, outcome_id: int, decisions: list[str], items: list[tuple[int, str]]
) -> list[Block]:
    """Under a meeting's outcome summary: one button per decision and per action item that opens
    the risk form with its text."""
    sources = [(f"d:{outcome_id}:{index}", text) for index, text in enumerate(decisions)]
    sources += [(f"a:{item_id}", text) for item_id, text in items]
    buttons = [
        ui.button(
            ui.clip(plain(locale, "risk.from_meeting.button", text=text), 75),
            f"{RiskId.FROM_MEETING}_{n}",
            value,
        )
        for n, (value, text) in enumerate(sources[:MEETING_BUTTONS])
    ]
    if not buttons:
        return []
    return [
        ui.context(t(locale, "risk.from_meeting.intro")),
        ui.actions(*buttons, block_id=f"risk_from_meeting_{outcome_id}"),
    ]


def grid_payload(
    locale: str, project: Project, png: bytes, channel: str, week: str
) -> dict[str, Any]:
    """A ``files.upload_v2`` outbox payload of the risk heat grid (the PMs' digest)."""
    import base64

    return {
        "channel": channel,
        "content_base64": base64.b64encode(png).decode("ascii"),
        "filename": f"risks-{project.code}-{week}.png",
        "title": plain(locale, "risk.grid.title", code=project.code),
        "alt_txt": plain(locale, "risk.grid.title", code=project.code),
        "initial_comment": t(locale, "risk.grid.comment", code=project.code),
    }
