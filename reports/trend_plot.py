"""The BMD trend plot (`bonemon report trend`, the patient report): its data, then its Figure.

Two steps: `trend_data` gathers the plot's data from plain domain values (pure, testable without
matplotlib), then `trend_figure` draws it (or `TrendPlotter`, which reuses one Figure for batches).
`course_spans` and `TrendData` also feed reports.marker_plot and reports.timeline_plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from matplotlib.figure import Figure

from monitor.core.domain import TIERING_SITES, Drug, DxaSite, PatientFacts, Side
from monitor.core.lsc import Direction, bmd_changes
from monitor.core.policy import Policy
from reports.figures import new_figure, png_bytes
from reports.plot_style import (
    DAYS_PER_YEAR,
    NORMAL_COLOUR,
    OSTEOPOROSIS_COLOUR,
    SITE_COLOUR,
    SITE_LABEL,
    course_style,
    x_range,
    y_grid,
    year_axis,
)

# --------------------------------------------------------------------------- data (pure)


@dataclass(frozen=True)
class Series:
    site: DxaSite
    side: Side
    dates: tuple[date, ...]
    values: tuple[float, ...]

    @property
    def label(self) -> str:
        side = f" ({self.side.value})" if self.side is not Side.NONE else ""
        return SITE_LABEL[self.site] + side

    def annual_percent(self) -> float | None:
        """Annualised % change from the first to the last value (None with fewer than two dates)."""
        if len(self.dates) < 2 or not self.values[0] or self.dates[-1] == self.dates[0]:
            return None
        days = (self.dates[-1] - self.dates[0]).days
        return (self.values[-1] / self.values[0] - 1) * 100 * DAYS_PER_YEAR / days


@dataclass(frozen=True)
class Span:
    label: str  # e.g. "AI: letrozole"
    group: str  # "ai", "bma" or "other"
    start: date
    end: date  # the stop, or the as-of date while it runs
    running: bool


@dataclass(frozen=True)
class Mark:
    date: date
    label: str
    value: float | None = None


@dataclass(frozen=True)
class TrendData:
    as_of: date
    bmd: tuple[Series, ...]
    t: tuple[Series, ...]
    courses: tuple[Span, ...]
    fractures: tuple[Mark, ...]
    significant_loss: tuple[Mark, ...]  # at the later exam, value = its BMD
    significant_gain: tuple[Mark, ...]
    normal_t: float
    osteoporosis_t: float
    doses: dict[str, tuple[date, ...]] = field(default_factory=dict)
    caption: str = ""  # drawn under the plot: patient, as-of and generation time for a stand-alone file

    @property
    def empty(self) -> bool:
        return not self.bmd and not self.t


def course_spans(facts: PatientFacts, as_of: date) -> tuple[Span, ...]:
    """AI and BMA courses (and tamoxifen, raloxifene) that had started by `as_of`, clipped to it."""
    out = []
    for c in facts.courses:
        if c.start is None or c.start > as_of:
            continue
        group = "ai" if c.drug.is_ai else "bma" if c.drug.is_bma else "other"
        if group == "other" and c.drug not in (Drug.TAMOXIFEN, Drug.RALOXIFENE):
            continue
        running = c.stop is None or c.stop > as_of
        end = as_of if running else c.stop
        prefix = {"ai": "AI", "bma": "BMA", "other": "Endocrine" if c.drug is Drug.TAMOXIFEN else "SERM"}[group]
        out.append(Span(f"{prefix}: {c.drug.value.replace('_', ' ')}", group, c.start, end, running))  # type: ignore[arg-type]
    return tuple(sorted(out, key=lambda s: (s.start, s.label)))


def _series(points: dict[tuple[DxaSite, Side], dict[date, float]]) -> tuple[Series, ...]:
    order = list(SITE_LABEL)
    out = []
    for (site, side), by_date in sorted(points.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1].value)):
        days = sorted(by_date)
        out.append(Series(site, side, tuple(days), tuple(by_date[d] for d in days)))
    return tuple(out)


def trend_data(facts: PatientFacts, *, as_of: date, policy: Policy, caption: str = "") -> TrendData:
    """BMD and T-score per site and side (valid ROIs of the tiering sites up to `as_of`), the AI and BMA
    courses, fractures, and the changes of at least the LSC on one scanner (docs/rules.md LSC, CHANGE)."""
    rois = [r for r in facts.dxa if r.date <= as_of and r.valid and r.site in TIERING_SITES]
    bmd: dict[tuple[DxaSite, Side], dict[date, float]] = {}
    t: dict[tuple[DxaSite, Side], dict[date, float]] = {}
    for r in rois:
        if r.bmd is not None and r.site is not DxaSite.UNSPECIFIED:
            bmd.setdefault((r.site, r.side), {})[r.date] = float(r.bmd)
        if r.t_score is not None:
            t.setdefault((r.site, r.side), {})[r.date] = float(r.t_score)
    loss, gain = [], []
    for c in bmd_changes(rois, policy):
        side = f" ({c.side.value})" if c.side is not Side.NONE else ""
        what = f"{SITE_LABEL[c.site]}{side} {c.percent:+.1f} % since {c.previous_date} (LSC {c.lsc:.3f} g/cm²)"
        mark = Mark(c.date, what, c.bmd)
        if c.direction is Direction.LOSS:
            loss.append(mark)
        elif c.direction is Direction.GAIN:
            gain.append(mark)
    fractures = tuple(Mark(f.date, f"{f.site.value.replace('_', ' ')} ({f.mechanism.value})")
                      for f in facts.fractures if f.date <= as_of)
    doses: dict[str, list[date]] = {}
    for d in facts.doses:
        if d.date <= as_of and (d.drug.is_bma or d.drug.is_ai):
            doses.setdefault(d.drug.value, []).append(d.date)
    return TrendData(as_of, _series(bmd), _series(t), course_spans(facts, as_of), fractures, tuple(loss), tuple(gain),
                     policy.risk.normal_t_min, policy.risk.osteoporosis_t_max,
                     {k: tuple(sorted(v)) for k, v in doses.items()}, caption)


# --------------------------------------------------------------------------- drawing


def _legend(fig: Figure, entries: Sequence[tuple[str, dict[str, Any], str]], *, x: float, top: float) -> None:
    """A legend of figure-level artists: a handle and a text per entry (gid "legend"). matplotlib's Legend
    lays out offset boxes on every draw and costs more than the rest of a trend plot."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    step = 0.95 * 8 * 1.5 / 72 / fig.get_figheight()  # 8-point text at 1.5 line spacing, in figure units
    for i, (kind, style, label) in enumerate(entries):
        y = top - (i + 0.5) * step
        if kind == "patch":
            handle: Any = Rectangle((x, y - step * 0.3), 0.03, step * 0.6, transform=fig.transFigure, lw=0, **style)
        else:
            handle = Line2D([x, x + 0.03], [y, y], transform=fig.transFigure, **style)
        handle.set_gid("legend-handle")
        fig.add_artist(handle)
        fig.text(x + 0.04, y, label, fontsize=8, va="center", gid="legend")


