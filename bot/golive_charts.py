"""The go-live gate's overview (PNG): modules × criteria, each cell coloured go / at risk / no-go
and marked with its figure, the module's verdict in the last column.

matplotlib is imported only when an overview is drawn; fonts and text come from ``bot.charts``
(the same pyplot set-up and fallback fonts), so Chinese draws as it does in the poll charts.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import plain

COLOURS = {"go": "#2EB67D", "at_risk": "#ECB22E", "no_go": "#E01E5A"}
ABSENT = "#dddddd"
MAX_ROWS = 60


def _mark(criterion: Any) -> str:
    params = criterion.params
    if "percent" in params:
        return f"{params['percent']}%"
    if criterion.name == "issues":
        return f"{params.get('p1', 0)}/{params.get('p2', 0)}"
    if "count" in params:
        return str(params["count"])
    return ""


def gate_chart(gate: Any, locale: str = "en") -> bytes:
    """``gate`` is a ``bot.services.golive.Gate``."""
    from matplotlib.patches import Patch, Rectangle

    from bot import charts

    plt = charts._pyplot(locale)
    modules = gate.modules[:MAX_ROWS]
    names = [c.name for c in modules[0].criteria] if modules else []
    columns = names + ["verdict"]
    width = 3 + 1.25 * len(columns)
    height = 1.9 + 0.4 * max(len(modules), 1)
    figure, ax = plt.subplots(figsize=(width, height))
    try:
        for row, module in enumerate(modules):
            cells = [(c.status, _mark(c)) for c in module.criteria]
            cells.append((module.verdict, plain(locale, f"golive.verdict.{module.verdict}")))
            for column, (status, mark) in enumerate(cells):
                ax.add_patch(
                    Rectangle(
                        (column - 0.5, row - 0.5),
                        1,
                        1,
                        facecolor=COLOURS.get(status, ABSENT),
                        edgecolor="white",
                        linewidth=2,
                    )
                )
                if mark:
                    ax.text(
                        column,
                        row,
                        charts.drawable(mark),
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="white",
                    )
        ax.set_xlim(-0.5, max(len(columns), 1) - 0.5)
        ax.set_ylim(max(len(modules), 1) - 0.5, -0.5)
        labels = [plain(locale, f"golive.criterion.{n}") for n in names]
        labels.append(plain(locale, "golive.chart.verdict"))
        ax.set_xticks(range(len(columns)), [charts._lines(x, 14) for x in labels], fontsize=8)
        ax.set_yticks(
            range(len(modules)), [charts._shorten(m.module, 24) for m in modules], fontsize=8
        )
        ax.xaxis.tick_top()
        for side in ax.spines.values():
            side.set_visible(False)
        ax.tick_params(length=0)
        if not modules:
            empty = plain(locale, "golive.no_modules_chart")
            ax.text(0, 0, charts.drawable(empty), ha="center", va="center")
        counts = gate.counts()
        title = plain(locale, "golive.chart.title", code=gate.code)
        counted = plain(
            locale,
            "golive.chart.counts",
            go=counts["go"],
            at_risk=counts["at_risk"],
            no_go=counts["no_go"],
        )
        ax.set_title(charts._lines(title, 60) + "\n" + charts.drawable(counted), fontsize=10)
        handles = [
            Patch(facecolor=COLOURS[v], label=charts.drawable(plain(locale, f"golive.verdict.{v}")))
            for v in ("go", "at_risk", "no_go")
        ]
        figure.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
        return charts._png(figure, bottom=0.08)
    finally:
        plt.close(figure)
