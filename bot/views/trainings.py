"""Training modals, DMs, lists and the readiness matrix (pure builders); the sessions' are in
``bot.views.training_sessions``.

``MESSAGES`` implements ``bot.services.training_quizzes.TrainingMessages``: the Block Kit the
services and jobs put into the outbox (quiz invitations, reminders, results).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from slack_sdk.models.blocks import Block, InputBlock

from bot.i18n import hours_figure, joined, mention, percent, plain, slack_date, t
from bot.ids import TrainingId
from bot.services.keyusers import ROLES
from bot.services.training_quizzes import (
    QUESTION_COLUMNS,
    QUESTION_LIMIT,
    REMIND_CHOICES,
    QuizResults,
)
from bot.services.training_readiness import Readiness, ReadinessCell
from bot.services.trainings import (
    COMMENT_LIMIT,
    CURRICULUM_COLUMNS,
    DESCRIPTION_LIMIT,
    NAME_LIMIT,
    PRACTICAL_COLUMNS,
    ImportReport,
)
from bot.views import common as ui
from bot.views import end_users as end_user_views
from storage.models import (
    Project,
    QuizKind,
    QuizQuestion,
    QuizRound,
    TrainingFormat,
    TrainingModule,
)

IMPORT_COLUMNS = {
    "curriculum": CURRICULUM_COLUMNS,
    "questions": QUESTION_COLUMNS,
    "practical": PRACTICAL_COLUMNS,
}
READINESS_PAGE_SIZE = 10


def _hours(value: float) -> str:
    return hours_figure(value)


def format_names(locale: str, formats: Sequence[str]) -> str:
    return " + ".join(plain(locale, f"training.format.{f}") for f in formats)


def role_names(locale: str, roles: Sequence[str]) -> str:
    return plain(locale, "training.list_separator").join(plain(locale, f"roles.{r}") for r in roles)


def module_choices(modules: Sequence[TrainingModule]) -> list[tuple[str, str]]:
    return [(str(m.id), m.name) for m in modules]


def datetime_field(
    field: ui.Fields, block_id: str, initial: int | None = None, *, optional: bool = False
) -> InputBlock:
    """A date and time picker labelled by ``field`` (no hint)."""
    return ui.datetime_input(block_id, field.label(block_id), initial, "", optional=optional)


# ------------------------------------------------------------------------------- curriculum


def curriculum(
    locale: str,
    project: Project,
    modules: Sequence[TrainingModule],
    delivered: dict[int, float],
    *,
    can_edit: bool,
) -> dict[str, Any]:
    title = t(locale, "training.curriculum_title", code=project.code)
    blocks: list[Block] = [ui.header(plain(locale, "training.curriculum_title", code=project.code))]
    value = str(project.id)
    if not modules:
        blocks.append(ui.section(t(locale, "training.curriculum_empty", code=project.code)))
        if can_edit:
            blocks.append(
                ui.actions(
                    ui.button(
                        plain(locale, "training.use_standard"),
                        TrainingId.USE_STANDARD,
                        value,
                        style="primary",
                    ),
                    ui.button(plain(locale, "training.add_module"), TrainingId.ADD_MODULE, value),
                    block_id="curriculum_actions",
                )
            )
        return ui.message(title, blocks)
    for module in modules[:40]:
        text = t(
            locale,
            "training.curriculum_line",
            position=module.position,
            name=module.name,
            formats=format_names(locale, module.formats),
            delivered=_hours(delivered.get(module.id or 0, 0.0)),
            planned=_hours(module.planned_hours),
            roles=role_names(locale, module.audience_roles),
            practical=module.has_practical,
            pass_mark=module.pass_mark,
            description=module.description or "",
        )
        accessory = (
            ui.button(plain(locale, "training.edit_module"), TrainingId.EDIT_MODULE, str(module.id))
            if can_edit
            else None
        )
        blocks.append(ui.section(text, accessory=accessory, block_id=f"module_{module.id}"))
    blocks.append(
        ui.context(
            t(
                locale,
                "training.curriculum_total",
                modules=len(modules),
                planned=_hours(sum(m.planned_hours for m in modules)),
                delivered=_hours(sum(delivered.values())),
            )
        )
    )
    buttons = [ui.button(plain(locale, "training.export_csv"), TrainingId.EXPORT_CURRICULUM, value)]
    if can_edit:
        buttons = [
            ui.button(plain(locale, "training.add_module"), TrainingId.ADD_MODULE, value),
            *buttons,
            ui.button(plain(locale, "training.import_csv"), TrainingId.IMPORT_CURRICULUM, value),
        ]
    blocks.append(ui.actions(*buttons, block_id="curriculum_actions"))
    return ui.message(title, blocks)


_MODULE_MODAL = ui.Modal(TrainingId.MODULE_MODAL, "training.modal.module_title", "common.save")
_MODULE_NOTICE = ui.Modal(
    TrainingId.MODULE_NOTICE, "training.modal.module_title", None, close="common.close"
)


def module_modal(
    locale: str, project: Project, module: TrainingModule | None = None, *, size: int = 0
) -> dict[str, Any]:
    """A module's form; ``size``: how many modules the curriculum holds (for its place)."""
    field = ui.Fields(locale, "training")
    formats = ui.labelled(locale, "training.format", [f.value for f in TrainingFormat])
    places = size if module else size + 1
    blocks: list[Block] = [
        field.text("name", initial=module and module.name, max_length=NAME_LIMIT),
        field.paragraph(
            "description", initial=module and module.description, max_length=DESCRIPTION_LIMIT
        ),
        field.number(
            "planned_hours",
            initial=module.planned_hours if module else None,
            decimal=True,
            low=0.5,
            high=500,
        ),
        field.checkboxes(
            "formats",
            formats,
            module.formats if module else [TrainingFormat.LECTURE],
            optional=False,
        ),
        field.checkboxes(
            "audience_roles",
            ui.labelled(locale, "roles", ROLES),
            module.audience_roles if module else [],
        ),
        field.radio(
            "has_practical",
            "training",
            ("yes", "no"),
            initial="yes" if module and module.has_practical else "no",
        ),
        field.number("pass_mark", initial=module.pass_mark if module else 60, low=0, high=100),
        field.select(
            "position",
            [(str(n), str(n)) for n in range(1, places + 1)],
            initial=str(module.position if module else places),
            hint=field.hint("position", count=places),
        ),
    ]
    if module is not None:
        text = t(locale, "training.delete_module_confirm", name=module.name)
        blocks.append(
            ui.actions(
                ui.button(
                    plain(locale, "training.delete_module"),
                    TrainingId.DELETE_MODULE,
                    str(module.id),
                    style="danger",
                    confirm=ui.confirm_dialog(
                        plain(locale, "training.delete_module_title"),
                        text,
                        plain(locale, "training.delete_module"),
                        plain(locale, "common.cancel"),
                        danger=True,
                    ),
                ),
                block_id="module_delete",
            )
        )
    return _MODULE_MODAL(locale, blocks, {"p": project.id, "m": module.id if module else None})


