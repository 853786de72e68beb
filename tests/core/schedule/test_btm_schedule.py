"""docs/rules.md B1–B4: bone turnover markers, B1 > B3 > B2-dmab > B2-first > B2 > B4."""

from __future__ import annotations

import pytest

from monitor.core.domain import TaskKind, TaskStatus
from tests.plan_builders import (
    D,
    course,
    done_task,
    dose,
    dxa,
    facts,
    make_plan,
    marker,
    open_task,
    status,
    window,
)

BTM = TaskKind.BTM


# --------------------------------------------------------------------------- B1


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2025-06-02", TaskStatus.UPCOMING),  # first dose − 91 d
    ("2025-06-03", TaskStatus.DUE),  # first dose − 90 d
    ("2025-09-01", TaskStatus.DUE),  # the planned first dose
    ("2025-09-02", TaskStatus.OVERDUE),
])
def test_baseline_markers_fall_in_the_90_days_before_a_planned_first_bma_dose(policy, as_of, expected):
    f = facts(dxa("2025-05-01", "-2.6"), course("denosumab", planned="2025-09-01", mg=60))
    p = make_plan(f, as_of, policy)
    assert window(open_task(p, BTM)) == ("B1", "2025-09-01", "2025-06-03", "2025-09-01", "2025-09-01")
    assert status(p, BTM) is expected


@pytest.mark.parametrize(("drawn", "b1_open"), [("2025-06-02", True), ("2025-06-03", False), ("2025-09-10", False)])
def test_a_marker_from_90_days_before_the_planned_start_completes_b1(policy, drawn, b1_open):
    f = facts(dxa("2025-05-01", "-2.6"), course("denosumab", planned="2025-09-01", mg=60), marker(drawn))
    p = make_plan(f, "2025-09-15", policy)
    assert (open_task(p, BTM) is not None) is b1_open
    if not b1_open:
        assert (done_task(p, BTM).rule, done_task(p, BTM).done_on) == ("B1", D(drawn))


def test_a_baseline_drawn_after_the_planned_start_but_before_the_first_dose_is_late(policy):
    f = facts(dxa("2025-05-01", "-2.6"), course("denosumab", planned="2025-09-01", mg=60), marker("2025-09-10"))
    assert status(make_plan(f, "2025-09-15", policy), BTM, done=True) is TaskStatus.DONE_LATE


def test_a_same_day_pre_dose_marker_is_the_baseline(policy):
    f = facts(dxa("2025-01-01", "-2.6"), course("denosumab", "2025-01-15", mg=60), dose("denosumab", "2025-01-15"),
              marker("2025-01-15"))
    p = make_plan(f, "2025-02-01", policy)
    assert (done_task(p, BTM).rule, done_task(p, BTM).done_on) == ("B1", D("2025-01-15"))
    assert status(p, BTM, done=True) is TaskStatus.DONE
    assert "BASELINE_BTM_MISSING" not in p.flags


def test_a_first_dose_without_baseline_markers_flags_the_plan_and_leaves_no_b1_task(policy):
    f = facts(dxa("2025-01-01", "-2.6"), course("denosumab", "2025-01-15", mg=60), dose("denosumab", "2025-01-15"),
              marker("2025-01-16"))
    p = make_plan(f, "2025-02-01", policy)
    assert "BASELINE_BTM_MISSING" in p.flags
    assert all(t.rule != "B1" for t in p.tasks)


def test_no_bma_no_holiday_no_transition_means_no_marker_tasks(policy):
    p = make_plan(facts(dxa("2025-01-01", "-2.6"), marker("2025-01-02")), "2025-06-01", policy)
    assert [t for t in p.tasks if t.kind is BTM] == []


# --------------------------------------------------------------------------- B2-first, B2


def on_alendronate():
    return [dxa("2025-01-01", "-2.6"), marker("2025-01-10"), course("alendronate", "2025-01-15"),
            dose("alendronate", "2025-01-15", mg=70, supply=28)]


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2025-03-31", TaskStatus.UPCOMING),
    ("2025-04-01", TaskStatus.DUE),  # start + 3 m − 14 d
    ("2025-07-29", TaskStatus.DUE),  # start + 6 m + 14 d
    ("2025-07-30", TaskStatus.OVERDUE),
])
def test_the_first_on_treatment_check_is_3_to_6_months_after_the_bma_start(policy, as_of, expected):
    p = make_plan(facts(*on_alendronate()), as_of, policy)
    assert window(open_task(p, BTM)) == ("B2-first", "2025-01-15", "2025-04-01", "2025-04-15", "2025-07-29")
    assert status(p, BTM) is expected


def test_later_checks_count_3_to_6_months_from_the_last_draw(policy):
    p = make_plan(facts(*on_alendronate(), marker("2025-04-20")), "2025-05-01", policy)
    assert window(open_task(p, BTM)) == ("B2", "2025-04-20", "2025-07-20", "2025-10-20", "2025-11-03")
    done = done_task(p, BTM)
    assert (done.rule, done.done_on) == ("B2-first", D("2025-04-20"))
    assert status(p, BTM, done=True) is TaskStatus.DONE


