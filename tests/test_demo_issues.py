"""The demo's issues act: logged from a message and by command, resolved, rated, then reminded
and escalated once when the clock moves."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import PlayedDemo


def test_demo_issue_act_shows_each_message_as_people_saw_it(
    played_demo: Callable[[str], PlayedDemo],
) -> None:
    text = played_demo("en").text  # run_demo returned 0
    act = text[text.index("key users' issues, from report to rated resolution") :]
    assert "ERP-1 · Goods receipt for PO 4500012345 fails in MIGO" in act
    assert "original message" in act  # the shortcut kept the link
    assert "! Due date: The due date cannot be in the past." in act
    assert "Closing ERP-1 is for its project managers." in act
    assert "(updated in place)" in act and "(in thread)" in act
    assert "Thank you: you rated *ERP-1* 5/5." in act
    assert "*You own 1 overdue issue.*" in act
    assert act.count(":rotating_light: *ERP-2* ·") == 1  # escalated once, not again on a rerun
    rerun = act[act.index("runs again at the same instant") :]
    assert "    Nothing was due." in rerun.splitlines()[:4]  # the summary in words, not a dict
    assert "1 service-level breach escalated to the PMs" in act
    assert "{'" not in text
    assert "Slack rules broken (Block Kit limits, scopes, late acks): 0" in text
