"""The project-risk heat grid (PNG): probability × impact, 5 × 5, each cell coloured by the grade
the project's thresholds give its level and marked with the count of open risks in it.

matplotlib is imported only when a grid is drawn; fonts and text come from ``bot.charts`` (the
same pyplot set-up and fallback fonts), so Chinese draws as it does in the poll charts.
"""

from __future__ import annotations

from bot.i18n import plain
from bot.services.risks import SCALE, Thresholds, level_of

# The grades' colours: light where a cell is empty, full where open risks are in it.
GRADE_COLOURS = {
    "low": ("#d9f2e3", "#2EB67D"),
    "medium": ("#fbefcf", "#ECB22E"),
    "high": ("#f8d3dc", "#E01E5A"),
}


def cell_colour(thresholds: Thresholds, probability: int, impact: int, count: int) -> str:
    light, full = GRADE_COLOURS[thresholds.grade(level_of(probability, impact))]
    return full if count else light


def heat_grid(
    code: str, thresholds: Thresholds, grid: dict[tuple[int, int], int], locale: str = "en"
) -> bytes:
    """``grid[(probability, impact)]``: the open risks in each cell."""
    from matplotlib.patches import Patch, Rectangle

    from bot import charts

    plt = charts._pyplot(locale)
    figure, ax = plt.subplots(figsize=(5.6, 5.2))
    try:
        for probability in SCALE:
            for impact in SCALE:
                count = grid.get((probability, impact), 0)
                colour = cell_colour(thresholds, probability, impact, count)
                ax.add_patch(
                    Rectangle(
                        (probability - 0.5, impact - 0.5),
                        1,
                        1,
                        facecolor=colour,
                        edgecolor="white",
                        linewidth=2,
                    )
                )
                if count:
                    ax.text(
                        probability,
                        impact,
                        str(count),
                        ha="center",
                        va="center",
                        fontsize=15,
                        color="white",
                    )
                else:
                    ax.text(
                        probability,
                        impact,
                        str(level_of(probability, impact)),
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="#888888",
                    )
        ax.set_xlim(0.5, 5.5)
        ax.set_ylim(0.5, 5.5)
        ax.set_aspect("equal")
        ax.set_xticks(list(SCALE), [str(n) for n in SCALE])
        ax.set_yticks(list(SCALE), [str(n) for n in SCALE])
        ax.set_xlabel(charts.drawable(plain(locale, "risk.grid.probability")))
        ax.set_ylabel(charts.drawable(plain(locale, "risk.grid.impact")))
        for side in ax.spines.values():
            side.set_visible(False)
        total = sum(grid.values())
        counted = (
            plain(locale, "risk.grid.count", count=total)
            if total
            else plain(locale, "risk.grid.empty")
        )
        title = plain(locale, "risk.grid.title", code=code)
        ax.set_title(charts._lines(title, 60) + "\n" + charts.drawable(counted), fontsize=10)
        handles = [
            Patch(
                facecolor=GRADE_COLOURS[grade][1],
                label=charts.drawable(plain(locale, f"risk.grade.{grade}")),
            )
            for grade in ("low", "medium", "high")
        ]
        figure.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
        return charts._png(figure, bottom=0.06)
    finally:
        plt.close(figure)
