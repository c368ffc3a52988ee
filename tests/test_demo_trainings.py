"""The demo's trainings act plays in Chinese when the project's language is zh-CN."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import PlayedDemo


def test_demo_trainings_act_plays_in_chinese(played_demo: Callable[[str], PlayedDemo]) -> None:
    played = played_demo("zh-CN")  # run_demo returned 0
    text = played.text
    act = text[text.index("第五幕") :]
    assert "*ERP* 已采用标准课程体系（4 个模块）" in act
    assert "候补名单" in act  # the third to accept waits
    assert "测验成绩（系统概述）：100%" in act
    assert "系统概述：6 人中 1 人已就绪" in act
    heatmap = played.chart("readiness")
    assert heatmap.read_bytes().startswith(b"\x89PNG")
    assert "违反 Slack 规则（Block Kit 限制、权限范围、超时确认）的次数：0" in text
