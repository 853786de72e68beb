"""docs/rules.md N1–N5 (denosumab, ALERT-DMAB-LATE/-LONG/-REBOUND), REGIMEN and BP-IV (IV bisphosphonates)."""

from __future__ import annotations

import pytest

from monitor.core.domain import Route, Severity, TaskKind, TaskStatus
from tests.plan_builders import (
    D,
    alert,
    codes,
    course,
    done_task,
    dose,
    dxa,
    facts,
    lab,
    make_plan,
    note,
    open_task,
    status,
    window,
)

DMAB = TaskKind.DENOSUMAB_DOSE
SEQ = TaskKind.SEQUENTIAL_BP
BP = TaskKind.BP_DOSE


def denosumab(*days: str, stop: str | None = None):
    return [dxa("2024-12-20", "-2.7"), course("denosumab", days[0], mg=60, interval=6, stop=stop),
            *[dose("denosumab", d, mg=60) for d in days]]


# --------------------------------------------------------------------------- N1


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2025-06-16", TaskStatus.UPCOMING),
    ("2025-06-17", TaskStatus.DUE),  # target − 28 d
    ("2025-08-12", TaskStatus.DUE),  # target + 28 d: last day on time
    ("2025-08-13", TaskStatus.OVERDUE),
])
def test_denosumab_worked_example_from_a_dose_on_2025_01_15(policy, as_of, expected):
    p = make_plan(facts(*denosumab("2025-01-15")), as_of, policy)
    assert window(open_task(p, DMAB)) == ("N1", "2025-01-15", "2025-06-17", "2025-07-15", "2025-08-12")
    assert open_task(p, DMAB).grace_days == 28
    assert status(p, DMAB) is expected


@pytest.mark.parametrize(("as_of", "code", "since"), [
    ("2025-08-12", None, None),
    ("2025-08-13", "ALERT-DMAB-LATE", "2025-08-13"),  # target + 29 d
    ("2025-11-04", "ALERT-DMAB-LATE", "2025-08-13"),  # target + 112 d
    ("2025-11-05", "ALERT-DMAB-LONG", "2025-11-05"),  # target + 113 d
    ("2026-06-01", "ALERT-DMAB-LONG", "2025-11-05"),
])
def test_denosumab_dose_is_late_29_days_after_target_and_long_delayed_after_16_weeks(policy, as_of, code, since):
    p = make_plan(facts(*denosumab("2025-01-15")), as_of, policy)
    delay = [c for c in codes(p) if c in ("ALERT-DMAB-LATE", "ALERT-DMAB-LONG")]
    assert delay == ([code] if code else [])
    if code:
        a = alert(p, code)
        assert a.since == D(since)
        assert a.severity is (Severity.HIGH if code == "ALERT-DMAB-LATE" else Severity.CRITICAL)


def test_the_plan_expires_when_the_late_alert_starts(policy):
    assert make_plan(facts(*denosumab("2025-01-15")), "2025-07-01", policy).valid_until <= D("2025-08-13")
    assert make_plan(facts(*denosumab("2025-01-15")), "2025-08-13", policy).valid_until <= D("2025-11-05")


@pytest.mark.parametrize(("last", "target"), [
    ("2025-08-31", "2026-02-28"),
    ("2023-08-31", "2024-02-29"),
    ("2024-02-29", "2024-08-29"),
])
def test_the_next_denosumab_target_clamps_at_month_end(policy, last, target):
    p = make_plan(facts(*denosumab(last)), last, policy)
    assert open_task(p, DMAB).target == D(target)


def test_a_late_dose_re_anchors_the_schedule_on_its_actual_date(policy):
    p = make_plan(facts(*denosumab("2025-01-15", "2025-09-01")), "2025-09-10", policy)
    assert window(open_task(p, DMAB)) == ("N1", "2025-09-01", "2026-02-01", "2026-03-01", "2026-03-29")
    done = done_task(p, DMAB)
    assert (done.anchor, done.done_on) == (D("2025-01-15"), D("2025-09-01"))
    assert status(p, DMAB, done=True) is TaskStatus.DONE_LATE
    assert not {"ALERT-DMAB-LATE", "ALERT-DMAB-LONG"} & set(codes(p))


def test_an_on_time_dose_completes_the_n1_task(policy):
    p = make_plan(facts(*denosumab("2025-01-15", "2025-07-20")), "2025-08-01", policy)
    assert status(p, DMAB, done=True) is TaskStatus.DONE


def test_a_course_start_without_a_recorded_injection_counts_as_the_first_dose(policy):
    f = facts(dxa("2024-12-20", "-2.7"), course("denosumab", "2025-01-15", mg=60))
    assert open_task(make_plan(f, "2025-02-01", policy), DMAB).anchor == D("2025-01-15")


# --------------------------------------------------------------------------- N3, N4


