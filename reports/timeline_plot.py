"""The treatment timeline of the patient report: one bar row per drug, doses as ticks, fractures as lines."""

from __future__ import annotations

from matplotlib.figure import Figure

from reports.figures import new_figure
from reports.plot_style import COURSE_COLOUR, empty_panel, x_range, year_axis
from reports.trend_plot import TrendData


def timeline_figure(data: TrendData) -> Figure:
    """AI and BMA (and tamoxifen) courses as bars, one row per drug, doses as ticks, fractures as lines."""
    drugs = list(dict.fromkeys(s.label for s in data.courses))
    fig = new_figure(9.6, 0.9 + 0.38 * max(1, len(drugs)))
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.2, right=0.97, top=1 - 0.3 / height, bottom=0.45 / height)
    ax = fig.subplots()
    if not drugs:
        empty_panel(ax, f"No AI or BMA course on record up to {data.as_of}")
        return fig
    for s in data.courses:
        row = drugs.index(s.label)
        bars = ax.broken_barh([(s.start, s.end - s.start)], (row - 0.32, 0.64), facecolors=COURSE_COLOUR[s.group],
                              edgecolors="none")
        bars.set_gid(f"course-{s.group}")
    for s in data.courses:
        drug = s.label.split(": ", 1)[1].replace(" ", "_")
        days = data.doses.get(drug, ())
        if days:
            row = drugs.index(s.label)
            ticks = ax.scatter(days, [row] * len(days), marker="|", s=60, color="#222222", linewidths=1)
            ticks.set_gid("doses")
    for f in data.fractures:
        line = ax.axvline(f.date, color="black", lw=1.2, ls=":", label="_nolegend_")
        line.set_gid("fracture")
    today = ax.axvline(data.as_of, color="#444444", lw=1)
    today.set_gid("as-of")
    ax.set_yticks(range(len(drugs)), drugs, fontsize=8)
    ax.set_ylim(len(drugs) - 0.5, -0.5)
    lo, hi = x_range([s.start for s in data.courses] + [f.date for f in data.fractures], data.as_of)
    ax.set_xlim(lo, hi)
    year_axis(ax, lo, hi)
    return fig
