"""Before a project is known, Liaison answers a person in their own language: that of the
projects they work in, else their Slack language, else the workspace default."""

from __future__ import annotations

from bot.emulator.driver import SlackDriver
from bot.emulator.server import SlackEmulator
from tests.flows import last_response_text

CHINESE_READER = "UZHO00001"
ENGLISH_READER = "UENG00001"


def test_a_refusal_before_any_project_speaks_the_persons_slack_language(
    slack: SlackDriver, emulator: SlackEmulator
) -> None:
    emulator.add_user(CHINESE_READER, "wang.fang", real_name="王芳", locale="zh-CN")
    emulator.add_user(ENGLISH_READER, "jane", real_name="Jane", locale="en-GB")
    slack.slash_command(CHINESE_READER, "/issue", "new")
    assert "您还不是任何项目的关键用户、团队成员或项目经理。" in last_response_text(slack)
    slack.slash_command(ENGLISH_READER, "/issue", "new")
    assert "You are not a key user, team member or manager of any project yet." in (
        last_response_text(slack)
    )
    slack.slash_command(CHINESE_READER, "/issue", "list bogus")
    assert "`bogus` 不是有效的筛选条件。" in last_response_text(slack)
    assert emulator.violations == []