def stopped():
    return denosumab("2024-01-10", "2024-07-10", stop="2024-10-01")


def test_a_documented_denosumab_stop_asks_for_a_sequential_bp_6_months_after_the_last_dose(policy):
    p = make_plan(facts(*stopped()), "2025-01-01", policy)
    assert window(open_task(p, SEQ)) == ("N3", "2024-07-10", "2024-12-13", "2025-01-10", "2025-02-07")
    assert status(p, SEQ) is TaskStatus.DUE
    assert open_task(p, DMAB) is None


@pytest.mark.parametrize(("as_of", "rebound"), [("2025-02-07", False), ("2025-02-08", True)])
def test_no_sequential_bp_by_the_end_of_the_window_raises_a_rebound_alert(policy, as_of, rebound):
    p = make_plan(facts(*stopped()), as_of, policy)
    assert ("ALERT-DMAB-REBOUND" in codes(p)) is rebound
    if rebound:
        assert alert(p, "ALERT-DMAB-REBOUND").since == D("2025-02-08")
        assert alert(p, "ALERT-DMAB-REBOUND").severity is Severity.CRITICAL


def test_the_rebound_alert_stands_until_a_bisphosphonate_is_given(policy):
    late = [*stopped(), dose("zoledronic_acid", "2025-03-01", mg=5)]
    assert "ALERT-DMAB-REBOUND" in codes(make_plan(facts(*late), "2025-02-28", policy))
    p = make_plan(facts(*late), "2025-03-01", policy)
    assert "ALERT-DMAB-REBOUND" not in codes(p)
    assert (done_task(p, SEQ).done_on, status(p, SEQ, done=True)) == (D("2025-03-01"), TaskStatus.DONE_LATE)


def test_a_sequential_bp_completes_n3_then_b3_and_d3_count_from_its_start(policy):
    f = facts(*stopped(), course("zoledronic_acid", "2025-01-20"), dose("zoledronic_acid", "2025-01-20", mg=5))
    p = make_plan(f, "2025-02-01", policy)
    assert status(p, SEQ, done=True) is TaskStatus.DONE
    assert open_task(p, TaskKind.BTM).rule == "B3"
    assert window(open_task(p, TaskKind.DXA))[:4] == ("D3", "2025-01-20", "2025-07-20", "2026-01-20")


def test_an_oral_bp_course_start_after_the_stop_also_completes_n3(policy):
    f = facts(*stopped(), course("alendronate", "2025-01-05"))
    assert done_task(make_plan(f, "2025-01-06", policy), SEQ).done_on == D("2025-01-05")


def test_without_a_documented_stop_the_dose_task_stays_open_and_delays_alert(policy):
    p = make_plan(facts(*denosumab("2024-01-10", "2024-07-10")), "2025-06-01", policy)
    assert open_task(p, SEQ) is None
    assert open_task(p, DMAB).rule == "N1"
    assert "ALERT-DMAB-LONG" in codes(p)


def test_a_denosumab_stop_for_a_holiday_is_still_a_stop_that_needs_a_bisphosphonate(policy):
    f = facts(dxa("2024-12-20", "-2.7"), course("denosumab", "2024-01-10", stop="2024-10-01", reason="holiday"),
              dose("denosumab", "2024-01-10"), dose("denosumab", "2024-07-10"))
    p = make_plan(f, "2025-01-01", policy)
    assert open_task(p, SEQ).rule == "N3"
    assert open_task(p, TaskKind.BP_HOLIDAY_REVIEW) is None


# --------------------------------------------------------------------------- N5


def ai_and_denosumab(*extra):
    return facts(dxa("2024-12-20", "-2.7"), course("anastrozole", "2021-03-01"),
                 course("denosumab", "2022-01-10", mg=60), dose("denosumab", "2025-07-10", mg=60), *extra)


def test_an_ai_ending_while_on_denosumab_asks_for_a_transition_plan_90_days_before(policy):
    p = make_plan(ai_and_denosumab(), "2025-10-01", policy)
    assert window(open_task(p, TaskKind.TRANSITION_PLAN)) == (
        "N5", "2026-03-01", "2025-12-01", "2025-12-01", "2026-03-01")
    assert status(p, TaskKind.TRANSITION_PLAN) is TaskStatus.UPCOMING


def test_an_extended_endocrine_therapy_moves_the_transition_plan_to_10_years(policy):
    p = make_plan(ai_and_denosumab(note("endocrine_extend", "2026-01-15")), "2026-02-01", policy)
    assert window(open_task(p, TaskKind.TRANSITION_PLAN))[1:4] == ("2031-03-01", "2030-12-01", "2030-12-01")


def test_a_transition_plan_note_completes_n5(policy):
    p = make_plan(ai_and_denosumab(note("transition_plan", "2025-12-15")), "2026-01-01", policy)
    assert open_task(p, TaskKind.TRANSITION_PLAN) is None
    assert status(p, TaskKind.TRANSITION_PLAN, done=True) is TaskStatus.DONE


