"""The report plots (reports.trend_plot, marker_plot, timeline_plot, figures): the trend data and the Figures
(lines, patches, collections by gid; never pixels)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import matplotlib.dates as mdates
import pytest

from monitor.core.domain import (
    Drug,
    Patient,
    PatientFacts,
    Side,
    TherapyCourse,
)
from monitor.demo.cohort import generate_cohort
from reports import figures
from reports.marker_plot import marker_figure
from reports.timeline_plot import timeline_figure
from reports.trend_plot import TrendPlotter, course_spans, legend_labels, trend_data, trend_figure
from tests.trend_facts import AS_OF, FACTS, HIP, NECK, SPINE, roi  # noqa: F401


@pytest.fixture(scope="module")
def data():
    from monitor.settings import default_policy

    return trend_data(FACTS, as_of=AS_OF, policy=default_policy())


@pytest.fixture(scope="module")
def fig(data):
    return trend_figure(data)


def by_gid(artists, gid: str) -> list:
    return [a for a in artists if a.get_gid() == gid]


def days(values) -> list[date]:
    return [mdates.num2date(v).date() if not isinstance(v, date) else v for v in values]


# --------------------------------------------------------------------------- data


def test_the_trend_data_has_one_series_per_site_and_side_up_to_the_as_of_date(data):
    assert [(s.site, s.side, s.dates, s.values) for s in data.bmd] == [
        (SPINE, Side.NONE, (date(2020, 1, 10), date(2021, 1, 10), date(2023, 1, 10)), (1.0, 0.94, 0.95)),
        (HIP, Side.LEFT, (date(2020, 1, 10), date(2021, 1, 10), date(2023, 1, 10)), (0.8, 0.79, 0.845)),
        (NECK, Side.LEFT, (date(2021, 1, 10), date(2023, 1, 10)), (0.7, 0.6)),
    ]
    assert data.t[0].values == (-1.2, -1.7, -1.6)


def test_only_changes_of_at_least_the_lsc_on_one_scanner_are_significant(data):
    # spine 2020→2021: −0.060 g/cm² ≤ −5.3 % of 1.000; hip 2021→2023: +0.055 ≥ 5.0 % of 0.790;
    # the femoral neck fell 0.1 g/cm² but between two scanners, so it is not compared.
    assert [(m.date, m.value) for m in data.significant_loss] == [(date(2021, 1, 10), 0.94)]
    assert [(m.date, m.value) for m in data.significant_gain] == [(date(2023, 1, 10), 0.845)]


def test_the_annualised_change_runs_from_the_first_to_the_last_exam(data):
    spine = data.bmd[0]
    assert spine.annual_percent() == pytest.approx(-5.0 * 365.25 / 1096)


def test_courses_are_clipped_to_the_as_of_date():
    spans = course_spans(FACTS, date(2024, 6, 1))

    assert [(s.label, s.group, s.start, s.end, s.running) for s in spans] == [
        ("AI: letrozole", "ai", date(2020, 1, 15), date(2024, 6, 1), True),
        ("BMA: denosumab", "bma", date(2021, 3, 1), date(2023, 9, 1), False),
        ("BMA: zoledronic acid", "bma", date(2024, 3, 1), date(2024, 6, 1), True),
    ]


# --------------------------------------------------------------------------- the figure


def test_the_figure_plots_bmd_and_t_score_per_site(fig):
    ax_bmd, ax_t = fig.axes
    spine = by_gid(ax_bmd.lines, "bmd-lumbar_spine-none")[0]
    hip_t = by_gid(ax_t.lines, "t-total_hip-left")[0]

    assert days(spine.get_xdata()) == [date(2020, 1, 10), date(2021, 1, 10), date(2023, 1, 10)]
    assert list(spine.get_ydata()) == [1.0, 0.94, 0.95]
    assert list(hip_t.get_ydata()) == [-1.5, -1.6, -1.2]
    assert ax_bmd.get_ylabel() == "BMD (g/cm²)" and ax_t.get_ylabel() == "T-score"


def test_the_t_score_panel_has_lines_at_minus_1_and_minus_2_5(fig):
    ax_t = fig.axes[1]

    assert [list(line.get_ydata()) for line in by_gid(ax_t.lines, "threshold-normal")] == [[-1.0, -1.0]]
    assert [list(line.get_ydata()) for line in by_gid(ax_t.lines, "threshold-osteoporosis")] == [[-2.5, -2.5]]


def test_the_ai_course_and_each_bma_course_are_shaded_on_both_panels(fig):
    for ax in fig.axes:
        ai = [days([p.get_x(), p.get_x() + p.get_width()]) for p in by_gid(ax.patches, "course-ai")]
        bma = [days([p.get_x(), p.get_x() + p.get_width()]) for p in by_gid(ax.patches, "course-bma")]
        assert ai == [[date(2020, 1, 15), date(2025, 1, 15)]]
        assert bma == [[date(2021, 3, 1), date(2023, 9, 1)], [date(2024, 3, 1), AS_OF]]


def test_fractures_are_marked_on_both_panels(fig):
    for ax in fig.axes:
        assert [days(line.get_xdata())[0] for line in by_gid(ax.lines, "fracture")] == [date(2022, 5, 1)]


def test_significant_changes_are_marked_at_the_later_exam(fig):
    ax_bmd = fig.axes[0]
    [loss] = by_gid(ax_bmd.collections, "significant-loss")
    [gain] = by_gid(ax_bmd.collections, "significant-gain")

    assert [(days([x])[0], y) for x, y in loss.get_offsets()] == [(date(2021, 1, 10), 0.94)]
    assert [(days([x])[0], y) for x, y in gain.get_offsets()] == [(date(2023, 1, 10), 0.845)]


def test_the_legend_gives_the_annualised_change_per_site_and_names_the_courses(fig):
    labels = legend_labels(fig)

    assert labels[:3] == ["Lumbar spine: \u22121.7 %/yr", "Total hip (left): +1.9 %/yr",
                          "Femoral neck (left): \u22127.1 %/yr"]
    assert {"AI: letrozole", "BMA: denosumab", "BMA: zoledronic acid", "significant loss (≥ LSC)",
            "significant gain (≥ LSC)", "T = \u22121.0", "T = \u22122.5 (osteoporosis)"} <= set(labels)
    assert any(label.startswith("fracture: vertebra") for label in labels)
    assert len(by_gid(fig.artists + fig.lines + fig.patches, "legend-handle")) == len(labels)


def test_a_patient_without_dxa_gets_a_plot_that_says_so(policy):
    bare = PatientFacts(Patient("P2", date(1955, 3, 1)), courses=(TherapyCourse(Drug.ANASTROZOLE,
                                                                               start=date(2024, 1, 1)),))
    data = trend_data(bare, as_of=AS_OF, policy=policy)
    fig = trend_figure(data)

    assert data.empty
    assert [t.get_text() for t in fig.axes[0].texts] == [f"No DXA on record up to {AS_OF}"]
    assert by_gid(fig.axes[1].lines, "threshold-osteoporosis")


def test_the_reused_plotter_draws_exactly_what_a_fresh_figure_draws(policy):
    cohort = list(generate_cohort(12, seed=42, as_of=AS_OF))
    bare = PatientFacts(Patient("P2", date(1955, 3, 1)))
    sequence = [cohort[1], bare, cohort[2], FACTS, cohort[7], cohort[11]]
    plotter = TrendPlotter()

    for facts in sequence:
        d = trend_data(facts, as_of=AS_OF, policy=policy)
        assert plotter.png(d) == figures.png_bytes(trend_figure(d)), facts.patient.mrn


def test_png_bytes_carry_no_software_stamp_and_are_stable(fig):
    first, second = figures.png_bytes(fig), figures.png_bytes(fig)

    assert first == second and first.startswith(b"\x89PNG")
    assert b"Software" not in first and b"matplotlib" not in first.lower()


def test_svg_has_no_date_and_is_stable(data):
    first, second = figures.svg_text(trend_figure(data)), figures.svg_text(trend_figure(data))

    assert first == second and "<dc:date>" not in first and first.lstrip().startswith("<?xml")


def test_save_picks_the_format_from_the_suffix(fig, tmp_path: Path):
    assert figures.save(fig, tmp_path / "t.png").read_bytes().startswith(b"\x89PNG")
    assert "<svg" in figures.save(fig, tmp_path / "t.svg").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        figures.save(fig, tmp_path / "t.pdf")


def test_the_marker_plot_has_a_panel_per_marker(policy):
    fig = marker_figure(FACTS, as_of=AS_OF)

    ctx = [line for ax in fig.axes for line in by_gid(ax.lines, "marker-ctx")]
    assert [list(line.get_ydata()) for line in ctx] == [[550.0, 150.0]]
    assert len(fig.axes) == 2 and len(by_gid(fig.axes[0].patches, "course-bma")) == 2


def test_the_timeline_has_a_bar_per_course_and_ticks_for_doses(data):
    fig = timeline_figure(data)
    ax = fig.axes[0]

    assert [t.get_text() for t in ax.get_yticklabels()] == ["AI: letrozole", "BMA: denosumab",
                                                            "BMA: zoledronic acid"]
    assert len(by_gid(ax.collections, "course-ai")) == 1 and len(by_gid(ax.collections, "course-bma")) == 2
    assert sum(len(c.get_offsets()) for c in by_gid(ax.collections, "doses")) == 3


def test_reports_draw_with_the_figure_api_only():
    import ast

    for path in (Path(figures.__file__).parent).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import | ast.ImportFrom) else []
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            assert "pyplot" not in module and not any("pyplot" in n for n in names), path.name


def test_cached_text_looks_like_matplotlibs_own_text():
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def raster(fig) -> np.ndarray:
        fig.text(0.1, 0.6, "Lumbar spine: \u22121.7 %/yr", fontsize=8, color="#1f5fa8")
        fig.text(0.05, 0.2, "T-score", rotation=90, fontsize=10)
        fig.canvas.draw()
        fig.canvas.draw()  # the second draw comes from the cache
        return np.asarray(fig.canvas.buffer_rgba()).astype(int)

    plain = Figure(figsize=(3, 2), dpi=100)
    FigureCanvasAgg(plain)
    cached = raster(figures.new_figure(3, 2))
    ours = raster(plain)

    assert figures.new_figure(3, 2).canvas.get_renderer()._text_masks == {}
    assert (ours != 255).any() and np.abs(cached - ours).max() <= 64  # sub-pixel offsets rounded to 1/8 px
    assert (np.abs(cached - ours) > 16).mean() < 0.002
