"""Poll charts: Chinese drawn with the shipped CJK font and no missing-glyph warnings, text that
no font covers shown as □, and matplotlib loaded only when a chart is drawn."""

from __future__ import annotations

import subprocess
import sys
import warnings
from datetime import UTC, datetime
from types import SimpleNamespace

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
    return SimpleNamespace(poll=SimpleNamespace(title=title), questions=[asked], trend=rounds)


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
