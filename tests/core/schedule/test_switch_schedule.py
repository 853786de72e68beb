"""docs/rules.md S1: oral bisphosphonate non-adherence → consider IV zoledronic acid or SC denosumab."""

from __future__ import annotations

from dataclasses import replace

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
    note,
    open_task,
    status,
    window,
)

SWITCH = TaskKind.ADHERENCE_SWITCH


def stops_filling():
    """Three 28-day fills from 2024-01-01: covered through 2024-03-24 (84 days), then nothing."""
    return [dxa("2023-12-01", "-2.6"), course("alendronate", "2024-01-01"),
            *[dose("alendronate", d, mg=70, supply=28) for d in ("2024-01-01", "2024-01-29", "2024-02-26")]]


def test_pdc_is_judged_monthly_once_90_days_on_therapy_and_triggers_below_0_80(policy):
    # 2024-04-01: 84 of 92 days covered (0.91); 2024-05-01: 84 of 122 days (0.69) → trigger.
    before = make_plan(facts(*stops_filling()), "2024-04-30", policy)
    assert open_task(before, SWITCH) is None
    assert before.valid_until <= D("2024-05-01")
    p = make_plan(facts(*stops_filling()), "2024-05-01", policy)
    assert window(open_task(p, SWITCH)) == ("S1", "2024-05-01", "2024-05-01", "2024-05-01", "2024-07-30")
    assert status(p, SWITCH) is TaskStatus.DUE


def test_an_adherent_patient_gets_no_switch_task(policy):
    fills = [dose("alendronate", f"2024-{m:02d}-01", mg=70, supply=31) for m in range(1, 13)]
    p = make_plan(facts(dxa("2023-12-01", "-2.6"), course("alendronate", "2024-01-01"), *fills), "2024-12-15", policy)
    assert open_task(p, SWITCH) is None


def test_the_365_day_pdc_triggers_once_a_full_year_has_passed(policy):
    # Judge the short window on one day only, so that only the 365-day window can fail: 14 days
    # covered each month (about 0.46 over the year), every anniversary day covered.
    short = replace(policy, adherence=replace(policy.adherence, pdc_window_days=1))
    fills = [dose("alendronate", f"{y}-{m:02d}-01", mg=70, supply=14) for y in (2023, 2024) for m in range(1, 13)]
    f = facts(dxa("2022-12-01", "-2.6"), course("alendronate", "2023-01-01"), *fills)
    assert open_task(make_plan(f, "2023-12-31", short), SWITCH) is None
    assert open_task(make_plan(f, "2024-01-01", short), SWITCH).anchor == D("2024-01-01")


@pytest.mark.parametrize("kind", ["oral_bp_intolerance", "oral_bp_admin_problem"])
def test_a_documented_intolerance_or_dosing_problem_triggers_the_switch_task(policy, kind):
    f = facts(dxa("2023-12-01", "-2.6"), course("alendronate", "2024-01-01"),
              dose("alendronate", "2024-01-01", mg=70, supply=90), note(kind, "2024-02-10"))
    assert window(open_task(make_plan(f, "2024-02-11", policy), SWITCH)) == (
        "S1", "2024-02-10", "2024-02-10", "2024-02-10", "2024-05-10")


@pytest.mark.parametrize(("after", "triggered"), [
    (600.0, True),  # 7.7% fall, above the premenopausal upper limit (573 ng/L): no response
    (560.0, False),  # in the premenopausal range: a response
    (450.0, False),  # 30.8% fall: a response
])
def test_no_ctx_response_at_the_first_on_treatment_check_triggers_the_switch_task(policy, after, triggered):
    f = facts(dxa("2023-12-01", "-2.6"), marker("2023-12-20", 650.0), course("alendronate", "2024-01-01"),
              dose("alendronate", "2024-01-01", mg=70, supply=90), marker("2024-04-01", after))
    task = open_task(make_plan(f, "2024-04-02", policy), SWITCH)
    assert (task is not None) is triggered
    if triggered:
        assert task.anchor == D("2024-04-01")


@pytest.mark.parametrize("switch", [
    [dose("zoledronic_acid", "2024-06-01", mg=5)],
    [course("denosumab", "2024-06-01", mg=60), dose("denosumab", "2024-06-01", mg=60)],
])
def test_an_iv_or_sc_bma_after_the_trigger_completes_the_switch_task(policy, switch):
    p = make_plan(facts(*stops_filling(), *switch), "2024-06-10", policy)
    assert open_task(p, SWITCH) is None
    assert (done_task(p, SWITCH).anchor, done_task(p, SWITCH).done_on) == (D("2024-05-01"), D("2024-06-01"))
    assert status(p, SWITCH, done=True) is TaskStatus.DONE


def test_no_switch_task_during_a_bisphosphonate_holiday(policy):
    f = facts(dxa("2023-12-01", "-2.6"), course("alendronate", "2019-01-01", stop="2024-01-15", reason="holiday"),
              dose("alendronate", "2023-12-20", mg=70, supply=28), note("oral_bp_intolerance", "2024-02-01"))
    assert open_task(make_plan(f, "2024-03-01", policy), SWITCH) is None
