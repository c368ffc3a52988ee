"""The demo in Chinese (LIAISON_LOCALE=zh-CN): narration, emulator labels, people and data in
Chinese, boxes aligned by display width, times in the project's timezone, a chart without
missing glyphs, and the narration and the trend agreeing on round 2's date."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import pytest

from bot.demo import run_demo
from bot.emulator.render import display_width
from bot.settings import load_settings


@pytest.fixture(scope="module")
def chinese_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, list[str]]:
    folder = tmp_path_factory.mktemp("demo-zh")
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = run_demo(
            database_path=str(folder / "demo.db"),
            settings=load_settings({"LIAISON_LOCALE": "zh-CN"}),
            out=out,
        )
    assert code == 0
    return out.getvalue(), folder, [str(w.message) for w in caught]


def test_the_narration_and_the_emulator_speak_chinese(chinese_demo) -> None:  # type: ignore[no-untyped-def]
    text, _, _ = chinese_demo
    assert "第一幕：项目及其关键用户登记册" in text
    assert "[11月30日 周一 09:00] @李娜 在 #erp-上线 中输入 `/project new`，看到如下表单：" in text
    assert "调度器三天后运行" in text
    assert "（选填）" in text and "可选项：" in text and "仅您可见" in text
    assert "发给 @李娜 的私信" in text
    assert "S/4HANA 财务与物流上线" in text and "采购部" in text
    assert "！截止日期：截止日期不能早于今天。" in text
    for english in (
        "(optional)",
        "options:",
        "only visible to you",
        "DM to",
        "Act ",
        "Home tab of",
        ":00 UTC",
        "{'",
        "the form stays open",
        "Slack Web API calls",
    ):
        assert english not in text, english


def test_boxes_line_up_by_display_width(chinese_demo) -> None:  # type: ignore[no-untyped-def]
    text, _, _ = chinese_demo
    rows = [line.strip() for line in text.splitlines() if line.strip().startswith(("│", "┌"))]
    assert any(re.search(r"[\u4e00-\u9fff]", row) for row in rows)
    assert {display_width(row) for row in rows} == {78}


def test_times_are_in_the_projects_timezone_and_dates_agree(chinese_demo) -> None:  # type: ignore[no-untyped-def]
    text, _, _ = chinese_demo
    assert "截止 2026-12-04 09:00" in text  # 09:00 in Shanghai, as a reader there sees it
    assert "[12月30日 周三 09:00] 调度器在第一轮一个月后自动开启第二轮" in text
    assert "第 2 轮（2026-12-30）" in text


def test_the_chart_is_saved_next_to_the_database_without_glyph_warnings(chinese_demo) -> None:  # type: ignore[no-untyped-def]
    text, folder, caught = chinese_demo
    chart = folder / "demo-poll-chart.png"
    assert f"问卷图表（PNG）：{chart.resolve()}" in text
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert [message for message in caught if "Glyph" in message] == []


def test_the_english_demo_tells_round_two_on_its_own_date(tmp_path: Path) -> None:
    out = io.StringIO()
    run_demo(database_path=str(tmp_path / "demo.db"), settings=load_settings({}), out=out)
    text = out.getvalue()
    assert "[Wed 30 Dec 09:00] The scheduler opens round 2 by itself" in text
    assert "Round 2 (2026-12-30)" in text
    assert "closes 2026-12-04 09:00" in text and ":00 UTC" not in text
