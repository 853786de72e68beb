"""Plots of the reports: BMD trend, bone markers, treatment timeline, and the audit's monthly on-time rate.

matplotlib's object API only: `Figure` drawn by `FigureCanvasAgg`, never pyplot, so a long-running
process (the scheduler, a report batch) keeps no global figures. Each plot is two steps: a pure
function gathers its data from plain domain values (`trend_data`, testable without matplotlib), then
a `*_figure` function draws it. Tests read the Figure's lines, patches and collections (their `gid`s
name them), never pixels. PNG is saved with `metadata={"Software": None}` and SVG without a date and
with a fixed hash salt, so the same data gives the same bytes.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import matplotlib.dates  # noqa: F401 - registers the converters for datetime.date at import
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure

from monitor.core.domain import TIERING_SITES, Drug, DxaSite, PatientFacts, Side
from monitor.core.lsc import Direction, bmd_changes
from monitor.core.policy import Policy

SITE_LABEL = {DxaSite.LUMBAR_SPINE: "Lumbar spine", DxaSite.TOTAL_HIP: "Total hip",
              DxaSite.FEMORAL_NECK: "Femoral neck", DxaSite.RADIUS_33: "33% radius",
              DxaSite.UNSPECIFIED: "Site not given"}
SITE_COLOUR = {DxaSite.LUMBAR_SPINE: "#1f5fa8", DxaSite.TOTAL_HIP: "#2a9d4b", DxaSite.FEMORAL_NECK: "#e07b00",
               DxaSite.RADIUS_33: "#7b4fa0", DxaSite.UNSPECIFIED: "#666666"}
AI_COLOUR, BMA_COLOUR, OTHER_COLOUR = "#f2b134", "#4a9be0", "#b0b0b0"
NORMAL_COLOUR, OSTEOPOROSIS_COLOUR = "#707070", "#b3261e"
DAYS_PER_YEAR = 365.25
MARKER_LABEL = {"ctx": "s-CTX", "p1np": "s-PINP", "balp": "BALP", "ntx": "NTX"}


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
    courses, fractures, and the changes of at least the LSC on one scanner (SPEC §5)."""
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


_UNCACHEABLE = object()


class _TextCachingRenderer(RendererAgg):
    """Agg with a cache of rendered text. matplotlib 3.11 rasterises text glyph by glyph in Python, which is
    most of a trend plot's cost; the same strings (tick labels, legend entries) recur on every plot. A string
    is drawn once, black on a scratch renderer, at its sub-pixel offset (to 1/8 px); its coverage mask is then
    blended in the text's colour at every later use, as Agg itself blends a glyph (`draw_text_image`).
    Anything unexpected falls back to matplotlib's own drawing."""

    MAX_ENTRIES = 4096

    def __init__(self, width: float, height: float, dpi: float) -> None:
        super().__init__(width, height, dpi)
        self._text_masks: dict[tuple, Any] = {}

    def draw_text(self, gc: Any, x: float, y: float, s: str, prop: Any, angle: float, ismath: Any = False,
                  mtext: Any = None) -> None:
        if ismath or not s:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        fx, fy = round((x % 1) * 8) / 8, round((y % 1) * 8) / 8
        key = (s, hash(prop), prop.get_size_in_points(), angle, gc.get_antialiased(), fx, fy)
        if key not in self._text_masks:
            if len(self._text_masks) >= self.MAX_ENTRIES:
                self._text_masks.clear()
            try:
                self._text_masks[key] = self._render_mask(gc, fx, fy, s, prop, angle, mtext)
            except Exception:  # an optimisation only: any surprise from matplotlib's internals → its own path
                self._text_masks[key] = _UNCACHEABLE
        entry = self._text_masks[key]
        if entry is _UNCACHEABLE:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        if entry is not None:
            mask, dx, dy = entry
            self._renderer.draw_text_image(mask, math.floor(x) + dx, math.floor(y) + dy, 0, gc)
        return None

    def _render_mask(self, gc: Any, fx: float, fy: float, s: str, prop: Any, angle: float,
                     mtext: Any) -> Any:
        """(coverage mask, left offset, bottom offset); None when nothing is drawn; _UNCACHEABLE."""
        import numpy as np

        w, h, _ = self.get_text_width_height_descent(s, prop, False)
        if angle % 180 == 0:
            pad_x, pad_y = math.ceil(w + h) + 8, math.ceil(2 * h) + 8
        elif angle % 180 == 90:
            pad_x, pad_y = math.ceil(2 * h) + 8, math.ceil(w + h) + 8
        else:
            pad_x = pad_y = math.ceil(w + h) + 8
        scratch = RendererAgg(2 * pad_x, 2 * pad_y, self.dpi)
        black = scratch.new_gc()
        black.copy_properties(gc)
        black.set_clip_rectangle(None)
        black.set_clip_path(None)
        black.set_foreground("black")
        black.set_alpha(1.0)
        RendererAgg.draw_text(scratch, black, pad_x + fx, pad_y + fy, s, prop, angle, False, mtext)
        alpha = np.asarray(scratch.buffer_rgba())[:, :, 3]
        rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
        if not len(rows):
            return None
        r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        # draw_text_image takes the mask's left column and its bottom row (rows run downwards), as in
        # RendererAgg._draw_text_glyphs_and_boxes; the offsets are relative to the integer text position.
        if r0 == 0 or c0 == 0 or r1 == alpha.shape[0] or c1 == alpha.shape[1]:
            return _UNCACHEABLE  # it touches the scratch's edge, so it may be cut: draw it the usual way
        return np.ascontiguousarray(alpha[r0:r1, c0:c1]), int(c0) - pad_x, int(r1) - pad_y