def legend_labels(fig: Figure) -> list[str]:
    """The labels of a trend figure's legend, top to bottom."""
    return [t.get_text() for t in fig.texts if t.get_gid() == "legend"]


def _trend_axes() -> Figure:
    fig = new_figure(9.2, 5.3)
    fig.subplots_adjust(left=0.08, right=0.66, top=0.93, bottom=0.09, hspace=0.08)
    fig.subplots(2, 1)
    return fig


def _clear(fig: Figure) -> None:
    """Remove what the last patient's draw added; axes, ticks and their text objects stay for reuse."""
    for ax in fig.axes:
        for artist in [*ax.lines, *ax.patches, *ax.collections, *ax.texts]:
            artist.remove()
        ax.ignore_existing_data_limits = True
    for artist in [*fig.texts, *fig.lines, *fig.patches, *fig.artists]:
        artist.remove()


def _minus(value: float) -> str:
    return f"{value:.1f}".replace("-", "\u2212")


def _draw_trend(fig: Figure, data: TrendData) -> Figure:
    from matplotlib.ticker import MaxNLocator, NullLocator

    ax_bmd, ax_t = fig.axes
    fig.text(0.08, 0.965, f"BMD and T-score up to {data.as_of.isoformat()}", fontsize=11, va="center")
    days = [d for s in (*data.bmd, *data.t) for d in s.dates] + [f.date for f in data.fractures]
    lo, hi = x_range(days + [s.start for s in data.courses], data.as_of)
    entries: list[tuple[str, dict[str, Any], str]] = []
    for s in data.bmd:
        change = s.annual_percent()
        rate = f"{change:+.1f} %/yr".replace("-", "\u2212") if change is not None else "one exam"
        line, = ax_bmd.plot(s.dates, s.values, marker="o", ms=4, lw=1.6, color=SITE_COLOUR[s.site])
        line.set_gid(f"bmd-{s.site.value}-{s.side.value}")
        entries.append(("line", {"color": SITE_COLOUR[s.site], "lw": 1.6}, f"{s.label}: {rate}"))
    for s in data.t:
        line, = ax_t.plot(s.dates, s.values, marker="o", ms=4, lw=1.6, color=SITE_COLOUR[s.site])
        line.set_gid(f"t-{s.site.value}-{s.side.value}")
        if not any(b.site is s.site and b.side is s.side for b in data.bmd):
            entries.append(("line", {"color": SITE_COLOUR[s.site], "lw": 1.6}, f"{s.label}: T only"))
    for marks, gid, text, symbol in ((data.significant_loss, "significant-loss", "significant loss (≥ LSC)", "v"),
                                     (data.significant_gain, "significant-gain", "significant gain (≥ LSC)", "^")):
        if marks:
            dots = ax_bmd.scatter([m.date for m in marks], [m.value for m in marks], s=110, marker=symbol,
                                  facecolors="none", edgecolors="black", linewidths=1.4, zorder=5)
            dots.set_gid(gid)
            entries.append(("line", {"color": "black", "marker": symbol, "markerfacecolor": "none", "ls": "",
                                     "markevery": [1]}, text))
    seen: set[str] = set()
    for s in data.courses:
        style = course_style(s.group)
        for ax in (ax_bmd, ax_t):
            ax.axvspan(s.start, s.end, lw=0, zorder=0, gid=f"course-{s.group}", **style)
        if s.label not in seen:
            seen.add(s.label)
            entries.append(("patch", style, s.label))
    for f in data.fractures:
        for ax in (ax_bmd, ax_t):
            ax.axvline(f.date, color="black", lw=1.2, ls=":", gid="fracture")
    if data.fractures:
        entries.append(("line", {"color": "black", "lw": 1.2, "ls": ":"},
                        "fracture" + (f": {data.fractures[0].label}" if len(data.fractures) == 1 else "s")))
    ax_t.axhline(data.normal_t, color=NORMAL_COLOUR, ls="--", lw=1, gid="threshold-normal")
    ax_t.axhline(data.osteoporosis_t, color=OSTEOPOROSIS_COLOUR, ls="--", lw=1, gid="threshold-osteoporosis")
    entries.append(("line", {"color": NORMAL_COLOUR, "ls": "--", "lw": 1}, f"T = {_minus(data.normal_t)}"))
    entries.append(("line", {"color": OSTEOPOROSIS_COLOUR, "ls": "--", "lw": 1},
                    f"T = {_minus(data.osteoporosis_t)} (osteoporosis)"))

    t_values = [v for s in data.t for v in s.values] + [data.normal_t, data.osteoporosis_t]
    ax_t.set_ylim(min(t_values) - 0.6, max(max(t_values) + 0.6, 0.5))
    if data.bmd:
        ax_bmd.yaxis.set_major_locator(MaxNLocator(5))
        ax_bmd.set_autoscaley_on(True)  # a reused figure may hold the fixed limits of a patient without BMD
        ax_bmd.relim()
        ax_bmd.autoscale_view(scalex=False)
    else:
        ax_bmd.yaxis.set_major_locator(NullLocator())
        ax_bmd.set_ylim(0, 1)
        ax_bmd.text(0.5, 0.5, "No BMD (g/cm²) on record" if data.t else f"No DXA on record up to {data.as_of}",
                    transform=ax_bmd.transAxes, ha="center", va="center", color="#555555")
    ax_t.yaxis.set_major_locator(MaxNLocator(6, steps=[1, 2, 2.5, 5, 10]))
    for ax in (ax_bmd, ax_t):
        ax.set_xlim(lo, hi)
        y_grid(ax)
    ax_bmd.xaxis.set_major_locator(NullLocator())
    year_axis(ax_t, lo, hi)
    for ax, label in ((ax_bmd, "BMD (g/cm²)"), (ax_t, "T-score")):
        ax.set_ylabel(label)
        ax.yaxis.set_label_coords(-0.075, 0.5)  # fixed: placing it from the tick labels costs a layout pass
        ax.xaxis.set_label_coords(0.5, -0.1)
    if data.caption:
        fig.text(0.08, 0.012, data.caption, fontsize=7, color="#666666")
    _legend(fig, entries, x=0.685, top=0.93)
    return fig


def trend_figure(data: TrendData) -> Figure:
    """Two panels on one date axis: BMD (g/cm²) per site, and T-score per site with the −1.0 and −2.5
    lines; AI and BMA courses shaded, fractures as dotted lines, changes ≥ LSC on one scanner marked
    (▼ loss, ▲ gain). The legend gives each site's annualised % BMD change (first to last exam)."""
    return _draw_trend(_trend_axes(), data)


class TrendPlotter:
    """Draws many trend plots on one reused Figure (its axes and tick objects are built once), for batches:
    the same drawing as `trend_figure`, several times faster. Not shared between threads."""

    def __init__(self) -> None:
        self.figure = _trend_axes()

    def draw(self, data: TrendData) -> Figure:
        _clear(self.figure)
        return _draw_trend(self.figure, data)

    def png(self, data: TrendData) -> bytes:
        return png_bytes(self.draw(data))
