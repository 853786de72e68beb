"""docs/rules.md D1–D6: the DXA task, D1 > D5 > D6 > D3 > D2, its windows, boundaries and completion."""

from __future__ import annotations

import pytest

from monitor.core.domain import TaskKind, TaskStatus, Tier
from monitor.core.risk import assess
from tests.plan_builders import (
    D,
    course,
    done_task,
    dose,
    dxa,
    facts,
    fracture,
    make_plan,
    open_task,
    status,
    window,
)

DXA = TaskKind.DXA


def ai_started(day: str, **kw):
    return [course("anastrozole", day, **kw), dose("anastrozole", day, mg=1, supply=90)]


# --------------------------------------------------------------------------- D1


def test_d1_window_runs_from_12_months_before_to_90_days_after_a_planned_ai_start(policy):
    p = make_plan(facts(course("letrozole", planned="2025-06-01")), "2025-04-01", policy)
    assert window(open_task(p, DXA)) == ("D1", "2025-06-01", "2024-06-01", "2025-06-01", "2025-08-30")
    assert status(p, DXA) is TaskStatus.DUE


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2025-08-30", TaskStatus.DUE),  # AI start + 90 d: last day on time
    ("2025-08-31", TaskStatus.OVERDUE),
])
def test_d1_is_overdue_the_day_after_ai_start_plus_90_days(policy, as_of, expected):
    f = facts(*ai_started("2025-06-01"), dose("anastrozole", "2025-08-25", mg=1, supply=90))
    p = make_plan(f, as_of, policy)
    assert open_task(p, DXA).rule == "D1"
    assert status(p, DXA) is expected


@pytest.mark.parametrize(("dxa_day", "d1_open"), [
    ("2024-05-31", True),  # 12 months and a day before the AI start: too old
    ("2024-06-01", False),  # exactly 12 months before: counts
    ("2025-08-30", False),  # last day of the window
])
def test_an_existing_dxa_from_12_months_before_the_ai_start_completes_d1(policy, dxa_day, d1_open):
    f = facts(dxa(dxa_day, "-1.5"), *ai_started("2025-06-01"), dose("anastrozole", "2025-08-25", mg=1, supply=90))
    p = make_plan(f, "2025-08-30", policy)
    assert (open_task(p, DXA).rule == "D1") is d1_open
    if not d1_open:
        assert done_task(p, DXA).rule == "D1"
        assert done_task(p, DXA).done_on == D(dxa_day)
        assert status(p, DXA, done=True) is TaskStatus.DONE


def test_a_dxa_after_the_d1_window_completes_d1_late(policy):
    f = facts(*ai_started("2025-06-01"), dose("anastrozole", "2025-08-25", mg=1, supply=90), dxa("2025-09-15"))
    p = make_plan(f, "2025-10-01", policy)
    done = done_task(p, DXA)
    assert (done.rule, done.done_on) == ("D1", D("2025-09-15"))
    assert status(p, DXA, done=True) is TaskStatus.DONE_LATE
    assert window(open_task(p, DXA)) == ("D3", "2025-09-15", "2026-03-15", "2026-09-15", "2026-10-15")


def test_d1_window_clamps_at_month_end_from_a_leap_day_start(policy):
    p = make_plan(facts(*ai_started("2024-02-29")), "2024-03-01", policy)
    assert window(open_task(p, DXA)) == ("D1", "2024-02-29", "2023-02-28", "2024-02-29", "2024-05-29")


def test_switching_from_one_ai_to_another_does_not_ask_for_a_new_baseline(policy):
    f = facts(dxa("2022-12-01"), course("anastrozole", "2023-01-01", stop="2024-01-01"),
              course("letrozole", "2024-01-20"))
    p = make_plan(f, "2024-03-01", policy)
    assert open_task(p, DXA).rule == "D3"


def test_d1_stops_when_the_ai_stops(policy):
    f = facts(course("anastrozole", "2024-01-01", stop="2024-03-01"))
    p = make_plan(f, "2024-04-01", policy)
    assert open_task(p, DXA).rule == "D6"


def test_an_expired_ai_plan_no_longer_asks_for_a_baseline_dxa(policy):
    f = facts(course("letrozole", planned="2025-01-01"), fracture("2024-01-01", mechanism="trauma"))
    assert open_task(make_plan(f, "2025-03-31", policy), DXA).rule == "D1"  # plan + 89 d: still planned
    assert open_task(make_plan(f, "2025-04-01", policy), DXA).rule == "D6"  # plan + 90 d: expired