class _Canvas(FigureCanvasAgg):
    """FigureCanvasAgg whose renderer caches text (see _TextCachingRenderer); kept while the size is the same."""

    def get_renderer(self) -> RendererAgg:
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _TextCachingRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    fig = Figure(figsize=(width, height), dpi=dpi)
    _Canvas(fig)
    return fig


def _x_range(days: Sequence[date], as_of: date) -> tuple[date, date]:
    first = min(days) if days else as_of - timedelta(days=365)
    span = max((as_of - first).days, 180)
    pad = timedelta(days=max(30, span // 30))
    return first - pad, as_of + pad


def _shade(ax: Any, spans: Sequence[Span]) -> None:
    colour = {"ai": AI_COLOUR, "bma": BMA_COLOUR, "other": OTHER_COLOUR}
    seen = set()
    for s in spans:
        patch = ax.axvspan(s.start, s.end, color=colour[s.group], alpha=0.22 if s.group == "ai" else 0.18, lw=0,
                           label=s.label if s.label not in seen else "_nolegend_", zorder=0)
        patch.set_gid(f"course-{s.group}")
        seen.add(s.label)


def _fracture_lines(ax: Any, fractures: Sequence[Mark], *, label: bool) -> None:
    for i, f in enumerate(fractures):
        line = ax.axvline(f.date, color="black", lw=1.2, ls=":",
                          label=f"fracture: {f.label}" if label and i == 0 else "_nolegend_")
        line.set_gid("fracture")


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
    """The labels of a figure's legend, top to bottom."""
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


def date_ticks(lo: date, hi: date) -> tuple[list[date], str]:
    """Tick dates between lo and hi and their format: every k-th 1 January, or months for short spans
    (computed directly: matplotlib's date locators iterate dateutil rules, a tenth of a plot's time)."""
    years = (hi - lo).days / DAYS_PER_YEAR
    if years >= 3:
        step = max(1, round(years / 7))
        first = lo.year + (0 if (lo.month, lo.day) == (1, 1) else 1)
        first += (-first) % step
        return [date(y, 1, 1) for y in range(first, hi.year + 1, step)], "%Y"
    step = 6 if years > 1.5 else 3
    month = lo.year * 12 + lo.month - 1 + (0 if lo.day == 1 else 1)
    month += (-month) % step
    out = []
    while (day := date(month // 12, month % 12 + 1, 1)) <= hi:
        out.append(day)
        month += step
    return out, "%Y-%m"


def _year_axis(ax: Any, lo: date, hi: date) -> None:
    from matplotlib.dates import DateFormatter, date2num
    from matplotlib.ticker import FixedLocator

    ticks, fmt = date_ticks(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(date2num(ticks)))
    ax.xaxis.set_major_formatter(DateFormatter(fmt))


def _minus(value: float) -> str:
    return f"{value:.1f}".replace("-", "\u2212")


def _draw_trend(fig: Figure, data: TrendData) -> Figure:
    from matplotlib.ticker import MaxNLocator, NullLocator

    ax_bmd, ax_t = fig.axes
    fig.text(0.08, 0.965, f"BMD and T-score up to {data.as_of.isoformat()}", fontsize=11, va="center")
    days = [d for s in (*data.bmd, *data.t) for d in s.dates] + [f.date for f in data.fractures]
    lo, hi = _x_range(days + [s.start for s in data.courses], data.as_of)
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
        style = {"color": {"ai": AI_COLOUR, "bma": BMA_COLOUR, "other": OTHER_COLOUR}[s.group],
                 "alpha": 0.22 if s.group == "ai" else 0.18}
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
        ax.grid(True, axis="y", color="#e5e5e5", lw=0.6)
    ax_bmd.xaxis.set_major_locator(NullLocator())
    _year_axis(ax_t, lo, hi)
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
        ax = fig.subplots()
        ax.text(0.5, 0.5, f"No bone turnover markers on record up to {as_of}", transform=ax.transAxes,
                ha="center", va="center", color="#555555")
        ax.set_axis_off()
        return fig
    axes = fig.subplots(len(analytes), 1, sharex=True, squeeze=False)[:, 0]
    spans = tuple(s for s in course_spans(facts, as_of) if s.group == "bma")
    days = [m.date for a in analytes for m in by[a]] + [s.start for s in spans]
    lo, hi = _x_range(days, as_of)
    for ax, analyte in zip(axes, analytes, strict=True):
        _shade(ax, spans)
        points = sorted(by[analyte], key=lambda m: m.date)
        line, = ax.plot([m.date for m in points], [m.value for m in points], marker="o", ms=4, lw=1.4,
                        color="#333333", label=MARKER_LABEL[analyte])
        line.set_gid(f"marker-{analyte}")
        ax.set_ylabel(f"{MARKER_LABEL[analyte]}\n({points[0].unit})", fontsize=8)
        ax.set_xlim(lo, hi)
        ax.grid(True, axis="y", color="#e5e5e5", lw=0.6)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    _year_axis(axes[-1], lo, hi)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.675, 1 - 0.45 / fig.get_figheight()), fontsize=8,
               frameon=False)
    return fig


def timeline_figure(data: TrendData) -> Figure:
    """AI and BMA (and tamoxifen) courses as bars, one row per drug, doses as ticks, fractures as lines."""
    drugs = list(dict.fromkeys(s.label for s in data.courses))
    fig = new_figure(9.6, 0.9 + 0.38 * max(1, len(drugs)))
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.2, right=0.97, top=1 - 0.3 / height, bottom=0.45 / height)
    ax = fig.subplots()
    if not drugs:
        ax.text(0.5, 0.5, f"No AI or BMA course on record up to {data.as_of}", transform=ax.transAxes,
                ha="center", va="center", color="#555555")
        ax.set_axis_off()
        return fig
    colour = {"ai": AI_COLOUR, "bma": BMA_COLOUR, "other": OTHER_COLOUR}
    for s in data.courses:
        row = drugs.index(s.label)
        bars = ax.broken_barh([(s.start, s.end - s.start)], (row - 0.32, 0.64), facecolors=colour[s.group],
                              edgecolors="none")
        bars.set_gid(f"course-{s.group}")
    for s in data.courses:
        drug = s.label.split(": ", 1)[1].replace(" ", "_")
        days = data.doses.get(drug, ())
        if days:
            row = drugs.index(s.label)
            ticks = ax.scatter(days, [row] * len(days), marker="|", s=60, color="#222222", linewidths=1)
            ticks.set_gid("doses")
    _fracture_lines(ax, data.fractures, label=False)
    today = ax.axvline(data.as_of, color="#444444", lw=1)
    today.set_gid("as-of")
    ax.set_yticks(range(len(drugs)), drugs, fontsize=8)
    ax.set_ylim(len(drugs) - 0.5, -0.5)
    lo, hi = _x_range([s.start for s in data.courses] + [f.date for f in data.fractures], data.as_of)
    ax.set_xlim(lo, hi)
    _year_axis(ax, lo, hi)
    return fig


def monthly_figure(months: Sequence[str], rates: Sequence[float | None], counts: Sequence[int]) -> Figure:
    """On-time rate (%) of the tasks resolved in each month, with the number of tasks over each bar."""
    fig = new_figure(9.0, 3.4)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.86, bottom=0.2)
    ax = fig.subplots()
    fig.suptitle("Tasks done on time, by the month they were resolved", x=0.08, ha="left", fontsize=11)
    if not months:
        ax.text(0.5, 0.5, "No tasks were resolved in the period", transform=ax.transAxes, ha="center",
                va="center", color="#555555")
        ax.set_axis_off()
        return fig
    heights = [100 * r if r is not None else 0 for r in rates]
    for bar in ax.bar(range(len(months)), heights, color="#4a9be0", width=0.7):
        bar.set_gid("on-time-rate")
    for i, n in enumerate(counts):
        ax.text(i, heights[i] + 2, f"n={n}", ha="center", va="bottom", fontsize=7, color="#333333")
    ax.set_xticks(range(len(months)), months, rotation=45 if len(months) > 12 else 0, fontsize=8)
    ax.set_ylim(0, 112)
    ax.set_ylabel("on time (%)")
    ax.grid(True, axis="y", color="#e5e5e5", lw=0.6)
    return fig


# --------------------------------------------------------------------------- output


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None}, pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def svg_text(fig: Figure) -> str:
    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "bonemon", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def data_uri(fig: Figure) -> str:
    """The figure as a base64 PNG for an <img src> (the HTML stays one self-contained file)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(fig)).decode("ascii")


def save(fig: Figure, path: Path) -> Path:
    """PNG or SVG by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        path.write_bytes(png_bytes(fig))
    elif suffix == ".svg":
        path.write_text(svg_text(fig), encoding="utf-8")
    else:
        raise ValueError(f"{path.name}: a plot is saved as .png or .svg")
    return path
