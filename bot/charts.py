"""Poll charts as PNG bytes: a bar chart per question's distribution, a line chart of the trend.

matplotlib with the Agg backend (no display needed); one figure per call, closed afterwards so a
long-running process does not accumulate figures. matplotlib (and numpy) are imported on the first
chart, not at start: they double the app's start-up time and memory, and most processes never draw.

Text is drawn in DejaVu Sans, falling back to the Noto Sans CJK SC subset shipped in ``bot/fonts``
for Chinese. A character that neither font has becomes □, so a chart never shows an empty box nor
logs a missing-glyph warning.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from typing import Any

from bot.i18n import plain
from bot.widths import cut, wrap

CJK_FONT_FILE = "NotoSansCJKsc-Regular-subset.otf"
LATIN_FONT = "DejaVu Sans"
MISSING = "□"
MAX_BAR_CHARTS = 6
COLOURS = ("#4A154B", "#36C5F0", "#2EB67D", "#ECB22E", "#E01E5A")


@cache
def _setup() -> tuple[Any, frozenset[int]]:
    """pyplot, configured once per process, and the code points the chart fonts can draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    cjk_path = str(resources.files("bot") / "fonts" / CJK_FONT_FILE)
    font_manager.fontManager.addfont(cjk_path)
    cjk = font_manager.FontProperties(fname=cjk_path).get_name()
    matplotlib.rcParams["font.family"] = [LATIN_FONT, cjk]
    matplotlib.rcParams["text.parse_math"] = False  # a "$" in a poll's text is just a dollar
    latin_path = font_manager.findfont(LATIN_FONT, fallback_to_default=False)
    drawable = set(FT2Font(cjk_path).get_charmap()) | set(FT2Font(latin_path).get_charmap())
    return plt, frozenset(drawable)


def drawable(text: str) -> str:
    """``text`` with every character that the chart fonts lack replaced by □."""
    _, known = _setup()
    return "".join(c if ord(c) in known or c in "\n\t" else MISSING for c in text)


def _shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters, cut with … (``textwrap.shorten`` cuts at spaces,
    which Chinese does not have, and would leave only the …)."""
    line = " ".join(text.split())
    return drawable(line if len(line) <= width else line[: width - 1].rstrip() + "…")


def _lines(text: str, columns: int, most: int = 3) -> str:
    """``text`` wrapped to lines of ``columns`` display columns (a Chinese character takes two),
    so that a title shows whole; only text longer than ``most`` lines is cut, with …."""
    lines = wrap(" ".join(text.split()), columns)
    if len(lines) > most:
        lines = [*lines[: most - 1], cut(lines[most - 1], columns - 1) + "…"]
    return drawable("\n".join(lines))


def _pyplot(locale: str) -> Any:
    return _setup()[0]


def results_chart(figures: Any, locale: str = "en") -> bytes:
    """The chart posted with a poll's results (``figures`` is a ``PollFigures``): a bar chart per
    question and the trend, two to a row; a panel left alone on the last row takes the row's whole
    width, so no corner of the picture stays empty."""
    plt = _pyplot(locale)
    charted = [q for q in figures.questions if q.distribution][:MAX_BAR_CHARTS]
    show_trend = len(figures.trend) >= 1
    panels = max(len(charted) + (1 if show_trend else 0), 1)
    columns = 2 if panels > 1 else 1
    rows = (panels + columns - 1) // columns
    figure = plt.figure(figsize=(6 * columns, 3.6 * rows))
    grid = figure.add_gridspec(rows, columns)
    flat = [
        figure.add_subplot(grid[index // columns, index % columns])
        if index < panels - 1 or panels % columns == 0
        else figure.add_subplot(grid[index // columns, :])
        for index in range(panels)
    ]
    try:
        for ax, question in zip(flat, charted, strict=False):
            span = len(ax.get_subplotspec().colspan)  # 2 for a panel that takes a whole row
            counts = [count for _, count in question.distribution]
            room = max(8, 80 * span // len(counts))  # text columns under each bar
            labels = [_lines(label, room, most=2) for label, _ in question.distribution]
            ax.bar(range(len(counts)), counts, color=COLOURS[0])
            ax.set_xticks(range(len(counts)), labels, fontsize=8)
            ax.set_title(_lines(question.question.text, 64 * span), fontsize=9)
            ax.set_ylabel(drawable(plain(locale, "poll.chart.answers")), fontsize=8)
            ax.yaxis.get_major_locator().set_params(integer=True)
        if show_trend:
            ax = flat[len(charted)]
            plot_trend(ax, figures.trend, locale)
            ax.set_title(drawable(plain(locale, "poll.chart.trend")), fontsize=9)
        if not charted and not show_trend:
            flat[0].text(
                0.5,
                0.5,
                drawable(plain(locale, "poll.chart.no_answers")),
                ha="center",
                va="center",
            )
        title = plain(
            locale, "poll.chart_title", title=figures.poll.title, round=figures.poll.round_number
        )
        figure.suptitle(_lines(title, 90 if columns == 1 else 150), fontsize=11)
        return _png(figure)
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
                label=drawable(label),
                color=colour,
            )
    ax.set_xticks(
        numbers,
        [drawable(plain(locale, "poll.chart.round", round=n)) for n in numbers],
        fontsize=8,
    )
    ax.set_ylim(-100, 100)
    ax.axhline(0, color="#999999", linewidth=0.5)
    ax.legend(fontsize=7, loc="lower left")


def trend_chart(title: str, rounds: list[Any], locale: str = "en") -> bytes:
    """The digest's chart: the trend of a poll's rounds (``RoundSummary``)."""
    plt = _pyplot(locale)
    figure, ax = plt.subplots(figsize=(6, 3.4))
    try:
        plot_trend(ax, rounds, locale)
        ax.set_title(_lines(plain(locale, "digest.chart.title", title=title), 80), fontsize=10)
        return _png(figure)
    finally:
        plt.close(figure)


def _png(figure: Any, bottom: float = 0.0) -> bytes:
    """The figure, laid out so that no title or label is clipped (above ``bottom``, a share of
    the height kept free for a legend), as PNG bytes."""
    figure.tight_layout(rect=(0, bottom, 1, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