def module_notice(locale: str, text: str) -> dict[str, Any]:
    """What became of a module's deletion, in place of its form."""
    return _MODULE_NOTICE(locale, [ui.section(text)])


def import_modal(locale: str, project: Project, kind: str) -> dict[str, Any]:
    field = ui.Fields(locale, "training")
    columns = ",".join(IMPORT_COLUMNS[kind])
    blocks = [
        ui.section(t(locale, "training.import_intro", columns=columns)),
        ui.file_input("csv_file", field.label("csv_file"), filetypes=["csv"], optional=True),
        field.paragraph("csv", label="csv_text", max_length=3000, placeholder=columns),
    ]
    form = ui.Modal(TrainingId.IMPORT_MODAL, f"training.modal.import_{kind}", "common.import")
    return form(locale, blocks, {"p": project.id, "k": kind})


def import_report(locale: str, project: Project, report: ImportReport) -> dict[str, Any]:
    return ui.import_report(locale, "training", project.code, report)


# ------------------------------------------------------------------------- question bank, quiz


_QUESTION_MODAL = ui.Modal(TrainingId.QUESTION_MODAL, "training.modal.question_title", "common.add")
_QUIZ_MODAL = ui.Modal(TrainingId.QUIZ_MODAL, "training.modal.quiz_title", "common.send")


