"""The readiness heatmap (PNG): key users × modules, shaded by the share of the readiness criteria
met, each ready cell marked, grey where a module is not for the key user's role (said under it).

matplotlib is imported only when a heatmap is drawn, so the app starts without loading it. Fonts
and text come from ``bot.charts`` (the same pyplot set-up, fallback fonts and shortening as the
poll charts), so Chinese names draw as they do there.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import plain

MAX_ROWS = 60  # a taller picture is unreadable in Slack; the CSV export holds everyone
NOT_APPLICABLE = "#dddddd"  # the grey of a module that is not for the key user's role


def readiness_heatmap(matrix: Any, locale: str = "en") -> bytes:
    """``matrix`` is a ``bot.services.training_readiness.Readiness``."""
    import matplotlib
    import numpy as np
    from matplotlib.patches import Patch

    from bot import charts

    plt = charts._pyplot(locale)

    modules = matrix.modules
    rows = matrix.rows[:MAX_ROWS]
    values = np.full((max(len(rows), 1), max(len(modules), 1)), np.nan)
    for r, row in enumerate(rows):
        for m, (module, cell) in enumerate(zip(modules, row.cells, strict=True)):
            if cell.applicable:
                met, total = cell.criteria(module)
                values[r, m] = met / total
    width = 3 + 1.3 * max(len(modules), 1)
    height = 1.8 + 0.32 * max(len(rows), 1)
    figure, ax = plt.subplots(figsize=(width, height))
    try:
        colours = matplotlib.colormaps["RdYlGn"].with_extremes(bad=NOT_APPLICABLE)
        image = ax.imshow(np.ma.masked_invalid(values), cmap=colours, vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(modules)), [charts._lines(m.name, 18) for m in modules], fontsize=8)
        ax.set_yticks(
            range(len(rows)),
            [charts._shorten(row.name, 28) for row in rows],
            fontsize=8,
        )
        for r, row in enumerate(rows):
            for m, (module, cell) in enumerate(zip(modules, row.cells, strict=True)):
                if not cell.applicable:
                    continue
                met, total = cell.criteria(module)
                mark = charts.drawable("✓") if cell.ready else f"{met}/{total}"
                colour = "white" if cell.ready or met == 0 else "#222222"
                ax.text(m, r, mark, ha="center", va="center", fontsize=9, color=colour)
        bar = figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        bar.set_label(charts.drawable(plain(locale, "training.chart.share")), fontsize=8)
        title = plain(locale, "training.chart.title", code=matrix.project.code)
        if len(matrix.rows) > MAX_ROWS:
            title += "\n" + plain(
                locale, "training.chart.first", count=MAX_ROWS, total=len(matrix.rows)
            )
        ax.set_title(charts.drawable(title), fontsize=10)
        if not rows or not modules:
            empty = charts.drawable(plain(locale, "training.chart.empty"))
            ax.text(0, 0, empty, ha="center", va="center")
        if any(not cell.applicable for row in rows for cell in row.cells):
            grey = Patch(
                facecolor=NOT_APPLICABLE,
                edgecolor="#999999",
                label=charts.drawable(plain(locale, "training.chart.not_applicable")),
            )
            figure.legend(handles=[grey], loc="lower left", fontsize=8, frameon=False)
            return charts._png(figure, bottom=0.07)  # room for the legend under the labels
        return charts._png(figure)
    finally:
        plt.close(figure)
