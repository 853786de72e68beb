"""docs/rules.md EXPOSURE, H-REVIEW, ALERT-BP-DURATION, HOLIDAY, H-HOLIDAY, H-RESUME: exposure review, the holiday."""

from __future__ import annotations

import pytest

from monitor.core.domain import Severity, TaskKind, TaskStatus
from tests.plan_builders import (
    D,
    alert,
    codes,
    course,
    done_task,
    dose,
    dxa,
    facts,
    fracture,
    make_plan,
    marker,
    note,
    open_task,
    status,
    window,
)

HOL = TaskKind.BP_HOLIDAY_REVIEW
BTM = TaskKind.BTM


# --------------------------------------------------------------------------- exposure review (H-REVIEW)


def test_five_years_of_continuous_oral_bp_bring_the_holiday_review(policy):
    # 1826 covered days from 2020-01-01 end on 2024-12-30 (two leap years in between).
    p = make_plan(facts(dxa("2024-01-01", "-1.8"), course("alendronate", "2020-01-01")), "2024-06-01", policy)
    assert window(open_task(p, HOL)) == ("H-REVIEW", "2020-01-01", "2024-10-01", "2024-12-30", "2025-03-30")
    assert status(p, HOL) is TaskStatus.UPCOMING


def test_gaps_in_oral_supply_push_the_review_later(policy):
    fills = [dose("alendronate", "2020-01-01", mg=70, supply=300), dose("alendronate", "2021-01-01", mg=70, supply=90)]
    p = make_plan(facts(dxa("2021-01-01", "-1.8"), course("alendronate", "2020-01-01"), *fills), "2021-02-01", policy)
    # 300 days covered in 2020, then continuous from 2021-01-01: 1826 − 300 = 1526 more days.
    assert open_task(p, HOL).target == D("2025-03-06")


@pytest.mark.parametrize("doses", [
    ["2021-03-01", "2022-03-01", "2023-03-01"],
    ["2021-03-01"],  # projected if continued
])
def test_yearly_zoledronic_acid_reaches_36_iv_months_a_year_after_the_third_infusion(policy, doses):
    f = facts(dxa("2021-01-01", "-2.6"), course("zoledronic_acid", "2021-03-01", mg=5),
              *[dose("zoledronic_acid", d, mg=5) for d in doses])
    p = make_plan(f, doses[-1], policy)
    assert window(open_task(p, HOL)) == ("H-REVIEW", "2021-03-01", "2023-12-02", "2024-03-01", "2024-05-30")


def test_mixed_exposure_counts_iv_months_at_the_end_of_each_interval(policy):
    # 913 oral days (E = 0.5), then ZOL 5 mg: 0.5 + 12/36 < 1 at one year, 0.5 + 24/36 ≥ 1 at two.
    oral = [dose("alendronate", "2018-01-01", mg=70, supply=365), dose("alendronate", "2019-01-01", mg=70, supply=365),
            dose("alendronate", "2020-01-01", mg=70, supply=183)]
    f = facts(dxa("2020-06-01", "-2.6"), course("alendronate", "2018-01-01", stop="2020-07-02"), *oral,
              course("zoledronic_acid", "2020-08-01", mg=5), dose("zoledronic_acid", "2020-08-01", mg=5))
    assert open_task(make_plan(f, "2020-09-01", policy), HOL).target == D("2022-08-01")


def test_a_holiday_review_note_in_the_window_completes_the_exposure_review(policy):
    f = facts(dxa("2024-01-01", "-1.8"), course("alendronate", "2020-01-01"), note("holiday_review", "2024-11-15"))
    p = make_plan(f, "2024-12-01", policy)
    assert open_task(p, HOL) is None
    assert (done_task(p, HOL).rule, done_task(p, HOL).done_on) == ("H-REVIEW", D("2024-11-15"))


# --------------------------------------------------------------------------- ALERT-BP-DURATION


@pytest.mark.parametrize(("as_of", "raised"), [("2023-12-30", False), ("2023-12-31", True)])
def test_ten_years_of_oral_bp_raise_the_duration_alert(policy, as_of, raised):
    f = facts(dxa("2023-01-01", "-1.8"), course("alendronate", "2014-01-01"))
    p = make_plan(f, as_of, policy)
    assert ("ALERT-BP-DURATION" in codes(p)) is raised
    if raised:
        assert alert(p, "ALERT-BP-DURATION").since == D("2023-12-31")
        assert alert(p, "ALERT-BP-DURATION").severity is Severity.WARN
    else:
        assert p.valid_until <= D("2023-12-31")


@pytest.mark.parametrize(("as_of", "raised"), [("2024-02-29", False), ("2024-03-01", True)])
def test_six_years_of_iv_bp_raise_the_duration_alert(policy, as_of, raised):
    days = ["2018-03-01", "2019-03-01", "2020-03-01", "2021-03-01", "2022-03-01", "2023-03-01"]
    f = facts(dxa("2023-01-01", "-2.6"), course("zoledronic_acid", "2018-03-01", mg=5),
              *[dose("zoledronic_acid", d, mg=5) for d in days])
    assert ("ALERT-BP-DURATION" in codes(make_plan(f, as_of, policy))) is raised