# --------------------------------------------------------------------------- D5


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2024-08-30", TaskStatus.DUE),
    ("2024-08-31", TaskStatus.OVERDUE),
])
def test_a_new_fragility_fracture_asks_for_a_dxa_within_90_days(policy, as_of, expected):
    f = facts(dxa("2024-01-10", "-1.5"), fracture("2024-06-01", "distal_forearm"))
    p = make_plan(f, as_of, policy)
    assert window(open_task(p, DXA)) == ("D5", "2024-06-01", "2024-06-01", "2024-08-30", "2024-08-30")
    assert status(p, DXA) is expected


def test_a_dxa_on_the_day_of_the_fracture_completes_d5(policy):
    f = facts(dxa("2024-01-10", "-1.5"), fracture("2024-06-01"), dxa("2024-06-01", "-1.6"))
    p = make_plan(f, "2024-07-01", policy)
    assert open_task(p, DXA).rule == "D3"


def test_a_dxa_completes_d5_even_when_d5_was_opened_by_a_fracture(policy):
    f = facts(dxa("2024-01-10", "-1.5"), fracture("2024-06-01"), dxa("2024-07-15", "-1.6"))
    p = make_plan(f, "2024-08-01", policy)
    assert (done_task(p, DXA).rule, done_task(p, DXA).anchor, done_task(p, DXA).done_on) == (
        "D5", D("2024-06-01"), D("2024-07-15"))
    assert window(open_task(p, DXA)) == ("D3", "2024-07-15", "2025-01-15", "2025-07-15", "2025-08-14")


@pytest.mark.parametrize("mechanism", ["trauma", "unknown", "atypical"])
def test_a_fracture_that_is_not_a_fragility_fracture_does_not_ask_for_a_dxa(policy, mechanism):
    f = facts(dxa("2024-01-10", "-1.5"), fracture("2024-06-01", mechanism=mechanism))
    assert open_task(make_plan(f, "2024-07-01", policy), DXA).rule == "D3"


def test_glucocorticoids_ask_for_a_dxa_once_the_course_reaches_3_months(policy):
    f = facts(dxa("2023-12-01", "-1.5"), course("glucocorticoid", "2024-01-15"))
    before = make_plan(f, "2024-04-14", policy)
    assert open_task(before, DXA).rule == "D3"
    assert before.valid_until <= D("2024-04-15")
    p = make_plan(f, "2024-04-15", policy)
    assert window(open_task(p, DXA)) == ("D5", "2024-04-15", "2024-04-15", "2024-07-14", "2024-07-14")


def test_a_glucocorticoid_course_stopped_before_3_months_asks_for_nothing(policy):
    f = facts(dxa("2023-12-01", "-1.5"), course("glucocorticoid", "2024-01-15", stop="2024-03-01"))
    assert open_task(make_plan(f, "2024-06-01", policy), DXA).rule == "D3"


def test_d1_takes_precedence_over_d5(policy):
    f = facts(course("letrozole", planned="2025-06-01"), fracture("2025-04-01"))
    assert open_task(make_plan(f, "2025-04-10", policy), DXA).rule == "D1"


# --------------------------------------------------------------------------- D6


def test_with_no_bmd_d6_counts_from_the_earliest_fact(policy):
    f = facts(fracture("2024-03-01", mechanism="trauma"))
    p = make_plan(f, "2025-01-01", policy)
    assert window(open_task(p, DXA)) == ("D6", "2024-03-01", "2024-03-01", "2024-03-01", "2024-03-31")
    assert status(p, DXA) is TaskStatus.OVERDUE


def test_a_patient_with_no_facts_gets_a_dxa_due_today_and_a_plan_valid_for_one_day(policy):
    p = make_plan(facts(), "2025-10-01", policy)
    assert window(open_task(p, DXA)) == ("D6", "2025-10-01", "2025-10-01", "2025-10-01", "2025-10-31")
    assert p.valid_until == D("2025-10-02")


@pytest.mark.parametrize(("as_of", "rule"), [
    ("2024-01-15", "D3"),  # exactly 24 months: AGING, still used
    ("2024-01-16", "D6"),  # STALE
])
def test_a_stale_dxa_gives_d6_counted_from_24_months_after_it(policy, as_of, rule):
    f = facts(dxa("2022-01-15", "-1.5"))
    p = make_plan(f, as_of, policy)
    assert open_task(p, DXA).rule == rule
    if rule == "D6":
        assert window(open_task(p, DXA)) == ("D6", "2024-01-15", "2024-01-15", "2024-01-15", "2024-02-14")


def test_d6_applies_whatever_the_tier(policy):
    f = facts(fracture("2020-06-01", "hip"), dxa("2021-01-01", "-0.5"))
    assert assess(f, as_of=D("2024-01-01"), policy=policy).tier is Tier.HIGH
    assert open_task(make_plan(f, "2024-01-01", policy), DXA).rule == "D6"


