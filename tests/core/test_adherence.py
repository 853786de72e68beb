"""Adherence metrics (docs/rules.md PDC, COVER, MPR, PERSISTENCE) and exposure (EXPOSURE), hand-computed."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from monitor.core.adherence import (
    Persistence,
    cover_days,
    denosumab_persistent,
    denosumab_timing,
    exposure,
    exposure_reaches_one,
    fills,
    is_adherent,
    iv_months_reach,
    mpr,
    oral_days_reach,
    oral_persistence,
    pdc,
)
from monitor.core.domain import DrugClass, Route
from tests.plan_builders import D, course, dose

OVERLAPPING = [(D("2024-01-01"), 30), (D("2024-01-20"), 30), (D("2024-03-15"), 30)]


def test_pdc_shifts_an_overlapping_fill_to_the_day_after_the_earlier_supply_ends():
    # 01-01..01-30, the 01-20 fill shifted to 01-31..02-29, then 03-15..04-13: 90 of 121 days.
    assert pdc(OVERLAPPING, D("2024-04-30")) == pytest.approx(90 / 121)


def test_pdc_counts_from_a_window_start_later_than_the_index_fill():
    # 02-01..02-29 (29 days) + 03-15..04-13 (30 days) over 02-01..04-30 (90 days).
    assert pdc(OVERLAPPING, D("2024-04-30"), start=D("2024-02-01")) == pytest.approx(59 / 90)


def test_pdc_ignores_fills_after_the_end_and_cuts_supply_at_the_end():
    assert pdc([*OVERLAPPING, (D("2024-05-01"), 30)], D("2024-02-14")) == pytest.approx(1.0)
    assert pdc([(D("2024-05-01"), 30)], D("2024-04-30")) is None


def test_pdc_of_0_80_is_adherent_and_just_below_is_not(policy):
    assert is_adherent(0.80, policy) is True
    assert is_adherent(0.7999, policy) is False
    assert is_adherent(None, policy) is None


def test_mpr_ignores_overlap_and_is_capped_at_one_unless_asked():
    two = [(D("2024-01-01"), 90), (D("2024-01-10"), 90)]
    assert mpr(two, D("2024-03-31")) == 1.0
    assert mpr(two, D("2024-03-31"), cap=False) == pytest.approx(180 / 91)
    assert mpr(OVERLAPPING, D("2024-04-30")) == pytest.approx(90 / 121)


@pytest.mark.parametrize(("end", "expected"), [
    ("2024-03-30", Persistence(True)),  # 60 uncovered days after the supply ended on 01-30
    ("2024-03-31", Persistence(False, D("2024-03-31"))),
])
def test_oral_therapy_is_persistent_until_a_gap_of_more_than_60_days(end, expected):
    assert oral_persistence([(D("2024-01-01"), 30)], D(end), gap_days=60) == expected


def test_a_gap_of_more_than_60_days_between_fills_ends_persistence():
    got = oral_persistence([(D("2024-01-01"), 30), (D("2024-04-15"), 30)], D("2024-05-01"), gap_days=60)
    assert got == Persistence(False, D("2024-03-31"))


def test_denosumab_doses_are_on_time_up_to_28_days_after_their_target(policy):
    timing = denosumab_timing([D("2025-01-15"), D("2025-08-12"), D("2026-03-15")], policy.denosumab)
    assert [(t.target, t.days_late, t.on_time) for t in timing] == [
        (D("2025-07-15"), 28, True), (D("2026-02-12"), 31, False)]


@pytest.mark.parametrize(("end", "expected"), [("2026-03-12", True), ("2026-03-13", False)])
def test_denosumab_persistence_needs_every_dose_on_time_and_the_next_not_late(policy, end, expected):
    assert denosumab_persistent([D("2025-01-15"), D("2025-08-12")], D(end), policy.denosumab) is expected


@pytest.mark.parametrize(("item", "days"), [
    (dose("denosumab", "2024-01-01", mg=60), 183),
    (dose("zoledronic_acid", "2024-01-01", mg=5), 365),
    (dose("zoledronic_acid", "2024-01-01", mg=4), 183),
    (dose("ibandronate", "2024-01-01", mg=3), 91),
    (dose("ibandronate", "2024-01-01", route=Route.IV), 91),
    (dose("ibandronate", "2024-01-01", mg=150, supply=30), 30),
    (dose("alendronate", "2024-01-01", mg=70, supply=28), 28),
    (dose("alendronate", "2024-01-01", mg=70), None),
])
def test_each_dose_covers_the_days_of_its_regimen(policy, item, days):
    assert cover_days(item, None, policy) == days


def test_fills_select_a_class_and_the_oral_or_iv_bisphosphonates(policy):
    doses = [dose("alendronate", "2024-01-01", mg=70, supply=28), dose("zoledronic_acid", "2024-02-01", mg=5),
             dose("denosumab", "2024-03-01", mg=60), dose("anastrozole", "2024-01-01", mg=1, supply=90)]
    courses = [course("alendronate", "2024-01-01")]
    assert fills(doses, courses, policy, oral_bp=True) == [(D("2024-01-01"), 28)]
    assert fills(doses, courses, policy, oral_bp=False) == [(D("2024-02-01"), 365)]
    assert fills(doses, courses, policy, klass=DrugClass.DENOSUMAB) == [(D("2024-03-01"), 183)]
    assert fills(doses, courses, policy, klass=DrugClass.AI) == [(D("2024-01-01"), 90)]


# --------------------------------------------------------------------------- exposure


def test_exposure_counts_oral_days_to_date_and_iv_months_at_the_end_of_each_interval(policy):
    oral = [(D("2020-01-01"), 1000)]
    iv = [(D("2020-03-01"), 12)]
    before = exposure(oral, iv, D("2021-02-28"), policy.holiday)
    assert (before.oral_days, before.iv_months) == (425, 0)
    on = exposure(oral, iv, D("2021-03-01"), policy.holiday)
    assert (on.oral_days, on.iv_months) == (426, 12)
    assert on.value == Fraction(426, 1826) + Fraction(12, 36)


def test_continuing_oral_therapy_reaches_exposure_one_on_the_1826th_covered_day(policy):
    assert exposure_reaches_one([(D("2020-01-01"), 30)], [], policy.holiday, oral_continues=True) == D("2024-12-30")
    assert exposure_reaches_one([(D("2020-01-01"), 30)], [], policy.holiday) is None


def test_three_yearly_infusions_reach_exposure_one_a_year_after_the_third(policy):
    iv = [(D("2021-03-01"), 12), (D("2022-03-01"), 12), (D("2023-03-01"), 12)]
    assert exposure_reaches_one([], iv, policy.holiday) == D("2024-03-01")
    assert iv_months_reach(iv, 36) == D("2024-03-01")
    assert iv_months_reach(iv[:2], 36) is None


def test_half_oral_exposure_needs_two_more_years_of_yearly_infusions(policy):
    oral = [(D("2018-01-01"), 913)]
    iv = [(D("2020-08-01"), 12), (D("2021-08-01"), 12), (D("2022-08-01"), 12)]
    assert exposure_reaches_one(oral, iv, policy.holiday) == D("2022-08-01")


def test_the_day_oral_supply_reaches_a_number_of_covered_days():
    assert oral_days_reach([(D("2024-01-01"), 30), (D("2024-03-01"), 30)], 31) == D("2024-03-01")
    assert oral_days_reach([(D("2024-01-01"), 30)], 31) is None


def test_shifted_coverage_is_reused_for_exposure(policy):
    # The 01-20 fill of OVERLAPPING is shifted, so 90 days are covered by 04-13, not 79.
    assert exposure(OVERLAPPING, [], date(2024, 4, 30), policy.holiday).oral_days == 90
