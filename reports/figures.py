"""Figures of the reports: a matplotlib `Figure` on an Agg canvas that caches text, and saving it.

matplotlib's object API only: `Figure` drawn by `FigureCanvasAgg`, never pyplot, so a long-running
process (the scheduler, a report batch) keeps no global figures. Tests read a Figure's lines, patches
and collections (their `gid`s name them), never pixels. PNG is saved with `metadata={"Software": None}`
and SVG without a date and with a fixed hash salt, so the same data gives the same bytes.

The plots: reports.trend_plot (BMD and T-score), reports.marker_plot, reports.timeline_plot (courses),
reports.monthly_plot (the adherence report's on-time rate); their shared look is reports.plot_style.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path
from typing import Any

import matplotlib.dates  # noqa: F401 - registers the converters for datetime.date at import
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure

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
