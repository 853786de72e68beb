"""The adherence report's chart: the on-time rate of the tasks resolved in each month."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from reports.figures import new_figure
from reports.plot_style import empty_panel, y_grid


def monthly_figure(months: Sequence[str], rates: Sequence[float | None], counts: Sequence[int]) -> Figure:
    """On-time rate (%) of the tasks resolved in each month, with the number of tasks over each bar."""
    fig = new_figure(9.0, 3.4)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.86, bottom=0.2)
    ax = fig.subplots()
    fig.suptitle("Tasks done on time, by the month they were resolved", x=0.08, ha="left", fontsize=11)
    if not months:
        empty_panel(ax, "No tasks were resolved in the period")
        return fig
    heights = [100 * r if r is not None else 0 for r in rates]
    for bar in ax.bar(range(len(months)), heights, color="#4a9be0", width=0.7):
        bar.set_gid("on-time-rate")
    for i, n in enumerate(counts):
        ax.text(i, heights[i] + 2, f"n={n}", ha="center", va="bottom", fontsize=7, color="#333333")
    ax.set_xticks(range(len(months)), months, rotation=45 if len(months) > 12 else 0, fontsize=8)
    ax.set_ylim(0, 112)
    ax.set_ylabel("on time (%)")
    y_grid(ax)
    return fig
