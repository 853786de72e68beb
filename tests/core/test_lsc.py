"""docs/rules.md LSC, CHANGE: least significant change between DXA exams of one ROI on one scanner."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.core.domain import Side
from monitor.core.lsc import Direction, bmd_changes, latest_bmd_changes, latest_changes
from tests.plan_builders import D, dxa


def roi(day: str, bmd: float, site: str = "total_hip", scanner: str | None = "S1", **kw):
    return dxa(day, "-2.0", site=site, bmd=bmd, scanner=scanner, **kw)


@pytest.mark.parametrize(("site", "before", "after", "direction"), [
    ("total_hip", 0.800, 0.760, Direction.LOSS),  # LSC 5.0% of 0.800 = 0.040: equality counts
    ("total_hip", 0.800, 0.761, Direction.STABLE),
    ("total_hip", 0.800, 0.840, Direction.GAIN),
    ("lumbar_spine", 1.000, 0.947, Direction.LOSS),  # 5.3%
    ("lumbar_spine", 1.000, 0.948, Direction.STABLE),
    ("femoral_neck", 0.700, 0.6517, Direction.LOSS),  # 6.9% of 0.700 = 0.0483
    ("femoral_neck", 0.700, 0.6518, Direction.STABLE),
])
def test_without_facility_data_the_iscd_fallback_percentage_of_the_previous_bmd_is_the_lsc(
        policy, site, before, after, direction):
    (change,) = bmd_changes([roi("2023-01-10", before, site), roi("2024-01-10", after, site)], policy)
    assert change.direction is direction
    assert change.lsc_from_facility is False
    assert change.delta == pytest.approx(after - before)


@pytest.mark.parametrize(("after", "direction"), [(0.775, Direction.LOSS), (0.776, Direction.STABLE),
                                                   (0.825, Direction.GAIN)])
def test_the_facility_lsc_in_g_per_cm2_wins_over_the_fallback(policy, after, direction):
    lsc = replace(policy.lsc, facility={"S1": {"total_hip": 0.025}})
    (change,) = bmd_changes([roi("2023-01-10", 0.800), roi("2024-01-10", after)], lsc)
    assert (change.direction, change.lsc, change.lsc_from_facility) == (direction, 0.025, True)


def test_the_facility_value_of_another_site_or_scanner_does_not_apply(policy):
    lsc = replace(policy.lsc, facility={"S1": {"lumbar_spine": 0.010}, "S2": {"total_hip": 0.010}})
    (change,) = bmd_changes([roi("2023-01-10", 0.800), roi("2024-01-10", 0.780)], lsc)
    assert (change.lsc, change.direction) == (pytest.approx(0.040), Direction.STABLE)


def test_change_is_annualised_over_the_interval_between_exams(policy):
    (change,) = bmd_changes([roi("2022-01-10", 0.800), roi("2024-01-10", 0.760)], policy)
    assert change.percent == pytest.approx(-5.0)
    assert change.annual_percent == pytest.approx(-5.0 * 365.25 / 730)


@pytest.mark.parametrize("site", ["radius_33", "unspecified", "trochanter"])
def test_the_radius_and_unspecified_sites_are_never_compared(policy, site):
    assert bmd_changes([roi("2023-01-10", 0.800, site), roi("2024-01-10", 0.600, site)], policy) == []


def test_only_exams_on_the_same_scanner_are_compared_consecutively(policy):
    changes = bmd_changes([roi("2022-01-10", 0.800), roi("2023-01-10", 0.600, scanner="S2"),
                           roi("2024-01-10", 0.790)], policy)
    assert [(c.previous_date, c.date, c.scanner) for c in changes] == [(D("2022-01-10"), D("2024-01-10"), "S1")]


def test_an_roi_without_a_scanner_id_is_not_compared(policy):
    assert bmd_changes([roi("2023-01-10", 0.800, scanner=None), roi("2024-01-10", 0.600, scanner=None)], policy) == []


def test_lumbar_spines_of_different_vertebrae_are_not_compared(policy):
    rois = [roi("2023-01-10", 1.0, "lumbar_spine", vertebrae=4), roi("2024-01-10", 0.9, "lumbar_spine", vertebrae=3)]
    assert bmd_changes(rois, policy) == []


def test_left_and_right_hips_are_separate_rois(policy):
    rois = [roi("2023-01-10", 0.800, side=Side.LEFT), roi("2023-01-10", 0.900, side=Side.RIGHT),
            roi("2024-01-10", 0.760, side=Side.LEFT), roi("2024-01-10", 0.900, side=Side.RIGHT)]
    assert {(c.side, c.direction) for c in bmd_changes(rois, policy)} == {
        (Side.LEFT, Direction.LOSS), (Side.RIGHT, Direction.STABLE)}


def test_invalid_rois_and_rois_without_bmd_are_not_compared(policy):
    bad = replace(roi("2024-01-10", 0.600), valid=False)
    assert bmd_changes([roi("2023-01-10", 0.800), bad, dxa("2024-06-01", "-3.0", site="total_hip")], policy) == []


def test_the_latest_comparison_is_the_changes_measured_on_the_latest_exam(policy):
    rois = [roi("2022-01-10", 0.800), roi("2023-01-10", 0.700), roi("2024-01-10", 0.705),
            roi("2023-01-10", 1.0, "lumbar_spine"), roi("2024-01-10", 0.9, "lumbar_spine")]
    latest = latest_changes(bmd_changes(rois, policy))
    assert {(c.site.value, c.direction) for c in latest} == {
        ("total_hip", Direction.STABLE), ("lumbar_spine", Direction.LOSS)}
    assert latest_changes(bmd_changes(rois, policy, last_only=True)) == latest
    assert latest_bmd_changes(rois, policy) == latest
