"""The bone turnover marker plot of the patient report: one panel per marker on record, BMA courses shaded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from matplotlib.figure import Figure

from monitor.core.domain import PatientFacts
from reports.figures import new_figure
from reports.plot_style import course_style, empty_panel, x_range, y_grid, year_axis
from reports.trend_plot import Span, course_spans

MARKER_LABEL = {"ctx": "s-CTX", "p1np": "s-PINP", "balp": "BALP", "ntx": "NTX"}


def _shade(ax: Any, spans: Sequence[Span]) -> None:
    seen = set()
    for s in spans:
        patch = ax.axvspan(s.start, s.end, **course_style(s.group), lw=0,
                           label=s.label if s.label not in seen else "_nolegend_", zorder=0)
        patch.set_gid(f"course-{s.group}")
        seen.add(s.label)


def marker_figure(facts: PatientFacts, *, as_of: date) -> Figure:
    """One panel per bone turnover marker on record (value over time, in its unit), BMA courses shaded."""
    by: dict[str, list] = {}
    for m in facts.markers:
        if m.date <= as_of:
            by.setdefault(m.analyte.value, []).append(m)
    analytes = [a for a in MARKER_LABEL if a in by]
    fig = new_figure(9.6, 1.2 + 1.5 * max(1, len(analytes)))
    fig.subplots_adjust(left=0.08, right=0.66, top=1 - 0.45 / fig.get_figheight(), bottom=0.5 / fig.get_figheight(),
                        hspace=0.12)
    fig.suptitle(f"Bone turnover markers up to {as_of.isoformat()}", x=0.08, ha="left", fontsize=11)
    if not analytes:
        empty_panel(fig.subplots(), f"No bone turnover markers on record up to {as_of}")
        return fig
    axes = fig.subplots(len(analytes), 1, sharex=True, squeeze=False)[:, 0]
    spans = tuple(s for s in course_spans(facts, as_of) if s.group == "bma")
    days = [m.date for a in analytes for m in by[a]] + [s.start for s in spans]
    lo, hi = x_range(days, as_of)
    for ax, analyte in zip(axes, analytes, strict=True):
        _shade(ax, spans)
        points = sorted(by[analyte], key=lambda m: m.date)
        line, = ax.plot([m.date for m in points], [m.value for m in points], marker="o", ms=4, lw=1.4,
                        color="#333333", label=MARKER_LABEL[analyte])
        line.set_gid(f"marker-{analyte}")
        ax.set_ylabel(f"{MARKER_LABEL[analyte]}\n({points[0].unit})", fontsize=8)
        ax.set_xlim(lo, hi)
        y_grid(ax)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    year_axis(axes[-1], lo, hi)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.675, 1 - 0.45 / fig.get_figheight()), fontsize=8,
               frameon=False)
    return fig
