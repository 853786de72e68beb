"""The plots' shared look: site and course colours and labels, the date axis, the grid, the empty panel."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from monitor.core.domain import DxaSite

SITE_LABEL = {DxaSite.LUMBAR_SPINE: "Lumbar spine", DxaSite.TOTAL_HIP: "Total hip",
              DxaSite.FEMORAL_NECK: "Femoral neck", DxaSite.RADIUS_33: "33% radius",
              DxaSite.UNSPECIFIED: "Site not given"}
SITE_COLOUR = {DxaSite.LUMBAR_SPINE: "#1f5fa8", DxaSite.TOTAL_HIP: "#2a9d4b", DxaSite.FEMORAL_NECK: "#e07b00",
               DxaSite.RADIUS_33: "#7b4fa0", DxaSite.UNSPECIFIED: "#666666"}
AI_COLOUR, BMA_COLOUR, OTHER_COLOUR = "#f2b134", "#4a9be0", "#b0b0b0"
COURSE_COLOUR = {"ai": AI_COLOUR, "bma": BMA_COLOUR, "other": OTHER_COLOUR}  # by Span.group
NORMAL_COLOUR, OSTEOPOROSIS_COLOUR = "#707070", "#b3261e"
DAYS_PER_YEAR = 365.25


def course_style(group: str) -> dict[str, Any]:
    """Colour and transparency of a course's shading ("ai", "bma" or "other")."""
    return {"color": COURSE_COLOUR[group], "alpha": 0.22 if group == "ai" else 0.18}


def x_range(days: Sequence[date], as_of: date) -> tuple[date, date]:
    """The date axis: from a little before the first date (a year back without one) to after `as_of`."""
    first = min(days) if days else as_of - timedelta(days=365)
    span = max((as_of - first).days, 180)
    pad = timedelta(days=max(30, span // 30))
    return first - pad, as_of + pad


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


def year_axis(ax: Any, lo: date, hi: date) -> None:
    from matplotlib.dates import DateFormatter, date2num
    from matplotlib.ticker import FixedLocator

    ticks, fmt = date_ticks(lo, hi)
    ax.xaxis.set_major_locator(FixedLocator(date2num(ticks)))
    ax.xaxis.set_major_formatter(DateFormatter(fmt))


def y_grid(ax: Any) -> None:
    ax.grid(True, axis="y", color="#e5e5e5", lw=0.6)


def empty_panel(ax: Any, text: str) -> None:
    """A panel that only says there is nothing to plot."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#555555")
    ax.set_axis_off()
