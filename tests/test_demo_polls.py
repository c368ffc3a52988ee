"""The demo's poll act: round 1 answered, reminded and closed, round 2 with a trend, chart saved."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.conftest import PlayedDemo


def test_demo_poll_act_shows_reminders_results_trend_and_saves_the_chart(
    played_demo: Callable[[str], PlayedDemo],
) -> None:
    played = played_demo("en")  # run_demo returned 0
    text = played.text
    assert "A reminder: *Monthly key-user satisfaction*" in text
    assert "*4 of 6* answered (67%)" in text
    # The round's date depends on the acts played before this one; the figures do not.
    assert re.search(r"Round 1 \(\d{4}-\d\d-\d\d\): 67% answered · CSAT 50% · NPS -25", text)
    assert re.search(r"Round 2 \(\d{4}-\d\d-\d\d\): 67% answered · CSAT 100% · NPS 75", text)
    chart = played.chart("poll-chart")
    assert f"Poll chart (PNG): {chart.resolve()}" in text
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert "Slack rules broken (Block Kit limits, scopes, late acks): 0" in text