def test_the_transition_counts_from_the_first_endocrine_therapy_including_tamoxifen(policy):
    f = facts(dxa("2023-12-20", "-2.7"), course("tamoxifen", "2019-03-01", stop="2021-03-01"),
              course("anastrozole", "2021-03-01"), course("denosumab", "2022-01-10", mg=60))
    assert open_task(make_plan(f, "2023-12-21", policy), TaskKind.TRANSITION_PLAN).anchor == D("2024-03-01")


# --------------------------------------------------------------------------- BP-IV: IV bisphosphonates


def iv(*items):
    return facts(dxa("2024-01-01", "-2.6"), *items)


@pytest.mark.parametrize(("items", "expected"), [
    ([dose("zoledronic_acid", "2024-05-31", mg=5)],
     ("BP-IV", "2024-05-31", "2025-05-01", "2025-05-31", "2025-06-30")),
    ([dose("zoledronic_acid", "2024-08-31", mg=4)],
     ("BP-IV", "2024-08-31", "2025-01-31", "2025-02-28", "2025-03-28")),
    ([dose("zoledronic_acid", "2024-08-31", mg=3.5)],  # renally reduced adjuvant dose
     ("BP-IV", "2024-08-31", "2025-01-31", "2025-02-28", "2025-03-28")),
    ([course("zoledronic_acid", "2024-08-31", interval=6), dose("zoledronic_acid", "2024-08-31")],
     ("BP-IV", "2024-08-31", "2025-01-31", "2025-02-28", "2025-03-28")),
    ([course("zoledronic_acid", "2024-08-31", mg=4), dose("zoledronic_acid", "2024-08-31")],
     ("BP-IV", "2024-08-31", "2025-01-31", "2025-02-28", "2025-03-28")),
    ([dose("zoledronic_acid", "2024-05-31")],  # nothing known: ZOL 5 mg
     ("BP-IV", "2024-05-31", "2025-05-01", "2025-05-31", "2025-06-30")),
    ([dose("ibandronate", "2025-01-31", mg=3)],
     ("BP-IV", "2025-01-31", "2025-04-30", "2025-04-30", "2025-05-28")),
    ([dose("ibandronate", "2025-01-31", route=Route.IV)],
     ("BP-IV", "2025-01-31", "2025-04-30", "2025-04-30", "2025-05-28")),
])
def test_iv_bisphosphonate_next_dose_window_follows_the_regimen(policy, items, expected):
    p = make_plan(iv(*items), "2025-02-01", policy)
    assert window(open_task(p, BP)) == expected


def test_zoledronic_acid_4_mg_ends_after_six_doses(policy):
    days = ["2022-01-10", "2022-07-10", "2023-01-10", "2023-07-10", "2024-01-10", "2024-07-10"]
    five = make_plan(iv(*[dose("zoledronic_acid", d, mg=4) for d in days[:5]]), "2024-02-01", policy)
    assert open_task(five, BP).target == D("2024-07-10")
    six = make_plan(iv(*[dose("zoledronic_acid", d, mg=4) for d in days]), "2024-08-01", policy)
    assert open_task(six, BP) is None
    assert (done_task(six, BP).anchor, done_task(six, BP).done_on) == (D("2024-01-10"), D("2024-07-10"))


@pytest.mark.parametrize("drug", ["alendronate", "risedronate"])
def test_oral_bisphosphonates_have_no_per_dose_task(policy, drug):
    p = make_plan(iv(course(drug, "2024-06-01"), dose(drug, "2024-06-01", mg=35, supply=28)), "2024-07-01", policy)
    assert open_task(p, BP) is None


def test_oral_monthly_ibandronate_has_no_per_dose_task(policy):
    p = make_plan(iv(dose("ibandronate", "2024-06-01", mg=150, supply=30)), "2024-07-01", policy)
    assert open_task(p, BP) is None


def test_a_stopped_iv_course_has_no_next_dose(policy):
    p = make_plan(iv(course("zoledronic_acid", "2024-05-31", stop="2024-12-01", mg=5),
                     dose("zoledronic_acid", "2024-05-31", mg=5)), "2025-01-01", policy)
    assert open_task(p, BP) is None


# --------------------------------------------------------------------------- N2 (raised by monitor.core.alerts.safety)


def test_a_due_denosumab_dose_needs_a_recent_calcium_result(policy):
    without = make_plan(facts(*denosumab("2025-01-15")), "2025-07-01", policy)
    assert "ALERT-HYPOCA" in codes(without)
    with_ca = make_plan(facts(*denosumab("2025-01-15"), lab("2025-06-20", "calcium", 2.35, "mmol/L")),
                        "2025-07-01", policy)
    assert "ALERT-HYPOCA" not in codes(with_ca)
