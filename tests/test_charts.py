"""Poll charts: Chinese drawn with the shipped CJK font and no missing-glyph warnings, text that
no font covers shown as □, and matplotlib loaded only when a chart is drawn."""

from __future__ import annotations

import subprocess
import sys
import warnings
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from bot import charts
from bot.services.poll_results import QuestionFigures, RoundFigures


def figures(title: str, question: str, labels: list[str]) -> SimpleNamespace:
    asked = QuestionFigures(
        question=SimpleNamespace(text=question),  # type: ignore[arg-type]
        answered=3,
        distribution=[(label, index + 1) for index, label in enumerate(labels)],
    )
    rounds = [
        RoundFigures(n, datetime(2026, 12, n, tzinfo=UTC), "closed", 60.0 + n, 50.0, 10.0, 4.0)
        for n in (1, 2)
    ]
    return SimpleNamespace(
        poll=SimpleNamespace(title=title, round_number=2), questions=[asked], trend=rounds
    )


def test_a_chinese_chart_draws_every_character_without_warnings() -> None:
    data = figures(
        "每月关键用户满意度调查：财务模块上线准备情况与培训效果的综合评估",
        "您对本月项目沟通的及时性和问题处理的速度总体上是否满意？请根据实际体验打分",
        ["非常不满意", "不满意", "一般", "满意", "非常满意"],
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.results_chart(data, "zh-CN")
    assert png.startswith(b"\x89PNG")
    assert [str(w.message) for w in caught] == []


def test_characters_no_font_has_become_a_visible_mark() -> None:
    assert charts.drawable("满意 ok") == "满意 ok"
    assert charts.drawable("𠀀 rare") == "□ rare"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        charts.results_chart(figures("𠀀𠀁 $5 & 100%", "𠀀?", ["𠀀", "b"]), "en")
    assert [str(w.message) for w in caught] == []


def test_long_chinese_titles_are_cut_not_emptied() -> None:
    text = "中" * 100
    assert charts._shorten(text, 60) == "中" * 59 + "…"
    assert charts._shorten("a  b\nc", 60) == "a b c"


def test_starting_the_app_does_not_import_matplotlib() -> None:
    code = (
        "import sys, bot.app, bot.cli, bot.server, bot.scheduler, handlers.polls;"
        "print(sorted(m for m in ('matplotlib', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


class Drawn:
    """What a chart drew: its texts, the boxes of its titles and labels, and its panels."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.labels: list[tuple[str, Any]] = []
        self.panels: list[Any] = []
        self.size: tuple[float, float] = (0.0, 0.0)

    def text(self, startswith: str) -> str:
        [found] = [text for text in self.texts if text.startswith(startswith)]
        return found

    def outside(self) -> list[str]:
        """Titles, labels and legends drawn past the picture's edges (so cut off)."""
        width, height = self.size
        return [
            text
            for text, box in self.labels
            if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1
        ]


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> Drawn:
    """Records each chart's texts and panels as it was saved, when it is closed."""
    from matplotlib.text import Text

    seen = Drawn()
    plt = charts._pyplot("en")
    original = plt.close

    def record(figure: Any) -> None:
        renderer = figure.canvas.get_renderer()
        seen.size = (figure.bbox.width, figure.bbox.height)
        seen.texts = [
            text.get_text()
            for text in figure.findobj(Text)
            if text.get_visible() and text.get_text().strip()
        ]
        labels = [figure._suptitle] if figure._suptitle else []
        for ax in figure.axes:
            labels += [ax.title, *ax.get_xticklabels(), ax.yaxis.label]
        for legend in figure.legends:
            labels += legend.get_texts()
        seen.labels = [
            (label.get_text(), label.get_window_extent(renderer))
            for label in labels
            if label.get_text().strip()
        ]
        seen.panels = list(figure.axes)
        original(figure)

    monkeypatch.setattr(plt, "close", record)
    return seen


def poll_figures(questions: list[str], title: str, round_number: int) -> SimpleNamespace:
    data = figures(title, questions[0], ["1", "2", "3", "4", "5"])
    data.questions = [
        QuestionFigures(
            question=SimpleNamespace(text=text),  # type: ignore[arg-type]
            answered=3,
            distribution=[(str(score), score % 3) for score in range(11)],
        )
        for text in questions
    ]
    data.poll.round_number = round_number
    return data


@pytest.mark.parametrize(
    ("locale", "title", "question", "joined"),
    [
        (
            "en",
            "Monthly key-user satisfaction, round 3",
            "How likely are you to recommend the new system to a colleague in your team or "
            "another department, given what you saw of it this month?",
            " ",
        ),
        (
            "zh-CN",
            "关键用户月度满意度，第 3 轮",
            "您有多大可能向您所在团队或其他部门的同事推荐新系统？请根据本月在日常工作中使用它的实际体验作答。",
            "",
        ),
    ],
)
def test_the_poll_chart_says_which_round_and_shows_every_title_whole(
    drawn: Drawn, locale: str, title: str, question: str, joined: str
) -> None:
    poll = "Monthly key-user satisfaction" if locale == "en" else "关键用户月度满意度"
    charts.results_chart(poll_figures([question], poll, 3), locale)
    assert drawn.text(poll) == title
    shown = drawn.text(question[:10])
    assert "\n" in shown and "…" not in shown
    assert joined.join(shown.splitlines()) == question
    assert drawn.outside() == []  # nothing drawn past the picture's edges


@pytest.mark.parametrize("questions", [1, 2, 3])
def test_no_corner_of_the_poll_chart_is_left_empty(drawn: Drawn, questions: int) -> None:
    asked = [f"Question {number}?" for number in range(1, questions + 1)]
    charts.results_chart(poll_figures(asked, "Pulse", 1), "en")
    panels = drawn.panels
    assert len(panels) == questions + 1  # a bar chart per question, and the trend
    columns = {column for ax in panels for column in ax.get_subplotspec().colspan}
    rows = {row for ax in panels for row in ax.get_subplotspec().rowspan}
    covered = {
        (row, column)
        for ax in panels
        for row in ax.get_subplotspec().rowspan
        for column in ax.get_subplotspec().colspan
    }
    assert covered == {(row, column) for row in rows for column in columns}
    assert all(ax.axison for ax in panels)
    assert drawn.text("Trend") == "Trend across rounds"