def question_modal(
    locale: str, project: Project, modules: Sequence[TrainingModule]
) -> dict[str, Any]:
    field = ui.Fields(locale, "training")
    blocks = [
        field.select("module", module_choices(modules)),
        field.radio("kind", "training.kind", [k.value for k in QuizKind], initial=QuizKind.SINGLE),
        field.text("text", max_length=QUESTION_LIMIT),
        field.text("options", multiline=True, max_length=900, hint=field.hint("options")),
    ]
    return _QUESTION_MODAL(locale, blocks, {"p": project.id})


def quiz_modal(locale: str, project: Project, modules: Sequence[TrainingModule]) -> dict[str, Any]:
    field = ui.Fields(locale, "training")
    reminders = [(str(h), plain(locale, f"training.remind.r{h}")) for h in REMIND_CHOICES]
    blocks = [
        ui.section(t(locale, "training.hint.quiz")),
        field.select("module", module_choices(modules)),
        datetime_field(field, "deadline"),
        field.select("remind_hours", reminders, initial="24"),
        field.radio("repeat", "training.repeat", ("weekly", "once"), initial="weekly"),
    ]
    return _QUIZ_MODAL(locale, blocks, {"p": project.id})


def quiz_invite(
    locale: str,
    quiz: QuizRound,
    module: TrainingModule,
    count: int,
    timezone: str,
    *,
    code: str = "",
) -> dict[str, Any]:
    deadline = slack_date(quiz.deadline, timezone)
    text = t(
        locale,
        "training.quiz_invite",
        module=module.name,
        count=count,
        pass_mark=quiz.pass_mark,
        deadline=deadline,
    )
    blocks = [
        ui.section(text),
        ui.primary_action(
            plain(locale, "training.take_quiz"),
            TrainingId.TAKE_QUIZ,
            str(quiz.id),
            block_id="quiz_actions",
        ),
    ]
    fallback = ui.notification(
        locale,
        t(locale, "training.notify.quiz", module=module.name),
        code=code,
        when=t(locale, "training.notify.deadline", deadline=deadline),
        state=t(locale, "training.notify.quiz_state", count=count, pass_mark=quiz.pass_mark),
    )
    return ui.message(fallback, blocks)


def quiz_reminder(
    locale: str, quiz: QuizRound, module: TrainingModule, timezone: str, *, code: str = ""
) -> dict[str, Any]:
    deadline = slack_date(quiz.deadline, timezone)
    text = t(locale, "training.quiz_reminder", module=module.name, deadline=deadline)
    return ui.message(ui.notification(locale, text, code=code), [ui.section(text)])


def quiz_answer_modal(
    locale: str,
    quiz: QuizRound,
    module: TrainingModule,
    questions: Sequence[QuizQuestion],
    metadata: dict[str, Any],
    timezone: str,
) -> dict[str, Any]:
    blocks: list[Block] = [
        ui.context(
            t(
                locale,
                "training.quiz_invite",
                module=module.name,
                count=len(questions),
                pass_mark=quiz.pass_mark,
                deadline=slack_date(quiz.deadline, timezone),
            )
        )
    ]
    for question in questions:
        choices = [(str(i), option) for i, option in enumerate(question.options)]
        if question.kind == QuizKind.MULTIPLE:
            blocks.append(
                ui.checkboxes_input(f"q{question.id}", question.text, choices, [], optional=False)
            )
        else:
            blocks.append(ui.radio_input(f"q{question.id}", question.text, choices))
    return ui.modal(
        callback_id=TrainingId.QUIZ_ANSWER_MODAL,
        title=ui.clip(module.name, 24),
        submit=plain(locale, "training.modal.answer_submit"),
        close=plain(locale, "common.cancel"),
        blocks=blocks,
        private_metadata=metadata,
    )


def quiz_scored(
    locale: str,
    quiz: QuizRound,
    module: TrainingModule,
    score: int,
    passed: bool,
    missed: Sequence[QuizQuestion],
) -> dict[str, Any]:
    text = t(
        locale,
        "training.quiz_scored",
        module=module.name,
        score=score,
        result=plain(locale, "training.passed" if passed else "training.failed"),
        pass_mark=quiz.pass_mark,
    )
    if missed:
        lines = "\n".join(
            t(
                locale,
                "training.quiz_missed_line",
                text=q.text,
                right=joined(locale, (q.options[i] for i in q.correct)),
            )
            for q in missed
        )
        detail = t(locale, "training.quiz_missed", lines=Markup(lines))
    else:
        detail = t(locale, "training.quiz_all_right")
    icon = ":white_check_mark: " if passed else ":x: "
    return ui.message(text, [ui.section(icon + text), ui.section(detail)])