def test_a_review_after_the_duration_limit_clears_the_alert(policy):
    f = facts(dxa("2023-01-01", "-1.8"), course("alendronate", "2014-01-01"), note("holiday_review", "2024-01-10"))
    assert "ALERT-BP-DURATION" not in codes(make_plan(f, "2024-02-01", policy))


# --------------------------------------------------------------------------- the holiday


def holiday(drug: str, last: str, stop: str, mg: float | None = None, supply: int | None = None):
    return [dxa("2023-01-01", "-1.8"), course(drug, "2018-01-01", stop=stop, reason="Drug holiday", mg=mg),
            dose(drug, last, mg=mg, supply=supply)]


@pytest.mark.parametrize(("drug", "mg", "supply", "expected"), [
    ("alendronate", 70, 28, ("H-HOLIDAY", "2023-12-20", "2025-09-21", "2025-12-20", "2026-12-20")),
    ("risedronate", 35, 28, ("H-HOLIDAY", "2023-12-20", "2024-09-21", "2024-12-20", "2026-12-20")),
    ("zoledronic_acid", 5, None, ("H-HOLIDAY", "2024-12-20", "2026-09-21", "2026-12-20", "2027-12-20")),
    ("zoledronic_acid", 4, None, ("H-HOLIDAY", "2024-06-20", "2026-03-22", "2026-06-20", "2027-06-20")),
    ("ibandronate", 3, None, ("H-HOLIDAY", "2024-03-20", "2024-12-20", "2025-03-20", "2027-03-20")),
])
def test_the_holiday_starts_by_agent_and_is_reviewed_at_12_or_24_months(policy, drug, mg, supply, expected):
    p = make_plan(facts(*holiday(drug, "2023-12-20", "2024-01-15", mg, supply)), "2024-02-01", policy)
    assert window(open_task(p, HOL)) == expected


def test_a_holiday_start_note_begins_a_holiday(policy):
    f = facts(dxa("2023-01-01", "-1.8"), course("alendronate", "2018-01-01"),
              dose("alendronate", "2023-12-20", mg=70, supply=28), note("holiday_start", "2024-01-10"))
    p = make_plan(f, "2024-02-01", policy)
    assert open_task(p, HOL).rule == "H-HOLIDAY"
    assert open_task(p, BTM).rule == "B4"


def test_the_review_note_that_decided_the_holiday_does_not_complete_the_holiday_review(policy):
    f = facts(*holiday("alendronate", "2023-12-20", "2024-01-15", 70, 28), note("holiday_review", "2024-01-15"))
    assert open_task(make_plan(f, "2024-02-01", policy), HOL).rule == "H-HOLIDAY"


def base_holiday():
    return holiday("alendronate", "2023-12-20", "2024-01-15", 70, 28)


@pytest.mark.parametrize(("trigger", "day"), [
    ([fracture("2024-06-01", "distal_forearm")], "2024-06-01"),
    ([course("letrozole", "2024-06-01")], "2024-06-01"),
    ([marker("2017-12-20", 500.0), marker("2024-06-01", 520.0)], "2024-06-01"),  # back to the baseline
    ([marker("2024-06-01", 600.0)], "2024-06-01"),  # above the premenopausal range
    ([dxa("2023-01-01", "-2.0", site="total_hip", bmd=0.800, scanner="S1"),
      dxa("2024-06-01", "-2.3", site="total_hip", bmd=0.750, scanner="S1")], "2024-06-01"),  # Δ ≤ −5%
    ([dxa("2024-06-01", "-2.6")], "2024-06-01"),  # T newly ≤ −2.5
])
def test_a_resume_trigger_makes_the_holiday_review_due_now(policy, trigger, day):
    p = make_plan(facts(*base_holiday(), *trigger), "2024-06-05", policy)
    assert window(open_task(p, HOL)) == ("H-RESUME", day, day, day, "2024-07-01")
    assert "HOLIDAY_RESUME_TRIGGER" in p.flags


def test_a_review_after_the_trigger_clears_the_flag_and_the_scheduled_review_remains(policy):
    f = facts(*base_holiday(), fracture("2024-06-01"), note("holiday_review", "2024-06-15"))
    p = make_plan(f, "2024-06-20", policy)
    assert "HOLIDAY_RESUME_TRIGGER" not in p.flags
    assert (done_task(p, HOL).rule, done_task(p, HOL).done_on) == ("H-RESUME", D("2024-06-15"))
    assert open_task(p, HOL).rule == "H-HOLIDAY"


def test_a_new_bp_dose_ends_the_holiday(policy):
    f = facts(*base_holiday(), course("alendronate", "2024-08-01"), dose("alendronate", "2024-08-01", supply=28))
    p = make_plan(f, "2024-08-10", policy)
    assert all(t.rule not in ("H-HOLIDAY", "H-RESUME", "B4") for t in p.tasks)
