"""What one run of the scheduled jobs did, in words (the demo prints it after each run).

Each job's summary is a dict of counts; a count has words when the ``jobs`` catalog has
``jobs.did.<name>`` for it, and is shown as ``name=value`` otherwise, so a new job's counts show
before its words are written.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import has_key, plain


def describe_run(locale: str, results: dict[str, dict[str, Any]]) -> str:
    """One sentence: the non-zero counts of every job, or that there was nothing to do."""
    done: list[str] = []
    for summary in results.values():
        for name, value in summary.items():
            if not value:
                continue
            if has_key(f"jobs.did.{name}"):
                done.append(plain(locale, f"jobs.did.{name}", count=value))
            else:
                done.append(f"{name}={value}")
    if not done:
        return plain(locale, "jobs.nothing")
    return plain(locale, "jobs.summary", done=plain(locale, "jobs.separator").join(done))