# --------------------------------------------------------------------------- D3, D2


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2025-09-09", TaskStatus.UPCOMING),
    ("2025-09-10", TaskStatus.DUE),
    ("2026-04-09", TaskStatus.DUE),
    ("2026-04-10", TaskStatus.OVERDUE),
])
def test_d3_worked_example_from_a_dxa_on_2025_03_10(policy, as_of, expected):
    p = make_plan(facts(dxa("2025-03-10", "-2.6")), as_of, policy)
    assert window(open_task(p, DXA)) == ("D3", "2025-03-10", "2025-09-10", "2026-03-10", "2026-04-09")
    assert open_task(p, DXA).grace_days == 30
    assert status(p, DXA) is expected


@pytest.mark.parametrize(("last", "expected"), [
    ("2023-08-31", ("D3", "2023-08-31", "2024-02-29", "2024-08-31", "2024-09-30")),
    ("2024-02-29", ("D3", "2024-02-29", "2024-08-29", "2025-02-28", "2025-03-30")),
])
def test_d3_months_clamp_at_month_end_and_leap_days(policy, last, expected):
    assert window(open_task(make_plan(facts(dxa(last, "-1.5")), last, policy), DXA)) == expected


def test_a_bma_start_after_the_last_dxa_re_anchors_d3(policy):
    f = facts(dxa("2025-01-10", "-2.6"), course("alendronate", "2025-03-01"))
    p = make_plan(f, "2025-04-01", policy)
    assert window(open_task(p, DXA)) == ("D3", "2025-03-01", "2025-09-01", "2026-03-01", "2026-03-31")


def test_moderate_tier_without_an_ai_uses_d3(policy):
    p = make_plan(facts(dxa("2025-01-10", "-1.5")), "2025-02-01", policy)
    assert open_task(p, DXA).rule == "D3"


@pytest.mark.parametrize(("last", "expected"), [
    ("2024-03-10", ("D2", "2024-03-10", "2025-03-10", "2026-03-10", "2026-04-09")),
    ("2024-02-29", ("D2", "2024-02-29", "2025-02-28", "2026-02-28", "2026-03-30")),
])
def test_low_tier_gets_a_dxa_every_one_to_two_years(policy, last, expected):
    p = make_plan(facts(dxa(last, "-0.5")), "2024-04-01", policy)
    assert window(open_task(p, DXA)) == expected


def test_the_last_dxa_completes_the_routine_task_counted_from_the_one_before(policy):
    f = facts(dxa("2024-03-10", "-2.6"), dxa("2025-03-01", "-2.6"))
    p = make_plan(f, "2025-04-01", policy)
    done = done_task(p, DXA)
    assert window(done) == ("D3", "2024-03-10", "2024-09-10", "2025-03-10", "2025-04-09")
    assert done.done_on == D("2025-03-01")
    assert status(p, DXA, done=True) is TaskStatus.DONE
    assert open_task(p, DXA).anchor == D("2025-03-01")


def test_a_dxa_after_the_window_completes_the_routine_task_late(policy):
    f = facts(dxa("2023-03-10", "-2.6"), dxa("2024-06-01", "-2.6"))
    p = make_plan(f, "2024-07-01", policy)
    assert status(p, DXA, done=True) is TaskStatus.DONE_LATE


def test_the_plan_turns_stale_on_the_day_the_bmd_ages(policy):
    p = make_plan(facts(dxa("2025-03-10", "-0.5")), "2025-06-01", policy)
    assert p.valid_until == D("2026-03-11")  # FRESH through +12 m, AGING from the day after


# --------------------------------------------------------------------------- D4


def test_after_the_ai_ends_the_dxa_interval_follows_the_recomputed_tier(policy):
    f = facts(dxa("2023-12-10", "-0.5"), course("anastrozole", "2019-03-01", stop="2024-03-01"))
    assert open_task(make_plan(f, "2024-02-01", policy), DXA).rule == "D3"  # T normal + AI: MODERATE
    assert window(open_task(make_plan(f, "2024-04-01", policy), DXA)) == (
        "D2", "2023-12-10", "2024-12-10", "2025-12-10", "2026-01-09")  # AI past: LOW


def test_during_a_bisphosphonate_holiday_the_dxa_interval_follows_the_tier(policy):
    f = facts(dxa("2024-03-10", "-1.8"), course("alendronate", "2019-01-01", stop="2024-01-15", reason="holiday"),
              dose("alendronate", "2023-12-20", mg=70, supply=28))
    assert window(open_task(make_plan(f, "2024-04-01", policy), DXA)) == (
        "D3", "2024-03-10", "2024-09-10", "2025-03-10", "2025-04-09")
