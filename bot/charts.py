"""Poll charts as PNG bytes: a bar chart per question's distribution, a line chart of the trend.

matplotlib with the Agg backend (no display needed); one figure per call, closed afterwards so a
long-running process does not accumulate figures.
"""

from __future__ import annotations

import io
import textwrap
from functools import cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from bot.i18n import plain  # noqa: E402

MAX_BAR_CHARTS = 6
COLOURS = ("#4A154B", "#36C5F0", "#2EB67D", "#ECB22E", "#E01E5A")
LATIN_FONT = "DejaVu Sans"
MISSING = "□"


@cache
def _setup() -> tuple[Any, frozenset[int]]:
    """pyplot, configured once per process, and the code points the chart font can draw."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    matplotlib.rcParams["text.parse_math"] = False  # a "$" in a label is just a dollar
    latin_path = font_manager.findfont(LATIN_FONT, fallback_to_default=False)
    return plt, frozenset(FT2Font(latin_path).get_charmap())


def drawable(text: str) -> str:
    """``text`` with every character that the chart font lacks replaced by □ (never a missing-glyph
    warning or an empty box)."""
    _, known = _setup()
    return "".join(c if ord(c) in known or c in "\n\t" else MISSING for c in text)


def _shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters, cut with … (``textwrap.shorten`` cuts at spaces,
    which Chinese does not have)."""
    line = " ".join(text.split())
    return drawable(line if len(line) <= width else line[: width - 1].rstrip() + "…")


def _pyplot(locale: str) -> Any:
    return _setup()[0]


def results_chart(figures: Any, locale: str = "en") -> bytes:
    """The chart posted with a poll's results (``figures`` is a ``PollFigures``)."""
    charted = [q for q in figures.questions if q.distribution][:MAX_BAR_CHARTS]
    show_trend = len(figures.trend) >= 1
    panels = len(charted) + (1 if show_trend else 0)
    if panels == 0:
        panels = 1
    columns = 2 if panels > 1 else 1
    rows = (panels + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(6 * columns, 3.4 * rows), squeeze=False)
    flat = [ax for row in axes for ax in row]
    try:
        for ax, question in zip(flat, charted, strict=False):
            labels = [
                textwrap.shorten(label, 18, placeholder="…") for label, _ in question.distribution
            ]
            counts = [count for _, count in question.distribution]
            ax.bar(range(len(counts)), counts, color=COLOURS[0])
            ax.set_xticks(range(len(counts)), labels, fontsize=8)
            ax.set_title(textwrap.shorten(question.question.text, 60, placeholder="…"), fontsize=9)
            ax.set_ylabel(plain(locale, "poll.chart.answers"), fontsize=8)
            ax.yaxis.get_major_locator().set_params(integer=True)
        used = len(charted)
        if show_trend:
            ax = flat[used]
            plot_trend(ax, figures.trend, locale)
            ax.set_title(plain(locale, "poll.chart.trend"), fontsize=9)
            used += 1
        if not charted and not show_trend:
            flat[0].text(0.5, 0.5, plain(locale, "poll.chart.no_answers"), ha="center", va="center")
            used = 1
        for ax in flat[used:]:
            ax.axis("off")
        figure.suptitle(textwrap.shorten(figures.poll.title, 80, placeholder="…"), fontsize=11)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        return buffer.getvalue()
    finally:
        plt.close(figure)


def plot_trend(ax: Any, rounds: list[Any], locale: str) -> None:
    """CSAT, NPS and response rate across rounds (anything with ``round_number``, ``csat``,
    ``nps`` and ``response_rate``) on one axis, from -100 to 100."""
    numbers = [r.round_number for r in rounds]
    lines = (
        (plain(locale, "poll.chart.csat"), [r.csat for r in rounds], COLOURS[2]),
        (plain(locale, "poll.chart.nps"), [r.nps for r in rounds], COLOURS[1]),
        (plain(locale, "poll.chart.response"), [r.response_rate for r in rounds], COLOURS[3]),
    )
    for label, values, colour in lines:
        points = [(x, y) for x, y in zip(numbers, values, strict=True) if y is not None]
        if points:
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker="o",
                label=label,
                color=colour,
            )
    ax.set_xticks(numbers, [f"#{n}" for n in numbers], fontsize=8)
    ax.set_ylim(-100, 100)
    ax.axhline(0, color="#999999", linewidth=0.5)
    ax.legend(fontsize=7, loc="lower left")


def trend_chart(title: str, rounds: list[Any], locale: str = "en") -> bytes:
    """The digest's chart: the trend of a poll's rounds (``RoundSummary``)."""
    figure, ax = plt.subplots(figsize=(6, 3.4))
    try:
        plot_trend(ax, rounds, locale)
        ax.set_title(
            plain(locale, "digest.chart.title", title=textwrap.shorten(title, 60, placeholder="…")),
            fontsize=10,
        )
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        return buffer.getvalue()
    finally:
        plt.close(figure)