def test_a_marker_completes_the_open_task_whatever_marker_of_the_panel_or_accepted_list(policy):
    p = make_plan(facts(*on_alendronate(), marker("2025-04-20", 40, "p1np")), "2025-05-01", policy)
    assert done_task(p, BTM).rule == "B2-first"
    p = make_plan(facts(*on_alendronate(), marker("2025-04-20", 20, "balp")), "2025-05-01", policy)
    assert done_task(p, BTM).rule == "B2-first"


def test_a_bma_switch_restarts_the_first_on_treatment_check(policy):
    f = facts(*on_alendronate(), marker("2025-04-20"), course("zoledronic_acid", "2025-06-01"),
              dose("zoledronic_acid", "2025-06-01", mg=5))
    p = make_plan(f, "2025-06-10", policy)
    assert window(open_task(p, BTM))[:2] == ("B2-first", "2025-06-01")


# --------------------------------------------------------------------------- B2-dmab


def test_on_denosumab_markers_are_drawn_at_the_next_dose_visit(policy):
    f = facts(dxa("2025-01-01", "-2.6"), marker("2025-01-10"), course("denosumab", "2025-01-15", mg=60),
              dose("denosumab", "2025-01-15", mg=60))
    p = make_plan(f, "2025-02-01", policy)
    assert window(open_task(p, BTM)) == ("B2-dmab", "2025-01-15", "2025-06-17", "2025-07-15", "2025-08-12")


def test_on_denosumab_a_draw_after_the_last_dose_leaves_no_marker_task_until_the_next_dose(policy):
    f = facts(dxa("2025-01-01", "-2.6"), marker("2025-01-10"), course("denosumab", "2025-01-15", mg=60),
              dose("denosumab", "2025-01-15", mg=60), marker("2025-07-10"))
    p = make_plan(f, "2025-07-12", policy)
    assert open_task(p, BTM) is None
    assert (done_task(p, BTM).rule, done_task(p, BTM).done_on) == ("B2-dmab", D("2025-07-10"))
    f2 = facts(*f.dxa, *f.markers, *f.courses, *f.doses, dose("denosumab", "2025-07-15", mg=60))
    assert open_task(make_plan(f2, "2025-07-20", policy), BTM).anchor == D("2025-07-15")


# --------------------------------------------------------------------------- B3


def denosumab_then_zoledronic_acid():
    return [dxa("2023-01-01", "-2.6"), marker("2023-01-05"), course("denosumab", "2023-01-10", stop="2024-07-10"),
            dose("denosumab", "2023-01-10"), dose("denosumab", "2023-07-10"), dose("denosumab", "2024-01-10"),
            course("zoledronic_acid", "2024-07-10"), dose("zoledronic_acid", "2024-07-10", mg=5)]


def test_after_a_switch_from_denosumab_markers_are_checked_3_and_6_months_after_the_bp_starts(policy):
    history = denosumab_then_zoledronic_acid()
    p = make_plan(facts(*history), "2024-08-01", policy)
    assert window(open_task(p, BTM)) == ("B3", "2024-07-10", "2024-09-26", "2024-10-10", "2024-10-24")
    p = make_plan(facts(*history, marker("2024-10-12")), "2024-10-20", policy)
    assert window(open_task(p, BTM)) == ("B3", "2024-10-10", "2024-12-27", "2025-01-10", "2025-01-24")
    assert (done_task(p, BTM).rule, done_task(p, BTM).anchor) == ("B3", D("2024-07-10"))
    p = make_plan(facts(*history, marker("2024-10-12"), marker("2025-01-08")), "2025-01-20", policy)
    assert open_task(p, BTM).rule == "B2"


# --------------------------------------------------------------------------- B4


def test_during_a_bp_holiday_markers_are_checked_6_and_12_months_after_it_starts(policy):
    history = [dxa("2023-06-01", "-1.8"), course("alendronate", "2019-01-01", stop="2024-01-15", reason="Drug holiday"),
               dose("alendronate", "2023-12-01", mg=70, supply=30), marker("2018-12-20")]
    p = make_plan(facts(*history), "2024-02-01", policy)
    assert window(open_task(p, BTM)) == ("B4", "2023-12-01", "2024-05-02", "2024-06-01", "2024-07-01")
    p = make_plan(facts(*history, marker("2024-06-03")), "2024-06-10", policy)
    assert window(open_task(p, BTM)) == ("B4", "2024-06-01", "2024-11-01", "2024-12-01", "2024-12-31")
    p = make_plan(facts(*history, marker("2024-06-03"), marker("2024-12-02")), "2024-12-10", policy)
    assert open_task(p, BTM) is None
