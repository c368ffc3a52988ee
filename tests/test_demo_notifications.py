"""The demo's act on notification settings, in English and Chinese: a key user's and the PM's
Home tab with the "Notifications" part, the form, the PM's one DM of a run and the key user's
morning summary."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import PlayedDemo


def _between(text: str, start: str, end: str) -> str:
    begin = text.index(start)
    return text[begin : text.index(end, begin)]


def test_demo_notifications_act_shows_the_home_the_settings_and_one_dm_per_person(
    played_demo: Callable[[str], PlayedDemo],
) -> None:
    text = played_demo("en").text
    act = text[text.index("Act 9 — people choose what reaches them") :]
    keyuser_home = _between(act, "Home tab of @wei.mm", "clicks Change under Notifications")
    assert "Your projects as a key user" in keyuser_home and "Notifications" in keyuser_home
    assert "*Reminders:* as things fall due" in keyuser_home and "[ Change ]" in keyuser_home
    assert "( ) In one morning summary" in act and "[ ] Saturday" in act
    assert "*Reminders:* one morning summary at *08:00*" in act
    assert "*Quiet days:* Saturday, Sunday" in act
    pm_home = _between(act, "Home tab of @pia", "wants the weekly digest by DM too")
    assert "ERP · S/4HANA" in pm_home and "Notifications" in pm_home
    assert "*Weekly digest:* in the project channel and by DM" in act
    monday = _between(act, "runs what is due on Monday", "runs what is due on Tuesday")
    # The PM's reminders, nudge and digest copy of the run: one DM.
    assert re.search(r"── DM to @pia ─+\n    :mailbox_with_mail: \*2 updates for you\*", monday)
    assert "Key users in engagement debt" in monday
    # The key user's news waits for his morning summary, on Tuesday at 08:00.
    assert not re.search(r"── DM to @wei.mm ─+\n    :lock: \*ERP-2\*", monday)
    tuesday = act[act.index("runs what is due on Tuesday") :]
    assert re.search(r"── DM to @wei.mm ─+\n    :lock: \*ERP-2\* closed itself", tuesday)
    assert "Slack rules broken (Block Kit limits, scopes, late acks): 0" in text


def test_demo_notifications_act_in_chinese(played_demo: Callable[[str], PlayedDemo]) -> None:
    text = played_demo("zh-CN").text
    act = text[text.index("第九幕：每个人决定收到什么") :]
    assert "*提醒：* 到期即发，每轮检查合并为一条私信" in act
    assert "*提醒：* 每天 *08:00* 一份晨间汇总（按各项目的时区）" in act
    assert "*免打扰日：* 星期六、星期日" in act
    assert "*每周摘要：* 项目频道，并通过私信" in act
    assert ":mailbox_with_mail: 给您的 2 条更新。" in act
    assert "*ERP-2* 已自动关闭" in act[act.index("调度器在周二 08:00") :]