def quiz_results(results: QuizResults) -> dict[str, Any]:
    quiz, module, locale = results.quiz, results.module, results.project.locale
    title = plain(locale, "training.quiz_results_title", id=results.number, module=module.name)
    summary = t(
        locale,
        "training.quiz_results_summary",
        taken=len(results.taken),
        invited=len(results.attempts),
        average=percent(results.average),
        passed=results.passed,
        pass_mark=quiz.pass_mark,
        deadline=slack_date(quiz.deadline, results.project.timezone),
    )
    blocks: list[Block] = [ui.header(title), ui.section(summary)]
    lines = [
        t(
            locale,
            "training.quiz_results_line",
            user=_mention(a.user_id),
            taken=a.submitted_at is not None,
            score=a.score,
            result=plain(locale, "training.passed" if a.passed else "training.failed"),
        )
        for a in results.attempts[:60]
    ]
    blocks += [ui.section("\n".join(chunk)) for chunk in _chunks(lines, 20)]
    question_lines = [
        t(locale, "training.quiz_question_line", text=q.text, missed=results.missed_by(q.id or 0))
        for q in results.questions
    ]
    if question_lines and results.taken:
        blocks.append(ui.section("\n".join(question_lines)))
    fallback = t(locale, "training.quiz_results_fallback", id=results.number, module=module.name)
    text = ui.notification(locale, fallback, code=results.project.code, state=summary)
    return ui.message(text, blocks)


def _mention(user_id: str) -> Any:
    return mention(user_id)


def _chunks(lines: list[str], size: int) -> list[list[str]]:
    return [lines[i : i + size] for i in range(0, len(lines), size)] or []


_PRACTICAL_MODAL = ui.Modal(
    TrainingId.PRACTICAL_MODAL, "training.modal.practical_title", "common.save"
)


def practical_modal(
    locale: str, project: Project, modules: Sequence[TrainingModule]
) -> dict[str, Any]:
    field = ui.Fields(locale, "training")
    blocks = [
        field.select("module", module_choices([m for m in modules if m.has_practical])),
        field.user("user_id"),
        field.number("score", low=0, high=100),
        field.paragraph("comment", max_length=COMMENT_LIMIT),
    ]
    return _PRACTICAL_MODAL(locale, blocks, {"p": project.id})


# -------------------------------------------------------------------------------- readiness


def _quiz_text(cell: ReadinessCell) -> str:
    return percent(cell.quiz_score)


def _practical_text(locale: str, cell: ReadinessCell) -> str:
    if cell.practical_score is None:
        return "—"
    result = plain(locale, "training.passed" if cell.practical_passed else "training.failed")
    return plain(locale, "units.result", value=percent(cell.practical_score), result=result)


def _cell(locale: str, module: TrainingModule, cell: ReadinessCell) -> dict[str, Any]:
    """A readiness cell's words: its hours, quiz and practical against the module's."""
    return {
        "ready": cell.ready,
        "module": module.name,
        "hours": _hours(cell.hours),
        "planned": _hours(module.planned_hours),
        "quiz": _quiz_text(cell),
        "has_practical": module.has_practical,
        "practical": _practical_text(locale, cell),
    }


