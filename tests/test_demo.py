"""The demo plays through the real handlers and ends with no Block Kit violations."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import PlayedDemo


def test_demo_runs_end_to_end(played_demo: Callable[[str], PlayedDemo]) -> None:
    played = played_demo("en")  # run_demo returned 0
    database = played.database
    text = played.text
    assert "Key users of ERP (6)" in text
    assert "Only the project managers of ERP" in text
    assert "now has the standard curriculum (4 modules)" in text
    assert "you are number 1 on the waitlist" in text
    assert "A seat has become free: you are now in for *System overview*" in text
    assert "Your score on System overview: 100%" in text
    assert "*System overview*: 1 of 6 ready" in text
    digest_act = text[text.index("the week ends") :]
    assert "── #erp-rollout ──" in digest_act and "Weekly digest · ERP" in digest_act
    assert "[file shared in #erp-rollout]" in digest_act  # the satisfaction trend chart
    assert "Home tab of @pia" in digest_act and "*Key users at risk*" in digest_act
    assert "Slack rules broken (Block Kit limits, scopes, late acks): 0" in text
    assert f"Database (SQLite): {database.resolve()}" in text
    assert database.exists()
