"""The demo's trainings act plays in Chinese when the project's language is zh-CN."""

from __future__ import annotations

import io
from pathlib import Path

from bot.demo import run_demo
from bot.settings import load_settings


def test_demo_trainings_act_plays_in_chinese(tmp_path: Path) -> None:
    out = io.StringIO()
    database = tmp_path / "demo.db"
    settings = load_settings({"LIAISON_LOCALE": "zh-CN"})
    assert run_demo(database_path=str(database), settings=settings, out=out) == 0
    text = out.getvalue()
    act = text[text.index("第五幕") :]
    assert "*ERP* 已采用标准课程体系（4 个模块）" in act
    assert "候补名单" in act  # the third to accept waits
    assert "测验成绩（系统概述）：100%" in act
    assert "系统概述：6 人中 1 人已就绪" in act
    heatmap = tmp_path / "demo-readiness.png"
    assert heatmap.read_bytes().startswith(b"\x89PNG")
    assert "违反 Slack 规则（Block Kit 限制、权限范围、超时确认）的次数：0" in text