def readiness_page(
    locale: str,
    project: Project,
    matrix: Readiness | None,
    page: int,
    end_users: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """A page of the key users' matrix (``matrix``; None for a key user, who sees only their end
    users) and, with ``end_users``, the same page of the end users' readiness per module and
    department: the pages run as far as the longer of the two."""
    title = plain(locale, "training.readiness_title", code=project.code)
    blocks: list[Block] = [ui.header(title)]
    rows = matrix.rows if matrix is not None and matrix.modules else []
    pages = max(
        1,
        -(-len(rows) // READINESS_PAGE_SIZE),
        end_user_views.readiness_pages(end_users or []),
    )
    page = min(max(page, 1), pages)
    if matrix is not None:
        blocks.append(ui.context(t(locale, "training.readiness_intro")))
    if matrix is not None and not rows:
        blocks.append(ui.section(t(locale, "training.readiness_empty", code=project.code)))
    elif matrix is not None:
        summary = [
            t(
                locale,
                "training.readiness_module",
                module=m.module.name,
                ready=m.ready,
                trainees=m.trainees,
            )
            for m in matrix.by_module()
        ]
        blocks.append(ui.section("\n".join(summary)))
        first = (page - 1) * READINESS_PAGE_SIZE
        shown = rows[first : first + READINESS_PAGE_SIZE]
        for row in shown:
            lines = [
                t(
                    locale,
                    "training.readiness_row",
                    name=row.name,
                    ready=row.ready_count,
                    applicable=row.applicable_count,
                )
            ]
            for module, cell in zip(matrix.modules, row.cells, strict=True):
                if not cell.applicable:
                    continue
                lines.append(t(locale, "training.readiness_cell", **_cell(locale, module, cell)))
            blocks.append(ui.section("\n".join(lines)))
        if shown:
            blocks.append(
                ui.context(
                    t(
                        locale,
                        "training.readiness_page",
                        first=first + 1,
                        last=first + len(shown),
                        total=len(rows),
                    )
                )
            )
    if end_users is not None:
        blocks += end_user_views.readiness_blocks(locale, project, end_users, page)
    buttons = []
    if page > 1:
        buttons.append(
            ui.button(
                plain(locale, "training.previous"),
                TrainingId.READINESS_PAGE,
                f"{project.id}:{page - 1}",
            )
        )
    if page < pages:
        buttons.append(
            ui.button(
                plain(locale, "training.next"),
                TrainingId.READINESS_PAGE,
                f"{project.id}:{page + 1}",
            )
        )
    if matrix is not None and rows:
        buttons.append(
            ui.button(
                plain(locale, "training.export_csv"), TrainingId.EXPORT_READINESS, str(project.id)
            )
        )
    if buttons:
        blocks.append(ui.actions(*buttons, block_id="readiness_actions"))
    return ui.message(title, blocks)


# -------------------------------------------------------------------------------- Home tab


def home_quizzes(
    locale: str, rows: Sequence[tuple[QuizRound, TrainingModule, Project]]
) -> list[Block]:
    take = plain(locale, "training.take_quiz")
    lines = [
        ui.section(
            t(
                locale,
                "training.home_quiz_line",
                module=module.name,
                code=project.code,
                deadline=slack_date(quiz.deadline, project.timezone),
            ),
            accessory=ui.button(take, TrainingId.TAKE_QUIZ, str(quiz.id)),
            block_id=f"quiz_{quiz.id}",
        )
        for quiz, module, project in rows[:10]
    ]
    return ui.titled(plain(locale, "training.home_quizzes_title"), lines)


def home_own_readiness(
    locale: str, rows: Sequence[tuple[Project, TrainingModule, ReadinessCell]]
) -> list[Block]:
    if not rows:
        return []
    lines = [
        t(locale, "training.home_readiness_line", code=project.code, **_cell(locale, module, cell))
        for project, module, cell in rows[:20]
    ]
    return [
        ui.header(plain(locale, "training.home_readiness_title")),
        ui.info("\n".join(lines), "own_readiness"),
    ]


class _Messages:
    """``bot.services.training_quizzes.TrainingMessages`` for the services and jobs."""

    def quiz_invite(
        self, project: Project, quiz: QuizRound, module: TrainingModule, count: int
    ) -> dict[str, Any]:
        return quiz_invite(project.locale, quiz, module, count, project.timezone, code=project.code)

    def quiz_reminder(
        self, project: Project, quiz: QuizRound, module: TrainingModule
    ) -> dict[str, Any]:
        return quiz_reminder(project.locale, quiz, module, project.timezone, code=project.code)

    def quiz_results(self, results: QuizResults) -> dict[str, Any]:
        return quiz_results(results)

    def quiz_stopped(self, project: Project, number: int) -> dict[str, Any]:
        text = t(project.locale, "training.quiz_repeat_stopped", id=number)
        return ui.message(text, [ui.section(text)])


MESSAGES = _Messages()
