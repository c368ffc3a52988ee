"""The demo's act on the communication plan, meetings and engagement, in English and Chinese."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import PlayedDemo


def _act(played: PlayedDemo, title: str) -> tuple[str, str]:
    text = played.text  # run_demo returned 0
    return text, text[text.index(title) :]


def test_demo_meetings_act_plans_meets_reports_and_nudges(
    played_demo: Callable[[str], PlayedDemo],
) -> None:
    text, act = _act(played_demo("en"), "Act 4 — the communication plan")
    assert "*Steering review* for Sponsors · Every month (same weekday) · Meeting" in act
    assert "A repeating meeting needs an end" in act
    assert "is planned as a series of 6" in act
    assert "Reminder: *SD/MM working meeting* starts in 24 hours." in act
    assert "Reminder: *SD/MM working meeting* starts in 15 minutes." in act
    assert "Roster: SD/MM working meeting" in act  # the organizer's tally
    assert re.search(r"\*SD/MM working meeting\* \(2027-01-\d\d\) is over\.", act)  # by its day
    assert "Load opening stock for plant 1000 in QAS" in act and ":link: ERP-3" in act
    assert "Progress report from @pia for *ERP*" in act
    assert "Report sent to Decision makers (ERP), 1 recipient." in act
    assert "Key users in engagement debt" in act and "in debt since" in act
    assert "Contact with @jonas.it logged in *ERP* (Call)" in act
    assert "Last contact · ERP" in act
    assert "Slack rules broken (Block Kit limits, scopes, late acks): 0" in text


def test_demo_meetings_act_in_chinese(played_demo: Callable[[str], PlayedDemo]) -> None:
    text, act = _act(played_demo("zh-CN"), "第四幕：沟通计划")
    assert "沟通计划 · ERP" in act and "使用现成计划" in act
    assert "会议：SD/MM 工作会议" in act
    assert "提醒：SD/MM 工作会议 将在 24 小时后开始。" in act
    assert "联络欠账的关键用户" in act
    assert "已向负责人发送" in act
    assert "Act " not in text and "DM to" not in text
