"""The plan's contract: pathway exits and death, one open and one completed task per kind, alert
order, the docs/rules.md CHANGE-FLAGS, undated notes, and facts after as_of."""

from __future__ import annotations

from collections import Counter

import pytest

from monitor.core.domain import Menopause, Sex, TaskKind
from monitor.core.timeline import FAR
from tests.plan_builders import (
    D,
    codes,
    course,
    dose,
    dxa,
    facts,
    fracture,
    make_plan,
    note,
    open_task,
    patient,
)


def busy_history(*extra, who=None):
    return facts(dxa("2023-01-10", "-2.6"), dxa("2024-01-15", "-2.6"), course("anastrozole", "2021-03-01"),
                 dose("anastrozole", "2023-12-01", mg=1, supply=90), course("denosumab", "2023-02-01", mg=60),
                 dose("denosumab", "2023-02-01", mg=60), dose("denosumab", "2023-08-01", mg=60),
                 dose("denosumab", "2024-02-05", mg=60), *extra, who=who)


# --------------------------------------------------------------------------- pathway


@pytest.mark.parametrize("exit_fact", [
    note("bone_metastasis", "2024-01-01"),
    note("bone_metastasis", None),  # undated: present on every date
    fracture("2024-01-01", "vertebra", "pathological"),
    dose("denosumab", "2024-01-01", mg=120),
])
def test_leaving_the_pathway_leaves_no_tasks_and_only_the_exit_alert(policy, exit_fact):
    p = make_plan(busy_history(exit_fact), "2024-03-01", policy)
    assert p.tasks == ()
    assert codes(p) == ["ALERT-EXIT"]
    assert p.valid_until == FAR


def test_a_premenopausal_patient_leaves_the_pathway(policy):
    f = facts(dxa("2024-01-10", "-2.6"), who=patient(menopause=Menopause.PRE))
    p = make_plan(f, "2024-03-01", policy)
    assert (p.tasks, codes(p)) == ((), ["ALERT-EXIT"])


def test_men_get_no_tasks_and_no_alerts(policy):
    p = make_plan(facts(dxa("2024-01-10", "-2.6"), who=patient(sex=Sex.MALE)), "2024-03-01", policy)
    assert (p.tasks, p.alerts) == ((), ())


def test_nothing_is_planned_on_or_after_the_date_of_death(policy):
    f = busy_history(who=patient(deceased="2024-06-01"))
    assert make_plan(f, "2024-05-31", policy).tasks
    assert make_plan(f, "2024-05-31", policy).valid_until <= D("2024-06-01")
    for day in ("2024-06-01", "2025-01-01"):
        p = make_plan(f, day, policy)
        assert (p.tasks, p.alerts) == ((), ())


# --------------------------------------------------------------------------- shape


def test_each_kind_has_at_most_one_open_and_one_completed_task(policy):
    p = make_plan(busy_history(), "2024-03-01", policy)
    opened = Counter(t.kind for t in p.tasks if t.done_on is None)
    closed = Counter(t.kind for t in p.tasks if t.done_on is not None)
    assert max(opened.values()) == 1 and max(closed.values()) == 1
    assert {TaskKind.DXA, TaskKind.DENOSUMAB_DOSE} <= set(closed)


def test_every_task_says_why_and_shows_its_grace(policy):
    for t in make_plan(busy_history(), "2024-03-01", policy).tasks:
        assert t.reason and t.earliest <= t.target <= t.latest
        assert 0 <= t.grace_days <= (t.latest - t.target).days


def test_alerts_are_ordered_by_severity_then_code(policy):
    p = make_plan(busy_history(), "2025-01-01", policy)
    ranks = [(a.severity.rank, a.code) for a in p.alerts]
    assert "ALERT-DMAB-LONG" in codes(p)
    assert ranks == sorted(ranks)


def test_facts_dated_after_as_of_do_not_change_the_plan(policy):
    base = busy_history()
    later = busy_history(dxa("2024-06-01", "-3.0"), dose("denosumab", "2024-08-01", mg=60),
                         course("alendronate", "2024-09-01"), note("risk_review", "2024-07-01"))
    a, b = make_plan(base, "2024-03-01", policy), make_plan(later, "2024-03-01", policy)
    assert (a.tasks, a.flags) == (b.tasks, b.flags)


def test_an_undated_note_counts_on_every_date(policy):
    f = facts(dxa("2023-12-01", "-2.6"), course("alendronate", "2024-01-01"),
              dose("alendronate", "2024-01-01", mg=70, supply=90), note("oral_bp_intolerance", None))
    assert open_task(make_plan(f, "2024-01-10", policy), TaskKind.ADHERENCE_SWITCH).anchor == D("2023-12-01")


# --------------------------------------------------------------------------- CHANGE-FLAGS


def hip(day: str, bmd: float, scanner: str = "S1"):
    return dxa(day, "-2.0", site="total_hip", bmd=bmd, scanner=scanner)


@pytest.mark.parametrize(("history", "expected"), [
    ([hip("2023-01-10", 0.800), hip("2024-01-10", 0.750), course("alendronate", "2022-06-01")],
     {"BMD_SIGNIFICANT_LOSS", "ADHERENCE_CHECK"}),
    ([hip("2023-01-10", 0.800), hip("2024-01-10", 0.750)],
     {"BMD_SIGNIFICANT_LOSS", "BMA_REVIEW", "CONSIDER_ANTIRESORPTIVE"}),
    ([hip("2022-01-10", 0.800), hip("2024-01-10", 0.755)],  # significant, but 2.8 %/year
     {"BMD_SIGNIFICANT_LOSS", "BMA_REVIEW"}),
    ([hip("2023-01-10", 0.800), hip("2024-01-10", 0.840)], {"BMD_SIGNIFICANT_GAIN"}),  # Δ = +LSC exactly
    ([hip("2023-01-10", 0.800), hip("2024-01-10", 0.770)], set()),
    ([hip("2023-01-10", 0.800), hip("2024-01-10", 0.700, scanner="S2")], set()),  # another scanner
])
def test_the_latest_bmd_comparison_flags_the_plan(policy, history, expected):
    flags = set(make_plan(facts(*history), "2024-02-01", policy).flags)
    assert flags & {"BMD_SIGNIFICANT_LOSS", "BMD_SIGNIFICANT_GAIN", "ADHERENCE_CHECK", "BMA_REVIEW",
                    "CONSIDER_ANTIRESORPTIVE"} == expected
