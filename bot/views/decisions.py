"""The decision log's list, its form and its lines (pure builders: data in, Block Kit out). The
weekly digest's section is a template (``digest/decisions.j2``) that reads the same lines."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from bot.i18n import joined, plain, t
from bot.ids import DecisionId
from bot.services.decisions import NAMES_LIMIT, TEXT_LIMIT, DecisionLine, DecisionPage
from bot.views import common as ui
from storage.models import Project

LIST_TEXT_SHOWN = 400  # a decision's words in the list; the export has them whole
ADD_MODAL = ui.Modal(DecisionId.ADD_MODAL, "decision.modal.title", "common.add")


def who_text(locale: str, line: DecisionLine) -> str:
    """Who decided, in words: the people mentioned, then the names typed."""
    decision = line.decision
    people = [f"<@{person}>" for person in decision.decided_by]
    return t(
        locale,
        "decision.who",
        people=joined(locale, [Markup(person) for person in people]),
        names=decision.decided_by_names or "",
    )


def source_text(locale: str, project: Project, line: DecisionLine) -> str:
    """Where a decision came from, in words: "meeting <title> on <date>", a change request, or
    recorded by a person."""
    decision = line.decision
    if decision.source == "meeting" and line.meeting_title and line.meeting_starts_at:
        day = line.meeting_starts_at.astimezone(ZoneInfo(project.timezone)).date()
        return t(locale, "decision.source.meeting", title=line.meeting_title, date=day.isoformat())
    if decision.source == "change" and line.change_number is not None:
        return t(locale, "decision.source.change", number=line.change_number)
    return t(locale, "decision.source.manual", user=decision.recorded_by)


def line_text(locale: str, project: Project, line: DecisionLine) -> str:
    decision = line.decision
    return t(
        locale,
        "decision.line",
        number=decision.number,
        date=decision.decided_on.isoformat(),
        what=ui.clip(decision.text, LIST_TEXT_SHOWN),
        who=Markup(who_text(locale, line)),
        source=Markup(source_text(locale, project, line)),
        risk=line.risk_number,
        issue=f"{project.code}-{line.issue_number}" if line.issue_number else "",
        supersedes=line.supersedes_number,
        superseded_by=line.superseded_by,
    )


def list_message(locale: str, found: DecisionPage, command: str) -> dict[str, Any]:
    project = found.project
    title = t(locale, "decision.list.title", code=project.code, count=found.total)
    extra = []
    if found.can_add:
        extra.append(ui.button(plain(locale, "decision.list.add"), DecisionId.ADD, str(project.id)))
    return ui.paged_list(
        locale,
        "decision",
        title,
        [line_text(locale, project, line) for line in found.lines],
        empty=t(locale, "decision.list.empty", command=command, code=project.code),
        hint=None,
        page=found.page,
        pages=found.pages,
        action=DecisionId.LIST_PAGE,
        value=str(project.id),
        extra=extra,
    )


def add_modal(
    locale: str,
    *,
    projects: list[Project],
    project: Project | None,
    today: date | None = None,
) -> dict[str, Any]:
    """Record a decision: what, who decided (people and names), when (today by default, in the
    project's timezone), and optionally the risk, issue or earlier decision it concerns."""
    form = ui.Fields(locale, "decision")
    metadata: dict[str, Any] = {}
    if project is not None:
        metadata["project_id"] = project.id
        blocks: list[Any] = [ui.context(t(locale, "decision.modal.in_project", code=project.code))]
    else:
        blocks = [form.project(projects)]
    blocks += [
        form.text("text", multiline=True, max_length=TEXT_LIMIT),
        form.users("decided_by", optional=True),
        form.text("decided_by_names", optional=True, max_length=NAMES_LIMIT),
        form.date("decided_on", initial=today),
        form.text("risk", optional=True, max_length=8, hint=form.hint("risk")),
        form.text("issue", optional=True, max_length=20, hint=form.hint("issue")),
        form.text("supersedes", optional=True, max_length=8, hint=form.hint("supersedes")),
    ]
    return ADD_MODAL(locale, blocks, metadata)


def recorded_text(locale: str, project: Project, number: int) -> str:
    return t(locale, "decision.recorded", code=project.code, number=number)
